"""A pool of texts scored by exact ROUGE-L: the index the Self-Instruct filter scores against.

The filter's rule itself is `selfinstruct.candidates.decide_call` (run, replay and Inspect's
re-filter all call it, with `scores`/`scores_many`/`pairwise` from here). `add_incremental` is
a batch model of its ROUGE-L part (no instruction rules, no step 3), for tests and benchmarks.

Each text is tokenized once and stored as a string with one code point per token id, so
rapidfuzz's bit-parallel LCS compares it with no per-call conversion; `cdist` spreads a batch
of queries over the pool across threads. Only LCS lengths come out of rapidfuzz; F-measures are
made with rouge-score's own float operations (see `rougel`).

The pool is also kept grouped by token count. Within one group F = 2*lcs/(m+n) depends only on
the LCS length, which lets the filter get, per candidate, the exact maximum, the top-k and the
mean from per-group reductions of the integer LCS matrix instead of an F for every pair; and it
lets single queries skip whole groups that the bound F <= 2*min(m,n)/(m+n) rules out.

Not thread-safe: one thread adds to an index at a time (scoring itself runs on many threads).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import LCSseq
from rapidfuzz.process import cdist

from ..errors import WorkbenchError
from .rougel import MAX_TOKEN_IDS, UNKNOWN_CHAR, f_measure_array, id_char
from .tokenizers import get_tokenizer

# Float slack when comparing bounds with computed scores; F values differ by >= 1/(m+n)^2.
_EPS = 1e-9
# Candidates compared with the pool per `cdist` call inside `add_incremental`; bounds memory
# (chunk x pool LCS lengths) while keeping each call long enough to use every thread.
_CHUNK = 64
# Smallest number of pool texts scored per call by the pruned single-query paths.
_QUERY_CHUNK = 4096
# Token ids are re-ranked by frequency when the pool first reaches this size, then each time
# it doubles: rapidfuzz looks code points below 256 up in a flat table and the others in a
# hash map, so giving the commonest words the smallest ids makes the LCS about 1.5x faster.
_RERANK_FROM = 1024


@dataclass
class Decision:
    """What the filter decided for one candidate, and the evidence the inspector shows."""

    kept: bool
    max_score: float
    top_k: list[tuple[str, float]] = field(default_factory=list)
    avg_score: float = 0.0


@dataclass
class _Layout:
    """The pool ordered by token count (stable), built once per change of the pool."""

    choices: list[str]  # codes, grouped by token count, insertion order within a group
    order: np.ndarray  # insertion index of each position
    col_lens: np.ndarray  # token count of each position
    glens: np.ndarray  # token count of each group
    starts: np.ndarray  # first position of each group
    counts: np.ndarray  # size of each group


class SimilarityIndex:
    """Texts with exact ROUGE-L scoring against all of them.

    `tokenizer` is one of `TOKENIZERS`; `threads` is how many threads score (None: all cores).
    """

    def __init__(self, tokenizer: str = "rouge", threads: int | None = None) -> None:
        self.tokenizer = tokenizer
        self._tokenize = get_tokenizer(tokenizer)
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1 (or None for all cores), not {threads}")
        self._workers = -1 if threads is None else int(threads)
        self._vocab: dict[str, str] = {}
        self._texts: list[str] = []
        self._codes: list[str] = []
        self._lens = np.zeros(1024, dtype=np.int64)
        self._buckets: dict[int, list[str]] = {}
        self._layout: _Layout | None = None
        self._ranked_at = 0

    # ------------------------------------------------------------------ adding
    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, i: int) -> str:
        return self._texts[i]

    @property
    def threads(self) -> int | None:
        return None if self._workers == -1 else self._workers

    def _encode(self, text: str, *, grow: bool) -> str:
        tokens = self._tokenize(text)
        vocab = self._vocab
        if not grow:
            # A token the pool never saw matches nothing in it; one shared code point will do.
            return "".join([vocab.get(t, UNKNOWN_CHAR) for t in tokens])
        try:
            return "".join([vocab[t] for t in tokens])
        except KeyError:
            pass
        for t in tokens:
            if t not in vocab:
                if len(vocab) >= MAX_TOKEN_IDS:
                    raise WorkbenchError(
                        f"the similarity index holds {len(vocab):,} distinct tokens, its limit",
                        hint="Split the pool, or use the 'rouge' tokenizer.",
                    )
                vocab[t] = id_char(len(vocab))
        return "".join([vocab[t] for t in tokens])

    def _append(self, text: str, code: str) -> int:
        i = len(self._texts)
        if i == len(self._lens):
            self._lens = np.concatenate([self._lens, np.zeros_like(self._lens)])
        self._texts.append(text)
        self._codes.append(code)
        self._lens[i] = len(code)
        self._buckets.setdefault(len(code), []).append(code)
        self._layout = None
        return i

    def _maybe_rerank(self) -> None:
        n = len(self)
        if n < _RERANK_FROM or n < 2 * self._ranked_at:
            return
        self._ranked_at = n
        freq = Counter("".join(self._codes))
        # A stable sort: equally frequent tokens keep their order, so ids stay deterministic.
        ranked = sorted(self._vocab.values(), key=lambda ch: -freq.get(ch, 0))
        table = {ord(old): id_char(i) for i, old in enumerate(ranked)}
        self._vocab = {t: table[ord(ch)] for t, ch in self._vocab.items()}
        self._codes = [c.translate(table) for c in self._codes]
        self._buckets = {}
        for c in self._codes:
            self._buckets.setdefault(len(c), []).append(c)
        self._layout = None

    def add(self, text: str) -> int:
        """Add one text to the pool; returns its position (insertion order, from 0)."""
        self._maybe_rerank()
        return self._append(text, self._encode(text, grow=True))

    def add_many(self, texts: Iterable[str]) -> list[int]:
        """Add texts in order (not compared with one another); returns their positions."""
        texts = list(texts)
        self._maybe_rerank()
        codes = [self._encode(t, grow=True) for t in texts]
        first = len(self)
        end = first + len(codes)
        if end > len(self._lens):
            grown = np.zeros(max(end, 2 * len(self._lens)), dtype=np.int64)
            grown[:first] = self._lens[:first]
            self._lens = grown
        self._lens[first:end] = [len(c) for c in codes]
        self._texts.extend(texts)
        self._codes.extend(codes)
        buckets = self._buckets
        for c in codes:
            buckets.setdefault(len(c), []).append(c)
        self._layout = None
        self._maybe_rerank()
        return list(range(first, end))

    # ----------------------------------------------------------------- scoring
    def _lcs(self, queries: Sequence[str], choices: Sequence[str]) -> np.ndarray:
        if not queries or not choices:
            return np.zeros((len(queries), len(choices)), dtype=np.uint32)
        return cdist(queries, choices, scorer=LCSseq.similarity, workers=self._workers)

    def scores(self, text: str) -> list[float]:
        """ROUGE-L of `text` with every text of the pool, in insertion order."""
        return self._scores(text).tolist()

    def scores_many(self, texts: Sequence[str]) -> np.ndarray:
        """ROUGE-L of each of `texts` (rows) with every pool text (columns, insertion order).

        One multi-threaded pass: the way to score many texts at once (histograms, re-running
        a filter at another threshold).
        """
        codes = [self._encode(t, grow=False) for t in texts]
        ms = np.array([len(c) for c in codes], dtype=np.int64)
        lcs = self._lcs(codes, self._codes)
        return f_measure_array(lcs, ms[:, None], self._lens[None, : len(self)])

    def pairwise(self) -> np.ndarray:
        """ROUGE-L of every pool text with every other: a symmetric matrix in insertion order.

        Each pair is computed once (lower triangle, in blocks). The diagonal holds each text's
        score with itself: 1.0, or 0.0 for a text without tokens.
        """
        n = len(self)
        out = np.empty((n, n))
        lens = self._lens[:n]
        # Small blocks keep the part computed twice (above the diagonal in each block) small.
        block = 64
        for start in range(0, n, block):
            end = min(n, start + block)
            lcs = self._lcs(self._codes[start:end], self._codes[:end])
            f = f_measure_array(lcs, lens[start:end, None], lens[None, :end])
            out[start:end, :end] = f
            out[:end, start:end] = f.T
        return out

    def _scores(self, text: str) -> np.ndarray:
        code = self._encode(text, grow=False)
        lcs = self._lcs([code], self._codes)[0]
        return f_measure_array(lcs, len(code), self._lens[: len(self)])

    def avg_score(self, text: str) -> float:
        """Mean ROUGE-L of `text` over the pool (the reference's avg_similarity_score); 0.0 if empty."""
        if not self._texts:
            return 0.0
        return float(np.mean(self._scores(text)))

    def max_score(self, text: str) -> float:
        """Highest ROUGE-L of `text` with any text of the pool; 0.0 if empty."""
        best, _ = self._pruned(self._encode(text, grow=False), k=0)
        return best

    def top_k(self, text: str, k: int = 10) -> list[tuple[str, float]]:
        """The `k` most similar pool texts with their scores, highest first, ties in insertion order."""
        if k <= 0:
            return []
        _, top = self._pruned(self._encode(text, grow=False), k=k)
        return [(self._texts[i], s) for i, s in top]

    def _pruned(self, code: str, k: int) -> tuple[float, list[tuple[int, float]]]:
        """Max score and top-k (insertion index, score), skipping groups the length bound rules out."""
        n = len(self)
        m = len(code)
        if n == 0:
            return 0.0, []
        if m == 0:
            return 0.0, [(i, 0.0) for i in range(min(k, n))]
        lay = self._get_layout()
        glens = lay.glens
        bound = 2.0 * np.minimum(glens, m) / (glens + m)
        # Most promising groups first (a stable sort keeps equal bounds in length order).
        visit = np.argsort(-bound, kind="stable").tolist()
        best = 0.0
        got_idx: list[np.ndarray] = []
        got_f: list[np.ndarray] = []
        got = 0
        pos = 0
        while pos < len(visit):
            spans: list[tuple[int, int]] = []
            size = 0
            while pos < len(visit) and size < _QUERY_CHUNK:
                start = int(lay.starts[visit[pos]])
                stop = start + int(lay.counts[visit[pos]])
                spans.append((start, stop))
                size += stop - start
                pos += 1
            choices = list(itertools.chain.from_iterable(lay.choices[a:b] for a, b in spans))
            cols = np.concatenate([np.arange(a, b) for a, b in spans])
            lcs = self._lcs([code], choices)[0]
            f = f_measure_array(lcs, m, lay.col_lens[cols])
            best = max(best, float(f.max()))
            if k:
                got_idx.append(lay.order[cols])
                got_f.append(f)
                got += len(f)
            if pos == len(visit):
                break
            remaining = float(bound[visit[pos]])
            if k == 0 and remaining < best - _EPS:
                break
            if k and got >= k:
                all_f = np.concatenate(got_f)
                kth = float(np.partition(all_f, len(all_f) - k)[len(all_f) - k])
                if remaining < kth - _EPS:
                    break
        if not k:
            return best, []
        idx = np.concatenate(got_idx)
        f = np.concatenate(got_f)
        order = np.lexsort((idx, -f))[:k]
        return best, [(int(i), float(s)) for i, s in zip(idx[order], f[order])]

    # ----------------------------------------------------------------- filter
    def _get_layout(self) -> _Layout:
        if self._layout is None:
            n = len(self)
            lens = self._lens[:n]
            glens = np.array(sorted(self._buckets), dtype=np.int64)
            counts = np.array([len(self._buckets[L]) for L in glens.tolist()], dtype=np.int64)
            starts = np.zeros(len(counts), dtype=np.intp)
            if len(counts) > 1:
                starts[1:] = np.cumsum(counts)[:-1]
            self._layout = _Layout(
                choices=list(
                    itertools.chain.from_iterable(self._buckets[L] for L in glens.tolist())
                ),
                # Small integer keys take numpy's radix sort: cheap enough to redo per change.
                order=np.argsort(
                    lens.astype(np.uint16) if n and lens.max() < 65536 else lens, kind="stable"
                ),
                col_lens=np.repeat(glens, counts),
                glens=glens,
                starts=starts,
                counts=counts,
            )
        return self._layout

    def _pool_stats(
        self, codes: list[str], k: int
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For each code: max F over the pool, sum of F over the pool, and (row, insertion
        index, F) of a superset of each row's top-k pool neighbours, all other pairs skipped."""
        b = len(codes)
        empty = np.zeros(0, dtype=np.int64)
        if not self._texts:
            return np.zeros(b), np.zeros(b), (empty, empty, np.zeros(0))
        lay = self._get_layout()
        ms = np.array([len(c) for c in codes], dtype=np.int64)
        lcs = self._lcs(codes, lay.choices)
        gmax = np.maximum.reduceat(lcs, lay.starts, axis=1)
        gsum = np.add.reduceat(lcs, lay.starts, axis=1, dtype=np.int64)
        mcol = ms[:, None]
        fmax = f_measure_array(gmax, mcol, lay.glens[None, :])
        maxes = fmax.max(axis=1)
        # Sum of F = sum over groups of 2*sum(lcs)/(m+n): equal to summing each pair's F up to
        # float rounding (the mean is a statistic shown to people, never compared at a threshold).
        denom = mcol + lay.glens[None, :]
        sums = np.divide(2.0 * gsum, denom, out=np.zeros(gsum.shape), where=denom > 0).sum(axis=1)
        if k <= 0:
            return maxes, sums, (empty, empty, np.zeros(0))
        g = fmax.shape[1]
        # The k-th best group maximum is a lower bound of the k-th best score overall, so only
        # pairs whose LCS can reach it need an exact F.
        kth = np.partition(fmax, g - k, axis=1)[:, g - k] if g >= k else np.zeros(b)
        need = np.maximum(np.ceil(kth[:, None] * denom / 2.0 - _EPS), 0).astype(lcs.dtype)
        rows, cols = np.nonzero(lcs >= np.repeat(need, lay.counts, axis=1))
        f = f_measure_array(lcs[rows, cols], ms[rows], lay.col_lens[cols])
        return maxes, sums, (rows, lay.order[cols], f)

    def add_incremental(
        self, candidates: Iterable[str], threshold: float, k: int = 10
    ) -> list[Decision]:
        """A model of the Self-Instruct ROUGE-L filter over `candidates`, in order, for tests
        and benchmarks (the filter runs use is `selfinstruct.candidates.decide_call`).

        Each candidate is compared with the pool and with the candidates kept before it; it is
        kept when its highest ROUGE-L F (0..1) is <= `threshold`, and then joins the pool at
        once: every candidate a sibling and a pool member alike, as when every candidate that
        passes also becomes a task. `k` neighbours are returned with each decision.
        """
        decisions: list[Decision] = []
        batch: list[str] = []
        for text in candidates:
            batch.append(text)
            if len(batch) == _CHUNK:
                decisions.extend(self._filter_chunk(batch, threshold, k))
                batch = []
        if batch:
            decisions.extend(self._filter_chunk(batch, threshold, k))
        return decisions

    def _filter_chunk(self, texts: list[str], threshold: float, k: int) -> list[Decision]:
        self._maybe_rerank()  # before encoding: it renumbers tokens
        codes = [self._encode(t, grow=True) for t in texts]
        b = len(codes)
        n0 = len(self)
        pool_max, pool_sum, pool_sel = self._pool_stats(codes, k)
        ms = np.array([len(c) for c in codes], dtype=np.int64)
        within = f_measure_array(self._lcs(codes, codes), ms[:, None], ms[None, :])
        earlier = np.tri(b, b, -1, dtype=bool)  # [i, j]: j comes before i
        # Each decision depends on the earlier ones. Assume every candidate is kept, find the
        # first that is not, drop it and look again after it: one pass per dropped candidate.
        kept = np.ones(b, dtype=bool)
        start = 0
        while start < b:
            live = np.where(earlier[start:] & kept[None, :], within[start:], -1.0)
            best = np.maximum(pool_max[start:], live.max(axis=1, initial=-1.0))
            over = np.flatnonzero(best > threshold)
            if not len(over):
                break
            kept[start + over[0]] = False
            start += over[0] + 1
        live = earlier & kept[None, :]
        best = np.maximum(pool_max, np.where(live, within, -1.0).max(axis=1, initial=-1.0))
        totals = pool_sum + np.where(live, within, 0.0).sum(axis=1)
        counts = n0 + live.sum(axis=1)
        # Kept candidates join the pool in order, after everything already in it.
        slot = n0 + np.cumsum(kept) - 1
        # Top-k: the pool's candidates and the earlier kept ones, ordered by (row, score
        # descending, insertion order), then the first k of each row.
        tops: list[list[tuple[int, float]]] = [[] for _ in range(b)]
        if k > 0:
            rows_w, cols_w = np.nonzero(live)
            rows = np.concatenate([pool_sel[0], rows_w])
            ins = np.concatenate([pool_sel[1], slot[cols_w]])
            f = np.concatenate([pool_sel[2], within[rows_w, cols_w]])
            order = np.lexsort((ins, -f, rows))
            bounds = np.searchsorted(rows[order], np.arange(b + 1)).tolist()
            ins_l, f_l = ins[order].tolist(), f[order].tolist()
            for r in range(b):
                lo = bounds[r]
                hi = min(bounds[r + 1], lo + k)
                tops[r] = list(zip(ins_l[lo:hi], f_l[lo:hi]))
        kept_pos = np.flatnonzero(kept).tolist()
        decisions = [
            Decision(
                kept=bool(kept[i]),
                max_score=s,
                top_k=[
                    (self._texts[j] if j < n0 else texts[kept_pos[j - n0]], f) for j, f in tops[i]
                ],
                avg_score=t / c if c else 0.0,
            )
            for i, (s, t, c) in enumerate(zip(best.tolist(), totals.tolist(), counts.tolist()))
        ]
        for i in kept_pos:
            self._append(texts[i], codes[i])
        return decisions
