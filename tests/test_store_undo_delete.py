"""Deleting a task and undoing it puts back the task and every link to it: the candidate it was
accepted from (both directions), a CoT path's record, an inspector override, subset membership."""

from __future__ import annotations

from workbench.core.store.runs import create_run
from workbench.core.store.tasks import (
    Instance,
    Task,
    add_task,
    delete_task_undoably,
    get_task,
    restore_task,
)


def _linked_task(ws):
    run = create_run(ws, "self-instruct", {"target": 1})
    with ws.transaction():
        cand = ws.insert(
            "candidates",
            {
                "run_id": run,
                "batch": 0,
                "position": 0,
                "instruction": "Name a colour.",
                "decision": "kept",
            },
        )
        tid = add_task(
            ws,
            Task(
                "Name a colour.",
                [Instance("", "blue"), Instance("x", "red")],
                False,
                source="generated",
                run_id=run,
                meta={"tags": ["t"]},
            ),
            candidate_id=cand,
        )
        ws.execute("UPDATE candidates SET task_id = ? WHERE id = ?", (tid, cand))
        ws.insert(
            "inspect_overrides",
            {"candidate_id": cand, "decision": "kept", "note": "ok", "created_task_id": tid},
        )
        item = ws.insert(
            "cot_items",
            {
                "run_id": run,
                "position": 0,
                "source": "workspace",
                "cot_type": "task",
                "instruction": "q",
                "answer_kind": "text",
            },
        )
        path = ws.insert(
            "cot_paths", {"item_id": item, "sample_index": 0, "rationale": "r", "task_id": tid}
        )
        keep = ws.insert(
            "selections", {"name": "keep", "method": "kcenter", "config": {}, "stats": {}}
        )
        gone = ws.insert(
            "selections", {"name": "gone", "method": "kcenter", "config": {}, "stats": {}}
        )
        for sid in (keep, gone):
            ws.insert("selection_members", {"selection_id": sid, "task_id": tid, "position": 3})
    return tid, cand, path, keep, gone


def test_undo_of_a_delete_restores_every_link(tmp_workspace):
    ws = tmp_workspace
    tid, cand, path, keep, gone = _linked_task(ws)
    before = get_task(ws, tid)
    deleted = delete_task_undoably(ws, tid)
    assert get_task(ws, tid) is None
    assert ws.scalar("SELECT task_id FROM candidates WHERE id = ?", (cand,)) is None
    assert ws.scalar("SELECT count(*) FROM selection_members") == 0
    with ws.transaction():  # meanwhile one subset is deleted: its membership cannot come back
        ws.execute("DELETE FROM selections WHERE id = ?", (gone,))

    assert restore_task(ws, deleted) == tid
    after = get_task(ws, tid)
    assert after.instruction == before.instruction and after.instances == before.instances
    assert after.meta == before.meta and after.run_id == before.run_id
    assert ws.scalar("SELECT candidate_id FROM tasks WHERE id = ?", (tid,)) == cand
    assert ws.scalar("SELECT task_id FROM candidates WHERE id = ?", (cand,)) == tid
    assert (
        ws.scalar("SELECT created_task_id FROM inspect_overrides WHERE candidate_id = ?", (cand,))
        == tid
    )
    assert ws.scalar("SELECT task_id FROM cot_paths WHERE id = ?", (path,)) == tid
    assert ws.query("SELECT selection_id, task_id, position FROM selection_members") == [
        {"selection_id": keep, "task_id": tid, "position": 3}
    ]
    assert ws.scalar("PRAGMA foreign_key_check") is None


def test_deleting_a_missing_task_gives_nothing_to_undo(tmp_workspace):
    assert delete_task_undoably(tmp_workspace, 12345) is None
