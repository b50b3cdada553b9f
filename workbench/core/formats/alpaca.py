"""Alpaca: a JSON list of `{"instruction", "input", "output"}` (also JSON Lines), one record per
example, with the fields LLaMA-Factory's Alpaca layout adds: `system`, `history` ([[user,
assistant], ...]), `tools`, media references (`images`, `videos`, `audios`), preference pairs
(`chosen` / `rejected` in place of `output`) and a KTO label (`label` or `kto_tag`, true =
desirable). Every other field is kept per example and written back in its place.

Earlier turns that are not plain user/assistant pairs (tool calls, from a chat file) and an
answer's weight have no Alpaca form: the exporter refuses such examples with the formats that
keep them, or leaves those fields out with `--lossy` (lossy.py, `HOLDS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import (
    Record,
    get_history,
    get_str,
    group_records,
    instruction_of,
    iter_json_records,
    json_type,
    ordered_record,
    pairs_to_turns,
    record_fields,
    require_obj,
    take_workbench_field,
    turns_to_pairs,
    workbench_field,
)
from .layout import write_records
from .lossy import ALL

FORMAT = "alpaca"
EXTENSIONS = (".json", ".jsonl")
OPTIONS = {"layout": ("json", "jsonl")}
LABEL_KEYS = ("label", "kto_tag")
HOLDS = ALL - {"tool-history", "weight"}  # lossy.FIELDS an Alpaca record keeps


def looks_like(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and "instruction" in obj
        and "instances" not in obj
        and ("output" in obj or ("chosen" in obj and "rejected" in obj))
    )


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    # A null `tools` stays a field of its own (None means "no tools" in an example).
    known = ["instruction", "input", "output"] + (["tools"] if d.get("tools") is not None else [])
    system = get_str(d, "system", path, line, required=False)
    if system:
        known.append("system")  # an empty one stays a field of its own, written back as is
    history = get_history(d, "history", path, line)
    if history:
        known.append("history")
    rec = Record(
        line=line,
        instruction=get_str(d, "instruction", path, line, nonempty=True),
        instance=Instance(
            get_str(d, "input", path, line, required=False),
            system=system or None,
            history=pairs_to_turns(history or []),
            tools=d.get("tools"),
        ),
    )
    if "output" not in d and ("chosen" in d or "rejected" in d):
        rec.example.kind = "preference"
        rec.example.output = get_str(d, "chosen", path, line)
        rec.example.rejected = get_str(d, "rejected", path, line)
        known += ["chosen", "rejected"]
    else:
        rec.example.output = get_str(d, "output", path, line)
    if d.get("kto_tag") is not None and not isinstance(d["kto_tag"], bool):
        raise UserInputError(
            f"a KTO label is true or false, found {json_type(d['kto_tag'])}",
            path=path,
            line=line,
            field="kto_tag",
        )
    # A `label` that is not true/false is another dataset's label (a class name, say), kept
    # as a field of its own; only true/false makes a KTO example (docs/formats.md).
    for key in LABEL_KEYS:
        if isinstance(d.get(key), bool):
            rec.example.kind, rec.example.label = "kto", d[key]
            known.append(key)
            if key != "label":
                rec.example.meta["_label_key"] = key
            break
    rec.example.meta.update(record_fields(d, known))
    take_workbench_field(rec.example.meta)
    return rec


def read(path: Path) -> list[Task]:
    return group_records(
        (parse_record(o, path, n) for n, o in iter_json_records(path)), path, FORMAT
    )


def _record(task: Task, inst: Instance, extras: dict[str, Any]) -> dict[str, Any]:
    meta = inst.meta or {}
    rec: dict[str, Any] = {"instruction": instruction_of(task, inst), "input": inst.input}
    if inst.kind == "preference":
        rec["chosen"], rec["rejected"] = inst.output, inst.rejected or ""
    else:
        rec["output"] = inst.output
    if inst.system:
        rec["system"] = inst.system
    if inst.history:
        pairs = turns_to_pairs(inst.history)
        if pairs is None:
            raise UserInputError(
                f"task {task.id or task.instruction[:40]!r}: its earlier turns (tool calls or "
                "other roles) have no Alpaca form",
                field="history",
                hint="Export it as sharegpt or openai-chat, which keep them.",
            )
        rec["history"] = pairs
    if inst.tools is not None:
        rec["tools"] = inst.tools
    if inst.kind == "kto" and inst.label is not None:
        rec[meta.get("_label_key", "label")] = inst.label
    rec.update(workbench_field(inst))  # tool turns before the answer, its tool calls, ...
    return ordered_record(rec, inst)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_records(tasks, fh, options.get("layout", "json"), _record)
