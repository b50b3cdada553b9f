"""Inspect: why each candidate of a SELF-INSTRUCT run was kept or dropped, and what another
ROUGE-L threshold would change.

Left, a run's candidates (decision, reason, top score, the decision in force after decision sets
and overrides). Right, three tabs: *Why* (the top-k neighbours with their ROUGE-L and the longest
common subsequence highlighted token by token, plus keep/drop overrides with a note),
*Threshold* (the histogram of each candidate's highest score with the threshold as a line, a
slider with live kept/dropped counts and the candidates whose decision would change, and Apply
as a new decision set) and *Statistics* (instruction length, instances per task, leading verbs).
Every figure comes from `workbench.core.inspect` and `workbench.core.similarity`; the plan for
re-filtering (every candidate against the pool) is built in a worker.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.inspect import overrides, refilter, stats
from ..core.selfinstruct import candidates
from ..core.selfinstruct.candidates import Decision
from ..core.selfinstruct.config import REPLAY_KIND, stored_run, stored_runs
from ..core.similarity import lcs_alignment, score
from ..core.store.run_lock import holder
from ..core.store.workspace import Workspace
from .chart_widgets import BarChart, HistogramChart
from .paged_model import PagedTableModel
from .theme import status_color
from .undo_commands import OverrideCommand
from .workers import JobContext, JobThread

SLIDER_STEPS = 100


def neighbours_of(row: dict[str, Any]) -> list[tuple[str, float]]:
    """The candidate's top-k as its filter recorded them (most_similar), highest first."""
    try:
        sims = json.loads(row.get("most_similar") or "{}")
    except (TypeError, ValueError):
        return []
    return sorted(((str(t), float(s)) for t, s in sims.items()), key=lambda kv: -kv[1])


def _nearest(r: dict[str, Any]) -> str:
    n = neighbours_of(r)
    return f"{n[0][1]:.2f}  {' '.join(n[0][0].split())}" if n else ""


def model_wrote(row: dict[str, Any]) -> str:
    """What the model wrote when step 1 normalised the candidate (numbering, quotes, a speaker
    label or a date stamp stripped: `meta.raw`, validity.normalise), else ""."""
    meta = row.get("meta")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return ""
    raw = meta.get("raw") if isinstance(meta, dict) else None
    return raw if isinstance(raw, str) and raw != row.get("instruction") else ""


def shown_status(ws: Workspace, run_id: int, status: str) -> str:
    """A run's status as Inspect lists it: "running" only while a process holds the run's lock
    (`run_lock.holder`), else "interrupted" (killed, crashed) — Generate's rule for offering a
    resume (`GeneratePanel.check_resumable`)."""
    if status == "running" and holder(ws.path, run_id) is None:
        return "interrupted"
    return status


def _stripped(row: dict[str, Any]) -> str:
    meta = row.get("meta")
    try:
        meta = json.loads(meta) if isinstance(meta, str) else meta
    except ValueError:
        return ""
    changes = meta.get("normalised") if isinstance(meta, dict) else None
    return ", ".join(str(c) for c in changes) if isinstance(changes, list) else ""


def highlighted_html(tokens: list[str], marked: list[int]) -> str:
    on = set(marked)
    color = status_color("warning")
    return " ".join(
        f"<span style='background:{color}; color:white'><b>{html.escape(t)}</b></span>"
        if i in on
        else html.escape(t)
        for i, t in enumerate(tokens)
    )


class InspectPanel(QWidget):
    error = Signal(str)
    plan_ready = Signal()

    def __init__(
        self,
        ws: Workspace,
        parent: QWidget | None = None,
        start_job: Callable[[JobThread], bool] | None = None,
        undo_stack: QUndoStack | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self._start_job = start_job
        # Overrides are undoable edits: the window's stack (Ctrl+Z / Ctrl+Shift+Z), else our own.
        self.undo_stack = undo_stack if undo_stack is not None else QUndoStack(self)
        self.plan: refilter.RefilterPlan | None = None
        self.current: dict[int, str] = {}
        self.overridden: set[int] = set()  # candidates whose override is in force
        self.shown_counts: dict[str, int] = {}
        self.changed: list[refilter.Change] = []
        self.override_stays: list[refilter.Change] = []
        # True once the person picks a run other than the newest: then a new run does not
        # take the view away (a link offers it); otherwise the newest run is followed.
        self.run_picked = False
        self._newest_at_pick: int | None = None  # the newest run when the person picked one
        self.lcs_tokens: tuple[list[str], list[str], list[int], list[int]] | None = None
        self.job: JobThread | None = None
        self.selected: dict[str, Any] | None = None
        title = QLabel("Inspect — why each candidate was kept or dropped")
        title.setObjectName("panelTitle")
        self.run = QComboBox()
        self.decision = QComboBox()
        for label, value in [
            ("All decisions", None),
            ("Kept", Decision.KEPT),
            ("Dropped", Decision.DROPPED),
            ("Pending", Decision.PENDING),
        ]:
            self.decision.addItem(label, value)
        self.refresh_btn = QPushButton("Refresh")
        self.newer_link = QLabel()
        self.newer_link.setObjectName("newerRunLink")
        self.newer_link.setTextFormat(Qt.TextFormat.RichText)
        self.newer_link.hide()
        self.summary = QLabel()
        # Tasks ROUGE-L cannot see under the workspace tokenizer (Chinese under rouge-score's):
        # said here, with the switch, because nothing else would show it (they score 0).
        self.unseen_label = QLabel()
        self.unseen_label.setObjectName("tokenizerNotice")
        self.unseen_label.setWordWrap(True)
        self.switch_tokenizer_btn = QPushButton()
        self.unseen_bar = QWidget()
        ub = QHBoxLayout(self.unseen_bar)
        ub.setContentsMargins(0, 0, 0, 0)
        ub.addWidget(self.unseen_label, 1)
        ub.addWidget(self.switch_tokenizer_btn)
        self.unseen_bar.hide()
        self._suggested_tokenizer: str | None = None
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Run"))
        bar.addWidget(self.run, 1)
        bar.addWidget(self.newer_link)
        bar.addWidget(self.decision)
        bar.addWidget(self.refresh_btn)
        columns = [
            ("#", lambda r: r["id"]),
            ("Candidate instruction", lambda r: " ".join(r["instruction"].split())),
            ("Decision", lambda r: r["decision"]),
            ("Reason", lambda r: r["reason"]),
            ("Top ROUGE-L", lambda r: None if r["max_score"] is None else f"{r['max_score']:.3f}"),
            ("In force", lambda r: self.current.get(r["id"], r["decision"])),
            ("Nearest task", _nearest),
            # Empty unless normalisation changed the text; the full text is its tooltip.
            ("Model wrote", lambda r: " ".join(model_wrote(r).split()) or None),
        ]
        self.model = PagedTableModel(columns, self, color=self._color)
        self.table = QTableView()
        self.table.setObjectName("candidateTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, w in [(0, 45), (2, 65), (3, 80), (4, 80), (5, 65), (6, 180), (7, 180)]:
            h.resizeSection(col, w)

        # --- Why
        self.why_title = QLabel("Select a candidate.")
        self.why_title.setWordWrap(True)
        self.why_title.setTextFormat(Qt.TextFormat.RichText)
        # The candidate as the model wrote it, when step 1 normalised it (validity.normalise).
        self.raw_label = QLabel()
        self.raw_label.setObjectName("candidateRaw")
        self.raw_label.setWordWrap(True)
        self.raw_label.setTextFormat(Qt.TextFormat.PlainText)
        self.raw_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.raw_label.hide()
        self.neighbours = QTableWidget(0, 2)
        self.neighbours.setObjectName("neighbourTable")
        self.neighbours.setHorizontalHeaderLabels(["ROUGE-L", "Neighbour in the pool"])
        self.neighbours.verticalHeader().hide()
        self.neighbours.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.neighbours.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.neighbours.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.neighbours.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.neighbours.horizontalHeader().resizeSection(0, 70)
        self.lcs_a = QLabel()
        self.lcs_b = QLabel()
        for lab in (self.lcs_a, self.lcs_b):
            lab.setWordWrap(True)
            lab.setTextFormat(Qt.TextFormat.RichText)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lcs_info = QLabel()
        self.note = QLineEdit()
        self.note.setPlaceholderText("Why you override the filter (stored with the override)")
        self.keep_btn = QPushButton("Keep")
        self.drop_btn = QPushButton("Drop")
        self.undo_override_btn = QPushButton("Undo override")
        self.keep_btn.setToolTip("Keep this candidate, with the note (Alt+K)")
        self.drop_btn.setToolTip("Drop this candidate, with the note (Alt+D)")
        self.undo_override_btn.setToolTip("Remove the override (Alt+U)")
        self.note.setToolTip("Alt+N")
        note_label = QLabel("Note")
        self.override_info = QLabel()
        self.override_info.setWordWrap(True)
        ob = QHBoxLayout()
        ob.addWidget(note_label)
        ob.addWidget(self.note, 1)
        ob.addWidget(self.keep_btn)
        ob.addWidget(self.drop_btn)
        ob.addWidget(self.undo_override_btn)
        why = QWidget()
        wl = QVBoxLayout(why)
        wl.addWidget(self.why_title)
        wl.addWidget(self.raw_label)
        wl.addWidget(self.neighbours, 2)
        form = QFormLayout()
        form.addRow("Candidate", self.lcs_a)
        form.addRow("Neighbour", self.lcs_b)
        wl.addLayout(form)
        wl.addWidget(self.lcs_info)
        wl.addLayout(ob)
        wl.addWidget(self.override_info)

        # --- Threshold
        self.histogram = HistogramChart()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("thresholdSlider")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setEnabled(False)
        self.threshold_label = QLabel("Threshold —")
        self.counts_label = QLabel("Building the re-filter…")
        self.changed_list = QListWidget()
        self.changed_list.setObjectName("changedList")
        self.apply_btn = QPushButton("Apply as a new decision set")
        self.apply_btn.setEnabled(False)
        self.sets_label = QLabel()
        self.sets_label.setWordWrap(True)
        th = QWidget()
        tl = QVBoxLayout(th)
        tl.addWidget(self.histogram, 3)
        sl = QHBoxLayout()
        sl.addWidget(self.threshold_label)
        sl.addWidget(self.slider, 1)
        tl.addLayout(sl)
        tl.addWidget(self.counts_label)
        tl.addWidget(QLabel("Candidates whose decision would change:"))
        tl.addWidget(self.changed_list, 2)
        al = QHBoxLayout()
        al.addWidget(self.sets_label, 1)
        al.addWidget(self.apply_btn)
        tl.addLayout(al)

        # --- Statistics
        self.length_chart = HistogramChart()
        self.inst_chart = BarChart("Instances per task (tasks)")
        self.verb_chart = BarChart("Most frequent leading verbs")
        st = QWidget()
        sgl = QHBoxLayout(st)
        sgl.addWidget(self.length_chart, 2)
        sgl.addWidget(self.inst_chart, 1)
        sgl.addWidget(self.verb_chart, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(why, "Why")
        self.tabs.addTab(th, "Threshold")
        self.tabs.addTab(st, "Statistics")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 4)
        split.setSizes([520, 760])
        self.empty = QLabel(
            "No SELF-INSTRUCT runs in this workspace yet: start one in Generate "
            "(or `workbench self-instruct`), then its candidates appear here."
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.body = QStackedWidget()
        self.body.addWidget(self.empty)
        self.body.addWidget(split)
        self.split = split
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(bar)
        lay.addWidget(self.unseen_bar)
        lay.addWidget(self.summary)
        lay.addWidget(self.body, 1)
        self._slider_timer = QTimer(self)
        self._slider_timer.setSingleShot(True)
        self._slider_timer.setInterval(30)
        self._slider_timer.timeout.connect(self._update_threshold)
        self.run.currentIndexChanged.connect(self._load)
        self.run.activated.connect(self._run_activated)
        self.newer_link.linkActivated.connect(lambda _l: self.show_newest())
        self.decision.currentIndexChanged.connect(self._load_table)
        self.refresh_btn.clicked.connect(self.reload)
        self.switch_tokenizer_btn.clicked.connect(self.switch_tokenizer)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _p: self._show(cur.row()))
        self.neighbours.currentCellChanged.connect(lambda r, *_: self._show_lcs(r))
        self.slider.valueChanged.connect(self._on_slider)
        self.apply_btn.clicked.connect(self.apply_threshold)
        self.keep_btn.clicked.connect(lambda: self.override(Decision.KEPT))
        self.drop_btn.clicked.connect(lambda: self.override(Decision.DROPPED))
        # Keyboard-first overrides, scoped to this panel (explicit shortcuts, not mnemonics:
        # mnemonics depend on the platform theme).
        for key, target in [
            ("Alt+K", self.keep_btn),
            ("Alt+D", self.drop_btn),
            ("Alt+U", self.undo_override_btn),
        ]:
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda b=target: b.isEnabled() and b.click())
        sc = QShortcut(QKeySequence("Alt+N"), self)
        sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(lambda: self.note.setFocus(Qt.FocusReason.ShortcutFocusReason))
        self.undo_override_btn.clicked.connect(self.undo_override)
        self.reload()

    # ------------------------------------------------------------------ loading
    def _color(self, r: dict[str, Any], col: int) -> str | None:
        if col == 2:
            return status_color(r["decision"])
        if col == 5:
            return status_color(self.current.get(r["id"], r["decision"]))
        return None

    @property
    def run_id(self) -> int | None:
        return self.run.currentData()

    def reload(self) -> None:
        self._check_tokenizer()
        self._fill_runs()
        self._load()

    def _check_tokenizer(self) -> None:
        from ..core.similarity import tokenizer_coverage

        cov = tokenizer_coverage(self.ws)
        self._suggested_tokenizer = cov.suggested
        if not cov.unseen:
            self.unseen_bar.hide()
            return
        self.unseen_label.setText(
            f"⚠ ROUGE-L cannot see {cov.unseen:,} of {cov.tasks:,} tasks: they have no tokens "
            f"under this workspace's “{cov.tokenizer}” tokenizer, so they score 0 against "
            "everything and their near-duplicates are never dropped."
        )
        self.switch_tokenizer_btn.setText(f"Switch to “{cov.suggested}”" if cov.suggested else "")
        self.switch_tokenizer_btn.setVisible(cov.suggested is not None)
        self.unseen_bar.show()

    def switch_tokenizer(self) -> None:
        """Record the suggested tokenizer as the workspace's; later decisions and the re-filter
        use it (stored decisions keep their scores)."""
        if not self._suggested_tokenizer:
            return
        from ..core.similarity import set_workspace_tokenizer

        set_workspace_tokenizer(self.ws, self._suggested_tokenizer)
        self.reload()

    def refresh_live(self) -> None:
        """A run is adding candidates: read the lists, counts and charts again, but keep the
        threshold plan (it is rebuilt when the run ends), so the slider stays usable instead of
        rescoring every candidate every few seconds."""
        shown = self.run_id
        self._fill_runs()
        if self.run_id != shown or self.plan is None or self.run_id is None:
            self._load()
            return
        self._read_current()
        self._load_table()
        self._load_stats()
        self._load_sets()

    def _read_current(self) -> None:
        assert self.run_id is not None
        self.current = refilter.current_decisions(self.ws, self.run_id)
        self.overridden = refilter.overridden(self.ws, self.run_id)

    def _run_activated(self, index: int) -> None:
        """The person chose a run: stay on it unless it is the newest (then keep following)."""
        self.run_picked = index > 0
        self._newest_at_pick = self.run.itemData(0)
        self.newer_link.hide()

    def show_newest(self) -> None:
        """Show the newest run and follow newer ones again (the "Run N finished — show" link)."""
        self.run_picked = False
        self.newer_link.hide()
        self.run.setCurrentIndex(0)

    def _fill_runs(self) -> None:
        current = self.run.currentData()
        self.run.blockSignals(True)
        self.run.clear()
        newest: tuple[int, str] | None = None
        for r in stored_runs(self.ws):  # newest first
            what = "replay" if r.kind == REPLAY_KIND else f"target {r.target}"
            status = shown_status(self.ws, r.id, r.status)
            newest = newest or (r.id, status)
            self.run.addItem(
                f"Run {r.id} · {status} · {what} · {r.created_at[:16].replace('T', ' ')}", r.id
            )
        idx = self.run.findData(current) if self.run_picked else -1
        self.run_picked = idx > 0
        self.run.setCurrentIndex(idx if idx >= 0 else 0)
        self.run.blockSignals(False)
        if self.run_picked and newest is not None and newest[0] != self._newest_at_pick:
            self.newer_link.setText(f"<a href='newest'>Run {newest[0]} {newest[1]} — show</a>")
            self.newer_link.show()
        else:
            self.newer_link.hide()

    def _load(self) -> None:
        run_id = self.run_id
        self.plan = None
        self.slider.setEnabled(False)
        self.apply_btn.setEnabled(False)
        has = run_id is not None
        self.body.setCurrentIndex(1 if has else 0)
        if not has:
            self.model.set_source(None)
            self.summary.setText("")
            return
        self._read_current()
        self._load_table()
        self._load_stats()
        self._load_sets()
        self._build_plan(run_id)

    def _load_table(self) -> None:
        run_id = self.run_id
        if run_id is None:
            return
        decision = self.decision.currentData()
        self.model.set_source(
            lambda _n, last, limit: self._with_meta(
                candidates.page(
                    self.ws,
                    run_id,
                    decision=decision,
                    after_id=last["id"] if last else 0,
                    limit=limit,
                )
            )
        )
        counts = candidates.counts(self.ws, run_id)
        total = sum(counts.values())
        parts = [
            f"{counts.get(k, 0):,} {k}"
            for k in (Decision.KEPT, Decision.DROPPED, Decision.PENDING)
            if counts.get(k)
        ]
        n_over = len(overrides.list_overrides(self.ws, run_id))
        self.summary.setText(
            (
                f"{total:,} candidates: "
                + ", ".join(parts)
                + (f" · {n_over} overridden" if n_over else "")
            )
            if total
            else "This run has no candidates yet."
        )

    def _with_meta(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The page's rows with each candidate's `meta` (its raw text when normalised)."""
        if not rows:
            return rows
        ids = [r["id"] for r in rows]
        marks = ", ".join("?" * len(ids))
        metas = {
            m["id"]: m["meta"]
            for m in self.ws.query(f"SELECT id, meta FROM candidates WHERE id IN ({marks})", ids)
        }
        return [{**r, "meta": metas.get(r["id"])} for r in rows]

    def _load_stats(self) -> None:
        run_id = self.run_id
        lengths = stats.instruction_lengths(self.ws, run_id=run_id)
        top = max(lengths, default=0)
        counts, edges = refilter.histogram(lengths, bins=max(1, min(20, top)), lo=0, hi=max(1, top))
        self.length_chart.set_data(counts, edges, "Instruction length (words), kept tasks")
        self.inst_chart.set_items(
            [(str(k), v) for k, v in stats.instances_per_task(self.ws, run_id=run_id).items()]
        )
        self.verb_chart.set_items(stats.leading_verbs(self.ws, run_id=run_id, top=12))

    def _load_sets(self) -> None:
        sets = refilter.decision_sets(self.ws, self.run_id)
        self.sets_label.setText(
            "Decision sets: "
            + "; ".join(
                f"#{s['id']} t={s['threshold']:.2f} ({s['counts'].get('kept', 0)} kept)"
                for s in sets
            )
            + " — the newest is in force."
            if sets
            else "No decision sets yet: the run's own decisions are in force."
        )

    def _build_plan(self, run_id: int) -> None:
        def job(ctx: JobContext) -> refilter.RefilterPlan:
            ws = ctx.open_workspace()
            return refilter.build_plan(ws, run_id, cancel=ctx.cancel)

        if self.job is not None:
            self.job.token.cancel()  # an older plan still scoring: its result is ignored
        thread = JobThread("inspect-refilter", self.ws.path, job, self)
        thread.finished.connect(lambda t=thread: self._plan_job_ended(t))
        thread.succeeded.connect(lambda plan, r=run_id: self._plan_built(r, plan))
        thread.failed.connect(self.error.emit)
        self.job = thread
        self.counts_label.setText("Scoring every candidate against the pool…")
        if self._start_job is not None:
            self._start_job(thread)
        else:
            thread.finished.connect(thread.deleteLater)
            thread.start()

    def _plan_job_ended(self, thread: JobThread) -> None:
        if self.job is thread:  # the window deletes finished workers; forget it first
            self.job = None

    def _plan_built(self, run_id: int, plan: refilter.RefilterPlan) -> None:
        if run_id != self.run_id:
            return
        self.plan = plan
        self.histogram.set_data(
            *refilter.score_histogram(plan), "Highest ROUGE-L against the pool, per candidate"
        )
        self.slider.setEnabled(True)
        self.apply_btn.setEnabled(True)
        self.slider.blockSignals(True)
        # A large run's plan replays thresholds from its floor up (see core.inspect.refilter).
        self.slider.setRange(math.ceil(plan.floor * SLIDER_STEPS), SLIDER_STEPS)
        self.slider.setToolTip(
            f"Thresholds from {plan.floor:.2f} (a large run)" if plan.floor else ""
        )
        self.slider.setValue(max(self.slider.minimum(), round(plan.threshold * SLIDER_STEPS)))
        self.slider.blockSignals(False)
        self._update_threshold()
        self.plan_ready.emit()

    # ----------------------------------------------------------- the threshold
    def threshold(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    def _on_slider(self, _v: int) -> None:
        self.threshold_label.setText(f"Threshold {self.threshold():.2f}")
        self.histogram.set_threshold(self.threshold())
        self._slider_timer.start()

    def _update_threshold(self) -> None:
        if self.plan is None:
            return
        t = self.threshold()
        self.threshold_label.setText(f"Threshold {t:.2f}")
        self.histogram.set_threshold(t)
        result = refilter.decisions_at(self.plan, t)
        self.shown_counts = result.counts()
        # Overrides win over every threshold: they are listed apart, never as changes.
        self.changed = refilter.changes(self.plan, result, self.current, self.overridden)
        self.override_stays = refilter.override_stays(
            self.plan, result, self.current, self.overridden
        )
        c = self.shown_counts
        stays = len(self.override_stays)
        self.counts_label.setText(
            f"At {t:.2f}: {c.get('kept', 0):,} kept, {c.get('dropped', 0):,} dropped"
            + (f", {c['pending']:,} pending" if c.get("pending") else "")
            + f" — {len(self.changed):,} would change"
            + (f"; {stays:,} overridden by hand (the override stays)" if stays else "")
        )
        self.changed_list.clear()
        for ch in self.changed[:2000]:
            s = "" if ch.max_score is None else f"{ch.max_score:.3f}  "
            self.changed_list.addItem(
                f"#{ch.candidate_id}  {ch.old} → {ch.new}  {s}{' '.join(ch.instruction.split())}"
            )
        for ch in self.override_stays[:2000]:
            s = "" if ch.max_score is None else f"{ch.max_score:.3f}  "
            self.changed_list.addItem(
                f"#{ch.candidate_id}  override stays: {ch.old} (the threshold alone: {ch.new})  "
                f"{s}{' '.join(ch.instruction.split())}"
            )

    def apply_threshold(self) -> int | None:
        if self.plan is None:
            return None
        try:
            sid = refilter.apply_threshold(self.ws, self.plan, self.threshold())
        except Exception as exc:  # a domain error reaches the banner; the window keeps running
            self.error.emit(str(exc))
            return None
        self._read_current()
        self.model.layoutChanged.emit()
        self._load_sets()
        self._load_stats()
        self._update_threshold()
        return sid

    # ----------------------------------------------------------------- why
    def select_candidate(self, candidate_id: int) -> bool:
        while True:
            for i in range(self.model.rowCount()):
                if self.model.row(i)["id"] == candidate_id:
                    self.table.selectRow(i)
                    return True
            if not self.model.canFetchMore():
                return False
            self.model.fetchMore()

    def shown_neighbours(self) -> list[tuple[str, float]]:
        return [
            (self.neighbours.item(r, 1).text(), float(self.neighbours.item(r, 0).text()))
            for r in range(self.neighbours.rowCount())
        ]

    def _tokenizer(self) -> str:
        if self.plan is not None:
            return self.plan.tokenizer
        run = stored_run(self.ws, self.run_id) if self.run_id is not None else None
        return (run.tokenizer if run else None) or "rouge"

    def _show(self, row: int) -> None:
        self.neighbours.setRowCount(0)
        self.lcs_a.clear()
        self.lcs_b.clear()
        self.lcs_tokens = None
        if row < 0 or row >= self.model.rowCount():
            self.selected = None
            self.raw_label.hide()
            self.why_title.setText("Select a candidate.")
            return
        r = self.selected = self.model.row(row)
        in_force = self.current.get(r["id"], r["decision"])
        color = status_color(in_force)
        top = "—" if r["max_score"] is None else f"{r['max_score']:.3f}"
        self.why_title.setText(
            f"<b>#{r['id']}</b> {html.escape(r['instruction'])}<br>"
            f"Filter: <b style='color:{status_color(r['decision'])}'>{r['decision']}</b>"
            + (f" ({html.escape(r['reason'])})" if r["reason"] else "")
            + f" · highest ROUGE-L {top} · in force: <b style='color:{color}'>{in_force}</b>"
        )
        tok = self._tokenizer()
        for text, _stored in neighbours_of(r):
            i = self.neighbours.rowCount()
            self.neighbours.insertRow(i)
            s = score(r["instruction"], text, tok)
            self.neighbours.setItem(i, 0, QTableWidgetItem(f"{s:.4f}"))
            self.neighbours.setItem(i, 1, QTableWidgetItem(" ".join(text.split())))
        raw = model_wrote(r)
        what = _stripped(r)
        self.raw_label.setText(
            f"The model wrote: {raw}" + (f"  (normalised: {what} stripped)" if what else "")
        )
        self.raw_label.setVisible(bool(raw))
        ov = overrides.get_override(self.ws, r["id"])
        self.override_info.setText(
            f"Overridden: {ov['decision']} — “{ov['note']}” ({ov['created_at'][:16]})"
            if ov
            else "No override."
        )
        self.undo_override_btn.setEnabled(ov is not None)
        if self.neighbours.rowCount():
            self.neighbours.selectRow(0)
            self._show_lcs(0)
        else:
            self.lcs_info.setText("No neighbours recorded for this candidate.")

    def _show_lcs(self, nrow: int) -> None:
        r = self.selected
        if r is None or nrow < 0 or nrow >= self.neighbours.rowCount():
            return
        text = neighbours_of(r)[nrow][0]
        ta, tb, ia, ib = lcs_alignment(r["instruction"], text, self._tokenizer())
        self.lcs_tokens = (ta, tb, ia, ib)
        self.lcs_a.setText(highlighted_html(ta, ia))
        self.lcs_b.setText(highlighted_html(tb, ib))
        self.lcs_info.setText(
            f"Longest common subsequence: {len(ia)} of {len(ta)} and "
            f"{len(tb)} tokens (highlighted)."
        )

    # --------------------------------------------------------------- overrides
    def override(self, decision: str) -> None:
        """Keep or drop the selected candidate with the note, as one step of the undo stack."""
        r = self.selected
        if r is None:
            return
        new = {"decision": str(decision), "note": self.note.text().strip()}
        try:
            self.undo_stack.push(OverrideCommand(self.ws, r["id"], new, self._override_done))
        except Exception as exc:  # a domain error reaches the banner; the window keeps running
            self.error.emit(str(exc))
            return
        self.note.clear()

    def undo_override(self) -> None:
        """Remove the selected candidate's override (the "Undo override" button), undoably."""
        r = self.selected
        if r is None or overrides.get_override(self.ws, r["id"]) is None:
            return
        self.undo_stack.push(OverrideCommand(self.ws, r["id"], None, self._override_done))

    def _override_done(self, candidate_id: int) -> None:
        """An override was set, removed, undone or redone: read what is in force again and
        show that candidate when it is in the run shown."""
        if self.run_id is None:
            return
        if self.selected is None or self.selected["id"] != candidate_id:
            self.select_candidate(candidate_id)
        self._after_override()

    def _after_override(self) -> None:
        self._read_current()
        self.model.layoutChanged.emit()
        self._load_stats()
        self._load_table_summary_only()
        self._show(self.table.currentIndex().row())
        self._update_threshold()

    def _load_table_summary_only(self) -> None:
        n_over = len(overrides.list_overrides(self.ws, self.run_id))
        text = self.summary.text().split(" · ")[0]
        self.summary.setText(text + (f" · {n_over} overridden" if n_over else ""))
