"""Start the desktop app: one QApplication, the theme, the main window over a workspace."""

from __future__ import annotations

import os
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


def run_app(workspace: Path, argv: list[str] | None = None) -> int:
    app = make_app(argv)
    try:
        ws = open_or_init_default(workspace)
    except WorkbenchError as exc:
        QMessageBox.critical(None, "Instruction Workbench", str(exc))
        return 2
    window = MainWindow(ws)
    window.show()
    quit_after = os.environ.get("WORKBENCH_QUIT_AFTER_MS")
    if quit_after:  # `make package-test`: the bundled window starts, then closes itself
        QTimer.singleShot(int(quit_after), window.close)
    code = app.exec()
    ws = window.ws
    ws.close()
    return code
