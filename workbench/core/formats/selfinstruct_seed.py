"""Self-Instruct seed JSONL: one task a line,
`{"id", "name", "instruction", "instances": [{"input", "output"}], "is_classification"}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import (
    OWN_FIELDS,
    dump,
    get_str,
    iter_jsonl,
    json_error_text,
    own_fields,
    take_own_fields,
)
from .validation import check_text

FORMAT = "selfinstruct-seed"
EXTENSIONS = (".jsonl",)
SOURCE = "seed"  # a seed file grows the seed pool that SELF-INSTRUCT samples from
_KNOWN = {"id", "name", "instruction", "instances", "is_classification"}
# An example's own conversation and kind, written on its instance when it has them (the
# Self-Instruct code reads only input/output and leaves them be), so nothing is dropped.
_EXAMPLE_KEYS = OWN_FIELDS
_WORKBENCH = "_workbench"  # the example's own meta keys (store/examples.py), as one object


def _example(
    inst: dict[str, Any], extra: dict[str, Any], path: Path, line: int, fname: str
) -> Instance:
    out = Instance(inst.get("input", ""), inst["output"], meta=extra)
    own_meta = extra.pop(_WORKBENCH, None)
    if isinstance(own_meta, dict):
        out.meta.update({k: v for k, v in own_meta.items() if k.startswith("_")})
    elif own_meta is not None:
        out.meta[_WORKBENCH] = own_meta
    for key in take_own_fields(inst, out):  # a value of a shape we do not take stays
        out.meta[key] = inst[key]
    return out


def _instance_record(i: Instance) -> dict[str, Any]:
    rec: dict[str, Any] = {"input": i.input, "output": i.output}
    own = own_fields(i)
    rec.update({k: v for k, v in own.items() if v is not None})
    rec.update({k: v for k, v in (i.meta or {}).items() if not k.startswith("_")})
    own_meta = {k: v for k, v in (i.meta or {}).items() if k.startswith("_")}
    if own_meta:  # tool turns before the answer, the answer's tool calls, dropped turns, ...
        rec[_WORKBENCH] = own_meta
    return rec


def parse_seed_line(obj: object, path: Path, line: int) -> Task:
    """Validate one decoded line; every error names the file, line and field."""
    if not isinstance(obj, dict):
        raise UserInputError("expected a JSON object", path=path, line=line)
    instruction = get_str(obj, "instruction", path, line)
    if not instruction.strip():
        raise UserInputError("the instruction is empty", path=path, line=line, field="instruction")
    raw_instances = obj.get("instances", [])
    if not isinstance(raw_instances, list):
        raise UserInputError("expected a list", path=path, line=line, field="instances")
    instances = []
    for i, inst in enumerate(raw_instances):
        fname = f"instances[{i}]"
        if not isinstance(inst, dict):
            raise UserInputError("expected an object", path=path, line=line, field=fname)
        for key in ("input", "output"):
            if key in inst and not isinstance(inst[key], str):
                raise UserInputError(
                    f"expected text, found {type(inst[key]).__name__}",
                    path=path,
                    line=line,
                    field=f"{fname}.{key}",
                )
        if "output" not in inst:
            raise UserInputError(
                "the field is missing", path=path, line=line, field=f"{fname}.output"
            )
        extra = {k: v for k, v in inst.items() if k not in ("input", "output", *_EXAMPLE_KEYS)}
        instances.append(_example(inst, extra, path, line, fname))
    clf = obj.get("is_classification")
    if clf is not None and not isinstance(clf, bool):
        raise UserInputError(
            "expected true or false", path=path, line=line, field="is_classification"
        )
    name = obj.get("name") if isinstance(obj.get("name"), str) else None
    if name is None and isinstance(obj.get("id"), str):
        name = obj["id"]
    # An id of any JSON type is kept (written back as it was); only a text one names the task.
    meta: dict[str, Any] = {"id": obj["id"]} if obj.get("id") is not None else {}
    if obj.get("name") is not None and not isinstance(obj["name"], str):
        meta["name"] = obj["name"]
    # Fields other seed-shaped files add (user_oriented_instructions' `motivation_app`,
    # InstructWild's `instruction_type`) are kept, and `_fields` says which keys the line had,
    # so the export writes them back and invents none.
    meta.update({k: v for k, v in obj.items() if k not in _KNOWN})
    meta["_fields"] = list(obj)
    return Task(
        instruction=instruction,
        instances=instances,
        is_classification=clf,
        name=name,
        origin=str(path),
        meta=meta,
    )


def read_seed_jsonl(path: str | Path) -> list[Task]:
    """Read and validate a whole file before anything is written (all or nothing)."""
    p = Path(path)
    return [parse_seed_line(obj, p, line) for line, obj in iter_jsonl(p)]


def iter_seed_lines(fh: IO[bytes], path: Path) -> Iterable[Task]:
    for line_no, raw in enumerate(fh, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserInputError(
                f"not valid UTF-8 ({exc.reason} at byte {exc.start})", path=path, line=line_no
            ) from exc
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserInputError(
                f"not valid JSON ({json_error_text(exc)})", path=path, line=line_no
            ) from exc
        check_text(obj, path, line_no)
        yield parse_seed_line(obj, path, line_no)


def looks_like(first_obj: object) -> bool:
    """Auto-detection: a seed line has an instruction and an instances list."""
    return (
        isinstance(first_obj, dict)
        and "instruction" in first_obj
        and isinstance(first_obj.get("instances"), list)
    )


def read(path: Path) -> list[Task]:
    return read_seed_jsonl(path)


# Task meta that is the workspace's bookkeeping, never a field of the line: the file and line
# a task was read from, and every key starting with "_".
_BOOKKEEPING = ("format", "line")
# What left_out counts: tasks with a stored field the seed line has no place for.
TASK_FIELDS = "task-fields"


def _extras(t: Task) -> dict[str, Any]:
    """The task's stored fields other than the line's own: everything in its meta but
    bookkeeping (instruction-only's `decision`/`reason`/`valid`, merged duplicates' `also`,
    user_oriented_instructions' `motivation_app`, ...)."""
    return {
        k: v
        for k, v in t.meta.items()
        if not k.startswith("_") and k not in _BOOKKEEPING and k not in ("id", "name")
    }


def _clf_label(value: Any) -> bool | None:
    """The reference's step-2 label (" Yes"/" No") as true/false; None for any other value."""
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    return None


def unwritable(t: Task) -> list[str]:
    """The task's stored fields that a seed line cannot hold: one named like a field of the
    line (`instruction`, `instances`, `is_classification`) whose value is not what that field
    holds, e.g. a text `is_classification: " No"` from the reference's step-2 file (a seed
    reader takes any non-empty text for true)."""
    lost = []
    for key, value in _extras(t).items():
        fits = {
            "instruction": value == t.instruction,
            "instances": False,
            "is_classification": isinstance(value, bool)
            and (t.is_classification is None or value == t.is_classification),
        }.get(key, True)
        if not fits:
            lost.append(key)
    return lost


def lost_fields(tasks: Iterable[Task]) -> dict[str, int]:
    """{field: tasks} for the stored fields no seed line can hold (see `unwritable`): the
    exporter refuses with these counts unless --lossy."""
    counts: dict[str, int] = {}
    for t in tasks:
        for key in unwritable(t):
            counts[key] = counts.get(key, 0) + 1
    return counts


def obj_id(t: Task) -> str:
    """A name for a task that has none: its imported id as text, else `task_<workspace id>`."""
    ident = t.meta.get("id")
    return str(ident) if ident is not None and ident != "" else f"task_{t.id}"


def write(
    tasks: Iterable[Task], fh: IO[str], options: dict[str, str]
) -> tuple[int, dict[str, int]]:
    return write_seed_jsonl(tasks, fh)


def write_seed_jsonl(tasks: Iterable[Task], fh: IO[str]) -> tuple[int, dict[str, int]]:
    """One line per task, and {TASK_FIELDS: tasks} with a stored field left out.

    A task read from a seed-shaped file gets back the keys its line had, in its order. Every
    task's other stored fields (its meta but bookkeeping, see `_extras`) are written as fields
    of the line, so an instruction-only file's `decision`/`reason`/`valid`/`also` come back.
    `id`/`name` are the task's own (its imported `id`, its name) when it has them; else they
    are made up as `task_<workspace id>` (docs/formats.md). `is_classification` is written
    when known, never an invented false. A field the line cannot hold (`unwritable`; the
    exporter refuses those unless --lossy) is left out and counted, a " Yes"/" No" label being
    written as the true/false it means when the task has none."""
    n = lost = 0
    for t in tasks:
        fields = t.meta.get("_fields")
        extras = _extras(t)
        drop = unwritable(t)
        clf = t.is_classification
        if "is_classification" in drop and clf is None:
            clf = _clf_label(extras.get("is_classification"))
        obj: dict[str, Any] = {
            "id": t.meta["id"] if t.meta.get("id") is not None else t.name or f"task_{t.id}",
            "name": t.name or t.meta.get("name") or obj_id(t),
            "instruction": t.instruction,
            "instances": [_instance_record(i) for i in t.instances],
        }
        if clf is not None:
            obj["is_classification"] = bool(clf)
        if isinstance(fields, list):
            obj = {
                k: obj[k] if k in obj else t.meta.get(k) for k in fields if k in obj or k in t.meta
            }
            if clf is not None:
                obj["is_classification"] = bool(clf)
            if "instances" not in obj and t.instances:
                obj["instances"] = [_instance_record(i) for i in t.instances]
        for key, value in extras.items():
            if key not in obj and key not in drop:
                obj[key] = value
        lost += bool(drop)
        fh.write(dump(obj) + "\n")
        n += 1
    return n, {TASK_FIELDS: lost}
