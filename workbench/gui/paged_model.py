"""A read-only table model over any paginated core query (rows are dicts), fetched lazily."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

Index = QModelIndex | QPersistentModelIndex
# (rows already loaded, the last of them or None, limit) -> the next rows. Keyset queries use
# the last row's id; queries without a stable key use the count as an offset.
FetchPage = Callable[[int, dict[str, Any] | None, int], list[dict[str, Any]]]
Column = tuple[str, Callable[[dict[str, Any]], Any]]


class PagedTableModel(QAbstractTableModel):
    PAGE = 256

    def __init__(
        self,
        columns: list[Column],
        parent: Any = None,
        color: Callable[[dict[str, Any], int], str | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = columns
        self._fetch: FetchPage | None = None
        self._rows: list[dict[str, Any]] = []
        self._exhausted = True
        self._color = color

    def set_source(self, fetch: FetchPage | None) -> None:
        self.beginResetModel()
        self._fetch = fetch
        self._rows = []
        self._exhausted = fetch is None
        self.endResetModel()
        if self.canFetchMore():
            self.fetchMore()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid() or self._exhausted or self._fetch is None:
            return
        page = self._fetch(len(self._rows), self._rows[-1] if self._rows else None, self.PAGE)
        self._exhausted = len(page) < self.PAGE
        if page:
            n = len(self._rows)
            self.beginInsertRows(QModelIndex(), n, n + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()

    def row(self, i: int) -> dict[str, Any]:
        return self._rows[i]

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = self.columns[index.column()][1](r)
            return "" if value is None else value
        if role == Qt.ItemDataRole.ToolTipRole:
            value = self.columns[index.column()][1](r)
            return None if value is None else str(value)[:2000]
        if role == Qt.ItemDataRole.ForegroundRole and self._color is not None:
            c = self._color(r, index.column())
            return QColor(c) if c else None
        return None
