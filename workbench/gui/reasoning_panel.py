"""Reasoning (first version): SELF-CHECK traces as a list, and one trace read step by step.

Each trace shows its question, the steps with the verdict SELF-CHECK gave each (support,
contradict, unrelated), the confidence of the whole trace, and any label a person has given.
Confirming or overriding verdicts comes with the SELF-CHECK stepper; this view reads the same
core API (`core.selfcheck.store.list_traces` / `load_trace`) it will use.
"""
from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter, QStackedWidget,
    QTableView, QTextBrowser, QVBoxLayout, QWidget,
)

from ..core.store.workspace import Workspace
from .model_choice import module_available
from .paged_model import PagedTableModel
from .theme import status_color

STORE = "workbench.core.selfcheck.store"
_VERDICT_COLOR = {"support": "kept", "contradict": "dropped", "unrelated": "pending",
                  "error": "warning", "pending": "pending"}


def _short(text: Any, n: int = 90) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _correct(r: dict[str, Any]) -> str:
    return {1: "✓", 0: "✗"}.get(r.get("is_correct"), "")


COLUMNS = [
    ("#", lambda r: r["solution_id"]),
    ("Question", lambda r: _short(r["question"])),
    ("Answer", lambda r: r["answer"]),
    ("Gold", lambda r: r["gold_answer"]),
    ("", _correct),
    ("Confidence", lambda r: None if r["confidence"] is None else f"{r['confidence']:.2f}"),
    ("Steps", lambda r: r["n_steps"]),
    ("Rated", lambda r: r["n_rated"] or ""),
]


class ReasoningPanel(QWidget):
    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        title = QLabel("Reasoning — SELF-CHECK traces")
        title.setObjectName("panelTitle")
        self.summary = QLabel()
        self.refresh_btn = QPushButton("Refresh")
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.refresh_btn)
        self.model = PagedTableModel(COLUMNS, self, color=self._color)
        self.table = QTableView()
        self.table.setObjectName("traceTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, w in [(0, 50), (2, 70), (3, 70), (4, 24), (5, 85), (6, 50), (7, 50)]:
            h.resizeSection(col, w)
        self.detail = QTextBrowser()
        self.detail.setObjectName("traceDetail")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.body = QStackedWidget()
        self.body.addWidget(self.empty)
        self.body.addWidget(split)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(bar)
        lay.addWidget(self.body, 1)
        self.refresh_btn.clicked.connect(self.reload)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _p: self._show(cur.row()))
        self.reload()

    @staticmethod
    def _color(r: dict[str, Any], col: int) -> str | None:
        if col == 4 and r.get("is_correct") is not None:
            return status_color("kept" if r["is_correct"] else "dropped")
        return None

    def reload(self) -> None:
        available = module_available(STORE) and "sc_solutions" in set(self.ws.table_names())
        n = self.ws.scalar("SELECT count(*) FROM sc_solutions") if available else 0
        if not n:
            self.model.set_source(None)
            self.summary.setText("")
            self.empty.setText(
                "No reasoning traces in this workspace yet. Import traces or sample "
                "chain-of-thought solutions, then run SELF-CHECK (`workbench self-check`); each "
                "solution appears here with its steps, their verdicts and its confidence.")
            self.body.setCurrentWidget(self.empty)
            return
        from ..core.selfcheck.store import list_traces

        checked = self.ws.scalar("SELECT count(*) FROM sc_solutions WHERE confidence IS NOT NULL")
        self.summary.setText(f"{n:,} solutions, {checked:,} checked by SELF-CHECK")
        self.model.set_source(lambda offset, _last, limit: list_traces(
            self.ws, limit=limit, offset=offset))
        self.body.setCurrentWidget(self.body.widget(1))
        if self.model.rowCount():
            self.table.selectRow(0)

    def _show(self, row: int) -> None:
        if row < 0 or row >= self.model.rowCount():
            self.detail.clear()
            return
        from ..core.selfcheck.store import load_trace

        trace = load_trace(self.ws, self.model.row(row)["solution_id"])
        self.detail.setHtml(trace_html(trace))


def trace_html(trace: dict[str, Any]) -> str:
    esc = html.escape
    parts = [f"<h3>Solution {trace['id']}</h3>",
             f"<p><b>Question.</b> {esc(trace['question'])}</p>"]
    gold = trace.get("gold_answer")
    parts.append(f"<p><b>Answer:</b> {esc(str(trace.get('answer')))}"
                 + (f" &nbsp; <b>gold:</b> {esc(str(gold))}" if gold is not None else "")
                 + "</p>")
    score = trace.get("score")
    if score:
        parts.append(f"<p><b>Confidence:</b> {score['confidence']:.3f} &nbsp; "
                     f"({score['n_support']} support, {score['n_contradict']} contradict, "
                     f"{score['n_unrelated']} unrelated, {score['n_error']} errors)</p>")
    else:
        parts.append("<p><i>Not checked by SELF-CHECK yet.</i></p>")
    parts.append("<ol start='0'>")
    for st in trace["steps"]:
        check = st.get("check") or {}
        verdict = check.get("verdict")
        color = status_color(_VERDICT_COLOR.get(verdict or "", ""))
        tag = (f" <span style='color:{color}'><b>[{esc(verdict)}]</b></span>" if verdict else "")
        label = st.get("label") or {}
        if label.get("rating") is not None:
            tag += f" <i>(person: {label['rating']:+d})</i>"
        parts.append(f"<li>{esc(st['text'])}{tag}</li>")
    parts.append("</ol>")
    return "".join(parts)
