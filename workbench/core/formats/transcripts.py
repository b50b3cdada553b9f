"""Conversations written as one text with speaker markers, and the readers for them:

- **OIG** (LAION Open-Instruction-Generalist): JSON Lines (or a JSON list) of
  `{"text": "<human>: …\\n<bot>: …", "metadata": {…}}`; also plain-text training files
  (`.txt`) of documents separated by `<|endoftext|>`, with `<human>:`/`<bot>:` markers or
  `User:`/`Joi:` (and `Human:`/`Assistant:`) at line starts, as OIG's `training_text_example.txt`.
- **Baize** (project-baize): a JSON list (or JSON Lines) of `{"topic", "input"}`, the input
  `"The conversation between human and AI assistant.\\n[|Human|] …\\n[|AI|] …\\n[|Human|] "`.

A conversation becomes one example: text before the first marker is its system prompt; the last
assistant turn is the output and the user turn before it the instruction; earlier turns are the
example's history (`{"role": "user"|"assistant", "content"}`, oldest first). A user turn after
the last answer is kept in `meta["_dropped_turns"]` (`{"role", "content", "reason"}`, counted
in the import summary); the empty `[|Human|] ` that ends every Baize transcript is noted as
`meta["_empty_last_turn"] = "user"`. Other record fields (`metadata`, `topic`, ids) stay in the
example's meta. Normalisation: each turn's text is stripped of the spaces and newlines around
it (they separate turns in these layouts).

Errors: a conversation without an assistant turn, or whose last answer follows no user turn
(file, line, field).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import decode_utf8, read_bytes, require_obj
from .compression import inner_suffix
from .reading import Example, group_examples, iter_records, text_field
from .validation import parse_each, reject

OIG = "oig"
BAIZE = "baize"
OIG_MARKERS = {"<human>:": "user", "<bot>:": "assistant"}
OIG_TEXT_MARKERS = {
    **OIG_MARKERS,
    "User:": "user",
    "Joi:": "assistant",
    "Human:": "user",
    "Assistant:": "assistant",
}
BAIZE_MARKERS = {"[|Human|]": "user", "[|AI|]": "assistant"}
END_OF_TEXT = "<|endoftext|>"

Turn = tuple[str, str]  # (role, text)


def _pattern(markers: dict[str, str], line_start: frozenset[str] = frozenset()) -> re.Pattern:
    alts = []
    for m in sorted(markers, key=len, reverse=True):
        alts.append(("(?:(?<=\\n)|^)" if m in line_start else "") + re.escape(m))
    return re.compile("(" + "|".join(alts) + ")")


_OIG_RE = _pattern(OIG_MARKERS)
_OIG_TEXT_RE = _pattern(
    OIG_TEXT_MARKERS, frozenset(m for m in OIG_TEXT_MARKERS if not m.startswith("<"))
)
_BAIZE_RE = _pattern(BAIZE_MARKERS)


def split_turns(
    text: str,
    markers: dict[str, str],
    pattern: re.Pattern | None = None,
) -> tuple[str, list[Turn]]:
    """(text before the first marker, [(role, text), ...]); each text stripped."""
    pattern = pattern or _pattern(markers)
    parts = pattern.split(text)
    preamble = parts[0].strip()
    turns = [(markers[parts[i]], parts[i + 1].strip()) for i in range(1, len(parts), 2)]
    return preamble, turns


def to_example(
    preamble: str,
    turns: list[Turn],
    path: Path,
    line: int,
    field: str,
    meta: dict[str, Any] | None = None,
) -> tuple[str, Instance]:
    """(instruction, example) from a split conversation; UserInputError when it has no
    answer or the answer follows no user turn."""
    meta = dict(meta or {})
    turns = list(turns)
    if turns and turns[-1][0] == "user":
        text = turns.pop()[1]
        if text:
            meta["_dropped_turns"] = [
                {"role": "user", "content": text, "reason": "no answer after it"}
            ]
        else:  # Baize ends every transcript with an empty "[|Human|] "
            meta["_empty_last_turn"] = "user"
    if not turns or turns[-1][0] != "assistant":
        raise UserInputError(
            "no assistant turn (an answer) in this conversation", path=path, line=line, field=field
        )
    if len(turns) < 2 or turns[-2][0] != "user":
        raise UserInputError(
            "the last answer follows no user turn", path=path, line=line, field=field
        )
    instruction = turns[-2][1]
    if not instruction.strip():
        raise UserInputError("the last user turn is empty", path=path, line=line, field=field)
    history = [{"role": r, "content": t} for r, t in turns[:-2]]
    return instruction, Instance(
        input="", output=turns[-1][1], system=preamble or None, history=history, meta=meta
    )


# ------------------------------------------------------------------------------------ OIG
def looks_like_oig(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("text"), str)
        and "<human>:" in obj["text"]
        and "<bot>:" in obj["text"]
    )


def looks_like_oig_text(text: str) -> bool:
    """A plain-text OIG training file (not JSON)."""
    head = text.lstrip()
    return (
        not head.startswith(("{", "["))
        and (head.startswith(("<human>:", "User:", "Human:")) or END_OF_TEXT in text[:65536])
        and bool(_OIG_TEXT_RE.search(text[:65536]))
    )


def _transcript_record(
    key: str, markers: dict[str, str], pattern: re.Pattern
) -> Callable[[Any, Path, int], Example]:
    """The parser of a JSON record that holds a transcript in `key` (OIG `text`, Baize
    `input`): one example, the record's other fields in its meta."""

    def parse(obj: Any, path: Path, line: int) -> Example:
        obj = require_obj(obj, path, line)
        text = text_field(obj, key, path, line, nonempty=True)
        preamble, turns = split_turns(text, markers, pattern)
        meta = {k: v for k, v in obj.items() if k != key}
        instruction, inst = to_example(preamble, turns, path, line, key, meta)
        return Example(line, instruction, inst)

    return parse


_oig_record = _transcript_record("text", OIG_MARKERS, _OIG_RE)


def read_oig(path: Path) -> list[Task]:
    """OIG JSONL/JSON records, or (a file that is not JSON) OIG plain training text."""
    data = read_bytes(path)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if inner_suffix(path) == ".txt" or head not in (b"{", b"["):
        return _read_oig_text(path, decode_utf8(data, path))
    return group_examples(parse_each(iter_records(path, data), _oig_record, path), path, OIG)


def _read_oig_text(path: Path, text: str) -> list[Task]:
    examples: list[Example] = []
    pos = 0
    for doc in text.split(END_OF_TEXT):
        start = pos + (len(doc) - len(doc.lstrip()))
        line = text.count("\n", 0, start) + 1
        pos += len(doc) + len(END_OF_TEXT)
        if not doc.strip():
            continue
        preamble, turns = split_turns(doc, OIG_TEXT_MARKERS, _OIG_TEXT_RE)
        try:
            instruction, inst = to_example(preamble, turns, path, line, "text")
        except UserInputError as exc:
            reject(exc, doc)
            continue
        examples.append(Example(line, instruction, inst))
    return group_examples(examples, path, OIG)


# ---------------------------------------------------------------------------------- Baize
def looks_like_baize(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("input"), str)
        and "[|Human|]" in obj["input"]
        and "[|AI|]" in obj["input"]
        and "instruction" not in obj
    )


_baize_record = _transcript_record("input", BAIZE_MARKERS, _BAIZE_RE)


def read_baize(path: Path) -> list[Task]:
    return group_examples(parse_each(iter_records(path), _baize_record, path), path, BAIZE)
