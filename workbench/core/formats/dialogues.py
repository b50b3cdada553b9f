"""Dialogues stored as bare lists of turns, and the readers for them:

- **ultrachat** (thunlp/UltraChat, `stingning/ultrachat` on the Hub, the raw release): JSON
  Lines of `{"id": "0", "data": ["user turn", "assistant turn", "user turn", ...]}`, the turns
  alternating and the user first (the dataset card's "Dataset Structure").
- **camel** (CAMEL role-playing, `camel-ai/ai_society`, `camel-ai/code`: the chat format, one
  JSON file per conversation, a JSON list or JSON Lines of them read too): `{"role_1"
  (assistant role), "role_2" (user role), "original_task", "specified_task", "message_1": {...,
  "content"}, ..., "message_N", "num_messages": N, "termination_reason", ...}`; each message may
  name its speaker with `role_type` ("USER" / "ASSISTANT", as camel's BaseMessage writes it),
  else the messages alternate, the AI user first (it gives the instructions).

A dialogue becomes one example as every chat does (conversation.py): the last assistant turn is
the output, the user turn before it the instruction, earlier turns the history; a user turn
after the last answer (UltraChat's odd-length dialogues, CAMEL's closing `<CAMEL_TASK_DONE>`)
is kept in `meta["_dropped_turns"]` and counted in the import summary. The record's other
fields (`id`, roles, tasks, `termination_reason`, a message's `role_name`/`meta_dict`) stay in
the example's meta (a message's other keys on its turn). The CAMEL math set
(`camel-ai/math`: `message_1` problem, `message_2` solution as texts) is not read here: its
layout could not be confirmed from a public source (docs/formats.md).

Errors: turns that are not texts (UltraChat), a message that is not an object with text
`content`, `num_messages` that does not match the messages, a dialogue without an answer
(file, line, field).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Task
from .common import Record, group_records, read_bytes, require_obj
from .conversation import chat_to_record
from .reading import iter_records, text_field, type_name
from .validation import parse_each, sound

ULTRACHAT = "ultrachat"
CAMEL = "camel"
EXTENSIONS = (".jsonl", ".json")
_MESSAGE_RE = re.compile(r"^message_(\d+)$")
_ROLE_TYPES = {"user": "user", "assistant": "assistant"}


def looks_like_ultrachat(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("data"), list)
        and bool(obj["data"])
        and all(isinstance(t, str) for t in obj["data"])
        and set(obj) <= {"id", "data"}
    )


def looks_like_camel(obj: object) -> bool:
    return (
        isinstance(obj, dict) and "num_messages" in obj and isinstance(obj.get("message_1"), dict)
    )


def records(path: Path) -> list[tuple[int, Any]]:
    """(line, record) of a file holding one JSON object (a CAMEL conversation file) or a JSON
    list / JSON Lines of them."""
    data = read_bytes(path)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"{":
        try:
            obj = json.loads(data.decode("utf-8").lstrip("\ufeff"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            obj = None  # JSON Lines (or broken): read line by line
        if isinstance(obj, dict):
            return [(1, obj)] if sound(obj, path, 1) else []
    return list(iter_records(path, data))


def _dialogue(turns: list[dict[str, Any]], path: Path, line: int, meta: dict[str, Any]) -> Record:
    rec = chat_to_record(turns, path, line, turns[-1]["_field"] if turns else "data")
    rec.example.meta.update(meta)
    return rec


def ultrachat_record(obj: Any, path: Path, line: int) -> Record:
    obj = require_obj(obj, path, line)
    data = obj.get("data")
    if not isinstance(data, list) or not data:
        raise UserInputError(
            "expected a list of turns (user first, then assistant, ...)",
            path=path,
            line=line,
            field="data",
        )
    turns = []
    for i, text in enumerate(data):
        if not isinstance(text, str):
            raise UserInputError(
                f"expected text, found {type_name(text)}", path=path, line=line, field=f"data[{i}]"
            )
        role = "user" if i % 2 == 0 else "assistant"
        turns.append({"role": role, "content": text, "_field": f"data[{i}]"})
    return _dialogue(turns, path, line, {k: v for k, v in obj.items() if k != "data"})


def camel_record(obj: Any, path: Path, line: int) -> Record:
    obj = require_obj(obj, path, line)
    numbered = sorted((int(m.group(1)), k) for k in obj if (m := _MESSAGE_RE.match(k)) is not None)
    if [n for n, _ in numbered] != list(range(1, len(numbered) + 1)) or not numbered:
        raise UserInputError(
            "expected messages message_1, message_2, … without gaps",
            path=path,
            line=line,
            field=numbered[-1][1] if numbered else "message_1",
        )
    count = obj.get("num_messages")
    if count is not None and count != len(numbered):
        raise UserInputError(
            f"says {count!r} messages, the record has {len(numbered)}",
            path=path,
            line=line,
            field="num_messages",
        )
    turns = []
    for i, (_, key) in enumerate(numbered):
        msg = obj[key]
        if not isinstance(msg, dict):
            raise UserInputError(
                f"expected a message object, found {type_name(msg)}",
                path=path,
                line=line,
                field=key,
            )
        text = text_field(msg, "content", path, line, name=f"{key}.content")
        kind = str(msg.get("role_type") or "").rsplit(".", 1)[-1].lower()
        role = _ROLE_TYPES.get(kind) or ("user" if i % 2 == 0 else "assistant")
        extra = {k: v for k, v in msg.items() if k != "content"}
        turns.append({"role": role, "content": text, **extra, "_field": key})
    meta = {k: v for k, v in obj.items() if k not in dict(numbered).values()}
    return _dialogue(turns, path, line, meta)


def read_ultrachat(path: Path) -> list[Task]:
    return group_records(parse_each(iter_records(path), ultrachat_record, path), path, ULTRACHAT)


def read_camel(path: Path) -> list[Task]:
    return group_records(parse_each(records(path), camel_record, path), path, CAMEL)
