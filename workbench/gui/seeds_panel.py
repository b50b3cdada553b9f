"""Seeds: the task pool as a lazily fetched table, filters, and the form for the current task."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, Qt, QTimer, Signal
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
from .task_model import COLUMN_SAMPLES, COLUMNS, TaskTableModel
from .undo_commands import AddTaskCommand, DeleteTaskCommand

SEARCH_DEBOUNCE_MS = 200
INSTRUCTION_COLUMN = 1
# The instruction column keeps room for at least this many characters: when the table is
# narrower than that plus the other columns, these columns hide, first to last (the form shows
# the same facts for the current task), and come back when the table widens.
MIN_INSTRUCTION_CHARS = 40
NARROW_HIDE_ORDER = (5, 4, 2, 3)


class SeedsPanel(QWidget):
    counts_changed = Signal()

    def __init__(self, ws: Workspace, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.stack = ws, stack

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search instructions… (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        # Room for the placeholder's first word and a few typed characters, even when narrow.
        self.search.setMinimumWidth(
            self.fontMetrics().horizontalAdvance("Search instructions") + 40
        )
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

        # Two rows, so the filters never squeeze the search box (or the table) when narrow:
        # the search and the buttons, then the filters sharing the width.
        bar = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.new_btn)
        top.addWidget(self.delete_btn)
        filters = QHBoxLayout()
        for combo in (self.source, self.clf, self.run):
            # Long run labels must not set the panel's minimum width; the popup shows them whole.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(6)
            filters.addWidget(combo, 1)
        bar.addLayout(top)
        bar.addLayout(filters)

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
        # The instruction takes the stretch; the others are as wide as their header or the widest
        # text they show (from samples, not by measuring rows), and a person can still drag them.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(INSTRUCTION_COLUMN, QHeaderView.ResizeMode.Stretch)
        fm = self.table.fontMetrics()
        pad = 2 * self.style().pixelMetric(self.style().PixelMetric.PM_HeaderMargin) + 12
        self._column_widths = {
            col: max(fm.horizontalAdvance(COLUMNS[col]), fm.horizontalAdvance(sample)) + pad
            for col, sample in enumerate(COLUMN_SAMPLES)
            if col != INSTRUCTION_COLUMN
        }
        for col, width in self._column_widths.items():
            header.resizeSection(col, width)
        # Measured on English prose, which is wider than the font's average character.
        sample = "Decide whether the customer review below is positive"[:MIN_INSTRUCTION_CHARS]
        self.min_instruction_width = fm.horizontalAdvance(sample) + pad
        self.table.viewport().installEventFilter(self)  # its width is what the columns share

        self.form = TaskForm(ws, stack, self._task_changed)
        # The form's own minimum (its widest tab page) would take the narrow window's width
        # from the table; it reads well down to about this width.
        self.form.setMinimumWidth(54 * self.fontMetrics().averageCharWidth())

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

    # ----------------------------------------------------------------- columns
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _fit_columns(self) -> None:
        """Hide the columns of `NARROW_HIDE_ORDER`, in order, while the instruction column
        would be narrower than `min_instruction_width` pixels; show them again as it widens."""
        header = self.table.horizontalHeader()
        available = self.table.viewport().width()

        def width(col: int) -> int:
            return header.sectionSize(col) or self._column_widths[col]

        hide: set[int] = set()
        others = sum(width(c) for c in self._column_widths)
        for col in NARROW_HIDE_ORDER:
            if available - others >= self.min_instruction_width:
                break
            hide.add(col)
            others -= width(col)
        for col in self._column_widths:
            if header.isSectionHidden(col) != (col in hide):
                header.setSectionHidden(col, col in hide)
                if col not in hide and header.sectionSize(col) == 0:
                    header.resizeSection(col, self._column_widths[col])

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
