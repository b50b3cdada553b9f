"""Inspect on runs built from stored candidates (no model): overrides are left out of the
threshold preview (core and panel), go through the window's undo stack with the task they
make, the panel follows the newest run unless one was picked by hand, and a run nobody holds
is listed as interrupted."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from test_inspect_core import make_run  # noqa: E402

from workbench.core.inspect import overrides, refilter  # noqa: E402
from workbench.core.selfinstruct import candidates  # noqa: E402
from workbench.core.store.run_lock import hold_run  # noqa: E402
from workbench.core.store.runs import create_run, set_run_status  # noqa: E402

pytestmark = pytest.mark.gui


def test_an_overridden_candidate_is_not_a_change_of_the_preview(tmp_workspace):
    ws = tmp_workspace
    run, ids = make_run(ws, threshold=0.7)
    overrides.set_override(ws, ids[0], "kept", "different season")  # dropped by ROUGE-L, 0.83
    plan = refilter.build_plan(ws, run)
    held = refilter.overridden(ws, run)
    assert held == {ids[0]}
    for t in (0.7, 0.6):  # the run's own threshold, then another one applied
        res = refilter.decisions_at(plan, t)
        cur = refilter.current_decisions(ws, run)
        assert refilter.changes(plan, res, cur, held) == []
        stays = refilter.override_stays(plan, res, cur, held)
        assert [(c.candidate_id, c.old, c.new) for c in stays] == [(ids[0], "kept", "dropped")]
        refilter.apply_threshold(ws, plan, t)
    assert refilter.current_decisions(ws, run)[ids[0]] == "kept"  # the override stayed


@pytest.fixture()
def made(empty_window):
    run, ids = make_run(empty_window.ws, threshold=0.7)
    empty_window.inspect.reload()
    return empty_window, run, ids


def test_the_threshold_tab_lists_an_override_apart(made, qtbot):
    window, run, ids = made
    panel = window.inspect
    window.show_panel("Inspect")
    qtbot.waitUntil(lambda: panel.plan is not None, timeout=30_000)
    assert panel.select_candidate(ids[0])
    panel.keep_btn.click()
    for v in (70, 60):
        panel.slider.setValue(v)
        qtbot.waitUntil(lambda v=v: panel.counts_label.text().startswith(f"At {v / 100:.2f}"))
        assert "— 0 would change; 1 overridden by hand" in panel.counts_label.text()
        assert panel.changed == []
        assert [c.candidate_id for c in panel.override_stays] == [ids[0]]
        assert panel.changed_list.item(0).text().startswith(f"#{ids[0]}  override stays: kept")
    assert panel.apply_threshold() is not None
    assert "— 0 would change" in panel.counts_label.text()


def test_ctrl_z_undoes_and_redoes_an_override_with_its_task(made, qtbot):
    window, run, ids = made
    ws, panel = window.ws, window.inspect
    window.show_panel("Inspect")
    cid = ids[0]  # dropped by ROUGE-L: it has no task
    assert candidates.task_of(ws, cid) is None
    assert panel.select_candidate(cid)
    panel.note.setText("different season")
    panel.keep_btn.click()
    task = candidates.task_of(ws, cid)
    assert task is not None and window.undo_stack.count() == 1
    assert panel.current[cid] == "kept"

    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert overrides.get_override(ws, cid) is None and candidates.task_of(ws, cid) is None
    assert panel.current[cid] == "dropped" and "No override." in panel.override_info.text()
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(panel.table, Qt.Key.Key_Z, keys)
    ov = overrides.get_override(ws, cid)
    assert ov["decision"] == "kept" and ov["note"] == "different season"
    assert candidates.task_of(ws, cid) == task == ov["created_task_id"]  # the same task back

    # The button stays and is one undo step too.
    panel.undo_override_btn.click()
    assert window.undo_stack.count() == 2 and candidates.task_of(ws, cid) is None
    window.act_undo.trigger()
    assert candidates.task_of(ws, cid) == task and panel.current[cid] == "kept"
    assert ws.integrity_check() == "ok"


def _new_run(ws, status="finished"):
    run = create_run(ws, "self-instruct", {"threshold": 0.7, "tokenizer": "rouge"})
    set_run_status(ws, run, status)
    return run


def test_inspect_follows_the_newest_run_unless_one_was_picked(made, qtbot):
    window, run1, _ids = made
    ws, panel = window.ws, window.inspect
    window.show_panel("Inspect")
    assert panel.run_id == run1
    run2 = _new_run(ws)
    window._after_run()  # what the window does when a Generate run ends
    assert panel.run_id == run2 and panel.newer_link.isHidden()
    # Picked by hand: a new run does not take the view away, a link offers it.
    panel.run.setCurrentIndex(panel.run.findData(run1))
    panel.run.activated.emit(panel.run.currentIndex())
    assert panel.newer_link.isHidden()
    run3 = _new_run(ws)
    window._after_run()
    assert panel.run_id == run1
    assert not panel.newer_link.isHidden()
    assert f"Run {run3} finished — show" in panel.newer_link.text()
    panel.newer_link.linkActivated.emit("newest")
    assert panel.run_id == run3 and panel.newer_link.isHidden()
    run4 = _new_run(ws)
    panel.reload()
    assert panel.run_id == run4


def test_a_run_nobody_holds_is_listed_as_interrupted(made, qtbot):
    window, run, _ids = made
    ws, panel = window.ws, window.inspect
    assert ws.scalar("SELECT status FROM runs WHERE id = ?", (run,)) == "running"
    assert panel.run.itemText(0).startswith(f"Run {run} · interrupted ·")
    window.generate.check_resumable()
    assert "was interrupted" in window.generate.banner_text.text()  # Generate agrees
    with hold_run(ws, run):  # a process working on it
        panel.reload()
        assert panel.run.itemText(0).startswith(f"Run {run} · running ·")
