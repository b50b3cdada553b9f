"""Start the desktop app: one QApplication, the theme, the main window over a workspace."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.errors import WorkbenchError
from ..core.seeds import open_or_init_default
from .main_window import MainWindow
from .theme import apply_theme


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Instruction Workbench")
    app.setOrganizationName("instruction-workbench")
    app.setApplicationDisplayName("Instruction Workbench")
    # Wayland matches the window to its .desktop file (and icon) by this name.
    app.setDesktopFileName("io.github.instruction_workbench.InstructionWorkbench")
    apply_theme(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


class CloseOnSignals:
    """SIGTERM and SIGINT (`kill`, a service manager, Ctrl+C in the terminal) close the window
    as its close button does: running jobs stop between tokens and stay resumable, the loop
    ends, and `run_app` closes the workspace (WAL checkpointed), so the exit status is 0.

    Installed before the workspace is opened: a signal that comes while it is opened (or the
    seeds written) closes the window as soon as it exists. Python runs a handler only between
    bytecodes and Qt's C++ loop runs none, so a 200 ms timer wakes the interpreter; the handler
    only queues the close into the Qt loop. A second signal while closing (e.g. the window asks
    Keep editing / Discard about unsaved seed text) ends the process the default way."""

    def __init__(self) -> None:
        self.window: MainWindow | None = None
        self.requested = False
        self.timer = QTimer()
        self.timer.timeout.connect(lambda: None)
        self.timer.start(200)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, _signum: int, _frame: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        self.requested = True
        if self.window is not None:
            QTimer.singleShot(0, self.window.close)

    def watch(self, window: MainWindow) -> None:
        """Close `window` on a signal, at once if one came before it existed."""
        self.window = window
        if self.requested:
            QTimer.singleShot(0, window.close)


def run_app(workspace: Path, argv: list[str] | None = None) -> int:
    app = make_app(argv)
    signals = CloseOnSignals()
    try:
        ws = open_or_init_default(workspace)
    except WorkbenchError as exc:
        QMessageBox.critical(None, "Instruction Workbench", str(exc))
        return 2
    window = MainWindow(ws)
    window.show()
    signals.watch(window)
    quit_after = os.environ.get("WORKBENCH_QUIT_AFTER_MS")
    if quit_after:  # `make package-test`: the bundled window starts, then closes itself
        QTimer.singleShot(int(quit_after), window.close)
    code = app.exec()
    ws = window.ws
    ws.close()
    return code
