"""Inspect (first version): a run's candidates with decision, reason and top ROUGE-L score.

The neighbours, histogram and threshold slider come with the Inspect issue; this view already
answers "what was kept and why was the rest dropped" from the candidates table.
"""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
    QStackedWidget, QTableView, QVBoxLayout, QWidget,
)

from ..core.store.tasks import candidate_counts, candidate_rows, list_runs
from ..core.store.workspace import Workspace
from .paged_model import PagedTableModel
from .theme import status_color


def _nearest(r: dict[str, Any]) -> str:
    try:
        sims = json.loads(r.get("most_similar") or "{}")
    except (TypeError, ValueError):
        return ""
    if not sims:
        return ""
    text, score = max(sims.items(), key=lambda kv: kv[1])
    return f"{float(score):.2f}  {' '.join(str(text).split())}"


COLUMNS = [
    ("#", lambda r: r["id"]),
    ("Batch", lambda r: r["batch"]),
    ("Candidate instruction", lambda r: " ".join(r["instruction"].split())),
    ("Decision", lambda r: r["decision"]),
    ("Reason", lambda r: r["reason"]),
    ("Top ROUGE-L", lambda r: None if r["max_score"] is None else f"{r['max_score']:.3f}"),
    ("Nearest task", _nearest),
]


class InspectPanel(QWidget):
    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        title = QLabel("Inspect — why each candidate was kept or dropped")
        title.setObjectName("panelTitle")
        self.run = QComboBox()
        self.decision = QComboBox()
        for label, value in [("All decisions", None), ("Kept", "kept"), ("Dropped", "dropped"),
                             ("Pending", "pending")]:
            self.decision.addItem(label, value)
        self.refresh_btn = QPushButton("Refresh")
        self.summary = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Run"))
        bar.addWidget(self.run, 1)
        bar.addWidget(self.decision)
        bar.addWidget(self.refresh_btn)
        self.model = PagedTableModel(
            COLUMNS, self, color=lambda r, col: status_color(r["decision"]) if col == 3 else None)
        self.table = QTableView()
        self.table.setObjectName("candidateTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for col, w in [(0, 55), (1, 50), (3, 75), (4, 150), (5, 90), (6, 260)]:
            h.resizeSection(col, w)
        self.empty = QLabel("No SELF-INSTRUCT runs in this workspace yet: start one in Generate "
                            "(or `workbench self-instruct`), then its candidates appear here.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.body = QStackedWidget()
        self.body.addWidget(self.empty)
        self.body.addWidget(self.table)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(bar)
        lay.addWidget(self.summary)
        lay.addWidget(self.body, 1)
        self.run.currentIndexChanged.connect(self._load)
        self.decision.currentIndexChanged.connect(self._load)
        self.refresh_btn.clicked.connect(self.reload)
        self.reload()

    def reload(self) -> None:
        current = self.run.currentData()
        self.run.blockSignals(True)
        self.run.clear()
        for r in list_runs(self.ws, "self-instruct"):
            target = (r["config"] or {}).get("target", "?")
            self.run.addItem(f"Run {r['id']} · {r['status']} · target {target} · "
                             f"{r['created_at'][:16].replace('T', ' ')}", r["id"])
        idx = self.run.findData(current)
        self.run.setCurrentIndex(idx if idx >= 0 else 0)
        self.run.blockSignals(False)
        self._load()

    def _load(self) -> None:
        run_id = self.run.currentData()
        has = run_id is not None
        self.body.setCurrentWidget(self.table if has else self.empty)
        if not has:
            self.model.set_source(None)
            self.summary.setText("")
            return
        decision = self.decision.currentData()
        self.model.set_source(lambda _n, last, limit: candidate_rows(
            self.ws, run_id, decision=decision, after_id=last["id"] if last else 0, limit=limit))
        counts = candidate_counts(self.ws, run_id)
        total = sum(counts.values())
        parts = [f"{counts.get(k, 0):,} {k}" for k in ("kept", "dropped", "pending")
                 if counts.get(k)]
        self.summary.setText(f"{total:,} candidates: " + ", ".join(parts) if total
                             else "This run has no candidates yet.")
