"""The base of panels that run work in a `JobThread` through the window's `start_job`.

`start_job` is the window's: it refuses a second model job and tracks every worker until it
ends. A panel shows one job of its own at a time with a busy bar and a result line, and reports
failures through `error` (the window's banner).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from ..core.jobs import Progress
from ..core.store.workspace import Workspace
from .workers import JobContext, JobThread


class JobPanel(QWidget):
    error = Signal(str)
    failed_text = "Failed; see the message above."
    cancelled_text = "Cancelled."

    def __init__(
        self, ws: Workspace, start_job: Callable[[JobThread], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.start_job = start_job
        self.job: JobThread | None = None
        self.bar = QProgressBar()
        self.bar.hide()  # shown while a job runs
        self.result = QLabel(" ")
        self.result.setWordWrap(True)

    def run_job(
        self, name: str, job: Callable[[JobContext], Any], text: str, done: Callable[[Any], None]
    ) -> bool:
        """Start `job` in a worker named `name`; `done(result)` runs in the UI thread."""
        thread = JobThread(name, self.ws.path, job, self)
        thread.progress.connect(self._on_progress)
        thread.succeeded.connect(done)
        thread.failed.connect(self._failed)
        thread.cancelled.connect(lambda: self.finish_job(self.cancelled_text))
        if not self.start_job(thread):
            return False
        self.job = thread
        self.bar.setRange(0, 0)
        self.bar.show()
        self.result.setText(text)
        self.set_busy(True)
        return True

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.token.cancel()

    def _on_progress(self, ev: Progress) -> None:
        if ev.total:
            self.bar.setRange(0, ev.total)
            self.bar.setValue(ev.done)

    def _failed(self, message: str) -> None:
        self.finish_job(self.failed_text)
        self.error.emit(message)

    def finish_job(self, text: str) -> None:
        self.job = None
        self.bar.hide()
        self.result.setText(text)
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        """Enable or disable the panel's own buttons while its job runs."""
