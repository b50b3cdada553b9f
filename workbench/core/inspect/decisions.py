"""The decision in force for each candidate of a run: a person's override, else the newest
decision set Inspect applied, else the run's own decision — the `candidate_decisions` view
(migration v005), read through `selfinstruct.candidates`. Read by the re-filter (`refilter`) and
by overrides (`overrides`), so it sits below both.
"""

from __future__ import annotations

import json
from typing import Any

from ..selfinstruct import candidates
from ..store.workspace import Workspace


def decision_sets(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    """The thresholds Inspect applied to the run, oldest first: id, run_id, threshold,
    counts ({"kept": n, "dropped": n}), created_at. The newest is in force."""
    rows = ws.query(
        "SELECT id, run_id, threshold, counts, created_at FROM inspect_decision_sets "
        "WHERE run_id = ? ORDER BY id",
        (run_id,),
    )
    for r in rows:
        r["counts"] = json.loads(r["counts"] or "{}")
    return rows


def current_decisions(ws: Workspace, run_id: int) -> dict[int, str]:
    """What is in force per candidate id: "kept", "dropped" or "pending"."""
    return {cid: str(f.decision) for cid, f in candidates.in_force(ws, run_id).items()}


def overridden(ws: Workspace, run_id: int) -> set[int]:
    """Ids of the run's candidates whose decision in force is a person's override (it wins over
    every threshold, so a re-filter preview never changes them)."""
    return {cid for cid, f in candidates.in_force(ws, run_id).items() if f.decided_by == "override"}
