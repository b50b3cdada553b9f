"""Turning a chat (system, then user/assistant turns) into a task example and back; shared by
the ShareGPT and OpenAI chat formats.

The last user/assistant pair is the example (user = instruction, assistant = output); earlier
pairs are its `history` and a system prompt its `system`, kept in Task.meta, as LLaMA-Factory
maps multi-turn chats onto Alpaca records.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserInputError
from .common import Record, join_instruction_input


def chat_to_record(system: str | None, turns: list[tuple[str, str, str]], path: Path,
                   line: int, field: str) -> Record:
    """`turns`: (role, text, field name) with role "user" or "assistant", system removed."""
    if not turns:
        raise UserInputError("no user or assistant turn", path=path, line=line, field=field)
    pairs: list[list[str]] = []
    i = 0
    while i < len(turns):
        role, text, fname = turns[i]
        if role != "user":
            raise UserInputError("expected a user turn here (turns alternate user, assistant)",
                                 path=path, line=line, field=fname)
        if i + 1 >= len(turns):
            raise UserInputError("the last turn must be the assistant's answer", path=path,
                                 line=line, field=fname)
        role2, text2, fname2 = turns[i + 1]
        if role2 != "assistant":
            raise UserInputError("expected an assistant turn here (turns alternate user, "
                                 "assistant)", path=path, line=line, field=fname2)
        pairs.append([text, text2])
        i += 2
    instruction, output = pairs[-1]
    if not instruction.strip():
        raise UserInputError("the user turn is empty", path=path, line=line, field=turns[-2][2])
    extras: dict[str, Any] = {}
    if system:
        extras["system"] = system
    if len(pairs) > 1:
        extras["history"] = pairs[:-1]
    return Record(line=line, instruction=instruction, output=output, extras=extras)


def record_to_chat(instruction: str, input_: str, output: str, extras: dict[str, Any],
                   ) -> tuple[str | None, list[tuple[str, str]]]:
    """(system, [(role, text), ...]) with the instruction and input in one user turn."""
    turns: list[tuple[str, str]] = []
    for user, assistant in extras.get("history") or []:
        turns += [("user", user), ("assistant", assistant)]
    turns += [("user", join_instruction_input(instruction, input_)), ("assistant", output)]
    return extras.get("system") or None, turns
