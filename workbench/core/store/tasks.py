"""Tasks and their instances: the pool every method reads and grows."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .examples import Instance as Instance  # one example; defined and stored there
from .examples import insert_instances, load_instances
from .workspace import Workspace

SOURCES = ("seed", "generated", "imported")
# A WHERE clause over `tasks`: the tasks not dropped by the decision in force (Inspect's applied
# threshold or a person's override, through the `task_decisions` view of migration v005).
# Seeds, imports and accepted tasks nobody dropped pass it.
NOT_DROPPED = "id NOT IN (SELECT task_id FROM task_decisions WHERE decision = 'dropped')"


def normalize_instruction(text: str) -> str:
    """The key for exact-duplicate checks: NFKC, whitespace collapsed, case folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


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


def add_task(
    ws: Workspace,
    task: Task,
    *,
    candidate_id: int | None = None,
    keep_id: bool = False,
    call_id: int | None = None,
) -> int:
    """Insert a task and its instances (inside the caller's transaction if there is one);
    returns its id. The one insert of a task: imports, SELF-INSTRUCT runs and replays, Inspect
    and the editor all come here.

    `candidate_id` is the SELF-INSTRUCT candidate it was made from; `call_id` the model call
    that wrote its instances (provenance). `keep_id` re-inserts a deleted task under its old id
    (the editor's undo of a delete), so undo commands recorded before the delete still point at
    the right row. Raises ValueError for an unknown `task.source`.
    """
    if task.source not in SOURCES:
        raise ValueError(f"unknown task source {task.source!r}")
    with ws.transaction():
        task_id = ws.insert(
            "tasks",
            {
                **({"id": task.id} if keep_id and task.id is not None else {}),
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
        insert_instances(ws, task_id, task.instances, call_id=call_id)
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
    insts = load_instances(ws, [task_id]).get(task_id, [])
    return _row_to_task(rows[0], insts)


def iter_tasks(
    ws: Workspace, *, where: str = "1", params: Iterable[Any] = (), order: str = "id"
) -> list[Task]:
    """All tasks matching `where` with their instances, in two queries (not one per task)."""
    rows = ws.query(f"SELECT * FROM tasks WHERE {where} ORDER BY {order}", tuple(params))
    by_task = load_instances(ws, [r["id"] for r in rows]) if rows else {}
    return [_row_to_task(r, by_task.get(r["id"], [])) for r in rows]


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
        insert_instances(ws, task_id, instances)
        ws.update("tasks", task_id, {"updated_at": _now(ws)})


def delete_task(ws: Workspace, task_id: int) -> None:
    with ws.transaction():
        ws.execute("DELETE FROM tasks WHERE id = ?", (task_id,))


# Rows elsewhere that point at a task and lose the link when it is deleted (ON DELETE SET NULL),
# and rows deleted with it (ON DELETE CASCADE) other than its instances.
_LINKS = [
    ("candidates", "task_id"),
    ("cot_paths", "task_id"),
    ("inspect_overrides", "created_task_id"),
]
_CASCADED = [("selection_members", "task_id")]
# A cascaded row comes back only while what else it points at still exists.
_CASCADED_PARENT = {"selection_members": ("selection_id", "selections")}


@dataclass
class DeletedTask:
    """Everything an undo needs to put a deleted task back as it was, links included."""

    task: Task
    candidate_id: int | None
    links: dict[str, list[int]]  # "table.column" -> rowids that pointed at it
    cascaded: dict[str, list[dict[str, Any]]]  # table -> its rows that went with it


def delete_task_undoably(ws: Workspace, task_id: int) -> DeletedTask | None:
    """Delete a task and return what `restore_task` needs to undo it (None: no such task)."""
    with ws.transaction():
        task = get_task(ws, task_id)
        if task is None:
            return None
        names = set(ws.table_names())
        links = {
            f"{t}.{c}": [
                r[0] for r in ws.execute(f"SELECT rowid FROM {t} WHERE {c} = ?", (task_id,))
            ]
            for t, c in _LINKS
            if t in names
        }
        cascaded = {
            t: ws.query(f"SELECT * FROM {t} WHERE {c} = ?", (task_id,))
            for t, c in _CASCADED
            if t in names
        }
        deleted = DeletedTask(
            task,
            ws.scalar("SELECT candidate_id FROM tasks WHERE id = ?", (task_id,)),
            links,
            cascaded,
        )
        ws.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
    return deleted


def restore_task(ws: Workspace, deleted: DeletedTask) -> int:
    """Undo `delete_task_undoably`: the task under its old id, its instances, and every link."""
    with ws.transaction():
        task_id = add_task(ws, deleted.task, candidate_id=deleted.candidate_id, keep_id=True)
        for where, rowids in deleted.links.items():
            table, column = where.split(".")
            for rowid in rowids:  # rows deleted since then stay deleted
                ws.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (task_id, rowid))
        for table, rows in deleted.cascaded.items():
            parent_col, parent = _CASCADED_PARENT[table]
            for row in rows:
                if not ws.scalar(f"SELECT count(*) FROM {parent} WHERE id = ?", (row[parent_col],)):
                    continue
                cols = ", ".join(row)
                marks = ", ".join("?" * len(row))
                ws.execute(
                    f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})", tuple(row.values())
                )
    return task_id


def _now(ws: Workspace) -> str:
    return ws.scalar("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")


# ------------------------------------------------------------------ browsing (editor, Inspect)
@dataclass
class TaskFilter:
    """What the task editor shows. `classification`: None (any), "yes", "no" or "unknown"."""

    text: str = ""
    source: str | None = None
    classification: str | None = None
    run_id: int | None = None

    def sql(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.text.strip():
            # LIKE is case-insensitive for ASCII and needs no index build; a scan of 100k rows
            # takes tens of milliseconds, fast enough to filter as the user types.
            clauses.append("(instruction LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')")
            needle = "%" + _escape_like(self.text.strip()) + "%"
            params += [needle, needle]
        if self.source:
            clauses.append("source = ?")
            params.append(self.source)
        if self.classification == "yes":
            clauses.append("is_classification = 1")
        elif self.classification == "no":
            clauses.append("is_classification = 0")
        elif self.classification == "unknown":
            clauses.append("is_classification IS NULL")
        if self.run_id is not None:
            clauses.append("run_id = ?")
            params.append(self.run_id)
        return (" AND ".join(clauses) or "1"), params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def count_filtered(ws: Workspace, flt: TaskFilter) -> int:
    where, params = flt.sql()
    return ws.scalar(f"SELECT count(*) FROM tasks WHERE {where}", params)


def task_rows(
    ws: Workspace, flt: TaskFilter, *, after_id: int = 0, limit: int = 256
) -> list[dict[str, Any]]:
    """One page of the editor's table, keyset-paginated by id (constant cost at any depth)."""
    where, params = flt.sql()
    return ws.query(
        "SELECT t.id, t.name, t.instruction, t.source, t.is_classification, t.run_id, "
        "(SELECT count(*) FROM instances i WHERE i.task_id = t.id) AS n_instances "
        f"FROM tasks t WHERE t.id > ? AND ({where}) ORDER BY t.id LIMIT ?",
        [after_id, *params, limit],
    )


def task_row(ws: Workspace, task_id: int) -> dict[str, Any] | None:
    rows = ws.query(
        "SELECT t.id, t.name, t.instruction, t.source, t.is_classification, t.run_id, "
        "(SELECT count(*) FROM instances i WHERE i.task_id = t.id) AS n_instances "
        "FROM tasks t WHERE t.id = ?",
        (task_id,),
    )
    return rows[0] if rows else None


def find_duplicate(ws: Workspace, instruction: str, *, exclude_id: int | None = None) -> int | None:
    """The id of another task with the same normalised instruction, if there is one."""
    return ws.scalar(
        "SELECT id FROM tasks WHERE norm = ? AND id != ? LIMIT 1",
        (normalize_instruction(instruction), -1 if exclude_id is None else exclude_id),
    )


def list_runs(ws: Workspace, kind: str | None = None) -> list[dict[str, Any]]:
    """Runs, newest first, with their config and stats decoded."""
    rows = ws.query(
        "SELECT id, kind, status, config, stats, error, created_at, updated_at, finished_at "
        "FROM runs WHERE (? IS NULL OR kind = ?) ORDER BY id DESC",
        (kind, kind),
    )
    for r in rows:
        r["config"] = json.loads(r["config"] or "{}")
        r["stats"] = json.loads(r["stats"] or "{}")
    return rows
