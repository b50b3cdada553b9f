"""CoT: chain-of-thought data built in a worker, as `workbench cot` builds it.

Choose a file of questions with gold answers (GSM8K JSONL, multiple-choice JSONL or
{instruction, input, output} records), how many paths per question, how many questions, the
token limit of a path and the mode; Run samples the paths with the model chosen in Models,
judges each against the gold answer and keeps the right ones as records (tasks tagged "cot").
The table lists every path as it is judged: its question, kept or dropped with the reason,
the answer it reached and the gold one. Cancel stops after the call in flight; what was done
is kept (`workbench cot --resume` continues it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.cot.rationale import MODES
from ..core.jobs import Progress
from ..core.store.workspace import Workspace
from .job_panel import JobPanel
from .reasoning_panel import min_table_width
from .theme import status_color
from .workers import JobContext, JobThread

QUESTION_FILES = "Question files (*.jsonl *.json);;All files (*)"
MODE_TIPS = {
    "sample": "solve each question without its answer; keep the paths that reach the gold answer",
    "rationalize": "explain the gold answer; keep the explanations whose own reasoning reaches it "
    "(a path cut off by the token limit is dropped)",
}
# (title, width it starts at) of the results table; the question column takes the rest.
RESULT_COLUMNS = [("#", 36), ("Question", 0), ("Path", 40), ("Result", 150), ("Answer", 70)]
QUESTION_MIN_WIDTH = 160


class CotPanel(JobPanel):
    failed_text = "The CoT run failed; see the message above."
    cancelled_text = (
        "Cancelled; the paths judged so far are kept (`workbench cot --resume` continues)."
    )

    def __init__(
        self, ws: Workspace, start_job: Callable[[JobThread], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(ws, start_job, parent)
        self.run_id: int | None = None
        title = QLabel("CoT — chain-of-thought data")
        title.setObjectName("panelTitle")
        box = QGroupBox("Run")
        form = QFormLayout(box)
        self.path = QLineEdit()
        self.path.setObjectName("cotQuestions")
        self.path.setPlaceholderText("Questions with gold answers (GSM8K JSONL, …)")
        browse = QPushButton("Browse…")
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.samples = QSpinBox()
        self.samples.setObjectName("cotSamples")
        self.samples.setRange(1, 64)
        self.samples.setValue(4)
        self.samples.setSuffix(" per question")
        self.limit = QSpinBox()
        self.limit.setObjectName("cotLimit")
        self.limit.setRange(0, 1_000_000)
        self.limit.setValue(10)
        self.limit.setSpecialValueText("all")
        self.limit.setToolTip("Only the first N questions of the file (all: 0)")
        self.max_tokens = QSpinBox()
        self.max_tokens.setObjectName("cotMaxTokens")
        self.max_tokens.setRange(8, 8192)
        self.max_tokens.setValue(256)
        self.max_tokens.setSuffix(" tokens")
        self.mode = QComboBox()
        self.mode.setObjectName("cotMode")
        for mode in sorted(MODES, key=lambda m: m != "sample"):  # the CLI's default first
            self.mode.addItem(mode, mode)
            self.mode.setItemData(
                self.mode.count() - 1, MODE_TIPS.get(mode, ""), Qt.ItemDataRole.ToolTipRole
            )
        form.addRow("Questions", row)
        form.addRow("Samples", self.samples)
        form.addRow("Limit", self.limit)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("Mode", self.mode)
        self.run_btn = QPushButton("Run")
        self.run_btn.setObjectName("cotRun")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setObjectName("cotCancel")
        self.cancel_btn.setEnabled(False)
        btns = QHBoxLayout()
        btns.addStretch(1)
        btns.addWidget(self.run_btn)
        btns.addWidget(self.cancel_btn)
        form.addRow(btns)
        self.table = QTableWidget(0, len(RESULT_COLUMNS))
        self.table.setObjectName("cotResults")
        self.table.setHorizontalHeaderLabels([t for t, _w in RESULT_COLUMNS])
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        h = self.table.horizontalHeader()
        h.setMinimumSectionSize(20)
        h.setStretchLastSection(False)
        for col, (_t, width) in enumerate(RESULT_COLUMNS):
            if width:
                h.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
                h.resizeSection(col, width)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        small = [(c, w) for c, (_t, w) in enumerate(RESULT_COLUMNS) if w]
        self.table.setMinimumWidth(min_table_width(self.table, small, QUESTION_MIN_WIDTH))
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(box)
        lay.addWidget(self.bar)
        lay.addWidget(self.result)
        lay.addWidget(self.table, 1)
        browse.clicked.connect(self._browse)
        self.run_btn.clicked.connect(lambda: self.start())
        self.cancel_btn.clicked.connect(self.cancel)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Questions with gold answers",
            self.path.text() or str(Path.home()),
            QUESTION_FILES,
        )
        if path:
            self.path.setText(path)

    # ------------------------------------------------------------------ the run
    def start(self) -> bool:
        """Run CoT on the chosen file with the model chosen in Models, as `workbench cot --data
        FILE --mode M --samples K [--limit N] --max-tokens T` does (`core.cot.job`). The file is
        read in the worker: a bad record fails the run before it exists, with its file, line
        and field in the error. False when it did not start (no file, a model job running)."""
        from .model_choice import SERVER, backend_kwargs, current_choice

        if self.job is not None and self.job.busy:
            return False
        text = self.path.text().strip()
        if not text:
            self.error.emit("Choose a file of questions with gold answers first (Questions).")
            return False
        path = Path(text).expanduser()
        choice = current_choice(self.ws)
        server = self.ws.get_setting("server", {}) or {}
        if choice == SERVER and not server.get("url"):
            self.error.emit("No server is set up: enter its URL in Models first.")
            return False
        kwargs = backend_kwargs(self.ws, choice)
        concurrency = server.get("concurrency") if choice == SERVER else None
        mode = str(self.mode.currentData())
        samples = self.samples.value()
        limit = self.limit.value() or None
        max_tokens = self.max_tokens.value()

        def job(ctx: JobContext) -> Any:
            from ..core.cot import job as cot
            from ..core.cot import sources

            ws = ctx.open_workspace()
            items = sources.load_file(path, limit=limit)
            config = cot.CotConfig(mode=mode, samples=samples, max_tokens=max_tokens)
            ctx.progress(Progress("loading", message="Loading the model…"))
            backend = ctx.model(**kwargs)
            run_id = cot.start_cot_run(ws, items, config, backend=backend, source=str(path))
            ctx.progress(Progress("cot-run", 0, len(items) * samples, data={"run_id": run_id}))
            stats = cot.cot_run(
                ws,
                backend,
                run_id,
                progress=ctx.progress,
                cancel=ctx.cancel,
                concurrency=concurrency,
            )
            return {**stats, "summary": cot.summary(stats, samples)}

        self.run_id = None
        self.table.setRowCount(0)
        return self.run_job("cot", job, f"Reading {path.name}…", self._done)

    def cancel(self) -> None:
        """Stop after the call in flight; the paths judged so far stay."""
        if self.job is not None:
            self.cancel_job()
            self.result.setText("Cancelling after the current call…")

    def _on_progress(self, ev: Progress) -> None:
        super()._on_progress(ev)
        if ev.stage == "loading":
            self.result.setText(ev.message)
            return
        d = ev.data or {}
        if ev.stage == "cot-run":
            self.run_id = d.get("run_id")
        self.result.setText(
            f"CoT run {self.run_id}: {ev.done}/{ev.total or '?'} paths judged"
            + (f" · {d['in_flight']} in flight" if d.get("in_flight") else "")
        )
        self.show_results()

    def _done(self, stats: dict[str, Any]) -> None:
        self.run_id = stats["run_id"]
        self.finish_job(f"CoT run {stats['run_id']}: {stats['summary']}")

    def finish_job(self, text: str) -> None:
        super().finish_job(text)
        self.show_results()

    def set_busy(self, busy: bool) -> None:
        self.run_btn.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)

    # --------------------------------------------------------------- the results
    def results(self) -> list[dict[str, Any]]:
        """The paths of the shown run, in order: {position, question, sample_index, kept,
        reason, answer, gold_answer}."""
        if self.run_id is None:
            return []
        return self.ws.query(
            "SELECT i.position, COALESCE(NULLIF(i.input, ''), i.instruction) AS question, "
            "p.sample_index, p.kept, p.reason, p.answer, i.gold_answer FROM cot_paths p "
            "JOIN cot_items i ON i.id = p.item_id WHERE i.run_id = ? "
            "ORDER BY i.position, p.sample_index",
            (self.run_id,),
        )

    def show_results(self) -> None:
        rows = self.results()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            kept = bool(row["kept"])
            verdict = (
                "kept" if kept else "dropped" + (f": {row['reason']}" if row["reason"] else "")
            )
            answer = row["answer"] if row["answer"] is not None else "—"
            gold = row["gold_answer"] or ""
            cells = [
                str(row["position"] + 1),
                " ".join(str(row["question"] or "").split()),
                str(row["sample_index"] + 1),
                verdict,
                str(answer),
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 1:
                    item.setToolTip(str(row["question"] or ""))
                if c == 3:
                    color = status_color("kept" if kept else "dropped")
                    if color:
                        item.setForeground(QColor(color))
                if c == 4:
                    item.setToolTip(f"gold: {gold}")
                self.table.setItem(r, c, item)
