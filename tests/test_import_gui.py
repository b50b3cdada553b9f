"""The window's import: bad records listed at once in the banner, then "Import the valid
records" imports the others and writes the rejected ones beside the file (issue 18 item 4)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from formats_helpers import count_tasks as tasks

pytest.importorskip("pytestqt")


pytestmark = pytest.mark.gui


@pytest.fixture()
def window(empty_window):
    return empty_window


def test_bad_records_listed_then_valid_ones_imported(window, qtbot, tmp_path):
    rows = [{"instruction": f"Task {i}.", "input": "", "output": str(i)} for i in range(8)]
    rows[2]["instruction"] = ""
    rows[5]["output"] = 5
    src = tmp_path / "mixed.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    window.import_path(src)
    qtbot.waitUntil(lambda: window.skip_invalid_button.isVisible(), timeout=20_000)
    assert "line 3, field 'instruction'" in window.last_error
    assert "line 6, field 'output'" in window.last_error
    assert "reject 2" in window.skip_invalid_button.text()
    assert tasks(window.ws.path) == 0
    window.skip_invalid_button.click()
    qtbot.waitUntil(lambda: window.seeds.model.total == 6, timeout=20_000)
    assert "2 bad records left out" in window.statusBar().currentMessage()
    rejected = [
        json.loads(x)
        for x in (tmp_path / "mixed.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["line"] for r in rejected] == [3, 6]
    assert not window.skip_invalid_button.isVisible()
    assert window.skip_invalid_button.isHidden()  # hidden itself, not only with the banner
    window.error_banner.show()  # a later banner does not bring the old offer back
    assert not window.skip_invalid_button.isVisible()


def test_failed_import_messages_are_worded_for_the_window(window, qtbot, tmp_path):
    """Breaker finding 10: the status bar stops saying "Importing …" once an import failed,
    the banner names the window's button (not the CLI's --skip-invalid), and opening the
    mapping form for the next file clears the previous file's banner."""
    from workbench.gui.import_mapping import ImportMappingDialog

    src = tmp_path / "bad.jsonl"
    src.write_text(
        '{"instruction": "Say hi.", "output": "hi"}\n{"instruction": "", "output": "x"}\n',
        encoding="utf-8",
    )
    window.import_path(src)
    assert window.statusBar().currentMessage() == "Importing bad.jsonl…"
    qtbot.waitUntil(lambda: window.skip_invalid_button.isVisible(), timeout=20_000)
    assert "Importing" not in window.statusBar().currentMessage()
    assert "--skip-invalid" not in window.last_error
    assert "Import the valid records (reject 1)" in window.last_error
    assert "bad.rejected.jsonl" in window.last_error

    missing = tmp_path / "gone.jsonl"
    window.import_path(missing)  # fails in the worker: the banner, and no "Importing …"
    qtbot.waitUntil(lambda: "no such file" in window.last_error, timeout=20_000)
    assert "Importing" not in window.statusBar().currentMessage()
    assert not window.skip_invalid_button.isVisible()

    table = tmp_path / "t.tsv"
    table.write_text("instruction\toutput\nSay hi.\thi\n", encoding="utf-8")
    dialog = window.map_columns(table)
    assert isinstance(dialog, ImportMappingDialog)
    assert not window.error_banner.isVisible()
    dialog.reject()


def test_seed_file_with_bad_lines_has_a_way_through_too(window, qtbot, tmp_path):
    lines = [
        json.dumps(
            {
                "id": f"s{i}",
                "name": f"s{i}",
                "instruction": f"Seed {i}.",
                "instances": [{"input": "", "output": "x"}],
                "is_classification": False,
            }
        )
        for i in range(5)
    ]
    lines[1] = lines[1].replace('"output": "x"', '"output": 7')
    src = tmp_path / "seeds.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    window.import_path(src)
    qtbot.waitUntil(lambda: window.skip_invalid_button.isVisible(), timeout=20_000)
    assert "line 2" in window.last_error
    window.skip_invalid_button.click()
    qtbot.waitUntil(lambda: window.seeds.model.total == 4, timeout=20_000)


def test_hub_folder_with_splits_asks_which(window, qtbot, tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pytest.importorskip("datasets")
    from PySide6.QtWidgets import QInputDialog

    folder = tmp_path / "hub"
    (folder / "data").mkdir(parents=True)
    for split, n in (("train", 3), ("test", 2)):
        rows = [{"instruction": f"{split} task {i}.", "input": "", "output": "o"} for i in range(n)]
        pq.write_table(
            pa.Table.from_pylist(rows), folder / "data" / f"{split}-00000-of-00001.parquet"
        )
    asked = []

    def choose(parent, title, label, items, *rest):
        asked.append(list(items))
        return "test", True

    monkeypatch.setattr(QInputDialog, "getItem", choose)
    window.import_path(folder)
    qtbot.waitUntil(lambda: window.seeds.model.total == 2, timeout=30_000)
    assert sorted(asked[0]) == ["test", "train"]


def first_example(path) -> tuple[str, str, str, dict]:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(
            "SELECT t.instruction, i.input, i.output, i.meta FROM instances i "
            "JOIN tasks t ON t.id = i.task_id ORDER BY i.seq, i.id LIMIT 1"
        ).fetchone()
        return row[0], row[1], row[2], json.loads(row[3])
    finally:
        conn.close()


def test_table_columns_mapped_in_the_import_form(window, qtbot, shared_data, monkeypatch):
    """FLAN's GSM8K CoT table (question, answer, rationale; no header): the form shows the
    columns and first rows, maps them, and the core's tabular reader imports with the mapping."""
    from PySide6.QtWidgets import QFileDialog

    from workbench.gui.import_mapping import ImportMappingDialog

    src = shared_data / "datasets" / "flan" / "gsm8k_train.tsv"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(src), ""))
    window.act_import.trigger()
    dialog = window.findChild(ImportMappingDialog)
    assert dialog is not None and dialog.isVisible()
    assert not dialog.header.isChecked()  # no header row: FLAN CoT's names
    headers = [dialog.table.horizontalHeaderItem(i).text() for i in range(3)]
    assert headers == ["question", "answer", "rationale"]
    assert dialog.table.rowCount() == 5
    assert dialog.table.item(0, 1).text() == "72"
    assert dialog.mapping() == {
        "instruction": "question",
        "input": None,
        "output": "answer",
        "rationale": "rationale",
    }
    assert "So the answer is 72." in dialog.sample.text()

    # Without the rationale the output is the bare answer (the rationale stays in meta).
    dialog.combos["rationale"].setCurrentIndex(0)
    assert dialog.options() == {
        "instruction": "question",
        "input": "",
        "output": "answer",
        "header": "no",
        "columns": "question,answer,rationale",
    }
    dialog.combos["output"].setCurrentIndex(0)
    assert not dialog.import_btn.isEnabled() and "output" in dialog.message.text()
    dialog.combos["output"].setCurrentText("answer")
    dialog.combos["rationale"].setCurrentText("rationale")
    qtbot.waitUntil(dialog.import_btn.isEnabled, timeout=20_000)  # the whole file checked
    dialog.import_btn.click()
    qtbot.waitUntil(lambda: tasks(window.ws.path) == 40, timeout=20_000)
    instruction, input_, output, meta = first_example(window.ws.path)
    assert instruction.startswith("Natalia sold clips to 48 of her friends")
    assert input_ == ""
    assert output == (
        "Natalia sold 48 / 2 = 24 clips in May. Natalia sold 48 + 24 = 72 clips altogether "
        "in April and May. So the answer is 72."
    )
    assert meta["answer"] == "72" and meta["rationale"].startswith("Natalia sold 48 / 2")


def test_json_records_with_unknown_fields_offer_the_mapping(window, qtbot, tmp_path):
    from workbench.gui.import_mapping import ImportMappingDialog

    src = tmp_path / "mine.jsonl"
    rows = [
        {"ask": f"Add {i} and {i}.", "given": f"{i}+{i}", "reply": str(2 * i), "lang": "en"}
        for i in range(6)
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    window.import_path(src)
    qtbot.waitUntil(lambda: window.findChild(ImportMappingDialog) is not None, timeout=20_000)
    dialog = window.findChild(ImportMappingDialog)
    assert "could not be recognised" in dialog.about.text()
    assert not dialog.header.isVisibleTo(dialog)
    assert [dialog.table.horizontalHeaderItem(i).text() for i in range(4)] == [
        "ask",
        "given",
        "reply",
        "lang",
    ]
    assert not dialog.import_btn.isEnabled()  # nothing known to map by default
    dialog.combos["instruction"].setCurrentText("ask")
    dialog.combos["input"].setCurrentText("given")
    dialog.combos["output"].setCurrentText("reply")
    assert dialog.fmt() == "inputs-targets"
    qtbot.waitUntil(dialog.import_btn.isEnabled, timeout=20_000)  # the whole file checked
    dialog.import_btn.click()
    qtbot.waitUntil(lambda: tasks(window.ws.path) == 6, timeout=20_000)
    assert first_example(window.ws.path) == ("Add 0 and 0.", "0+0", "0", {"lang": "en"})


def test_mapping_form_checks_the_whole_file_then_imports_the_valid(window, qtbot, tmp_path):
    # 40 good rows, then a short and a long row: the first rows read well, the file does not.
    src = tmp_path / "late.csv"
    lines = ["question,answer"] + [f"q{i},a{i}" for i in range(40)] + ["short", "x,y,z"]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dialog = window.map_columns(src)
    assert not dialog.import_btn.isEnabled()  # the first rows read well: the file is checked
    qtbot.waitUntil(lambda: not dialog.checking, timeout=20_000)
    assert not dialog.import_btn.isEnabled()  # a plain Import would fail on line 42
    assert "2 records" in dialog.message.text()
    assert "line 42" in dialog.message.text() and "line 43" in dialog.message.text()
    assert dialog.skip_btn.isVisibleTo(dialog)
    assert "reject 2" in dialog.skip_btn.text()
    assert "--skip-invalid" in dialog.command.text()
    dialog.skip_btn.click()
    qtbot.waitUntil(lambda: window.seeds.model.total == 40, timeout=20_000)
    assert (tmp_path / "late.rejected.jsonl").exists()


def test_mapping_form_records_checked_whole_and_large_files_noted(qtbot, tmp_path, monkeypatch):
    from workbench.gui import import_mapping
    from workbench.gui.import_mapping import ImportMappingDialog

    src = tmp_path / "late.jsonl"
    rows = [{"q": f"q{i}", "a": f"a{i}"} for i in range(30)] + [{"q": "q30", "a": ["y"]}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    dialog = ImportMappingDialog(src)
    qtbot.addWidget(dialog)
    dialog.combos["instruction"].setCurrentIndex(1)
    dialog.combos["output"].setCurrentIndex(2)
    qtbot.waitUntil(lambda: not dialog.checking, timeout=20_000)
    assert not dialog.import_btn.isEnabled()
    assert "1 record" in dialog.message.text() and "line 31, field 'a'" in dialog.message.text()
    assert "reject 1" in dialog.skip_btn.text() and dialog.skip_btn.isVisibleTo(dialog)

    monkeypatch.setattr(import_mapping, "FULL_CHECK_BYTES", 10)  # "too large" to read here
    dialog.combos["output"].setCurrentIndex(0)
    dialog.combos["output"].setCurrentIndex(2)
    assert dialog.import_btn.isEnabled() and not dialog.skip_btn.isVisibleTo(dialog)
    assert "Checked the first rows only" in dialog.message.text()
