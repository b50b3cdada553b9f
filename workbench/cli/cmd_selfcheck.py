"""`workbench self-check (--traces FILE | --run ID | --questions FILE --samples N | --resume)
[--model M]`."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

from ..core.errors import Cancelled, UserInputError
from ..core.jobs import CancelToken
from .common import (
    ProgressPrinter,
    add_model_args,
    cancel_on_sigint,
    command,
    open_model,
    open_workspace,
    workspace_path,
)


def add_check_args(p: argparse.ArgumentParser) -> None:
    """Options of how steps are checked, shared by `self-check` and `eval`."""
    from ..core.selfcheck.checker import FOLLOWUP_MODES
    from ..core.selfcheck.confidence import ERROR_POLICIES

    g = p.add_argument_group("checking")
    g.add_argument(
        "--error-policy",
        choices=sorted(ERROR_POLICIES),
        default="unrelated",
        help="how a step whose check failed counts (the reference counts it as 'support')",
    )
    g.add_argument(
        "--followup",
        choices=FOLLOWUP_MODES,
        default="unclear",
        help="the short verdict follow-up call: never, when the reply is unclear "
        "(default), or always (the reference)",
    )
    g.add_argument(
        "--free-followup",
        action="store_true",
        help="let the follow-up answer freely (the reference) instead of "
        "constraining it to Support / Contradict / Not related with a grammar",
    )
    g.add_argument(
        "--check-temperature",
        type=float,
        default=0.0,
        help="temperature of the four stage calls (default %(default)s; reference: 1.0)",
    )
    g.add_argument(
        "--lambda-contradict",
        type=float,
        default=1.0,
        help="weight of a contradicted step in the confidence (default %(default)s)",
    )
    g.add_argument(
        "--lambda-unrelated",
        type=float,
        default=0.3,
        help="weight of an unrelated step in the confidence (default %(default)s)",
    )
    g.add_argument(
        "--api",
        choices=("chat", "complete"),
        default="chat",
        help="chat template (instruct models) or raw completion (base models)",
    )
    g.add_argument(
        "--prompts", type=Path, default=None, help="prompt templates (TOML) to use instead"
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue the last unfinished run of this kind (self-check: alone, the newest "
        "unfinished self-check job of the workspace, with its stored settings)",
    )
    g.add_argument(
        "--check-answer-lines",
        action="store_true",
        help="also check trailing lines that only restate the final answer ('#### 11000', "
        "'The answer is: 11000') as steps, as the reference does (default: stored, not checked, "
        "no r_i)",
    )


# What the progress line shows beside the bar when several requests are in flight.
PROGRESS_FIELDS = (("in_flight", "{} in flight"), ("endpoints", "[{}]"))


def check_concurrency(args: argparse.Namespace) -> None:
    """--concurrency K is at least 1 (exit code 2 otherwise)."""
    if getattr(args, "concurrency", None) is not None and args.concurrency < 1:
        raise UserInputError("--concurrency must be at least 1", field="concurrency")


def check_config(args: argparse.Namespace):
    from ..core.selfcheck.checker import CheckConfig

    return CheckConfig(
        error_policy=args.error_policy,
        followup=args.followup,
        temperature=args.check_temperature,
        lam_contradict=args.lambda_contradict,
        lam_unrelated=args.lambda_unrelated,
        api=args.api,
        prompts_path=str(args.prompts) if args.prompts else None,
        followup_grammar=not args.free_followup,
        check_answer_lines=args.check_answer_lines,
    )


# What --traces takes (`importers.FORMATS` less "gsm8k", which holds no solutions: --questions).
TRACE_FORMATS = ("processbench", "mr-gsm8k", "traces")


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "self-check", "check reasoning traces step by step (SELF-CHECK)", run)
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--traces",
        type=Path,
        metavar="FILE",
        help="solutions to import and check: ProcessBench JSON, MR-GSM8K JSON or "
        "selfcheck-traces JSONL (GSM8K JSONL holds no solutions: use --questions)",
    )
    src.add_argument(
        "--run", type=int, metavar="ID", help="check the solutions a sampling or import run made"
    )
    src.add_argument(
        "--questions",
        type=Path,
        metavar="FILE",
        help="GSM8K JSONL ({question, answer ending '#### N'}): sample --samples solutions "
        "per question, then check them",
    )
    p.add_argument(
        "--format",
        choices=TRACE_FORMATS,
        default=None,
        help="format of --traces (default: detected)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=10,
        help="solutions per question with --questions (default %(default)s)",
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="sampling temperature with --questions (default %(default)s)",
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N records of the file")
    add_model_args(p)
    p.add_argument(
        "--switch-model",
        action="store_true",
        help="with --resume: continue the run with the model given although it differs from "
        "the one stored with the run (its calls then come from two models)",
    )
    add_check_args(p)


def resume_command(args: argparse.Namespace) -> str:
    """The command that continues this job: `workbench self-check --resume -w W` and the model
    options given (an --api-key is left for the user to add)."""
    parts = ["workbench", "self-check", "--resume", "-w", str(workspace_path(args))]
    if args.server:
        for url in args.server:
            parts += ["--server", url]
        if args.server_model:
            parts += ["--server-model", args.server_model]
    elif args.model != "default":
        parts += ["--model", args.model]
    for opt in ("ctx", "gpu_layers", "threads", "concurrency"):
        if getattr(args, opt, None) is not None:
            parts += ["--" + opt.replace("_", "-"), str(getattr(args, opt))]
    return shlex.join(parts)


def model_extra(args: argparse.Namespace) -> dict[str, Any]:
    """What a run stores beside its `model` so a bare --resume reopens the same one:
    `{"server": [URL, ...], "server_api_key": bool}` for a server (whether a key was given,
    never the key), `{}` otherwise."""
    if not getattr(args, "server", None):
        return {}
    return {"server": list(args.server), "server_api_key": bool(args.api_key)}


def _model_given(args: argparse.Namespace) -> bool:
    return bool(args.server) or args.model != "default"


def _describe(model: dict[str, Any], urls: Any = None) -> str:
    if model.get("backend") == "openai":
        where = f" at {', '.join(urls)}" if urls else ""
        return f"server model {model.get('model')!r}{where}"
    if model.get("backend") == "llama.cpp":
        return f"GGUF {model.get('model')}"
    return f"{model.get('backend')} model {model.get('model')!r}"


def use_stored_model(args: argparse.Namespace, job: dict[str, Any]) -> None:
    """On a bare --resume with no model option, point `args` at the model stored with `job`
    (server URLs + model name, or GGUF path). UserInputError (exit 2) when the server's URL
    was not stored, or it took an API key (never stored) and no --api-key is given."""
    stored = job["config"].get("model") or {}
    urls = job["config"].get("server")
    if stored.get("backend") == "openai":
        if not _model_given(args):
            if not urls:
                raise UserInputError(
                    f"run {job['id']} was made with {_describe(stored)}, whose URL is not stored",
                    field="server",
                    hint=f"Resume with --server URL --server-model {stored.get('model')}.",
                )
            args.server, args.server_model = list(urls), stored.get("model")
        if args.server and job["config"].get("server_api_key") and not args.api_key:
            raise UserInputError(
                f"run {job['id']} used {_describe(stored, urls)} with an API key, which is "
                "never stored: pass --api-key K",
                field="api_key",
            )
    elif stored.get("backend") == "llama.cpp" and not _model_given(args):
        args.model = stored.get("model") or "default"


def refuse_other_model(args: argparse.Namespace, job: dict[str, Any], backend: Any) -> None:
    """UserInputError (exit 2) when `backend` is not the model stored with the resumed `job`
    (server model name, or GGUF sha256/path), unless --switch-model; closes `backend` then."""
    stored = job["config"].get("model")
    if not stored or getattr(args, "switch_model", False):
        return
    same = stored.get("backend") == backend.name
    if same and backend.name == "llama.cpp" and stored.get("sha256") and backend.model_sha256:
        same = stored["sha256"] == backend.model_sha256
    elif same:
        same = str(stored.get("model")) == str(backend.model_id)
    if same:
        return
    given = {"backend": backend.name, "model": backend.model_id}
    backend.close()
    raise UserInputError(
        f"run {job['id']} was made with {_describe(stored, job['config'].get('server'))}, "
        f"not {_describe(given, args.server)}: resuming would mix calls of two models",
        field="model",
        hint="Resume without model options to use the stored model, or add --switch-model "
        "to continue with the new one.",
    )


def _unfinished_job(ws: Any) -> dict[str, Any]:
    """The newest unfinished self-check job: a check run this command made (not an `eval` one),
    or a sampling run of `--questions` that stopped before its check began. UserInputError
    when there is none."""
    from ..core.selfcheck import checker, sampler
    from ..core.store.runs import get_run

    for r in ws.query(
        "SELECT id FROM runs WHERE kind IN (?, ?) AND status != 'finished' ORDER BY id DESC",
        (checker.RUN_KIND, sampler.RUN_KIND),
    ):
        job = get_run(ws, r["id"])
        assert job is not None
        if job["kind"] == checker.RUN_KIND and "eval" not in job["config"]:
            return job
        if job["kind"] == sampler.RUN_KIND and "check" in job["config"]:
            return job
    raise UserInputError(
        "no unfinished self-check run to resume in this workspace",
        field="resume",
        hint="Start one with --traces FILE, --run ID or --questions FILE --samples N.",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.traces is None and args.run is None and args.questions is None and not args.resume:
        raise UserInputError(
            "say what to check: --traces FILE, --run ID or --questions FILE --samples N "
            "(or --resume to continue the last unfinished self-check run)"
        )
    if args.limit is not None and args.limit < 1:
        raise UserInputError("--limit must be at least 1", field="limit")
    check_concurrency(args)
    token: list[CancelToken] = []
    try:
        out = _run(args, token)
    except Cancelled as exc:
        if token and token[0].cancelled:
            raise Cancelled(
                "stopped; the work done so far is saved; resume with: " + resume_command(args)
            ) from exc
        raise
    out["_human"] = human_summary(out)
    return out


def human_summary(stats: dict[str, Any]) -> str:
    """The one-line text summary of a check run's stats (`checker.run_stats`); an undefined
    mean confidence (no solution scored) reads "n/a", never 0.000."""
    steps = stats["steps"]
    mean = stats["mean_confidence"]
    return (
        f"checked {stats['solutions_checked']} solutions in run {stats['run_id']}: "
        f"{steps['support']} supported, {steps['contradict']} contradicted, "
        f"{steps['unrelated']} unrelated, {steps['error']} errors"
        + (f", {steps['answer']} answer lines not checked" if steps.get("answer") else "")
        + f"; mean confidence {'n/a' if mean is None else f'{mean:.3f}'}"
    )


def _run(args: argparse.Namespace, token: list[CancelToken]) -> dict[str, Any]:
    from ..core.selfcheck import checker, importers, sampler, store
    from ..core.store.runs import get_run

    config = check_config(args)
    progress = ProgressPrinter(fields=PROGRESS_FIELDS)
    out: dict[str, Any] = {}
    bare_resume = args.traces is None and args.run is None and args.questions is None
    with open_workspace(args, create=True) as ws, cancel_on_sigint(resumable=True) as cancel:
        token.append(cancel)
        crun = None
        if bare_resume:
            job = _unfinished_job(ws)
            use_stored_model(args, job)
            backend = open_model(args)
            refuse_other_model(args, job, backend)
            if job["kind"] == checker.RUN_KIND:
                crun = job["id"]
                sids = list(job["config"].get("solutions", []))
            else:  # --questions stopped while sampling: finish it, then check as it asked
                try:
                    out["sampling"] = sampler.sample_run(
                        ws,
                        backend,
                        job["id"],
                        progress=progress,
                        cancel=cancel,
                        concurrency=args.concurrency,
                    )
                except BaseException:
                    backend.close()
                    raise
                sids = store.solution_ids(ws, run_id=job["id"])
                config = checker.CheckConfig.from_dict(job["config"]["check"])
        elif args.traces is not None:
            imp = importers.import_traces(
                ws,
                args.traces,
                args.format,
                limit=args.limit,
                need_solutions=True,
                keep_empty_run=not args.resume,
            )
            sids = imp["solution_ids"]
            out["imported"] = {
                k: imp[k] for k in ("format", "run_id", "questions", "solutions", "skipped")
            }
            backend = open_model(args)
        elif args.questions is not None:
            imp = importers.import_traces(
                ws, args.questions, "gsm8k", limit=args.limit, keep_empty_run=not args.resume
            )
            backend = open_model(args)
            srun = None
            if args.resume:
                row = ws.query(
                    "SELECT id FROM runs WHERE kind = ? AND status != 'finished' "
                    "ORDER BY id DESC LIMIT 1",
                    (sampler.RUN_KIND,),
                )
                srun = row[0]["id"] if row else None
                if srun is not None:
                    job = get_run(ws, srun)
                    assert job is not None
                    refuse_other_model(args, job, backend)
            if srun is None:
                srun = sampler.start_sample_run(
                    ws,
                    imp["question_ids"],
                    args.samples,
                    temperature=args.temperature,
                    backend=backend,
                    api=args.api,
                    extra={"check": config.to_dict(), **model_extra(args)},
                )
            try:
                out["sampling"] = sampler.sample_run(
                    ws,
                    backend,
                    srun,
                    progress=progress,
                    cancel=cancel,
                    concurrency=args.concurrency,
                )
            except BaseException:
                backend.close()
                raise
            sids = store.solution_ids(ws, run_id=srun)
        else:
            if ws.scalar("SELECT 1 FROM runs WHERE id = ?", (args.run,)) is None:
                raise UserInputError(f"no run {args.run} in this workspace", field="run")
            sids = store.solution_ids(ws, run_id=args.run)
            if not sids:
                raise UserInputError(f"run {args.run} has no self-check solutions", field="run")
            backend = open_model(args)
        try:
            if crun is None and args.resume:
                for r in ws.query(
                    "SELECT id, config FROM runs WHERE kind = ? "
                    "AND status != 'finished' ORDER BY id DESC",
                    (checker.RUN_KIND,),
                ):
                    if json.loads(r["config"]).get("solutions") == sids:
                        crun = r["id"]
                        job = get_run(ws, crun)
                        assert job is not None
                        refuse_other_model(args, job, backend)
                        break
            if crun is None:
                crun = checker.start_check_run(
                    ws, sids, config, backend=backend, extra=model_extra(args)
                )
            out.update(
                checker.check_run(
                    ws,
                    backend,
                    crun,
                    progress=progress,
                    cancel=cancel,
                    concurrency=args.concurrency,
                )
            )
        finally:
            backend.close()
    return out
