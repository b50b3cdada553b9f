"""Prompt templates of SELF-INSTRUCT, edited in the app.

The built-in templates (resources/prompts/selfinstruct) are never written. Editing one saves it
into the workspace's template folder (by default `<workspace>-prompts/` beside the workspace
file), which holds only what was changed: every other template falls back to the built-in one.
The folder is a workspace setting, so runs from the window and from the CLI on this workspace
use it, and each run records it. Another folder (say, the reference's templates) can be chosen.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import WorkbenchError
from ..core.selfinstruct import prompts
from ..core.selfinstruct.prompts import TEMPLATES_SETTING
from ..core.store.workspace import Workspace


def default_folder(ws: Workspace) -> Path:
    return ws.path.with_name(f"{ws.path.stem}-prompts")


class TemplatesDialog(QDialog):
    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setWindowTitle("SELF-INSTRUCT prompt templates")
        self.resize(1000, 640)
        self.keys = list(prompts.TEMPLATE_FILES)
        self.folder_label = QLabel()
        self.folder_label.setWordWrap(True)
        self.choose_btn = QPushButton("Use another folder…")
        self.builtin_btn = QPushButton("Use the built-in templates")
        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.choose_btn)
        top.addWidget(self.builtin_btn)
        self.list = QListWidget()
        self.list.addItems([prompts.TEMPLATE_TITLES[k] for k in self.keys])
        self.list.setFixedWidth(340)
        self.list.setWordWrap(True)
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("templateEditor")
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.save_btn = QPushButton("Save")
        self.save_btn.setToolTip("Ctrl+S")
        self.revert_btn = QPushButton("Revert")
        self.reset_btn = QPushButton("Reset to built-in")
        self.close_btn = QPushButton("Close")
        row = QHBoxLayout()
        row.addWidget(self.reset_btn)
        row.addStretch(1)
        row.addWidget(self.revert_btn)
        row.addWidget(self.save_btn)
        row.addWidget(self.close_btn)
        right = QVBoxLayout()
        right.addWidget(self.source)
        right.addWidget(self.editor, 1)
        right.addLayout(row)
        mid = QHBoxLayout()
        mid.addWidget(self.list)
        mid.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(mid, 1)
        self.list.currentRowChanged.connect(self._switch)
        self.editor.modificationChanged.connect(lambda _m: self._update_buttons())
        self.save_btn.clicked.connect(self.save)
        self.revert_btn.clicked.connect(lambda: self._load(self.key))
        self.reset_btn.clicked.connect(self.reset)
        self.choose_btn.clicked.connect(self._choose_folder)
        self.builtin_btn.clicked.connect(lambda: self.set_folder(None))
        self.close_btn.clicked.connect(self.close)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        self.key = self.keys[0]
        self._shown_row = 0
        self._builtin_shown = True
        self._refresh_folder()
        self.list.blockSignals(True)
        self.list.setCurrentRow(0)
        self.list.blockSignals(False)
        self._load(self.key)

    # ------------------------------------------------------------------ state
    @property
    def folder(self) -> Path | None:
        value = self.ws.get_setting(TEMPLATES_SETTING)
        return Path(value) if value else None

    def set_folder(self, folder: Path | None) -> bool:
        if not self._settle():
            return False
        if folder is not None and not folder.is_dir():
            QMessageBox.warning(self, "Templates", f"{folder}: no such folder.")
            return False
        self.ws.set_setting(TEMPLATES_SETTING, str(folder) if folder else None)
        self._refresh_folder()
        self._load(self.key)
        return True

    def _refresh_folder(self) -> None:
        f = self.folder
        self.folder_label.setText(
            f"Templates: <b>{f}</b> (what it lacks comes from the built-in set)"
            if f
            else "Templates: <b>built-in</b>. Saving an edit creates "
            f"<b>{default_folder(self.ws)}</b> for this workspace."
        )
        self.builtin_btn.setEnabled(f is not None)

    def _switch(self, row: int) -> None:
        if row == self._shown_row and self.key == self.keys[row]:
            return
        if not self._settle():
            # Back to the template being edited, once the list has finished this change.
            QTimer.singleShot(0, self._reselect_shown)
            return
        self._shown_row = row
        self._load(self.keys[row])

    def _reselect_shown(self) -> None:
        self.list.blockSignals(True)
        self.list.setCurrentRow(self._shown_row)
        self.list.blockSignals(False)

    def _load(self, key: str) -> None:
        self.key = key
        try:
            t = prompts.Templates.load(self.folder)
        except WorkbenchError as exc:
            QMessageBox.warning(self, "Templates", str(exc))
            t = prompts.Templates.load(None)
        self.editor.setPlainText(getattr(t, key))
        self.editor.document().setModified(False)
        src = Path(t.sources[key])
        builtin = src.parent == prompts.default_templates_dir()
        self.source.setText(f"{'Built-in' if builtin else 'Yours'}: {src}")
        self._builtin_shown = builtin
        self._update_buttons()

    def _update_buttons(self) -> None:
        modified = self.editor.document().isModified()
        self.save_btn.setEnabled(modified)
        self.revert_btn.setEnabled(modified)
        self.reset_btn.setEnabled(not self._builtin_shown and self.folder is not None)
        self.setWindowTitle("SELF-INSTRUCT prompt templates" + (" *" if modified else ""))

    # ------------------------------------------------------------------ actions
    def save(self) -> bool:
        if not self.editor.document().isModified():
            return True
        folder = self.folder or default_folder(self.ws)
        try:
            prompts.save_template(folder, self.key, self.editor.toPlainText())
        except (WorkbenchError, OSError) as exc:
            QMessageBox.warning(self, "Templates", f"Not saved: {exc}")
            return False
        if self.folder is None:
            self.ws.set_setting(TEMPLATES_SETTING, str(folder))
            self._refresh_folder()
        self._load(self.key)
        return True

    def reset(self) -> None:
        if self.folder is None:
            return
        prompts.reset_template(self.folder, self.key)
        self._load(self.key)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Template folder", str(self.folder or self.ws.path.parent)
        )
        if path:
            self.set_folder(Path(path))

    def _settle(self) -> bool:
        """Unsaved edits: ask to save or discard them. False: the person cancelled."""
        if not self.editor.document().isModified():
            return True
        title = prompts.TEMPLATE_TITLES[self.key]
        answer = QMessageBox.question(
            self,
            "Unsaved template",
            f"Save your changes to “{title}”?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._settle():
            super().closeEvent(event)  # rejects: `finished` tells the Generate panel
        else:
            event.ignore()
