"""Dolly (databricks-dolly-15k): JSONL of `{"instruction", "context", "response", "category"}`,
one record per instance; `context` is our input, `category` is kept in Task.meta.
"""
from __future__ import annotations

from pathlib import Path
from typing import IO, Iterable

from ..store.tasks import Task
from .common import Record, get_str, group_records, iter_json_records, require_obj
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
    return Record(
        line=line,
        instruction=get_str(d, "instruction", path, line, nonempty=True),
        input=get_str(d, "context", path, line, required=False),
        output=get_str(d, "response", path, line),
        extras={"category": category} if category else {},
    )


def read(path: Path) -> list[Task]:
    return group_records((parse_record(o, path, n) for n, o in iter_json_records(path)),
                         path, FORMAT)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_records(tasks, fh, options.get("layout", DEFAULT_LAYOUT), lambda task, inst, extras: {
        "instruction": task.instruction, "context": inst.input, "response": inst.output,
        "category": extras.get("category") or ""})
