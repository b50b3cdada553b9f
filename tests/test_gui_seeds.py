"""The seed/task editor driven through its real widgets offscreen, checked against the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from workbench.core.store.tasks import Instance, Task, add_task  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.gui


def db_rows(path: Path, sql: str, params=()) -> list[tuple]:
    """Read the workspace file through a fresh connection: only committed data is visible."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture()
def make_window(qtbot, tmp_path):
    made = []

    def make(tasks: list[Task] | None = None, *, n_bulk: int = 0):
        from workbench.gui.main_window import MainWindow

        path = tmp_path / "ws.sqlite"
        ws = Workspace.open(path, create=True)
        for t in tasks or []:
            add_task(ws, t)
        if n_bulk:
            with ws.transaction():
                ws.conn.executemany(
                    "INSERT INTO tasks (instruction, norm, source, is_classification) "
                    "VALUES (?, ?, 'generated', ?)",
                    [(f"Bulk task {i}", f"bulk task {i}", i % 2) for i in range(n_bulk)],
                )
        w = MainWindow(ws)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown()


def seed_tasks() -> list[Task]:
    return [
        Task(
            "Write a haiku about the sea.",
            [Instance("", "Waves fold into foam")],
            False,
            source="seed",
        ),
        Task(
            "Is this review positive or negative?",
            [Instance("Great film!", "positive"), Instance("Dull.", "negative")],
            True,
            source="seed",
        ),
        Task(
            "Translate the sentence into French.",
            [Instance("Hello", "Bonjour")],
            None,
            source="imported",
        ),
    ]


def test_edit_instruction_saved_at_once_then_undo_and_redo(make_window, qtbot):
    w = make_window(seed_tasks())
    seeds = w.seeds
    assert seeds.select_task(2)
    assert seeds.form.task.id == 2
    seeds.form.instruction.setPlainText("Is this movie review positive or negative?")
    path = w.ws.path
    assert db_rows(path, "SELECT instruction, norm FROM tasks WHERE id = 2") == [
        ("Is this movie review positive or negative?", "is this movie review positive or negative?")
    ]
    # The table shows what the file holds.
    assert (
        seeds.model.data(seeds.model.index(seeds.model.row_of(2), 1))
        == "Is this movie review positive or negative?"
    )

    w.act_undo.trigger()
    assert db_rows(path, "SELECT instruction FROM tasks WHERE id = 2") == [
        ("Is this review positive or negative?",)
    ]
    assert seeds.form.instruction.toPlainText() == "Is this review positive or negative?"
    assert (
        seeds.model.data(seeds.model.index(seeds.model.row_of(2), 1))
        == "Is this review positive or negative?"
    )

    w.act_redo.trigger()
    assert db_rows(path, "SELECT instruction FROM tasks WHERE id = 2") == [
        ("Is this movie review positive or negative?",)
    ]
    assert seeds.form.instruction.toPlainText() == "Is this movie review positive or negative?"


def test_undo_selects_the_task_it_changes(make_window):
    w = make_window(seed_tasks())
    w.seeds.select_task(1)
    w.seeds.form.instruction.setPlainText("Write a haiku about rain.")
    w.seeds.select_task(3)
    w.act_undo.trigger()
    assert w.seeds.current_task_id() == 1
    assert w.seeds.form.instruction.toPlainText() == "Write a haiku about the sea."
    assert db_rows(w.ws.path, "SELECT instruction FROM tasks WHERE id = 1") == [
        ("Write a haiku about the sea.",)
    ]


def test_typing_merges_into_one_undo_step_and_empty_text_is_not_saved(make_window, qtbot):
    w = make_window(seed_tasks())
    form = w.seeds.form
    w.seeds.select_task(1)
    form.instruction.selectAll()
    qtbot.keyClicks(form.instruction, "Name a colour")
    assert db_rows(w.ws.path, "SELECT instruction FROM tasks WHERE id = 1") == [("Name a colour",)]
    assert w.undo_stack.count() == 1  # 13 keystrokes, one step

    form.instruction.setPlainText("   ")
    assert form.instruction_msg.isVisible()
    assert "cannot be empty" in form.instruction_msg.text()
    assert db_rows(w.ws.path, "SELECT instruction FROM tasks WHERE id = 1") == [("Name a colour",)]

    form.instruction.setPlainText("Translate the sentence into french.")  # same as task 3
    assert "task 3" in form.instruction_msg.text()

    w.act_undo.trigger()
    assert db_rows(w.ws.path, "SELECT instruction FROM tasks WHERE id = 1") == [
        ("Write a haiku about the sea.",)
    ]


def test_add_edit_reorder_remove_instances_with_undo(make_window, qtbot):
    w = make_window(seed_tasks())
    form = w.seeds.form
    w.seeds.select_task(1)
    path = w.ws.path
    inst = "SELECT position, input, output FROM instances WHERE task_id = 1 ORDER BY position"

    qtbot.mouseClick(form.add_btn, Qt.MouseButton.LeftButton)
    assert db_rows(path, inst) == [(0, "", "Waves fold into foam"), (1, "", "")]
    assert "Instance 2 has no output" in form.instances_msg.text()
    form.input.setPlainText("mountains")
    qtbot.keyClicks(form.output, "Stone shoulders rise")
    assert db_rows(path, inst) == [
        (0, "", "Waves fold into foam"),
        (1, "mountains", "Stone shoulders rise"),
    ]
    assert not form.instances_msg.isVisible()
    assert w.seeds.model.data(w.seeds.model.index(0, 4)) == 2  # the table's instance count

    qtbot.mouseClick(form.up_btn, Qt.MouseButton.LeftButton)
    assert db_rows(path, inst) == [
        (0, "mountains", "Stone shoulders rise"),
        (1, "", "Waves fold into foam"),
    ]
    assert form.instances.currentRow() == 0

    form.instances.setCurrentRow(1)
    qtbot.mouseClick(form.remove_btn, Qt.MouseButton.LeftButton)
    assert db_rows(path, inst) == [(0, "mountains", "Stone shoulders rise")]

    w.act_undo.trigger()  # remove
    w.act_undo.trigger()  # move
    assert db_rows(path, inst) == [
        (0, "", "Waves fold into foam"),
        (1, "mountains", "Stone shoulders rise"),
    ]
    for _ in range(3):  # output typing, input, add
        w.act_undo.trigger()
    assert db_rows(path, inst) == [(0, "", "Waves fold into foam")]
    assert form.instances.count() == 1


def test_classification_flag_and_delete_with_undo(make_window):
    w = make_window(seed_tasks())
    form = w.seeds.form
    w.seeds.select_task(3)
    form.classification.setCurrentIndex(1)  # Classification
    assert db_rows(w.ws.path, "SELECT is_classification FROM tasks WHERE id = 3") == [(1,)]
    assert w.seeds.model.data(w.seeds.model.index(w.seeds.model.row_of(3), 3)) == "yes"

    w.seeds.select_task(2)
    w.seeds.delete_current()
    assert db_rows(w.ws.path, "SELECT count(*) FROM tasks WHERE id = 2") == [(0,)]
    assert w.seeds.model.row_of(2) is None
    w.act_undo.trigger()
    assert db_rows(w.ws.path, "SELECT instruction, is_classification FROM tasks WHERE id = 2") == [
        ("Is this review positive or negative?", 1)
    ]
    assert db_rows(
        w.ws.path, "SELECT output FROM instances WHERE task_id = 2 ORDER BY position"
    ) == [("positive",), ("negative",)]
    assert w.seeds.model.row_of(2) is not None


def test_new_task_is_saved_and_undo_removes_it(make_window):
    w = make_window(seed_tasks())
    w.seeds.new_task()
    new_id = w.seeds.current_task_id()
    assert new_id == 4
    assert db_rows(w.ws.path, "SELECT source FROM tasks WHERE id = 4") == [("seed",)]
    w.act_undo.trigger()
    assert db_rows(w.ws.path, "SELECT count(*) FROM tasks") == [(3,)]
    w.act_redo.trigger()
    assert db_rows(w.ws.path, "SELECT count(*) FROM tasks WHERE id = 4") == [(1,)]


def test_filters_show_the_counts_in_the_file(make_window, qtbot):
    w = make_window(seed_tasks(), n_bulk=600)
    seeds = w.seeds
    path = w.ws.path
    seeds.search.setText("bulk task 1")
    qtbot.waitUntil(lambda: seeds.model.total != 603, timeout=5000)  # debounced
    expected = db_rows(path, "SELECT count(*) FROM tasks WHERE instruction LIKE '%bulk task 1%'")
    assert seeds.model.total == expected[0][0] == 111  # 1, 10-19, 100-199
    assert seeds.count_label.text() == "111 of 603 tasks"

    seeds.search.clear()
    seeds.apply_filter()
    seeds.source.setCurrentIndex(seeds.source.findData("seed"))
    assert seeds.model.total == 2
    assert {seeds.model.task_id_at(r) for r in range(seeds.model.rowCount())} == {1, 2}
    seeds.source.setCurrentIndex(0)
    seeds.clf.setCurrentIndex(seeds.clf.findData("yes"))
    assert (
        seeds.model.total
        == db_rows(path, "SELECT count(*) FROM tasks WHERE is_classification = 1")[0][0]
        == 301
    )
    seeds.clf.setCurrentIndex(seeds.clf.findData("unknown"))
    assert seeds.model.total == 1 and seeds.model.task_id_at(0) == 3


def test_table_fetches_lazily_and_scrolls_to_the_end(make_window, qtbot):
    from workbench.gui.task_model import PAGE

    w = make_window(n_bulk=3000)
    model = w.seeds.model
    assert model.total == 3000
    assert model.rowCount() == PAGE  # only the first page is read on open
    w.seeds.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > PAGE, timeout=5000)
    assert w.seeds.select_task(3000)
    assert model.rowCount() == 3000
    assert model.data(model.index(2999, 1)) == "Bulk task 2999"


def test_layout_and_panel_are_remembered(make_window, qtbot):
    w = make_window(seed_tasks())
    w.show_panel("Inspect")
    w.resize(1000, 640)
    w.close()
    w2 = make_window(seed_tasks()[:0])
    assert w2.nav.currentRow() == 3
    # The offscreen screen is small, so restoreGeometry may narrow the window to fit; the
    # default size (1280 x 800) must not come back.
    assert w2.height() == 640 and w2.width() < 1280


def test_about_names_the_versions(make_window):
    import llama_cpp
    from PySide6.QtCore import qVersion

    from workbench.gui.main_window import about_text

    w = make_window(seed_tasks())
    text = about_text(w.ws)
    assert llama_cpp.__version__ in text and qVersion() in text
    assert "Instruction Workbench 0.1.0" in text and "Model:" in text


def test_ctrl_z_in_the_editor_undoes_through_the_stack(make_window, qtbot):
    w = make_window(seed_tasks())
    from PySide6.QtWidgets import QApplication

    w.activateWindow()  # window shortcuts only fire in the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    form = w.seeds.form
    w.seeds.select_task(1)
    form.instruction.setFocus()
    form.instruction.selectAll()
    qtbot.keyClicks(form.instruction, "Write a limerick.")
    assert db_rows(w.ws.path, "SELECT instruction FROM tasks WHERE id = 1") == [
        ("Write a limerick.",)
    ]
    qtbot.keyClick(form.instruction, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert db_rows(w.ws.path, "SELECT instruction FROM tasks WHERE id = 1") == [
        ("Write a haiku about the sea.",)
    ]
    assert form.instruction.toPlainText() == "Write a haiku about the sea."
    qtbot.keyClick(
        form.instruction,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert db_rows(w.ws.path, "SELECT instruction FROM tasks WHERE id = 1") == [
        ("Write a limerick.",)
    ]
