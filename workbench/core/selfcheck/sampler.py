"""Sampling N step-by-step solutions per question (reference: N = 10, temperature 1.0).

Resumable: the samples a run already stored are counted per question, and the run continues
from there. All N samples of a question share one prompt, so a llama.cpp backend evaluates it
once and reuses the cache.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..errors import Cancelled, UserInputError
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..llm.base import Backend, GenParams, record_generation
from ..store.runs import create_run, get_run, run_outcome, set_run_status
from ..store.workspace import Workspace
from . import store
from .prompts import SelfCheckPrompts

RUN_KIND = "self-check-sample"


def start_sample_run(ws: Workspace, question_ids: Sequence[int], n: int, *, temperature: float = 1.0,
                     max_tokens: int = 384, seed: int | None = 0, api: str = "chat",
                     backend: Backend | None = None, prompts_path: str | None = None) -> int:
    if n < 1:
        raise UserInputError("the number of samples per question must be at least 1", field="samples")
    cfg: dict[str, Any] = {"questions": list(question_ids), "n": n, "temperature": temperature,
                           "max_tokens": max_tokens, "seed": seed, "api": api, "prompts_path": prompts_path}
    if backend is not None:
        cfg["model"] = {"backend": backend.name, "model": backend.model_id, "sha256": backend.model_sha256}
    return create_run(ws, RUN_KIND, cfg)


def sample_run(ws: Workspace, backend: Backend, run_id: int, *,
               progress: ProgressCallback = no_progress, cancel: CancelToken | None = None) -> dict[str, Any]:
    """Run or resume a sampling run; returns {"run_id", "solutions", "with_answer", "correct"}."""
    run = get_run(ws, run_id)
    if run is None or run["kind"] != RUN_KIND:
        raise UserInputError(f"no self-check sampling run {run_id}")
    cfg = run["config"]
    prompts = SelfCheckPrompts.load(cfg.get("prompts_path"))
    qids: list[int] = cfg["questions"]
    n: int = cfg["n"]
    total = len(qids) * n
    have = {r["question_id"]: r["k"] for r in ws.query(
        "SELECT question_id, count(*) AS k FROM sc_solutions WHERE run_id = ? GROUP BY question_id",
        (run_id,))}
    done = sum(min(n, k) for k in have.values())
    if run["status"] != "running":
        set_run_status(ws, run_id, "running")
    progress(Progress("sampling", done, total))
    with run_outcome(ws, run_id, lambda: sample_stats(ws, run_id)):
        for qid in qids:
            question, _ = store.question_information(ws, qid)
            prompt = prompts.sample(question)
            for k in range(have.get(qid, 0), n):
                if cancel is not None:
                    cancel.check()
                # A distinct seed per sample, so N samples differ even on a seeded backend.
                seed = None if cfg.get("seed") is None else cfg["seed"] + 7919 * qid + k
                params = GenParams(max_tokens=cfg["max_tokens"], temperature=cfg["temperature"], seed=seed)
                if cfg.get("api", "chat") == "chat":
                    msgs = [{"role": "user", "content": prompt}]
                    res = backend.chat(msgs, params, cancel=cancel)
                    kw: dict[str, Any] = {"messages": msgs}
                else:
                    res = backend.complete(prompt, params, cancel=cancel)
                    kw = {"prompt": prompt}
                if res.finish_reason == "cancelled":
                    raise Cancelled()
                with ws.transaction():
                    cid = record_generation(ws, backend, run_id=run_id, purpose="self-check-sample",
                                            params=params, result=res, **kw)
                    store.add_solution(ws, qid, res.text, origin="sampled", run_id=run_id,
                                       call_id=cid, sample_index=k)
                done += 1
                progress(Progress("sampling", done, total, message=f"question {qid}"))
    stats = sample_stats(ws, run_id)
    set_run_status(ws, run_id, "finished", stats=stats)
    return stats


def sample_stats(ws: Workspace, run_id: int) -> dict[str, Any]:
    row = ws.query("""SELECT count(*) AS n, count(answer) AS with_answer,
                             coalesce(sum(is_correct), 0) AS correct
                      FROM sc_solutions WHERE run_id = ?""", (run_id,))[0]
    return {"run_id": run_id, "solutions": row["n"], "with_answer": row["with_answer"],
            "correct": row["correct"]}
