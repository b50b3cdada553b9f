"""Where the app's own files are: `resources/` (prompt templates, icons, style) and `seeds/`.

In a source checkout (editable install) they sit at the repository root; in the desktop bundle
PyInstaller unpacks them beside the executable (`sys._MEIPASS`). `WORKBENCH_DATA_DIR` overrides.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_root() -> Path:
    env = os.environ.get("WORKBENCH_DATA_DIR")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parents[2]


def resources_dir() -> Path:
    return data_root() / "resources"


def prompts_dir() -> Path:
    return resources_dir() / "prompts"


def seeds_dir() -> Path:
    return data_root() / "seeds"
