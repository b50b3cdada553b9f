"""Bookkeeping for the KV states of hot prompt prefixes (no llama.cpp calls here).

The methods send many prompts that share a long fixed few-shot prefix (SELF-INSTRUCT's
classification and instance templates, the SELF-CHECK stages), interleaved with other prompt
families. llama.cpp's context only remembers the previous prompt, so each family switch would
re-evaluate the whole prefix. This cache keeps two kinds of states:

- confirmed prefixes: a token prefix that two prompts were seen to share (a template's fixed
  part). Kept in LRU order within a byte budget; a call that starts with one restores it and
  evaluates only the rest.
- candidates: the full state of the last few prompts that had a long stretch nobody has stored
  yet, so that the *second* prompt of a new family can find what it shares with the first.

Entries are keyed by their exact token sequence; lookup is longest common prefix. Sizes count
the state bytes we hold (llama-cpp-python's own LlamaRAMCache also copies the logits buffer,
about 100 MB per entry for a 49k vocabulary, without counting it).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    """Length of the longest common prefix of two token arrays."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


@dataclass(eq=False)
class StateEntry:
    tokens: np.ndarray  # the tokens whose KV the state holds, in order from position 0
    state: bytes
    confirmed: bool

    @property
    def nbytes(self) -> int:
        return len(self.state) + self.tokens.nbytes


class PrefixStateCache:
    def __init__(self, capacity_bytes: int, *, max_candidates: int = 2, slack: int = 32) -> None:
        self.capacity_bytes = capacity_bytes
        self.max_candidates = max_candidates
        self.slack = slack
        self._entries: OrderedDict[int, StateEntry] = OrderedDict()  # LRU: oldest first

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self._entries.values())

    def entries(self) -> list[StateEntry]:
        return list(self._entries.values())

    def longest(self, tokens: np.ndarray) -> tuple[StateEntry | None, int]:
        """The entry sharing the longest prefix with `tokens`, and that length (marked used)."""
        best, best_n = None, 0
        for e in self._entries.values():
            n = common_prefix(e.tokens, tokens)
            # On a tie prefer the confirmed (shorter, exact) prefix: it is what stays hot.
            if n > best_n or (
                n == best_n and n and best is not None and e.confirmed and not best.confirmed
            ):
                best, best_n = e, n
        if best is not None and best_n:
            self._entries.move_to_end(id(best))
        return (best, best_n) if best_n else (None, 0)

    def has_prefix_of(self, tokens: np.ndarray, at_least: int) -> bool:
        """Whether a confirmed entry of at least `at_least` tokens is a prefix of `tokens`."""
        return any(
            e.confirmed
            and len(e.tokens) >= at_least
            and len(e.tokens) <= len(tokens)
            and common_prefix(e.tokens, tokens) == len(e.tokens)
            for e in self._entries.values()
        )

    def add(self, tokens: np.ndarray, state: bytes, *, confirmed: bool) -> StateEntry | None:
        entry = StateEntry(np.array(tokens, dtype=np.intc, copy=True), state, confirmed)
        if entry.nbytes > self.capacity_bytes:
            return None  # one prefix larger than the whole budget: not worth holding
        for old in list(self._entries.values()):
            n = common_prefix(old.tokens, entry.tokens)
            # A candidate whose tokens the new entry starts with adds nothing any more.
            if (
                not old.confirmed
                and n == len(old.tokens)
                or confirmed
                and old.confirmed
                and n == len(entry.tokens)
                and len(old.tokens) - n <= self.slack
            ):
                self.remove(old)
        self._entries[id(entry)] = entry
        candidates = [e for e in self._entries.values() if not e.confirmed]
        for old in candidates[: max(0, len(candidates) - self.max_candidates)]:
            self.remove(old)
        # Over budget: drop candidates first (they may never be used), then the least recent.
        while self.nbytes > self.capacity_bytes and len(self._entries) > 1:
            victims = [e for e in self._entries.values() if not e.confirmed and e is not entry]
            victim = (
                victims[0] if victims else next(e for e in self._entries.values() if e is not entry)
            )
            self.remove(victim)
        return entry

    def remove(self, entry: StateEntry) -> None:
        self._entries.pop(id(entry), None)

    def clear(self) -> None:
        self._entries.clear()
