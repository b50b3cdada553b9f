"""Generate: configure and run SELF-INSTRUCT in a worker; live figures and a candidate feed.

The worker owns the backend and its own workspace connection; this panel only turns progress
events into numbers on screen. An interrupted run (the app closed, a crash, Cancel) is found
in the workspace and offered for resume.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.jobs import Progress
from ..core.selfinstruct.candidates import latest_decided

# config is light (no similarity engine, no model code): its defaults and presets are the CLI's.
from ..core.selfinstruct.config import (
    DEFAULTS,
    RUN_KIND,
    default_round_size,
    preset_choices,
    stored_run,
)
from ..core.store.run_lock import RunBusy, holder
from ..core.store.runs import latest_unfinished_run
from ..core.store.workspace import Workspace
from .model_choice import (
    DEFAULT,
    SERVER,
    added_models,
    backend_kwargs,
    choice_label,
    current_choice,
)
from .theme import status_color
from .workers import JobContext, JobThread

ROUND_SIZE_SETTING = "selfinstruct.round_size"  # step-1 calls per round; absent or 0: the core's
ROUND_SIZE_TIP = (
    "Step-1 calls built from one snapshot of the task pool and sent together (the reference's "
    "request_batch_size); their candidates are still decided in order, each compared with "
    "every task accepted before it. Auto: 16 on a server (keeps its requests in flight "
    "busy), 1 in-process. The round size, not the concurrency, shapes what is accepted."
)
FEED_MAX = 500  # the feed is a window on the latest candidates; Inspect has them all
THRESHOLD_TIP = (
    "ROUGE-L threshold, 0 to 1: a candidate whose highest score against the task "
    "pool (and the earlier candidates of its step-1 call) is above it is dropped. "
    "Lower drops more. Inspect → Threshold shows what another value would change."
)


def _eta(seconds: float) -> str:
    if seconds <= 0 or seconds != seconds:
        return "—"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


class GeneratePanel(QWidget):
    state_changed = Signal(str)  # idle | loading | running | paused | cancelling | ...
    rate_changed = Signal(float)  # tokens/s
    run_ended = Signal()  # new tasks and candidates may be in the workspace
    tasks_added = Signal(int)  # accepted so far, each time it grows during a run
    error = Signal(str)

    def __init__(
        self, ws: Workspace, start_job: Callable[[JobThread], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.start_job = start_job
        self.job: JobThread | None = None
        self.run_id: int | None = None
        self._started = 0.0
        self._first_accepted: tuple[float, int] | None = None
        self._accepted_seen = 0
        self._seen_feed: set[tuple[str, str]] = set()
        self.state = "idle"
        # Extra RunConfig fields for new runs (tests and the bench use tiny token limits).
        self.config_overrides: dict[str, Any] = {}
        self._target_hint = 0
        self._pending: JobThread | None = None

        title = QLabel("Generate — SELF-INSTRUCT")
        title.setObjectName("panelTitle")

        # --- resume banner
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        bl = QHBoxLayout(self.banner)
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.resume_btn = QPushButton("Resume")
        self.dismiss_btn = QPushButton("Dismiss")
        bl.addWidget(self.banner_text, 1)
        bl.addWidget(self.resume_btn)
        bl.addWidget(self.dismiss_btn)
        self.banner.hide()
        self._resumable: dict[str, Any] | None = None

        # --- configuration
        cfg = QGroupBox("Run")
        form = QFormLayout(cfg)
        self.preset = QComboBox()
        for label, value in preset_choices():
            self.preset.addItem(label, value)
        self.target = QSpinBox()
        self.target.setRange(1, 1_000_000)
        self.target.setValue(DEFAULTS.target)
        self.target.setSuffix(" tasks")
        self.model = QComboBox()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(DEFAULTS.seed)
        self.threshold = QDoubleSpinBox()
        self.threshold.setObjectName("rougeThreshold")
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setDecimals(2)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(DEFAULTS.threshold)
        self.threshold.setToolTip(THRESHOLD_TIP)
        # Beside the server's concurrency (Models): how many step-1 calls go out together.
        self.round_size = QSpinBox()
        self.round_size.setObjectName("roundSize")
        self.round_size.setRange(0, 1024)
        self.round_size.setSuffix(" step-1 calls")
        self.round_size.setToolTip(ROUND_SIZE_TIP)
        self.round_size.setValue(int(self.ws.get_setting(ROUND_SIZE_SETTING) or 0))
        self.templates_label = QLabel()
        self.templates_btn = QPushButton("Edit…")
        self.templates_btn.setToolTip("See and edit the prompt templates the steps use")
        trow = QHBoxLayout()
        trow.addWidget(self.templates_label, 1)
        trow.addWidget(self.templates_btn)
        form.addRow("Preset", self.preset)
        form.addRow("Target", self.target)
        form.addRow("Model", self.model)
        form.addRow("Seed", self.seed)
        form.addRow("ROUGE-L threshold", self.threshold)
        form.addRow("Round size", self.round_size)
        form.addRow("Templates", trow)
        self.start_btn = QPushButton("Start")
        self.start_btn.setDefault(True)
        self.pause_btn = QPushButton("Pause")
        self.cancel_btn = QPushButton("Cancel")
        for b in (self.pause_btn, self.cancel_btn):
            b.setEnabled(False)
        btns = QHBoxLayout()
        btns.addWidget(self.start_btn)
        btns.addWidget(self.pause_btn)
        btns.addWidget(self.cancel_btn)
        form.addRow(btns)

        # --- live figures: a caption beside each value, one a row, so that both keep their
        # full width at the window's minimum size (900×560); five side by side were cut off.
        figs = QGroupBox("Progress")
        grid = QGridLayout(figs)
        self.figures: dict[str, QLabel] = {}
        self.captions: dict[str, QLabel] = {}
        for i, (key, caption) in enumerate(
            [
                ("accepted", "accepted / target"),
                ("candidates", "candidates"),
                ("rate", "accepted of examined"),
                ("tps", "tokens/s"),
                ("eta", "ETA"),
            ]
        ):
            value = QLabel("—")
            value.setObjectName("figure")
            cap = QLabel(caption)
            cap.setObjectName("figureCaption")
            grid.addWidget(cap, i, 0, Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(value, i, 1, Qt.AlignmentFlag.AlignVCenter)
            self.figures[key] = value
            self.captions[key] = cap
        grid.setColumnStretch(1, 1)
        rate_tip = (
            "Accepted tasks as a share of the candidates the filters have decided (kept or "
            "dropped), of how many; pending candidates count once decided"
        )
        self.figures["rate"].setToolTip(rate_tip)
        self.captions["rate"].setToolTip(rate_tip)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.message = QLabel("Idle.")
        self.message.setWordWrap(True)
        grid.addWidget(self.bar, 5, 0, 1, 2)
        grid.addWidget(self.message, 6, 0, 1, 2)

        # --- feed
        self.feed = QTableWidget(0, 3)
        self.feed.setObjectName("candidateFeed")
        self.feed.setHorizontalHeaderLabels(["Candidate instruction", "Decision", "Reason"])
        self.feed.verticalHeader().hide()
        self.feed.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.feed.setWordWrap(False)
        self.feed.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        h = self.feed.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        h.resizeSection(1, 90)
        h.resizeSection(2, 220)

        top = QHBoxLayout()
        top.addWidget(cfg, 2)
        top.addWidget(figs, 3)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.banner)
        lay.addLayout(top)
        lay.addWidget(QLabel("Latest candidates"))
        lay.addWidget(self.feed, 1)

        self.start_btn.clicked.connect(lambda: self.start())
        self.round_size.valueChanged.connect(self._save_round_size)
        self.model.currentIndexChanged.connect(lambda _i: self._show_round_default())
        self.templates_btn.clicked.connect(self.edit_templates)
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.cancel_btn.clicked.connect(self.cancel)
        self.resume_btn.clicked.connect(self.resume_interrupted)
        self.dismiss_btn.clicked.connect(self.banner.hide)
        self.refresh_models()
        self.refresh_templates()
        self.check_resumable()

    # ----------------------------------------------------------------- setup
    def refresh_templates(self) -> None:
        # prompts is light; selfinstruct.run would load the similarity engine at start-up.
        from ..core.selfinstruct.prompts import TEMPLATES_SETTING

        folder = self.ws.get_setting(TEMPLATES_SETTING)
        self.templates_label.setText(f"yours: {folder}" if folder else "built-in")
        self.templates_label.setToolTip(folder or "resources/prompts/selfinstruct")

    def edit_templates(self) -> Any:
        """Open the template editor (modeless, so a run's progress stays in view)."""
        from .templates_dialog import TemplatesDialog

        dialog = TemplatesDialog(self.ws, self)
        dialog.finished.connect(lambda _r: self.refresh_templates())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def refresh_models(self) -> None:
        chosen = current_choice(self.ws)
        self.model.blockSignals(True)
        self.model.clear()
        for choice in [DEFAULT, *added_models(self.ws), SERVER]:
            label = choice_label(choice)
            if choice == SERVER:
                url = (self.ws.get_setting("server", {}) or {}).get("url")
                label = f"Server: {url}" if url else "Server (set it up in Models)"
            self.model.addItem(label, choice)
        self.model.setCurrentIndex(max(0, self.model.findData(chosen)))
        self.model.blockSignals(False)
        self._show_round_default()

    def _show_round_default(self) -> None:
        """The round size's "auto" names the core's default for the chosen model."""
        server = (self.model.currentData() or DEFAULT) == SERVER
        self.round_size.setSpecialValueText(f"auto ({default_round_size(server=server)})")

    def _save_round_size(self, value: int) -> None:
        self.ws.set_setting(ROUND_SIZE_SETTING, value or None)

    def check_resumable(self) -> dict[str, Any] | None:
        """Offer the newest unfinished run for resume (called when a workspace opens)."""
        run = latest_unfinished_run(self.ws, RUN_KIND)
        self._resumable = run
        if run is None or (self.job is not None and self.job.isRunning()):
            self.banner.hide()
            return None
        stored = stored_run(self.ws, run["id"])
        # The database's count (the run's stats are saved only when it stops).
        done = (
            self.ws.scalar(
                "SELECT count(*) FROM tasks WHERE run_id = ? AND source = ?",
                (run["id"], "generated"),
            )
            or 0
        )
        target = stored.target if stored else "?"
        how = {"running": "was interrupted", "cancelled": "was cancelled", "failed": "failed"}.get(
            run["status"], run["status"]
        )
        if holder(self.ws.path, run["id"]) is not None:
            how = "is being continued by another process"
        self.banner_text.setText(
            f"SELF-INSTRUCT run {run['id']} {how} at {done} of {target} accepted tasks "
            f"(started {run['created_at'][:16].replace('T', ' ')}). Resume it where it stopped?"
        )
        self.banner.show()
        return run

    def offers_resume(self) -> bool:
        return not self.banner.isHidden()

    # ------------------------------------------------------------------- runs
    def start(self, resume_run: dict[str, Any] | None = None) -> bool:
        choice = self.model.currentData() or DEFAULT
        if choice == SERVER and not (self.ws.get_setting("server", {}) or {}).get("url"):
            self.error.emit("No server is set up: enter its URL in Models first.")
            return False
        kwargs = backend_kwargs(self.ws, choice)
        resume_id = resume_run["id"] if resume_run else None
        busy = holder(self.ws.path, resume_id) if resume_id is not None else None
        if resume_id is not None and busy is not None:  # say so before loading the model
            self.error.emit(str(RunBusy(resume_id, busy)))
            return False
        stored = stored_run(self.ws, resume_id) if resume_id is not None else None
        if stored is not None:  # the run resumes with its own config; this only shows it
            config_dict = stored.config.to_dict()
        else:
            config_dict = {
                "preset": self.preset.currentData(),
                "target": self.target.value(),
                "seed": self.seed.value(),
                "threshold": self.threshold.value(),
                # 0 ("auto"): the run takes the core's default for its backend, and stores it.
                "round_size": self.round_size.value() or None,
                **self.config_overrides,
            }
        self.configure_job(kwargs, config_dict, resume_id)
        return self._launch()

    def configure_job(
        self, kwargs: dict[str, Any], config_dict: dict[str, Any], resume_id: int | None
    ) -> None:
        """Build the worker for one run (tests and the bench adjust `config_dict` here)."""
        # On a server: the requests in flight set beside its URL (Models); in-process: one.
        concurrency = (
            (self.ws.get_setting("server", {}) or {}).get("concurrency")
            if kwargs.get("server")
            else None
        )

        def job(ctx: JobContext) -> Any:
            from ..core.selfinstruct.run import RunConfig, check_templates, run_self_instruct

            ws = ctx.open_workspace()
            config = RunConfig.from_dict(config_dict)
            check_templates(ws, config, resume_id)  # a broken template: the banner, no model
            ctx.progress(Progress("loading", message="Loading the model…"))
            backend = ctx.model(**kwargs)
            return run_self_instruct(
                ws,
                backend,
                config,
                resume_run_id=resume_id,
                progress=ctx.progress,
                cancel=ctx.cancel,
                concurrency=concurrency,
            )

        self._target_hint = int(config_dict.get("target") or 0)
        self.run_id = resume_id
        self._pending = JobThread("self-instruct", self.ws.path, job, self)

    def launch_job(self, thread: JobThread, target: int, resume_id: int | None = None) -> bool:
        """Run any job that reports SELF-INSTRUCT-style progress through this panel."""
        self._target_hint = target
        self.run_id = resume_id
        self._pending = thread
        return self._launch()

    def _launch(self) -> bool:
        thread = self._pending
        assert thread is not None
        thread.progress.connect(self._on_progress)
        thread.succeeded.connect(self._on_done)
        thread.cancelled.connect(self._on_cancelled)
        thread.failed.connect(self._on_failed)
        if not self.start_job(thread):
            return False
        self.job = thread
        self.banner.hide()
        self._started = time.monotonic()
        self._first_accepted = None
        self._accepted_seen = 0
        self.refill_feed()
        for lab in self.figures.values():
            lab.setText("—")
        self.bar.setValue(0)
        self.message.setText("Loading the model…")
        self._set_state("loading")
        return True

    def resume_interrupted(self) -> bool:
        if self._resumable is None:
            return False
        return self.start(self._resumable)

    def toggle_pause(self) -> None:
        if self.job is None:
            return
        if self.job.token.paused:
            self.job.token.resume()
            self._set_state("running")
        else:
            # Takes effect at the next check: after the token being generated now.
            self.job.token.pause()
            self._set_state("paused")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.token.cancel()
            self._set_state("cancelling")
            self.message.setText(
                "Cancelling after the current token; everything done so far is saved…"
            )

    def _set_state(self, state: str) -> None:
        self.state = state
        running = state in ("loading", "running", "paused", "cancelling")
        self.start_btn.setEnabled(not running)
        self.pause_btn.setEnabled(state in ("running", "paused", "loading"))
        self.pause_btn.setText("Continue" if state == "paused" else "Pause")
        self.cancel_btn.setEnabled(state in ("loading", "running", "paused"))
        for w in (self.preset, self.target, self.model, self.seed, self.threshold):
            w.setEnabled(not running)
        self.state_changed.emit(state)

    # --------------------------------------------------------------- progress
    def _on_progress(self, ev: Progress) -> None:
        if ev.stage == "loading":
            self.message.setText(ev.message or "Loading the model…")
            return
        d = ev.data or {}
        if self.state == "loading":
            self._set_state("running")
            self.message.setText("Running…")
        self.run_id = d.get("run_id", self.run_id)
        accepted = int(d.get("accepted", ev.done) or 0)
        if accepted > self._accepted_seen:
            self._accepted_seen = accepted
            self.tasks_added.emit(accepted)
        target = int(ev.total or self._target_hint or 0)
        self.figures["accepted"].setText(f"{accepted} / {target}" if target else str(accepted))
        if "candidates" in d:
            self.figures["candidates"].setText(f"{d['candidates']:,}")
        if d.get("acceptance_rate") is not None:
            # Of the candidates the filters decided (pending ones not yet counted).
            rate = f"{100 * float(d['acceptance_rate']):.0f} %"
            examined = d.get("examined")
            self.figures["rate"].setText(rate if examined is None else f"{rate} of {examined:,}")
        tps = d.get("tokens_per_s")
        if tps is not None:
            self.figures["tps"].setText(f"{float(tps):,.1f}")
            self.rate_changed.emit(float(tps))
        if target:
            self.bar.setValue(int(100 * min(1.0, accepted / target)))
        # ETA from this session's pace (a resumed run starts with tasks already accepted).
        now = time.monotonic()
        if self._first_accepted is None:
            self._first_accepted = (now, accepted)
        t0, a0 = self._first_accepted
        if target and accepted > a0 and now > t0:
            per_task = (now - t0) / (accepted - a0)
            self.figures["eta"].setText(_eta(per_task * (target - accepted)))
        if ev.message:
            self.message.setText(ev.message)
        if d.get("in_flight") is not None:  # requests open on a server (issue 17)
            eps = f" · {d['endpoints']}" if d.get("endpoints") else ""  # several endpoints
            self.message.setText(
                f"{self.message.text().split(' · ')[0]} · {d['in_flight']} requests in flight{eps}"
            )
        for item in d.get("last") or []:
            self._add_feed(item)

    def _add_feed(self, item: dict[str, Any]) -> None:
        instruction = str(item.get("instruction", ""))
        decision = str(item.get("decision", ""))
        key = (instruction, decision)
        if key in self._seen_feed:  # `last` repeats recent candidates from event to event
            return
        self._seen_feed.add(key)
        self.feed.insertRow(0)
        cells = [instruction.replace("\n", " "), decision, str(item.get("reason") or "")]
        for col, text in enumerate(cells):
            cell = QTableWidgetItem(text)
            cell.setToolTip(instruction if col == 0 else text)
            if col == 1 and status_color(decision):
                cell.setForeground(QColor(status_color(decision)))
            self.feed.setItem(0, col, cell)
        while self.feed.rowCount() > FEED_MAX:
            self.feed.removeRow(self.feed.rowCount() - 1)

    def refill_feed(self) -> None:
        """Empty the feed; for a resumed run (`run_id` set), show again the run's last
        FEED_MAX decided candidates from the workspace, as the feed showed them before, so
        that the new ones follow on rather than replacing them."""
        self.feed.setRowCount(0)
        self._seen_feed.clear()
        if self.run_id is None:
            return
        for item in reversed(latest_decided(self.ws, self.run_id, FEED_MAX)):
            self._add_feed(item)

    def feed_rows(self) -> list[tuple[str, str, str]]:
        return [
            tuple(self.feed.item(r, c).text() for c in range(3))  # type: ignore[misc]
            for r in range(self.feed.rowCount())
        ]

    # --------------------------------------------------------------- endings
    def _finish(self, state: str, text: str) -> None:
        self.job = None
        self._set_state(state)
        self.message.setText(text)
        self.rate_changed.emit(0.0)
        self.run_ended.emit()
        self.check_resumable()

    def _on_done(self, summary: Any) -> None:
        self.run_id = getattr(summary, "run_id", self.run_id)
        secs = getattr(summary, "seconds", time.monotonic() - self._started)
        accepted = getattr(summary, "accepted", None)
        if accepted is not None:  # the summary is the final word; else the last event stands
            target = self._target_hint
            self.figures["accepted"].setText(f"{accepted} / {target}" if target else str(accepted))
            if target:
                self.bar.setValue(int(100 * min(1.0, accepted / target)))
        which = f"Run {self.run_id}" if self.run_id is not None else "The run"
        got = self.figures["accepted"].text().split(" / ")[0]
        cands = getattr(summary, "candidates", None)
        of = f" of {cands:,} candidates" if isinstance(cands, int) else ""
        self._finish("finished", f"{which} finished: {got} accepted{of} in {secs:,.0f} s.")

    def _on_cancelled(self) -> None:
        which = f"Run {self.run_id}" if self.run_id is not None else "The run"
        self._finish(
            "cancelled", f"{which} was cancelled; what it accepted is saved and it can be resumed."
        )

    def _on_failed(self, message: str) -> None:
        self._finish("failed", "The run stopped with an error (see the message above).")
        self.error.emit(message)
