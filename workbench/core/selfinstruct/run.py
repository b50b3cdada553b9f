"""A SELF-INSTRUCT run: the loop over the four steps until the target, resumable at any point.

    summary = run_self_instruct(ws, backend, RunConfig(preset="chat", target=20, seed=0))

The run's config (`RunConfig`, everything that shapes its output, the seed and the round size
included) is stored with the run; `resume_run_id` continues a run with its stored config
(`config.stored_run`). The run goes in rounds of `round_size` step-1 calls (with `round_cap`,
no more than the tasks still to accept when the round begins can use: `steps.round_bounds`, a
rule on the stored state alone), all built from the pool as it stood when the round began; the
round's candidates are then settled call by call in sequence order (each call decided again
against the pool grown by the earlier ones, `steps.redecide_call`), and every candidate is
settled before the next round, so the pool a step-1 call sees is the same whether or not the
run was interrupted, and whatever K is.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ModelError, UserInputError
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..llm.base import Backend, GenResult
from ..llm.pool import Prefetcher, endpoint_summary, is_thread_safe, resolve_concurrency
from ..similarity import index_from_workspace, workspace_tokenizer
from ..store.run_lock import lock_run
from ..store.runs import create_run, run_outcome, set_run_status
from ..store.workspace import Workspace
from . import candidates, steps
from .candidates import Decision, PoolGrowth, Reason
from .config import RUN_KIND, RunConfig, default_round_cap, default_round_size, stored_run
from .filters import InstructionRules
from .prefetch import forget_candidates, prefetch_generate, prefetch_pending
from .presets import PRESETS, get_preset
from .prompts import TEMPLATES_SETTING, Templates, templates_used

BLACKLIST_SETTING = "selfinstruct.blacklist.{lang}"  # a user's own list, per language

__all__ = ["PRESETS", "RUN_KIND", "RunConfig", "RunSummary", "run_self_instruct", "run_stats"]


@dataclass
class RunSummary:
    run_id: int
    accepted: int
    candidates: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    seconds: float = 0.0
    target: int = 0
    status: str = "finished"
    round_size: int = 1
    endpoints: list[dict[str, Any]] | None = None  # per endpoint, on a server (run_stats)
    # This session's calls sent ahead and answered but never used (Prefetcher.withdrawn): the
    # server did them; they are counted, not recorded.
    withdrawn: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run_stats(ws: Workspace, run_id: int, backend: Backend | None = None) -> dict[str, Any]:
    """The run's figures, read from the database (the same after a resume as without one); with
    a server backend also its per-endpoint figures of this session ("endpoints": url,
    requests, failures, retries, completion_tokens, tokens_per_s...; see
    OpenAICompatBackend.endpoint_stats)."""
    calls = ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (run_id,)) or 0
    out: dict[str, Any] = {
        "accepted": _accepted(ws, run_id),
        "candidates": candidates.count(ws, run_id),
        "rejected_by_reason": candidates.dropped_by_reason(ws, run_id),
        "calls": calls,
    }
    endpoints = getattr(backend, "endpoint_stats", None)
    if endpoints is not None:
        out["endpoints"] = endpoints()
    return out


def _accepted(ws: Workspace, run_id: int) -> int:
    return int(
        ws.scalar("SELECT count(*) FROM tasks WHERE run_id = ? AND source = 'generated'", (run_id,))
        or 0
    )


def _seed_tasks(ws: Workspace) -> list[dict[str, Any]]:
    rows = ws.query("SELECT id, instruction FROM tasks WHERE source = 'seed' ORDER BY id")
    insts: dict[int, list[tuple[str, str]]] = {r["id"]: [] for r in rows}
    for tid, inp, out in ws.execute(
        "SELECT i.task_id, i.input, i.output FROM instances i JOIN tasks t ON t.id = i.task_id "
        "WHERE t.source = 'seed' ORDER BY i.task_id, i.position, i.id"
    ):
        insts[tid].append((inp, out))
    return [{"instruction": r["instruction"], "instances": insts[r["id"]]} for r in rows]


class _Meter:
    """Figures for progress events: this session's tokens/s and the candidates decided since
    the last event."""

    def __init__(self) -> None:
        self.tokens = 0
        self.gen_s = 0.0
        self.last: list[dict[str, Any]] = []

    def on_call(self, res: GenResult) -> None:
        self.tokens += res.completion_tokens
        self.gen_s += float(res.timings.get("generation_s") or res.timings.get("total_s") or 0.0)

    def on_decided(self, instruction: str, decision: Decision, reason: Reason | None) -> None:
        self.last.append(
            {
                "instruction": instruction,
                "decision": str(decision),
                "reason": None if reason is None else str(reason),
            }
        )

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.gen_s if self.gen_s > 0 else 0.0


@contextmanager
def _closing(fetcher: Prefetcher | None) -> Iterator[None]:
    """Stop the calls sent ahead (closing their streams) however the run ends."""
    try:
        yield
    finally:
        if fetcher is not None:
            fetcher.close()


def check_templates(
    ws: Workspace, config: RunConfig, resume_run_id: int | None = None
) -> Templates:
    """The templates a run would prompt with (a resumed run's own folder, else
    `config.templates_dir`, else the workspace's), loaded and checked: callers run this before
    they load a model, so a broken template costs no model load and leaves no run row. Only
    the templates the run's preset (a resumed run's own) prompts with are checked
    (`prompts.templates_used`): a broken chat template does not stop a completion run.

    Raises UserInputError naming the template file, its title and the placeholder at fault
    (`Templates.check`: `path` the file, `line` the problem's line); `run_self_instruct`
    checks again itself."""
    folder = config.templates_dir
    if resume_run_id is not None:
        run = stored_run(ws, resume_run_id)
        if run is not None:
            config = run.config
            folder = config.templates_dir
    elif folder is None:
        folder = ws.get_setting(TEMPLATES_SETTING)
    return Templates.load_checked(folder, templates_used(get_preset(config.preset)))


def run_self_instruct(
    ws: Workspace,
    backend: Backend,
    config: RunConfig,
    *,
    resume_run_id: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
) -> RunSummary:
    """Run (or resume) SELF-INSTRUCT until `config.target` tasks are accepted.

    On a server, up to `concurrency` requests (default 16) are in flight: a round's step-1
    calls and steps 2 and 3 of the pending candidates are sent ahead of the loop (`prefetch`),
    which still decides them one at a time in sequence order, so K never changes what is
    accepted. In-process: one at a time. `config.round_size` None takes
    `default_round_size` for this backend (16 on a server, 1 in-process, 5 with
    compat="reference"); the value is stored with the run, and a resume keeps it; so is
    `config.round_cap` (None: on, off with compat="reference").

    Raises Cancelled when `cancel` fires (the run is left "cancelled", resumable), and marks the
    run "failed" on any other error.
    """
    started = time.monotonic()
    if resume_run_id is not None:
        run = stored_run(ws, resume_run_id)
        if run is None or run.kind != RUN_KIND:
            raise UserInputError(
                f"no self-instruct run {resume_run_id} in this workspace", field="run"
            )
        config = run.config
        if config.round_size is None:  # stored before rounds existed: one call per round
            config = replace(config, round_size=1)
        if config.round_cap is None:  # stored before the cap existed: rounds stay whole
            config = replace(config, round_cap=False)
    else:
        run = None
        if config.templates_dir is None:  # recorded in the run, so a resume uses the same
            config = replace(config, templates_dir=ws.get_setting(TEMPLATES_SETTING))
        if config.round_size is None:  # recorded too: the round size shapes what is accepted
            server = is_thread_safe(backend)
            config = replace(
                config, round_size=default_round_size(server=server, compat=config.compat)
            )
        if config.round_cap is None:  # recorded too, for the same reason
            config = replace(config, round_cap=default_round_cap(config.compat))
    config.validate()
    preset = get_preset(config.preset)
    if preset.api == "chat" and getattr(backend, "has_chat_template", True) is False:
        # Without a template the chat turns would be sent as made-up "user:" text that a base
        # model continues as prose: say so before any call instead of producing junk.
        raise ModelError(
            f"{backend.model_id} has no chat template (no tokenizer.chat_template in the GGUF), "
            "so the chat preset cannot format its prompts.",
            hint="Use the completion preset: --preset self-instruct (the paper's prompts, for "
            "base models), or 'Self-Instruct (paper)' in Generate.",
        )
    # before the run row exists; only the templates this preset prompts with
    templates = Templates.load_checked(config.templates_dir, templates_used(preset))
    seeds = _seed_tasks(ws)
    if not seeds:
        raise UserInputError(
            "the workspace has no seed tasks to prompt with",
            hint="Create it with `workbench init W` (bundled seeds) or import a seed file.",
        )
    tokenizer = workspace_tokenizer(ws)
    lang = "zh" if tokenizer == "unicode" else "en"
    blacklist = list(config.blacklist) if config.blacklist is not None else None
    if blacklist is None:
        blacklist = ws.get_setting(BLACKLIST_SETTING.format(lang=lang))
    if blacklist is None and lang == "en":
        blacklist = list(preset.blacklist)
    rules = InstructionRules.for_lang(lang, blacklist, config.compat)
    if run is None:
        stored = {
            **config.to_dict(),
            "tokenizer": tokenizer,
            "rules": rules.to_dict(),
            "pool_growth": str(PoolGrowth.ACCEPTED),
            "templates": templates.sources,
            "model": {
                "backend": backend.name,
                "model": backend.model_id,
                "sha256": backend.model_sha256,
            },
        }
        run_id = create_run(ws, RUN_KIND, stored)
    else:
        run_id = run.id
    # One process at a time: a second one would decide the same candidates (RunBusy, exit 2).
    lock = lock_run(ws, run_id)
    fetcher = None
    try:
        if run is not None and run.status != "running":
            set_run_status(ws, run_id, "running")
        meter = _Meter()
        if resolve_concurrency(backend, concurrency) > 1 and is_thread_safe(backend):
            fetcher = Prefetcher(backend, concurrency, cancel)
        ctx = steps.Context(
            ws=ws,
            backend=fetcher or backend,
            run_id=run_id,
            config=config,
            preset=preset,
            templates=templates,
            rules=rules,
            index=index_from_workspace(ws, tokenizer),
            tokenizer=tokenizer,
            cancel=cancel,
            on_decided=meter.on_decided,
            on_call=meter.on_call,
            seeds=seeds,
        )
    except BaseException:
        lock.release()
        if fetcher is not None:
            fetcher.close()
        raise
    max_calls = config.max_gen_calls or (20 + 10 * config.target)

    def emit(message: str) -> None:
        st = run_stats(ws, run_id)
        decided = candidates.count_examined(ws, run_id)
        progress(
            Progress(
                "self-instruct",
                done=st["accepted"],
                total=config.target,
                message=message,
                data={
                    "run_id": run_id,
                    "accepted": st["accepted"],
                    "candidates": st["candidates"],
                    # Candidates the filters decided (kept or dropped; not pending, not closed
                    # unexamined at the target), and the share of them accepted (None before
                    # the first): with a round's candidates pending, fewer than "candidates".
                    "examined": decided,
                    "acceptance_rate": st["accepted"] / decided if decided else None,
                    "tokens_per_s": meter.tokens_per_s,
                    "last": meter.last,
                    **({"in_flight": fetcher.in_flight} if fetcher is not None else {}),
                    **({"withdrawn": fetcher.withdrawn} if fetcher and fetcher.withdrawn else {}),
                    **({"endpoints": eps} if (eps := endpoint_summary(backend)) else {}),
                },
            )
        )
        meter.last = []

    stopped = None
    with lock, run_outcome(ws, run_id, lambda: run_stats(ws, run_id, backend)), _closing(fetcher):
        emit("resuming" if resume_run_id is not None else "starting")
        if fetcher is not None:  # a resumed run: what was in flight when it stopped
            prefetch_pending(ctx, fetcher)
        sent_round = -1  # the round (its first call) whose step-1 calls were sent ahead
        rsize = config.round_size or 1
        while True:
            accepted = _accepted(ws, run_id)
            if accepted >= config.target:
                break
            batch = ws.scalar(
                "SELECT count(*) FROM model_calls WHERE run_id = ? AND purpose IN (?, ?)",
                (run_id, steps.PURPOSE_GEN, steps.PURPOSE_ALPACA),
            )
            # A round's step-1 calls all come before its candidates' steps 2 and 3, so each
            # of them sees the same pool (rounds of 1: every step-1 call sees the latest).
            alpaca = preset.pipeline == "alpaca"  # one call at a time, no rounds
            first, end = (batch, batch + 1) if alpaca else steps.round_bounds(ctx, batch)
            mid_round = first != batch and batch < max_calls
            pending_batch = None if mid_round else candidates.first_pending_batch(ws, run_id)
            if pending_batch is not None:
                # Settled call by call, in sequence order: the call is decided against the
                # pool its earlier calls grew (a no-op for rounds of 1), then its candidates
                # take step 2, then step 3 grouped by template.
                dropped = steps.redecide_call(ctx, pending_batch)
                if fetcher is not None and dropped:
                    forget_candidates(ctx, fetcher, dropped)
                    prefetch_pending(ctx, fetcher)  # any it let through after all
            cand = (
                candidates.next_to_classify(ws, run_id, pending_batch)
                if preset.classification and pending_batch is not None
                else None
            )
            if cand is not None:
                steps.step_classify(ctx, cand)
                emit(f"step 2: {'classification' if cand['is_classification'] else 'generation'}")
                continue
            cand = (
                candidates.next_for_instances(ws, run_id, pending_batch)
                if pending_batch is not None
                else None
            )
            if cand is not None:
                kept = steps.step_instances(ctx, cand)
                emit("step 3: accepted" if kept else "step 3: no valid instances")
                continue
            if pending_batch is not None:  # the call's candidates were all dropped again
                emit("step 1: decided again with the round's tasks")
                continue
            if batch >= max_calls:
                stopped = f"stopped after {batch} generation calls"
                break
            if preset.pipeline == "alpaca":
                steps.step_alpaca(ctx, batch, config.target - accepted)
            else:
                if fetcher is not None and end - first > 1 and first != sent_round:
                    sent_round = first
                    prefetch_generate(ctx, fetcher, range(batch, min(end, max_calls)))
                n = steps.step_generate(ctx, batch)
                if fetcher is not None:
                    prefetch_pending(ctx, fetcher)
                emit(f"step 1: {n} candidates")
                continue
            emit("alpaca: call done")
        # Pending candidates beyond the target are not needed: closed, with the reason.
        candidates.close_pending(ws, run_id, Reason.TARGET_REACHED)
    st = run_stats(ws, run_id, backend)
    if fetcher is not None:
        st["withdrawn"] = fetcher.withdrawn
    if stopped:
        st["stopped"] = stopped
    set_run_status(ws, run_id, "finished", stats=st)
    emit(stopped or "finished")
    return RunSummary(
        run_id=run_id,
        accepted=st["accepted"],
        candidates=st["candidates"],
        rejected_by_reason=st["rejected_by_reason"],
        calls=st["calls"],
        seconds=round(time.monotonic() - started, 3),
        target=config.target,
        round_size=rsize,
        endpoints=st.get("endpoints"),
        withdrawn=st.get("withdrawn", 0),
    )
