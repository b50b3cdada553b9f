"""Export: write instruction files from the workspace, in a worker, with progress.

A failed export is told in the panel's own banner (not the window's): it stays with this panel
when another tab is shown, and goes away when the person starts a new export or one succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.formats import registry
from ..core.formats.lossy import LossyExportError, describe
from ..core.store.tasks import list_runs
from ..core.store.workspace import Workspace
from .job_panel import JobPanel
from .workers import JobContext, JobThread

# The exporter's selections (core.formats.exporter.ONLY), named for what they select; the first,
# the default, follows the decision in force (Inspect's threshold and overrides).
ONLY_CHOICES = [
    ("Tasks not dropped in Inspect", "not-dropped"),
    ("Every task, Inspect's drops included", "including-dropped"),
    ("Verified only", "verified"),
]
PREFERRED_ORDER = [
    "alpaca",
    "openai-chat",
    "sharegpt",
    "selfinstruct-seed",
    "selfinstruct-instances",
    "dolly",
    "hf",
]


def export_formats() -> list[tuple[str, str, str]]:
    """(description, name, extension) for every format the exporter can write."""
    out = []
    for name in registry.export_formats():
        spec = registry.get(name)
        ext = "" if spec.folder else (spec.extensions[0] if spec.extensions else ".jsonl")
        out.append((spec.description, name, ext))
    rank = {n: i for i, n in enumerate(PREFERRED_ORDER)}
    return sorted(out, key=lambda t: rank.get(t[1], len(rank)))


class ExportPanel(JobPanel):
    exported = Signal(str)
    failed_text = "Export failed."
    cancelled_text = "Export cancelled; no partial file is left."

    def __init__(
        self, ws: Workspace, start_job: Callable[[JobThread], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(ws, start_job, parent)
        title = QLabel("Export")
        title.setObjectName("panelTitle")
        self.last_error = ""
        self.banner = QFrame()
        self.banner.setObjectName("errorBanner")
        bl = QHBoxLayout(self.banner)
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(self.clear_error)
        bl.addWidget(self.banner_label, 1)
        bl.addWidget(dismiss)
        self.banner.hide()
        box = QGroupBox("Instruction file")
        form = QFormLayout(box)
        self.format = QComboBox()
        self._ext: dict[str, str] = {}
        for label, fmt, ext in export_formats():
            self.format.addItem(label, fmt)
            self._ext[fmt] = ext
        self.only = QComboBox()
        for label, value in ONLY_CHOICES:
            self.only.addItem(label, value)
        self.only.setToolTip(
            "Inspect drops a task by an applied threshold or a keep/drop "
            "override; the first choice leaves those out."
        )
        self.run = QComboBox()
        self.path = QLineEdit()
        self.path.setPlaceholderText("Where to write the file")
        browse = QPushButton("Browse…")
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("Format", self.format)
        form.addRow("Tasks", self.only)
        form.addRow("Run", self.run)
        form.addRow("Output", row)
        self.export_btn = QPushButton("Export")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        btns = QHBoxLayout()
        btns.addStretch(1)
        btns.addWidget(self.export_btn)
        btns.addWidget(self.cancel_btn)
        form.addRow(btns)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.banner)
        lay.addWidget(box)
        lay.addWidget(self.bar)
        lay.addWidget(self.result)
        lay.addStretch(1)
        browse.clicked.connect(self._browse)
        self.format.currentIndexChanged.connect(self._suggest_path)
        self.export_btn.clicked.connect(lambda: self.start())
        self.cancel_btn.clicked.connect(self.cancel_job)
        self.reload()
        self._suggest_path()

    def reload(self) -> None:
        current = self.run.currentData()
        self.run.clear()
        self.run.addItem("Any run", None)
        for r in list_runs(self.ws):
            self.run.addItem(f"Run {r['id']} ({r['kind']}, {r['status']})", r["id"])
        self.run.setCurrentIndex(max(0, self.run.findData(current)))

    def _suggest_path(self) -> None:
        fmt = self.format.currentData()
        ext = self._ext.get(fmt, "")
        base = Path(self.path.text()).parent if self.path.text() else self.ws.path.parent
        self.path.setText(str(base / f"{self.ws.path.stem}-{fmt}{ext}"))

    def _browse(self) -> None:
        fmt = self.format.currentData()
        ext = self._ext.get(fmt, "")
        if fmt == "hf":
            path = QFileDialog.getExistingDirectory(self, "Export to folder", self.path.text())
        else:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export to", self.path.text(), f"*{ext};;All files (*)"
            )
        if path:
            self.path.setText(path)

    def show_error(self, message: str) -> None:
        """Tell a failed export in this panel's banner (until the next attempt or success)."""
        self.last_error = message
        self.banner_label.setText(message)
        self.banner.show()

    def clear_error(self) -> None:
        self.banner.hide()
        self.banner_label.setText("")

    def _failed(self, message: str) -> None:
        self.finish_job(self.failed_text)
        self.show_error(message)

    def start(self, lossy: bool = False) -> bool:
        self.clear_error()  # a new attempt: the last one's failure no longer stands
        if not self.path.text().strip():
            self.show_error("Choose where to write the export.")
            return False
        fmt = self.format.currentData()
        out = Path(self.path.text().strip()).expanduser()
        only, run_id = self.only.currentData(), self.run.currentData()

        def job(ctx: JobContext) -> Any:
            from ..core.formats.exporter import export
            from ..core.formats.lossy import LossyExportError

            ws = ctx.open_workspace()
            try:
                return export(
                    ws,
                    fmt,
                    out,
                    only=only,
                    run_id=run_id,
                    progress=ctx.progress,
                    cancel=ctx.cancel,
                    lossy=lossy,
                )
            except LossyExportError as exc:
                return exc  # the UI thread offers the lossy export

        return self.run_job("export", job, f"Exporting to {out}…", lambda res: self._done(res, out))

    def _offer_lossy(self, exc: Any) -> None:
        """The format cannot hold some examples' fields: say how many, offer to leave them out."""
        self.finish_job(
            f"Not exported: {exc.examples:,} of {exc.total:,} examples cannot be "
            "written whole in this format."
        )
        answer = QMessageBox.question(
            self,
            "Export leaves data out",
            f"{exc.examples:,} of {exc.total:,} examples carry what this format cannot hold: "
            f"{describe(exc.counts)}.\n\n{exc.hint or ''}\n\n"
            "Export anyway, leaving those fields out?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.start(lossy=True)

    def _done(self, res: Any, out: Path) -> None:
        if isinstance(res, LossyExportError):
            self._offer_lossy(res)
            return
        count = getattr(res, "count", None)
        if count is None and hasattr(res, "to_dict"):
            count = res.to_dict().get("count")
        where = getattr(res, "path", out)
        text = (
            f"Wrote {count:,} records to {where}." if isinstance(count, int) else f"Wrote {where}."
        )
        left_out = getattr(res, "left_out", None)
        if left_out:
            text += " Left out: " + describe(left_out) + "."
        from ..core.formats.exporter import without_examples_note

        if note := without_examples_note(getattr(res, "without_examples", 0) or 0):
            text += f" {note} (instructions only)."
        self.clear_error()
        self.finish_job(text)
        self.exported.emit(text)

    def set_busy(self, busy: bool) -> None:
        self.export_btn.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)
