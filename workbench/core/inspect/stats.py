"""Dataset statistics for the inspector's charts: instruction length, instances per task and
the most frequent leading verbs (as in the Self-Instruct paper's figures)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ..store.tasks import NOT_DROPPED
from ..store.workspace import Workspace

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
# Words that open an instruction without being its verb ("Please write ...", "Can you ...").
_SKIP = {
    "please",
    "can",
    "could",
    "would",
    "you",
    "now",
    "then",
    "also",
    "kindly",
    "the",
    "a",
    "an",
    "and",
    "i",
    "we",
    "let's",
    "lets",
}


def _where(run_id: int | None, source: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = [NOT_DROPPED]
    params: list[Any] = []
    if run_id is not None:
        clauses.append("run_id = ?")
        params.append(run_id)
    if source is not None:
        clauses.append("source = ?")
        params.append(source)
    return " AND ".join(clauses), params


def instruction_lengths(
    ws: Workspace, run_id: int | None = None, source: str | None = None
) -> list[int]:
    """Words per instruction (whitespace split) of the tasks not dropped in force."""
    where, params = _where(run_id, source)
    return [
        len(r[0].split())
        for r in ws.execute(f"SELECT instruction FROM tasks WHERE {where} ORDER BY id", params)
    ]


def instances_per_task(
    ws: Workspace, run_id: int | None = None, source: str | None = None
) -> dict[int, int]:
    """{number of instances: number of tasks with that many}, in ascending order."""
    where, params = _where(run_id, source)
    rows = ws.execute(
        f"SELECT (SELECT count(*) FROM instances i WHERE i.task_id = t.id) "
        f"FROM tasks t WHERE {where}",
        params,
    ).fetchall()
    counts = Counter(r[0] for r in rows)
    return dict(sorted(counts.items()))


def leading_verb(instruction: str) -> str | None:
    """The first word that is not a politeness or filler word, lower-cased."""
    for w in _WORD.findall(instruction):
        lw = w.lower()
        if lw not in _SKIP:
            return lw
    return None


def leading_verbs(
    ws: Workspace, run_id: int | None = None, source: str | None = None, top: int = 15
) -> list[tuple[str, int]]:
    """The `top` most frequent leading verbs, most frequent first (ties alphabetical)."""
    where, params = _where(run_id, source)
    counts = Counter(
        v
        for (text,) in ws.execute(f"SELECT instruction FROM tasks WHERE {where}", params)
        if (v := leading_verb(text)) is not None
    )
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
