"""`workbench import PATH [--format F] [--compat reference|fixed] [--dedup-rouge T]`: a file, a
dataset folder, or a reference Self-Instruct run folder into the workspace."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core.formats.importer import import_file
from ..core.formats.registry import import_formats
from .common import command, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "import", "import tasks from a file (format auto-detected)", run)
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument("--format", "-f", default=None, metavar="F",
                   help="one of: " + ", ".join(import_formats()) + " (default: detected)")
    p.add_argument("--compat", choices=("reference", "fixed"), default=None,
                   help="for a reference run folder: replay with the reference's behaviour "
                        "or with its known bugs fixed")
    p.add_argument("--dedup-rouge", type=float, default=None, metavar="T",
                   help="also skip tasks whose ROUGE-L against the workspace is above T")
    p.add_argument("--dry-run", action="store_true", help="count only; write nothing")


def run(args: argparse.Namespace) -> dict:
    with open_workspace(args, create=True) as ws:
        res = import_file(ws, args.path, args.format, compat=args.compat,
                          dedup_threshold=args.dedup_rouge, preview=args.dry_run)
    result = res.to_dict()
    if "imported" in result and "skipped_duplicates" in result:
        similar = result.get("skipped_similar") or 0
        result["_human"] = (
            f"{'would import' if args.dry_run else 'imported'} {result['imported']} tasks "
            f"({result.get('classification', 0)} classification), "
            f"skipped {result['skipped_duplicates']} duplicates"
            + (f" and {similar} similar (ROUGE-L)" if similar else "")
            + (f"; gave instances to {result['filled']} tasks that had none"
               if result.get("filled") else ""))
    return result
