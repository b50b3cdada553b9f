"""The form for one task: instruction, classification flag, ordered instances (examples), and
every field of the selected example (`ExampleEditor`: kind, answers, label, weights, system
prompt, earlier turns, tools, meta).

Every change is validated as it is typed and, when valid, pushed to the undo stack as a
command that writes to the workspace at once; there is no Save button to forget.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.store.tasks import Instance, Task, find_duplicate, get_task
from ..core.store.workspace import Workspace
from .example_editor import ExampleEditor
from .theme import status_color
from .undo_commands import SetFieldCommand, SetInstancesCommand, _short


def _copies(instances: list[Instance]) -> list[Instance]:
    """Deep copies: an example's history, tools and meta are lists and dicts of its own."""
    return [copy.deepcopy(i) for i in instances]


class _UndoKeysToStack(QObject):
    """Lets Ctrl+Z / Ctrl+Shift+Z reach the window's undo actions from inside a text editor.

    A text editor claims those keys for its own history (ShortcutOverride); ours is the
    QUndoStack, so the claim is refused and the application shortcut fires instead.
    """

    KEYS = (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo)
    EXTRA = (QKeySequence("Ctrl+Z"), QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y"))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            combo = QKeySequence(event.keyCombination())
            if any(event.matches(k) for k in self.KEYS) or combo in self.EXTRA:
                event.ignore()
                return True
        return False


_CLF_CHOICES = [("Unknown", None), ("Classification", True), ("Not classification", False)]


class TaskForm(QWidget):
    """Edits the task `load()` was given. `notify(task_id)` is passed to every command."""

    validity_changed = Signal(bool)

    def __init__(
        self,
        ws: Workspace,
        stack: QUndoStack,
        notify: Callable[[int], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws, self.stack, self.notify = ws, stack, notify
        self.task: Task | None = None
        self._loading = False
        self.applying = False  # True while this form pushes a command (no reload needed)

        self.header = QLabel("No task selected")
        self.header.setObjectName("panelTitle")
        self.instruction = QPlainTextEdit()
        self.instruction.setPlaceholderText("What the model is asked to do…")
        # The QUndoStack is the one history; the editor's own would fight it for Ctrl+Z.
        self.instruction.setUndoRedoEnabled(False)
        self.instruction.setTabChangesFocus(True)
        self.instruction.setMaximumHeight(120)
        self.instruction_msg = QLabel()
        self.instruction_msg.setWordWrap(True)
        self.classification = QComboBox()
        for label, _ in _CLF_CHOICES:
            self.classification.addItem(label)

        self.instances = QListWidget()
        self.instances.setObjectName("instances")
        self.instances.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.add_btn = QPushButton("Add")
        self.remove_btn = QPushButton("Remove")
        self.up_btn = QPushButton("Up")
        self.down_btn = QPushButton("Down")
        self.add_btn.setToolTip("Add an instance (Ctrl+Shift+I)")
        self.remove_btn.setToolTip("Remove the selected instance (undo brings it back)")
        self.up_btn.setToolTip("Move the selected instance earlier")
        self.down_btn.setToolTip("Move the selected instance later")
        self.example = ExampleEditor()
        self.input, self.output = self.example.input, self.example.output
        self._undo_keys = _UndoKeysToStack(self)
        for w in (
            self.instruction,
            *self.example.text_editors(),
            self.example.weight,
            self.example.turn_weight,
            self.example.role.lineEdit(),
        ):
            w.installEventFilter(self._undo_keys)
        self.instruction.setTabChangesFocus(True)
        self.instances_msg = QLabel()
        self.instances_msg.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Instruction", self.instruction)
        form.addRow("", self.instruction_msg)
        form.addRow("Type", self.classification)

        buttons = QHBoxLayout()
        for b in (self.add_btn, self.remove_btn, self.up_btn, self.down_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        inst_left = QWidget()
        ll = QVBoxLayout(inst_left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("Instances"))
        ll.addWidget(self.instances, 1)
        ll.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(inst_left)
        split.addWidget(self.example)
        split.setStretchFactor(1, 3)
        split.setSizes([110, 440])  # the example's fields get the room
        split.setChildrenCollapsible(False)

        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addLayout(form)
        lay.addWidget(split, 1)
        lay.addWidget(self.instances_msg)

        self.instruction.textChanged.connect(self._instruction_edited)
        self.classification.currentIndexChanged.connect(self._classification_edited)
        self._shown_row = -1  # the example the editor shows (its edits go there)
        self.instances.currentRowChanged.connect(self._instance_selected)
        self.example.edited.connect(self._example_edited)
        self.add_btn.clicked.connect(self.add_instance)
        self.remove_btn.clicked.connect(self.remove_instance)
        self.up_btn.clicked.connect(lambda: self.move_instance(-1))
        self.down_btn.clicked.connect(lambda: self.move_instance(+1))
        self.load(None)

    # ----------------------------------------------------------------- loading
    def load(self, task_id: int | None, *, keep_instance: bool = False) -> None:
        row = self.instances.currentRow() if keep_instance else 0
        self.task = get_task(self.ws, task_id) if task_id is not None else None
        self._loading = True
        try:
            t = self.task
            self.setEnabled(t is not None)
            if t is None:
                self.header.setText("No task selected")
                self.instruction.setPlainText("")
                self.instances.clear()
                self.example.show_example(None)
                self._message(self.instruction_msg, "", "")
                self._message(self.instances_msg, "", "")
                return
            where = f" · run {t.run_id}" if t.run_id is not None else ""
            name = f" · {t.name}" if t.name else ""
            self.header.setText(f"Task {t.id} · {t.source}{where}{name}")
            if self.instruction.toPlainText() != t.instruction:
                self.instruction.setPlainText(t.instruction)
            self.classification.setCurrentIndex(
                [v for _, v in _CLF_CHOICES].index(t.is_classification)
            )
            self._fill_instances(min(row, len(t.instances) - 1) if t.instances else -1)
        finally:
            self._loading = False
        self._validate_instruction(self.instruction.toPlainText())
        self._validate_instances()

    def reload_if(self, task_id: int) -> None:
        """Called after any command wrote `task_id`: re-read it unless this form just wrote it."""
        if self.task is not None and self.task.id == task_id and not self.applying:
            self.load(task_id, keep_instance=True)

    def _fill_instances(self, select: int) -> None:
        assert self.task is not None
        # Quiet while refilled: an empty list in between would disable the example editor and
        # take the keyboard focus from the field an undo just restored.
        self.instances.blockSignals(True)
        try:
            self.instances.clear()
            for i, inst in enumerate(self.task.instances):
                self.instances.addItem(QListWidgetItem(self._instance_label(i, inst)))
            self._color_instances()
            if select >= 0:
                self.instances.setCurrentRow(select)
        finally:
            self.instances.blockSignals(False)
        self._show_instance(self.instances.currentRow())

    @staticmethod
    def _instance_label(i: int, inst: Instance) -> str:
        left = _short(inst.input, 28) if inst.input.strip() else "(no input)"
        right = _short(inst.output, 40) if inst.output.strip() else "(no output)"
        tags = []
        if inst.kind == "preference":
            tags.append("pair")
        elif inst.kind == "kto":
            tags.append({True: "KTO +", False: "KTO −", None: "KTO ?"}[inst.label])
        if inst.history:
            tags.append(f"{len(inst.history)} turns")
        if inst.tools is not None:
            tags.append("tools")
        tag = f"  [{', '.join(tags)}]" if tags else ""
        return f"{i + 1}.  {left}  →  {right}{tag}"

    def may_leave(self) -> bool:
        """Before another task is shown: the example editor's `leave()` (asks about text that
        is not saved, removes an added turn left empty). False: stay on this task."""
        return self.task is None or self.example.leave()

    def _instance_selected(self, row: int) -> None:
        if not self._loading and row != self._shown_row and not self.example.leave():
            self.instances.blockSignals(True)  # Keep editing: back to the example shown
            self.instances.setCurrentRow(self._shown_row)
            self.instances.blockSignals(False)
            return
        self._show_instance(self.instances.currentRow())

    def _show_instance(self, row: int) -> None:
        was = self._loading
        self._loading = True
        try:
            has = self.task is not None and 0 <= row < len(self.task.instances)
            self._shown_row = row if has else -1
            self.example.show_example(self.task.instances[row] if has else None)  # type: ignore
            self.remove_btn.setEnabled(has)
            self.up_btn.setEnabled(has and row > 0)
            self.down_btn.setEnabled(has and row < len(self.task.instances) - 1)  # type: ignore
        finally:
            self._loading = was

    # -------------------------------------------------------------- validation
    def _message(self, label: QLabel, text: str, kind: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))
        color = status_color(kind)
        label.setStyleSheet(f"color: {color};" if color else "")

    def _validate_instruction(self, text: str) -> bool:
        if self.task is None:
            return True
        ok = bool(text.strip())
        self.instruction.setProperty("invalid", not ok)
        self.instruction.style().unpolish(self.instruction)
        self.instruction.style().polish(self.instruction)
        if not ok:
            self._message(
                self.instruction_msg,
                "An instruction cannot be empty; the last non-empty text is kept.",
                "error",
            )
        else:
            dup = find_duplicate(self.ws, text, exclude_id=self.task.id)
            if dup is not None:
                self._message(
                    self.instruction_msg,
                    f"Same instruction as task {dup}: SELF-INSTRUCT will treat them as duplicates.",
                    "warning",
                )
            else:
                self._message(self.instruction_msg, "", "")
        self.validity_changed.emit(ok)
        return ok

    def _validate_instances(self) -> None:
        if self.task is None:
            return
        missing = [i + 1 for i, inst in enumerate(self.task.instances) if not inst.output.strip()]
        if not self.task.instances:
            self._message(
                self.instances_msg,
                "No instances yet: a seed task needs at least one input/output example.",
                "warning",
            )
        elif missing:
            which = ", ".join(map(str, missing))
            self._message(self.instances_msg, f"Instance {which} has no output.", "warning")
        else:
            self._message(self.instances_msg, "", "")
        self._color_instances()

    def _color_instances(self) -> None:
        if self.task is None:
            return
        warn = QBrush(QColor(status_color("warning")))
        for i, inst in enumerate(self.task.instances):
            item = self.instances.item(i)
            if item is not None:
                item.setForeground(warn if not inst.output.strip() else QBrush())

    # ------------------------------------------------------------------ edits
    def _push(self, cmd) -> None:
        self.applying = True
        try:
            self.stack.push(cmd)
        finally:
            self.applying = False

    def _instruction_edited(self) -> None:
        if self._loading or self.task is None:
            return
        text = self.instruction.toPlainText()
        if not self._validate_instruction(text) or text == self.task.instruction:
            return
        self._push(
            SetFieldCommand(
                self.ws,
                self.task.id,
                "instruction",  # type: ignore[arg-type]
                self.task.instruction,
                text,
                self.notify,
            )
        )
        self.task.instruction = text

    def _classification_edited(self, index: int) -> None:
        if self._loading or self.task is None:
            return
        value = _CLF_CHOICES[index][1]
        if value == self.task.is_classification:
            return
        self._push(
            SetFieldCommand(
                self.ws,
                self.task.id,
                "is_classification",  # type: ignore
                self.task.is_classification,
                value,
                self.notify,
            )
        )
        self.task.is_classification = value

    def _set_instances(
        self, new: list[Instance], text: str, *, merge_key=None, select: int | None = None
    ) -> None:
        assert self.task is not None and self.task.id is not None
        old = self.task.instances
        self._push(
            SetInstancesCommand(
                self.ws, self.task.id, old, new, text, self.notify, merge_key=merge_key
            )
        )
        self.task.instances = _copies(new)
        if select is not None:
            self._loading = True
            try:
                self._fill_instances(select)
            finally:
                self._loading = False
        self._validate_instances()

    def _example_edited(self, inst: Instance, what: str, merge_key: object) -> None:
        """The example editor changed the instance it shows: one undoable command."""
        row = self._shown_row
        if self._loading or self.task is None or not 0 <= row < len(self.task.instances):
            return
        new = _copies(self.task.instances)
        new[row] = inst
        if new[row] == self.task.instances[row]:
            return
        self._set_instances(
            new,
            f"Edit instance {row + 1} {what} of task {self.task.id}",
            merge_key=None if merge_key is None else (row, merge_key),
        )
        item = self.instances.item(row)
        if item is not None:
            item.setText(self._instance_label(row, new[row]))

    def add_instance(self) -> None:
        if self.task is None or not self.example.leave():
            return
        row = self.instances.currentRow()
        # Of the kind of the selected example: a task of preference pairs gets another pair.
        kind = self.task.instances[row].kind if 0 <= row < len(self.task.instances) else "sft"
        new = _copies(self.task.instances) + [Instance("", "", kind=kind)]
        self._set_instances(new, f"Add instance to task {self.task.id}", select=len(new) - 1)
        self.example.tabs.setCurrentIndex(0)
        self.output.setFocus()

    def remove_instance(self) -> None:
        row = self.instances.currentRow()
        if self.task is None or not 0 <= row < len(self.task.instances):
            return
        new = _copies(self.task.instances)
        del new[row]
        self._set_instances(
            new, f"Remove instance {row + 1} of task {self.task.id}", select=min(row, len(new) - 1)
        )

    def move_instance(self, delta: int) -> None:
        row = self.instances.currentRow()
        if self.task is None:
            return
        to = row + delta
        if not (0 <= row < len(self.task.instances) and 0 <= to < len(self.task.instances)):
            return
        new = _copies(self.task.instances)
        new[row], new[to] = new[to], new[row]
        self._set_instances(new, f"Move instance {row + 1} of task {self.task.id}", select=to)
