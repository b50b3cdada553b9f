"""The SELF-CHECK job: four model calls per step, a verdict r_i per step, a confidence w per solution.

Resumable: each stage call and what it produced is one transaction on the step's `sc_checks`
row (keyed by run), so a killed run continues at the first stage without output. Within a
solution the stages run stage by stage over all steps, as the reference does; consecutive
prompts then share their longest prefix (the question, then Step 0..i), which a llama.cpp
backend keeps in its KV cache.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from ..errors import Cancelled, ModelError, UserInputError
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..llm.base import Backend, GenParams, GenResult, record_generation
from ..store.runs import create_run, get_run, run_outcome, set_run_status
from ..store.workspace import Workspace
from . import store
from .confidence import (DEFAULT_ERROR_POLICY, ERROR_POLICIES, LAMBDA_CONTRADICT, LAMBDA_UNRELATED,
                         confidence, effective_scores, first_wrong)
from .parse import CONTRADICT, ERROR, PENDING, SUPPORT, UNRELATED, parse_collected, parse_verdict
from .prompts import SelfCheckPrompts

RUN_KIND = "self-check"
FOLLOWUP_MODES = ("never", "unclear", "always")
# The follow-up's answer, constrained (llama.cpp and servers built on it; others ignore it):
# a small model then always names exactly one verdict instead of rambling.
VERDICT_GRAMMAR = 'root ::= ("Support" | "Contradict" | "Not related")'


@dataclass
class CheckConfig:
    """How a run checks. Stored in the run's config so a resumed run checks the same way."""

    error_policy: str = DEFAULT_ERROR_POLICY   # how a failed check counts: support|unrelated|contradict
    lam_contradict: float = LAMBDA_CONTRADICT
    lam_unrelated: float = LAMBDA_UNRELATED
    followup: str = "unclear"                  # never | unclear (default) | always (the reference)
    temperature: float = 0.0                   # reference: 1.0; greedy makes checks reproducible
    seed: int | None = 0
    api: str = "chat"                          # chat (instruct models) | complete (base models)
    max_tokens: dict[str, int] = field(default_factory=lambda: {
        "target": 64, "collect": 64, "regen": 192, "compare": 192, "followup": 24})
    prompts_path: str | None = None
    followup_grammar: bool = True              # constrain the follow-up to the three verdicts

    def __post_init__(self) -> None:
        if self.error_policy not in ERROR_POLICIES:
            raise UserInputError(f"unknown error policy {self.error_policy!r}",
                                 field="error_policy", hint=f"One of {', '.join(ERROR_POLICIES)}.")
        if self.followup not in FOLLOWUP_MODES:
            raise UserInputError(f"unknown follow-up mode {self.followup!r}", field="followup")
        if self.api not in ("chat", "complete"):
            raise UserInputError(f"unknown api {self.api!r}", field="api")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def params(self, stage: str) -> GenParams:
        grammar = VERDICT_GRAMMAR if stage == "followup" and self.followup_grammar else None
        return GenParams(max_tokens=self.max_tokens.get(stage, 128), temperature=self.temperature,
                         seed=self.seed, grammar=grammar)


class _Caller:
    """One model call, recorded with its provenance in the caller's transaction."""

    def __init__(self, ws: Workspace, backend: Backend, run_id: int, cfg: CheckConfig,
                 cancel: CancelToken | None) -> None:
        self.ws, self.backend, self.run_id, self.cfg, self.cancel = ws, backend, run_id, cfg, cancel

    def call(self, stage: str, prompt: str) -> tuple[GenResult | None, str | None, GenParams]:
        """(result, error message, params). A failure of this one call (a prompt too long for the
        context, a malformed reply) is returned, not raised, so it becomes the step's "error"
        verdict; cancellation and an unusable model (ModelError: server down, file gone) are
        raised, so the run stops and can be resumed instead of filling up with errors."""
        params = self.cfg.params(stage)
        try:
            if self.cfg.api == "chat":
                res = self.backend.chat([{"role": "user", "content": prompt}], params, cancel=self.cancel)
            else:
                res = self.backend.complete(prompt, params, cancel=self.cancel)
        except (Cancelled, ModelError):
            raise
        except Exception as exc:  # noqa: BLE001 - any backend failure is recorded on the step
            return None, f"{type(exc).__name__}: {exc}", params
        if res.finish_reason == "cancelled":
            raise Cancelled()
        return res, None, params

    def record(self, stage: str, prompt: str, res: GenResult | None, params: GenParams,
               error: str | None) -> int:
        kw: dict[str, Any] = ({"messages": [{"role": "user", "content": prompt}]}
                              if self.cfg.api == "chat" else {"prompt": prompt})
        return record_generation(self.ws, self.backend, run_id=self.run_id,
                                 purpose=f"self-check-{stage}", params=params, result=res,
                                 error=error, **kw)


def _ensure_rows(ws: Workspace, run_id: int, steps: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    with ws.transaction():
        for st in steps:
            ws.execute("INSERT OR IGNORE INTO sc_checks (step_id, run_id, verdict) VALUES (?, ?, ?)",
                       (st["id"], run_id, PENDING))
    ids = [st["id"] for st in steps]
    rows = ws.query(f"SELECT * FROM sc_checks WHERE run_id = ? AND step_id IN ({','.join('?' * len(ids))})",
                    [run_id, *ids])
    return {r["step_id"]: r for r in rows}


def _fail(ws: Workspace, row: dict[str, Any], error: str, extra: dict[str, Any]) -> None:
    values = {**extra, "verdict": ERROR, "score": None, "error": error}
    ws.update("sc_checks", row["id"], values)
    row.update(values)


def check_solution(
    ws: Workspace, backend: Backend, solution_id: int, *, run_id: int, config: CheckConfig,
    prompts: SelfCheckPrompts | None = None, cancel: CancelToken | None = None,
    on_step: Any = None,
) -> dict[str, Any]:
    """Check every step of one solution under `run_id`; returns its score row."""
    prompts = prompts or SelfCheckPrompts.load(config.prompts_path)
    qid = ws.scalar("SELECT question_id FROM sc_solutions WHERE id = ?", (solution_id,))
    if qid is None:
        raise UserInputError(f"no self-check solution {solution_id}")
    question, information = store.question_information(ws, qid)
    steps = store.solution_steps(ws, solution_id)
    texts = [s["text"] for s in steps]
    rows = _ensure_rows(ws, run_id, steps) if steps else {}
    caller = _Caller(ws, backend, run_id, config, cancel)

    def pending(stage_col: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, rows[st["id"]]) for i, st in enumerate(steps)
                if rows[st["id"]]["verdict"] == PENDING and rows[st["id"]][stage_col] is None]

    def gate() -> None:
        if cancel is not None:
            cancel.check()

    # Stage 1: target extraction.
    for i, row in pending("target_output"):
        gate()
        prompt = prompts.target(question, texts, i)
        res, err, params = caller.call("target", prompt)
        with ws.transaction():
            cid = caller.record("target", prompt, res, params, err)
            vals = {"target_prompt": prompt, "target_call_id": cid}
            if err or not res.text.strip():
                _fail(ws, row, err or "target extraction gave an empty reply", vals)
            else:
                vals["target_output"] = res.text.strip()
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
    # Stage 2: information collection.
    for i, row in pending("collect_output"):
        gate()
        prompt = prompts.collect(question, information, texts, i)
        res, err, params = caller.call("collect", prompt)
        with ws.transaction():
            cid = caller.record("collect", prompt, res, params, err)
            vals: dict[str, Any] = {"collect_prompt": prompt, "collect_call_id": cid}
            if err:
                _fail(ws, row, err, vals)
            else:
                info_ids, step_ids = parse_collected(res.text, n_info=len(information), step_index=i)
                vals.update(collect_output=res.text.strip(), collected_info=info_ids,
                            collected_steps=step_ids)
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
                row["collected_info"], row["collected_steps"] = json.dumps(info_ids), json.dumps(step_ids)
    # Stage 3: regeneration from the collected information and steps only.
    for i, row in pending("regen_output"):
        gate()
        info_ids = json.loads(row["collected_info"] or "[]")
        step_ids = json.loads(row["collected_steps"] or "[]")
        prompt = prompts.regen(row["target_output"], [information[k] for k in info_ids],
                               [texts[k] for k in step_ids])
        res, err, params = caller.call("regen", prompt)
        with ws.transaction():
            cid = caller.record("regen", prompt, res, params, err)
            vals = {"regen_prompt": prompt, "regen_call_id": cid}
            if err or not res.text.strip():
                _fail(ws, row, err or "regeneration gave an empty reply", vals)
            else:
                vals["regen_output"] = res.text.strip()
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
    # Stage 4: result comparison, and the follow-up where the reply names no single verdict.
    for i, row in pending("compare_output"):
        gate()
        prompt = prompts.compare(row["regen_output"], texts[i])
        res, err, params = caller.call("compare", prompt)
        with ws.transaction():
            cid = caller.record("compare", prompt, res, params, err)
            vals = {"compare_prompt": prompt, "compare_call_id": cid}
            if err or not res.text.strip():
                _fail(ws, row, err or "comparison gave an empty reply", vals)
            else:
                vals["compare_output"] = res.text.strip()
                verdict = parse_verdict(res.text)
                if config.followup == "never" or (verdict is not None and config.followup == "unclear"):
                    # An unclear reply counts 0, as the reference's fall-through does.
                    verdict = verdict or UNRELATED
                    vals.update(verdict=verdict, score={SUPPORT: 1, CONTRADICT: -1, UNRELATED: 0}[verdict])
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
        if on_step and row["verdict"] != PENDING:
            on_step()
    for i, row in [(i, rows[st["id"]]) for i, st in enumerate(steps)]:
        if row["verdict"] != PENDING:
            continue
        gate()
        prompt = prompts.followup(row["compare_output"])
        res, err, params = caller.call("followup", prompt)
        with ws.transaction():
            cid = caller.record("followup", prompt, res, params, err)
            vals = {"followup_call_id": cid}
            if err:
                _fail(ws, row, err, vals)
            else:
                # The reference reads the follow-up with a contradict-first keyword test; ours
                # tries the follow-up, then the comparison itself, then counts it unclear (0).
                verdict = (parse_verdict(res.text) or parse_verdict(row["compare_output"] or "")
                           or UNRELATED)
                vals.update(followup_output=res.text.strip(), verdict=verdict,
                            score={SUPPORT: 1, CONTRADICT: -1, UNRELATED: 0}[verdict])
                ws.update("sc_checks", row["id"], vals)
                row.update(vals)
        if on_step:
            on_step()
    return _score(ws, solution_id, run_id, config, [rows[st["id"]]["verdict"] for st in steps])


def _score(ws: Workspace, solution_id: int, run_id: int, cfg: CheckConfig,
           verdicts: list[str]) -> dict[str, Any]:
    scores = effective_scores(verdicts, cfg.error_policy)
    w = confidence(scores, cfg.lam_contradict, cfg.lam_unrelated)
    row = {
        "solution_id": solution_id, "run_id": run_id, "confidence": w,
        "n_support": verdicts.count(SUPPORT), "n_contradict": verdicts.count(CONTRADICT),
        "n_unrelated": verdicts.count(UNRELATED), "n_error": verdicts.count(ERROR),
        "first_wrong": first_wrong(scores),
        "config": {"error_policy": cfg.error_policy, "lam_contradict": cfg.lam_contradict,
                   "lam_unrelated": cfg.lam_unrelated},
    }
    with ws.transaction():
        ws.execute("DELETE FROM sc_scores WHERE solution_id = ? AND run_id = ?", (solution_id, run_id))
        ws.insert("sc_scores", row)
        ws.update("sc_solutions", solution_id, {"confidence": w, "check_run_id": run_id})
    return row


def rescore(ws: Workspace, run_id: int, config: CheckConfig) -> int:
    """Recompute w for every checked solution of a run under other λs or error policy (no model)."""
    sids = [r["solution_id"] for r in ws.query("SELECT solution_id FROM sc_scores WHERE run_id = ?", (run_id,))]
    for sid in sids:
        verdicts = [r["verdict"] for r in ws.query(
            """SELECT c.verdict FROM sc_steps st JOIN sc_checks c ON c.step_id = st.id AND c.run_id = ?
               WHERE st.solution_id = ? ORDER BY st.position""", (run_id, sid))]
        _score(ws, sid, run_id, config, verdicts)
    return len(sids)


def start_check_run(ws: Workspace, solution_ids: Sequence[int], config: CheckConfig,
                    *, backend: Backend | None = None, extra: dict[str, Any] | None = None) -> int:
    cfg = {"check": config.to_dict(), "solutions": list(solution_ids), **(extra or {})}
    if backend is not None:
        cfg["model"] = {"backend": backend.name, "model": backend.model_id, "sha256": backend.model_sha256}
    return create_run(ws, RUN_KIND, cfg)


def check_run(
    ws: Workspace, backend: Backend, run_id: int, *, progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Run (or resume) a check run over the solutions its config lists; returns its stats."""
    run = get_run(ws, run_id)
    if run is None or run["kind"] != RUN_KIND:
        raise UserInputError(f"no self-check run {run_id}")
    config = CheckConfig.from_dict(run["config"].get("check", {}))
    prompts = SelfCheckPrompts.load(config.prompts_path)
    sids: list[int] = list(run["config"].get("solutions", []))
    total_steps = ws.scalar(
        f"SELECT count(*) FROM sc_steps WHERE solution_id IN ({','.join('?' * len(sids))})", sids
    ) if sids else 0
    done = {"steps": ws.scalar("SELECT count(*) FROM sc_checks WHERE run_id = ? AND verdict != ?",
                               (run_id, PENDING)) or 0}
    finished = {r["solution_id"] for r in ws.query("SELECT solution_id FROM sc_scores WHERE run_id = ?",
                                                   (run_id,))}

    def tick() -> None:
        done["steps"] += 1
        progress(Progress("self-check", done["steps"], total_steps,
                          message=f"solution {n_done + 1}/{len(sids)}"))

    if run["status"] != "running":
        set_run_status(ws, run_id, "running")
    n_done = len(finished)
    progress(Progress("self-check", done["steps"], total_steps, message="starting"))
    with run_outcome(ws, run_id, lambda: run_stats(ws, run_id)):
        for sid in sids:
            if sid in finished:
                continue
            check_solution(ws, backend, sid, run_id=run_id, config=config, prompts=prompts,
                           cancel=cancel, on_step=tick)
            n_done += 1
            progress(Progress("self-check", done["steps"], total_steps,
                              message=f"solution {n_done}/{len(sids)}", data={"solution_id": sid}))
    stats = run_stats(ws, run_id)
    set_run_status(ws, run_id, "finished", stats=stats)
    return stats


def run_stats(ws: Workspace, run_id: int) -> dict[str, Any]:
    verdicts = {r["verdict"]: r["n"] for r in ws.query(
        "SELECT verdict, count(*) AS n FROM sc_checks WHERE run_id = ? GROUP BY verdict", (run_id,))}
    solutions = ws.scalar("SELECT count(*) FROM sc_scores WHERE run_id = ?", (run_id,)) or 0
    mean_w = ws.scalar("SELECT avg(confidence) FROM sc_scores WHERE run_id = ?", (run_id,))
    followups = ws.scalar("SELECT count(*) FROM sc_checks WHERE run_id = ? AND followup_call_id IS NOT NULL",
                          (run_id,)) or 0
    return {"run_id": run_id, "solutions_checked": solutions,
            "steps": {v: verdicts.get(v, 0) for v in (SUPPORT, CONTRADICT, UNRELATED, ERROR, PENDING)},
            "followups": followups, "mean_confidence": mean_w}
