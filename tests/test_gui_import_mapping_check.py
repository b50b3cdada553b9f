"""The import form's whole-file check runs in a worker (`workers.JobThread`): the form stays
usable and says it is checking, Import waits for the check of the mapping now chosen, a result
is never shown for a mapping already changed, and closing the form mid-check neither crashes
nor leaves a thread behind. Real files, the core's own reader, real widgets offscreen."""

from __future__ import annotations

import threading

import pytest
from formats_helpers import count_tasks as tasks

pytest.importorskip("pytestqt")


pytestmark = pytest.mark.gui

WAIT = 20_000  # ms: how long qtbot waits for a worker's signal before the test fails


@pytest.fixture()
def window(empty_window):
    return empty_window


class Gate:
    """Holds each whole-file check at its start until the test lets it through; the check then
    runs for real. `calls` are the options each check was given, `scratch` its workspace."""

    def __init__(self, real) -> None:
        self.real = real
        self.calls: list[dict[str, str]] = []
        self.scratch: list = []
        self.entered = threading.Semaphore(0)
        self.opens: list[threading.Event] = [threading.Event() for _ in range(8)]

    def __call__(self, path, fmt, options, scratch):
        n = len(self.calls)
        self.calls.append(dict(options))
        self.scratch.append(scratch)
        self.entered.release()
        self.opens[n].wait()
        return self.real(path, fmt, options, scratch)

    def release_all(self) -> None:
        for event in self.opens:
            event.set()


@pytest.fixture()
def gate(monkeypatch, window):  # after `window`: torn down (released) before it shuts down
    from workbench.gui import import_mapping

    g = Gate(import_mapping.whole_file_check)
    monkeypatch.setattr(import_mapping, "whole_file_check", g)
    yield g
    g.release_all()


def table(tmp_path, rows=40, name="late.csv", pad=""):
    """question,answer,note; row `rows + 1` has no question: bad when the question is the
    instruction (line rows + 2), good when the note is. `pad` lengthens every cell."""
    src = tmp_path / name
    body = [f"q{i}{pad},a{i}{pad},n{i}{pad}" for i in range(rows)]
    lines = ["question,answer,note", *body, ",a,n"]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


def check_jobs(window):
    return [j for j in window.jobs if j.objectName() == "import-check"]


def test_a_file_over_the_old_1_mb_limit_is_checked_whole_in_the_background(window, qtbot, tmp_path):
    """1.2 MB of good rows and one bad row at the end: before, only the first rows were read
    and Import was offered; now the whole file is read, off the UI thread, and refused."""
    from workbench.gui import import_mapping

    rows = 8_000  # of 150 bytes: a check takes about a second (time goes by rows)
    src = table(tmp_path, rows=rows, name="big.csv", pad=" " + "x" * 45)
    assert 1 << 20 < src.stat().st_size < import_mapping.FULL_CHECK_BYTES
    dialog = window.map_columns(src)
    # The constructor returned before the check ended: the form says it is checking.
    assert dialog.checking and dialog.busy.isVisibleTo(dialog)
    assert "Checking the whole of big.csv" in dialog.message.text()
    assert not dialog.import_btn.isEnabled() and not dialog.skip_btn.isVisibleTo(dialog)
    assert "instruction: q0" in dialog.sample.text()  # the first rows are shown meanwhile
    qtbot.waitUntil(lambda: not dialog.checking, timeout=WAIT)
    assert not dialog.busy.isVisibleTo(dialog)
    assert not dialog.import_btn.isEnabled()  # a file that fails at a later row: refused
    assert f"line {rows + 2}, field 'question'" in dialog.message.text()
    assert "reject 1" in dialog.skip_btn.text() and dialog.skip_btn.isVisibleTo(dialog)
    # The note column as instruction reads every row: Import offered once that is checked.
    dialog.combos["instruction"].setCurrentText("note")
    assert dialog.checking and not dialog.import_btn.isEnabled()
    qtbot.waitUntil(dialog.import_btn.isEnabled, timeout=WAIT)
    assert not dialog.skip_btn.isVisibleTo(dialog) and "cannot be imported" not in (
        dialog.message.text()
    )
    dialog.reject()


def test_a_mapping_changed_mid_check_never_shows_the_older_result(window, qtbot, tmp_path, gate):
    src = table(tmp_path)
    dialog = window.map_columns(src)
    assert dialog.mapping()["instruction"] == "question"  # bad at line 42
    assert gate.entered.acquire(timeout=WAIT / 1000)  # the first check is running
    dialog.combos["instruction"].setCurrentText("note")  # good everywhere
    assert dialog.checking and not dialog.import_btn.isEnabled()
    assert "Checking the whole of late.csv" in dialog.message.text()

    gate.opens[0].set()  # the first check (question) ends: bad, but no longer chosen
    qtbot.waitUntil(lambda: len(gate.calls) == 2, timeout=WAIT)  # then the second (note)
    assert gate.calls[0]["instruction"] == "question" and gate.calls[1]["instruction"] == "note"
    assert dialog.checking and not dialog.import_btn.isEnabled()
    assert "cannot be imported" not in dialog.message.text()  # the old result is not shown
    assert not dialog.skip_btn.isVisibleTo(dialog)

    # Back to the question: its result is kept, shown at once, no check started for it.
    dialog.combos["instruction"].setCurrentText("question")
    assert not dialog.checking and not dialog.import_btn.isEnabled()
    assert "line 42, field 'question'" in dialog.message.text()
    assert dialog.skip_btn.isVisibleTo(dialog)

    gate.opens[1].set()
    qtbot.waitUntil(lambda: dialog._check is None, timeout=WAIT)
    assert len(gate.calls) == 2
    assert not dialog.import_btn.isEnabled()  # still the question's result
    dialog.combos["instruction"].setCurrentText("note")
    assert dialog.import_btn.isEnabled() and not dialog.checking
    dialog.import_btn.click()
    qtbot.waitUntil(lambda: tasks(window.ws.path) == 41, timeout=WAIT)


def test_closing_the_form_mid_check_leaves_no_thread(window, qtbot, tmp_path, gate):
    from workbench.gui.import_mapping import ImportMappingDialog

    src = table(tmp_path)
    dialog = window.map_columns(src)
    assert gate.entered.acquire(timeout=WAIT / 1000)
    (job,) = check_jobs(window)
    assert job.busy
    dialog.reject()  # Cancel while the check runs: returns at once, the window holds the job
    qtbot.waitUntil(lambda: window.findChild(ImportMappingDialog) is None, timeout=WAIT)
    assert job.token.cancelled and job.busy
    gate.release_all()
    qtbot.waitUntil(lambda: not check_jobs(window), timeout=WAIT)
    assert not gate.scratch[0].parent.exists()  # its scratch workspace is removed
    assert len(gate.calls) == 1 and tasks(window.ws.path) == 0
    assert not window.error_banner.isVisible()


def test_a_form_without_a_window_closed_mid_check(qtbot, tmp_path, monkeypatch):
    from workbench.gui import import_mapping
    from workbench.gui.import_mapping import ImportMappingDialog

    g = Gate(import_mapping.whole_file_check)
    monkeypatch.setattr(import_mapping, "whole_file_check", g)
    try:
        dialog = ImportMappingDialog(table(tmp_path))
        dialog.show()
        assert g.entered.acquire(timeout=WAIT / 1000)
        (job,) = import_mapping._HELD
        dialog.close()
        dialog.deleteLater()  # the form goes; its running worker is held until it ends
        qtbot.wait(10)
        assert job.busy
    finally:
        g.release_all()
    qtbot.waitUntil(lambda: not import_mapping._HELD, timeout=WAIT)
