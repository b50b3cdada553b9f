"""Errors meant for people: what is wrong, where, and what to do.

The CLI maps `UserInputError` to exit code 2 and any other `WorkbenchError` to exit code 1;
the GUI shows `str(error)` in a message box and keeps running.
"""

from __future__ import annotations

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


class UserInputError(WorkbenchError):
    """Bad usage or bad input (a file, a line, a field). Exit code 2."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        where = []
        if self.path:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if field:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint=hint)


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
