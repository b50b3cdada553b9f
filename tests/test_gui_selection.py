"""Subsets panel: choose a k-center subset of the bundled seeds in a worker, see it saved and
listed, export it, delete it; the numbers shown are the core's."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from workbench.core.selection.select import list_selections, selection_task_ids  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture()
def window(seeded_window):
    seeded_window.show_panel("Subsets")
    return seeded_window


def _choose(panel, qtbot) -> None:
    assert panel.start()
    assert not panel.choose_btn.isEnabled()
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)


def test_choose_a_subset_then_export_and_delete_it(window, qtbot, tmp_path):
    panel = window.subsets
    assert panel.saved.count() == 0 and not panel.export_btn.isEnabled()
    panel.budget.setValue(12)
    panel.name.setText("spread 12")
    _choose(panel, qtbot)
    assert not window.error_banner.isVisible(), window.last_error
    rows = list_selections(window.ws)
    assert [r["name"] for r in rows] == ["spread 12"] and rows[0]["size"] == 12
    assert panel.current_name() == "spread 12"
    ids = selection_task_ids(window.ws, "spread 12")
    shown = [panel.members.item(i).data(0x0100) for i in range(panel.members.count())]
    assert shown == ids  # in the order chosen
    first = window.ws.scalar("SELECT instruction FROM tasks WHERE id = ?", (ids[0],))
    assert panel.members.item(0).text() == f"1. {first}"
    stats = rows[0]["stats"]
    assert f"max {stats['max_distance']:.3f}" in panel.result.text()
    assert stats["max_distance"] <= stats["random_max_distance"]  # k-center spreads out

    # A second subset by fraction, random: both listed, newest first.
    panel.size_mode.setCurrentIndex(panel.size_mode.findData("fraction"))
    assert panel.fraction.isVisibleTo(panel) and not panel.budget.isVisibleTo(panel)
    panel.fraction.setValue(0.05)
    panel.method.setCurrentIndex(panel.method.findData("random"))
    panel.name.clear()
    _choose(panel, qtbot)
    assert panel.saved.count() == 2
    assert panel.current_name() == "random-9-seed0"  # ceil(0.05 * 175) = 9
    assert panel.members.count() == 9

    # Export the first one as Alpaca JSON with one instruction wording.
    panel.saved.setCurrentRow(1)
    assert panel.current_name() == "spread 12" and panel.members.count() == 12
    panel.export_format.setCurrentIndex(panel.export_format.findData("alpaca"))
    panel.one_instruction.setChecked(True)
    out = tmp_path / "subset.json"
    assert panel.export_current(out)
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    records = json.loads(out.read_text(encoding="utf-8"))
    assert len(records) >= 12 and len({r["instruction"] for r in records}) == 1
    assert "Wrote" in panel.result.text() and str(out) in panel.result.text()

    panel.delete_current()
    assert [r["name"] for r in list_selections(window.ws)] == ["random-9-seed0"]
    assert panel.saved.count() == 1
    assert window.ws.scalar("SELECT count(*) FROM tasks") == 175  # tasks stay


def test_a_bad_request_is_shown_and_the_panel_stays_usable(window, qtbot):
    panel = window.subsets
    with window.ws.transaction():
        window.ws.execute("DELETE FROM tasks")  # nothing to select from
    with qtbot.waitSignal(panel.error, timeout=60_000):
        assert panel.start()
    assert "no tasks" in window.last_error and window.error_banner.isVisible()
    qtbot.waitUntil(lambda: panel.choose_btn.isEnabled() and panel.job is None)
    assert list_selections(window.ws) == []


def test_subsets_survive_reopening_the_workspace(window, qtbot, tmp_path):
    from workbench.core.store.workspace import Workspace
    from workbench.gui.main_window import MainWindow

    panel = window.subsets
    panel.budget.setValue(7)
    _choose(panel, qtbot)
    path = window.ws.path
    again = MainWindow(Workspace.open(path))
    qtbot.addWidget(again)
    try:
        assert again.subsets.saved.count() == 1
        assert again.subsets.members.count() == 7
    finally:
        again.shutdown()


def test_an_unknown_task_is_told_in_the_panel(window, qtbot):
    panel = window.subsets
    panel.budget.setValue(5)
    panel.task.setText("nosuchthingzzz")
    with qtbot.waitSignal(panel.error, timeout=60_000):
        assert panel.start()
    qtbot.waitUntil(lambda: panel.job is None)
    text = panel.result.text()
    assert "no task matches 'nosuchthingzzz'" in text and "'seed'" in text
    assert panel.choose_btn.isEnabled() and list_selections(window.ws) == []
