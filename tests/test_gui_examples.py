"""Every field of an example in the task editor: real files imported by the core importer into a
real SQLite workspace, shown and edited through the real widgets offscreen, each edit checked in
the file (a fresh connection) and through undo and redo."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from workbench.core.formats.importer import import_file  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402
from workbench.gui.example_editor import (  # noqa: E402
    TAB_CONVERSATION,
    TAB_TOOLS,
    parse_tools,
    parse_weight,
)

pytestmark = pytest.mark.gui

COLS = "task_id, input, output, system, history, kind, rejected, label, weight, tools, meta"


def example(path: Path, task_id: int, position: int = 0) -> dict:
    """One stored example, read through a fresh connection (only committed data is visible)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute(
            f"SELECT {COLS} FROM instances WHERE task_id = ? ORDER BY position LIMIT 1 OFFSET ?",
            (task_id, position),
        ).fetchone()
        return dict(row)
    finally:
        conn.close()


def first_task(path: Path, where: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            f"SELECT task_id FROM instances WHERE {where} ORDER BY task_id LIMIT 1"
        ).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture()
def open_file(qtbot, tmp_path, shared_data):
    """open_file("llama-factory/dpo_en_demo.json") → (window, workspace path): the file imported
    by the core importer, the window open on the workspace."""
    made = []

    def make(rel: str):
        from workbench.gui.main_window import MainWindow

        path = tmp_path / "ws.sqlite"
        ws = Workspace.open(path, create=True)
        import_file(ws, shared_data / "datasets" / rel)
        w = MainWindow(ws)
        qtbot.addWidget(w)
        w.show()
        w.show_panel("Seeds")
        made.append(w)
        return w, path

    yield make
    for w in made:
        w.shutdown()


def select(window, task_id: int):
    assert window.seeds.select_task(task_id)
    form = window.seeds.form
    assert form.task is not None and form.task.id == task_id
    return form, form.example


def test_preference_pair_shows_both_answers_and_edits_the_rejected_one(open_file):
    window, path = open_file("llama-factory/dpo_en_demo.json")
    task_id = first_task(path, "kind = 'preference'")
    before = example(path, task_id)
    form, ed = select(window, task_id)

    assert ed.kind.currentData() == "preference"
    assert ed.output_label.text() == "Chosen"
    assert ed.output.toPlainText() == before["output"]
    assert ed.rejected.isVisibleTo(ed) and ed.rejected.toPlainText() == before["rejected"]
    assert not ed.label.isVisibleTo(ed)  # KTO's label does not apply to a pair
    assert "pair" in form.instances.item(0).text()

    ed.rejected.setPlainText("A worse answer.")
    assert example(path, task_id)["rejected"] == "A worse answer."
    window.undo_stack.undo()
    assert example(path, task_id)["rejected"] == before["rejected"]
    assert ed.rejected.toPlainText() == before["rejected"]
    window.undo_stack.redo()
    assert example(path, task_id)["rejected"] == "A worse answer."
    assert ed.rejected.toPlainText() == "A worse answer."

    # A new example of this task is a pair too.
    form.add_instance()
    assert example(path, task_id, 1)["kind"] == "preference"
    assert ed.rejected.isVisibleTo(ed) and ed.rejected.toPlainText() == ""
    window.undo_stack.undo()
    form.instances.setCurrentRow(0)

    # Another kind hides the rejected answer; it stays in the store and comes back.
    ed.kind.setCurrentIndex(ed.kind.findData("sft"))
    assert not ed.rejected.isVisibleTo(ed)
    row = example(path, task_id)
    assert (row["kind"], row["rejected"]) == ("sft", "A worse answer.")
    window.undo_stack.undo()
    assert example(path, task_id)["kind"] == "preference"
    assert ed.rejected.isVisibleTo(ed) and ed.kind.currentData() == "preference"


def test_kto_label_edit_undo_redo(open_file):
    window, path = open_file("llama-factory/kto_en_demo.json")
    task_id = first_task(path, "kind = 'kto' AND label = 1")
    form, ed = select(window, task_id)
    assert ed.label.isVisibleTo(ed) and ed.label.currentText().startswith("Desirable")
    assert not ed.rejected.isVisibleTo(ed)
    assert "KTO +" in form.instances.item(0).text()

    ed.label.setCurrentIndex(2)  # Undesirable
    assert example(path, task_id)["label"] == 0
    assert "KTO −" in form.instances.item(0).text()
    window.undo_stack.undo()
    assert example(path, task_id)["label"] == 1
    assert ed.label.currentText().startswith("Desirable")
    window.undo_stack.redo()
    assert example(path, task_id)["label"] == 0


def test_tools_validated_and_turn_weight_saved(open_file, qtbot):
    window, path = open_file("llama-factory/glaive_toolcall_en_demo.json")
    task_id = first_task(path, "tools IS NOT NULL AND history != '[]'")
    before = example(path, task_id)
    form, ed = select(window, task_id)
    tools = json.loads(before["tools"])
    assert parse_tools(ed.tools.toPlainText(), tools) == (tools, "")
    assert ed.tabs.tabText(2) == "Tools ✓"

    ed.tabs.setCurrentIndex(TAB_TOOLS)
    ed.tools.setPlainText('[{"name": "search_recipes",')  # broken: not saved, said why
    assert ed.tabs.tabText(TAB_TOOLS) == "Tools ⚠ not saved"
    assert ed.tools_msg.isVisibleTo(ed) and "not valid JSON (line 1" in ed.tools_msg.text()
    assert example(path, task_id)["tools"] == before["tools"]
    ed.tools.setPlainText('[{"name": "search_recipes"}]')
    assert not ed.tools_msg.text()
    # LLaMA-Factory gives tools as a JSON text: it stays text, as the file had it.
    assert isinstance(tools, str)
    assert json.loads(example(path, task_id)["tools"]) == '[{"name": "search_recipes"}]'

    window.undo_stack.undo()
    assert example(path, task_id)["tools"] == before["tools"]

    # The earlier turns, with their roles; an assistant turn's weight 0 is stored on the turn.
    history = json.loads(before["history"])
    assert ed.turns.count() == len(history)
    ed.tabs.setCurrentIndex(TAB_CONVERSATION)
    a = next(i for i, t in enumerate(history) if t["role"] == "assistant")
    ed.turns.setCurrentRow(a)
    assert ed.role.currentText() == "assistant"
    assert ed.turn_text.toPlainText() == history[a]["content"]
    ed.turn_weight.setFocus()
    qtbot.keyClicks(ed.turn_weight, "x")
    assert "not a number" in ed.turn_msg.text()
    assert example(path, task_id)["history"] == before["history"]
    ed.turn_weight.clear()
    qtbot.keyClicks(ed.turn_weight, "0")
    assert json.loads(example(path, task_id)["history"])[a]["weight"] == 0
    assert "[weight 0]" in ed.turns.item(a).text()
    window.undo_stack.undo()
    assert "weight" not in json.loads(example(path, task_id)["history"])[a]
    window.undo_stack.redo()
    assert json.loads(example(path, task_id)["history"])[a]["weight"] == 0


def test_conversation_turns_add_move_remove_and_system_prompt(open_file):
    window, path = open_file("sharegpt-format-fastchat/dummy_conversation.json")
    task_id = first_task(path, "history != '[]'")
    before = example(path, task_id)
    history = json.loads(before["history"])
    form, ed = select(window, task_id)
    assert [ed.turns.item(i).text().split(": ")[0] for i in range(ed.turns.count())] == [
        f"{i + 1}. {t['role']}" for i, t in enumerate(history)
    ]
    assert "id: " in ed.meta.toPlainText() and ed.meta.isReadOnly()

    ed.system.setPlainText("You are Vicuna.")
    assert example(path, task_id)["system"] == "You are Vicuna."
    ed.turns.setCurrentRow(0)
    ed.add_turn()  # after turn 1: the other speaker's turn and its answer, so turns alternate
    stored = json.loads(example(path, task_id)["history"])
    assert len(stored) == len(history) + 2
    assert stored[1:3] == [{"role": "assistant", "content": ""}, {"role": "user", "content": ""}]
    ed.turn_text.setPlainText("Inserted.")
    ed.move_turn(+1)
    stored = json.loads(example(path, task_id)["history"])
    assert stored[2]["content"] == "Inserted." and ed.turns.currentRow() == 2
    ed.remove_turn()
    ed.turns.setCurrentRow(1)
    ed.remove_turn()
    assert json.loads(example(path, task_id)["history"]) == history
    for _ in range(5):  # remove, remove, move, text, add
        window.undo_stack.undo()
    assert json.loads(example(path, task_id)["history"]) == history
    window.undo_stack.undo()  # the system prompt
    assert example(path, task_id)["system"] is None
    assert ed.system.toPlainText() == ""
    window.undo_stack.redo()
    assert example(path, task_id)["system"] == "You are Vicuna."


def test_media_references_shown_read_only(open_file):
    window, path = open_file("llama-factory/mllm_demo.json")
    task_id = first_task(path, "meta LIKE '%images%'")
    _form, ed = select(window, task_id)
    assert "images: mllm_demo_data/" in ed.media.text()
    assert ed.tabs.tabText(3).startswith("Meta (")


def test_weight_text_rules():
    assert parse_weight("") == (None, "")
    assert parse_weight("0") == (0, "")
    assert parse_weight("0.5") == (0.5, "")
    assert parse_weight("-1")[1] and parse_weight("nan")[1] and parse_weight("one")[1]
    assert parse_tools("", [1]) == (None, "")
    assert parse_tools('"x"', None)[1].startswith("Tools: expected a JSON list")
    assert parse_tools("[]", "[ ]") == ("[]", "")  # text stays text


def test_keyboard_tabs_add_turn_and_ctrl_z_in_a_field(open_file, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QApplication

    window, path = open_file("llama-factory/dpo_en_demo.json")
    window.activateWindow()  # shortcuts only fire in the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    task_id = first_task(path, "kind = 'preference'")
    before = example(path, task_id)
    _form, ed = select(window, task_id)
    ed.rejected.setFocus()
    ed.rejected.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(ed.rejected, " More.")
    assert example(path, task_id)["rejected"] == before["rejected"] + " More."
    qtbot.keyClick(ed.rejected, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert example(path, task_id)["rejected"] == before["rejected"]  # the stack's undo

    assert ed.rejected.hasFocus()  # the undo keeps the person where they were
    qtbot.keyClick(ed.rejected, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert ed.tabs.currentIndex() == TAB_CONVERSATION
    ed.system.setFocus()
    qtbot.keyClick(
        ed.system,
        Qt.Key.Key_T,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert json.loads(example(path, task_id)["history"]) == [
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
    ]
    assert ed.turn_text.hasFocus()
    ed.tabs.setCurrentIndex(0)
    ed.weight.setFocus()
    qtbot.keyClicks(ed.weight, "0.5")  # saved, with a word about OpenAI's 0/1
    assert example(path, task_id)["weight"] == 0.5
    assert "only weight 0 or 1" in ed.example_msg.text()
    assert "Ctrl+Shift+T" in ed.add_turn_btn.toolTip() and "(Alt+2)" in ed.tabs.tabToolTip(1)


@pytest.fixture()
def small_window(qtbot, tmp_path):
    """Two tasks, the first with two examples, imported by the core into a real workspace."""
    from workbench.gui.main_window import MainWindow

    src = tmp_path / "small.jsonl"
    rows = [
        {"instruction": "Name a colour.", "input": "", "output": "red"},
        {"instruction": "Name a colour.", "input": "warm", "output": "orange"},
        {"instruction": "Name a fruit.", "input": "", "output": "apple"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    path = tmp_path / "ws.sqlite"
    ws = Workspace.open(path, create=True)
    import_file(ws, src)
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    w.show_panel("Seeds")
    yield w, path
    w.shutdown()


def answer(monkeypatch, choice: str, asked: list[str]) -> None:
    """The next "not saved" questions are answered by pressing the button named `choice`."""
    from PySide6.QtWidgets import QMessageBox

    def press(box):
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == choice).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", press)


def test_invalid_weight_or_tools_asks_before_moving_on(small_window, monkeypatch, qtbot):
    """Breaker finding 10: text that is not saved is not dropped silently on leaving."""
    window, path = small_window
    form, ed = select(window, 1)
    ed.weight.setFocus()
    qtbot.keyClicks(ed.weight, "abc")
    asked: list[str] = []
    answer(monkeypatch, "Keep editing", asked)
    form.instances.setCurrentRow(1)
    assert "the weight 'abc'" in asked[0].lower()
    assert form.instances.currentRow() == 0 and ed.weight.text() == "abc"  # stayed
    window.seeds.select_task(2)  # another task: asked too, and stays
    assert len(asked) == 2 and form.task.id == 1 and window.seeds.current_task_id() == 1

    answer(monkeypatch, "Discard", asked)
    form.instances.setCurrentRow(1)
    assert form.instances.currentRow() == 1 and ed.output.toPlainText() == "orange"
    assert ed.weight.text() == "" and example(path, 1)["weight"] is None

    ed.tools.setPlainText("[not json")
    window.seeds.select_task(2)
    assert "tools" in asked[-1] and form.task.id == 2
    assert ed.tools.toPlainText() == "" and example(path, 1, 1)["tools"] is None


def test_an_added_turn_left_empty_is_not_kept(small_window, monkeypatch):
    window, path = small_window
    form, ed = select(window, 1)
    ed.add_turn()  # no earlier turns: a user turn and its answer, then the instruction
    assert json.loads(example(path, 1)["history"]) == [
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
    ]
    assert ed.turns.currentRow() == 0
    ed.add_turn()  # goes to the empty turn rather than adding more
    assert len(json.loads(example(path, 1)["history"])) == 2
    form.instances.setCurrentRow(1)  # another example: the empty pair goes
    assert json.loads(example(path, 1)["history"]) == []
    assert "remove empty turns 1-2" in window.undo_stack.undoText()

    ed.add_turn()  # on example 2: typed text stays
    ed.turn_text.setPlainText("Any colour?")
    ed.turns.setCurrentRow(1)  # the pair's answer: nothing removed
    ed.turn_text.setPlainText("Blue.")
    ed.add_turn()  # after the assistant turn, before the instruction: a pair again
    assert ed.turns.count() == 4 and ed.turns.currentRow() == 2
    ed.turn_text.setPlainText("   ")  # only spaces: not kept
    ed.turns.setCurrentRow(0)
    assert json.loads(example(path, 1, 1)["history"]) == [
        {"role": "user", "content": "Any colour?"},
        {"role": "assistant", "content": "Blue."},
    ]
    assert ed.turns.count() == 2 and ed.turn_text.toPlainText() == "Any colour?"
    ed.turns.setCurrentRow(0)
    ed.add_turn()  # between a user and an assistant turn: an assistant/user pair
    roles = [t["role"] for t in json.loads(example(path, 1, 1)["history"])]
    assert roles == ["user", "assistant", "user", "assistant"]
    window.seeds.select_task(2)  # another task: it goes too
    assert len(json.loads(example(path, 1, 1)["history"])) == 2


def test_every_way_out_asks_about_unsaved_text_and_drops_empty_turns(
    small_window, monkeypatch, qtbot, tmp_path
):
    """Second trial: closing the window, opening another workspace and another panel ask Keep
    editing / Discard like another task does, and remove an added turn left empty."""
    window, path = small_window
    form, ed = select(window, 1)
    asked: list[str] = []
    answer(monkeypatch, "Keep editing", asked)
    ed.weight.setFocus()
    qtbot.keyClicks(ed.weight, "abc")
    window.close()
    assert window.isVisible() and "the weight 'abc'" in asked[-1].lower()
    other = tmp_path / "other.sqlite"
    Workspace.open(other, create=True).close()
    assert not window.open_workspace(other) and window.ws.path == path and len(asked) == 2
    window.show_panel("Export")
    assert len(asked) == 3 and window.stack.currentWidget() is window.seeds
    assert window.nav.currentRow() == window.stack.currentIndex()
    assert ed.weight.text() == "abc"

    answer(monkeypatch, "Discard", asked)
    ed.add_turn()
    window.show_panel("Export")  # Discard: the panel changes, the empty turns go
    assert window.stack.currentWidget() is not window.seeds and len(asked) == 4
    assert ed.weight.text() == "" and json.loads(example(path, 1)["history"]) == []

    window.show_panel("Seeds")
    ed.tools.setPlainText("[{bad")
    ed.add_turn()
    assert window.open_workspace(other) and "tools" in asked[-1]
    assert json.loads(example(path, 1)["history"]) == []
    assert example(path, 1)["tools"] is None
