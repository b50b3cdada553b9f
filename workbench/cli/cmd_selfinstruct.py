"""`workbench self-instruct [--model M | --server URL] --target N [--preset P] [--seed S]
[--threshold T] [--resume]`; every default is the core's (`selfinstruct.config.RunConfig`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .cmd_import import add_tokenizer_arg, warn_unseen
from .common import (
    ProgressPrinter,
    add_model_args,
    cancel_on_sigint,
    command,
    open_model,
    open_workspace,
    positive_int,
)

# Shown after the bar: what the run has produced and how fast (DESIGN.md's CLI contract).
FIELDS = [
    ("candidates", "{:,} candidates"),
    # The share of the candidates the filters decided (pending ones are not counted yet), as
    # the window's "accepted of examined" figure: "40 examined  50% of examined accepted".
    ("examined", "{:,} examined"),
    ("acceptance_rate", "{:.0%} of examined accepted"),
    ("tokens_per_s", "{:.1f} tok/s"),
    ("in_flight", "{} in flight"),
    ("withdrawn", "{} withdrawn"),  # sent ahead, answered, not used (counted, not recorded)
    ("endpoints", "[{}]"),  # per endpoint, with several (or one that failed or retried)
]


# The --json result: these figures of the run's summary, and "withdrawn" and "endpoints" on a
# server.
JSON_KEYS = (
    "run_id",
    "accepted",
    "candidates",
    "rejected_by_reason",
    "calls",
    "seconds",
    "round_size",
)


def register(sub: argparse._SubParsersAction) -> None:
    # Every default comes from the core's RunConfig (the window reads the same ones).
    from ..core.selfinstruct.config import DEFAULTS as D
    from ..core.selfinstruct.config import REFERENCE_ROUND_SIZE, SERVER_ROUND_SIZE
    from ..core.selfinstruct.presets import PRESETS

    p = command(sub, "self-instruct", "grow the task pool with SELF-INSTRUCT", run)
    p.add_argument(
        "--target",
        type=int,
        default=D.target,
        metavar="N",
        help=f"accepted tasks to reach (default {D.target})",
    )
    p.add_argument(
        "--preset", choices=sorted(PRESETS), default=D.preset, help=f"default {D.preset}"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=D.seed,
        metavar="S",
        help=f"same seed, same run (default {D.seed})",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the latest unfinished run (or start one when there is none)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=D.threshold,
        metavar="T",
        help="ROUGE-L threshold, 0 to 1: a candidate scoring above it against the "
        f"pool is dropped; lower drops more (default {D.threshold})",
    )
    p.add_argument(
        "--templates",
        type=Path,
        default=None,
        metavar="DIR",
        help="prompt templates to use instead of the bundled ones",
    )
    p.add_argument(
        "--compat",
        choices=("reference",),
        default=None,
        help="reproduce the reference implementation, defects included",
    )
    p.add_argument(
        "--max-tokens",
        type=positive_int,
        default=D.gen_max_tokens,
        metavar="N",
        help="step-1 token limit (default: the preset's)",
    )
    p.add_argument(
        "--instances-max-tokens",
        type=positive_int,
        default=D.instances_max_tokens,
        metavar="N",
        help=f"step-3 token limit (default {D.instances_max_tokens})",
    )
    p.add_argument(
        "--max-gen-calls",
        type=int,
        default=D.max_gen_calls,
        metavar="N",
        help="stop after this many step-1 calls (default 20 + 10 x target)",
    )
    p.add_argument(
        "--round-size",
        type=positive_int,
        default=D.round_size,
        metavar="R",
        help="step-1 calls built from one pool snapshot and sent together, then decided in "
        "order (the reference's request_batch_size; default: "
        f"{SERVER_ROUND_SIZE} with --server, 1 in-process, {REFERENCE_ROUND_SIZE} with "
        "--compat reference; kept on --resume)",
    )
    add_tokenizer_arg(p)
    add_model_args(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ..core.selfinstruct.run import RUN_KIND, RunConfig, check_templates, run_self_instruct
    from ..core.store.runs import latest_unfinished_run

    config = RunConfig(
        preset=args.preset,
        target=args.target,
        seed=args.seed,
        threshold=args.threshold,
        templates_dir=str(args.templates) if args.templates else None,
        compat=args.compat,
        gen_max_tokens=args.max_tokens,
        instances_max_tokens=args.instances_max_tokens,
        max_gen_calls=args.max_gen_calls,
        round_size=args.round_size,
    )
    config.validate()  # bad options fail before a model is loaded
    with open_workspace(args, create=True) as ws:
        if args.tokenizer:
            from ..core.similarity import set_workspace_tokenizer

            set_workspace_tokenizer(ws, args.tokenizer)
        unseen: dict[str, Any] = {}
        warn_unseen(ws, unseen)  # before the model loads: a pool ROUGE-L cannot see
        resume_id = None
        if args.resume:
            row = latest_unfinished_run(ws, RUN_KIND)
            resume_id = row["id"] if row else None
            if row is None:
                # --resume continues an unfinished run; with none, say so before a new one
                # starts (a finished run is not extended: a new run adds --target tasks)
                print(
                    "note: no unfinished self-instruct run to resume; starting a new run of "
                    f"{config.target} tasks",
                    file=sys.stderr,
                )
        check_templates(ws, config, resume_id)  # a broken template: exit 2, no model loaded
        backend = open_model(args)
        try:
            with cancel_on_sigint(resumable=True) as cancel:
                summary = run_self_instruct(
                    ws,
                    backend,
                    config,
                    resume_run_id=resume_id,
                    progress=ProgressPrinter(fields=FIELDS),
                    cancel=cancel,
                    concurrency=args.concurrency,
                )
        finally:
            backend.close()
    out = {k: v for k, v in summary.to_dict().items() if k in JSON_KEYS}
    if summary.endpoints is not None:  # a server: answers sent ahead and not used, per endpoint
        out["withdrawn"] = summary.withdrawn
        out["endpoints"] = summary.endpoints
    out.update(unseen)
    reasons = ", ".join(f"{k} {v}" for k, v in summary.rejected_by_reason.items()) or "none"
    out["_human"] = (
        f"run {summary.run_id}: {summary.accepted} tasks accepted of "
        f"{summary.candidates} candidates in {summary.seconds:.0f} s "
        f"({summary.calls} model calls"
        + (f", {summary.withdrawn} sent ahead and withdrawn" if summary.withdrawn else "")
        + f"); dropped: {reasons}"
    )
    return out
