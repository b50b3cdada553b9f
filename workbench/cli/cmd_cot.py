"""`workbench cot --data FILE --mode rationalize|sample --samples K [--limit N] [--model M]
[--compat reference]`."""

from __future__ import annotations

import argparse
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
    positive_int,
    workspace_path,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "cot", "chain-of-thought data: rationales judged against gold answers", run)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--data",
        type=Path,
        metavar="FILE",
        help="GSM8K JSONL, multiple-choice JSONL or {instruction, input, output} records",
    )
    src.add_argument(
        "--tasks",
        action="store_true",
        help="use the workspace's tasks whose instances have outputs",
    )
    src.add_argument("--resume", action="store_true", help="continue the last unfinished CoT run")
    p.add_argument(
        "--mode",
        choices=("rationalize", "sample"),
        default="sample",
        help="rationalize: explain the gold output; sample: solve; in both, a path is kept "
        "only when its own answer is the gold one and it was not cut off by --max-tokens",
    )
    p.add_argument("--samples", type=int, default=4, metavar="K", help="paths per item (default 4)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N items")
    p.add_argument(
        "--temperature", type=float, default=0.7, help="sampling temperature (default %(default)s)"
    )
    p.add_argument(
        "--max-tokens",
        type=positive_int,
        default=256,
        help="most tokens one reasoning path may have (default %(default)s)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed of the sampling (default %(default)s)"
    )
    p.add_argument(
        "--api",
        choices=("chat", "complete"),
        default="chat",
        help="chat template (instruct models) or raw completion (base models; default %(default)s)",
    )
    p.add_argument(
        "--min-confidence",
        type=float,
        default=None,
        metavar="W",
        help="also run SELF-CHECK on each correct path; keep those with confidence >= W",
    )
    p.add_argument(
        "--compat",
        choices=("reference",),
        default=None,
        help="reference: STaR's rule, a path is judged by its answer alone, so one cut off by "
        "--max-tokens is kept (as generated) when that answer is the gold one; default: such "
        "a path is dropped as 'truncated' (kept on --resume)",
    )
    p.add_argument(
        "--prompts", type=Path, default=None, help="prompt templates (TOML) to use instead"
    )
    add_model_args(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ..core.cot import job, sources
    from ..core.store.runs import get_run

    if args.limit is not None and args.limit < 1:
        raise UserInputError("must be at least 1", field="limit")
    if args.samples < 1:
        raise UserInputError("must be at least 1", field="samples")
    if args.concurrency is not None and args.concurrency < 1:
        raise UserInputError("must be at least 1", field="concurrency")
    if args.resume and not workspace_path(args).exists():  # refuse before creating the file
        raise UserInputError(
            f"--resume: no workspace at {workspace_path(args)}, so no CoT run to continue; "
            "start one without --resume"
        )
    with open_workspace(args, create=True) as ws, cancel_on_sigint(resumable=True) as cancel:
        run_id = None
        if args.resume:
            row = ws.query(
                "SELECT id FROM runs WHERE kind = ? AND status != 'finished' "
                "ORDER BY id DESC LIMIT 1",
                (job.RUN_KIND,),
            )
            if not row:
                raise UserInputError(
                    f"--resume: no unfinished CoT run in {workspace_path(args)}; "
                    "start one without --resume"
                )
            run_id = row[0]["id"]
        elif args.data is not None:
            items = sources.load_file(args.data, limit=args.limit)
        else:
            items = sources.from_workspace(ws)[: args.limit]
            if not items:
                raise UserInputError(
                    "no workspace task has an instance with an output", field="tasks"
                )
        config = job.CotConfig(
            mode=args.mode,
            samples=args.samples,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            seed=args.seed,
            api=args.api,
            min_confidence=args.min_confidence,
            compat=args.compat,
            prompts_path=str(args.prompts) if args.prompts else None,
        )
        backend = open_model(args)
        try:
            if run_id is None:
                run_id = job.start_cot_run(
                    ws,
                    items,
                    config,
                    backend=backend,
                    source=str(args.data) if args.data else "workspace",
                )
            stats = job.cot_run(
                ws,
                backend,
                run_id,
                progress=ProgressPrinter(
                    fields=(("in_flight", "{} in flight"), ("endpoints", "[{}]"))
                ),
                cancel=cancel,
                concurrency=args.concurrency,
            )
        finally:
            backend.close()
        per_item = job.item_stats(ws, run_id)
        run_cfg = job.CotConfig.from_dict(get_run(ws, run_id)["config"])  # a resumed run's own
    out = {**stats, "per_item": per_item}
    out["_human"] = f"CoT run {run_id} ({run_cfg.mode}): " + job.summary(stats, run_cfg.samples)
    return out
