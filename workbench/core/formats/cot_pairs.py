"""CoT runs as preference pairs: for each question of a run, a sampled path that reached the
gold answer is `chosen` and one that did not is `rejected`, with their SELF-CHECK confidences
when the run had them. Written by any writer that holds preference pairs (`trl`, `sharegpt`
in LLaMA-Factory's DPO layout, `openai-chat` as OpenAI preference fine-tuning, `alpaca`).

Pairing: the correct paths (highest confidence first, then sample order) and the wrong ones
(lowest confidence first) are paired in turn, the shorter list starting over, so every path of
a question with both kinds is in at least one pair and no pair repeats. A path with no answer
found is neither (it is not wrong about the answer, it has none). Questions whose paths are all
right or all wrong give no pair.

Each pair keeps, in its meta (written as columns by `trl`): `cot_run`, `cot_item`,
`chosen_path` / `rejected_path` (cot_paths ids), `chosen_answer` / `rejected_answer`,
`gold_answer`, and `chosen_confidence` / `rejected_confidence` (null without SELF-CHECK).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..fileio import atomic_text_file
from ..store.runs import get_run
from ..store.tasks import Instance, Task
from ..store.workspace import Workspace
from . import registry

PAIR_FORMATS = ("trl", "sharegpt", "openai-chat", "alpaca")


def _instruction(ws: Workspace, run: dict[str, Any], row: dict[str, Any]) -> str:
    if row["instruction"].strip():
        return row["instruction"]
    from ..cot.rationale import CotPrompts  # the run's templates word an empty instruction

    prompts = CotPrompts.load(run["config"].get("prompts_path"))
    return prompts.types[row["cot_type"]]["instruction"].strip()


def cot_preference_tasks(ws: Workspace, run_id: int) -> list[Task]:
    """One task per question of CoT run `run_id` that has both a correct and a wrong path, its
    examples the pairs (kind "preference"). UserInputError when there is no such CoT run."""
    run = get_run(ws, run_id)
    if run is None or run["kind"] != "cot":
        raise UserInputError(f"no CoT run {run_id} in this workspace", field="run")
    tasks: list[Task] = []
    items = ws.query("SELECT * FROM cot_items WHERE run_id = ? ORDER BY position", (run_id,))
    seq = 0
    for item in items:
        paths = ws.query(
            "SELECT id, sample_index, rationale, answer, correct, confidence "
            "FROM cot_paths WHERE item_id = ? ORDER BY sample_index",
            (item["id"],),
        )
        right = [p for p in paths if p["correct"] == 1 and p["rationale"].strip()]
        wrong = [p for p in paths if p["correct"] == 0 and p["rationale"].strip()]
        if not right or not wrong:
            continue
        right.sort(
            key=lambda p: (
                -(p["confidence"] if p["confidence"] is not None else -1),
                p["sample_index"],
            )
        )
        wrong.sort(
            key=lambda p: (p["confidence"] if p["confidence"] is not None else 2, p["sample_index"])
        )
        task = Task(
            instruction=_instruction(ws, run, item),
            is_classification=False,
            source="generated",
            origin=item["source_ref"],
            run_id=run_id,
            meta={"cot": {"run": run_id, "item": item["id"]}},
        )
        for i in range(max(len(right), len(wrong))):
            good, bad = right[i % len(right)], wrong[i % len(wrong)]
            task.instances.append(
                Instance(
                    item["input"],
                    good["rationale"],
                    kind="preference",
                    rejected=bad["rationale"],
                    seq=seq,
                    meta={
                        "cot_run": run_id,
                        "cot_item": item["id"],
                        "chosen_path": good["id"],
                        "rejected_path": bad["id"],
                        "chosen_answer": good["answer"],
                        "rejected_answer": bad["answer"],
                        "gold_answer": item["gold_answer"],
                        "chosen_confidence": good["confidence"],
                        "rejected_confidence": bad["confidence"],
                    },
                )
            )
            seq += 1
        tasks.append(task)
    return tasks


def export_cot_pairs(
    ws: Workspace, run_id: int, fmt: str, out_path: str | Path, **options: Any
) -> dict[str, Any]:
    """Write CoT run `run_id`'s preference pairs as `fmt` (one of PAIR_FORMATS) to `out_path`,
    atomically; returns {"count", "questions", "path", "format"} and records the export (not in a
    workspace opened read-only)."""
    if fmt not in PAIR_FORMATS:
        raise UserInputError(
            f"expected one of {', '.join(PAIR_FORMATS)}, found {fmt!r}", field="format"
        )
    spec = registry.get(fmt)
    out = Path(out_path).expanduser().absolute()
    if not out.parent.is_dir():
        raise UserInputError("the folder to write into does not exist", path=out.parent)
    tasks = cot_preference_tasks(ws, run_id)
    opts = {k: str(v) for k, v in options.items()}
    for key in opts:
        if key not in spec.options:
            raise UserInputError(f"unknown option for {fmt}", field=f"option {key}")
    if "layout" in spec.options and "layout" not in opts:
        opts["layout"] = "json" if out.suffix.lower() == ".json" else "jsonl"
    assert spec.write is not None
    with atomic_text_file(out) as fh:
        count = spec.write(_all(tasks), fh, opts)
    if ws.readonly:  # opened read-only (a read-only folder): the export is not recorded
        return {"count": count, "questions": len(tasks), "path": str(out), "format": fmt}
    with ws.transaction():
        ws.insert(
            "exports",
            {
                "format": fmt,
                "path": str(out),
                "selection": json.dumps({"cot_pairs": run_id, **opts}),
                "count": count,
            },
        )
    return {"count": count, "questions": len(tasks), "path": str(out), "format": fmt}


def _all(tasks: list[Task]) -> Iterable[Task]:
    return iter(tasks)
