"""The decision in force for each candidate of a run: a person's override, else the newest
decision set Inspect applied, else the run's own decision. Read by the re-filter (`refilter`) and
by overrides (`overrides`), so it sits below both.
"""
from __future__ import annotations

import json
from typing import Any

from ..store.workspace import Workspace


def decision_sets(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    rows = ws.query("SELECT id, run_id, threshold, counts, created_at FROM inspect_decision_sets "
                    "WHERE run_id = ? ORDER BY id", (run_id,))
    for r in rows:
        r["counts"] = json.loads(r["counts"] or "{}")
    return rows


def active_set(ws: Workspace, run_id: int) -> int | None:
    return ws.scalar("SELECT max(id) FROM inspect_decision_sets WHERE run_id = ?", (run_id,))


def base_decisions(ws: Workspace, run_id: int) -> dict[int, tuple[str, str | None]]:
    """Decisions before overrides: the newest decision set's, else the run's own."""
    out = {r["id"]: (r["decision"], r["reason"]) for r in ws.query(
        "SELECT id, decision, reason FROM candidates WHERE run_id = ?", (run_id,))}
    sid = active_set(ws, run_id)
    if sid is not None:
        for r in ws.query("SELECT candidate_id, decision, reason FROM inspect_decisions "
                          "WHERE set_id = ?", (sid,)):
            out[r["candidate_id"]] = (r["decision"], r["reason"])
    return out


def current_decisions(ws: Workspace, run_id: int) -> dict[int, str]:
    """What is in force per candidate: an override, else the newest decision set, else the run."""
    out = {cid: d for cid, (d, _r) in base_decisions(ws, run_id).items()}
    for r in ws.query("SELECT o.candidate_id, o.decision FROM inspect_overrides o "
                      "JOIN candidates c ON c.id = o.candidate_id WHERE c.run_id = ?", (run_id,)):
        out[r["candidate_id"]] = r["decision"]
    return out
