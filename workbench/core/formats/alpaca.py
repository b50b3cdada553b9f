"""Alpaca: a JSON list of `{"instruction", "input", "output"}` (also JSON Lines), one record per
instance. The optional `system` and `history` ([[user, assistant], ...]) fields that
LLaMA-Factory's Alpaca layout adds are kept in Task.meta and written back.
"""
from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Iterable

from ..store.tasks import Instance, Task
from .common import (
    Record, get_history, get_str, group_records, iter_json_records, require_obj,
)
from .layout import write_records

FORMAT = "alpaca"
EXTENSIONS = (".json", ".jsonl")
OPTIONS = {"layout": ("json", "jsonl")}


def looks_like(obj: object) -> bool:
    return (isinstance(obj, dict) and "instruction" in obj and "output" in obj
            and "instances" not in obj)


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    extras: dict[str, Any] = {}
    system = get_str(d, "system", path, line, required=False)
    if system:
        extras["system"] = system
    history = get_history(d, "history", path, line)
    if history:
        extras["history"] = history
    return Record(
        line=line,
        instruction=get_str(d, "instruction", path, line, nonempty=True),
        input=get_str(d, "input", path, line, required=False),
        output=get_str(d, "output", path, line),
        extras=extras,
    )


def read(path: Path) -> list[Task]:
    return group_records((parse_record(o, path, n) for n, o in iter_json_records(path)),
                         path, FORMAT)


def _record(task: Task, inst: Instance, extras: dict[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = {"instruction": task.instruction, "input": inst.input,
                           "output": inst.output}
    if extras.get("system"):
        rec["system"] = extras["system"]
    if extras.get("history"):
        rec["history"] = extras["history"]
    return rec


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_records(tasks, fh, options.get("layout", "json"), _record)
