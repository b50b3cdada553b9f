"""The command line: the same jobs as the GUI, with progress on stderr and `--json` results.

Each command lives in its own module `cmd_<name>.py` exposing `register(subparsers)`; the module
adds its parser(s) through `common.command(...)` and sets `func(args) -> dict`. Contract: see
DESIGN.md (exit codes 0 success, 1 job failure, 2 bad usage or input).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sqlite3
import sys
from pathlib import Path

from .. import __version__
from ..core.errors import WorkbenchError
from ..core.store.workspace import storage_error
from .common import JsonAwareParser, print_error, print_result, workspace_path


def build_parser() -> argparse.ArgumentParser:
    parser = JsonAwareParser(
        prog="workbench",
        description="Instruction Workbench: build instruction-tuning data offline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv or (
        argv[0].startswith("-")
        and argv[0] not in ("-h", "--help", "--version")
        and "--self-test" not in argv
    ):
        argv = ["gui", *argv]  # bare `workbench` opens the GUI
    if "--self-test" in argv:
        argv = ["self-test", *(a for a in argv if a != "--self-test")]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except WorkbenchError as exc:
        print_error(args, exc)
        return exc.exit_code
    except sqlite3.OperationalError as exc:
        # A write outside a transaction on a read-only or full place: a message, no traceback.
        where = workspace_path(args) if hasattr(args, "workspace") else Path("the workspace")
        mapped = storage_error(exc, where, after="the command stopped where it was")
        if mapped is None:
            raise
        print_error(args, mapped)
        return mapped.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if isinstance(result, int):
        return result
    print_result(args, result or {})
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
