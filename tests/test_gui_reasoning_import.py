"""Reasoning › Import traces: a real ProcessBench file read in a worker by the function
`workbench self-check --traces` uses; a bad record's file, index and field in the panel and the
banner; File › Import of a reasoning file says what it is and offers the Reasoning import (and
the CLI names `workbench self-check --traces FILE`); the trace list keeps a readable question
column at the window's small sizes."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from workbench.core.selfcheck.importers import import_traces  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture()
def window(empty_window):
    return empty_window


@pytest.fixture()
def processbench(shared_data):
    return shared_data / "reasoning" / "processbench_gsm8k_public200.json"


def _all_rows(model) -> int:
    while model.canFetchMore():
        model.fetchMore()
    return model.rowCount()


def _wait_import(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: panel.import_job is None, timeout=60_000)


def test_import_processbench_through_the_panel(window, qtbot, processbench, tmp_path):
    panel = window.reasoning
    window.show_panel("Reasoning")
    assert panel.body.currentWidget() is panel.empty_page
    assert panel.empty_import_btn.isVisibleTo(panel) and panel.import_btn.isVisibleTo(panel)
    with qtbot.waitSignal(panel.traces_imported, timeout=60_000) as sig:
        assert panel.import_traces(processbench)
    _wait_import(qtbot, panel)
    # What the CLI's `self-check --traces` import stores from the same file.
    with Workspace.open(tmp_path / "cli.sqlite", create=True) as ws:
        cli = import_traces(ws, processbench)
        cli_rows = ws.scalar("SELECT count(*) FROM sc_solutions")
    assert sig.args[0]["solutions"] == cli["solutions"] == cli_rows == 200
    assert window.ws.scalar("SELECT count(*) FROM sc_solutions") == cli_rows
    assert panel.body.currentWidget() is panel.split
    assert _all_rows(panel.model) == cli_rows
    assert "200 traces" in panel.check_status.text() and "processbench" in panel.check_status.text()
    # A second import adds nothing.
    with qtbot.waitSignal(panel.traces_imported, timeout=60_000) as sig:
        assert panel.import_traces(processbench)
    _wait_import(qtbot, panel)
    assert sig.args[0]["solutions"] == 0 and sig.args[0]["skipped"] == 200
    assert window.ws.scalar("SELECT count(*) FROM sc_solutions") == cli_rows


def test_a_bad_record_names_file_index_and_field(window, qtbot, processbench, tmp_path):
    records = json.loads(processbench.read_text(encoding="utf-8"))[:5]
    records[3]["label"] = "first"  # not an int
    bad = tmp_path / "bad_processbench.json"
    bad.write_text(json.dumps(records), encoding="utf-8")
    panel = window.reasoning
    with qtbot.waitSignal(panel.error, timeout=60_000) as sig:
        assert panel.import_traces(bad)
    _wait_import(qtbot, panel)
    message = sig.args[0]
    assert str(bad) in message and "[3].label" in message, message
    assert window.last_error == message and window.error_banner.isVisibleTo(window)
    assert "bad_processbench.json was not imported" in panel.check_status.text()
    assert window.ws.scalar("SELECT count(*) FROM sc_solutions") == 0  # nothing half-imported
    assert panel.import_btn.isEnabled()


def test_file_import_of_a_reasoning_file_offers_the_reasoning_import(window, qtbot, processbench):
    thread = window.import_path(processbench)
    assert thread is not None
    qtbot.waitUntil(lambda: window.skip_invalid_button.isVisibleTo(window), timeout=60_000)
    assert "reasoning traces (processbench layout)" in window.last_error
    assert "Reasoning › Import traces" in window.last_error
    assert window.skip_invalid_button.text() == "Import as reasoning traces"
    assert window.ws.scalar("SELECT count(*) FROM tasks") == 0
    with qtbot.waitSignal(window.reasoning.traces_imported, timeout=60_000):
        window.skip_invalid_button.click()
    assert window.stack.currentWidget() is window.reasoning
    assert window.ws.scalar("SELECT count(*) FROM sc_solutions") == 200


def test_file_import_of_gsm8k_questions_points_to_cot(window, qtbot, shared_data):
    gsm8k = shared_data / "reasoning" / "gsm8k_test_first200.jsonl"
    window.import_path(gsm8k)
    qtbot.waitUntil(lambda: window.skip_invalid_button.isVisibleTo(window), timeout=60_000)
    assert "GSM8K layout" in window.last_error and "CoT panel" in window.last_error
    window.skip_invalid_button.click()
    assert window.stack.currentWidget() is window.cot
    assert window.cot.path.text() == str(gsm8k)


def test_cli_import_names_self_check_traces(shared_data, tmp_path, capsys):
    from workbench.cli import main

    path = shared_data / "reasoning" / "mr_gsm8k_incorrect_slice150.json"
    code = main(["import", "--workspace", str(tmp_path / "w.sqlite"), str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "reasoning traces (mr-gsm8k layout)" in err
    assert f"workbench self-check --traces {path}" in err


@pytest.mark.parametrize("size", [(1024, 600), (900, 560), (1280, 800)])
def test_trace_list_question_column_is_the_widest(window, qtbot, processbench, size):
    panel = window.reasoning
    window.show_panel("Reasoning")
    with qtbot.waitSignal(panel.traces_imported, timeout=60_000):
        panel.import_traces(processbench)
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0], timeout=5_000)
    qtbot.wait(50)  # the splitter and header settle on the next layout pass
    h = panel.table.horizontalHeader()
    widths = [h.sectionSize(c) for c in range(h.count())]
    question = widths[1]
    assert question > max(w for c, w in enumerate(widths) if c != 1), widths
    assert question >= 150, widths
    assert panel.table.viewport().width() >= sum(widths) - 2, (widths, panel.table.width())
    for c in (0, 2, 3, 5, 6):
        assert widths[c] >= 30, widths
