"""The SELF-CHECK job: four model calls per step, a verdict r_i per step, a confidence w per solution.

Resumable: each stage call and what it produced is one transaction on the step's `sc_checks`
row (keyed by run), so a killed run continues at the first stage without output.

Concurrent (`core.llm.pool`): against a server up to K calls are in flight — the steps of a
solution and different solutions at once, each step's stages in order; a step's verdict depends
only on its own calls, so K changes the speed, never the verdicts. Each call's seed derives from
the run's seed and the call's place (solution, step, stage). With K = 1 (in-process) the stages
run stage by stage over all steps, as the reference does; consecutive prompts then share their
longest prefix (the question, then Step 0..i), which a llama.cpp backend keeps in its KV cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import Cancelled, ModelError, UserInputError
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..llm.base import Backend, GenParams, GenResult, record_generation
from ..llm.pool import Call, CallScheduler, Group, Unit, derive_seed
from ..store.run_lock import lock_run
from ..store.runs import create_run, get_run, run_outcome, set_run_status
from ..store.workspace import Workspace
from . import store
from .confidence import (
    DEFAULT_ERROR_POLICY,
    ERROR_POLICIES,
    LAMBDA_CONTRADICT,
    LAMBDA_UNRELATED,
    confidence,
    effective_scores,
    first_wrong,
)
from .parse import (
    ANSWER,
    CONTRADICT,
    ERROR,
    PENDING,
    SUPPORT,
    UNRELATED,
    parse_collected,
    parse_verdict,
)
from .prompts import SelfCheckPrompts
from .split import answer_lines

RUN_KIND = "self-check"
FOLLOWUP_MODES = ("never", "unclear", "always")
# The follow-up's answer, constrained (llama.cpp and servers built on it; others ignore it):
# a small model then always names exactly one verdict instead of rambling.
VERDICT_GRAMMAR = 'root ::= ("Support" | "Contradict" | "Not related")'


@dataclass
class CheckConfig:
    """How a run checks. Stored in the run's config so a resumed run checks the same way."""

    error_policy: str = (
        DEFAULT_ERROR_POLICY  # how a failed check counts: support|unrelated|contradict
    )
    lam_contradict: float = LAMBDA_CONTRADICT
    lam_unrelated: float = LAMBDA_UNRELATED
    followup: str = "unclear"  # never | unclear (default) | always (the reference)
    temperature: float = 0.0  # reference: 1.0; greedy makes checks reproducible
    seed: int | None = 0
    api: str = "chat"  # chat (instruct models) | complete (base models)
    max_tokens: dict[str, int] = field(
        default_factory=lambda: {
            "target": 64,
            "collect": 64,
            "regen": 192,
            "compare": 192,
            "followup": 24,
        }
    )
    prompts_path: str | None = None
    followup_grammar: bool = True  # constrain the follow-up to the three verdicts
    # Check trailing lines that only restate the final answer ("#### 11000", "The answer is:
    # 11000") as steps, as the reference would (it checks every split step). Default: store them
    # with verdict "answer", no model call, no r_i (`split.answer_lines`, docs/selfcheck.md).
    check_answer_lines: bool = False

    def __post_init__(self) -> None:
        if self.error_policy not in ERROR_POLICIES:
            raise UserInputError(
                f"unknown error policy {self.error_policy!r}",
                field="error_policy",
                hint=f"One of {', '.join(ERROR_POLICIES)}.",
            )
        if self.followup not in FOLLOWUP_MODES:
            raise UserInputError(f"unknown follow-up mode {self.followup!r}", field="followup")
        if self.api not in ("chat", "complete"):
            raise UserInputError(f"unknown api {self.api!r}", field="api")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        # A run stored before answer lines were told apart checked them: resume it that way.
        known.setdefault("check_answer_lines", True)
        return cls(**known)

    def params(self, stage: str) -> GenParams:
        grammar = VERDICT_GRAMMAR if stage == "followup" and self.followup_grammar else None
        return GenParams(
            max_tokens=self.max_tokens.get(stage, 128),
            temperature=self.temperature,
            seed=self.seed,
            grammar=grammar,
        )


STAGE_ORDER = {"target": 0, "collect": 1, "regen": 2, "compare": 3, "followup": 4}


def request_seq(solution_id: int, position: int, stage: str) -> int:
    """The sequence number of one stage call (its sampling seed derives from it and the run's
    seed): fixed by the solution, the step and the stage, so the call gets the same seed at any
    concurrency and in a rerun."""
    return (solution_id * 4096 + position) * 8 + STAGE_ORDER[stage]


class _Caller:
    """One model call (`call`, on a worker thread: no workspace access) and its record with its
    provenance in the caller's transaction (`record`, in the job's thread)."""

    def __init__(self, ws: Workspace, backend: Backend, run_id: int, cfg: CheckConfig) -> None:
        self.ws, self.backend, self.run_id, self.cfg = ws, backend, run_id, cfg

    def call(
        self, stage: str, prompt: str, seq: int, cancel: CancelToken | None
    ) -> tuple[GenResult | None, str | None, GenParams]:
        """(result, error message, params). A failure of this one call (a prompt too long for the
        context, a malformed reply) is returned, not raised, so it becomes the step's "error"
        verdict; cancellation and an unusable model (ModelError: server down, file gone) are
        raised, so the run stops and can be resumed instead of filling up with errors."""
        params = self.cfg.params(stage)
        params.seed = derive_seed(self.cfg.seed, seq)
        try:
            if self.cfg.api == "chat":
                res = self.backend.chat(
                    [{"role": "user", "content": prompt}], params, cancel=cancel
                )
            else:
                res = self.backend.complete(prompt, params, cancel=cancel)
        except (Cancelled, ModelError):
            raise
        except Exception as exc:  # noqa: BLE001 - any backend failure is recorded on the step
            return None, f"{type(exc).__name__}: {exc}", params
        if res.finish_reason == "cancelled":
            raise Cancelled()
        return res, None, params

    def record(
        self, stage: str, prompt: str, res: GenResult | None, params: GenParams, error: str | None
    ) -> int:
        kw: dict[str, Any] = (
            {"messages": [{"role": "user", "content": prompt}]}
            if self.cfg.api == "chat"
            else {"prompt": prompt}
        )
        return record_generation(
            self.ws,
            self.backend,
            run_id=self.run_id,
            purpose=f"self-check-{stage}",
            params=params,
            result=res,
            error=error,
            **kw,
        )


def _ensure_rows(
    ws: Workspace, run_id: int, steps: Sequence[dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    with ws.transaction():
        for st in steps:
            ws.execute(
                "INSERT OR IGNORE INTO sc_checks (step_id, run_id, verdict) VALUES (?, ?, ?)",
                (st["id"], run_id, PENDING),
            )
    ids = [st["id"] for st in steps]
    rows = ws.query(
        f"SELECT * FROM sc_checks WHERE run_id = ? AND step_id IN ({','.join('?' * len(ids))})",
        [run_id, *ids],
    )
    return {r["step_id"]: r for r in rows}


def _fail(ws: Workspace, row: dict[str, Any], error: str, extra: dict[str, Any]) -> None:
    values = {**extra, "verdict": ERROR, "score": None, "error": error}
    ws.update("sc_checks", row["id"], values)
    row.update(values)


_SCORE = {SUPPORT: 1, CONTRADICT: -1, UNRELATED: 0}


def _step_unit(
    ws: Workspace,
    caller: _Caller,
    prompts: SelfCheckPrompts,
    config: CheckConfig,
    key: tuple[int, ...],
    solution_id: int,
    question: str,
    information: list[str],
    texts: list[str],
    i: int,
    row: dict[str, Any],
    on_step: Callable[[], None] | None,
) -> Unit:
    """The stages of step `i` still to do, in order: each yields its call, then commits the call
    and what it produced in one transaction (the job's thread). `key` orders steps across
    solutions; within a solution stage s of every step comes before stage s + 1 (at K = 1 the
    order of the reference, whose consecutive prompts share their longest prefix)."""

    def call(stage: str, prompt: str) -> Call:
        seq = request_seq(solution_id, i, stage)
        return Call(
            key=(*key, STAGE_ORDER[stage], i), run=lambda tok: caller.call(stage, prompt, seq, tok)
        )

    def pending(col: str) -> bool:
        return row["verdict"] == PENDING and row[col] is None

    decided = row["verdict"] != PENDING
    # Stage 1: target extraction.
    if pending("target_output"):
        prompt = prompts.target(question, texts, i)
        res, err, params = yield call("target", prompt)
        with ws.transaction():
            cid = caller.record("target", prompt, res, params, err)
            vals: dict[str, Any] = {"target_prompt": prompt, "target_call_id": cid}
            if err or res is None or not res.text.strip():
                _fail(ws, row, err or "target extraction gave an empty reply", vals)
            else:
                vals["target_output"] = res.text.strip()
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
    # Stage 2: information collection.
    if pending("collect_output"):
        prompt = prompts.collect(question, information, texts, i)
        res, err, params = yield call("collect", prompt)
        with ws.transaction():
            cid = caller.record("collect", prompt, res, params, err)
            vals = {"collect_prompt": prompt, "collect_call_id": cid}
            if err or res is None:
                _fail(ws, row, err or "no reply", vals)
            else:
                info_ids, step_ids = parse_collected(
                    res.text, n_info=len(information), step_index=i
                )
                vals.update(
                    collect_output=res.text.strip(),
                    collected_info=info_ids,
                    collected_steps=step_ids,
                )
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
                row["collected_info"], row["collected_steps"] = (
                    json.dumps(info_ids),
                    json.dumps(step_ids),
                )
    # Stage 3: regeneration from the collected information and steps only.
    if pending("regen_output"):
        info_ids = json.loads(row["collected_info"] or "[]")
        step_ids = json.loads(row["collected_steps"] or "[]")
        prompt = prompts.regen(
            row["target_output"], [information[k] for k in info_ids], [texts[k] for k in step_ids]
        )
        res, err, params = yield call("regen", prompt)
        with ws.transaction():
            cid = caller.record("regen", prompt, res, params, err)
            vals = {"regen_prompt": prompt, "regen_call_id": cid}
            if err or res is None or not res.text.strip():
                _fail(ws, row, err or "regeneration gave an empty reply", vals)
            else:
                vals["regen_output"] = res.text.strip()
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
    # Stage 4: result comparison, and the follow-up where the reply names no single verdict.
    if pending("compare_output"):
        prompt = prompts.compare(row["regen_output"], texts[i])
        res, err, params = yield call("compare", prompt)
        with ws.transaction():
            cid = caller.record("compare", prompt, res, params, err)
            vals = {"compare_prompt": prompt, "compare_call_id": cid}
            if err or res is None or not res.text.strip():
                _fail(ws, row, err or "comparison gave an empty reply", vals)
            else:
                vals["compare_output"] = res.text.strip()
                verdict = parse_verdict(res.text)
                if config.followup == "never" or (
                    verdict is not None and config.followup == "unclear"
                ):
                    # An unclear reply counts 0, as the reference's fall-through does.
                    verdict = verdict or UNRELATED
                    vals.update(verdict=verdict, score=_SCORE[verdict])
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
    if row["verdict"] == PENDING:
        prompt = prompts.followup(row["compare_output"])
        res, err, params = yield call("followup", prompt)
        with ws.transaction():
            cid = caller.record("followup", prompt, res, params, err)
            vals = {"followup_call_id": cid}
            if err or res is None:
                _fail(ws, row, err or "no reply", vals)
            else:
                # The reference reads the follow-up with a contradict-first keyword test; ours
                # tries the follow-up, then the comparison itself, then counts it unclear (0).
                verdict = (
                    parse_verdict(res.text)
                    or parse_verdict(row["compare_output"] or "")
                    or UNRELATED
                )
                vals.update(
                    followup_output=res.text.strip(), verdict=verdict, score=_SCORE[verdict]
                )
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
    if on_step is not None and not decided:
        on_step()


def check_solutions(
    ws: Workspace,
    backend: Backend,
    solution_ids: Sequence[int],
    *,
    run_id: int,
    config: CheckConfig,
    prompts: SelfCheckPrompts | None = None,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
    on_step: Callable[[], None] | None = None,
    on_solution: Callable[[int, dict[str, Any]], None] | None = None,
    scheduler: CallScheduler | None = None,
) -> dict[int, dict[str, Any]]:
    """Check every step of the solutions under `run_id`, with up to `concurrency` calls in flight
    (default: 16 on a server, 1 in-process): the steps of a solution and different solutions in
    parallel, each step's stages in order. Every call is committed as it completes; a solution is
    scored (`on_solution(id, score row)`, in this thread) once all its steps have verdicts.
    Returns {solution id: score row}. Raises Cancelled, or ModelError when the model is unusable;
    a resumed run continues at the first stage without output."""
    prompts = prompts or SelfCheckPrompts.load(config.prompts_path)
    caller = _Caller(ws, backend, run_id, config)
    sched = scheduler or CallScheduler(backend, concurrency, cancel)
    scores: dict[int, dict[str, Any]] = {}

    def groups() -> Iterator[Group]:
        for n, sid in enumerate(solution_ids):
            qid = ws.scalar("SELECT question_id FROM sc_solutions WHERE id = ?", (sid,))
            if qid is None:
                raise UserInputError(f"no self-check solution {sid}")
            question, information = store.question_information(ws, qid)
            steps = store.solution_steps(ws, sid)
            texts = [s["text"] for s in steps]
            rows = _ensure_rows(ws, run_id, steps) if steps else {}
            if not config.check_answer_lines:
                for st, is_answer in zip(steps, answer_lines(texts)):
                    row = rows[st["id"]]
                    if is_answer and row["verdict"] == PENDING and row["target_output"] is None:
                        with ws.transaction():
                            ws.update("sc_checks", row["id"], {"verdict": ANSWER, "score": None})
                        row.update(verdict=ANSWER, score=None)
                        if on_step is not None:
                            on_step()
            units = [
                _step_unit(
                    ws,
                    caller,
                    prompts,
                    config,
                    (n,),
                    sid,
                    question,
                    information,
                    texts,
                    i,
                    rows[st["id"]],
                    on_step,
                )
                for i, st in enumerate(steps)
            ]

            def done(
                sid: int = sid,
                steps: list[dict[str, Any]] = steps,
                rows: dict[int, dict[str, Any]] = rows,
            ) -> None:
                scores[sid] = _score(
                    ws, sid, run_id, config, [rows[st["id"]]["verdict"] for st in steps]
                )
                if on_solution is not None:
                    on_solution(sid, scores[sid])

            yield Group(units, done)

    sched.run(groups())
    return scores


def check_solution(
    ws: Workspace,
    backend: Backend,
    solution_id: int,
    *,
    run_id: int,
    config: CheckConfig,
    prompts: SelfCheckPrompts | None = None,
    cancel: CancelToken | None = None,
    on_step: Any = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Check every step of one solution under `run_id`; returns its score row."""
    return check_solutions(
        ws,
        backend,
        [solution_id],
        run_id=run_id,
        config=config,
        prompts=prompts,
        cancel=cancel,
        concurrency=concurrency,
        on_step=on_step,
    )[solution_id]


def _score(
    ws: Workspace, solution_id: int, run_id: int, cfg: CheckConfig, verdicts: list[str]
) -> dict[str, Any]:
    scores = effective_scores(verdicts, cfg.error_policy)  # answer lines give none
    w = confidence(scores, cfg.lam_contradict, cfg.lam_unrelated)
    row = {
        "solution_id": solution_id,
        "run_id": run_id,
        "confidence": w,
        "n_support": verdicts.count(SUPPORT),
        "n_contradict": verdicts.count(CONTRADICT),
        "n_unrelated": verdicts.count(UNRELATED),
        "n_error": verdicts.count(ERROR),
        "first_wrong": first_wrong(scores),
        "config": {
            "error_policy": cfg.error_policy,
            "lam_contradict": cfg.lam_contradict,
            "lam_unrelated": cfg.lam_unrelated,
        },
    }
    with ws.transaction():
        ws.execute(
            "DELETE FROM sc_scores WHERE solution_id = ? AND run_id = ?", (solution_id, run_id)
        )
        ws.insert("sc_scores", row)
        ws.update("sc_solutions", solution_id, {"confidence": w, "check_run_id": run_id})
    return row


def rescore(ws: Workspace, run_id: int, config: CheckConfig) -> int:
    """Recompute w for every checked solution of a run under other λs or error policy (no model)."""
    rows = ws.query("SELECT solution_id FROM sc_scores WHERE run_id = ?", (run_id,))
    sids = [r["solution_id"] for r in rows]
    for sid in sids:
        verdicts = [
            r["verdict"]
            for r in ws.query(
                """SELECT c.verdict FROM sc_steps st JOIN sc_checks c ON c.step_id = st.id AND c.run_id = ?
               WHERE st.solution_id = ? ORDER BY st.position""",
                (run_id, sid),
            )
        ]
        _score(ws, sid, run_id, config, verdicts)
    return len(sids)


def start_check_run(
    ws: Workspace,
    solution_ids: Sequence[int],
    config: CheckConfig,
    *,
    backend: Backend | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    cfg = {"check": config.to_dict(), "solutions": list(solution_ids), **(extra or {})}
    if backend is not None:
        cfg["model"] = {
            "backend": backend.name,
            "model": backend.model_id,
            "sha256": backend.model_sha256,
        }
    return create_run(ws, RUN_KIND, cfg)


def check_run(
    ws: Workspace,
    backend: Backend,
    run_id: int,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) a check run over the solutions its config lists, with up to `concurrency`
    model calls in flight (default: 16 on a server, 1 in-process); returns its stats, with
    per-endpoint figures ("endpoints") on a server."""
    run = get_run(ws, run_id)
    if run is None or run["kind"] != RUN_KIND:
        raise UserInputError(f"no self-check run {run_id}")
    config = CheckConfig.from_dict(run["config"].get("check", {}))
    prompts = SelfCheckPrompts.load(config.prompts_path)
    sids: list[int] = list(run["config"].get("solutions", []))
    total_steps = (
        ws.scalar(
            f"SELECT count(*) FROM sc_steps WHERE solution_id IN ({','.join('?' * len(sids))})",
            sids,
        )
        if sids
        else 0
    )
    done = {
        "steps": ws.scalar(
            "SELECT count(*) FROM sc_checks WHERE run_id = ? AND verdict != ?", (run_id, PENDING)
        )
        or 0
    }
    finished = {
        r["solution_id"]
        for r in ws.query("SELECT solution_id FROM sc_scores WHERE run_id = ?", (run_id,))
    }
    sched = CallScheduler(backend, concurrency, cancel)
    n_done = len(finished)

    def tick() -> None:
        done["steps"] += 1
        progress(
            Progress(
                "self-check",
                done["steps"],
                total_steps,
                message=f"solution {n_done + 1}/{len(sids)}",
                data=sched.progress_data(),
            )
        )

    def solved(sid: int, _row: dict[str, Any]) -> None:
        nonlocal n_done
        n_done += 1
        progress(
            Progress(
                "self-check",
                done["steps"],
                total_steps,
                message=f"solution {n_done}/{len(sids)}",
                data={"solution_id": sid, **sched.progress_data()},
            )
        )

    lock = lock_run(ws, run_id)  # one process at a time (RunBusy)
    if run["status"] != "running":
        set_run_status(ws, run_id, "running")
    progress(
        Progress(
            "self-check", done["steps"], total_steps, message="starting", data=sched.progress_data()
        )
    )
    with lock, run_outcome(ws, run_id, lambda: run_stats(ws, run_id, backend)):
        check_solutions(
            ws,
            backend,
            [s for s in sids if s not in finished],
            run_id=run_id,
            config=config,
            prompts=prompts,
            cancel=cancel,
            on_step=tick,
            on_solution=solved,
            scheduler=sched,
        )
    stats = run_stats(ws, run_id, backend)
    set_run_status(ws, run_id, "finished", stats=stats)
    return stats


def run_stats(ws: Workspace, run_id: int, backend: Backend | None = None) -> dict[str, Any]:
    """Verdict counts ("answer": answer lines stored unchecked), solutions checked, follow-ups,
    mean w (None when no solution was scored); with a server backend also its
    per-endpoint figures (see OpenAICompatBackend.endpoint_stats)."""
    verdicts = {
        r["verdict"]: r["n"]
        for r in ws.query(
            "SELECT verdict, count(*) AS n FROM sc_checks WHERE run_id = ? GROUP BY verdict",
            (run_id,),
        )
    }
    solutions = ws.scalar("SELECT count(*) FROM sc_scores WHERE run_id = ?", (run_id,)) or 0
    mean_w = ws.scalar("SELECT avg(confidence) FROM sc_scores WHERE run_id = ?", (run_id,))
    followups = (
        ws.scalar(
            "SELECT count(*) FROM sc_checks WHERE run_id = ? AND followup_call_id IS NOT NULL",
            (run_id,),
        )
        or 0
    )
    out: dict[str, Any] = {
        "run_id": run_id,
        "solutions_checked": solutions,
        "steps": {
            v: verdicts.get(v, 0) for v in (SUPPORT, CONTRADICT, UNRELATED, ERROR, PENDING, ANSWER)
        },
        "followups": followups,
        "mean_confidence": mean_w,
    }
    endpoints = getattr(backend, "endpoint_stats", None)
    if endpoints is not None:
        out["endpoints"] = endpoints()
    return out
