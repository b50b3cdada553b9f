"""Per-user GUI settings (window layout, recent workspaces, server key) through QSettings.

These belong to the person, not to the dataset: a workspace file may be shared with others, so
layout and the server's API key live here rather than in the workspace.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 8


def app_settings() -> QSettings:
    """The user's settings; under `$WORKBENCH_HOME` when set, so tests never touch the real ones."""
    home = os.environ.get("WORKBENCH_HOME")
    if home:
        return QSettings(str(Path(home) / "gui.ini"), QSettings.Format.IniFormat)
    return QSettings("instruction-workbench", "Instruction Workbench")


def recent_workspaces() -> list[str]:
    value = app_settings().value("recent", [])
    if isinstance(value, str):  # QSettings returns a bare string for a one-item list in INI
        value = [value]
    return [v for v in (value or []) if v]


def remember_workspace(path: Path) -> None:
    items = [str(path)] + [p for p in recent_workspaces() if p != str(path)]
    app_settings().setValue("recent", items[:MAX_RECENT])
