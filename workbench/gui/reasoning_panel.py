"""Reasoning (first version): the SELF-CHECK and chain-of-thought tables, read as they are.

The step-through view with per-step verdicts comes with the SELF-CHECK issue. Until then this
panel shows whatever those modules have stored (their tables appear with their migrations),
so traces are visible the moment they exist, and says plainly when there are none.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QStackedWidget, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from ..core.store.tasks import table_preview
from ..core.store.workspace import Workspace

PREFIXES = ("selfcheck", "self_check", "trace", "cot", "reasoning")
PREVIEW_ROWS = 500


class ReasoningPanel(QWidget):
    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        title = QLabel("Reasoning — chain-of-thought and SELF-CHECK traces")
        title.setObjectName("panelTitle")
        self.table_choice = QComboBox()
        self.refresh_btn = QPushButton("Refresh")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Table"))
        bar.addWidget(self.table_choice, 1)
        bar.addWidget(self.refresh_btn)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.grid = QTableWidget(0, 0)
        self.grid.setObjectName("reasoningTable")
        self.grid.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.grid.setWordWrap(False)
        self.grid.verticalHeader().hide()
        self.empty = QWidget()
        self.body = QStackedWidget()
        self.body.addWidget(self.empty)
        self.body.addWidget(self.grid)
        self.note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(bar)
        lay.addWidget(self.note)
        lay.addWidget(self.body, 1)
        self.table_choice.currentIndexChanged.connect(self._show)
        self.refresh_btn.clicked.connect(self.reload)
        self.reload()

    def reload(self) -> None:
        names = sorted(n for n in self.ws.db.table_names()
                       if n.lower().startswith(PREFIXES) and not n.endswith("_fts"))
        self.table_choice.blockSignals(True)
        self.table_choice.clear()
        for n in names:
            self.table_choice.addItem(f"{n} ({self.ws.db[n].count:,} rows)", n)
        self.table_choice.blockSignals(False)
        self.table_choice.setEnabled(bool(names))
        self._show()

    def _show(self) -> None:
        name = self.table_choice.currentData()
        if name is None:
            self.body.setCurrentWidget(self.empty)
            self.note.setText(
                "No reasoning data in this workspace yet. Chain-of-thought samples (`workbench "
                "cot`) and SELF-CHECK verifications (`workbench self-check`) appear here; "
                "stepping through traces and overriding verdicts comes with the SELF-CHECK view.")
            return
        cols, rows = table_preview(self.ws, name, limit=PREVIEW_ROWS)
        self.body.setCurrentWidget(self.grid)
        self.note.setText(f"The first {min(len(rows), PREVIEW_ROWS):,} rows of `{name}`.")
        self.grid.setColumnCount(len(cols))
        self.grid.setHorizontalHeaderLabels(cols)
        self.grid.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                text = "" if value is None else " ".join(str(value).split())
                item = QTableWidgetItem(text[:300])
                item.setToolTip(str(value)[:2000] if value is not None else "")
                self.grid.setItem(r, c, item)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.grid.resizeColumnsToContents()
        for c in range(len(cols)):
            self.grid.setColumnWidth(c, min(self.grid.columnWidth(c), 320))
