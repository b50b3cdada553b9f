"""ShareGPT (FastChat, LLaMA-Factory): `{"conversations": [{"from", "value"}], "system"?,
"tools"?, "id"?, "images"?, ...}`, a JSON list (also JSONL), one conversation per example.

Speakers: `human`/`user`, `gpt`/`assistant` (also `chatgpt`, `bard`, `model`), `system`, and
LLaMA-Factory's `function_call` (an assistant's tool call) and `observation` (its result). The
example is the last answer and the user turn before it; earlier turns are its history (see
conversation.py, which also says which turns are left out and kept: an opening assistant
greeting, an unanswered last user turn). Preference pairs (LLaMA-Factory DPO: the chat ends with
the prompt, `chosen` / `rejected` are `{"from", "value"}` answers) and KTO (`label`: true =
desirable) are read and written in the same layout. Other fields (`id`, `images`, ...) are kept
per example and written back, in their place.

Export puts the instruction and the input together in the human turn (a blank line between),
so an import of that file gives the instruction with its input folded in: ShareGPT has no
separate input field.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import (
    Record,
    get_str,
    group_records,
    iter_json_records,
    json_type,
    object_list,
    ordered_record,
    record_fields,
    require_obj,
)
from .conversation import (
    answer_message,
    chat_to_record,
    example_to_chat,
    parts_text,
    rejected_message,
)
from .layout import write_records

FORMAT = "sharegpt"
EXTENSIONS = (".json", ".jsonl")
OPTIONS = {"layout": ("json", "jsonl")}
ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "system": "system",
    "function_call": "function_call",
    "observation": "observation",
    "tool": "tool",
    "function": "function",
}
SPEAKER = {
    "user": "human",
    "assistant": "gpt",
    "system": "system",
    "function_call": "function_call",
    "observation": "observation",
    "tool": "observation",
    "function": "observation",
}
KNOWN = ("conversations", "system", "tools", "chosen", "rejected")


def looks_like(obj: object) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("conversations"), list)


def _turn(turn: dict[str, Any], fname: str, path: Path, line: int) -> dict[str, Any]:
    who = get_str(turn, "from", path, line, field_name=f"{fname}.from")
    role = ROLES.get(who.strip().lower())
    if role is None:
        raise UserInputError(
            f"unknown speaker {who!r} (expected human, gpt, system, function_call or observation)",
            path=path,
            line=line,
            field=f"{fname}.from",
        )
    value = get_str(turn, "value", path, line, field_name=f"{fname}.value")
    out: dict[str, Any] = {"role": role, "content": value, "_field": fname}
    if who != SPEAKER[role]:
        out["from"] = who
    out.update({k: v for k, v in turn.items() if k not in ("from", "value")})
    return out


def _answer(d: dict[str, Any], key: str, path: Path, line: int) -> dict[str, Any]:
    value = d[key]
    if isinstance(value, str):
        return {"role": "assistant", "content": value, "_field": key}
    if isinstance(value, dict):
        return _turn(value, key, path, line)
    raise UserInputError(
        f'expected a {{"from", "value"}} answer, found {json_type(value)}',
        path=path,
        line=line,
        field=key,
    )


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    system = get_str(d, "system", path, line, required=False) if "system" in d else None
    turns = [_turn(t, f, path, line) for f, t in object_list(d, "conversations", path, line)]
    known = [k for k in KNOWN if k != "tools" or d.get("tools") is not None]
    meta = record_fields(d, known + (["label"] if isinstance(d.get("label"), bool) else []))
    if system is None and turns and turns[0]["role"] == "system":
        meta["_system_turn"] = True
    answer = rejected = None
    if "chosen" in d or "rejected" in d:
        for key in ("chosen", "rejected"):
            if key not in d:
                raise UserInputError(
                    "a preference pair needs both `chosen` and `rejected`",
                    path=path,
                    line=line,
                    field=key,
                )
        answer, rejected = _answer(d, "chosen", path, line), _answer(d, "rejected", path, line)
    rec = chat_to_record(
        turns, path, line, "conversations", system=system, answer=answer, rejected=rejected
    )
    if system == "":
        meta["_system_empty"] = True
    if isinstance(d.get("label"), bool):
        rec.example.kind, rec.example.label = "kto", d["label"]
    rec.example.tools = d.get("tools")
    rec.example.meta.update(meta)
    return rec


def read(path: Path) -> list[Task]:
    return group_records(
        (parse_record(o, path, n) for n, o in iter_json_records(path)), path, FORMAT
    )


def to_turn(msg: dict[str, Any]) -> dict[str, Any]:
    """A `{"role", "content", ...}` turn as ShareGPT's `{"from", "value", ...}`. ShareGPT's
    value is text: a content given as typed parts (an OpenAI/LLaMA-Factory v1 chat) is written
    as its text, the parts kept beside it as `content_parts` (read back as they were)."""
    content = msg.get("content")
    parts = None
    if isinstance(content, list):
        parts = content
        content = parts_text([p for p in parts if isinstance(p, dict)])
    out: dict[str, Any] = {
        "from": msg.get("from") or SPEAKER.get(msg["role"], msg["role"]),
        "value": content or "",
    }
    out.update({k: v for k, v in msg.items() if k not in ("role", "content", "from")})
    if parts is not None:
        out["content_parts"] = parts
    return out


def _record(task: Task, inst: Instance, extras: dict[str, Any]) -> dict[str, Any]:
    meta = inst.meta or {}
    pref = inst.kind == "preference"
    system, sys_extras, turns = example_to_chat(task, inst, with_answer=not pref)
    conv = [to_turn(t) for t in turns]
    rec: dict[str, Any] = {}
    if system is not None and meta.get("_system_turn"):
        conv.insert(0, to_turn({"role": "system", "content": system, **(sys_extras or {})}))
    rec["conversations"] = conv
    if pref:
        rec["chosen"] = to_turn(
            answer_message(inst.output, meta.get("_assistant") or {}, inst.weight)
        )
        rec["rejected"] = to_turn(rejected_message(inst))
    if system and not meta.get("_system_turn") or meta.get("_system_empty"):
        rec["system"] = system or ""
    if inst.tools is not None:
        rec["tools"] = inst.tools
    if inst.kind == "kto" and inst.label is not None:
        rec["label"] = inst.label
    return ordered_record(rec, inst)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_records(tasks, fh, options.get("layout", "json"), _record)
