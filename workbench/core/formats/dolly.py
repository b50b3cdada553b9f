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
    OWN_FIELDS,
    Record,
    get_str,
    group_records,
    instruction_of,
    iter_json_records,
    ordered_record,
    own_fields,
    record_fields,
    require_obj,
    take_own_fields,
    take_workbench_field,
    workbench_field,
)
from .layout import write_records

FORMAT = "dolly"
EXTENSIONS = (".jsonl", ".json")
OPTIONS = {"layout": ("jsonl", "json")}
DEFAULT_LAYOUT = "jsonl"
# Fields Dolly does not have, written when an example has them so nothing is dropped.
OWN = OWN_FIELDS


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
        instance=Instance(
            get_str(d, "context", path, line, required=False),
            get_str(d, "response", path, line),
            meta=meta,
        ),
    )
    # An example's own conversation and kind, written by this writer when it had them; a value
    # of another shape stays a field of its own.
    for key in take_own_fields(d, rec.example):
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
    own = own_fields(inst)
    rec.update({k: v for k, v in own.items() if v is not None})
    rec.update(workbench_field(inst))
    return ordered_record(rec, inst)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_records(tasks, fh, options.get("layout", DEFAULT_LAYOUT), _record)
