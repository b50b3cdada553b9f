"""Small charts drawn with QPainter (no QtCharts): a histogram with a threshold line, and
horizontal bars with labels. They only draw what the core computed."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .theme import status_color


class HistogramChart(QWidget):
    """Bars for `counts` over `edges`; a vertical line at `threshold`; bars above it tinted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts: list[int] = []
        self.edges: list[float] = []
        self.threshold: float | None = None
        self.title = ""
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, 200)

    def set_data(self, counts: list[int], edges: list[float], title: str = "") -> None:
        self.counts, self.edges, self.title = list(counts), list(edges), title
        self.update()

    def set_threshold(self, t: float | None) -> None:
        self.threshold = t
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        fm = p.fontMetrics()
        left, bottom, top, right = 36, fm.height() + 8, fm.height() + 6, 10
        plot = QRectF(
            left, top, max(10, self.width() - left - right), max(10, self.height() - top - bottom)
        )
        p.setPen(pal.text().color())
        p.drawText(QRectF(0, 0, self.width(), top), Qt.AlignmentFlag.AlignCenter, self.title)
        p.drawLine(plot.bottomLeft(), plot.bottomRight())
        if not self.counts or len(self.edges) != len(self.counts) + 1:
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No scores yet")
            return
        lo, hi = self.edges[0], self.edges[-1]
        span = (hi - lo) or 1.0
        peak = max(self.counts) or 1
        keep, drop = QColor(status_color("kept")), QColor(status_color("dropped"))
        for i, c in enumerate(self.counts):
            x0 = plot.left() + (self.edges[i] - lo) / span * plot.width()
            x1 = plot.left() + (self.edges[i + 1] - lo) / span * plot.width()
            h = c / peak * plot.height()
            over = self.threshold is not None and self.edges[i] >= self.threshold
            color = QColor(drop if over else keep)
            color.setAlpha(170)
            p.fillRect(QRectF(x0 + 1, plot.bottom() - h, max(1.0, x1 - x0 - 2), h), color)
        for v in (lo, (lo + hi) / 2, hi):
            x = plot.left() + (v - lo) / span * plot.width()
            p.drawText(
                QRectF(x - 20, plot.bottom() + 2, 40, fm.height()),
                Qt.AlignmentFlag.AlignCenter,
                f"{v:g}",
            )
        p.drawText(
            QRectF(0, plot.top() - fm.height() / 2, left - 4, fm.height()),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            str(peak),
        )
        if self.threshold is not None:
            x = plot.left() + (self.threshold - lo) / span * plot.width()
            p.setPen(QPen(pal.highlight().color(), 2, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            p.drawText(
                QPointF(min(x + 4, plot.right() - 60), plot.top() + fm.ascent()),
                f"t = {self.threshold:.2f}",
            )


class BarChart(QWidget):
    """Horizontal bars: one labelled row per (label, value)."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.items: list[tuple[str, float]] = []
        self.setMinimumHeight(120)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(260, 220)

    def set_items(self, items: list[tuple[str, float]]) -> None:
        self.items = list(items)
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        fm = p.fontMetrics()
        p.setPen(pal.text().color())
        p.drawText(
            QRectF(0, 0, self.width(), fm.height() + 4), Qt.AlignmentFlag.AlignCenter, self.title
        )
        if not self.items:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No data")
            return
        top = fm.height() + 8
        widest = max(fm.horizontalAdvance(str(k)) for k, _ in self.items)
        label_w = min(self.width() // 3, widest + 8)
        row_h = max(4.0, min(fm.height() + 4.0, (self.height() - top) / len(self.items)))
        peak = max(v for _, v in self.items) or 1
        bar_w = self.width() - label_w - 40
        color = QColor(pal.highlight().color())
        for i, (k, v) in enumerate(self.items):
            y = top + i * row_h
            p.drawText(
                QRectF(0, y, label_w - 4, row_h),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                str(k),
            )
            w = v / peak * bar_w
            p.fillRect(QRectF(label_w, y + 2, max(1.0, w), row_h - 4), color)
            p.drawText(
                QRectF(label_w + w + 4, y, 40, row_h), Qt.AlignmentFlag.AlignVCenter, f"{v:g}"
            )
