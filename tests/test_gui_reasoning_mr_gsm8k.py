"""File › Import of the real MR-GSM8K file, then the banner's "Import as reasoning traces": the
status bar says what the import did (not "… was not imported"), the detail pane shows the gold
answer the file holds (never "None"), and the SELF-CHECK stage headers wrap, with the whole
title as a tooltip, instead of being clipped."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

pytestmark = pytest.mark.gui


def test_mr_gsm8k_through_the_banner(empty_window, qtbot, shared_data):
    window = empty_window
    path = shared_data / "reasoning" / "mr_gsm8k_incorrect_slice150.json"
    if not path.exists():
        pytest.skip(f"shared sample {path} is absent")
    window.import_path(path)
    qtbot.waitUntil(lambda: window.skip_invalid_button.isVisibleTo(window), timeout=60_000)
    assert window.skip_invalid_button.text() == "Import as reasoning traces"
    assert "was not imported" in window.statusBar().currentMessage()
    panel = window.reasoning
    with qtbot.waitSignal(panel.traces_imported, timeout=60_000) as sig:
        window.skip_invalid_button.click()
    assert sig.args[0]["solutions"] == 150
    status = window.statusBar().currentMessage()
    assert "was not imported" not in status
    assert "150 traces" in status and path.name in status, status
    # The first trace's detail: the file's gold answer (ground_truth_answer), never "None".
    first = window.ws.query(
        "SELECT s.id, q.gold_answer FROM sc_solutions s JOIN sc_questions q "
        "ON q.id = s.question_id ORDER BY s.id LIMIT 1"
    )[0]
    assert first["gold_answer"]
    assert panel.select_trace(first["id"])
    shown = panel.header.text() + panel.votes.toPlainText()
    assert "None" not in shown, shown
    assert f"gold: {first['gold_answer']}" in panel.votes.toPlainText()
    assert first["gold_answer"] in panel.header.text()
    # Stage headers: the whole title, wrapped where narrow, and in the tooltip.
    for key, title in (("target", "1 · Target extraction"), ("compare", "4 · Result comparison")):
        lab = panel.stage_labels[key]
        assert lab.wordWrap() and lab.toolTip() == title
        assert title in lab.text()


def test_votes_omit_a_missing_gold(empty_window, qtbot):
    """A question without a gold answer: the vote line leaves the gold part out."""
    from workbench.gui.reasoning_panel import gold_part

    assert gold_part(None) == ""
    assert gold_part("18") == "gold: <b>18</b>"
