"""TRL datasets (Hugging Face TRL's DPO/ORPO/KTO/SFT trainers): JSONL (or a JSON list), one
example a line, by kind:

- preference: `{"prompt", "chosen", "rejected"}`, or with the prompt implicit: `{"chosen",
  "rejected"}` two whole conversations whose shared beginning is the prompt (read only)
- KTO (unpaired preference): `{"prompt", "completion", "label"}` (true = desirable)
- SFT: `{"prompt", "completion"}`

`--option style=conversational` (the default) writes the prompt as chat messages (system,
earlier turns, the user turn) and each answer as `[{"role": "assistant", "content": ...}]`, so
system prompts and history are carried; `style=standard` writes plain text and refuses an
example with a system prompt or earlier turns (plain text has no place for them). Fields the
example keeps (a CoT pair's confidences, an `id`) are written as columns of their own. Import
reads both styles back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import (
    Record,
    dump,
    group_records,
    iter_examples,
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
    content_text,
    example_to_chat,
    rejected_message,
    wire,
)

FORMAT = "trl"
EXTENSIONS = (".jsonl", ".json")
OPTIONS = {"style": ("conversational", "standard")}


def _implicit(obj: object) -> bool:
    """TRL's implicit-prompt preference layout: no `prompt`, `chosen` and `rejected` each a
    whole conversation (a list of messages with roles) whose shared beginning is the prompt."""
    return (
        isinstance(obj, dict)
        and "prompt" not in obj
        and all(
            isinstance(obj.get(k), list)
            and obj[k]
            and all(isinstance(m, dict) and "role" in m for m in obj[k])
            for k in ("chosen", "rejected")
        )
    )


def _split_implicit(
    d: dict[str, Any], path: Path, line: int
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """(prompt messages, chosen answer, rejected answer) of an implicit-prompt pair: the
    prompt is the longest shared beginning of the two conversations; after it each must hold
    exactly one message (the answer)."""
    chosen = _messages(d["chosen"], "chosen", path, line)
    rejected = _messages(d["rejected"], "rejected", path, line)

    def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        return {k: v for k, v in a.items() if k != "_field"} == {
            k: v for k, v in b.items() if k != "_field"
        }

    k = 0
    while k < min(len(chosen), len(rejected)) - 1 and same(chosen[k], rejected[k]):
        k += 1
    if k == 0:
        raise UserInputError(
            "an implicit-prompt pair needs `chosen` and `rejected` to begin with the same "
            "prompt messages",
            path=path,
            line=line,
            field="chosen",
        )
    for key, msgs in (("chosen", chosen), ("rejected", rejected)):
        if len(msgs) != k + 1:
            raise UserInputError(
                f"expected one answer after the shared prompt ({k} messages), found "
                f"{len(msgs) - k}",
                path=path,
                line=line,
                field=key,
            )
    return chosen[:k], chosen[k], rejected[k]


def looks_like(obj: object) -> bool:
    """Auto-detection: a preference pair, a KTO example, or a conversational SFT example (the
    prompt or the completion a list of messages, as the default style writes). A standard-style
    SFT line (`prompt` and `completion` plain text) is the Self-Instruct fine-tuning layout as
    well and is detected as that; import it with `--format trl`. A `label` beside them, whatever
    its value, is TRL's KTO layout (a label other than true/false is then a bad record)."""
    return _implicit(obj) or (
        isinstance(obj, dict)
        and "prompt" in obj
        and (
            ("chosen" in obj and "rejected" in obj)
            or (
                "completion" in obj
                and (
                    "label" in obj
                    or isinstance(obj["prompt"], list)
                    or isinstance(obj["completion"], list)
                )
            )
        )
    )


def _messages(value: Any, key: str, path: Path, line: int) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [
            {"role": "user" if key == "prompt" else "assistant", "content": value, "_field": key}
        ]
    if not isinstance(value, list):
        raise UserInputError(
            f"expected text or a list of messages, found {json_type(value)}",
            path=path,
            line=line,
            field=key,
        )
    out = []
    for fname, m in object_list({key: value}, key, path, line):
        role = m.get("role")
        if not isinstance(role, str):
            raise UserInputError(
                "the message needs a role", path=path, line=line, field=f"{fname}.role"
            )
        text, parts = content_text(
            m.get("content"), path, line, f"{fname}.content", allow_null=bool(m.get("tool_calls"))
        )
        msg = {
            "role": role,
            "content": text,
            "_field": fname,
            **{k: v for k, v in m.items() if k not in ("role", "content")},
        }
        if parts is not None:
            msg["content_parts"] = parts
        out.append(msg)
    return out


def _one(value: Any, key: str, path: Path, line: int) -> dict[str, Any]:
    msgs = _messages(value, key, path, line)
    if len(msgs) != 1:
        raise UserInputError("expected one answer", path=path, line=line, field=key)
    return msgs[0]


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    if _implicit(d):
        turns, chosen, rejected = _split_implicit(d, path, line)
        rec = chat_to_record(turns, path, line, "chosen", answer=chosen, rejected=rejected)
        known = ["chosen", "rejected"]
        if d.get("tools") is not None:
            rec.example.tools = d["tools"]
            known.append("tools")
        rec.example.meta.update(record_fields(d, known))
        return rec
    if "prompt" not in d:
        raise UserInputError("the field is missing", path=path, line=line, field="prompt")
    prompt = _messages(d["prompt"], "prompt", path, line)
    known = ["prompt"]
    if "chosen" in d or "rejected" in d:
        for key in ("chosen", "rejected"):
            if key not in d:
                raise UserInputError(
                    "a preference pair needs both `chosen` and `rejected`",
                    path=path,
                    line=line,
                    field=key,
                )
        rec = chat_to_record(
            prompt,
            path,
            line,
            "prompt",
            answer=_one(d["chosen"], "chosen", path, line),
            rejected=_one(d["rejected"], "rejected", path, line),
        )
        known += ["chosen", "rejected"]
    elif "completion" in d:
        rec = chat_to_record(
            prompt, path, line, "prompt", answer=_one(d["completion"], "completion", path, line)
        )
        known.append("completion")
        if "label" in d:
            if not isinstance(d["label"], bool):
                raise UserInputError(
                    "a KTO label is true (desirable) or false (undesirable), found "
                    f"{json.dumps(d['label'], ensure_ascii=False)[:40]}",
                    path=path,
                    line=line,
                    field="label",
                )
            rec.example.kind, rec.example.label = "kto", d["label"]
            known.append("label")
    else:
        raise UserInputError(
            "expected `chosen` and `rejected`, or `completion`",
            path=path,
            line=line,
            field="completion",
        )
    if d.get("tools") is not None:
        rec.example.tools = d["tools"]
        known.append("tools")
    rec.example.meta.update(record_fields(d, known))
    if isinstance(d["prompt"], str):
        rec.example.meta["_style"] = "standard"
    return rec


def read(path: Path) -> list[Task]:
    return group_records(
        (parse_record(o, path, n) for n, o in iter_json_records(path)), path, FORMAT
    )


def _plain(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if k != "from"}


def to_record(task: Task, inst: Instance, style: str = "conversational") -> dict[str, Any]:
    """One line for TRL; UserInputError when `style=standard` cannot hold the example."""
    meta = inst.meta or {}
    system, sys_extras, turns = example_to_chat(task, inst, with_answer=False)
    chosen = wire(answer_message(inst.output, meta.get("_assistant") or {}, inst.weight))
    rec: dict[str, Any]
    if style == "standard":
        if system or len(turns) != 1:
            raise UserInputError(
                f"task {task.id or task.instruction[:40]!r}: a system prompt or earlier turns "
                "have no place in TRL's standard (plain text) style",
                field="option style",
                hint="Export with --option style=conversational.",
            )
        rec = {"prompt": turns[0]["content"] or ""}
        answer: Any = inst.output
        other: Any = inst.rejected or ""
    else:
        msgs = [{"role": "system", "content": system, **(sys_extras or {})}] if system else []
        rec = {"prompt": [_plain(m) for m in msgs + turns]}
        answer = [_plain(chosen)]
        other = [_plain(wire(rejected_message(inst)))]
    if inst.kind == "preference":
        rec["chosen"], rec["rejected"] = answer, other
    else:
        rec["completion"] = answer
        if inst.kind == "kto" and inst.label is not None:
            rec["label"] = inst.label
    if inst.tools is not None:
        rec["tools"] = inst.tools
    return ordered_record(rec, inst)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    style = options.get("style", "conversational")
    n = 0
    for task, _, inst, _ in iter_examples(tasks):
        ex_style = (
            "standard"
            if (inst.meta or {}).get("_style") == "standard" and "style" not in options
            else style
        )
        fh.write(dump(to_record(task, inst, ex_style)) + "\n")
        n += 1
    return n
