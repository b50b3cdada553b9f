"""`workbench init W [--empty] [--lang en|zh]`: a new workspace, with a bundled seed set."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.seeds import SEED_SETS, init_workspace
from ..core.store.tasks import count_tasks
from .common import command


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "init", "create a new workspace (with a bundled seed set, see --lang)", run)
    p.add_argument("path", type=Path, metavar="W", help="the workspace file to create")
    p.add_argument("--empty", action="store_true", help="no seed tasks")
    p.add_argument(
        "--lang",
        choices=sorted(SEED_SETS),
        default="en",
        help="which bundled seed set to start from (default %(default)s)",
    )


def run(args: argparse.Namespace) -> dict:
    with init_workspace(args.path, empty=args.empty, lang=args.lang) as ws:
        n = count_tasks(ws)
        return {
            "workspace": str(ws.path.resolve()),
            "tasks": n,
            "schema": ws.version,
            "_human": f"created {ws.path} with {n} seed tasks",
        }
