"""Turning a chat into one example and back; shared by the ShareGPT and OpenAI chat formats.

A chat is a list of turns `{"role", "content", ...}` (roles canonical: user, assistant, system,
tool, function, function_call, observation, ...; any other keys the format had stay on the
turn). The example is built as LLaMA-Factory and FastChat read a chat:

- a system turn at the start is the example's system prompt;
- the answer is the last assistant (or `function_call`) turn, or the `chosen` answer of a
  preference pair; the input is the last user turn before it (the task's instruction);
- turns before that user turn are the example's `history`, turns between it and the answer
  (tool calls and their results) are kept in `meta["_pending"]`;
- turns before the first user turn (an assistant greeting) and after the answer (an
  unanswered user turn) are left out of the example as FastChat does, but kept in
  `meta["_dropped_turns"]` with the reason, counted in the import summary and written back by
  the chat writers;
- `[system, assistant]` (no user turn: the instruction as system prompt, no input) gives the
  system text as the instruction (`meta["_instruction_role"] = "system"`).

Extra keys of the final user and answer turns go to `meta["_user"]` / `meta["_assistant"]`
(`weight` to `Instance.weight`); a `content: null` answer (tool calls only) is kept as
`"content": None` there, and a content given as a list of typed parts as `content_parts`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.examples import weight_problem
from ..store.tasks import Instance, Task
from .common import Record, instruction_of, join_instruction_input, json_type

ANSWER_ROLES = ("assistant", "function_call")
DROP_START = "before the first user turn (FastChat drops it)"
DROP_END = "after the last answer: no answer follows (FastChat drops it)"


def content_text(
    value: Any, path: Path, line: int, field: str, *, allow_null: bool = False
) -> tuple[str | None, Any]:
    """(text, parts) of a message content: text as is, or the text parts of a list of typed
    parts (`{"type": "text", "text"|"value": ...}`) joined, with the list kept as `parts`."""
    if isinstance(value, str):
        return value, None
    if value is None and allow_null:
        return None, None
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        texts = []
        for i, part in enumerate(value):
            if part.get("type", "text") == "text":
                t = part.get("text", part.get("value"))
                if not isinstance(t, str):
                    raise UserInputError(
                        "a text part needs its text (`text` or `value`)",
                        path=path,
                        line=line,
                        field=f"{field}[{i}]",
                    )
                texts.append(t)
        return "".join(texts), value
    raise UserInputError(
        f"expected text or a list of typed parts, found {json_type(value)}",
        path=path,
        line=line,
        field=field,
    )


def _split(turn: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(content, the turn's other keys except role and the internal field name)."""
    return turn.get("content"), {
        k: v for k, v in turn.items() if k not in ("role", "content", "_field")
    }


def _clean(turn: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in turn.items() if k != "_field"}


def _weight(extras: dict[str, Any], path: Path, line: int, field: str) -> float | None:
    if "weight" not in extras:
        return None
    w = extras.pop("weight")
    if why := weight_problem(w):
        raise UserInputError(
            why
            if isinstance(w, int | float) and not isinstance(w, bool)
            else f"{why}, found {json_type(w)}",
            path=path,
            line=line,
            field=f"{field}.weight",
        )
    return w


def chat_to_record(
    turns: list[dict[str, Any]],
    path: Path,
    line: int,
    field: str,
    *,
    system: str | None = None,
    answer: dict[str, Any] | None = None,
    rejected: dict[str, Any] | None = None,
) -> Record:
    """One example from a chat. `turns`: `{"role", "content", "_field", ...}` in order (a
    `_field` names the turn in messages); `system`: a system prompt given beside the turns
    (ShareGPT's `system` key); `answer`/`rejected`: a preference pair's two answers (then the
    chat ends with the prompt). Raises UserInputError (file, line, field) when there is no
    user turn to answer, or the answer is missing."""
    turns = list(turns)
    meta: dict[str, Any] = {}
    if turns and turns[0]["role"] == "system" and system is None:
        first = turns.pop(0)
        system, extras = _split(first)
        if not isinstance(system, str):
            raise UserInputError(
                "the system prompt must be text",
                path=path,
                line=line,
                field=first.get("_field", field),
            )
        if extras:
            meta["_system"] = extras
    if answer is not None:
        answer_i = len(turns)
        turns.append(answer)
    else:
        answer_i = max((i for i, t in enumerate(turns) if t["role"] in ANSWER_ROLES), default=-1)
        if answer_i < 0:
            raise UserInputError(
                "no assistant answer in this chat",
                path=path,
                line=line,
                field=turns[-1].get("_field", field) if turns else field,
                hint="An example needs an assistant turn.",
            )
    tail = turns[answer_i + 1 :]
    user_i = max((i for i in range(answer_i) if turns[i]["role"] == "user"), default=-1)
    dropped: list[dict[str, Any]] = []
    instruction_role = None
    if user_i < 0:
        if system is not None and answer_i == 0 and system.strip():
            instruction, user_extras, history, pending = system, {}, [], []
            system, instruction_role = None, "system"
            if "_system" in meta:
                user_extras = meta.pop("_system")
        else:
            raise UserInputError(
                "no user turn before the answer",
                path=path,
                line=line,
                field=turns[answer_i].get("_field", field),
                hint="An example needs a user turn and its answer.",
            )
    else:
        first_user = next(i for i, t in enumerate(turns) if t["role"] == "user")
        dropped = [{**_clean(t), "_reason": DROP_START} for t in turns[:first_user]]
        history = [_clean(t) for t in turns[first_user:user_i]]
        pending = [_clean(t) for t in turns[user_i + 1 : answer_i]]
        user_turn = turns[user_i]
        user_text, user_extras = _split(user_turn)
        if not isinstance(user_text, str) or not user_text.strip():
            raise UserInputError(
                "the user turn is empty", path=path, line=line, field=user_turn.get("_field", field)
            )
        instruction = user_text
    dropped += [{**_clean(t), "_reason": DROP_END} for t in tail]
    out_turn = turns[answer_i]
    output, out_extras = _split(out_turn)
    out_field = out_turn.get("_field", field)
    weight = _weight(out_extras, path, line, out_field)
    if output is None:
        out_extras["content"] = None
        output = ""
    if out_turn["role"] != "assistant":
        out_extras["role"] = out_turn["role"]
    if user_extras:
        meta["_user"] = user_extras
    if out_extras:
        meta["_assistant"] = out_extras
    if pending:
        meta["_pending"] = pending
    if dropped:
        meta["_dropped_turns"] = dropped
    if instruction_role:
        meta["_instruction_role"] = instruction_role
    kind, rejected_text = "sft", None
    if rejected is not None:
        kind = "preference"
        rejected_text, rej_extras = _split(rejected)
        if rejected_text is None:
            rej_extras["content"] = None
            rejected_text = ""
        if rejected.get("role", "assistant") != "assistant":
            rej_extras["role"] = rejected["role"]
        if rej_extras:
            meta["_rejected"] = rej_extras
    return Record(
        line=line,
        instruction=instruction,
        instance=Instance(
            output=output,
            system=system,
            history=history,
            kind=kind,
            rejected=rejected_text,
            weight=weight,
            meta=meta,
        ),
    )


def _restore(turn: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in turn.items() if k != "_reason"}


def _message(role: str, text: str, extras: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": extras.get("role", role), "content": text}
    for k, v in extras.items():
        if k == "role":
            continue
        if k == "content":  # the file had null: kept while the text stays empty
            if text == "":
                msg["content"] = v
        else:
            msg[k] = v
    return msg


def example_to_chat(
    task: Task, inst: Instance, *, with_answer: bool = True, restore_dropped: bool = True
) -> tuple[str | None, dict[str, Any] | None, list[dict[str, Any]]]:
    """(system prompt, its extra keys, turns) of an example, the inverse of `chat_to_record`.

    Turns are `{"role", "content", ...}` dicts with canonical roles; the instruction and input
    share the last user turn (a blank line between). `with_answer=False` leaves the answer out
    (a preference pair's prompt); `restore_dropped` puts back the turns the import left out.
    """
    meta = inst.meta or {}
    dropped = (meta.get("_dropped_turns") or []) if restore_dropped else []
    start = [_restore(t) for t in dropped if t.get("_reason") == DROP_START]
    end = [_restore(t) for t in dropped if t.get("_reason") != DROP_START]
    answer = (
        [answer_message(inst.output, meta.get("_assistant") or {}, inst.weight)]
        if with_answer
        else []
    )
    if meta.get("_instruction_role") == "system" and not inst.input and not inst.history:
        return (
            instruction_of(task, inst),
            dict(meta.get("_user") or {}) or None,
            [wire(t) for t in start + answer + (end if with_answer else [])],
        )
    user = _message(
        "user",
        join_instruction_input(instruction_of(task, inst), inst.input),
        meta.get("_user") or {},
    )
    turns = (
        start
        + [dict(t) for t in inst.history or []]
        + [user]
        + [dict(t) for t in meta.get("_pending") or []]
        + answer
        + (end if with_answer else [])
    )
    return inst.system, dict(meta.get("_system") or {}) or None, [wire(t) for t in turns]


def parts_text(parts: list[dict[str, Any]]) -> str:
    return "".join(
        p.get("text", p.get("value", "")) for p in parts if p.get("type", "text") == "text"
    )


def wire(turn: dict[str, Any]) -> dict[str, Any]:
    """A kept turn as a file holds it: `content_parts` back in place of the text while the
    text is unchanged (edited text is written as plain text)."""
    parts = turn.get("content_parts")
    if parts is None:
        return turn
    out = {k: v for k, v in turn.items() if k != "content_parts"}
    if isinstance(parts, list) and parts_text(parts) == (turn.get("content") or ""):
        out["content"] = parts
    return out


def answer_message(text: str, extras: dict[str, Any], weight: float | None) -> dict[str, Any]:
    """The answer turn, with its kept keys (tool calls, null content) and weight."""
    msg = _message("assistant", text, extras)
    if weight is not None:
        msg["weight"] = weight
    return msg


def rejected_message(inst: Instance) -> dict[str, Any]:
    return _message("assistant", inst.rejected or "", (inst.meta or {}).get("_rejected") or {})
