"""Dolly (databricks-dolly-15k): JSONL of `{"instruction", "context", "response", "category"}`,
one record per example; `context` is our input, `category` and any other field are kept in the
example's meta and written back.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..store.tasks import Instance, Task
from .common import (
    Record,
    get_str,
    group_records,
    instruction_of,
    iter_json_records,
    ordered_record,
    record_fields,
    require_obj,
    take_workbench_field,
    workbench_field,
)
from .layout import write_records

FORMAT = "dolly"
EXTENSIONS = (".jsonl", ".json")
OPTIONS = {"layout": ("jsonl", "json")}
DEFAULT_LAYOUT = "jsonl"
# Fields Dolly does not have, written when an example has them so nothing is dropped.
OWN = ("system", "history", "kind", "rejected", "label", "weight", "tools")


def looks_like(obj: object) -> bool:
    return isinstance(obj, dict) and "instruction" in obj and "response" in obj


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    category = get_str(d, "category", path, line, required=False)
    meta = record_fields(d, ("instruction", "context", "response", "category", *OWN))
    if category:
        meta["category"] = category
    take_workbench_field(meta)
    rec = Record(
        line=line,
        instruction=get_str(d, "instruction", path, line, nonempty=True),
        input=get_str(d, "context", path, line, required=False),
        output=get_str(d, "response", path, line),
        example_meta=meta,
    )
    # An example's own conversation and kind, written by this writer when it had them.
    if isinstance(d.get("system"), str):
        rec.system = d["system"]
    if isinstance(d.get("history"), list) and all(isinstance(t, dict) for t in d["history"]):
        rec.history = d["history"]
    if d.get("kind") in ("preference", "kto"):
        rec.kind = d["kind"]
    if isinstance(d.get("rejected"), str):
        rec.rejected = d["rejected"]
    if isinstance(d.get("label"), bool):
        rec.label = d["label"]
    if isinstance(d.get("weight"), (int, float)) and not isinstance(d.get("weight"), bool):
        rec.weight = d["weight"]
    rec.tools = d.get("tools")
    taken = {
        "system": rec.system,
        "history": rec.history or None,
        "kind": None if rec.kind == "sft" else rec.kind,
        "rejected": rec.rejected,
        "label": rec.label,
        "weight": rec.weight,
        "tools": rec.tools,
    }
    for key in OWN:  # a value of another shape stays a field of its own
        if key in d and taken[key] is None:
            meta[key] = d[key]
            meta.setdefault("_record", list(d))
    return rec


def read(path: Path) -> list[Task]:
    return group_records(
        (parse_record(o, path, n) for n, o in iter_json_records(path)), path, FORMAT
    )


def _record(task: Task, inst: Instance, extras: dict[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "instruction": instruction_of(task, inst),
        "context": inst.input,
        "response": inst.output,
        "category": (inst.meta or {}).get("category") or "",
    }
    own = {
        "system": inst.system,
        "history": inst.history or None,
        "kind": None if inst.kind == "sft" else inst.kind,
        "rejected": inst.rejected,
        "label": inst.label,
        "weight": inst.weight,
        "tools": inst.tools,
    }
    rec.update({k: v for k, v in own.items() if v is not None})
    rec.update(workbench_field(inst))
    return ordered_record(rec, inst)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_records(tasks, fh, options.get("layout", DEFAULT_LAYOUT), _record)
