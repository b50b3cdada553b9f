"""`workbench gui [--workspace W]` (and bare `workbench`): the desktop window."""
from __future__ import annotations

import argparse

from .common import command, workspace_path


def register(sub: argparse._SubParsersAction) -> None:
    command(sub, "gui", "open the desktop window", run)


def run(args: argparse.Namespace) -> int:
    from ..gui.app import run_app  # Qt is imported only when the window is wanted

    return run_app(workspace_path(args))
