"""Atomic file writes, shared by every writer in the core (exports, SELF-CHECK traces, prompt
templates). A floor below the methods and the formats: it imports nothing from the project."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO


@contextmanager
def atomic_text_file(out: Path) -> Iterator[IO[str]]:
    """A temporary file beside `out`, fsynced and renamed over it on success; removed on any
    failure or cancel, so `out` is either the whole new file or left as it was."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(out.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where folders cannot be synced)."""
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def storable_text(text: str) -> str:
    """`text` as valid UTF-8 text that SQLite and a UTF-8 file can hold. A file name with bytes
    that are not UTF-8 reaches Python as a str with surrogate escapes (os.fsdecode: byte 0xff
    is "\\udcff"); those bytes are spelled "\\xff" (os.fsencode(p).decode("utf-8",
    "backslashreplace")), any other lone surrogate as "\\ud83d". Sound text is returned as it is.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
