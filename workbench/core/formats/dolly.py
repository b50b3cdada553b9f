"""Dolly (databricks-dolly-15k): JSONL of `{"instruction", "context", "response", "category"}`,
one record per example; `context` is our input, `category` and any other field are kept in the
example's meta and written back.
"""
from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Iterable

from ..store.tasks import Instance, Task
from .common import (
    Record, get_str, group_records, instruction_of, iter_json_records, ordered_record, record_fields,
    require_obj,
)
from .layout import write_records

FORMAT = "dolly"
EXTENSIONS = (".jsonl", ".json")
OPTIONS = {"layout": ("jsonl", "json")}
DEFAULT_LAYOUT = "jsonl"


def looks_like(obj: object) -> bool:
    return isinstance(obj, dict) and "instruction" in obj and "response" in obj


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    category = get_str(d, "category", path, line, required=False)
    meta = record_fields(d, ("instruction", "context", "response", "category"))
    if category:
        meta["category"] = category
    return Record(
        line=line,
        instruction=get_str(d, "instruction", path, line, nonempty=True),
        input=get_str(d, "context", path, line, required=False),
        output=get_str(d, "response", path, line),
        example_meta=meta,
    )


def read(path: Path) -> list[Task]:
    return group_records((parse_record(o, path, n) for n, o in iter_json_records(path)),
                         path, FORMAT)


def _record(task: Task, inst: Instance, extras: dict[str, Any]) -> dict[str, Any]:
    return ordered_record({"instruction": instruction_of(task, inst), "context": inst.input,
                           "response": inst.output,
                           "category": (inst.meta or {}).get("category") or ""}, inst)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_records(tasks, fh, options.get("layout", DEFAULT_LAYOUT), _record)
