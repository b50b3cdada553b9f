"""A person's keep/drop of one candidate, with a note; stored, undoable, and exported.

An override wins over the run's decision and over every decision set (the `candidate_decisions`
view says what is in force; exports and statistics read it through `task_decisions`). Nothing
is mirrored on tasks: dropping a kept candidate leaves its task where it is, and the views leave
it out. Keeping a candidate that has no task creates one (source "generated", with the
candidate's stored instances if any), and undoing that override removes it again.
"""

from __future__ import annotations

from typing import Any

from ..errors import UserInputError
from ..selfinstruct import candidates
from ..selfinstruct.candidates import Decision
from ..store.tasks import (
    DeletedTask,
    Instance,
    Task,
    add_task,
    delete_task_undoably,
    restore_task,
)
from ..store.workspace import Workspace

DECISIONS = (Decision.KEPT, Decision.DROPPED)


def _candidate(ws: Workspace, candidate_id: int) -> dict[str, Any]:
    row = candidates.get(ws, candidate_id)
    if row is None:
        raise UserInputError(f"no candidate {candidate_id} in this workspace", field="candidate")
    return row


def get_override(ws: Workspace, candidate_id: int) -> dict[str, Any] | None:
    rows = ws.query("SELECT * FROM inspect_overrides WHERE candidate_id = ?", (candidate_id,))
    return rows[0] if rows else None


def list_overrides(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    return ws.query(
        "SELECT o.*, c.instruction FROM inspect_overrides o JOIN candidates c "
        "ON c.id = o.candidate_id WHERE c.run_id = ? ORDER BY o.created_at",
        (run_id,),
    )


def effective_decision(ws: Workspace, candidate_id: int) -> str:
    """The decision in force for one candidate ("kept", "dropped" or "pending")."""
    found = candidates.in_force_one(ws, candidate_id)
    if found is None:
        raise UserInputError(f"no candidate {candidate_id} in this workspace", field="candidate")
    return str(found.decision)


def candidate_task_id(ws: Workspace, candidate_id: int) -> int | None:
    """The task made from the candidate, if any (`candidates.task_of`)."""
    return candidates.task_of(ws, candidate_id)


def sync_task(ws: Workspace, candidate_id: int) -> int | None:
    """Make sure a candidate kept in force has a task; returns a task it created.

    A candidate dropped in force keeps its task (if any): the views leave it out of exports
    and statistics, and keeping it again needs nothing but the decision."""
    cand = _candidate(ws, candidate_id)
    if effective_decision(ws, candidate_id) != Decision.KEPT:
        return None
    with ws.transaction():
        if candidate_task_id(ws, candidate_id) is not None:
            return None
        clf = cand["is_classification"]
        pairs = candidates.stored_instances(cand)
        return add_task(
            ws,
            Task(
                cand["instruction"],
                [Instance(i, o) for i, o in pairs],
                None if clf is None else bool(clf),
                source="generated",
                origin="inspect-override",
                run_id=cand["run_id"],
            ),
            candidate_id=candidate_id,
            call_id=cand["instances_call_id"],
        )


def set_override(ws: Workspace, candidate_id: int, decision: str, note: str = "") -> None:
    """Keep or drop a candidate whatever the filter said; the note says why. Raises
    UserInputError for a decision other than "kept"/"dropped" or an unknown candidate."""
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
            (candidate_id, str(decision), note or "", created),
        )
        made = sync_task(ws, candidate_id)
        if made is not None:
            ws.execute(
                "UPDATE inspect_overrides SET created_task_id = ? WHERE candidate_id = ?",
                (made, candidate_id),
            )


def clear_override(ws: Workspace, candidate_id: int) -> DeletedTask | None:
    """Undo an override: the filter's decision is in force again (a task it made is removed).
    Returns the removed task as `restore_override` needs it to put it back, else None."""
    with ws.transaction():
        old = get_override(ws, candidate_id)
        if old is None:
            return None
        ws.execute("DELETE FROM inspect_overrides WHERE candidate_id = ?", (candidate_id,))
        made = old["created_task_id"]
        if made is not None and effective_decision(ws, candidate_id) != Decision.KEPT:
            return delete_task_undoably(ws, made)
        sync_task(ws, candidate_id)
        return None


def restore_override(
    ws: Workspace,
    candidate_id: int,
    saved: dict[str, Any] | None,
    task: DeletedTask | None = None,
) -> DeletedTask | None:
    """Put a candidate's override back as `saved` was (a `get_override` row; None: no override)
    — the undo/redo of `set_override` and `clear_override`. `task` (what `clear_override`
    returned) is restored first under its old id, so an override that made a task gets that
    same task back. Returns a task this removed (see `clear_override`), else None. Raises
    UserInputError for an unknown candidate."""
    _candidate(ws, candidate_id)
    with ws.transaction():
        if task is not None and candidates.task_of(ws, candidate_id) is None:
            restore_task(ws, task)
        if saved is None:
            return clear_override(ws, candidate_id)
        set_override(ws, candidate_id, saved["decision"], saved.get("note") or "")
        made = saved.get("created_task_id")
        if made is not None and ws.scalar("SELECT count(*) FROM tasks WHERE id = ?", (made,)):
            ws.execute(
                "UPDATE inspect_overrides SET created_task_id = ? WHERE candidate_id = ?",
                (made, candidate_id),
            )
        return None
