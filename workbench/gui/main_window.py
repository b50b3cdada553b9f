"""The main window: navigation between the panels, menus and the status bar."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget

from ..core.store.tasks import count_tasks
from ..core.store.workspace import Workspace


class MainWindow(QMainWindow):
    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        self.setWindowTitle(f"Instruction Workbench — {ws.path.name}")
        self.resize(1100, 720)
        self.tabs = QTabWidget()
        self.setCentralWidget(self.tabs)
        self.tabs.addTab(QLabel(f"{count_tasks(ws)} tasks in {ws.path}"), "Seeds")
        self.statusBar().showMessage(str(ws.path))
