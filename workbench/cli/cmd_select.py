"""`workbench select (--budget N | --fraction F) [--method M] [--task T] [--embed E]
[--out PATH]`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.errors import UserInputError
from .common import ProgressPrinter, cancel_on_sigint, command, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "select", "choose a small task-specific subset that covers the pool", run)
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--budget", type=int, metavar="N", help="number of tasks to choose")
    size.add_argument(
        "--fraction",
        type=float,
        metavar="F",
        help="fraction of all tasks in the workspace (0 < F <= 1)",
    )
    p.add_argument(
        "--method",
        choices=("kcenter", "kmeans-kcenter", "random"),
        default="kcenter",
        help="farthest-first (kcenter), k-means then farthest-first, or uniformly at "
        "random (default %(default)s)",
    )
    p.add_argument(
        "--task",
        metavar="T",
        default=None,
        help="restrict to one task: a tag, or a description to pick the most similar tasks",
    )
    p.add_argument(
        "--embed",
        choices=("tfidf", "model"),
        default="tfidf",
        help="tfidf (lexical, no model) or model (GGUF embeddings, cached per model; "
        "default %(default)s)",
    )
    p.add_argument(
        "--model",
        "-m",
        default="default",
        help="GGUF model for --embed model: 'default' or a file path",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed of the choice (default %(default)s)"
    )
    p.add_argument(
        "--name", default=None, help="name of the stored selection (replaced if it exists)"
    )
    p.add_argument("--out", type=Path, default=None, help="also export the subset to this file")
    p.add_argument("--format", default="alpaca", help="export format with --out (default alpaca)")
    p.add_argument(
        "--one-instruction",
        nargs="?",
        const="",
        default=None,
        metavar="TEXT",
        help="on export, give every record one instruction wording (TEXT, or the "
        "subset's most common one)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ..core.selection import select as sel

    if args.one_instruction is not None and args.out is None:
        raise UserInputError(
            "--one-instruction applies to the export; give --out too", field="one-instruction"
        )
    with open_workspace(args) as ws, cancel_on_sigint() as cancel:
        result = sel.select(
            ws,
            budget=args.budget,
            fraction=args.fraction,
            method=args.method,
            task=args.task,
            embed=args.embed,
            model=args.model,
            seed=args.seed,
            name=args.name,
            progress=ProgressPrinter(),
            cancel=cancel,
        )
        out = result.to_dict()
        if args.out is not None:
            out["export"] = sel.export_selection(
                ws, result.ids, args.out, fmt=args.format, one_instruction=args.one_instruction
            )
    out["_human"] = (
        f"selection '{result.name}': {len(result.ids)} of {result.pool} tasks ({result.method}); "
        f"distance to the nearest chosen: mean {result.mean_distance:.3f}, max "
        f"{result.max_distance:.3f} (random: mean {result.random_mean_distance:.3f}, max "
        f"{result.random_max_distance:.3f})"
        + (f"; exported to {out['export']['path']}" if "export" in out else "")
    )
    return out
