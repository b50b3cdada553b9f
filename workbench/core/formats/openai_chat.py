"""OpenAI chat fine-tuning: `{"messages": [{"role", "content"}, ...], "tools"?}` a line (a JSON
list of them is read too), one per example; also the layouts built on it: OpenAI's preference
fine-tuning (`{"input": {"messages"}, "preferred_output": [...], "non_preferred_output":
[...]}`), LLaMA-Factory's DPO (`messages` + `chosen` / `rejected` messages) and KTO
(`messages` + `label`: true = desirable).

Mapping (one rule each way, so that export then import gives every example back): the system
message is the example's own system prompt (none when it has none), earlier turns are its
history, the last user turn holds the instruction with the input after a blank line, and the
assistant turn is the output. Import reads the last user turn as the instruction (input "").
So the instruction/input split, which OpenAI chat has no place for, comes back joined: the one
normalisation (docs/formats.md, "Round trips"); a system prompt is never taken for an
instruction, nor the other way round. `[system, assistant]` (no user turn) is the instruction
as a system message with an empty input (conversation.py).

`--option user_turn=split` (export and import alike) is the layout of prompt_with_output /
prompt_without_output: system = instruction, user = input, assistant = output, for examples
with an input and no system prompt or earlier turns of their own (others are written as
above). Read with `user_turn=split`, exactly system + user + assistant is instruction + input +
output again; read without it, the same chat is a system prompt and an instruction.

An example with an empty answer and no tool call, or an empty prompt, has no valid OpenAI form
(the cookbook's checker rejects empty content): the export is refused with the count, or with
`--lossy` those examples are left out and counted (lossy.py, field `empty`).
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
    get_str,
    group_records,
    instruction_of,
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
from .lossy import FIELDS

FORMAT = "openai-chat"
EXTENSIONS = (".jsonl", ".json")
OPTIONS = {"user_turn": ("combined", "split")}
READ_OPTIONS = ("user_turn",)
USER_TURNS = OPTIONS["user_turn"]
# Everything lossy.FIELDS names but `empty` (an example with nothing to say has no chat form)
# and `weight-fraction` (the checker below takes a weight of 0 or 1 only).
HOLDS = frozenset(FIELDS) - {"empty", "weight-fraction"}

# The checks of the OpenAI cookbook's "Data preparation and analysis for chat model
# fine-tuning" (format error checks), with `tool` added to the roles and `weight` to the keys
# as the current fine-tuning guide allows.
ALLOWED_KEYS = ("role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id")
ALLOWED_ROLES = ("system", "user", "assistant", "function", "tool")


def looks_like(obj: object) -> bool:
    return isinstance(obj, dict) and (
        isinstance(obj.get("messages"), list)
        or (isinstance(obj.get("input"), dict) and "preferred_output" in obj)
    )


def validate_openai_chat(path: str | Path) -> list[str]:
    """Every format problem in a chat fine-tuning file, one message each ("line N: ..."); an
    empty list when the file passes."""
    p = Path(path)
    problems: list[str] = []
    try:
        data = p.read_bytes()
    except OSError as exc:
        return [f"{p}: cannot be read ({exc})"]
    n_examples = 0
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        n_examples += 1
        try:
            ex = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            problems.append(f"line {line_no}: not valid JSON ({exc})")
            continue
        if not isinstance(ex, dict):
            problems.append(f"line {line_no}: data_type: expected an object")
            continue
        messages = ex.get("messages")
        if not messages or not isinstance(messages, list):
            problems.append(f"line {line_no}: missing_messages_list")
            continue
        for i, m in enumerate(messages):
            where = f"line {line_no}: messages[{i}]"
            if not isinstance(m, dict):
                problems.append(f"{where}: data_type: expected an object")
                continue
            if "role" not in m or "content" not in m:
                problems.append(f"{where}: message_missing_key (role and content are required)")
            unknown = [k for k in m if k not in ALLOWED_KEYS]
            if unknown:
                problems.append(f"{where}: message_unrecognized_key {unknown}")
            if m.get("role") not in ALLOWED_ROLES:
                problems.append(f"{where}: unrecognized_role {m.get('role')!r}")
            content = m.get("content")
            calls = m.get("function_call") or m.get("tool_calls")
            if (not content and not calls) or (
                content is not None and not isinstance(content, str)
            ):
                problems.append(f"{where}: missing_content (empty or not text)")
            if "weight" in m and m["weight"] not in (0, 1):
                problems.append(f"{where}: weight must be 0 or 1")
        if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
            problems.append(f"line {line_no}: example_missing_assistant_message")
    if n_examples == 0:
        problems.append(f"{p}: no examples")
    return problems


KNOWN = ("messages", "tools")
# The roles a message may have on import: the checker's, and the tool-call roles a ShareGPT
# chat carries (conversation.py) that the chat writers write back.
READ_ROLES = (*ALLOWED_ROLES, "function_call", "observation")


def _message(m: dict[str, Any], fname: str, path: Path, line: int) -> dict[str, Any]:
    role = get_str(m, "role", path, line, field_name=f"{fname}.role")
    if role not in READ_ROLES:
        raise UserInputError(
            f"unknown role {role!r} (expected {', '.join(READ_ROLES[:-1])} or {READ_ROLES[-1]})",
            path=path,
            line=line,
            field=f"{fname}.role",
        )
    if "content" not in m:
        raise UserInputError("the field is missing", path=path, line=line, field=f"{fname}.content")
    calls = m.get("tool_calls") or m.get("function_call")
    text, parts = content_text(m["content"], path, line, f"{fname}.content", allow_null=bool(calls))
    out: dict[str, Any] = {"role": role, "content": text, "_field": fname}
    out.update({k: v for k, v in m.items() if k not in ("role", "content")})
    if parts is not None:
        out["content_parts"] = parts
    return out


def _one_answer(value: Any, key: str, path: Path, line: int) -> dict[str, Any]:
    if isinstance(value, str):
        return {"role": "assistant", "content": value, "_field": key}
    if isinstance(value, list):
        if len(value) != 1 or not isinstance(value[0], dict):
            raise UserInputError("expected one assistant message", path=path, line=line, field=key)
        return _message(value[0], f"{key}[0]", path, line)
    if isinstance(value, dict):
        return _message(value, key, path, line)
    raise UserInputError(
        f"expected an assistant message, found {json_type(value)}", path=path, line=line, field=key
    )


def parse_record(obj: object, path: Path, line: int, user_turn: str = "combined") -> Record:
    """One example from a record; `user_turn="split"` reads exactly system + user + answer as
    instruction + input + output (the layout `user_turn=split` writes)."""
    d = require_obj(obj, path, line)
    answer = rejected = None
    example_meta: dict[str, Any] = {}
    if "messages" not in d and isinstance(d.get("input"), dict) and "preferred_output" in d:
        inner = d["input"]
        msgs = [
            _message(m, f"input.{f}", path, line)
            for f, m in object_list(inner, "messages", path, line)
        ]
        if "non_preferred_output" not in d:
            raise UserInputError(
                "a preference pair needs both outputs",
                path=path,
                line=line,
                field="non_preferred_output",
            )
        answer = _one_answer(d["preferred_output"], "preferred_output", path, line)
        rejected = _one_answer(d["non_preferred_output"], "non_preferred_output", path, line)
        example_meta = record_fields(d, ("input", "preferred_output", "non_preferred_output"))
        example_meta["_layout"] = "openai-preference"
        inner_extra = {
            k: v for k, v in inner.items() if k != "messages" and (k != "tools" or v is None)
        }
        if inner_extra:
            example_meta["_input"] = inner_extra
        tools = inner.get("tools")
    else:
        msgs = [_message(m, f, path, line) for f, m in object_list(d, "messages", path, line)]
        known = (
            ("messages",)
            + (("tools",) if d.get("tools") is not None else ())
            + (("label",) if isinstance(d.get("label"), bool) else ())
        )
        if "chosen" in d or "rejected" in d:
            for key in ("chosen", "rejected"):
                if key not in d:
                    raise UserInputError(
                        "a preference pair needs both `chosen` and `rejected`",
                        path=path,
                        line=line,
                        field=key,
                    )
            answer = _one_answer(d["chosen"], "chosen", path, line)
            rejected = _one_answer(d["rejected"], "rejected", path, line)
            known += ("chosen", "rejected")
        example_meta = record_fields(d, known)
        if answer is not None:
            example_meta["_layout"] = "messages-chosen-rejected"
        tools = d.get("tools")
    system_msg = msgs[0] if msgs and msgs[0]["role"] == "system" else None
    rest = msgs[1:] if system_msg else msgs
    rec = chat_to_record(msgs, path, line, "messages", answer=answer, rejected=rejected)
    if (
        user_turn == "split"
        and system_msg is not None
        and isinstance(rec.example.system, str)
        and rec.example.system.strip()
        and len(rest) + (answer is not None) == 2
        and rest[0]["role"] == "user"
        and not rec.example.history
        and "_system" not in rec.example.meta
        and not rec.example.meta.get("_pending")
        and not rec.example.meta.get("_dropped_turns")
    ):
        rec.example.input, rec.instruction, rec.example.system = (
            rec.instruction,
            rec.example.system,
            None,
        )
    if isinstance(d.get("label"), bool) and "messages" in d:
        rec.example.kind, rec.example.label = "kto", d["label"]
    rec.example.tools = tools
    rec.example.meta.update(example_meta)
    return rec


def read(path: Path, user_turn: str = "combined") -> list[Task]:
    if user_turn not in USER_TURNS:
        raise UserInputError(
            f"expected one of {', '.join(USER_TURNS)}, found {user_turn!r}", field="user_turn"
        )
    return group_records(
        (parse_record(o, path, n, user_turn) for n, o in iter_json_records(path)), path, FORMAT
    )


def _plain(msg: dict[str, Any]) -> dict[str, Any]:
    # ShareGPT's speaker name has no place in an OpenAI message.
    return {k: v for k, v in msg.items() if k != "from"}


def to_messages(
    task: Task, inst: Instance, user_turn: str = "combined", *, with_answer: bool = True
) -> list[dict[str, Any]]:
    """The example as chat messages (the answer last unless `with_answer` is False)."""
    meta = inst.meta or {}
    if (
        user_turn == "split"
        and inst.input.strip()
        # an empty instruction has no system message to go in (the checker rejects one)
        and instruction_of(task, inst).strip()
        and not inst.system
        and not inst.history
        and not meta.get("_pending")
        and not meta.get("_dropped_turns")
    ):
        msgs = [
            {
                "role": "system",
                "content": instruction_of(task, inst),
                **(meta.get("_system") or {}),
            },
            wire(_message_with("user", inst.input, meta.get("_user") or {})),
        ]
        if with_answer:
            msgs.append(
                wire(answer_message(inst.output, meta.get("_assistant") or {}, inst.weight))
            )
        return [_plain(m) for m in msgs]
    system, sys_extras, turns = example_to_chat(task, inst, with_answer=with_answer)
    msgs = [{"role": "system", "content": system, **(sys_extras or {})}] if system else []
    return [_plain(m) for m in msgs + turns]


def _message_with(role: str, text: str, extras: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": role, "content": text}
    msg.update({k: v for k, v in extras.items() if k not in ("role", "content")})
    return msg


def to_record(task: Task, inst: Instance, user_turn: str = "combined") -> dict[str, Any]:
    """One line of the file: chat, KTO (`label`) or preference layout by the example's kind."""
    meta = inst.meta or {}
    if inst.kind == "preference":
        prompt = to_messages(task, inst, user_turn, with_answer=False)
        chosen = _plain(
            wire(answer_message(inst.output, meta.get("_assistant") or {}, inst.weight))
        )
        rejected = _plain(wire(rejected_message(inst)))
        if meta.get("_layout") != "messages-chosen-rejected":
            inner: dict[str, Any] = {"messages": prompt}
            if inst.tools is not None:
                inner["tools"] = inst.tools
            inner.update(meta.get("_input") or {})
            rec: dict[str, Any] = {
                "input": inner,
                "preferred_output": [chosen],
                "non_preferred_output": [rejected],
            }
        else:
            rec = {"messages": prompt, "chosen": chosen, "rejected": rejected}
            if inst.tools is not None:
                rec["tools"] = inst.tools
        return ordered_record(rec, inst)
    rec = {"messages": to_messages(task, inst, user_turn)}
    if inst.tools is not None:
        rec["tools"] = inst.tools
    if inst.kind == "kto" and inst.label is not None:
        rec["label"] = inst.label
    return ordered_record(rec, inst)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    """Every example, one line each; the exporter has left out (with `--lossy`) or refused
    those with nothing to say (lossy.present: `empty`)."""
    user_turn = options.get("user_turn", "combined")
    n = 0
    for task, _, inst, _ in iter_examples(tasks):
        fh.write(dump(to_record(task, inst, user_turn)) + "\n")
        n += 1
    return n
