"""What a writer cannot hold, for every writer the same way (docs/formats.md, "Round trips").

A format module names what its records keep with `HOLDS` (the FIELDS below; no `HOLDS`: it
keeps everything). Before a file is written the exporter counts, per field, the examples that
carry something the format has no place for. By default it refuses, naming the fields, the
counts and the formats that keep them (`LossyExportError`); with `lossy=True` (the CLI's
`--lossy`) it writes the examples without those fields and reports the counts in the summary.

One field is a whole example: `empty` (an empty answer with no tool call, an empty prompt, or an
empty earlier turn),
which a chat format with no valid form for it (openai-chat: the checker rejects empty content)
cannot write at all; with `lossy=True` such examples are left out and counted. So every writer
writes each selected example, or the export is refused, or the count of what was left out is
reported: written + left out == selected (tests/test_formats_writers.py).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import iter_examples, turns_to_pairs

# Field name -> how the messages name it.
FIELDS: dict[str, str] = {
    "system": "system prompt",
    "history": "earlier turns (history)",
    "tool-history": "earlier turns with tool calls or other roles",
    "tool-calls": "tool calls before or in the answer",
    "rejected": "rejected answer (preference pair)",
    "label": "KTO label",
    "weight": "answer weight",
    # OpenAI's fine-tuning checker takes only 0 or 1; LLaMA-Factory/ShareGPT keep any number.
    "weight-fraction": "a training weight other than 0 or 1",
    "tools": "tool definitions",
    "empty": "an empty answer, prompt or earlier turn (left out as a whole)",
}
# Fields whose absence leaves the whole example out (it has no form without them).
WHOLE = frozenset({"empty"})
# What a writer leaves out by the option it was given, never refused: reported in `left_out`
# with the FIELDS (the writer returns `(count, {name: examples})`).
REPORTED: dict[str, str] = {
    "duplicates": "identical records written once (rewrite=reference)",
    # selfinstruct-generated: an example its step-3 text (raw_instances) cannot give back as it
    # is (an empty output, one with "Output:" in it, a sixth of a task), with --lossy.
    "examples": "the example itself (the step-3 raw_instances text cannot give it back as it is)",
    # selfinstruct-seed: a task's stored field with no place on a seed line (counted in tasks).
    "task-fields": "a task's stored field a seed line cannot hold (a text is_classification)",
}
# REPORTED keys counted in tasks, not examples.
PER_TASK = frozenset({"task-fields"})


def written(result: int | tuple[int, dict[str, int]]) -> tuple[int, dict[str, int]]:
    """(records written, REPORTED counts) from what a writer returned: a count, or a count with
    what it left out."""
    if isinstance(result, tuple):
        count, reported = result
        return count, {k: n for k, n in reported.items() if n}
    return result, {}


ALL = frozenset(FIELDS)


class LossyExportError(UserInputError):
    """The format cannot hold some examples' fields; `counts` per field, `examples` affected."""

    def __init__(
        self, message: str, *, counts: dict[str, int], examples: int, total: int, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.counts = counts
        self.examples = examples
        self.total = total


def present(inst: Instance, task: Task | None = None) -> set[str]:
    """The FIELDS an example (of `task`, when given: its instruction is the prompt) carries."""
    meta = inst.meta or {}
    out: set[str] = set()
    answer = meta.get("_assistant") or {}
    calls = answer.get("tool_calls") or answer.get("function_call")
    if (
        (not inst.output.strip() and not calls)
        or (inst.kind == "preference" and not (inst.rejected or "").strip())
        or (task is not None and not task.instruction.strip() and not inst.input.strip())
        or any(_empty_turn(t) for t in inst.history or [])
    ):
        out.add("empty")
    if inst.system:
        out.add("system")
    if inst.history:
        out.add("history" if turns_to_pairs(inst.history) is not None else "tool-history")
    if meta.get("_pending") or calls:
        out.add("tool-calls")
    if inst.kind == "preference":
        out.add("rejected")
    if inst.kind == "kto" and inst.label is not None:
        out.add("label")
    if inst.weight is not None:
        out.add("weight")
    if _fraction(inst.weight) or any(
        isinstance(t, dict) and _fraction(t.get("weight")) for t in inst.history or []
    ):
        out.add("weight-fraction")
    if inst.tools is not None:
        out.add("tools")
    return out


def _empty_turn(turn: Any) -> bool:
    """An earlier turn with no text and no tool call (a chat checker rejects it)."""
    if not isinstance(turn, dict):
        return False
    return not turn.get("content") and not (turn.get("tool_calls") or turn.get("function_call"))


def _fraction(weight: Any) -> bool:
    return isinstance(weight, int | float) and not isinstance(weight, bool) and weight not in (0, 1)


def missing(inst: Instance, task: Task | None, holds: frozenset[str]) -> set[str]:
    """The FIELDS of an example that a format holding `holds` has no place for. A format with
    no place for weights has none for a fractional one either (so a refusal's list of formats
    that keep them never names one that would refuse in turn)."""
    return present(inst, task) - kept(holds)


def kept(holds: frozenset[str]) -> frozenset[str]:
    """What a format holding `holds` really keeps: no weights, no fractional ones either."""
    return holds if "weight" in holds else holds - {"weight-fraction"}


def count(tasks: Iterable[Task], holds: frozenset[str]) -> tuple[dict[str, int], int, int]:
    """(examples per field the format cannot hold, examples affected, examples in all)."""
    counts: dict[str, int] = {}
    affected = total = 0
    for task, _, inst, _ in iter_examples(tasks):
        total += 1
        lost = missing(inst, task, holds)
        if lost:
            affected += 1
            for name in lost:
                counts[name] = counts.get(name, 0) + 1
    return {k: counts[k] for k in FIELDS if k in counts}, affected, total


def describe(counts: dict[str, int]) -> str:
    """ "earlier turns (history) in 25 examples, KTO label in 40 examples"."""
    return ", ".join(
        f"{FIELDS.get(k) or REPORTED.get(k, k)} in {n} "
        f"{'task' if k in PER_TASK else 'example'}{'s' if n != 1 else ''}"
        for k, n in counts.items()
    )


def refusal(
    fmt: str, counts: dict[str, int], affected: int, total: int, keepers: list[str]
) -> LossyExportError:
    return LossyExportError(
        f"{fmt} cannot hold everything in {affected} of {total} examples: {describe(counts)}; "
        "nothing was written",
        field="format",
        counts=counts,
        examples=affected,
        total=total,
        hint=(
            f"Export as {', '.join(keepers)}, which keep them, or export" if keepers else "Export"
        )
        + " again with --lossy to write the examples without them.",
    )


def task_refusal(fmt: str, counts: dict[str, int], affected: int, total: int) -> LossyExportError:
    """The refusal for task fields a task-level format cannot hold (`counts`: field -> tasks;
    `affected` of `total` tasks selected, given as `examples`/`total`)."""
    named = ", ".join(f"{k} in {n} task{'s' if n != 1 else ''}" for k, n in counts.items())
    return LossyExportError(
        f"{fmt} cannot hold every stored field of {affected} of {total} tasks: {named}; "
        "nothing was written",
        field="format",
        counts=counts,
        examples=affected,
        total=total,
        hint="Export again with --lossy to write those tasks without them"
        + (' (a " Yes"/" No" label written as true/false)' if "is_classification" in counts else "")
        + (
            " (raw_instances: the examples its text cannot give back as they are are left out "
            "and counted)"
            if "raw_instances" in counts
            else ""
        )
        + ".",
    )


def strip(tasks: list[Task], holds: frozenset[str]) -> list[Task]:
    """Copies of the tasks whose examples leave out what the format cannot hold (an example
    missing a WHOLE field is left out itself)."""
    out = []
    for task in tasks:
        insts = []
        for inst in task.instances:
            lost = missing(inst, task, holds)
            if lost & WHOLE:
                continue
            if lost:
                inst = _without(inst, lost)
            insts.append(inst)
        new = copy.copy(task)
        new.instances = insts
        out.append(new)
    return out


def _without(inst: Instance, missing: set[str]) -> Instance:
    inst = copy.copy(inst)
    meta = dict(inst.meta or {})
    if "system" in missing:
        inst.system = None
        for key in ("_system", "_system_turn", "_system_empty"):
            meta.pop(key, None)
    if missing & {"history", "tool-history"}:
        inst.history = []
    if "tool-calls" in missing:
        meta.pop("_pending", None)
        answer = {
            k: v
            for k, v in (meta.get("_assistant") or {}).items()
            if k not in ("tool_calls", "function_call", "role", "content")
        }
        if answer:
            meta["_assistant"] = answer
        else:
            meta.pop("_assistant", None)
    if "rejected" in missing:
        inst.kind, inst.rejected = "sft", None
        meta.pop("_rejected", None)
    if "label" in missing:
        inst.kind, inst.label = "sft", None
        meta.pop("_label_key", None)
    if "weight" in missing or ("weight-fraction" in missing and _fraction(inst.weight)):
        inst.weight = None
    if "weight-fraction" in missing and inst.history:
        inst.history = [
            {k: v for k, v in t.items() if not (k == "weight" and _fraction(v))}
            if isinstance(t, dict)
            else t
            for t in inst.history
        ]
    if "tools" in missing:
        inst.tools = None
    inst.meta = meta
    return inst
