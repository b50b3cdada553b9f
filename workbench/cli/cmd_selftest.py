"""`workbench --self-test` (also `workbench self-test`): a headless check that the installed app
works end to end — a workspace, the default model, one completion, one ROUGE-L score.
Used by the desktop bundle's `make package-test`.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

from .. import __version__
from ..core.errors import WorkbenchError
from .common import command


def register(sub: argparse._SubParsersAction) -> None:
    command(sub, "self-test", "check that the app, llama.cpp and the default model work", run)


def versions() -> dict[str, str]:
    import sqlite3

    import llama_cpp
    import rapidfuzz

    out = {
        "workbench": __version__,
        "python": platform.python_version(),
        "llama_cpp_python": llama_cpp.__version__,
        "sqlite": sqlite3.sqlite_version,
        "rapidfuzz": rapidfuzz.__version__,
    }
    try:
        import PySide6

        out["pyside6"] = PySide6.__version__
    except ImportError:  # the self-test is headless; Qt is optional for it
        out["pyside6"] = "not installed"
    return out


def run(args: argparse.Namespace) -> dict:
    from ..core.llm.base import GenParams
    from ..core.llm.factory import default_model_path, open_backend
    from ..core.seeds import init_workspace
    from ..core.similarity import score
    from ..core.store.tasks import count_tasks

    with tempfile.TemporaryDirectory(prefix="workbench-selftest-") as tmp:
        with init_workspace(Path(tmp) / "selftest.sqlite") as ws:
            tasks = count_tasks(ws)
            integrity = ws.integrity_check()
        backend = open_backend("default")
        try:
            result = backend.complete(
                "The capital of France is", GenParams(max_tokens=8, temperature=0, seed=1)
            )
        finally:
            backend.close()
        rouge = score("Give three tips for staying healthy.", "Give three tips for a healthy life.")
    if integrity != "ok" or tasks == 0 or result.completion_tokens == 0 or not 0 < rouge < 1:
        raise WorkbenchError(
            f"self-test failed: tasks={tasks} integrity={integrity} "
            f"tokens={result.completion_tokens} rouge={rouge}"
        )
    info = versions()
    where = {
        # a desktop bundle must use its own copies, never a library or model found elsewhere
        "bundle": getattr(sys, "_MEIPASS", None) or "no (running from a Python environment)",
        "model": str(default_model_path()),
        "llama_library": llama_library(),
    }
    info.update(where)
    # The window's X11 plugin and its system libraries (the self-test itself is headless, so a
    # missing library is reported, not failed: the CLI works without it).
    from ..gui.qt_check import check as qt_check

    qt = qt_check({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"})
    where["qt_xcb"] = (
        "ok" if qt.ok else ("missing " + ", ".join(qt.missing) if qt.missing else qt.note)
    )
    info["qt_xcb"] = where["qt_xcb"]
    info.update({"status": "OK", "completion": result.text, "seed_tasks": tasks, "rouge_l": rouge})
    info["_human"] = "OK\n" + "\n".join(f"{k}: {v}" for k, v in {**versions(), **where}.items())
    return info


def llama_library() -> str:
    """The llama.cpp shared library that llama-cpp-python loaded (its path)."""
    from llama_cpp import llama_cpp

    return str(getattr(llama_cpp._lib, "_name", "unknown"))
