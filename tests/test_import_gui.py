"""The window's import: bad records listed at once in the banner, then "Import the valid
records" imports the others and writes the rejected ones beside the file (issue 18 item 4)."""

from __future__ import annotations

import json
import sqlite3

import pytest

pytest.importorskip("pytestqt")

from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture()
def window(qtbot, tmp_path):
    from workbench.gui.main_window import MainWindow

    ws = Workspace.open(tmp_path / "ws.sqlite", create=True)
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def tasks(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        conn.close()


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
