"""Bad records, all at once: readers report every record they cannot use (with line and field)
in one pass instead of stopping at the first, and the importer decides what happens to them.

How a reader takes part: it turns records into values with `parse_each(items, parse, path)`
(or calls `reject(...)` itself). Outside `collecting(...)` a bad record raises its
`UserInputError` at once, as before; inside, it is recorded as a `Problem` (with the raw record,
for the rejected file) and reading goes on. The importer then raises `InvalidRecords` (all or
nothing, the default) or, with `skip_invalid`, imports the rest and writes the rejected records
with their reasons to `<name>.rejected.jsonl` beside the input.

Shapes: `Problem.to_dict()` = `{"path", "line", "field", "error"}`, plus `"record"` (the
record's position in a JSON list, 1-based) for a JSON list's record; a rejected-file line =
`{"line", "field", "error", "record"}` (with `"path"` first for a folder's import; `record` =
the record as read: a JSON value, or the text of the line when it was not valid JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import UserInputError, write_error
from ..store.examples import Instance, tools_problem, weight_problem
from ..store.tasks import Task

CAP = 50  # problems listed in a message and in the --json result; the total is always given
T = TypeVar("T")
_current: ContextVar[Problems | None] = ContextVar("workbench_import_problems", default=None)


@dataclass
class Problem:
    path: str | None
    line: int | None
    field: str | None
    message: str
    record: Any = None  # the record as read (for the rejected file)
    index: int | None = None  # its position in a JSON list (1-based; UserInputError.record)

    @classmethod
    def from_error(cls, exc: UserInputError, record: Any = None) -> Problem:
        return cls(exc.path, exc.line, exc.field, bare_message(exc), record, exc.record)

    def where(self, root: Path | None = None) -> str:
        """ "line 3, field 'x'" ("line 1, record 3, ..." in a JSON list); with `root` (a
        folder of files), the file relative to it first."""
        file = ""
        if root is not None and self.path:
            p = Path(self.path)
            file = p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
        parts = [
            file,
            f"line {self.line}" if self.line is not None else "",
            f"record {self.index}" if self.index is not None else "",
            f"field '{self.field}'" if self.field else "",
        ]
        return ", ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        out = {"path": self.path, "line": self.line, "field": self.field, "error": self.message}
        return out if self.index is None else out | {"record": self.index}


@dataclass
class Problems:
    """Every bad record of one read, in file order."""

    items: list[Problem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, exc: UserInputError, record: Any = None) -> None:
        self.items.append(Problem.from_error(exc, record))

    def listed(self, cap: int = CAP) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.items[:cap]]


def current() -> Problems | None:
    """The collector of the read in progress, or None (then errors raise at once)."""
    return _current.get()


@contextmanager
def collecting(problems: Problems | None) -> Iterator[Problems | None]:
    """Within this block, `parse_each`/`reject` record bad records in `problems`."""
    token = _current.set(problems)
    try:
        yield problems
    finally:
        _current.reset(token)


def reject(exc: UserInputError, record: Any = None) -> None:
    """Record a bad record when collecting; raise `exc` otherwise."""
    problems = _current.get()
    if problems is None:
        raise exc
    problems.add(exc, record)


def parse_each(
    items: Iterable[tuple[int, Any]], parse: Callable[[Any, Path, int], T], path: Path
) -> Iterator[T]:
    """`parse(obj, path, line)` for each (line, obj); a record it refuses is rejected (see
    `reject`) and skipped."""
    for line, obj in items:
        try:
            value = parse(obj, path, line)
            check_parsed(value, path, line)
        except UserInputError as exc:
            reject(exc, obj)
            continue
        yield value


def bare_message(exc: UserInputError) -> str:
    """The error's message without the "path, line N, field 'f': " prefix it carries."""
    where = [
        w
        for w in (
            exc.path,
            f"line {exc.line}" if exc.line is not None else None,
            f"record {exc.record}" if exc.record is not None else None,
            f"field '{exc.field}'" if exc.field else None,
        )
        if w
    ]
    prefix = ", ".join(where) + ": "
    return exc.message[len(prefix) :] if where and exc.message.startswith(prefix) else exc.message


class InvalidRecords(UserInputError):
    """Some records of a file cannot be imported; `problems` lists them all (the message the
    first `CAP`), `total` counts them. Its path/line/field are the first problem's."""

    def __init__(
        self,
        path: Path,
        problems: Problems,
        *,
        records: int | None = None,
        cap: int = CAP,
        skip_hint: bool = True,
        root: Path | None = None,
        detected: str | None = None,
    ) -> None:
        self.problems = problems
        self.detected = detected
        self.total = problems.total
        first = problems.items[0]
        lines = [f"  {p.where(root) or 'the file'}: {p.message}" for p in problems.items[:cap]]
        if self.total > cap:
            lines.append(f"  … and {self.total - cap} more")
        of = f" of {records}" if records is not None else ""
        hint = (
            (
                "Fix them and import again, or import the valid records with --skip-invalid "
                f"(the rejected ones are written to {rejected_path(path).name} with their "
                "reasons)."
            )
            if skip_hint
            else None
        )
        if detected:
            hint = detected_hint(detected) + (f" {hint}" if hint else "")
        noun = "record cannot" if self.total == 1 and not of else "records cannot"
        super().__init__(
            f"{self.total}{of} {noun} be imported; nothing was imported:\n" + "\n".join(lines),
            path=path if root is not None else first.path or path,
            hint=hint,
        )
        # the first bad record's, for --json
        self.line, self.field, self.record = first.line, first.field, first.index
        self.summary = f"{self.total}{of} {noun} be imported; nothing was imported"

    def to_dict(self, cap: int = CAP) -> dict[str, Any]:
        out = {"problems": self.problems.listed(cap), "problems_total": self.total}
        if self.detected:
            out |= {"format": self.detected, "format_detected": True}
        return out


def detected_hint(fmt: str) -> str:
    """What an error on a file whose format was guessed says first: the guess, and how to
    name another."""
    return (
        f"The file was read as {fmt}, the format detected from its content; if it is another "
        "format, name it with --format FORMAT (docs/formats.md)."
    )


def rejected_path(path: Path) -> Path:
    """`<name>.rejected.jsonl` beside the input (`data.jsonl.gz` → `data.rejected.jsonl`; a
    dataset folder `ds/` → `ds.rejected.jsonl` beside it)."""
    from .compression import inner_name

    path = Path(path)
    if path.is_dir():
        return path.parent / f"{path.name}.rejected.jsonl"
    stem = Path(inner_name(path)).stem
    return path.parent / f"{stem}.rejected.jsonl"


def write_rejected(problems: Problems, out: Path, *, with_path: bool = False) -> Path:
    """Write every rejected record with its reason, one JSON object a line (atomically);
    `with_path` adds each record's file as `path` first (a folder's import)."""
    from ..fileio import atomic_text_file

    try:
        with atomic_text_file(out) as fh:
            for p in problems.items:
                row = ({"path": p.path} if with_path else {}) | {
                    "line": p.line,
                    "field": p.field,
                    "error": p.message,
                    "record": p.record,
                }
                text = json.dumps(row, ensure_ascii=False, default=str)
                if broken_text(text):  # a lone surrogate: kept as the file spelled it (\ud83d)
                    text = json.dumps(row, default=str)
                fh.write(text + "\n")
    except OSError as exc:
        mapped = write_error(
            exc, out, what="the rejected records", again="import again (--rejected-out PATH)"
        )
        if mapped is not None:
            raise mapped from exc
        raise UserInputError(
            f"cannot write the rejected records ({exc.strerror or exc})",
            path=out,
            field="rejected",
            hint="Name another file with --rejected-out PATH.",
        ) from exc
    return out


# ------------------------------------------------ checks every reader's records go through
def first_in(value: Any, leaf: Callable[[Any, str], T | None], where: str = "") -> T | None:
    """Depth first over a JSON value, keys included: the first `leaf(item, field path)` that is
    not None (field paths like "conversations[1].value", keys spelled `printable`)."""
    found = leaf(value, where)
    if found is not None:
        return found
    if isinstance(value, dict):
        for k, v in value.items():
            key = printable(k)  # a field path stays printable even when the key is broken
            name = f"{where}.{key}" if where else key
            found = leaf(k, name)
            if found is None:
                found = first_in(v, leaf, name)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = first_in(v, leaf, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def broken_text(value: Any, where: str = "") -> tuple[str, str, int] | None:
    """The first text in a JSON value (keys and values, depth first) that cannot be written as
    UTF-8, as (field path like "conversations[1].value", the character, its 0-based position
    in the text); None when every text is sound. JSON can spell half of a UTF-16 surrogate
    pair on its own ("\\ud83d", common in chat dumps cut mid-emoji); Python reads it as a
    lone surrogate, which no UTF-8 file or SQLite text can hold."""

    def leaf(item: Any, at: str) -> tuple[str, str, int] | None:
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return at, item[exc.start], exc.start
        return None

    return first_in(value, leaf, where)


def printable(text: Any) -> str:
    """`text` with every character UTF-8 cannot encode (a lone surrogate) spelled as its
    escape (\\ud83d), so that a field path naming a broken key can be printed and stored."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def non_finite(value: Any, where: str = "") -> tuple[str, float] | None:
    """The first number in a JSON value (depth first) that is not finite, as (field path,
    the number); None when there is none. Python's JSON reader takes NaN, Infinity and
    -Infinity (and reads 1e400 as infinity), which standard JSON has no spelling for: such a
    record could never be exported again."""

    def leaf(item: Any, at: str) -> tuple[str, float] | None:
        return (at, item) if isinstance(item, float) and not math.isfinite(item) else None

    return first_in(value, leaf, where)


def record_error(value: Any, path: Path | None, line: int | None) -> UserInputError | None:
    """The bad-record error for a JSON record holding text UTF-8 cannot encode
    (broken_text) or a number that is not finite (non_finite); None for a sound record."""
    found = broken_text(value)
    if found:
        return broken_text_error(found, path, line)
    number = non_finite(value)
    if number:
        where, x = number
        return UserInputError(
            f"{json.dumps(x)} is not a finite number: JSON has no such value and no export could write "
            "it; put a number (or null) in its place",
            path=path,
            line=line,
            field=where or None,
        )
    return None


def broken_text_error(
    found: tuple[str, str, int], path: Path | None, line: int | None
) -> UserInputError:
    """The bad-record error for `broken_text`'s finding."""
    where, char, pos = found
    kind = "a lone UTF-16 surrogate" if 0xD800 <= ord(char) <= 0xDFFF else "a character"
    return UserInputError(
        f"text has a broken character ({kind} {ascii(char)[1:-1]} at position {pos}) that "
        "UTF-8 cannot store: fix the escape in the file (an emoji is a pair like "
        "\\ud83d\\ude00; half of one is no character)",
        path=path,
        line=line,
        field=where or None,
    )


def check_text(value: Any, path: Path | None, line: int | None) -> None:
    """Raise record_error's error when a JSON record holds text that UTF-8 cannot encode or a
    number that is not finite."""
    error = record_error(value, path, line)
    if error:
        raise error


def sound(obj: Any, path: Path, line: int) -> bool:
    """Whether every text of a JSON record can be stored; when not, the record is a bad record
    (validation.reject: recorded when collecting, raised otherwise) and the reader skips it."""
    error = record_error(obj, path, line)
    if error:
        reject(error, obj)
    return error is None


def check_example(inst: Instance, path: Path | None, line: int | None) -> None:
    """Raise UserInputError (naming the field) when an example's own fields are not what they
    must be: the answer's and each earlier turn's weight (store.examples.weight_problem: a
    finite number >= 0; NaN, Infinity, 1e400 and -3 are not), the tools
    (store.examples.tools_problem), a KTO example's label (true or false)."""

    def bad(field: str, message: str) -> UserInputError:
        return UserInputError(message, path=path, line=line, field=field)

    if inst.weight is not None and (why := weight_problem(inst.weight)):
        raise bad("weight", why)
    for i, turn in enumerate(inst.history or []):
        if isinstance(turn, dict) and "weight" in turn and (why := weight_problem(turn["weight"])):
            raise bad(f"history[{i}].weight", why)
    if why := tools_problem(inst.tools):
        raise bad("tools", why)
    if inst.kind == "kto" and not isinstance(inst.label, bool):
        raise bad("label", "a KTO label is true (desirable) or false (undesirable)")


def check_parsed(value: Any, path: Path, line: int) -> None:
    """check_example for every example of what a record parser returned (a Record, a Task,
    or a list of them)."""
    if isinstance(value, Task):
        for inst in value.instances:
            check_example(inst, path, line)
    elif isinstance(value, list | tuple):
        for v in value:
            check_parsed(v, path, line)
    elif isinstance(getattr(value, "instance", None), Instance):  # a common.Record
        check_example(value.instance, path, getattr(value, "line", line))
