"""The stepper shows the check run one chooses when a trace was checked more than once (other
settings, another model): verdicts, scores and confidence change with the choice; C cycles.
The two checks are scripted (a supportive and a contradicting verifier); the real-model stepper
is in test_gui_inspect.py."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from workbench.core.llm.scripted import ScriptedBackend  # noqa: E402
from workbench.core.selfcheck import checker, store  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.gui
QUESTION = "Tom has 3 apples and buys 2 more. How many apples does he have?"
SOLUTION = "Step 1: He buys 2 more, so 3 + 2 = 5.\nStep 2: So he has 5 apples now."


def verifier(verdict: str):
    def respond(prompt: str) -> str:
        if "Compare the key points" in prompt:
            return f"Therefore Solution 1 {verdict} Solution 2."
        if "directly follow from" in prompt:
            return "Information 0 and 1, steps 0."
        return "3 + 2 = 5."

    return ScriptedBackend(respond)


@pytest.fixture()
def window(qtbot, tmp_path):
    from workbench.gui.main_window import MainWindow

    ws = Workspace.open(tmp_path / "ws.sqlite", create=True)
    qid, _ = store.add_question(ws, QUESTION, source="manual", gold_answer="5")
    sid = store.add_solution(ws, qid, SOLUTION, origin="imported")
    runs = []
    for verdict in ("supports", "contradicts"):
        run = checker.start_check_run(
            ws, [sid], checker.CheckConfig(followup="never"), backend=verifier(verdict)
        )
        checker.check_run(ws, verifier(verdict), run)
        runs.append(run)
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    w.show_panel("Reasoning")
    w.reasoning.select_trace(sid)
    yield w, sid, runs
    w.shutdown()


def _verdicts(panel) -> list[str]:
    return [s["check"]["verdict"] for s in panel.trace["steps"]]


def test_choose_which_check_run_to_show(window, qtbot):
    w, sid, (first, second) = window
    panel = w.reasoning
    assert panel.check_run.count() == 2 and panel.check_run.isVisibleTo(panel)
    assert panel.check_run.currentData() == panel.trace["shown_check_run_id"]
    shown = panel.check_run.currentData()
    expect = {first: "support", second: "contradict"}
    assert _verdicts(panel) == [expect[shown]] * 2
    panel.steps.setCurrentRow(1)
    panel.steps.setFocus()
    qtbot.keyClick(panel.steps, Qt.Key.Key_C)  # the other run
    other = second if shown == first else first
    assert panel.check_run.currentData() == other
    assert _verdicts(panel) == [expect[other]] * 2
    assert panel.steps.currentRow() == 1  # still on the same step
    assert expect[other] in panel.steps.item(0).text()
    w_shown = store.load_trace(w.ws, sid, check_run_id=other)["score"]["confidence"]
    assert f"w = {w_shown:.3f}" in panel.header.text()
    assert expect[other] in panel.stage_views["compare"].toPlainText()
    # Choosing from the list does the same.
    panel.check_run.setCurrentIndex(panel.check_run.findData(shown))
    panel.check_run.activated.emit(panel.check_run.currentIndex())
    assert _verdicts(panel) == [expect[shown]] * 2


def test_a_trace_checked_once_shows_no_chooser(qtbot, tmp_path):
    from workbench.gui.main_window import MainWindow

    ws = Workspace.open(tmp_path / "ws.sqlite", create=True)
    qid, _ = store.add_question(ws, QUESTION, source="manual", gold_answer="5")
    sid = store.add_solution(ws, qid, SOLUTION, origin="imported")
    run = checker.start_check_run(ws, [sid], checker.CheckConfig(followup="never"))
    checker.check_run(ws, verifier("supports"), run)
    w = MainWindow(ws)
    qtbot.addWidget(w)
    try:
        w.show_panel("Reasoning")
        assert w.reasoning.select_trace(sid)
        assert w.reasoning.check_run.count() == 1
        assert not w.reasoning.check_run.isVisibleTo(w.reasoning)
    finally:
        w.shutdown()
