"""Sampling N step-by-step solutions per question (reference: N = 10, temperature 1.0).

Resumable: the samples a run already stored are listed by (question, sample index), and the
run makes only the missing ones. Concurrent against a server (`core.llm.pool`): up to K samples
in flight, each committed as it completes. All N samples of a question share one prompt, so a
llama.cpp backend evaluates it once and reuses the cache.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import Cancelled, UserInputError
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..llm.base import Backend, GenParams, GenResult, record_generation
from ..llm.pool import Call, CallScheduler, Group, Unit
from ..store.run_lock import lock_run
from ..store.runs import create_run, get_run, run_outcome, set_run_status
from ..store.workspace import Workspace
from . import store
from .prompts import SelfCheckPrompts

RUN_KIND = "self-check-sample"


def start_sample_run(
    ws: Workspace,
    question_ids: Sequence[int],
    n: int,
    *,
    temperature: float = 1.0,
    max_tokens: int = 384,
    seed: int | None = 0,
    api: str = "chat",
    backend: Backend | None = None,
    prompts_path: str | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """A sampling run of `n` solutions per question; `extra` is stored in its config too (the
    CLI keeps there how to check the samples, so `self-check --resume` can finish the job)."""
    if n < 1:
        raise UserInputError(
            "the number of samples per question must be at least 1", field="samples"
        )
    cfg: dict[str, Any] = {
        "questions": list(question_ids),
        "n": n,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "seed": seed,
        "api": api,
        "prompts_path": prompts_path,
        **(extra or {}),
    }
    if backend is not None:
        cfg["model"] = {
            "backend": backend.name,
            "model": backend.model_id,
            "sha256": backend.model_sha256,
        }
    return create_run(ws, RUN_KIND, cfg)


def sample_run(
    ws: Workspace,
    backend: Backend,
    run_id: int,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Run or resume a sampling run with up to `concurrency` calls in flight (default: 16 on a
    server, 1 in-process); returns {"run_id", "solutions", "with_answer", "correct"}. Each
    sample is committed as it completes; a resumed run samples exactly the missing
    (question, sample) pairs."""
    run = get_run(ws, run_id)
    if run is None or run["kind"] != RUN_KIND:
        raise UserInputError(f"no self-check sampling run {run_id}")
    cfg = run["config"]
    prompts = SelfCheckPrompts.load(cfg.get("prompts_path"))
    qids: list[int] = cfg["questions"]
    n: int = cfg["n"]
    total = len(qids) * n
    # The samples stored, by index: with calls in flight at once, sample 3 may be stored before
    # sample 2 when a run is killed, so a count would re-sample the wrong ones.
    have = {
        (r["question_id"], r["sample_index"])
        for r in ws.query(
            "SELECT question_id, sample_index FROM sc_solutions WHERE run_id = ?", (run_id,)
        )
    }
    done = sum(1 for q, k in have if k < n)
    lock = lock_run(ws, run_id)  # one process at a time (RunBusy)
    if run["status"] != "running":
        set_run_status(ws, run_id, "running")
    sched = CallScheduler(backend, concurrency, cancel)
    progress(Progress("sampling", done, total, data=sched.progress_data()))
    chat = cfg.get("api", "chat") == "chat"

    def call(prompt: str, params: GenParams, tok: CancelToken) -> GenResult:
        if chat:
            res = backend.chat([{"role": "user", "content": prompt}], params, cancel=tok)
        else:
            res = backend.complete(prompt, params, cancel=tok)
        if res.finish_reason == "cancelled":
            raise Cancelled()
        return res

    def unit(pos: int, qid: int, k: int, prompt: str) -> Unit:
        nonlocal done
        # A distinct seed per sample, so N samples differ even on a seeded backend.
        seed = None if cfg.get("seed") is None else cfg["seed"] + 7919 * qid + k
        params = GenParams(max_tokens=cfg["max_tokens"], temperature=cfg["temperature"], seed=seed)
        res = yield Call(key=(pos, k), run=lambda tok: call(prompt, params, tok))
        kw: dict[str, Any] = (
            {"messages": [{"role": "user", "content": prompt}]} if chat else {"prompt": prompt}
        )
        with ws.transaction():
            cid = record_generation(
                ws,
                backend,
                run_id=run_id,
                purpose="self-check-sample",
                params=params,
                result=res,
                **kw,
            )
            store.add_solution(
                ws, qid, res.text, origin="sampled", run_id=run_id, call_id=cid, sample_index=k
            )
        done += 1
        progress(
            Progress("sampling", done, total, message=f"question {qid}", data=sched.progress_data())
        )

    def groups() -> Iterator[Group]:
        for pos, qid in enumerate(qids):
            missing = [k for k in range(n) if (qid, k) not in have]
            if missing:
                question, _ = store.question_information(ws, qid)
                prompt = prompts.sample(question)
                yield Group([unit(pos, qid, k, prompt) for k in missing])

    with lock, run_outcome(ws, run_id, lambda: sample_stats(ws, run_id)):
        sched.run(groups())
    stats = sample_stats(ws, run_id)
    set_run_status(ws, run_id, "finished", stats=stats)
    return stats


def sample_stats(ws: Workspace, run_id: int) -> dict[str, Any]:
    row = ws.query(
        """SELECT count(*) AS n, count(answer) AS with_answer,
                             coalesce(sum(is_correct), 0) AS correct
                      FROM sc_solutions WHERE run_id = ?""",
        (run_id,),
    )[0]
    return {
        "run_id": run_id,
        "solutions": row["n"],
        "with_answer": row["with_answer"],
        "correct": row["correct"],
    }
