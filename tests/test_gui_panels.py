"""Inspect, Reasoning, Models and the window's workspace handling, against real files."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QShortcut  # noqa: E402

from workbench.core.store.runs import create_run  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture()
def window(qtbot, tmp_path):
    from workbench.gui.main_window import MainWindow

    ws = Workspace.open(tmp_path / "ws.sqlite", create=True)
    run_id = create_run(ws, "self-instruct", {"target": 10})
    with ws.transaction():
        for i in range(300):
            kept = i % 3 == 0
            ws.insert(
                "candidates",
                {
                    "run_id": run_id,
                    "batch": i // 8,
                    "position": i % 8,
                    "instruction": f"Candidate {i}",
                    "decision": "kept" if kept else "dropped",
                    "reason": None if kept else "rouge",
                    "max_score": 0.3 if kept else 0.8,
                    "most_similar": {"Seed A": 0.8 if not kept else 0.3, "Seed B": 0.1},
                },
            )
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def test_inspect_lists_a_runs_candidates(window):
    panel = window.inspect
    assert panel.run.count() == 1
    assert panel.summary.text() == "300 candidates: 100 kept, 200 dropped"
    model = panel.model
    assert model.rowCount() == 256  # lazily: one page
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 300
    assert [model.data(model.index(1, c)) for c in (1, 2, 3, 4, 5)] == [
        "Candidate 1",
        "dropped",
        "rouge",
        "0.800",
        "dropped",
    ]
    assert model.data(model.index(1, 6)) == "0.80  Seed A"
    panel.decision.setCurrentIndex(panel.decision.findData("kept"))
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 100


def test_reasoning_lists_selfcheck_traces_and_shows_their_steps(window):
    from workbench.core.selfcheck import store

    panel = window.reasoning
    assert "No reasoning traces" in panel.empty.text()
    ws = window.ws
    qid, _ = store.add_question(
        ws, "Tom has 3 apples and buys 2 more. How many now?", source="manual", gold_answer="5"
    )
    sid = store.add_solution(
        ws,
        qid,
        "unused",
        origin="imported",
        steps=["Tom starts with 3 apples.", "3 + 2 = 5.", "The answer is 5."],
        answer="5",
    )
    store.set_step_label(ws, store.solution_steps(ws, sid)[1]["id"], 1)
    panel.reload()
    assert panel.summary.text() == "1 solutions, 0 checked by SELF-CHECK · 1 of 3 steps labelled"
    m = panel.model
    assert m.rowCount() == 1
    assert [m.data(m.index(0, c)) for c in (2, 3, 4, 6)] == ["5", "5", "✓", "1/3"]
    # The stepper itself (steps, stages, keyboard labels) is tested in test_gui_inspect.py.


def test_models_panel_adds_a_file_and_chooses_it_for_runs(window, tmp_path):
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    panel = window.models
    panel.add_model(gguf)
    assert window.ws.get_setting("models") == [str(gguf.resolve())]
    panel.use_selected()
    assert window.ws.get_setting("gui.model") == str(gguf.resolve())
    assert window.sb_model.text() == "Model: tiny.gguf"
    assert window.generate.model.currentData() == str(gguf.resolve())
    panel.remove_selected()
    assert window.ws.get_setting("models") == []
    assert window.ws.get_setting("gui.model") == "default"
    panel.threads.setValue(3)
    assert window.ws.get_setting("llm")["n_threads"] == 3


def test_opening_a_bad_file_keeps_the_current_workspace(window, tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_text("not a database")
    old = window.ws.path
    assert not window.open_workspace(bad)
    assert window.error_banner.isVisible() and "not a workspace" in window.last_error
    assert window.ws.path == old and window.seeds.model.total == 0

    other = tmp_path / "second.sqlite"
    assert window.new_workspace(other, empty=True)
    assert window.ws.path == other
    assert window.windowTitle().endswith("second.sqlite")
    assert window.inspect.run.count() == 0
    from workbench.gui.settings import recent_workspaces

    assert recent_workspaces()[:2] == [str(other), str(old)]
    assert json.loads(json.dumps(recent_workspaces()))  # plain strings


def test_an_interrupted_run_is_offered_when_the_workspace_opens(window):
    from workbench.gui.main_window import PANELS

    # The fixture's run never finished (status "running"): the app was closed mid-run.
    assert window.generate.offers_resume()
    assert "run 1 was interrupted at" in window.generate.banner_text.text()
    assert window.nav.currentRow() == PANELS.index("Generate")


def test_help_lists_menu_and_panel_shortcuts(window):
    from workbench.gui.main_window import PANELS

    text = window.shortcuts_text()
    for i, name in enumerate(PANELS, 1):  # View menu: one per panel
        assert f"Ctrl+{i}" in text and name in text
    assert "Alt+K, Alt+D, Alt+U" in text and "Ctrl+Return" in text
    # Every panel shortcut listed is really bound on its panel.
    bound = {
        sc.key().toString()
        for panel in (window.inspect, window.subsets, window.reasoning)
        for sc in panel.findChildren(QShortcut)
    }
    assert {"Alt+K", "Alt+D", "Alt+U", "Alt+N", "Ctrl+Return", "J", "K", "F", "N", "P"} <= bound


def test_switching_while_the_inspector_scores_stops_that_job_first(window, tmp_path, qtbot):
    from workbench.gui.main_window import BACKGROUND_JOBS

    window.inspect.reload()  # scoring starts again in the background
    scoring = [j for j in window.jobs if j.objectName() in BACKGROUND_JOBS and j.busy]
    other = tmp_path / "third.sqlite"
    assert window.new_workspace(other, empty=True), window.last_error
    assert all(not j.isRunning() for j in scoring)  # stopped before its panel went away
    assert window.ws.path == other and not window.error_banner.isVisible()
