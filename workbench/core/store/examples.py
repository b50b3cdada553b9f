"""Examples (instances) with their own conversation: how they are stored and compared.

Columns of `instances` (migration v006) beyond `input`/`output`:

- `system` TEXT (NULL = none), `history` JSON list of earlier turns (`[]` = none),
- `kind` "sft" | "preference" | "kto", `rejected` TEXT (preference), `label` 0/1/NULL (KTO),
- `weight` REAL (NULL = default 1), `tools` JSON (NULL = none; a text value is stored as a JSON
  string), `meta` JSON object, `seq` INTEGER (file order across imports; NULL = none).

Keys of `Instance.meta` starting with "_" are the workbench's own:

- `_user`, `_assistant`: extra keys of the final user / assistant message as the file had them
  (`name`, `tool_calls`, `function_call`, `loss_weight`, `content_parts`, `content_null`, ...),
  so that a tool-call-only final turn (`content: null`) round-trips.
- `_dropped_turns`: turns an import left out of the example (FastChat drops an opening
  assistant greeting and a trailing unanswered user turn), each `{"role", "content",
  "reason"}`; kept, never lost, and counted in the import summary.
- `_record`: the names of the record's top-level keys in file order (writers follow it).
- `_pending`: turns between the final user turn and the answer (tool calls, their results);
  `_system` / `_rejected`: extra keys of the system turn / the rejected answer.
- `_instruction`: the record's own wording of an instruction its task has written otherwise
  (case, spacing); `_instruction_role` "system": the instruction came as a system prompt
  (`[system, assistant]` chats).
- how the file laid it out, so writers give it back the same way: `_system_turn` (system as
  the first turn, not a key), `_system_empty`, `_layout` (preference layout), `_style` (TRL),
  `_label_key` (`kto_tag`), `_input` (extra keys of OpenAI preference's `input`).

Every other key is a field of the record the format has no column for (`id`, `images`,
`category`, ...), kept under its own name and written back by formats that can hold it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .workspace import Workspace


def weight_problem(value: Any) -> str | None:
    """Why `value` is not a training weight, or None when it is one: a finite number >= 0, not
    true/false (OpenAI fine-tuning: 0 = the turn is not trained on, 1 = it is; other numbers
    scale the loss). The one definition the importers and the example editor share."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "a weight is a number ≥ 0 (0 = not trained on, 1 = trained on)"
    if not math.isfinite(value) or value < 0:
        return f"a weight is a finite number ≥ 0, not {value!r}"
    return None


def tools_problem(value: Any) -> str | None:
    """Why `value` is not tool definitions, or None when it is: a JSON list (OpenAI, ShareGPT)
    or the text LLaMA-Factory writes, which must parse as a JSON list or object (empty text
    is no tools)."""
    if value is None or isinstance(value, list):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return "tool definitions as text must be JSON (a list of tools); this text is not"
        if isinstance(parsed, list | dict):
            return None
    return "tool definitions are a JSON list of tools (or that list as JSON text)"


@dataclass
class Instance:
    """One example of a task: input → output, with the conversation it belongs to.

    `input` is the final user turn's input and `output` the final assistant turn ("" is allowed
    when that turn is only tool calls, kept in `meta["_assistant"]`). `history` holds the earlier
    turns, oldest first, each `{"role": "user"|"assistant"|"tool"|"function"|"observation"|...,
    "content": str | None, ...}` with any extra keys the format had (tool_calls, name, weight).
    `kind` is "sft", "preference" (`output` = chosen answer, `rejected` = the other) or "kto"
    (`label` True = desirable). `weight` is the final assistant turn's training weight (None =
    the default, 1). `tools` are tool/function definitions as the file had them (JSON value or
    text). `meta` keeps per-example extras losslessly: media references (`images`, `videos`,
    `audios`), record ids and unknown fields under their own names; keys starting with "_" are
    the workbench's (see workbench/core/store/examples.py). `seq` orders examples as their files
    had them (set on import; exports follow it).
    """

    input: str = ""
    output: str = ""
    system: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "sft"
    rejected: str | None = None
    label: bool | None = None
    weight: float | None = None
    tools: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None


class HasInstances(Protocol):
    """A task as these functions see it (store.tasks.Task; no import, no cycle)."""

    instances: list[Instance]


T = TypeVar("T", bound=HasInstances)
KINDS = ("sft", "preference", "kto")
MEDIA_KEYS = ("images", "videos", "audios")
_SELECT = (
    "SELECT task_id, input, output, system, history, kind, rejected, label, weight, tools, "
    "meta, seq FROM instances"
)


def instance_row(task_id: int, position: int, inst: Instance) -> dict[str, Any]:
    """The `instances` row of one example; ValueError for an unknown kind."""
    if inst.kind not in KINDS:
        raise ValueError(f"unknown example kind {inst.kind!r} (expected one of {KINDS})")
    return {
        "task_id": task_id,
        "position": position,
        "input": inst.input,
        "output": inst.output,
        "system": inst.system,
        "history": json.dumps(inst.history or [], ensure_ascii=False),
        "kind": inst.kind,
        "rejected": inst.rejected,
        "label": None if inst.label is None else int(bool(inst.label)),
        "weight": inst.weight,
        "tools": None if inst.tools is None else json.dumps(inst.tools, ensure_ascii=False),
        "meta": json.dumps(inst.meta or {}, ensure_ascii=False),
        "seq": inst.seq,
    }


def insert_instances(
    ws: Workspace,
    task_id: int,
    instances: Iterable[Instance],
    start: int = 0,
    *,
    call_id: int | None = None,
) -> int:
    """Insert examples of a task at positions `start`, `start + 1`, ...; `call_id` the model
    call that wrote them. Returns how many."""
    n = 0
    for n, inst in enumerate(instances, start=1):
        row = instance_row(task_id, start + n - 1, inst)
        if call_id is not None:
            row["call_id"] = call_id
        ws.insert("instances", row)
    return n


def row_to_instance(row: Any) -> Instance:
    """An Instance from a row of `_SELECT` (a tuple or a dict)."""
    r = list(row.values()) if isinstance(row, dict) else list(row)
    _, input_, output, system, history, kind, rejected, label, weight, tools, meta, seq = r
    return Instance(
        input=input_,
        output=output,
        system=system,
        history=json.loads(history or "[]"),
        kind=kind or "sft",
        rejected=rejected,
        label=None if label is None else bool(label),
        weight=weight,
        tools=None if tools is None else json.loads(tools),
        meta=json.loads(meta or "{}"),
        seq=seq,
    )


def load_instances(
    ws: Workspace, task_ids: Iterable[int] | None = None
) -> dict[int, list[Instance]]:
    """task id → its examples in order; `task_ids` None reads every task's."""
    out: dict[int, list[Instance]] = {}
    rows: Iterable[Any]
    if task_ids is None:
        rows = ws.execute(_SELECT + " ORDER BY task_id, position, id")
    else:
        ids = list(task_ids)
        if len(ids) == 1:
            rows = ws.execute(_SELECT + " WHERE task_id = ? ORDER BY position, id", (ids[0],))
        else:
            wanted = set(ids)
            rows = (
                r for r in ws.execute(_SELECT + " ORDER BY task_id, position, id") if r[0] in wanted
            )
    for r in rows:
        out.setdefault(r[0], []).append(row_to_instance(r))
    return out


# ------------------------------------------------------------------------------ duplicates
def example_key(inst: Instance) -> str:
    """What makes two examples the same: every field but `seq` (file order) and the
    bookkeeping `_record` key order. Text compared exactly (no normalisation)."""
    meta = {k: v for k, v in (inst.meta or {}).items() if k != "_record"}
    return json.dumps(
        [
            inst.input,
            inst.output,
            inst.system,
            inst.history or [],
            inst.kind,
            inst.rejected,
            inst.label,
            inst.weight,
            inst.tools,
            meta,
        ],
        ensure_ascii=False,
        sort_keys=True,
    )


def keep_wording(instances: Iterable[Instance], wording: str, task_instruction: str) -> None:
    """Examples that came with `wording` for an instruction a task already has as
    `task_instruction` (the same once normalised: case, spacing) keep their wording
    (`meta["_instruction"]`), so exports write it as their file had it. Call it before
    comparing examples (it is part of what makes two examples the same)."""
    if wording != task_instruction:
        for inst in instances:
            inst.meta.setdefault("_instruction", wording)


def merge_examples(ws: Workspace, task_id: int, instances: list[Instance]) -> tuple[int, int]:
    """Append to task `task_id` those of `instances` it does not hold yet (identical examples
    are duplicates); returns (added, duplicates). Use `keep_wording` first when the examples
    came with another wording of the task's instruction."""
    have = {example_key(i) for i in load_instances(ws, [task_id]).get(task_id, [])}
    start = ws.scalar(
        "SELECT coalesce(max(position) + 1, 0) FROM instances WHERE task_id = ?", (task_id,)
    )
    new: list[Instance] = []
    for inst in instances:
        key = example_key(inst)
        if key not in have:
            have.add(key)
            new.append(inst)
    insert_instances(ws, task_id, new, start)
    return len(new), len(instances) - len(new)


def drop_duplicate_examples(tasks: Sequence[HasInstances]) -> int:
    """Remove from each task the examples identical to an earlier one of it; returns how many."""
    dropped = 0
    for task in tasks:
        seen: set[str] = set()
        kept = []
        for inst in task.instances:
            key = example_key(inst)
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            kept.append(inst)
        task.instances = kept
    return dropped


def rebase_seq(ws: Workspace, tasks: Iterable[HasInstances]) -> None:
    """Shift the file positions (`seq`) an import's reader gave its examples past every `seq`
    already in the workspace, so exports list an import's examples after earlier imports', in
    file order."""
    base = ws.scalar("SELECT coalesce(max(seq) + 1, 0) FROM instances")
    for task in tasks:
        for inst in task.instances:
            if inst.seq is not None:
                inst.seq += base


def ordered_examples(tasks: Iterable[T]) -> list[tuple[T, int, Instance]]:
    """(task, index, example) in file order: by `seq`; an example without one follows the
    example before it in its task; tasks with no `seq` at all come last, in task order."""
    keyed = []
    for t_i, task in enumerate(tasks):
        last: float = float("inf")
        for i, inst in enumerate(task.instances):
            if inst.seq is not None:
                last = inst.seq
            keyed.append(((last, t_i, i), task, i, inst))
    keyed.sort(key=lambda k: k[0])
    return [(task, i, inst) for _, task, i, inst in keyed]


def import_notes(tasks: Iterable[HasInstances]) -> dict[str, int]:
    """What an import summary should say about its examples: `dropped_turns` (turns left out
    of examples but kept in their meta), `with_media` (examples with image/video/audio
    references, kept in meta), `preference`, `kto`, `with_tools` counts, and `same_answers`
    (preference pairs whose chosen and rejected answers are identical: kept, but they teach
    nothing; a warning)."""
    notes = {
        "dropped_turns": 0,
        "with_media": 0,
        "preference": 0,
        "kto": 0,
        "with_tools": 0,
        "same_answers": 0,
    }
    for task in tasks:
        for inst in task.instances:
            notes["same_answers"] += inst.kind == "preference" and inst.output == inst.rejected
            notes["dropped_turns"] += len(inst.meta.get("_dropped_turns") or [])
            notes["with_media"] += any(inst.meta.get(k) for k in MEDIA_KEYS)
            notes["preference"] += inst.kind == "preference"
            notes["kto"] += inst.kind == "kto"
            notes["with_tools"] += inst.tools is not None
    return notes
