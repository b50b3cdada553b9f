"""The task table: a Qt item model over the workspace's tasks that fetches page by page.

Only the rows a person scrolls to are read (keyset pages of `PAGE` rows by id), so opening a
workspace of 100,000 tasks costs one count and one page, and scrolling costs a page per
`PAGE` rows. The database stays the state: edits go through core functions, then the model
re-reads the one row that changed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ..core.store.tasks import TaskFilter, count_filtered, task_row, task_rows
from ..core.store.workspace import Workspace

PAGE = 256
# Short headers keep the narrow columns narrow; the header's tooltip gives the full name.
COLUMNS = ("#", "Instruction", "Source", "Class.", "Inst.", "Run")
COLUMN_TIPS = (
    "Task id",
    "The instruction (the form shows the whole text)",
    "Where the task came from: seed, generated or imported",
    "Classification task: yes, no or ? (not known)",
    "Instances: the task's input/output examples",
    "The run that generated the task",
)
# The widest text each column shows in practice: the view sizes columns from these rather than
# measuring rows, which would read every row of a 100,000-task pool.
COLUMN_SAMPLES = ("00000", "", "generated", "yes", "000", "run 0000")
_CLF = {None: "?", 1: "yes", 0: "no"}

Index = QModelIndex | QPersistentModelIndex


class TaskTableModel(QAbstractTableModel):
    def __init__(self, ws: Workspace, parent: Any = None) -> None:
        super().__init__(parent)
        self._ws = ws
        self._filter = TaskFilter()
        self._rows: list[dict[str, Any]] = []
        self._row_of: dict[int, int] = {}
        self._total = 0
        self._exhausted = False
        self.reload()

    # ------------------------------------------------------------------ state
    @property
    def total(self) -> int:
        """How many tasks match the filter (not how many are loaded)."""
        return self._total

    @property
    def task_filter(self) -> TaskFilter:
        return self._filter

    def set_filter(self, flt: TaskFilter) -> None:
        self._filter = flt
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._row_of = {}
        self._exhausted = False
        self._total = count_filtered(self._ws, self._filter)
        self._fetch_page()
        self.endResetModel()

    def _fetch_page(self) -> list[dict[str, Any]]:
        after = self._rows[-1]["id"] if self._rows else 0
        page = task_rows(self._ws, self._filter, after_id=after, limit=PAGE)
        if len(page) < PAGE:
            self._exhausted = True
        for r in page:
            self._row_of[r["id"]] = len(self._rows)
            self._rows.append(r)
        return page

    # ----------------------------------------------------------- lazy loading
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid() or self._exhausted:
            return
        after = self._rows[-1]["id"] if self._rows else 0
        page = task_rows(self._ws, self._filter, after_id=after, limit=PAGE)
        if len(page) < PAGE:
            self._exhausted = True
        if not page:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        for r in page:
            self._row_of[r["id"]] = len(self._rows)
            self._rows.append(r)
        self.endInsertRows()

    # -------------------------------------------------------------- item model
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return r["id"]
            if col == 1:
                # One line in the table; the form shows the whole text.
                text = r["instruction"]
                return text if "\n" not in text else text.replace("\n", " ⏎ ")
            if col == 2:
                return r["source"]
            if col == 3:
                return _CLF[r["is_classification"]]
            if col == 4:
                return r["n_instances"]
            if col == 5:
                return "" if r["run_id"] is None else f"run {r['run_id']}"
        elif role == Qt.ItemDataRole.ToolTipRole and col == 1:
            return r["instruction"][:2000]
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif role == Qt.ItemDataRole.UserRole:
            return r["id"]
        return None

    # ------------------------------------------------------------- lookups
    def task_id_at(self, row: int) -> int | None:
        return self._rows[row]["id"] if 0 <= row < len(self._rows) else None

    def row_of(self, task_id: int) -> int | None:
        return self._row_of.get(task_id)

    def find_row(self, task_id: int) -> int | None:
        """The row of a task, fetching pages up to it (ids are in order) if it matches."""
        row = self._row_of.get(task_id)
        while row is None and self.canFetchMore() and self._rows and self._rows[-1]["id"] < task_id:
            self.fetchMore()
            row = self._row_of.get(task_id)
        return row

    def refresh_task(self, task_id: int) -> None:
        """Re-read one task after an edit (or an undo) changed it."""
        row = self._row_of.get(task_id)
        if row is None:
            return
        fresh = task_row(self._ws, task_id)
        if fresh is None:
            return
        self._rows[row] = fresh
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
