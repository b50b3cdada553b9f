"""One process at a time per run: an OS advisory lock that dies with its process.

    with hold_run(ws, run_id):   # raises RunBusy while another process continues the run
        ...                      # the run's whole life

Two processes that resume the same run would both decide the same candidates (duplicate tasks),
so a run is locked for as long as it is worked on. The lock is `fcntl.flock` on a small file
next to the workspace (`<workspace>.locks/run-<id>.lock`): the kernel drops it when its process
ends, however it ends (`kill -9` included), so it can never be left stale. flock locks belong to
an open file, so a second attempt in the same process (the window's Resume beside its own run)
is refused too. The file holds the holder's pid and start time as text, for the message; it is
left in place when released (removing it would race with the next holder).
On Windows `msvcrt.locking` locks one byte far past the text, which stays readable.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import WorkbenchError

_WIN_LOCK_OFFSET = 1 << 20  # Windows: the locked byte, past the pid text (which stays readable)


class RunBusy(WorkbenchError):
    """The run is being worked on by another process (or another job of this one). Exit 2."""

    exit_code = 2

    def __init__(self, run_id: int, holder: dict[str, Any] | None) -> None:
        self.run_id = run_id
        self.holder = holder or {}
        pid = self.holder.get("pid", "?")
        started = self.holder.get("started", "?")
        who = "another process" if pid != os.getpid() else "another job of this window"
        super().__init__(
            f"run {run_id} is being continued by {who} (pid {pid}, started {started}); "
            "wait for it to finish or stop it"
        )


def lock_path(ws_path: str | Path, run_id: int) -> Path:
    p = Path(ws_path)
    return p.with_name(p.name + ".locks") / f"run-{run_id}.lock"


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _read_holder(path: Path) -> dict[str, Any] | None:
    """The pid and start time the holder wrote ("pid=N started=T"), or None (not written yet)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    out: dict[str, Any] = {}
    for part in text.split():
        key, _, value = part.partition("=")
        if key == "pid" and value.isdigit():
            out["pid"] = int(value)
        elif key == "started":
            out["started"] = value.replace("T", " ")
    return out or None


class RunLock:
    """A held run lock; `release()` (or the end of the process) lets the next one in."""

    def __init__(self, path: Path, fd: int | None, run_id: int) -> None:
        self.path = path
        self.run_id = run_id
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # no stale pid for a reader to show
            _unlock(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(ws_path: str | Path, run_id: int) -> RunLock:
    """Lock run `run_id` of the workspace at `ws_path` for this process, or raise RunBusy."""
    path = lock_path(ws_path, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
    try:
        if not _try_lock(fd):
            raise RunBusy(run_id, _read_holder(path))
        started = time.strftime("%Y-%m-%dT%H:%M:%S")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"pid={os.getpid()} started={started}\n".encode())
    except BaseException:
        os.close(fd)
        raise
    return RunLock(path, fd, run_id)


def holder(ws_path: str | Path, run_id: int) -> dict[str, Any] | None:
    """Who holds the run's lock now ({"pid", "started"}), or None when nobody does."""
    path = lock_path(ws_path, run_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if not _try_lock(fd):
            return _read_holder(path) or {"pid": "?", "started": "?"}
        _unlock(fd)
        return None
    finally:
        os.close(fd)


def lock_run(ws: Any, run_id: int) -> RunLock:
    """Hold run `run_id` of workspace `ws` until `release()` (use it as a context manager), or
    raise RunBusy. A workspace without a file (in memory) gets a lock that holds nothing."""
    ws_path = getattr(ws, "path", None)
    if ws_path is None or str(ws_path) in ("", ":memory:"):
        return RunLock(Path(), None, run_id)
    return acquire(ws_path, run_id)


@contextmanager
def hold_run(ws: Any, run_id: int) -> Iterator[RunLock]:
    """`lock_run` for the block."""
    with lock_run(ws, run_id) as lock:
        yield lock
