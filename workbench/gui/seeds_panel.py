"""Seeds: the task pool as a lazily fetched table, filters, and the form for the current task."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core.store.tasks import Task, TaskFilter, count_tasks, list_runs
from ..core.store.workspace import Workspace
from .task_form import TaskForm
from .task_model import TaskTableModel
from .undo_commands import AddTaskCommand, DeleteTaskCommand

SEARCH_DEBOUNCE_MS = 200


class SeedsPanel(QWidget):
    counts_changed = Signal()

    def __init__(self, ws: Workspace, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.stack = ws, stack

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search instructions… (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.source = QComboBox()
        for label, value in [
            ("All sources", None),
            ("Seed", "seed"),
            ("Generated", "generated"),
            ("Imported", "imported"),
        ]:
            self.source.addItem(label, value)
        self.clf = QComboBox()
        for label, value in [
            ("Any type", None),
            ("Classification", "yes"),
            ("Not classification", "no"),
            ("Type unknown", "unknown"),
        ]:
            self.clf.addItem(label, value)
        self.run = QComboBox()
        self.refresh_runs()
        self.count_label = QLabel()
        self.new_btn = QPushButton("New task")
        self.new_btn.setToolTip("Add an empty task (Ctrl+N)")
        self.delete_btn = QPushButton("Delete")
        self.delete_btn.setToolTip("Delete the selected task (Del); Undo brings it back")

        bar = QHBoxLayout()
        bar.addWidget(self.search, 2)
        bar.addWidget(self.source)
        bar.addWidget(self.clf)
        bar.addWidget(self.run)
        bar.addWidget(self.new_btn)
        bar.addWidget(self.delete_btn)

        self.model = TaskTableModel(ws, self)
        self.table = QTableView()
        self.table.setObjectName("taskTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        # Fixed row heights and no content-based sizing: the view never measures every row,
        # which is what keeps 100,000 rows smooth.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in [(0, 60), (2, 80), (3, 100), (4, 75), (5, 60)]:
            header.resizeSection(col, width)

        self.form = TaskForm(ws, stack, self._task_changed)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(bar)
        ll.addWidget(self.table, 1)
        ll.addWidget(self.count_label)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("seedsSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.form)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(self.splitter)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(self._debounce.start)
        for combo in (self.source, self.clf, self.run):
            combo.currentIndexChanged.connect(self.apply_filter)
        self._reverting = False
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.new_btn.clicked.connect(self.new_task)
        self.delete_btn.clicked.connect(self.delete_current)
        self._update_count()
        if self.model.rowCount():
            self.select_task(self.model.task_id_at(0))

    # ----------------------------------------------------------------- filters
    def refresh_runs(self) -> None:
        current = self.run.currentData()
        self.run.blockSignals(True)
        self.run.clear()
        self.run.addItem("Any run", None)
        for r in list_runs(self.ws):
            self.run.addItem(f"Run {r['id']} ({r['kind']}, {r['status']})", r["id"])
        idx = self.run.findData(current)
        self.run.setCurrentIndex(max(idx, 0))
        self.run.blockSignals(False)

    def current_filter(self) -> TaskFilter:
        return TaskFilter(
            text=self.search.text(),
            source=self.source.currentData(),
            classification=self.clf.currentData(),
            run_id=self.run.currentData(),
        )

    def apply_filter(self) -> None:
        self._debounce.stop()
        keep = self.current_task_id()
        self.model.set_filter(self.current_filter())
        self._update_count()
        row = self.model.row_of(keep) if keep is not None else None
        if row is None and self.model.rowCount():
            row = 0
        if row is not None:
            self.select_task(self.model.task_id_at(row))
        else:
            self.form.load(None)

    def _update_count(self) -> None:
        total = count_tasks(self.ws)
        shown = self.model.total
        self.count_label.setText(
            f"{shown:,} of {total:,} tasks" if shown != total else f"{total:,} tasks"
        )
        self.counts_changed.emit()

    def reload(self) -> None:
        """Everything may have changed (an import, a run): read the pool again."""
        self.refresh_runs()
        self.apply_filter()

    # --------------------------------------------------------------- selection
    def current_task_id(self) -> int | None:
        idx = self.table.currentIndex()
        return self.model.task_id_at(idx.row()) if idx.isValid() else None

    def select_task(self, task_id: int | None) -> bool:
        if task_id is None:
            return False
        row = self.model.find_row(task_id)
        if row is None:
            return False
        index = self.model.index(row, 1)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)
        return True

    def _current_changed(self, current, previous) -> None:
        if self._reverting:
            return
        task_id = self.model.task_id_at(current.row()) if current.isValid() else None
        shown = self.form.task.id if self.form.task is not None else None
        if previous.isValid() and task_id != shown and not self.form.may_leave():
            self._reverting = True  # Keep editing: back to the task shown
            try:
                self.table.selectionModel().setCurrentIndex(
                    previous,
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
            finally:
                self._reverting = False
            return
        self.form.load(task_id)

    # ------------------------------------------------------------------- edits
    def _task_changed(self, task_id: int) -> None:
        """Every command calls this after writing: the table row and the form re-read."""
        self.model.refresh_task(task_id)
        if self.form.applying:
            return
        if self.current_task_id() != task_id:
            self.select_task(task_id)  # show what an undo changed
        self.form.reload_if(task_id)

    def _task_added(self, task_id: int) -> None:
        self.model.reload()
        self._update_count()
        if not self.select_task(task_id):
            # A filter hides it: clear the filters rather than add a task the user cannot see.
            for combo in (self.source, self.clf, self.run):
                combo.blockSignals(True)
                combo.setCurrentIndex(0)
                combo.blockSignals(False)
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.model.set_filter(self.current_filter())
            self._update_count()
            self.select_task(task_id)

    def _task_removed(self, task_id: int) -> None:
        row = self.model.row_of(task_id)
        self.model.reload()
        self._update_count()
        if self.model.rowCount():
            row = min(row or 0, self.model.rowCount() - 1)
            while row >= self.model.rowCount() and self.model.canFetchMore():
                self.model.fetchMore()
            self.select_task(self.model.task_id_at(row))
        else:
            self.form.load(None)

    def new_task(self) -> None:
        task = Task(
            instruction="New task: describe what the model should do.",
            source="seed",
            origin="editor",
        )
        self.stack.push(AddTaskCommand(self.ws, task, self._task_added, self._task_removed))
        self.form.instruction.setFocus()
        self.form.instruction.selectAll()

    def delete_current(self) -> None:
        task_id = self.current_task_id()
        if task_id is not None:
            self.stack.push(
                DeleteTaskCommand(self.ws, task_id, self._task_added, self._task_removed)
            )
