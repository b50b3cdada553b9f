"""A long session must not abort: PySide6 6.12.0 drops a reference to None on every void call
and to True on every emit on Python 3.11 (pyproject pins below 6.12 for that reason)."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("pytestqt")

from workbench.core.jobs import Progress  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.gui


def test_none_and_true_survive_far_more_calls_than_they_had_references(qapp):
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    class Source(QObject):
        ping = Signal()

    label, src = QLabel(), Source()
    # More calls than None and True have references: with an affected PySide6 this test ends
    # the process (none_dealloc / bool_dealloc) on Python 3.11.
    for _ in range(100_000):
        label.setText("x")
        src.ping.emit()
    assert label.text() == "x"


def test_a_long_stream_of_run_events(qtbot, tmp_path):
    from workbench.gui.main_window import MainWindow
    from workbench.gui.workers import JobThread

    ws = Workspace.open(tmp_path / "ws.sqlite", create=True)
    w = MainWindow(ws)
    qtbot.addWidget(w)
    n = 3000

    def job(ctx):
        for i in range(1, n + 1):
            ctx.cancel.check()
            ctx.on_token("tok ")
            ctx.progress(
                Progress(
                    "self-instruct",
                    done=i,
                    total=n,
                    data={
                        "run_id": None,
                        "accepted": i,
                        "candidates": i,
                        "acceptance_rate": 1.0,
                        "tokens_per_s": 10.0,
                        "last": [{"instruction": f"c{i}", "decision": "kept", "reason": None}],
                    },
                )
            )
            if i % 100 == 0:
                time.sleep(0.001)

    assert w.generate.launch_job(JobThread("self-instruct", ws.path, job), n)
    qtbot.waitUntil(lambda: w.generate.state == "finished", timeout=60_000)
    assert w.generate.figures["accepted"].text() == f"{n} / {n}"
    assert w.generate.feed.rowCount() == 500  # the feed keeps the latest 500
    w.shutdown()
