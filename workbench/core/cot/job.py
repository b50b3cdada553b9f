"""The CoT job: K rationales per item, judged against the gold answer, kept ones become records.

Resumable: the items are stored when the run starts; a path row exists once its model call is
done (one transaction: the call, the path, the record made from it, the item's figures), so a
resumed run samples only the missing (item, sample) pairs. Against a server up to K calls are in
flight (`core.llm.pool`), each committed as it completes. With a SELF-CHECK threshold, paths
that pass the answer check wait as "pending-check" until their confidence is known, and only
then become records.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import Cancelled, ModelError, UserInputError, WorkbenchError
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..llm.base import Backend, GenParams, GenResult, record_generation
from ..llm.pool import Call, CallScheduler, Group, Unit
from ..store.run_lock import lock_run
from ..store.runs import create_run, get_run, run_outcome, set_run_status
from ..store.tasks import Instance, Task, add_task
from ..store.workspace import Workspace
from .rationale import COMPAT, LOW_CONFIDENCE, MODES, PENDING_CHECK, CotPrompts, judge
from .sources import CotItem

RUN_KIND = "cot"


@dataclass
class CotConfig:
    """How a run samples. Stored in the run so a resumed run continues the same way."""

    mode: str = "sample"  # rationalize (with output) | sample (without output)
    samples: int = 4
    temperature: float = 0.7
    max_tokens: int = 256
    seed: int | None = 0
    api: str = "chat"  # chat (instruct models) | complete (base models)
    min_confidence: float | None = None  # SELF-CHECK threshold on w; None = no check
    check_max_tokens: int = 96  # per SELF-CHECK stage call when the threshold is set
    prompts_path: str | None = None
    # None: a path cut by max_tokens is dropped as "truncated"; "reference": STaR's rule, a
    # path is judged by its answer alone (a cut one kept, as generated, when that is the gold)
    compat: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserInputError(
                f"expected one of {', '.join(MODES)}, found {self.mode!r}", field="mode"
            )
        if self.samples < 1:
            raise UserInputError("must be at least 1", field="samples")
        if self.api not in ("chat", "complete"):
            raise UserInputError(f"unknown api {self.api!r}", field="api")
        if self.compat is not None and self.compat not in COMPAT:
            raise UserInputError(
                f"expected one of {', '.join(COMPAT)} or none, found {self.compat!r}",
                field="compat",
            )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CotConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def start_cot_run(
    ws: Workspace,
    items: Sequence[CotItem],
    config: CotConfig,
    *,
    backend: Backend | None = None,
    source: str | None = None,
) -> int:
    """Create a run and store its items (one transaction: a run never exists without them)."""
    if not items:
        raise UserInputError("no items to reason about")
    CotPrompts.load(config.prompts_path)  # a broken template file fails before the run exists
    cfg: dict[str, Any] = {**asdict(config), "source": source, "items": len(items)}
    if backend is not None:
        cfg["model"] = {
            "backend": backend.name,
            "model": backend.model_id,
            "sha256": backend.model_sha256,
        }
    with ws.transaction():
        run_id = create_run(ws, RUN_KIND, cfg)
        for pos, it in enumerate(items):
            ws.insert(
                "cot_items",
                {
                    "run_id": run_id,
                    "position": pos,
                    "source": it.source,
                    "source_ref": it.source_ref,
                    "cot_type": it.cot_type,
                    "instruction": it.instruction,
                    "input": it.input,
                    "gold_output": it.gold_output,
                    "gold_answer": it.gold_answer,
                    "answer_kind": it.answer_kind,
                    "options": it.options,
                    "meta": it.meta,
                },
            )
    return run_id


def item_from_row(row: dict[str, Any]) -> CotItem:
    """The `CotItem` a `cot_items` row stores."""
    return CotItem(
        source=row["source"],
        cot_type=row["cot_type"],
        input=row["input"],
        gold_output=row["gold_output"],
        gold_answer=row["gold_answer"] or "",
        answer_kind=row["answer_kind"],
        instruction=row["instruction"],
        options=json.loads(row["options"]),
        source_ref=row["source_ref"],
        meta=json.loads(row["meta"]),
    )


def _refresh_item(ws: Workspace, item_id: int) -> None:
    rows = ws.query("SELECT answer, kept FROM cot_paths WHERE item_id = ?", (item_id,))
    answers = Counter(r["answer"] for r in rows if r["answer"] is not None)
    top = answers.most_common(1)[0][1] if answers else 0
    ws.update(
        "cot_items",
        item_id,
        {
            "samples": len(rows),
            "kept": sum(r["kept"] for r in rows),
            "agreement": top / len(rows) if rows else None,
        },
    )


def _add_record(
    ws: Workspace,
    run_id: int,
    item_id: int,
    path_id: int,
    item: CotItem,
    output: str,
    prompts: CotPrompts,
    mode: str,
    call_id: int | None,
    confidence: float | None = None,
) -> int:
    meta: dict[str, Any] = {
        "tags": ["cot"],
        "cot": {
            "run": run_id,
            "item": item_id,
            "path": path_id,
            "mode": mode,
            "type": item.cot_type,
            "gold": item.gold_output,
            "call": call_id,
            "source": item.source_ref,
        },
    }
    if confidence is not None:
        meta["cot"]["confidence"] = confidence
    task_id = add_task(
        ws,
        Task(
            instruction=prompts.instruction(item),
            instances=[Instance(item.input, output)],
            is_classification=False,
            source="generated",
            origin=item.source_ref,
            run_id=run_id,
            meta=meta,
        ),
    )
    ws.update("cot_paths", path_id, {"task_id": task_id})
    return task_id


def _call(
    backend: Backend,
    item: CotItem,
    cfg: CotConfig,
    prompts: CotPrompts,
    seed: int | None,
    cancel: CancelToken | None,
) -> tuple[dict[str, Any], GenParams, GenResult]:
    params = GenParams(max_tokens=cfg.max_tokens, temperature=cfg.temperature, seed=seed)
    messages = prompts.messages(item, cfg.mode)
    if cfg.api == "chat":
        res = backend.chat(messages, params, cancel=cancel)
        where: dict[str, Any] = {"messages": messages}
    else:
        prompt = prompts.completion_prompt(item, cfg.mode)  # the item's text stays data
        res = backend.complete(prompt, params, cancel=cancel)
        where = {"prompt": prompt}
    if res.finish_reason == "cancelled":
        raise Cancelled()
    return where, params, res


def cot_run(
    ws: Workspace,
    backend: Backend,
    run_id: int,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Run or resume a CoT run with up to `concurrency` model calls in flight (default: 16 on a
    server, 1 in-process); returns its figures (see `cot_stats`). Each path is committed as its
    call completes; what is kept depends on the answers, never on K."""
    run = get_run(ws, run_id)
    if run is None or run["kind"] != RUN_KIND:
        raise UserInputError(f"no CoT run {run_id}")
    cfg = CotConfig.from_dict(run["config"])
    prompts = CotPrompts.load(cfg.prompts_path)
    items = ws.query("SELECT * FROM cot_items WHERE run_id = ? ORDER BY position", (run_id,))
    have = {
        (r["item_id"], r["sample_index"])
        for r in ws.query(
            "SELECT p.item_id, p.sample_index FROM cot_paths p JOIN cot_items i ON i.id = p.item_id "
            "WHERE i.run_id = ?",
            (run_id,),
        )
    }
    total = len(items) * cfg.samples
    done = len(have)
    lock = lock_run(ws, run_id)  # one process at a time (RunBusy)
    if run["status"] != "running":
        set_run_status(ws, run_id, "running")
    sched = CallScheduler(backend, concurrency, cancel)
    progress(Progress("cot", done, total, cfg.mode, data=sched.progress_data()))

    def call(
        item: CotItem, position: int, seed: int | None, tok: CancelToken
    ) -> tuple[dict[str, Any], GenParams, GenResult]:
        try:
            return _call(backend, item, cfg, prompts, seed, tok)
        except (Cancelled, ModelError):
            raise
        except WorkbenchError as exc:
            raise WorkbenchError(f"item {position + 1}: the model call failed: {exc}") from exc

    def unit(row: dict[str, Any], item: CotItem, k: int) -> Unit:
        nonlocal done
        # A distinct seed per sample, so K samples differ even on a seeded backend.
        seed = None if cfg.seed is None else cfg.seed + 7919 * row["position"] + k
        where, params, res = yield Call(
            key=(row["position"], k), run=lambda tok: call(item, row["position"], seed, tok)
        )
        verdict = judge(res.text, item, cfg.mode, prompts, res.finish_reason, cfg.compat)
        keep_now = verdict.kept and cfg.min_confidence is None
        reason = verdict.reason
        if verdict.kept and not keep_now:
            reason = PENDING_CHECK
        with ws.transaction():
            call_id = record_generation(
                ws,
                backend,
                run_id=run_id,
                purpose=f"cot-{cfg.mode}",
                params=params,
                result=res,
                **where,
            )
            path_id = ws.insert(
                "cot_paths",
                {
                    "item_id": row["id"],
                    "sample_index": k,
                    "call_id": call_id,
                    "rationale": res.text,
                    "answer": verdict.answer,
                    "correct": None if verdict.correct is None else int(verdict.correct),
                    "kept": int(keep_now),
                    "reason": reason,
                },
            )
            if keep_now:
                _add_record(
                    ws, run_id, row["id"], path_id, item, verdict.output, prompts, cfg.mode, call_id
                )
            _refresh_item(ws, row["id"])
        done += 1
        progress(
            Progress(
                "cot",
                done,
                total,
                cfg.mode,
                data={"item": row["position"], "kept": verdict.kept, **sched.progress_data()},
            )
        )

    def groups() -> Iterator[Group]:
        for row in items:
            missing = [k for k in range(cfg.samples) if (row["id"], k) not in have]
            if missing:
                item = item_from_row(row)
                yield Group([unit(row, item, k) for k in missing])

    with lock, run_outcome(ws, run_id, lambda: cot_stats(ws, run_id)):
        sched.run(groups())
        if cfg.min_confidence is not None:
            _check_pending(ws, backend, run_id, cfg, prompts, progress, cancel, concurrency)
    stats = cot_stats(ws, run_id)
    endpoints = getattr(backend, "endpoint_stats", None)
    if endpoints is not None:
        stats["endpoints"] = endpoints()
    set_run_status(ws, run_id, "finished", stats=stats)
    return stats


def _check_pending(
    ws: Workspace,
    backend: Backend,
    run_id: int,
    cfg: CotConfig,
    prompts: CotPrompts,
    progress: ProgressCallback,
    cancel: CancelToken | None,
    concurrency: int | None = None,
) -> None:
    """SELF-CHECK every path that passed the answer check; keep those with w >= threshold.
    The paths are checked in parallel (up to `concurrency` calls in flight); each is decided
    as soon as its solution is scored."""
    from ..selfcheck import checker  # optional feature: import when used
    from ..selfcheck import store as sc_store

    pending = ws.query(
        "SELECT p.*, i.position, c.finish_reason FROM cot_paths p "
        "JOIN cot_items i ON i.id = p.item_id LEFT JOIN model_calls c ON c.id = p.call_id "
        "WHERE i.run_id = ? AND p.reason = ? ORDER BY i.position, p.sample_index",
        (run_id, PENDING_CHECK),
    )
    if not pending:
        return
    run = get_run(ws, run_id)
    assert run is not None
    check_cfg = checker.CheckConfig(
        api=cfg.api,
        max_tokens={
            stage: cfg.check_max_tokens for stage in ("target", "collect", "regen", "compare")
        }
        | {"followup": 24},
    )
    check_run = run["config"].get("check_run_id")
    if check_run is None:
        check_run = checker.start_check_run(
            ws, [], check_cfg, backend=backend, extra={"cot_run": run_id}
        )
        with ws.transaction():
            ws.update("runs", run_id, {"config": {**run["config"], "check_run_id": check_run}})
    by_solution: dict[int, tuple[dict[str, Any], dict[str, Any], CotItem, Any]] = {}
    for path in pending:
        irow = ws.query("SELECT * FROM cot_items WHERE id = ?", (path["item_id"],))[0]
        item = item_from_row(irow)
        verdict = judge(
            path["rationale"], item, cfg.mode, prompts, path["finish_reason"], cfg.compat
        )
        qid, _ = sc_store.add_question(
            ws,
            item.input,
            source="cot",
            source_id=f"cot-item-{irow['id']}",
            gold_answer=item.gold_output,
            run_id=run_id,
        )
        sid = ws.scalar(
            "SELECT id FROM sc_solutions WHERE json_extract(meta, '$.cot_path') = ?", (path["id"],)
        )
        if sid is None:
            sid = sc_store.add_solution(
                ws,
                qid,
                verdict.output,
                origin="sampled",
                run_id=run_id,
                call_id=path["call_id"],
                sample_index=path["sample_index"],
                meta={"cot_path": path["id"]},
            )
        by_solution[int(sid)] = (path, irow, item, verdict)
    n = 0

    def decided(sid: int, score: dict[str, Any]) -> None:
        nonlocal n
        path, irow, item, verdict = by_solution[sid]
        w = float(score["confidence"])
        keep = w >= float(cfg.min_confidence or 0.0)
        with ws.transaction():
            ws.update(
                "cot_paths",
                path["id"],
                {"confidence": w, "kept": int(keep), "reason": None if keep else LOW_CONFIDENCE},
            )
            if keep:
                _add_record(
                    ws,
                    run_id,
                    irow["id"],
                    path["id"],
                    item,
                    verdict.output,
                    prompts,
                    cfg.mode,
                    path["call_id"],
                    confidence=w,
                )
            _refresh_item(ws, irow["id"])
        n += 1
        progress(Progress("self-check", n, len(pending), "confidence filter"))

    checker.check_solutions(
        ws,
        backend,
        list(by_solution),
        run_id=check_run,
        config=check_cfg,
        cancel=cancel,
        concurrency=concurrency,
        on_solution=decided,
    )


def cot_stats(ws: Workspace, run_id: int) -> dict[str, Any]:
    """{"run_id", "items", "samples", "kept", "correct", "dropped": {reason: n}, "task_ids"}."""
    items = ws.scalar("SELECT count(*) FROM cot_items WHERE run_id = ?", (run_id,)) or 0
    paths = ws.query(
        "SELECT p.kept, p.correct, p.reason, p.task_id FROM cot_paths p "
        "JOIN cot_items i ON i.id = p.item_id WHERE i.run_id = ? "
        "ORDER BY i.position, p.sample_index",
        (run_id,),
    )
    dropped = Counter(p["reason"] for p in paths if not p["kept"] and p["reason"])
    return {
        "run_id": run_id,
        "items": items,
        "samples": len(paths),
        "kept": sum(p["kept"] for p in paths),
        "correct": sum(1 for p in paths if p["correct"]),
        "dropped": dict(sorted(dropped.items())),
        "task_ids": [p["task_id"] for p in paths if p["task_id"] is not None],
    }


def summary(stats: dict[str, Any], samples_per_item: int) -> str:
    """One line for people from `cot_stats`' figures and the run's K: "1 question, 1 sample
    each; kept 0; dropped: no-answer 1" (with "N of M paths judged" while unfinished)."""
    from ..errors import plural

    text = (
        f"{plural(stats['items'], 'question')}, {plural(samples_per_item, 'sample')} each; "
        f"kept {stats['kept']}"
    )
    planned = stats["items"] * samples_per_item
    if stats["samples"] != planned:
        text += f" ({stats['samples']} of {plural(planned, 'path')} judged)"
    if stats["dropped"]:
        text += "; dropped: " + ", ".join(f"{r} {n}" for r, n in stats["dropped"].items())
    return text


def item_stats(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    """Per item: position, source_ref, gold answer, samples, kept, agreement."""
    return ws.query(
        "SELECT id, position, source_ref, gold_answer, samples, kept, agreement FROM cot_items "
        "WHERE run_id = ? ORDER BY position",
        (run_id,),
    )
