"""`workbench gui [--workspace W]` (and bare `workbench`): the desktop window."""

from __future__ import annotations

import argparse

from .common import command, workspace_path


def register(sub: argparse._SubParsersAction) -> None:
    command(sub, "gui", "open the desktop window", run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..gui.qt_check import check

    # Before Qt starts: a platform plugin that cannot load makes Qt abort the process with a
    # generic message and a core dump; say which system libraries are missing instead.
    verdict = check()
    if not verdict.ok:
        print(verdict.message(), file=sys.stderr)
        return 2
    from ..gui.app import run_app  # Qt is imported only when the window is wanted

    return run_app(workspace_path(args))
