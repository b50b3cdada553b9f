"""OpenAI chat fine-tuning JSONL: `{"messages": [{"role", "content"}, ...]}`, one per instance.

Mapping (`--option user_turn=split`, the default) follows prompt_with_output /
prompt_without_output: system = instruction, user = input, assistant = output. When the input
is empty the instruction goes in the user turn and there is no system message: a training
example needs a user turn, and OpenAI's checker wants no empty content. A task with its own
system prompt or earlier turns (Alpaca `system`/`history`) keeps them, with instruction and
input together in the last user turn. `user_turn=combined` always puts instruction and input
together in the user turn (system only when the task has its own).

Import is the inverse: exactly system + user + assistant is instruction + input + output; any
other chat is system prompt + history + (user = instruction, assistant = output).
Examples with an empty output are not written (the checker rejects empty content).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Iterable

from ..errors import UserInputError
from ..store.tasks import Task
from .common import (
    Record, dump, get_str, group_records, iter_examples, iter_jsonl, object_list, require_obj,
)
from .conversation import chat_to_record, record_to_chat

FORMAT = "openai-chat"
EXTENSIONS = (".jsonl",)
OPTIONS = {"user_turn": ("split", "combined")}

# The checks of the OpenAI cookbook's "Data preparation and analysis for chat model
# fine-tuning" (format error checks), with `tool` added to the roles and `weight` to the keys
# as the current fine-tuning guide allows.
ALLOWED_KEYS = ("role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id")
ALLOWED_ROLES = ("system", "user", "assistant", "function", "tool")


def looks_like(obj: object) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("messages"), list)


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
            if (not content and not calls) or (content is not None and not isinstance(content, str)):
                problems.append(f"{where}: missing_content (empty or not text)")
            if "weight" in m and m["weight"] not in (0, 1):
                problems.append(f"{where}: weight must be 0 or 1")
        if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
            problems.append(f"line {line_no}: example_missing_assistant_message")
    if n_examples == 0:
        problems.append(f"{p}: no examples")
    return problems


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    messages = list(object_list(d, "messages", path, line))
    system: str | None = None
    turns: list[tuple[str, str, str]] = []
    for i, (fname, m) in enumerate(messages):
        role = get_str(m, "role", path, line, field_name=f"{fname}.role")
        if role not in ("system", "user", "assistant"):
            raise UserInputError(f"role {role!r} cannot be imported (expected system, user or "
                                 "assistant)", path=path, line=line, field=f"{fname}.role")
        content = get_str(m, "content", path, line, field_name=f"{fname}.content")
        if role == "system":
            if turns or system is not None:
                raise UserInputError("a system message must come first, once", path=path,
                                     line=line, field=fname)
            system = content
        elif m.get("weight") == 0 and role == "assistant" and i == len(messages) - 1:
            raise UserInputError("the last assistant message has weight 0 (not trained on)",
                                 path=path, line=line, field=f"{fname}.weight")
        else:
            turns.append((role, content, fname))
    if system is not None and system.strip() and len(turns) == 2:
        rec = chat_to_record(None, turns, path, line, "messages")
        rec.input, rec.instruction = rec.instruction, system
        return rec
    return chat_to_record(system, turns, path, line, "messages")


def read(path: Path) -> list[Task]:
    return group_records((parse_record(o, path, n) for n, o in iter_jsonl(path)), path, FORMAT)


def to_messages(instruction: str, input_: str, output: str, extras: dict[str, Any],
                user_turn: str = "split") -> list[dict[str, str]]:
    if user_turn == "split" and input_.strip() and not extras.get("system") \
            and not extras.get("history"):
        return [{"role": "system", "content": instruction}, {"role": "user", "content": input_},
                {"role": "assistant", "content": output}]
    system, turns = record_to_chat(instruction, input_, output, extras)
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": role, "content": text} for role, text in turns]


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    user_turn = options.get("user_turn", "split")
    n = 0
    for task, _, inst, extras in iter_examples(tasks):
        if not inst.output.strip() or not task.instruction.strip():
            continue
        fh.write(dump({"messages": to_messages(task.instruction, inst.input, inst.output, extras,
                                               user_turn)}) + "\n")
        n += 1
    return n
