"""`workbench eval self-check --data FILE [--limit N]` and
`workbench eval voting --data FILE --samples N`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.errors import UserInputError
from .cmd_selfcheck import PROGRESS_FIELDS, add_check_args, check_concurrency, check_config
from .common import (
    ProgressPrinter,
    add_model_args,
    cancel_on_sigint,
    command,
    open_model,
    open_workspace,
    positive_int,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a method against labelled data",
        description="evaluate a method against labelled data",
    )
    esub = p.add_subparsers(dest="eval_command", metavar="WHAT")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    sc = command(
        esub,
        "self-check",
        "SELF-CHECK on ProcessBench data: first-wrong-step accuracy and F1",
        run_selfcheck,
    )
    sc.add_argument("--data", type=Path, required=True, help="ProcessBench or MR-GSM8K JSON")
    sc.add_argument("--limit", type=int, default=None, help="only the first N items")
    sc.add_argument(
        "--balanced",
        action="store_true",
        help="with --limit: the first N/2 correct and N/2 erroneous items "
        "(ProcessBench files list erroneous items first)",
    )
    sc.add_argument(
        "--threshold",
        type=float,
        default=0.75,
        help="w at or above which a solution counts as predicted correct (balanced accuracy)",
    )
    add_model_args(sc)
    add_check_args(sc)

    vo = command(
        esub, "voting", "majority vs SELF-CHECK weighted voting on GSM8K questions", run_voting
    )
    vo.add_argument(
        "--data", type=Path, required=True, help="GSM8K JSONL (question, answer '#### N')"
    )
    vo.add_argument(
        "--samples", type=int, default=10, help="solutions per question (reference: 10)"
    )
    vo.add_argument("--limit", type=int, default=None, help="only the first N questions")
    vo.add_argument(
        "--temperature", type=float, default=1.0, help="sampling temperature (reference: 1.0)"
    )
    vo.add_argument(
        "--max-tokens", type=positive_int, default=384, help="tokens per sampled solution"
    )
    add_model_args(vo)
    add_check_args(vo)


def _check_limit(args: argparse.Namespace) -> None:
    check_concurrency(args)
    if args.limit is not None and args.limit < 1:
        raise UserInputError("--limit must be at least 1", field="limit")


def _fmt(x: Any) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def run_selfcheck(args: argparse.Namespace) -> dict[str, Any]:
    from ..core.selfcheck.evaluate import eval_selfcheck

    _check_limit(args)
    config = check_config(args)
    with open_workspace(args, create=True) as ws, cancel_on_sigint(resumable=True) as cancel:
        backend = open_model(args)
        try:
            out = eval_selfcheck(
                ws,
                backend,
                args.data,
                limit=args.limit,
                config=config,
                threshold=args.threshold,
                resume=args.resume,
                balanced=args.balanced,
                progress=ProgressPrinter(fields=PROGRESS_FIELDS),
                cancel=cancel,
                concurrency=args.concurrency,
            )
        finally:
            backend.close()
    out["data"] = str(args.data)
    out["_human"] = (
        f"n={out['n']}  acc_erroneous={_fmt(out['acc_erroneous'])}  "
        f"acc_correct={_fmt(out['acc_correct'])}  F1={_fmt(out['f1'])}  "
        f"balanced_acc(w>={args.threshold})={_fmt(out['balanced_accuracy'])}  "
        f"AUROC={_fmt(out['auroc'])}  (run {out['run_id']})"
    )
    return out


def run_voting(args: argparse.Namespace) -> dict[str, Any]:
    from ..core.selfcheck.evaluate import eval_voting

    _check_limit(args)
    if args.samples < 1:
        raise UserInputError("--samples must be at least 1", field="samples")
    config = check_config(args)
    with open_workspace(args, create=True) as ws, cancel_on_sigint(resumable=True) as cancel:
        backend = open_model(args)
        try:
            out = eval_voting(
                ws,
                backend,
                args.data,
                samples=args.samples,
                limit=args.limit,
                config=config,
                temperature=args.temperature,
                max_tokens=args.max_tokens,
                resume=args.resume,
                progress=ProgressPrinter(fields=PROGRESS_FIELDS),
                cancel=cancel,
                concurrency=args.concurrency,
            )
        finally:
            backend.close()
    out["data"] = str(args.data)
    out["_human"] = (
        f"n={out['n']} questions x {out['samples']} samples: "
        f"majority={_fmt(out['majority_accuracy'])}  "
        f"weighted={_fmt(out['weighted_accuracy'])}  "
        f"single={_fmt(out['single_sample_accuracy'])}"
    )
    return out
