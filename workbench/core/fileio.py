"""Atomic file writes, shared by every writer in the core (exports, SELF-CHECK traces, prompt
templates). A floor below the methods and the formats: it imports nothing from the project."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO


def _umask_now() -> int | None:
    """The process's umask read without changing it (Linux: /proc/self/status), else None."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _umask_at_import() -> int:
    # Setting the umask is the only portable way to read it; done once, while the module is
    # imported, so no other thread's file is created under the placeholder value.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK_AT_IMPORT = _umask_at_import()


def current_umask() -> int:
    """The umask (e.g. 0o022): read live where the system allows it without setting it
    (Linux), else the value it had when this module was imported."""
    mask = _umask_now()
    return _UMASK_AT_IMPORT if mask is None else mask


def new_mode(out: Path, *, folder: bool = False) -> int:
    """The permission bits (e.g. 0o644) for a file (or, `folder`, a folder) written to `out`
    through a temporary one: those of the existing `out` it replaces (a 0600 file stays 0600),
    else what open()/mkdir() would give under the current umask (0o666 / 0o777 less it).
    mkstemp/mkdtemp alone make 0600/0700, which other users and tools then cannot read."""
    try:
        st = os.stat(out)
    except OSError:
        st = None
    if st is not None and (stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)):
        return stat.S_IMODE(st.st_mode)
    return (0o777 if folder else 0o666) & ~current_umask()


@contextmanager
def atomic_text_file(out: Path) -> Iterator[IO[str]]:
    """A temporary file beside `out`, fsynced and renamed over it on success; removed on any
    failure or cancel, so `out` is either the whole new file or left as it was. The file gets
    the permissions of the `out` it replaces, or those open() would give (`new_mode`)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with suppress(OSError):  # a file system without modes (FAT, some mounts) keeps its own
            os.fchmod(fd, new_mode(out))
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
