"""Reasoning: the SELF-CHECK stepper. Step through checked traces and confirm or overturn the
checker, keyboard first; labels are saved the moment they are given.

Left, the traces (question, extracted answer, gold, correctness, confidence w, annotation
progress). Right, the selected trace: its question with the collected information highlighted,
its steps with verdict and r_i (and the person's label), the four SELF-CHECK stages of the
selected step side by side, and the vote over the question's solutions (majority against
confidence-weighted, with the gold answer).

Keys: J / ↓ next step, K / ↑ previous step, - / 0 / + label the step −1 / 0 / +1 (Backspace
clears), F flag, N next trace, P previous trace.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..core.jobs import Progress
from ..core.store.workspace import Workspace
from .paged_model import PagedTableModel
from .theme import status_color

_VERDICT_COLOR = {
    "support": "kept",
    "contradict": "dropped",
    "unrelated": "pending",
    "error": "warning",
    "pending": "pending",
}
STAGES = [
    ("target", "1 · Target extraction"),
    ("collect", "2 · Information collection"),
    ("regen", "3 · Step regeneration"),
    ("compare", "4 · Result comparison"),
]
KEYS = {
    "next_step": ["J", "Down"],
    "prev_step": ["K", "Up"],
    "minus": ["-"],
    "zero": ["0"],
    "plus": ["+", "="],
    "clear": ["Backspace"],
    "flag": ["F"],
    "next_trace": ["N"],
    "prev_trace": ["P"],
    "next_check": ["C"],
}


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
    ("w", lambda r: None if r["confidence"] is None else f"{r['confidence']:.2f}"),
    ("Rated", lambda r: f"{r['n_rated'] or 0}/{r['n_steps']}"),
]


def min_table_width(table: QTableView, small: list[tuple[int, int]], question: int) -> int:
    """Pixels: the small columns, `question` for the stretched one, the frame and a vertical
    scroll bar, so the stretched column keeps `question` pixels when the table is squeezed."""
    bar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    return sum(w for _c, w in small) + question + 2 * table.frameWidth() + bar


def gold_part(gold: Any) -> str:
    """ "gold: <b>18</b>" (HTML) for a question's gold answer; "" when it has none (a file
    without gold answers), so no "None" is ever shown."""
    if gold is None or str(gold).strip() == "":
        return ""
    return f"gold: <b>{html.escape(str(gold))}</b>"


def _mark(text: str, color: str) -> str:
    return f"<span style='background:{color}; color:white'>{html.escape(text)}</span>"


TRACE_FILES = "Reasoning files (*.json *.jsonl);;All files (*)"
# The widths the trace list's small columns start at (the question column takes the rest, at
# least QUESTION_MIN_WIDTH): the list never shrinks below them and the question together.
SMALL_COLUMNS = [(0, 36), (2, 56), (3, 52), (4, 22), (5, 40), (6, 46)]
QUESTION_MIN_WIDTH = 160


class ReasoningPanel(QWidget):
    error = Signal(str)
    labelled = Signal(int, object)  # step id, rating
    traces_imported = Signal(object)  # the import's summary (core.selfcheck.importers)

    def __init__(
        self,
        ws: Workspace,
        parent: QWidget | None = None,
        *,
        start_job: Callable[[Any], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.start_job = start_job
        self.job: Any = None
        self.trace: dict[str, Any] | None = None
        title = QLabel("Reasoning — SELF-CHECK stepper")
        title.setObjectName("panelTitle")
        self.summary = QLabel()
        self.refresh_btn = QPushButton("Refresh")
        # SELF-CHECK of the traces not checked yet, with the model chosen in Models; on a server
        # with its concurrency setting (requests in flight shown in the line beside).
        self.check_btn = QPushButton("Check unchecked")
        self.check_btn.setObjectName("checkUnchecked")
        self.check_btn.setToolTip(
            "Run SELF-CHECK on every trace without a confidence yet, "
            "with the model chosen in Models"
        )
        self.check_btn.setVisible(start_job is not None)
        self.check_cancel_btn = QPushButton("Cancel")
        self.check_cancel_btn.setVisible(False)
        self.check_status = QLabel()
        self.check_status.setObjectName("checkStatus")
        self.check_status.setWordWrap(True)
        # ProcessBench / MR-GSM8K / selfcheck-traces files, read as `self-check --traces` does.
        self.import_btn = QPushButton("Import traces…")
        self.import_btn.setObjectName("importTraces")
        self.import_btn.setToolTip(
            "Read a reasoning file (ProcessBench JSON, MR-GSM8K JSON, selfcheck-traces JSONL) "
            "into this workspace, as `workbench self-check --traces FILE` does"
        )
        self.import_btn.setVisible(start_job is not None)
        self.import_job: Any = None
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.check_status)
        bar.addWidget(self.import_btn)
        bar.addWidget(self.check_btn)
        bar.addWidget(self.check_cancel_btn)
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
        # The question takes what the small columns leave, and the list is never narrower
        # than them plus a readable question (a narrow window squeezes the stepper instead).
        h = self.table.horizontalHeader()
        h.setMinimumSectionSize(20)
        h.setStretchLastSection(False)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, w in SMALL_COLUMNS:
            h.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            h.resizeSection(col, w)
        self.table.setMinimumWidth(min_table_width(self.table, SMALL_COLUMNS, QUESTION_MIN_WIDTH))
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        # A trace checked more than once (other settings, another model): choose the check shown.
        self.check_run = QComboBox()
        self.check_run.setObjectName("checkRunChoice")
        self.check_run.setToolTip("Which SELF-CHECK run's verdicts to show (C cycles)")
        self.question = QLabel()
        self.question.setObjectName("stepperQuestion")
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.TextFormat.RichText)
        self.steps = QListWidget()
        self.steps.setObjectName("stepList")
        self.steps.setWordWrap(True)
        self.stage_views: dict[str, QTextBrowser] = {}
        self.stage_labels: dict[str, QLabel] = {}
        stages = QHBoxLayout()
        for key, label in STAGES:
            col = QVBoxLayout()
            # Wrapped where the column is narrow (never clipped), the whole title as a tooltip.
            lab = QLabel(f"<b>{html.escape(label)}</b>")
            lab.setWordWrap(True)
            lab.setToolTip(label)
            self.stage_labels[key] = lab
            view = QTextBrowser()
            view.setObjectName(f"stage_{key}")
            self.stage_views[key] = view
            col.addWidget(lab)
            col.addWidget(view)
            stages.addLayout(col)
        self.progress = QLabel()
        self.progress.setObjectName("stepperProgress")
        self.keys_help = QLabel(
            "J/K or ↓/↑ step · − 0 + label −1/0/+1 · Backspace clear · "
            "F flag · N/P trace · C check run"
        )
        self.keys_help.setEnabled(False)
        self.keys_help.setWordWrap(True)
        self.votes = QTextBrowser()
        self.votes.setObjectName("voteView")
        right = QWidget()
        rl = QVBoxLayout(right)
        hl = QHBoxLayout()
        hl.addWidget(self.header, 1)
        hl.addWidget(self.check_run)
        rl.addLayout(hl)
        rl.addWidget(self.question)
        split_v = QSplitter(Qt.Orientation.Vertical)
        split_v.addWidget(self.steps)
        stage_w = QWidget()
        stage_w.setLayout(stages)
        split_v.addWidget(stage_w)
        split_v.addWidget(self.votes)
        split_v.setStretchFactor(0, 2)
        split_v.setStretchFactor(1, 3)
        split_v.setStretchFactor(2, 1)
        rl.addWidget(split_v, 1)
        pl = QHBoxLayout()
        pl.addWidget(self.progress, 1)
        pl.addWidget(self.keys_help)
        rl.addLayout(pl)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("reasoningSplit")
        split.addWidget(self.table)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([500, 750])
        self.split = split
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty_import_btn = QPushButton("Import traces…")
        self.empty_import_btn.setObjectName("emptyImportTraces")
        self.empty_import_btn.setToolTip(self.import_btn.toolTip())
        self.empty_import_btn.setVisible(start_job is not None)
        empty_page = QWidget()
        el = QVBoxLayout(empty_page)
        el.setContentsMargins(0, 0, 0, 0)
        el.addWidget(self.empty)
        eb = QHBoxLayout()
        eb.addWidget(self.empty_import_btn)
        eb.addStretch(1)
        el.addLayout(eb)
        el.addStretch(1)
        self.empty_page = empty_page
        self.body = QStackedWidget()
        self.body.addWidget(empty_page)
        self.body.addWidget(split)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(bar)
        lay.addWidget(self.body, 1)
        self.refresh_btn.clicked.connect(self.reload)
        self.import_btn.clicked.connect(lambda: self.import_traces_dialog())
        self.empty_import_btn.clicked.connect(lambda: self.import_traces_dialog())
        self.check_btn.clicked.connect(lambda: self.check_unchecked())
        self.check_cancel_btn.clicked.connect(self.cancel_check)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _p: self._show(cur.row()))
        self.steps.currentRowChanged.connect(self._show_step)
        self.check_run.activated.connect(lambda _i: self._show_check(self.check_run.currentData()))
        actions = {
            "next_check": self.cycle_check_run,
            "next_step": lambda: self.move_step(1),
            "prev_step": lambda: self.move_step(-1),
            "minus": lambda: self.label(-1),
            "zero": lambda: self.label(0),
            "plus": lambda: self.label(1),
            "clear": lambda: self.label(None),
            "flag": self.toggle_flag,
            "next_trace": lambda: self.move_trace(1),
            "prev_trace": lambda: self.move_trace(-1),
        }
        self.shortcuts: list[QShortcut] = []
        for name, keys in KEYS.items():
            for key in keys:
                sc = QShortcut(QKeySequence(key), self)
                sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                sc.activated.connect(actions[name])
                self.shortcuts.append(sc)
        self.reload()

    @staticmethod
    def _color(r: dict[str, Any], col: int) -> str | None:
        if col == 4 and r.get("is_correct") is not None:
            return status_color("kept" if r["is_correct"] else "dropped")
        if col == 6 and r["n_steps"] and (r["n_rated"] or 0) >= r["n_steps"]:
            return status_color("kept")
        return None

    # ------------------------------------------------------------ checking
    def check_unchecked(self) -> bool:
        """Start SELF-CHECK on the solutions without a score, with the model chosen in Models
        (on a server: its concurrency setting, default 16, requests in flight)."""
        from .model_choice import SERVER, backend_kwargs, current_choice
        from .workers import JobContext, JobThread

        if self.start_job is None or (self.job is not None and self.job.busy):
            return False
        sids = [
            r["id"]
            for r in self.ws.query(
                "SELECT id FROM sc_solutions WHERE confidence IS NULL ORDER BY question_id, "
                "sample_index, id"
            )
        ]
        if not sids:
            self.check_status.setText("Every trace is checked.")
            return False
        choice = current_choice(self.ws)
        server = self.ws.get_setting("server", {}) or {}
        if choice == SERVER and not server.get("url"):
            self.error.emit("No server is set up: enter its URL in Models first.")
            return False
        kwargs = backend_kwargs(self.ws, choice)
        concurrency = server.get("concurrency") if choice == SERVER else None

        def job(ctx: JobContext) -> Any:
            from ..core.selfcheck import checker

            ws = ctx.open_workspace()
            ctx.progress(Progress("loading", message="Loading the model…"))
            backend = ctx.model(**kwargs)
            run_id = checker.start_check_run(ws, sids, checker.CheckConfig(), backend=backend)
            return checker.check_run(
                ws,
                backend,
                run_id,
                progress=ctx.progress,
                cancel=ctx.cancel,
                concurrency=concurrency,
            )

        thread = JobThread("self-check", self.ws.path, job, self)
        thread.progress.connect(self._on_check_progress)
        thread.succeeded.connect(
            lambda st: self._check_ended(
                f"Checked {st['solutions_checked']} solutions (run {st['run_id']})."
            )
        )
        thread.cancelled.connect(
            lambda: self._check_ended("SELF-CHECK cancelled; what was checked is kept.")
        )
        thread.failed.connect(lambda msg: (self._check_ended(""), self.error.emit(msg)))
        if not self.start_job(thread):
            return False
        self.job = thread
        self.check_btn.setEnabled(False)
        self.check_cancel_btn.setVisible(True)
        self.check_status.setText("Loading the model…")
        return True

    def cancel_check(self) -> None:
        """Cancel the running check: no new request starts, open streams are closed."""
        if self.job is not None:
            self.job.token.cancel()
            self.check_status.setText("Cancelling…")

    def _on_check_progress(self, ev: Progress) -> None:
        if ev.stage == "loading":
            self.check_status.setText(ev.message)
            return
        d = ev.data or {}
        text = f"SELF-CHECK {ev.done}/{ev.total or '?'} steps"
        if d.get("in_flight") is not None:
            text += f" · {d['in_flight']} requests in flight"
        if d.get("endpoints"):
            text += f" · {d['endpoints']}"
        self.check_status.setText(text)

    def _check_ended(self, message: str) -> None:
        self.job = None
        self.check_btn.setEnabled(True)
        self.check_cancel_btn.setVisible(False)
        self.check_status.setText(message)
        self.reload()

    # ------------------------------------------------------------- importing
    def import_traces_dialog(self) -> bool:
        """Ask for a reasoning file and import it (see `import_traces`)."""
        if self.start_job is None:
            return False
        path, _ = QFileDialog.getOpenFileName(
            self, "Import reasoning traces", str(Path.home()), TRACE_FILES
        )
        return self.import_traces(Path(path)) if path else False

    def import_traces(self, path: Path, fmt: str | None = None) -> bool:
        """Import a ProcessBench JSON, MR-GSM8K JSON or selfcheck-traces JSONL file (format
        detected unless `fmt`, one of `core.selfcheck.importers.FORMATS`) in a worker, with the
        function `workbench self-check --traces FILE` uses: the whole file is checked first,
        so a bad record (its file, line or index, and field, in the error) imports nothing; a
        repeat import adds nothing. False when it did not start (another import running)."""
        from .workers import JobContext, JobThread

        if self.start_job is None or (self.import_job is not None and self.import_job.busy):
            return False

        def job(ctx: JobContext) -> Any:
            from ..core.selfcheck.importers import import_traces

            ctx.progress(Progress("import-traces", message=f"Reading {path.name}…"))
            return import_traces(ctx.open_workspace(), path, fmt)

        thread = JobThread("import-traces", self.ws.path, job, self)
        thread.progress.connect(lambda ev: self.check_status.setText(ev.message))
        thread.succeeded.connect(lambda res: self._traces_imported(path, res))
        thread.cancelled.connect(lambda: self._import_ended("Import cancelled."))
        thread.failed.connect(lambda msg: self._import_failed(path, msg))
        if not self.start_job(thread):
            return False
        self.import_job = thread
        self.import_btn.setEnabled(False)
        self.empty_import_btn.setEnabled(False)
        self.check_status.setText(f"Importing {path.name}…")
        return True

    def _import_ended(self, message: str) -> None:
        self.import_job = None
        self.import_btn.setEnabled(True)
        self.empty_import_btn.setEnabled(True)
        self.check_status.setText(message)

    def _import_failed(self, path: Path, message: str) -> None:
        self._import_ended(f"{path.name} was not imported: {message.splitlines()[0]}")
        self.error.emit(message)

    def _traces_imported(self, path: Path, res: dict[str, Any]) -> None:
        text = (
            f"{path.name} ({res['format']}): {res['solutions']:,} traces and "
            f"{res['questions']:,} questions imported"
            + (f", {res['skipped']:,} already here" if res["skipped"] else "")
            + "."
        )
        if not res["solution_ids"]:
            text += " It holds questions only: sample solutions with the CoT panel."
        self._import_ended(text)
        self.reload()
        self.traces_imported.emit(res)

    # ------------------------------------------------------------- the list
    def reload(self) -> None:
        n = self.ws.scalar("SELECT count(*) FROM sc_solutions")
        if not n:
            self.model.set_source(None)
            self.summary.setText("")
            self.empty.setText(
                "No reasoning traces in this workspace yet. Import traces (ProcessBench, "
                "MR-GSM8K or selfcheck-traces files) or sample chain-of-thought solutions, then "
                "run SELF-CHECK (Check unchecked, or `workbench self-check`); each solution "
                "appears here with its steps, their verdicts and its confidence."
            )
            self.body.setCurrentWidget(self.empty_page)
            return
        from ..core.selfcheck.store import list_traces

        current = self.trace["id"] if self.trace else None
        self._update_summary()
        self.model.set_source(
            lambda offset, _last, limit: list_traces(self.ws, limit=limit, offset=offset)
        )
        self.body.setCurrentWidget(self.body.widget(1))
        if self.model.rowCount():
            rows = [self.model.row(i)["solution_id"] for i in range(self.model.rowCount())]
            self.table.selectRow(rows.index(current) if current in rows else 0)

    def _update_summary(self) -> None:
        n = self.ws.scalar("SELECT count(*) FROM sc_solutions")
        checked = self.ws.scalar("SELECT count(*) FROM sc_solutions WHERE confidence IS NOT NULL")
        steps = self.ws.scalar("SELECT count(*) FROM sc_steps")
        rated = self.ws.scalar("SELECT count(*) FROM sc_step_labels WHERE rating IS NOT NULL")
        self.summary.setText(
            f"{n:,} solutions, {checked:,} checked by SELF-CHECK · "
            f"{rated:,} of {steps:,} steps labelled"
        )

    def select_trace(self, solution_id: int) -> bool:
        for i in range(self.model.rowCount()):
            if self.model.row(i)["solution_id"] == solution_id:
                self.table.selectRow(i)
                return True
        return False

    def move_trace(self, delta: int) -> None:
        row = self.table.currentIndex().row() + delta
        if row >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
        if 0 <= row < self.model.rowCount():
            self.table.selectRow(row)
            self.steps.setFocus()

    # ------------------------------------------------------------- a trace
    def _show(self, row: int) -> None:
        if row < 0 or row >= self.model.rowCount():
            self.trace = None
            self.steps.clear()
            return
        from ..core.selfcheck.store import check_runs_of, load_trace

        sid = self.model.row(row)["solution_id"]
        self.trace = load_trace(self.ws, sid)
        self.check_run.blockSignals(True)
        self.check_run.clear()
        for r in check_runs_of(self.ws, sid):
            cfg = r["config"].get("check") or r["config"]
            model = Path(str((r["config"].get("model") or {}).get("model") or "")).name
            self.check_run.addItem(
                f"Check run {r['id']} · {r['created_at'][:16].replace('T', ' ')} · "
                f"{r['status']}"
                + (f" · {model}" if model else "")
                + (f" · t={cfg['temperature']}" if "temperature" in cfg else ""),
                r["id"],
            )
        self.check_run.setCurrentIndex(
            max(0, self.check_run.findData(self.trace.get("shown_check_run_id")))
        )
        self.check_run.setVisible(self.check_run.count() > 1)
        self.check_run.blockSignals(False)
        self._render_trace()

    def cycle_check_run(self) -> None:
        n = self.check_run.count()
        if n > 1:
            self.check_run.setCurrentIndex((self.check_run.currentIndex() + 1) % n)
            self._show_check(self.check_run.currentData())

    def _show_check(self, run_id: int | None) -> None:
        from ..core.selfcheck.store import load_trace

        if self.trace is None or run_id is None:
            return
        step = self.steps.currentRow()
        self.trace = load_trace(self.ws, self.trace["id"], check_run_id=run_id)
        self._render_trace(keep_step=step)

    def _render_trace(self, keep_step: int | None = None) -> None:
        t = self.trace
        gold = t.get("gold_answer")
        corr = {1: " ✓ correct", 0: " ✗ wrong"}.get(t.get("is_correct"), "")
        w = (t.get("score") or {}).get("confidence", t.get("confidence"))  # of the check shown
        conf = "not checked" if w is None else f"w = {w:.3f}"
        self.header.setText(
            f"<b>Solution {t['id']}</b> · answer <b>{html.escape(str(t['answer']))}"
            f"</b>"
            + (f" · gold <b>{html.escape(str(gold))}</b>{corr}" if gold is not None else "")
            + f" · {conf}"
        )
        self.steps.blockSignals(True)
        self.steps.clear()
        for _ in t["steps"]:
            item = QListWidgetItem()
            self.steps.addItem(item)
            self._render_step(self.steps.count() - 1)
        self.steps.blockSignals(False)
        self._show_votes()
        if t["steps"]:
            first = next(
                (
                    i
                    for i, s in enumerate(t["steps"])
                    if not (s.get("label") or {}).get("rating") is not None
                ),
                0,
            )
            self.steps.setCurrentRow(first if keep_step is None or keep_step < 0 else keep_step)
        self._show_step(self.steps.currentRow())

    def _render_step(self, i: int) -> None:
        st = self.trace["steps"][i]
        check = st.get("check") or {}
        verdict = check.get("verdict") or "unchecked"
        r = check.get("score")
        lab = st.get("label") or {}
        rating = lab.get("rating")
        text = (
            f"Step {st['position']}: {_short(st['text'], 200)}\n"
            f"    SELF-CHECK: {verdict}"
            + ("" if r is None else f"  r = {r:+d}")
            + ("" if rating is None else f"   · you: {rating:+d}")
            + ("   · ⚑ flagged" if lab.get("flag") else "")
        )
        item = self.steps.item(i)
        item.setText(text)
        color = status_color(_VERDICT_COLOR.get(verdict, ""))
        if color:
            item.setForeground(QColor(color))

    def current_step(self) -> dict[str, Any] | None:
        i = self.steps.currentRow()
        if self.trace is None or not (0 <= i < len(self.trace["steps"])):
            return None
        return self.trace["steps"][i]

    def _show_step(self, i: int) -> None:
        t = self.trace
        if t is None or not (0 <= i < len(t["steps"])):
            for v in self.stage_views.values():
                v.clear()
            self.question.setText(html.escape(t["question"]) if t else "")
            self._update_progress()
            return
        st = t["steps"][i]
        check = st.get("check") or {}
        info_ids = set(check.get("collected_info") or [])
        step_ids = set(check.get("collected_steps") or [])
        mark = status_color("warning")
        info = t.get("information") or []
        if info:
            q = " ".join(
                _mark(s, mark) if k in info_ids else html.escape(s) for k, s in enumerate(info)
            )
        else:
            q = html.escape(t["question"])
        self.question.setText(f"<b>Question.</b> {q}")
        for k in range(self.steps.count()):
            pos = t["steps"][k]["position"]
            self.steps.item(k).setBackground(
                QColor(mark).lighter(170) if pos in step_ids else QColor(0, 0, 0, 0)
            )
        outputs = {
            "target": check.get("target_output"),
            "collect": (check.get("collect_output") or "")
            + (f"\n\n→ information {sorted(info_ids)}, steps {sorted(step_ids)}" if check else ""),
            "regen": check.get("regen_output"),
            "compare": (check.get("compare_output") or "")
            + (
                f"\n\n→ {check.get('verdict')}"
                + (f" (r = {check['score']:+d})" if check.get("score") is not None else "")
                if check
                else ""
            ),
        }
        for key, view in self.stage_views.items():
            view.setPlainText(outputs[key] or "— (not checked)")
        self._update_progress()

    def _update_progress(self) -> None:
        t = self.trace
        if t is None:
            self.progress.setText("")
            return
        n = len(t["steps"])
        rated = sum(1 for s in t["steps"] if (s.get("label") or {}).get("rating") is not None)
        i = self.steps.currentRow()
        self.progress.setText(
            f"Step {i + 1} of {n} · {rated} of {n} labelled in this trace"
            if n
            else "This trace has no steps."
        )

    def move_step(self, delta: int) -> None:
        if self.trace is None:
            return
        i = max(0, min(self.steps.count() - 1, self.steps.currentRow() + delta))
        self.steps.setCurrentRow(i)

    # ------------------------------------------------------------- labels
    def _save(self, rating: int | None, flag: bool) -> None:
        from ..core.selfcheck.store import set_step_label

        st = self.current_step()
        if st is None:
            return
        note = (st.get("label") or {}).get("note")
        try:
            set_step_label(self.ws, st["id"], rating, flag=flag, note=note)
        except Exception as exc:
            self.error.emit(str(exc))
            return
        st["label"] = {"rating": rating, "flag": int(flag), "note": note}
        i = self.steps.currentRow()
        self._render_step(i)
        self._update_progress()
        self._update_summary()
        self.labelled.emit(st["id"], rating)

    def label(self, rating: int | None) -> None:
        """Label the current step (−1 / 0 / +1, None clears) and move to the next one."""
        st = self.current_step()
        if st is None:
            return
        self._save(rating, bool((st.get("label") or {}).get("flag")))
        if rating is not None:
            self.move_step(1)

    def toggle_flag(self) -> None:
        st = self.current_step()
        if st is None:
            return
        lab = st.get("label") or {}
        self._save(lab.get("rating"), not bool(lab.get("flag")))

    # ------------------------------------------------------------- voting
    def _show_votes(self) -> None:
        from ..core.inspect.voting import question_votes

        t = self.trace
        v = question_votes(self.ws, t["question_id"])
        self.vote_summary = v
        esc = html.escape
        if v.n_solutions < 2:
            gold = gold_part(v.gold)
            self.votes.setHtml(
                "<i>One solution for this question: sample more to vote"
                + (f" ({gold})" if gold else "")
                + ".</i>"
            )
            return
        rows = "".join(
            f"<tr><td>{esc(r.answer)}{' ★' if r.is_gold else ''}</td><td align=right>{r.votes}"
            f"</td><td align=right>{r.confidence_sum:.3f}</td></tr>"
            for r in v.rows
        )
        self.votes.setHtml(
            f"<b>Vote over {v.n_solutions} solutions</b>"
            + (f" ({v.n_unchecked} unchecked weigh 0)" if v.n_unchecked else "")
            + f"<table cellpadding=3><tr><th>Answer</th><th>Votes</th><th>Σ w</th></tr>{rows}"
            f"</table>Majority: <b>{esc(', '.join(v.majority) or '—')}</b> · weighted: "
            f"<b>{esc(', '.join(v.weighted) or '—')}</b>"
            + (f" · {gold_part(v.gold)}" if gold_part(v.gold) else "")
        )
