"""Long work off the UI thread: one QThread per job; the job owns what it opens.

A job is a plain function of a `JobContext`. It opens its own `Workspace` (one SQLite
connection per thread) and borrows the model from `MODELS`, which keeps it loaded between jobs
and lends it to one job at a time (llama.cpp contexts must never be used by two threads at
once; MainWindow also runs one model job at a time). Progress, streamed tokens and the
result come back as queued signals; the UI thread only draws. Cancel and pause go through the
job's `CancelToken`, checked between units of work and between tokens, never a thread kill.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from ..core.errors import Cancelled, WorkbenchError
from ..core.jobs import CancelToken, Progress
from ..core.llm.base import Backend
from ..core.llm.keeper import BackendKeeper, Lease
from ..core.store.workspace import Workspace

log = logging.getLogger(__name__)

# The app's loaded model, kept between jobs (a resume or a second test prompt starts at once).
MODELS = BackendKeeper()


class ModelNotices(QObject):
    """What the model runtime says a person should know (the `workbench.llm` logger's warnings,
    e.g. "restarted with safe kernels"), as a signal: emitted in a job's thread, delivered
    queued to the window, which shows it in the status bar."""

    notice = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        relay = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                with contextlib.suppress(RuntimeError):  # the app is shutting down
                    relay.notice.emit(record.getMessage())

        logging.getLogger("workbench.llm").addHandler(_Handler(logging.WARNING))


NOTICES = ModelNotices()

# Streamed tokens arrive far faster than a screen refreshes; batching them keeps the event
# queue short so the UI thread never falls behind a fast model.
TOKEN_FLUSH_S = 0.05


@dataclass
class JobContext:
    workspace_path: Path
    cancel: CancelToken
    progress: Callable[[Progress], None]
    on_token: Callable[[str], None]
    opened: list[Any] = field(default_factory=list)

    def open_workspace(self) -> Workspace:
        ws = Workspace.open(self.workspace_path)
        self.opened.append(ws)
        return ws

    def own(self, obj: Any) -> Any:
        """Close `obj` (a backend) in this thread when the job ends, whatever happens."""
        self.opened.append(obj)
        return obj

    def model(self, **kwargs: Any) -> Backend:
        """The model `kwargs` name (see `core.llm.factory.open_backend`), kept loaded for the
        next job; lent to this job until it ends. The job's Cancel ends the opening where it
        waits (a server's model-list probe): raises Cancelled, so the job ends as cancelled."""
        return self.own(MODELS.borrow(cancel=self.cancel, **kwargs)).backend


Job = Callable[[JobContext], Any]


class JobThread(QThread):
    """Runs one job. Signals: progress(Progress), tokens(str), succeeded(result),
    cancelled(), failed(message). Exactly one of the last three is emitted."""

    progress = Signal(object)
    tokens = Signal(str)
    succeeded = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, name: str, workspace_path: Path, job: Job, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.token = CancelToken()
        self._job = job
        self._workspace_path = workspace_path
        self._pending: list[str] = []
        self._last_flush = 0.0
        self.done = False

    def _on_token(self, text: str) -> None:
        self._pending.append(text)
        now = time.monotonic()
        if now - self._last_flush >= TOKEN_FLUSH_S:
            self._flush()
            self._last_flush = now

    def _flush(self) -> None:
        if self._pending:
            self.tokens.emit("".join(self._pending))
            self._pending.clear()

    def run(self) -> None:  # runs in the worker thread
        ctx = JobContext(self._workspace_path, self.token, self.progress.emit, self._on_token)
        outcome: tuple[str, Any]
        try:
            outcome = ("succeeded", self._job(ctx))
        except Cancelled:
            outcome = ("cancelled", None)
        except WorkbenchError as exc:
            outcome = ("failed", str(exc))
        except Exception as exc:  # a bug must not take the window down; show it and log it
            log.error("job %s failed:\n%s", self.objectName(), traceback.format_exc())
            outcome = (
                "failed",
                f"Unexpected error in {self.objectName()}: {type(exc).__name__}: {exc}",
            )
        self._flush()
        # Free the connection and give the model back before saying we are done, so a job
        # started in answer to the outcome (Resume right after Cancel) finds them free. After
        # a failure the model may be in any state: it is closed, not kept.
        for obj in reversed(ctx.opened):
            if isinstance(obj, Lease) and outcome[0] == "failed":
                obj.broken = True
            with suppress(Exception):  # closing must not mask the outcome
                obj.close()
        self.done = True
        kind, value = outcome
        if kind == "succeeded" and self.token.cancelled:
            kind = "cancelled"
        if kind == "succeeded":
            self.succeeded.emit(value)
        elif kind == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(value)

    @property
    def busy(self) -> bool:
        """Running and not yet past its cleanup (the thread may take a moment to exit)."""
        return self.isRunning() and not self.done

    def stop(self, wait_ms: int = 30_000) -> None:
        """Ask the job to stop and wait for it (used when the window closes)."""
        self.token.cancel()
        self.wait(wait_ms)
