"""File > Import through the real menu action, a worker thread, and the workspace file."""

from __future__ import annotations

import json
import sqlite3

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QFileDialog  # noqa: E402

pytestmark = pytest.mark.gui


def count(path, sql="SELECT count(*) FROM tasks"):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture()
def window(empty_window):
    return empty_window


def write_seeds(path, n, *, bad_line=None):
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            obj = {
                "id": f"seed_{i}",
                "name": f"seed_{i}",
                "instruction": f"Seed instruction number {i}.",
                "instances": [{"input": f"in {i}", "output": f"out {i}"}],
                "is_classification": i % 3 == 0,
            }
            if bad_line is not None and i + 1 == bad_line:
                obj["instances"] = [{"input": "x", "output": 7}]
            fh.write(json.dumps(obj) + "\n")


def test_import_from_the_file_menu(window, qtbot, tmp_path, monkeypatch):
    src = tmp_path / "seeds.jsonl"
    write_seeds(src, 40)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(src), ""))
    window.show_panel("Export")
    window.act_import.trigger()
    qtbot.waitUntil(lambda: window.seeds.model.total == 40, timeout=20_000)
    assert count(window.ws.path) == 40
    assert count(window.ws.path, "SELECT count(*) FROM tasks WHERE is_classification = 1") == 14
    assert window.seeds.count_label.text() == "40 tasks"
    assert window.stack.currentWidget() is window.seeds
    assert "Imported 40 tasks" in window.statusBar().currentMessage()

    # The same file again: every task is a duplicate, nothing is added.
    window.import_path(src)
    qtbot.waitUntil(
        lambda: "duplicates skipped" in window.statusBar().currentMessage(), timeout=20_000
    )
    assert count(window.ws.path) == 40


def test_a_bad_file_shows_where_and_imports_nothing(window, qtbot, tmp_path):
    src = tmp_path / "bad.jsonl"
    write_seeds(src, 10, bad_line=7)
    window.import_path(src)
    qtbot.waitUntil(lambda: window.error_banner.isVisible(), timeout=20_000)
    assert "line 7" in window.last_error and "instances[0].output" in window.last_error
    assert count(window.ws.path) == 0
    assert window.seeds.model.total == 0
