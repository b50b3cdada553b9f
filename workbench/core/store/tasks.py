"""Tasks and their instances: the pool every method reads and grows."""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

from .workspace import Workspace

SOURCES = ("seed", "generated", "imported")


def normalize_instruction(text: str) -> str:
    """The key for exact-duplicate checks: NFKC, whitespace collapsed, case folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


@dataclass
class Instance:
    input: str = ""
    output: str = ""


@dataclass
class Task:
    instruction: str
    instances: list[Instance] = field(default_factory=list)
    is_classification: bool | None = None
    name: str | None = None
    source: str = "imported"
    origin: str | None = None
    lang: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    run_id: int | None = None


def add_task(ws: Workspace, task: Task, *, candidate_id: int | None = None) -> int:
    """Insert a task and its instances (inside the caller's transaction if there is one)."""
    if task.source not in SOURCES:
        raise ValueError(f"unknown task source {task.source!r}")
    with ws.transaction():
        task_id = ws.insert(
            "tasks",
            {
                "name": task.name,
                "instruction": task.instruction,
                "norm": normalize_instruction(task.instruction),
                "is_classification": None
                if task.is_classification is None
                else int(bool(task.is_classification)),
                "source": task.source,
                "origin": task.origin,
                "run_id": task.run_id,
                "candidate_id": candidate_id,
                "lang": task.lang,
                "meta": task.meta or {},
            },
        )
        for pos, inst in enumerate(task.instances):
            ws.insert(
                "instances",
                {"task_id": task_id, "position": pos, "input": inst.input, "output": inst.output},
            )
    return task_id


def existing_norms(ws: Workspace) -> set[str]:
    return {row[0] for row in ws.execute("SELECT norm FROM tasks")}


def count_tasks(ws: Workspace, source: str | None = None) -> int:
    if source is None:
        return ws.scalar("SELECT count(*) FROM tasks")
    return ws.scalar("SELECT count(*) FROM tasks WHERE source = ?", (source,))


def _row_to_task(row: dict[str, Any], instances: list[Instance]) -> Task:
    clf = row["is_classification"]
    return Task(
        id=row["id"],
        instruction=row["instruction"],
        instances=instances,
        is_classification=None if clf is None else bool(clf),
        name=row["name"],
        source=row["source"],
        origin=row["origin"],
        lang=row["lang"],
        meta=json.loads(row["meta"] or "{}"),
        run_id=row["run_id"],
    )


def get_task(ws: Workspace, task_id: int) -> Task | None:
    rows = ws.query("SELECT * FROM tasks WHERE id = ?", (task_id,))
    if not rows:
        return None
    insts = [
        Instance(r["input"], r["output"])
        for r in ws.query(
            "SELECT input, output FROM instances WHERE task_id = ? ORDER BY position, id",
            (task_id,),
        )
    ]
    return _row_to_task(rows[0], insts)


def iter_tasks(
    ws: Workspace, *, where: str = "1", params: Iterable[Any] = (), order: str = "id"
) -> list[Task]:
    """All tasks matching `where` with their instances, in two queries (not one per task)."""
    rows = ws.query(f"SELECT * FROM tasks WHERE {where} ORDER BY {order}", tuple(params))
    by_task: dict[int, list[Instance]] = {r["id"]: [] for r in rows}
    if rows:
        for r in ws.execute(
            "SELECT task_id, input, output FROM instances ORDER BY task_id, position, id"
        ):
            if r[0] in by_task:
                by_task[r[0]].append(Instance(r[1], r[2]))
    return [_row_to_task(r, by_task[r["id"]]) for r in rows]


def update_task(ws: Workspace, task_id: int, **values: Any) -> None:
    """Change fields of a task (instruction, is_classification, name, meta...)."""
    if "instruction" in values:
        values["norm"] = normalize_instruction(values["instruction"])
    if "is_classification" in values and values["is_classification"] is not None:
        values["is_classification"] = int(bool(values["is_classification"]))
    values["updated_at"] = _now(ws)
    with ws.transaction():
        ws.update("tasks", task_id, values)


def set_instances(ws: Workspace, task_id: int, instances: list[Instance]) -> None:
    """Replace a task's instances (the editor saves the whole ordered list at once)."""
    with ws.transaction():
        ws.execute("DELETE FROM instances WHERE task_id = ?", (task_id,))
        for pos, inst in enumerate(instances):
            ws.insert(
                "instances",
                {"task_id": task_id, "position": pos, "input": inst.input, "output": inst.output},
            )
        ws.update("tasks", task_id, {"updated_at": _now(ws)})


def delete_task(ws: Workspace, task_id: int) -> None:
    with ws.transaction():
        ws.execute("DELETE FROM tasks WHERE id = ?", (task_id,))


def _now(ws: Workspace) -> str:
    return ws.scalar("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
