"""The editor of one example (instance) of a task: every field the store keeps for it.

Fields (workbench/core/store/examples.py, `Instance`): kind (`sft`, `preference`, `kto`), input,
output (the chosen answer of a preference pair), rejected answer, KTO label, the answer's
training weight, the system prompt, the earlier turns of the conversation (role, text, weight),
tool definitions (JSON) and a read-only view of the example's meta (media references, fields
the format has no column for, raw text).

The editor holds no history of its own: each change emits `edited(instance, text, merge_key)`
with a fresh copy of the whole example, and the task form turns it into one undoable command
(`SetInstancesCommand`) that writes to the workspace at once. A field that does not apply to the
kind (the rejected answer of an SFT example, the label of a preference pair) is hidden, never
cleared: switching the kind back shows it again, and exporters read only what the kind uses.
Text that does not parse (a weight, the tools' JSON) is not saved; a message says why and the
last valid value stays in the store. Before another example or task is shown the task form asks
`leave()`: with such text still in a box the person chooses Keep editing or Discard. A turn
added with "Add turn" and left empty (or only spaces) is removed when another turn, example,
task or panel is chosen, another workspace opened or the window closed (an empty turn would
be exported as `{"role": …, "content": ""}`). "Add turn" keeps the speakers alternating, the
instruction being the user turn after the history, so it adds a pair (the other speaker's turn
and the answer to it; on an example with no earlier turns a user turn and its assistant
answer); one turn only where that alone restores the alternation of a history that lacks it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.store.examples import MEDIA_KEYS, Instance, weight_problem
from .theme import status_color
from .undo_commands import _short as short

KIND_CHOICES = [
    ("Instruction → answer (SFT)", "sft"),
    ("Preference pair (chosen / rejected)", "preference"),
    ("KTO: one answer labelled desirable or not", "kto"),
]
LABEL_CHOICES = [
    ("Not set", None),
    ("Desirable (label true)", True),
    ("Undesirable (label false)", False),
]
ROLES = ("user", "assistant", "system", "tool", "function_call", "observation", "function")
TAB_EXAMPLE, TAB_CONVERSATION, TAB_TOOLS, TAB_META = range(4)


def parse_weight(text: str) -> tuple[float | None, str]:
    """A training weight typed by a person: ("" → None, the default 1) or a finite number
    ≥ 0 (OpenAI fine-tuning: 0 = the turn is not trained on, 1 = it is). Returns (value,
    error); error is "" when the text is valid."""
    text = text.strip()
    if not text:
        return None, ""
    try:
        value = float(text)
    except ValueError:
        return None, f"{text!r} is not a number: type 0 (not trained on), 1, or leave it empty."
    if weight_problem(value):
        return None, f"A weight is a number ≥ 0, not {text!r}."
    return (int(value) if value.is_integer() else value), ""


def tools_text(tools: Any) -> str:
    """How the tools are shown: text as the file had it, a JSON value indented."""
    if tools is None:
        return ""
    if isinstance(tools, str):
        return tools
    return json.dumps(tools, ensure_ascii=False, indent=2)


def parse_tools(text: str, old: Any) -> tuple[Any, str]:
    """The tools typed in the editor: "" → None; otherwise JSON, a list (or object) of tool
    definitions. When the example held them as text (LLaMA-Factory's `tools` string), the text
    is kept as text. Returns (value, error); error is "" when valid."""
    if not text.strip():
        return None, ""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return old, (
            f"Tools: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "not saved until it parses. Clear the box to remove the tools."
        )
    if not isinstance(value, (list, dict)):
        return old, (
            "Tools: expected a JSON list of tool definitions (or one object), "
            f"found {type(value).__name__}; not saved."
        )
    return (text if isinstance(old, str) else value), ""


def meta_text(meta: dict[str, Any]) -> str:
    """The example's meta for reading: one `key: value` a key, text as it is (raw text keeps its
    lines), other values as JSON."""
    lines = []
    for key, value in meta.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)


def media_summary(meta: dict[str, Any]) -> str:
    """ "images: a.jpg, b.jpg" for the media references an example carries ("" for none)."""
    parts = []
    for key in MEDIA_KEYS:
        refs = meta.get(key)
        if refs:
            items = refs if isinstance(refs, list) else [refs]
            parts.append(f"{key}: " + ", ".join(str(r) for r in items))
    return "; ".join(parts)


def turn_label(i: int, turn: dict[str, Any]) -> str:
    content = turn.get("content")
    if content is None:
        extra = [k for k in turn if k not in ("role", "content", "weight")]
        text = f"({', '.join(extra) or 'no text'})"
    elif isinstance(content, str):
        text = short(content, 48) if content.strip() else "(empty)"
    else:
        text = short(json.dumps(content, ensure_ascii=False), 48)
    weight = f"  [weight {turn['weight']}]" if "weight" in turn else ""
    return f"{i + 1}. {turn.get('role', '?')}: {text}{weight}"


def _editor(placeholder: str, *, height: int | None = None) -> QPlainTextEdit:
    w = QPlainTextEdit()
    w.setPlaceholderText(placeholder)
    # The QUndoStack is the one history; the editor's own would fight it for Ctrl+Z.
    w.setUndoRedoEnabled(False)
    w.setTabChangesFocus(True)
    if height:
        w.setMaximumHeight(height)
    return w


class ExampleEditor(QWidget):
    """Shows one example (`show_example`) and emits `edited(new_instance, text, merge_key)`.

    `merge_key` is a hashable naming the field typed into (consecutive keystrokes in one field
    merge into one undo step) or None (a step of its own: kind, label, add/remove/move turn).
    """

    edited = Signal(object, str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inst: Instance | None = None
        self._loading = False
        self._new_turn: int | None = None  # a turn added here, removed if left empty
        self._new_count = 1  # 2 when "Add turn" added a user/assistant pair
        self.tabs = QTabWidget()
        self.tabs.setObjectName("exampleTabs")

        # ---- the example: kind, input, answers, label, weight
        self.kind = QComboBox()
        for label, value in KIND_CHOICES:
            self.kind.addItem(label, value)
        self.kind.setToolTip(
            "What this example trains: an answer (SFT), a preference pair (a chosen and a "
            "rejected answer, for DPO/ORPO) or one answer labelled desirable or not (KTO). "
            "Fields of the other kinds are kept, only hidden. (Alt+K)"
        )
        self.input = _editor("Input (may be empty)")
        self.input.setToolTip("The final user turn's input, after the instruction.")
        self.output = _editor("Output")
        self.output.setToolTip("The answer trained on; the chosen answer of a preference pair.")
        self.rejected = _editor("The answer not to prefer")
        self.rejected.setToolTip("The rejected answer of the preference pair. (Alt+J)")
        self.label = QComboBox()
        for text, _ in LABEL_CHOICES:
            self.label.addItem(text)
        self.label.setToolTip(
            "KTO's label: true = a desirable answer, false = an undesirable one. (Alt+L)"
        )
        self.weight = QLineEdit()
        self.weight.setPlaceholderText("default (1)")
        self.weight.setToolTip(
            "The answer's training weight: 0 = not trained on (OpenAI's weight: 0), "
            "empty = the default 1. (Alt+W)"
        )
        self.example_msg = QLabel()
        self.example_msg.setWordWrap(True)
        page = QWidget()
        self.example_form = QFormLayout(page)
        self.example_form.addRow("&Kind", self.kind)
        self.example_form.addRow("Input", self.input)
        self.output_label = QLabel("Output")
        self.example_form.addRow(self.output_label, self.output)
        self.example_form.addRow("Re&jected", self.rejected)
        self.example_form.addRow("KTO &label", self.label)
        self.example_form.addRow("&Weight", self.weight)
        self.example_form.addRow("", self.example_msg)
        self.tabs.addTab(page, "Example")

        # ---- the conversation: system prompt, earlier turns
        self.system = _editor("No system prompt", height=90)
        self.system.setToolTip("The system prompt of this example's conversation. (Alt+S)")
        self.turns = QListWidget()
        self.turns.setObjectName("turns")
        self.turns.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.turns.setMinimumHeight(80)
        self.turns.setToolTip(
            "The turns before the final user input, oldest first. The instruction and input "
            "form the last user turn; the output answers it."
        )
        self.add_turn_btn = QPushButton("Add turn")
        self.add_turn_btn.setToolTip(
            "Add earlier turns after the selected one (Ctrl+Shift+T). Turns alternate user, "
            "assistant, and the instruction is the user turn after them, so a pair is added: "
            "the other speaker's turn and the answer to it (on an example with no earlier "
            "turns: a user turn and its assistant answer). Left empty, they are removed."
        )
        self.remove_turn_btn = QPushButton("Remove turn")
        self.remove_turn_btn.setToolTip("Remove the selected turn (undo brings it back)")
        self.turn_up_btn = QPushButton("Up")
        self.turn_up_btn.setToolTip("Move the selected turn earlier")
        self.turn_down_btn = QPushButton("Down")
        self.turn_down_btn.setToolTip("Move the selected turn later")
        self.role = QComboBox()
        self.role.setEditable(True)
        self.role.addItems(ROLES)
        self.role.setToolTip("Who speaks this turn (any role the format uses).")
        self.turn_text = _editor("The turn's text")
        self.turn_weight = QLineEdit()
        self.turn_weight.setPlaceholderText("default")
        self.turn_weight.setToolTip(
            "This turn's training weight (assistant turns): 0 = not trained on, empty = default."
        )
        self.turn_extra = QLabel()
        self.turn_extra.setWordWrap(True)
        self.turn_extra.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.turn_msg = QLabel()
        self.turn_msg.setWordWrap(True)
        page = QWidget()
        conv = QFormLayout(page)
        conv.addRow("&System prompt", self.system)
        tb = QHBoxLayout()
        for b in (self.add_turn_btn, self.remove_turn_btn, self.turn_up_btn, self.turn_down_btn):
            tb.addWidget(b)
        tb.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.turns, 1)
        left.addLayout(tb)
        conv.addRow("Earlier turns", left)
        conv.addRow("Role", self.role)
        conv.addRow("Text", self.turn_text)
        conv.addRow("Turn weight", self.turn_weight)
        conv.addRow("", self.turn_extra)
        conv.addRow("", self.turn_msg)
        self.tabs.addTab(page, "Conversation")

        # ---- tools
        self.tools = _editor('[{"type": "function", "function": {"name": …}}]')
        self.tools.setToolTip(
            "Tool/function definitions offered in this conversation, as JSON. "
            "Empty = no tools. Saved only when it parses."
        )
        self.tools_msg = QLabel()
        self.tools_msg.setWordWrap(True)
        page = QWidget()
        tl = QVBoxLayout(page)
        tl.addWidget(self.tools, 1)
        tl.addWidget(self.tools_msg)
        self.tabs.addTab(page, "Tools")

        # ---- meta, read only
        self.media = QLabel()
        self.media.setWordWrap(True)
        self.media.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QPlainTextEdit()
        self.meta.setReadOnly(True)
        self.meta.setToolTip(
            "What the file had that no field holds: media references (images, videos, audios: "
            "the files are not imported), record ids, other fields, raw text. Read only; "
            "exports write it back where the format can hold it."
        )
        page = QWidget()
        ml = QVBoxLayout(page)
        ml.addWidget(self.media)
        ml.addWidget(self.meta, 1)
        self.tabs.addTab(page, "Meta")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)

        for w in (self.input, self.output, self.rejected, self.system, self.turn_text, self.tools):
            w.textChanged.connect(lambda w=w: self._text_edited(w))
        self.kind.currentIndexChanged.connect(self._kind_edited)
        self.label.currentIndexChanged.connect(self._label_edited)
        self.weight.textEdited.connect(self._weight_edited)
        self.turns.currentRowChanged.connect(self._turn_selected)
        self.role.currentTextChanged.connect(self._role_edited)
        self.turn_weight.textEdited.connect(self._turn_weight_edited)
        self.add_turn_btn.clicked.connect(self.add_turn)
        self.remove_turn_btn.clicked.connect(self.remove_turn)
        self.turn_up_btn.clicked.connect(lambda: self.move_turn(-1))
        self.turn_down_btn.clicked.connect(lambda: self.move_turn(+1))
        add_turn = QShortcut(QKeySequence("Ctrl+Shift+T"), self)
        add_turn.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        add_turn.activated.connect(self.add_turn)
        for i, key in enumerate(("Alt+1", "Alt+2", "Alt+3", "Alt+4")):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda i=i: self.tabs.setCurrentIndex(i))
            self.tabs.setTabToolTip(i, f"{self.tabs.tabText(i)} ({key})")
        self.show_example(None)

    # ------------------------------------------------------------------ showing
    def text_editors(self) -> tuple[QPlainTextEdit, ...]:
        """The editable text boxes (the form routes Ctrl+Z in them to the undo stack)."""
        return (self.input, self.output, self.rejected, self.system, self.turn_text, self.tools)

    def show_example(self, inst: Instance | None) -> None:
        """Show `inst` (a copy is kept) or, for None, an empty disabled editor. Keeps the
        selected turn and the open tab, so an undo lands where the person was."""
        turn_row = self.turns.currentRow()
        self._new_turn = None
        self._new_count = 1
        self.inst = copy.deepcopy(inst) if inst is not None else None
        was = self._loading
        self._loading = True
        try:
            i = self.inst or Instance()
            self._set_text(self.input, i.input)
            self._set_text(self.output, i.output)
            self._set_text(self.rejected, i.rejected or "")
            self._set_text(self.system, i.system or "")
            kinds = [v for _, v in KIND_CHOICES]
            self.kind.setCurrentIndex(kinds.index(i.kind) if i.kind in kinds else 0)
            self.label.setCurrentIndex([v for _, v in LABEL_CHOICES].index(i.label))
            if self.weight.text() != _weight_text(i.weight):
                self.weight.setText(_weight_text(i.weight))
            if parse_tools(self.tools.toPlainText(), i.tools) != (i.tools, ""):
                self._set_text(self.tools, tools_text(i.tools))
            self._fill_turns(turn_row)
            media = media_summary(i.meta)
            notes = [f"Media references (files not imported): {media}." if media else ""]
            dropped = len(i.meta.get("_dropped_turns") or [])
            if dropped:
                notes.append(
                    f"{dropped} turn{'s' * (dropped != 1)} the import left out of the "
                    "conversation (FastChat's rules), kept under _dropped_turns."
                )
            self.media.setText(" ".join(n for n in notes if n) or "No media references.")
            self.meta.setPlainText(meta_text(i.meta))
            self._show_kind(i.kind)
            self._update_tab_titles()
        finally:
            self._loading = was
        self.setEnabled(self.inst is not None)
        self._validate()

    @staticmethod
    def _set_text(w: QPlainTextEdit, text: str) -> None:
        if w.toPlainText() != text:
            w.setPlainText(text)

    def _show_kind(self, kind: str) -> None:
        self.example_form.setRowVisible(self.rejected, kind == "preference")
        self.example_form.setRowVisible(self.label, kind == "kto")
        self.output_label.setText("Chosen" if kind == "preference" else "Output")

    def _update_tab_titles(self) -> None:
        i = self.inst or Instance()
        n = len(i.history)
        conv = "Conversation"
        if n or i.system:
            conv += f" ({n} turn{'s' * (n != 1)}{', system' if i.system else ''})"
        self.tabs.setTabText(TAB_CONVERSATION, conv)
        self.tabs.setTabText(TAB_TOOLS, "Tools ✓" if i.tools is not None else "Tools")
        shown = [k for k in i.meta if not k.startswith("_")]
        self.tabs.setTabText(TAB_META, f"Meta ({len(shown)})" if shown else "Meta")

    def _fill_turns(self, select: int) -> None:
        history = self.inst.history if self.inst is not None else []
        self.turns.blockSignals(True)
        self.turns.clear()
        for n, turn in enumerate(history):
            self.turns.addItem(QListWidgetItem(turn_label(n, turn)))
        if history:
            self.turns.setCurrentRow(max(0, min(select, len(history) - 1)))
        self.turns.blockSignals(False)
        self._show_turn(self.turns.currentRow())

    def _turn(self, row: int | None = None) -> dict[str, Any] | None:
        row = self.turns.currentRow() if row is None else row
        if self.inst is None or not 0 <= row < len(self.inst.history):
            return None
        return self.inst.history[row]

    def _show_turn(self, row: int) -> None:
        was = self._loading
        self._loading = True
        try:
            turn = self._turn(row)
            has = turn is not None
            content = turn.get("content") if turn else None
            typed = content is None or isinstance(content, str)
            self._set_text(
                self.turn_text,
                (content or "") if typed else json.dumps(content, ensure_ascii=False),
            )
            self.turn_text.setReadOnly(not typed)
            self.role.setCurrentText(str(turn.get("role", "")) if turn else "")
            self.turn_weight.setText(_weight_text(turn.get("weight")) if turn else "")
            extra = {
                k: v for k, v in (turn or {}).items() if k not in ("role", "content", "weight")
            }
            self.turn_extra.setText(
                "Also in this turn (kept as is): " + json.dumps(extra, ensure_ascii=False)[:600]
                if extra
                else ""
            )
            self.turn_extra.setVisible(bool(extra))
            for w in (self.role, self.turn_text, self.turn_weight, self.remove_turn_btn):
                w.setEnabled(has)
            n = len(self.inst.history) if self.inst is not None else 0
            self.turn_up_btn.setEnabled(has and row > 0)
            self.turn_down_btn.setEnabled(has and row < n - 1)
        finally:
            self._loading = was

    # ------------------------------------------------------------- validation
    def _message(self, label: QLabel, text: str, kind: str = "error") -> None:
        label.setText(text)
        label.setVisible(bool(text))
        color = status_color(kind) if text else ""
        label.setStyleSheet(f"color: {color};" if color else "")

    def _validate(self) -> None:
        i = self.inst
        weight, weight_err = parse_weight(self.weight.text())
        if weight_err:
            self._message(self.example_msg, "Weight: " + weight_err + " Not saved.")
        elif weight not in (None, 0, 1):
            self._message(
                self.example_msg,
                "Saved. OpenAI fine-tuning accepts only weight 0 or 1 (an OpenAI chat "
                "export writes this value as it is).",
                "warning",
            )
        elif i is not None and i.kind == "preference" and not (i.rejected or "").strip():
            self._message(self.example_msg, "A preference pair needs a rejected answer.", "warning")
        elif i is not None and i.kind == "kto" and i.label is None:
            self._message(
                self.example_msg, "A KTO example needs a label (desirable or not).", "warning"
            )
        else:
            self._message(self.example_msg, "")
        turn_err = parse_weight(self.turn_weight.text())[1] if self._turn() else ""
        self._message(self.turn_msg, "Turn weight: " + turn_err + " Not saved." if turn_err else "")
        tools_err = parse_tools(self.tools.toPlainText(), None)[1]
        self._message(self.tools_msg, tools_err)
        if tools_err:  # seen from any tab
            self.tabs.setTabText(TAB_TOOLS, "Tools ⚠ not saved")
        else:
            self._update_tab_titles()
        self.tools.setProperty("invalid", bool(tools_err))
        self.tools.style().unpolish(self.tools)
        self.tools.style().polish(self.tools)

    # ------------------------------------------------------------------ edits
    def _emit(self, new: Instance, text: str, merge_key: Any) -> None:
        self.inst = new
        self.edited.emit(copy.deepcopy(new), text, merge_key)
        self._update_tab_titles()
        self._validate()

    def _copy(self) -> Instance | None:
        return copy.deepcopy(self.inst) if self.inst is not None and not self._loading else None

    def _text_edited(self, w: QPlainTextEdit) -> None:
        new = self._copy()
        if new is None:
            return
        text = w.toPlainText()
        if w is self.input:
            new.input, what = text, "input"
        elif w is self.output:
            new.output, what = text, "chosen answer" if new.kind == "preference" else "output"
        elif w is self.rejected:
            new.rejected = (text or None) if new.rejected is None else text
            what = "rejected answer"
        elif w is self.system:
            # Cleared: no system prompt, unless the file had an empty one (kept as "").
            new.system, what = (text or ("" if new.system == "" else None)), "system prompt"
        elif w is self.tools:
            value, err = parse_tools(text, new.tools)
            if err:
                self._validate()
                return
            new.tools, what = value, "tools"
        else:  # the selected turn's text
            turn = self._turn()
            if turn is None or self.turn_text.isReadOnly():
                return
            row = self.turns.currentRow()
            t = new.history[row]
            t["content"] = text if (text or t.get("content") is not None) else None
            if new == self.inst:
                return
            self._emit(new, f"turn {row + 1} text", ("turn", row, "content"))
            item = self.turns.item(row)
            if item is not None:
                item.setText(turn_label(row, t))
            return
        if new == self.inst:
            if w is self.tools:
                self._validate()
            return
        self._emit(new, what, what)

    def _kind_edited(self, index: int) -> None:
        new = self._copy()
        if new is None:
            return
        new.kind = KIND_CHOICES[index][1]
        if new.kind == self.inst.kind:  # type: ignore[union-attr]
            return
        self._show_kind(new.kind)
        self._emit(new, f"kind → {new.kind}", None)

    def _label_edited(self, index: int) -> None:
        new = self._copy()
        if new is None:
            return
        new.label = LABEL_CHOICES[index][1]
        if new.label == self.inst.label:  # type: ignore[union-attr]
            return
        self._emit(new, "KTO label", None)

    def _weight_edited(self, text: str) -> None:
        new = self._copy()
        if new is None:
            return
        value, err = parse_weight(text)
        if err:
            self._validate()
            return
        new.weight = value
        if new == self.inst:
            self._validate()
            return
        self._emit(new, "weight", "weight")

    def _role_edited(self, role: str) -> None:
        new = self._copy()
        row = self.turns.currentRow()
        if new is None or self._turn() is None or not role.strip():
            return
        new.history[row]["role"] = role.strip()
        if new == self.inst:
            return
        self._emit(new, f"turn {row + 1} role", ("turn", row, "role"))
        item = self.turns.item(row)
        if item is not None:
            item.setText(turn_label(row, new.history[row]))

    def _turn_weight_edited(self, text: str) -> None:
        new = self._copy()
        row = self.turns.currentRow()
        if new is None or self._turn() is None:
            return
        value, err = parse_weight(text)
        if err:
            self._validate()
            return
        if value is None:
            new.history[row].pop("weight", None)
        else:
            new.history[row]["weight"] = value
        if new == self.inst:
            self._validate()
            return
        self._emit(new, f"turn {row + 1} weight", ("turn", row, "weight"))
        item = self.turns.item(row)
        if item is not None:
            item.setText(turn_label(row, new.history[row]))

    def _set_turns(self, new: Instance, text: str, select: int) -> None:
        self._emit(new, text, None)
        self._fill_turns(select)

    # ------------------------------------------------------------- leaving
    def unsaved(self) -> list[str]:
        """What is typed but not saved because it does not parse: e.g. ["the weight 'abc'",
        "the tools (not valid JSON)"]; [] when every box is saved."""
        if self.inst is None:
            return []
        out = []
        if parse_weight(self.weight.text())[1]:
            out.append(f"the weight {self.weight.text().strip()!r}")
        row = self.turns.currentRow()
        if self._turn() is not None and parse_weight(self.turn_weight.text())[1]:
            out.append(f"turn {row + 1}'s weight {self.turn_weight.text().strip()!r}")
        if parse_tools(self.tools.toPlainText(), None)[1]:
            out.append("the tools (not valid JSON)")
        return out

    def leave(self) -> bool:
        """Called before another example, task or panel is shown, another workspace opened or
        the window closed (`MainWindow.may_leave_editing`). Text that is not saved: asks Keep
        editing (returns False: stay) or Discard (the boxes show the stored values again). A
        turn added here and still empty is removed (an edit of its own, undoable)."""
        unsaved = self.unsaved()
        if unsaved and not self._ask_discard(unsaved):
            return False
        if unsaved:
            k, n = self._new_turn, self._new_count
            self.show_example(self.inst)
            self._new_turn, self._new_count = k, n
        self._drop_empty_new_turn()
        return True

    def _ask_discard(self, unsaved: list[str]) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Not saved",
            f"{'; '.join(unsaved).capitalize()}: not saved, as it is not valid. "
            "Keep editing to fix it, or discard it (the stored value stays).",
            parent=self,
        )
        keep = box.addButton("Keep editing", QMessageBox.ButtonRole.RejectRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(keep)
        box.exec()
        return box.clickedButton() is not None and box.clickedButton() is not keep

    def _drop_empty_new_turn(self) -> bool:
        """Remove the turn "Add turn" made if it is still empty; True if removed."""
        k, self._new_turn = self._new_turn, None
        n, self._new_count = self._new_count, 1
        if self.inst is None or k is None or not 0 <= k <= len(self.inst.history) - n:
            return False
        for turn in self.inst.history[k : k + n]:
            content = turn.get("content")
            blank = content is None or (isinstance(content, str) and not content.strip())
            if not blank or set(turn) - {"role", "content"}:
                return False
        new = copy.deepcopy(self.inst)
        del new.history[k : k + n]
        what = f"turn {k + 1}" if n == 1 else f"turns {k + 1}-{k + n}"
        self._emit(new, f"remove empty {what}", None)
        return True

    def _turn_selected(self, row: int) -> None:
        k, n = self._new_turn, self._new_count
        if (
            k is not None
            and not k <= row < k + n
            and not self._loading
            and self._drop_empty_new_turn()
        ):
            self._fill_turns(row - n if row > k else row)
            return
        self._show_turn(row)

    def add_turn(self) -> None:
        """A new empty turn after the selected one (at the end when none is), its role the
        other speaker's. Left empty, it is removed when another turn, example or task is
        chosen; while one is empty, "Add turn" goes to it rather than adding another."""
        new = self._copy()
        if new is None:
            return
        k = self._new_turn
        if k is not None and 0 <= k < len(new.history) and not new.history[k].get("content"):
            self.tabs.setCurrentIndex(TAB_CONVERSATION)
            self.turns.setCurrentRow(k)
            self.turn_text.setFocus()
            return
        row = self.turns.currentRow()
        at = row + 1 if 0 <= row < len(new.history) else len(new.history)
        before = new.history[at - 1].get("role") if at > 0 else "assistant"
        role = "assistant" if before == "user" else "user"
        # The instruction is the user turn after the history.
        after = new.history[at].get("role") if at < len(new.history) else "user"
        turns = [{"role": role, "content": ""}]
        if after == role:  # one turn cannot alternate with both: a pair
            turns.append({"role": "assistant" if role == "user" else "user", "content": ""})
        new.history[at:at] = turns
        self.tabs.setCurrentIndex(TAB_CONVERSATION)
        what = f"turn {at + 1}" if len(turns) == 1 else f"turns {at + 1}-{at + 2}"
        self._set_turns(new, f"add {what}", at)
        self._new_turn = at
        self._new_count = len(turns)
        self.turn_text.setFocus()

    def remove_turn(self) -> None:
        new = self._copy()
        row = self.turns.currentRow()
        if new is None or self._turn() is None:
            return
        del new.history[row]
        k = self._new_turn
        self._new_turn = None if k is None or k == row else k - (k > row)
        self._new_count = 1
        self._set_turns(new, f"remove turn {row + 1}", min(row, len(new.history) - 1))

    def move_turn(self, delta: int) -> None:
        new = self._copy()
        row = self.turns.currentRow()
        to = row + delta
        if new is None or self._turn() is None or not 0 <= to < len(new.history):
            return
        new.history[row], new.history[to] = new.history[to], new.history[row]
        if self._new_turn in (row, to):
            self._new_turn = to if self._new_turn == row else row
        self._new_count = 1
        self._set_turns(new, f"move turn {row + 1} to {to + 1}", to)


def _weight_text(value: Any) -> str:
    return "" if value is None else str(value)
