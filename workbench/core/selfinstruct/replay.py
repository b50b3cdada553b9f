"""Replay of a reference run (yizhongw/self-instruct's batch folder) through our parsers/filters.

The folder holds `machine_generated_instructions.jsonl` (step 1, raw completions in
`metadata`), `is_clf_or_not_*.jsonl` (step 2) and `machine_generated_instances.jsonl` (step 3).
Every decision is re-derived and stored like a run of ours (kind "replay"): calls, candidates
with reasons and neighbours, and accepted tasks with their instances, so Inspect and
`export --format selfinstruct-instances` work on it.

compat="reference" reproduces the reference, defects included; otherwise our fixes apply and
each place where the result differs is recorded in `differences` (kind = the fix's name in
docs/fidelity.md). The ROUGE-L rule is the run's (`candidates.decide_call`, one call per
completion); the pool grows as the reference's did: seeds, then every instruction that passed
step 1 (`PoolGrowth.STEP_1`, recorded with the run so Inspect's re-filter grows it the same
way), so the step-1 decisions are comparable in both modes.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..similarity import SimilarityIndex, workspace_tokenizer
from ..store.runs import create_run, record_call, set_run_status
from ..store.tasks import Instance, Task, add_task
from ..store.workspace import Workspace
from . import candidates, parse
from .candidates import DEFAULT_THRESHOLD, Decision, NewCandidate, PoolGrowth, Reason
from .config import REPLAY_KIND
from .filters import BLACKLIST_SELF_INSTRUCT, InstructionRules, filter_instances
from .steps import PURPOSE_CLF, PURPOSE_GEN, PURPOSE_INST, decide_step_one

RUN_KIND = REPLAY_KIND
INSTRUCTIONS_FILE = "machine_generated_instructions.jsonl"
INSTANCES_FILE = "machine_generated_instances.jsonl"
CLF_GLOB = "is_clf_or_not_*.jsonl"
# The reference's sampling values, recorded with the replayed calls.
REF_GEN_PARAMS = {
    "max_tokens": 1024,
    "temperature": 0.7,
    "top_p": 0.5,
    "presence_penalty": 2,
    "stop": ["\n\n", "\n16", "16.", "16 ."],
}
REF_CLF_PARAMS = {"max_tokens": 3, "temperature": 0, "top_p": 0, "stop": ["\n", "Task"]}
REF_INST_PARAMS = {
    "max_tokens": 300,
    "temperature": 0,
    "top_p": 0,
    "presence_penalty": 1.5,
    "stop": ["Example 6", "Task:"],
}
# prepare_for_finetuning.py seeds its sampler with 123.
REF_SAMPLE_SEED = 123

FIXES = ("capitalize", "max-tokens-truncation", "example-split", "clf-label", "instance-sample")


@dataclass
class ReplayResult:
    run_id: int
    compat: str
    path: str
    completions: int = 0
    candidates: int = 0
    kept_instructions: list[str] = field(default_factory=list)
    tasks: int = 0
    instances: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    differences: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "compat": self.compat,
            "path": self.path,
            "completions": self.completions,
            "candidates": self.candidates,
            "kept_instructions": len(self.kept_instructions),
            "tasks": self.tasks,
            "instances": self.instances,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "differences": list(self.differences),
            "differences_by_kind": dict(Counter(d["kind"] for d in self.differences)),
        }


def looks_like_reference_run(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / INSTRUCTIONS_FILE).is_file()


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserInputError(f"not valid JSON ({exc.msg})", path=path, line=n) from None
            if not isinstance(obj, dict):
                raise UserInputError("expected a JSON object", path=path, line=n)
            for key in required:
                if key not in obj:
                    raise UserInputError("missing", path=path, line=n, field=key)
            obj["_line"] = n
            rows.append(obj)
    return rows


def _choice(meta: Any, path: Path, line: int, fld: str) -> tuple[str, str]:
    """(text, finish_reason) of a stored OpenAI response; a failed request reads as empty."""
    try:
        resp = meta["response"]
        if resp is None:
            return "", "error"
        ch = resp["choices"][0]
        return ch["text"], ch.get("finish_reason") or "stop"
    except (KeyError, IndexError, TypeError):
        raise UserInputError(
            "no response.choices[0].text in it", path=path, line=line, field=fld
        ) from None


def replay_reference_run(
    ws: Workspace, path: str | Path, *, compat: str | None = None
) -> ReplayResult:
    """Re-derive a reference run's decisions and store them as a "replay" run."""
    folder = Path(path).expanduser()
    if not looks_like_reference_run(folder):
        raise UserInputError(f"not a reference run folder (no {INSTRUCTIONS_FILE})", path=folder)
    if compat not in (None, "fixed", parse.REFERENCE):
        raise UserInputError(
            f"unknown compat mode {compat!r}",
            field="compat",
            hint="Use 'reference' or leave it unset.",
        )
    mode = parse.REFERENCE if compat == parse.REFERENCE else None
    ins_path = folder / INSTRUCTIONS_FILE
    step1 = _read_jsonl(ins_path, ("instruction", "metadata"))
    clf_files = sorted(folder.glob(CLF_GLOB))
    labels: dict[str, str] = {}
    for cf in clf_files[:1]:
        for r in _read_jsonl(cf, ("instruction", "is_classification")):
            labels[r["instruction"]] = r["is_classification"]
    inst_path = folder / INSTANCES_FILE
    raw_instances: dict[str, dict[str, Any]] = {}
    if inst_path.is_file():
        for r in _read_jsonl(inst_path, ("instruction", "raw_instances")):
            raw_instances[r["instruction"]] = r

    seeds = [
        r[0] for r in ws.execute("SELECT instruction FROM tasks WHERE source = 'seed' ORDER BY id")
    ]
    if not seeds:
        raise UserInputError(
            "the workspace has no seed tasks: the replay compares with them",
            hint="Import the run's seed_tasks.jsonl first.",
        )
    tokenizer = workspace_tokenizer(ws)
    index = SimilarityIndex(tokenizer)
    index.add_many(seeds)
    rules = InstructionRules.for_lang("en", list(BLACKLIST_SELF_INSTRUCT), mode)
    mode_name = "reference" if mode else "fixed"
    run_id = create_run(
        ws,
        RUN_KIND,
        {
            "source": str(folder),
            "compat": mode_name,
            "tokenizer": tokenizer,
            "rules": rules.to_dict(),
            "threshold": DEFAULT_THRESHOLD,
            "pool_growth": str(PoolGrowth.STEP_1),
        },
    )
    result = ReplayResult(run_id=run_id, compat=mode_name, path=str(folder))
    rng = random.Random(REF_SAMPLE_SEED)
    reasons: Counter[str] = Counter()

    # Step-1 rows share their completion (one row per kept instruction): replay each completion
    # once, in file order.
    completions: list[tuple[dict[str, Any], str, str]] = []
    seen: set[str] = set()
    for row in step1:
        text, finish = _choice(row["metadata"], ins_path, row["_line"], "metadata")
        key = json.dumps([row.get("request_idx"), row["metadata"].get("prompt"), text])
        if key not in seen:
            seen.add(key)
            completions.append((row, text, finish))

    try:
        for batch, (row, text, finish) in enumerate(completions):
            meta = row["metadata"]
            ours = parse.parse_instructions(text, finish, mode)
            ref = parse.parse_instructions(text, finish, parse.REFERENCE)
            with ws.transaction():
                call_id = record_call(
                    ws,
                    run_id=run_id,
                    purpose=PURPOSE_GEN,
                    backend="reference-replay",
                    model=str(meta.get("engine") or "reference"),
                    model_sha256=None,
                    params=REF_GEN_PARAMS,
                    prompt=meta.get("prompt"),
                    raw_output=text,
                    finish_reason=finish,
                    timings={"created_at": meta.get("created_at")},
                )
                rows = decide_step_one(
                    index,
                    tokenizer,
                    rules,
                    DEFAULT_THRESHOLD,
                    [(item.text, Reason.TRUNCATED if item.truncated else None) for item in ours],
                )
                for pos, (cand, ref_item) in enumerate(zip(rows, ref)):
                    _replay_candidate(
                        ws,
                        result,
                        reasons,
                        cand,
                        mode,
                        rng,
                        run_id,
                        call_id,
                        batch,
                        pos,
                        ref_item.text,
                        finish,
                        labels,
                        raw_instances,
                    )
                # The reference's pool grows at step 1 (siblings stood in for it in this call).
                index.add_many(r.instruction for r in rows if r.reason is None)
            result.completions += 1
    except BaseException as exc:
        set_run_status(ws, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    result.rejected_by_reason = dict(reasons)
    set_run_status(ws, run_id, "finished", stats=result.to_dict() | {"differences": None})
    return result


def _replay_candidate(
    ws: Workspace,
    result: ReplayResult,
    reasons: Counter[str],
    row: NewCandidate,
    mode: str | None,
    rng: random.Random,
    run_id: int,
    call_id: int,
    batch: int,
    pos: int,
    ref_text: str,
    finish: str,
    labels: dict[str, str],
    raw_instances: dict[str, dict[str, Any]],
) -> None:
    """Store one candidate of a replayed completion (`row`: its step-1 verdict), with its steps
    2 and 3 as the reference recorded them (inside the completion's transaction)."""
    text = row.instruction
    if text != ref_text:
        result.differences.append(
            {"kind": "capitalize", "instruction": text, "reference": ref_text, "ours": text}
        )
    row.meta = {"reference_instruction": ref_text}
    result.candidates += 1

    def store(reason: Reason) -> None:
        reasons[reason] += 1
        row.decision, row.reason = Decision.DROPPED, reason
        candidates.insert(ws, run_id, call_id, batch, pos, row)

    if row.reason is not None:
        store(row.reason)
        return
    result.kept_instructions.append(text)
    if finish == "length" and mode != parse.REFERENCE:
        result.differences.append(
            {"kind": "max-tokens-truncation", "instruction": text, "reference": None, "ours": text}
        )
    label = labels.get(ref_text)
    inst_row = raw_instances.get(ref_text)
    if label is None or inst_row is None:
        # Step 1 kept it, but the reference's later steps have no record of it (a completion
        # the reference threw away, or a partial folder).
        store(Reason.NOT_IN_REFERENCE)
        return
    is_clf = parse.parse_clf_label(label, mode)
    if is_clf != parse.parse_clf_label(label, parse.REFERENCE):
        result.differences.append(
            {"kind": "clf-label", "instruction": text, "reference": label, "ours": is_clf}
        )
    clf_call = record_call(
        ws,
        run_id=run_id,
        purpose=PURPOSE_CLF,
        backend="reference-replay",
        model="reference",
        model_sha256=None,
        params=REF_CLF_PARAMS,
        raw_output=label,
        finish_reason="stop",
    )
    raw = inst_row["raw_instances"] or ""
    imeta = inst_row.get("instance_metadata") or {}
    ifinish = "stop"
    if isinstance(imeta, dict) and imeta.get("response"):
        with suppress(KeyError, IndexError, TypeError):  # a malformed record: "stop"
            ifinish = imeta["response"]["choices"][0].get("finish_reason") or "stop"
    inst_call = record_call(
        ws,
        run_id=run_id,
        purpose=PURPOSE_INST,
        backend="reference-replay",
        model="reference",
        model_sha256=None,
        params=REF_INST_PARAMS,
        prompt=imeta.get("prompt") if isinstance(imeta, dict) else None,
        raw_output=raw,
        finish_reason=ifinish,
    )
    parser = parse.parse_classification_instances if is_clf else parse.parse_generation_instances
    pairs = parser(raw, ifinish, mode)
    decided = filter_instances(pairs, max_instances=5, compat=mode, rng=rng)
    kept = [d for d in decided if d["kept"]]
    if mode != parse.REFERENCE:
        ref_pairs = parser(raw, ifinish, parse.REFERENCE)
        ref_kept = [d for d in filter_instances(ref_pairs) if d["kept"]]
        ours_set = Counter((d["input"], d["output"]) for d in kept)
        ref_set = Counter((d["input"], d["output"]) for d in ref_kept)
        if ours_set != ref_set:
            kind = "example-split" if pairs != ref_pairs else "instance-sample"
            result.differences.append(
                {
                    "kind": kind,
                    "instruction": text,
                    "reference": sorted(ref_set),
                    "ours": sorted(ours_set),
                }
            )
    row.is_classification, row.clf_call_id = is_clf, clf_call
    row.instances_call_id, row.instances = inst_call, decided
    if not kept:
        store(Reason.NO_INSTANCES)
        return
    row.decision, row.reason = Decision.KEPT, None
    cid = candidates.insert(ws, run_id, call_id, batch, pos, row)
    task_id = add_task(
        ws,
        Task(
            text,
            [Instance(d["input"], d["output"]) for d in kept],
            is_clf,
            source="generated",
            origin=f"replay:{result.path}",
            run_id=run_id,
            lang="en",
            meta={"reference_instruction": ref_text},
        ),
        candidate_id=cid,
        call_id=inst_call,
    )
    candidates.link_task(ws, cid, task_id)
    result.tasks += 1
    result.instances += len(kept)
