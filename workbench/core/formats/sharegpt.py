"""ShareGPT: `{"conversations": [{"from": "system|human|gpt", "value": ...}], "system"?}`, a JSON
list (also JSONL), one conversation per instance.

Export puts the instruction and the input together in the human turn (a blank line between),
so an import of that file gives the instruction with its input folded in: ShareGPT has no
separate input field. `system` and `history` round-trip.
"""
from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Iterable

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import get_str, group_records, iter_json_records, object_list, require_obj
from .conversation import chat_to_record, record_to_chat
from .layout import write_records

FORMAT = "sharegpt"
EXTENSIONS = (".json", ".jsonl")
OPTIONS = {"layout": ("json", "jsonl")}
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
         "chatgpt": "assistant", "bard": "assistant", "system": "system"}


def looks_like(obj: object) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("conversations"), list)


def parse_record(obj: object, path: Path, line: int):
    d = require_obj(obj, path, line)
    system = get_str(d, "system", path, line, required=False) or None
    turns: list[tuple[str, str, str]] = []
    for fname, turn in object_list(d, "conversations", path, line):
        who = get_str(turn, "from", path, line, field_name=f"{fname}.from")
        role = ROLES.get(who.strip().lower())
        if role is None:
            raise UserInputError(f"unknown speaker {who!r} (expected system, human or gpt)",
                                 path=path, line=line, field=f"{fname}.from")
        value = get_str(turn, "value", path, line, field_name=f"{fname}.value")
        if role == "system":
            if turns:
                raise UserInputError("a system turn must come first", path=path, line=line,
                                     field=fname)
            system = value or system
            continue
        turns.append((role, value, fname))
    return chat_to_record(system, turns, path, line, "conversations")


def read(path: Path) -> list[Task]:
    return group_records((parse_record(o, path, n) for n, o in iter_json_records(path)),
                         path, FORMAT)


def _record(task: Task, inst: Instance, extras: dict[str, Any]) -> dict[str, Any]:
    system, turns = record_to_chat(task.instruction, inst.input, inst.output, extras)
    rec: dict[str, Any] = {"conversations": [
        {"from": "human" if role == "user" else "gpt", "value": text} for role, text in turns]}
    if system:
        rec["system"] = system
    return rec


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_records(tasks, fh, options.get("layout", "json"), _record)
