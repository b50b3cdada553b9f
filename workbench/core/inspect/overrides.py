"""A person's keep/drop of one candidate, with a note; stored, undoable, and exported.

The exporter's "kept only" reads `tasks.meta["dropped"]`, so the decision in force for a
candidate (`decisions.current_decisions`) is mirrored on its task by `sync_task`: dropping a kept
candidate marks its task dropped; keeping it again clears the mark; keeping a candidate that has
no task creates one (source "generated", with the candidate's stored instances if any).
"""
from __future__ import annotations

import json
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task, add_task, delete_task
from ..store.workspace import Workspace
from .decisions import base_decisions

DECISIONS = ("kept", "dropped")


def _candidate(ws: Workspace, candidate_id: int) -> dict[str, Any]:
    rows = ws.query("SELECT * FROM candidates WHERE id = ?", (candidate_id,))
    if not rows:
        raise UserInputError(f"no candidate {candidate_id} in this workspace", field="candidate")
    return rows[0]


def get_override(ws: Workspace, candidate_id: int) -> dict[str, Any] | None:
    rows = ws.query("SELECT * FROM inspect_overrides WHERE candidate_id = ?", (candidate_id,))
    return rows[0] if rows else None


def list_overrides(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    return ws.query("SELECT o.*, c.instruction FROM inspect_overrides o JOIN candidates c "
                    "ON c.id = o.candidate_id WHERE c.run_id = ? ORDER BY o.created_at",
                    (run_id,))


def effective_decision(ws: Workspace, candidate_id: int) -> str:
    ov = get_override(ws, candidate_id)
    if ov is not None:
        return ov["decision"]
    cand = _candidate(ws, candidate_id)
    return base_decisions(ws, cand["run_id"])[candidate_id][0]


def candidate_task_id(ws: Workspace, candidate_id: int) -> int | None:
    tid = ws.scalar("SELECT task_id FROM candidates WHERE id = ? AND task_id IN "
                    "(SELECT id FROM tasks)", (candidate_id,))
    if tid is None:
        tid = ws.scalar("SELECT id FROM tasks WHERE candidate_id = ? ORDER BY id LIMIT 1",
                        (candidate_id,))
    return tid


def _stored_instances(cand: dict[str, Any]) -> list[Instance]:
    try:
        items = json.loads(cand.get("instances") or "[]")
    except (TypeError, ValueError):
        return []
    items = [d for d in items if isinstance(d, dict)]
    kept = [d for d in items if d.get("kept", True)]
    return [Instance(str(d.get("input", "")), str(d.get("output", ""))) for d in kept]


def _set_dropped(ws: Workspace, task_id: int, dropped: bool) -> None:
    meta = json.loads(ws.scalar("SELECT meta FROM tasks WHERE id = ?", (task_id,)) or "{}")
    if dropped:
        meta["dropped"] = True
    else:
        meta.pop("dropped", None)
    ws.execute("UPDATE tasks SET meta = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
               "WHERE id = ?", (json.dumps(meta), task_id))


def sync_task(ws: Workspace, candidate_id: int) -> int | None:
    """Make the candidate's task agree with its decision in force; returns a task it created."""
    cand = _candidate(ws, candidate_id)
    decision = effective_decision(ws, candidate_id)
    with ws.transaction():
        tid = candidate_task_id(ws, candidate_id)
        if decision == "kept":
            if tid is not None:
                _set_dropped(ws, tid, False)
                return None
            clf = cand["is_classification"]
            return add_task(ws, Task(cand["instruction"], _stored_instances(cand),
                                     None if clf is None else bool(clf), source="generated",
                                     origin="inspect-override", run_id=cand["run_id"]),
                            candidate_id=candidate_id)
        if tid is not None:
            _set_dropped(ws, tid, True)
    return None


def set_override(ws: Workspace, candidate_id: int, decision: str, note: str = "") -> None:
    """Keep or drop a candidate whatever the filter said; the note says why."""
    if decision not in DECISIONS:
        raise UserInputError(f"an override keeps or drops, not {decision!r}", field="decision")
    _candidate(ws, candidate_id)
    with ws.transaction():
        old = get_override(ws, candidate_id)
        created = old["created_task_id"] if old else None
        ws.execute(
            """INSERT INTO inspect_overrides (candidate_id, decision, note, created_task_id)
               VALUES (?, ?, ?, ?) ON CONFLICT(candidate_id) DO UPDATE SET
               decision = excluded.decision, note = excluded.note,
               created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')""",
            (candidate_id, decision, note or "", created))
        made = sync_task(ws, candidate_id)
        if made is not None:
            ws.execute("UPDATE inspect_overrides SET created_task_id = ? WHERE candidate_id = ?",
                       (made, candidate_id))


def clear_override(ws: Workspace, candidate_id: int) -> None:
    """Undo an override: the filter's decision is in force again (a task it made is removed)."""
    with ws.transaction():
        old = get_override(ws, candidate_id)
        if old is None:
            return
        ws.execute("DELETE FROM inspect_overrides WHERE candidate_id = ?", (candidate_id,))
        if old["created_task_id"] is not None and effective_decision(ws, candidate_id) != "kept":
            delete_task(ws, old["created_task_id"])
        else:
            sync_task(ws, candidate_id)
