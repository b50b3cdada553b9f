"""Errors meant for people: what is wrong, where, and what to do.

The CLI maps `UserInputError` to exit code 2 and any other `WorkbenchError` to exit code 1;
the GUI shows `str(error)` in a message box and keeps running.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path


class WorkbenchError(Exception):
    """A failure we can explain. `str()` is the whole message a person reads."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class RecordLine(int):
    """A line number that also names the record of a JSON list it belongs to (`record`,
    counted from 1): what `formats.common.iter_json_array` yields, so that every error a reader
    raises with it says "line 1, record 3", which a one-line (compact) list needs."""

    record: int

    def __new__(cls, line: int, record: int) -> RecordLine:
        obj = super().__new__(cls, line)
        obj.record = record
        return obj


class UserInputError(WorkbenchError):
    """Bad usage or bad input (a file, a line, a record of a JSON list, a field). Exit code 2.

    `line`: the line number (1-based); a `RecordLine` gives `record` too. `record`: the record's
    position in a JSON list (1-based), None for other files; the message then reads
    "path, line 1, record 3, field 'f': ..."."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        record: int | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.record = record if record is not None else getattr(line, "record", None)
        self.line = int(line) if line is not None else None
        self.field = field
        where = []
        if self.path:
            where.append(self.path)
        if line is not None:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {self.record}")
        if field:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint=hint)


# ----------------------------------------------------------------- JSON syntax errors in files


def json_error_text(exc: json.JSONDecodeError) -> str:
    """The decoder's message with its column: "Unterminated string starting at column 20"
    (some of its messages end in "at" already)."""
    msg = exc.msg.rstrip()
    return f"{msg} column {exc.colno}" if msg.endswith(" at") else f"{msg} at column {exc.colno}"


CUT_OFF = "the file ends early (cut off?)"


def json_syntax_error(
    exc: json.JSONDecodeError,
    path: Path,
    line: int | None = None,
    *,
    last: bool = True,
    record: int | None = None,
) -> UserInputError:
    """The UserInputError for a JSON syntax error at `line` (default: the decoder's line), for
    every reader of JSON / JSON Lines files (import, CoT, SELF-CHECK).

    `last`: the decoded text runs to the end of the file (a whole JSON document, or the last
    line of JSON Lines). When the decoder stopped there, at the end of the text or in a string
    that never closes, the file was cut short (an interrupted download or copy), and the
    message says so: "line 26: the file ends early (cut off?): not valid JSON (Expecting
    value)", the line being the file's last non-blank one.
    Otherwise "line N: not valid JSON (... at column C)". `record`: the record of a JSON list
    being decoded (1-based), named after the line."""
    what = f"not valid JSON ({json_error_text(exc)})"
    doc = exc.doc
    at_end = not doc[exc.pos :].strip()
    if not last or not (at_end or exc.msg.startswith("Unterminated string")):
        return UserInputError(
            what, path=path, line=exc.lineno if line is None else line, record=record
        )
    if at_end:  # a column past the last line names nothing
        what = f"not valid JSON ({exc.msg.removesuffix(' at').strip()})"
        line = last_line(doc) if line is None else line
    elif line is None:
        line = exc.lineno
    return UserInputError(
        f"{CUT_OFF}: {what}",
        path=path,
        line=line,
        record=record,
        hint="Check that the whole file was downloaded or copied, then try again.",
    )


def last_line(text: str) -> int:
    """The number of `text`'s last non-blank line (1 for a blank text)."""
    return text.count("\n", 0, len(text.rstrip())) + 1


class WorkspaceError(WorkbenchError):
    """A workspace file that cannot be opened as it is (not a workspace, newer, corrupt, in use)."""

    exit_code = 2


class ModelError(WorkbenchError):
    """A model file or server that cannot be used (missing, not GGUF, truncated, refused)."""

    exit_code = 2


class ModelProcessDied(ModelError):
    """The model's worker process ended in the middle of a call (a signal such as SIGSEGV from
    a native kernel, an abort from a GGML_ASSERT, an out-of-memory kill). The job stops;
    everything committed before the call is kept, so the run is resumable. Exit code 1: the
    job failed, the input was not wrong. `signal` is the signal number (None: an exit code)."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        signal: int | None = None,
        exitcode: int | None = None,
    ) -> None:
        self.signal = signal
        self.exitcode = exitcode
        super().__init__(message, hint=hint)


class Cancelled(WorkbenchError):
    """The user asked a job to stop; what was done before is saved."""

    exit_code = 1

    def __init__(self, message: str = "Cancelled; the work done so far is saved.") -> None:
        super().__init__(message)


# errno values that mean "this place may not be written": the folder or drive is read-only,
# not permitted, or not a folder at all. A person chooses another place (exit 2).
_NOT_WRITABLE = {
    errno.EROFS: "is on a read-only file system",
    errno.EACCES: "is not writable for you",
    errno.EPERM: "is not writable for you (not permitted)",
    errno.ENOTDIR: "is not a folder",
    errno.ENOENT: "does not exist",
}
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def write_error(
    exc: OSError, out: str | Path, *, what: str = "the file", again: str = "try again"
) -> WorkbenchError | None:
    """The message for an OSError raised while writing `out` (an atomic write: nothing partial
    is left), or None for any other error (re-raise it).

    EROFS/EACCES/EPERM/ENOTDIR/ENOENT: a `UserInputError` (exit 2) that names the folder as
    read-only / not writable / not a folder and says to choose another place. ENOSPC/EDQUOT: a
    `WorkbenchError` (exit 1) that says the disk is full and to free some space. `what` names
    the thing written ("the export"); `again` what to do after ("export again")."""
    out = Path(out)
    if exc.errno in _DISK_FULL:
        return WorkbenchError(
            f"{out}: {what} could not be written: the disk is full or over quota "
            f"({exc.strerror or exc}); no partial file was left.",
            hint=f"Free some space or choose another place, then {again}.",
        )
    kind = _NOT_WRITABLE.get(exc.errno or 0)
    if kind is None:
        return None
    return UserInputError(
        f"{what} could not be written: its folder {out.parent} {kind} "
        f"({exc.strerror or exc}); no partial file was left",
        path=out,
        hint=f"Choose another place, then {again}.",
    )


def plural(n: int, word: str) -> str:
    """A count for a message: "1 pair", "2 pairs" (the word's plural is word + "s")."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
