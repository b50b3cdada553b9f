"""CoT runs as preference pairs: for each question of a run, a sampled path that reached the
gold answer is `chosen` and one that did not is `rejected`, with their SELF-CHECK confidences
when the run had them. Written by any writer that holds preference pairs (`trl`, `sharegpt`
in LLaMA-Factory's DPO layout, `openai-chat` as OpenAI preference fine-tuning, `alpaca`).

Which path is correct is decided by `cot.rationale.path_correct`, the rule the CoT job's
kept/correct figures use: a path's own final answer equals the gold one; a path whose call
stopped at the token limit has no answer of its own (unless the run used compat "reference").

Pairing: the correct paths (highest confidence first, then sample order) and the wrong ones
(lowest confidence first) are paired in turn, the shorter list starting over, so every path of
a question with both kinds is in at least one pair and no pair repeats. A path with no answer
found is neither (it is not wrong about the answer, it has none). Questions whose paths are all
right or all wrong give no pair; a run with no pair at all is refused (UserInputError), with the
counts that say why, rather than written as an empty file.

Each pair keeps, in its meta (written as columns by `trl`): `cot_run`, `cot_item`,
`chosen_path` / `rejected_path` (cot_paths ids), `chosen_answer` / `rejected_answer`,
`gold_answer`, and `chosen_confidence` / `rejected_confidence` (null without SELF-CHECK).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import UserInputError, plural
from ..fileio import atomic_text_file
from ..store.runs import get_run
from ..store.tasks import Instance, Task
from ..store.workspace import Workspace
from . import registry

PAIR_FORMATS = ("trl", "sharegpt", "openai-chat", "alpaca")


def _why_no_pairs(run_id: int, counts: dict[str, int], run: dict[str, Any]) -> UserInputError:
    """The refusal of a run without pairs: what a pair needs, what its questions have, and what
    to change: a larger --max-tokens when paths were cut off, more paths per question when the
    run had one, else more varied ones."""
    q = counts["questions"]
    parts = [
        f"{counts['only-correct']} with only correct paths",
        f"{counts['only-wrong']} with only wrong ones",
        f"{counts['neither']} with neither",
    ]
    cut, none = counts["truncated"], counts["no-answer"] - counts["truncated"]
    why = []
    if cut:
        why.append(f"{plural(cut, 'path')} cut off by --max-tokens")
    if none:
        why.append(f"{plural(none, 'path')} without an answer")
    cfg = run["config"]
    if cut:
        hint = (
            f"Nothing was written. {cut} of the run's paths stopped at its token limit "
            f"(--max-tokens {cfg.get('max_tokens', '?')}) before giving an answer: make a run "
            "with a larger --max-tokens and export that one."
        )
    elif int(cfg.get("samples", 1)) < 2:
        hint = (
            "Nothing was written. Make a run with several paths per question "
            "(`workbench cot --mode sample --samples 4` or more) and export that one."
        )
    else:
        hint = (
            "Nothing was written. The paths of each question all reached the same verdict: "
            "make a run with more paths per question (`--samples 8`) or a higher "
            "--temperature and export that one."
        )
    return UserInputError(
        f"CoT run {run_id} gives no preference pairs: a pair needs a question with both a path "
        f"that reached the gold answer and one that reached another answer; of its "
        f"{plural(q, 'question')}, {', '.join(parts)}" + (f" ({', '.join(why)})" if why else ""),
        hint=hint,
    )


def cot_run_ids(ws: Workspace) -> list[int]:
    """The ids of the workspace's CoT runs, oldest first."""
    return [r["id"] for r in ws.query("SELECT id FROM runs WHERE kind = 'cot' ORDER BY id")]


def no_such_run(ws: Workspace, run_id: int) -> UserInputError:
    """ "no CoT run 99 in WORKSPACE (CoT runs: 1, 2)": the error for a run id that is not one."""
    ids = cot_run_ids(ws)
    runs = "CoT runs: " + ", ".join(map(str, ids)) if ids else "it has no CoT run"
    return UserInputError(f"no CoT run {run_id} in {ws.path} ({runs})")


def _instruction(ws: Workspace, run: dict[str, Any], row: dict[str, Any]) -> str:
    if row["instruction"].strip():
        return row["instruction"]
    from ..cot.rationale import CotPrompts  # the run's templates word an empty instruction

    prompts = CotPrompts.load(run["config"].get("prompts_path"))
    return prompts.types[row["cot_type"]]["instruction"].strip()


def cot_preference_tasks(ws: Workspace, run_id: int) -> list[Task]:
    """One task per question of CoT run `run_id` that has both a correct and a wrong path, its
    examples the pairs (kind "preference"). UserInputError when there is no such CoT run."""
    return _preference_tasks(ws, run_id)[0]


def _preference_tasks(ws: Workspace, run_id: int) -> tuple[list[Task], dict[str, int]]:
    """`cot_preference_tasks`, and the counts that explain it: {"questions", "only-correct",
    "only-wrong", "neither", "no-answer" (paths with no answer of their own), "truncated" (of
    those, paths cut off by the token limit)}."""
    run = get_run(ws, run_id)
    if run is None or run["kind"] != "cot":
        raise no_such_run(ws, run_id)
    from ..cot.job import item_from_row
    from ..cot.rationale import is_truncated, path_correct

    compat = run["config"].get("compat")
    tasks: list[Task] = []
    items = ws.query("SELECT * FROM cot_items WHERE run_id = ? ORDER BY position", (run_id,))
    seq = 0
    counts = dict.fromkeys(("only-correct", "only-wrong", "neither", "no-answer", "truncated"), 0)
    counts["questions"] = len(items)
    for item in items:
        cot_item = item_from_row(item)
        paths = []
        for p in ws.query(
            "SELECT p.id, p.sample_index, p.rationale, p.confidence, c.finish_reason "
            "FROM cot_paths p LEFT JOIN model_calls c ON c.id = p.call_id "
            "WHERE p.item_id = ? ORDER BY p.sample_index",
            (item["id"],),
        ):
            answer, correct = path_correct(p["rationale"], cot_item, p["finish_reason"], compat)
            if p["rationale"].strip():
                paths.append({**p, "answer": answer, "correct": correct})
                counts["truncated"] += is_truncated(p["finish_reason"], compat)
        right = [p for p in paths if p["correct"] is True]
        wrong = [p for p in paths if p["correct"] is False]
        counts["no-answer"] += sum(1 for p in paths if p["correct"] is None)
        if not right or not wrong:
            key = "only-correct" if right else "only-wrong" if wrong else "neither"
            counts[key] += 1
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
    return tasks, counts


def export_cot_pairs(
    ws: Workspace, run_id: int, fmt: str, out_path: str | Path, **options: Any
) -> dict[str, Any]:
    """Write CoT run `run_id`'s preference pairs as `fmt` (one of PAIR_FORMATS) to `out_path`,
    atomically; returns {"count", "questions", "path", "format"} and records the export (not in a
    workspace opened read-only).
    UserInputError, before anything is written, for an unknown format or option, a missing
    folder, or a run none of whose questions has both a correct and a wrong path."""
    if fmt not in PAIR_FORMATS:
        raise UserInputError(
            f"expected one of {', '.join(PAIR_FORMATS)}, found {fmt!r}", field="format"
        )
    spec = registry.get(fmt)
    out = Path(out_path).expanduser().absolute()
    if not out.parent.is_dir():
        raise UserInputError("the folder to write into does not exist", path=out.parent)
    tasks, counts = _preference_tasks(ws, run_id)
    opts = {k: str(v) for k, v in options.items()}
    for key in opts:
        if key not in spec.options:
            raise UserInputError(f"unknown option for {fmt}", field=f"option {key}")
    if "layout" in spec.options and "layout" not in opts:
        opts["layout"] = "json" if out.suffix.lower() == ".json" else "jsonl"
    if not tasks:
        run = get_run(ws, run_id)
        assert run is not None
        raise _why_no_pairs(run_id, counts, run)
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
