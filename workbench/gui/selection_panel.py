"""Subsets: choose a small, spread-out set of tasks (k-center on TF-IDF or model embeddings),
keep it as a named selection, look through its tasks, and export it.

The work runs in a `JobThread`; the panel only draws. Every selection is stored in the
workspace by the core (`core.selection.select`), so a subset survives closing the app.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.store.workspace import Workspace
from .export_panel import export_formats
from .job_panel import JobPanel
from .workers import JobContext, JobThread

METHODS = [
    ("k-center greedy (most spread out)", "kcenter"),
    ("k-means, then k-center in each cluster", "kmeans-kcenter"),
    ("Random (baseline)", "random"),
]
EMBEDDINGS = [("TF-IDF (fast)", "tfidf"), ("Model embeddings (GGUF, slow)", "model")]
# A job that loads a model must wait for other model jobs (see MainWindow.MODEL_JOBS).
MODEL_JOB = "select-model"


class SelectionPanel(JobPanel):
    exported = Signal(str)
    cancelled_text = "Cancelled; nothing was stored."

    def __init__(
        self, ws: Workspace, start_job: Callable[[JobThread], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(ws, start_job, parent)
        title = QLabel("Subsets")
        title.setObjectName("panelTitle")

        box = QGroupBox("Choose a subset")
        form = QFormLayout(box)
        self.size_mode = QComboBox()
        self.size_mode.addItem("Number of tasks", "budget")
        self.size_mode.addItem("Fraction of the pool", "fraction")
        self.budget = QSpinBox()
        self.budget.setRange(1, 10_000_000)
        self.budget.setValue(50)
        self.fraction = QDoubleSpinBox()
        self.fraction.setRange(0.001, 1.0)
        self.fraction.setDecimals(3)
        self.fraction.setSingleStep(0.05)
        self.fraction.setValue(0.1)
        self.fraction.hide()
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_mode)
        size_row.addWidget(self.budget, 1)
        size_row.addWidget(self.fraction, 1)
        self.method = QComboBox()
        for label, value in METHODS:
            self.method.addItem(label, value)
        self.embed = QComboBox()
        for label, value in EMBEDDINGS:
            self.embed.addItem(label, value)
        self.task = QLineEdit()
        self.task.setPlaceholderText("Optional: a tag, or a task description to draw the pool near")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.name = QLineEdit()
        self.name.setPlaceholderText("Automatic (method-size-seed); an existing name is replaced")
        form.addRow("Size", size_row)
        form.addRow("Method", self.method)
        form.addRow("Embedding", self.embed)
        form.addRow("Task", self.task)
        form.addRow("Seed", self.seed)
        form.addRow("Name", self.name)
        self.choose_btn = QPushButton("Choose subset")
        self.choose_btn.setToolTip("Ctrl+Return")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        btns = QHBoxLayout()
        btns.addStretch(1)
        btns.addWidget(self.choose_btn)
        btns.addWidget(self.cancel_btn)
        form.addRow(btns)

        # Saved selections (left) and the chosen tasks of the current one (right).
        self.saved = QListWidget()
        self.saved.setObjectName("selections")
        self.members = QListWidget()
        self.members.setObjectName("selectionMembers")
        self.members.setWordWrap(True)
        self.delete_btn = QPushButton("Delete")
        self.delete_btn.setToolTip("Delete the selected subset (Del); its tasks stay")
        self.export_format = QComboBox()
        for label, fmt, _ext in export_formats():
            self.export_format.addItem(label, fmt)
        self.one_instruction = QCheckBox("One instruction wording")
        self.one_instruction.setToolTip(
            "Give every exported record the subset's most common instruction wording"
        )
        self.export_btn = QPushButton("Export…")
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("Saved subsets"))
        ll.addWidget(self.saved, 1)
        lb = QHBoxLayout()
        lb.addWidget(self.delete_btn)
        lb.addStretch(1)
        ll.addLayout(lb)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.members_label = QLabel("Tasks")
        rl.addWidget(self.members_label)
        rl.addWidget(self.members, 1)
        rb = QHBoxLayout()
        rb.addWidget(self.export_format, 1)
        rb.addWidget(self.one_instruction)
        rb.addWidget(self.export_btn)
        rl.addLayout(rb)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 2)

        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(box)
        lay.addWidget(self.bar)
        lay.addWidget(self.result)
        lay.addWidget(self.splitter, 1)

        self.size_mode.currentIndexChanged.connect(self._size_mode_changed)
        self.choose_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel_job)
        self.saved.currentRowChanged.connect(lambda _row: self._show_members())
        self.delete_btn.clicked.connect(self.delete_current)
        self.export_btn.clicked.connect(self._export_dialog)
        # Scoped to this panel (and the list): the same keys mean other things elsewhere.
        for key, owner, slot in [
            (QKeySequence("Ctrl+Return"), self, self.start),
            (QKeySequence(QKeySequence.StandardKey.Delete), self.saved, self.delete_current),
        ]:
            sc = QShortcut(key, owner)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self.reload()

    # ------------------------------------------------------------------ saved subsets
    def reload(self, select_name: str | None = None) -> None:
        from ..core.selection.select import list_selections

        current = select_name or self.current_name()
        self.saved.blockSignals(True)
        self.saved.clear()
        for row in list_selections(self.ws):
            item = QListWidgetItem(f"{row['name']} — {row['size']} tasks ({row['method']})")
            item.setData(Qt.ItemDataRole.UserRole, row["name"])
            item.setToolTip(
                f"created {row['created_at']}; max distance "
                f"{row['stats'].get('max_distance', float('nan')):.3f}"
            )
            self.saved.addItem(item)
            if row["name"] == current:
                self.saved.setCurrentItem(item)
        if self.saved.currentRow() < 0 and self.saved.count():
            self.saved.setCurrentRow(0)
        self.saved.blockSignals(False)
        self._show_members()

    def current_name(self) -> str | None:
        item = self.saved.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _show_members(self) -> None:
        from ..core.selection.select import selection_task_ids

        self.members.clear()
        name = self.current_name()
        self.delete_btn.setEnabled(name is not None)
        self.export_btn.setEnabled(name is not None)
        if name is None:
            self.members_label.setText("Tasks")
            return
        ids = selection_task_ids(self.ws, name)
        text = {
            r["id"]: r["instruction"]
            for r in self.ws.query(
                "SELECT id, instruction FROM tasks WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),),
            )
        }
        for pos, tid in enumerate(ids, 1):
            item = QListWidgetItem(f"{pos}. {text.get(tid, '(deleted task)')}")
            item.setData(Qt.ItemDataRole.UserRole, tid)
            self.members.addItem(item)
        self.members_label.setText(f"Tasks of '{name}' ({len(ids)}, in the order chosen)")

    def delete_current(self) -> None:
        from ..core.selection.select import delete_selection

        name = self.current_name()
        if name is None or self.job is not None:
            return
        delete_selection(self.ws, name)
        self.result.setText(f"Deleted the subset '{name}' (its tasks stay in the workspace).")
        self.reload()

    # ------------------------------------------------------------------ choosing
    def _size_mode_changed(self) -> None:
        by_count = self.size_mode.currentData() == "budget"
        self.budget.setVisible(by_count)
        self.fraction.setVisible(not by_count)

    def start(self) -> bool:
        if self.job is not None:
            return False
        by_count = self.size_mode.currentData() == "budget"
        kwargs: dict[str, Any] = {
            "budget": self.budget.value() if by_count else None,
            "fraction": None if by_count else self.fraction.value(),
            "method": self.method.currentData(),
            "embed": self.embed.currentData(),
            "task": self.task.text().strip() or None,
            "seed": self.seed.value(),
            "name": self.name.text().strip() or None,
        }

        def job(ctx: JobContext) -> Any:
            from ..core.selection.select import select

            return select(ctx.open_workspace(), progress=ctx.progress, cancel=ctx.cancel, **kwargs)

        name = MODEL_JOB if kwargs["embed"] == "model" else "select"
        return self.run_job(name, job, "Choosing a subset…", self._chosen)

    def _failed(self, message: str) -> None:
        # A refusal (e.g. no task matches the Task field) is told here as well as in the banner:
        # it lists the tags and sources to choose from, next to the field.
        self.finish_job(message)
        self.error.emit(message)

    def _chosen(self, res: Any) -> None:
        self.finish_job(
            f"'{res.name}': {len(res.ids)} of {res.pool} tasks ({res.method}). Distance to the "
            f"nearest chosen task: mean {res.mean_distance:.3f}, max {res.max_distance:.3f}; a "
            f"random subset of the same size: mean {res.random_mean_distance:.3f}, max "
            f"{res.random_max_distance:.3f}."
        )
        self.reload(select_name=res.name)

    # ------------------------------------------------------------------ export
    def _export_dialog(self) -> None:
        fmt = self.export_format.currentData()
        name = self.current_name()
        if name is None:
            return
        start = str(self.ws.path.parent / f"{self.ws.path.stem}-{name}-{fmt}")
        if fmt == "hf":
            path = QFileDialog.getExistingDirectory(self, "Export the subset to a folder", start)
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export the subset to", start)
        if path:
            self.export_current(Path(path))

    def export_current(self, out: Path) -> bool:
        name = self.current_name()
        if name is None:
            self.error.emit("Choose a saved subset to export.")
            return False
        fmt = self.export_format.currentData()
        one = "" if self.one_instruction.isChecked() else None

        def job(ctx: JobContext) -> Any:
            from ..core.selection.select import export_selection, selection_task_ids

            ws = ctx.open_workspace()
            return export_selection(
                ws, selection_task_ids(ws, name), out, fmt=fmt, one_instruction=one
            )

        def done(res: dict[str, Any]) -> None:
            text = f"Wrote {res['count']:,} records of '{name}' to {res['path']}."
            self.finish_job(text)
            self.exported.emit(text)

        return self.run_job("export", job, f"Exporting '{name}' to {out}…", done)

    def set_busy(self, busy: bool) -> None:
        self.choose_btn.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)
        self.export_btn.setEnabled(not busy and self.current_name() is not None)
