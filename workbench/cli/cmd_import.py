"""`workbench import PATH [--format F]`: a file or a reference-run folder into the workspace."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core.formats.importer import import_file
from .common import command, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "import", "import tasks from a file (format auto-detected)", run)
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument("--format", "-f", default=None, metavar="F")


def run(args: argparse.Namespace) -> dict:
    with open_workspace(args, create=True) as ws:
        result = import_file(ws, args.path, args.format).to_dict()
    result["_human"] = (
        f"imported {result['imported']} tasks ({result['classification']} classification), "
        f"skipped {result['skipped_duplicates']} duplicates"
    )
    return result
