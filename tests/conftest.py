"""Shared fixtures. Reference data lives in ../shared/data beside the repository (never copied
in)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The third-party reference data (`../shared/data`), or a skip that says why."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"reference data not found at {SHARED_DATA} (../shared is beside the repo in CI)"
        )
    return SHARED_DATA


@pytest.fixture()
def tmp_workspace(tmp_path: Path):
    """A fresh, empty workspace file; integrity is checked when the test ends."""
    from workbench.core.store.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws.sqlite")
    yield ws
    assert ws.integrity_check() == "ok"
    ws.close()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Never touch the real user's default workspace from a test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("WORKBENCH_HOME", str(home))


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    from workbench.core.llm.factory import default_model_path as find

    return find()


@pytest.fixture(scope="session")
def llama_backend():
    """The real default model through llama.cpp, loaded once for the whole session.

    Tests must not rely on its state: the prefix cache makes calls cheaper, never different.
    """
    from workbench.core.llm.factory import open_backend

    backend = open_backend("default")
    yield backend
    backend.close()


# Small step-1 and step-3 token limits keep a real run in seconds on two shared cores.
SMALL_RUN = {"gen_max_tokens": 120, "instances_max_tokens": 64}


@dataclass(frozen=True)
class ChatRun:
    """A finished SELF-INSTRUCT run in the workspace file `path`: its config, summary, and the
    progress events it sent, in order."""

    path: Path
    config: Any  # RunConfig
    summary: Any  # RunSummary
    events: list


@pytest.fixture(scope="session")
def chat_run(llama_backend, tmp_path_factory) -> ChatRun:
    """One real SELF-INSTRUCT run with the chat preset and the default model (small token
    limits, target 3, seed 1) on a workspace with the 175 bundled English seeds, made once for
    the tests that read it (each asserts its own things about the same kind of run). Read it
    only: a test that changes the workspace works on a copy of the file."""
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

    path = tmp_path_factory.mktemp("chat_run") / "ws.sqlite"
    ws = init_workspace(path)
    config = RunConfig(preset="chat", target=3, seed=1, **SMALL_RUN)
    events: list = []
    try:
        summary = run_self_instruct(ws, llama_backend, config, progress=events.append)
    finally:
        ws.close()
    return ChatRun(path, config, summary, events)


@pytest.fixture()
def seeded_window(qtbot, tmp_path):
    """The real main window, shown, on a new workspace with the 175 bundled English seeds."""
    from workbench.core.seeds import init_workspace
    from workbench.gui.main_window import MainWindow

    w = MainWindow(init_workspace(tmp_path / "ws.sqlite"))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


@pytest.fixture()
def empty_window(qtbot, tmp_path):
    """The real main window, shown, on a new empty workspace (`tmp_path / "ws.sqlite"`)."""
    from workbench.core.store.workspace import Workspace
    from workbench.gui.main_window import MainWindow

    w = MainWindow(Workspace.open(tmp_path / "ws.sqlite", create=True))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()
