"""`workbench self-check (--traces FILE | --run ID | --questions FILE --samples N) [--model M]`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..core.errors import UserInputError
from .common import (
    ProgressPrinter,
    add_model_args,
    cancel_on_sigint,
    command,
    open_model,
    open_workspace,
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
        help="temperature of the four stage calls (reference: 1.0)",
    )
    g.add_argument("--lambda-contradict", type=float, default=1.0)
    g.add_argument("--lambda-unrelated", type=float, default=0.3)
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
        "--resume", action="store_true", help="continue the last unfinished run of this kind"
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
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "self-check", "check reasoning traces step by step (SELF-CHECK)", run)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--traces",
        type=Path,
        metavar="FILE",
        help="ProcessBench JSON, MR-GSM8K JSON, or selfcheck-traces JSONL to import and check",
    )
    src.add_argument(
        "--run", type=int, metavar="ID", help="check the solutions a sampling or import run made"
    )
    src.add_argument(
        "--questions",
        type=Path,
        metavar="FILE",
        help="GSM8K JSONL: sample --samples solutions per question, then check them",
    )
    p.add_argument("--format", default=None, help="format of --traces (default: detected)")
    p.add_argument(
        "--samples", type=int, default=10, help="solutions per question with --questions"
    )
    p.add_argument(
        "--temperature", type=float, default=1.0, help="sampling temperature with --questions"
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N records of the file")
    add_model_args(p)
    add_check_args(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ..core.selfcheck import checker, importers, sampler, store

    if args.limit is not None and args.limit < 1:
        raise UserInputError("--limit must be at least 1", field="limit")
    check_concurrency(args)
    config = check_config(args)
    progress = ProgressPrinter(fields=PROGRESS_FIELDS)
    out: dict[str, Any] = {}
    with open_workspace(args, create=True) as ws, cancel_on_sigint(resumable=True) as cancel:
        if args.traces is not None:
            imp = importers.import_traces(ws, args.traces, args.format, limit=args.limit)
            sids = imp["solution_ids"]
            out["imported"] = {
                k: imp[k] for k in ("format", "run_id", "questions", "solutions", "skipped")
            }
            backend = open_model(args)
        elif args.questions is not None:
            imp = importers.import_traces(ws, args.questions, "gsm8k", limit=args.limit)
            backend = open_model(args)
            srun = None
            if args.resume:
                row = ws.query(
                    "SELECT id FROM runs WHERE kind = ? AND status != 'finished' "
                    "ORDER BY id DESC LIMIT 1",
                    (sampler.RUN_KIND,),
                )
                srun = row[0]["id"] if row else None
            if srun is None:
                srun = sampler.start_sample_run(
                    ws,
                    imp["question_ids"],
                    args.samples,
                    temperature=args.temperature,
                    backend=backend,
                    api=args.api,
                )
            out["sampling"] = sampler.sample_run(
                ws, backend, srun, progress=progress, cancel=cancel, concurrency=args.concurrency
            )
            sids = store.solution_ids(ws, run_id=srun)
        else:
            if ws.scalar("SELECT 1 FROM runs WHERE id = ?", (args.run,)) is None:
                raise UserInputError(f"no run {args.run} in this workspace", field="run")
            sids = store.solution_ids(ws, run_id=args.run)
            if not sids:
                raise UserInputError(f"run {args.run} has no self-check solutions", field="run")
            backend = open_model(args)
        try:
            crun = None
            if args.resume:
                for r in ws.query(
                    "SELECT id, config FROM runs WHERE kind = ? "
                    "AND status != 'finished' ORDER BY id DESC",
                    (checker.RUN_KIND,),
                ):
                    if json.loads(r["config"]).get("solutions") == sids:
                        crun = r["id"]
                        break
            if crun is None:
                crun = checker.start_check_run(ws, sids, config, backend=backend)
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
    steps = out["steps"]
    out["_human"] = (
        f"checked {out['solutions_checked']} solutions in run {out['run_id']}: "
        f"{steps['support']} supported, {steps['contradict']} contradicted, "
        f"{steps['unrelated']} unrelated, {steps['error']} errors; "
        f"mean confidence {out['mean_confidence'] or 0:.3f}"
    )
    return out
