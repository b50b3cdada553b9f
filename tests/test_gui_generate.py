"""The Generate panel: a worker that owns the real default model; progress, pause, cancel,
the interrupted run offered for resume, and resume."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from workbench.core.jobs import Progress  # noqa: E402
from workbench.core.store.tasks import Instance, Task, add_task  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.model]


def run_row(path: Path, run_id: int) -> tuple:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT status, stats FROM runs WHERE id = ?", (run_id,)).fetchone()
    finally:
        conn.close()


@pytest.fixture()
def window(qtbot, tmp_path):
    from workbench.gui.main_window import MainWindow

    ws = Workspace.open(tmp_path / "ws.sqlite", create=True)
    for i, text in enumerate(
        [
            "Write a haiku about autumn.",
            "Summarize the paragraph.",
            "Classify the sentiment of the review.",
            "Give three synonyms.",
            "Translate the sentence into Spanish.",
            "Write a short poem.",
        ]
    ):
        add_task(ws, Task(text, [Instance("", f"example {i}")], i == 2, source="seed"))
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


# ------------------------------------------------------------- the real SELF-INSTRUCT run
def test_self_instruct_run_progress_cancel_resume(window, qtbot, monkeypatch):
    from dataclasses import fields

    from workbench.core.llm import factory
    from workbench.core.selfinstruct.run import RunConfig

    opened_in: list[int] = []
    real_open = factory.open_backend

    def recording_open(*args, **kwargs):
        opened_in.append(threading.get_ident())
        return real_open(*args, **kwargs)

    monkeypatch.setattr(factory, "open_backend", recording_open)
    window.ws.set_setting("llm", {"n_ctx": 1024})  # a small KV cache loads faster
    panel = window.generate
    names = {f.name for f in fields(RunConfig)}
    # Tiny token limits keep the run test in seconds on two shared cores.
    panel.config_overrides = {
        k: v
        for k, v in {"gen_max_tokens": 48, "instances_max_tokens": 24, "max_instances": 1}.items()
        if k in names
    }
    panel.target.setValue(50)
    events: list[Progress] = []

    def decided() -> bool:  # a candidate was kept or dropped, and the feed shows it
        return any(e.stage == "self-instruct" and e.data.get("last") for e in events)

    assert panel.start()
    panel.job.progress.connect(events.append)
    assert window.sb_run.text() == "Run: loading"
    qtbot.waitUntil(decided, timeout=180_000)
    run_id = panel.run_id
    assert run_id is not None
    assert window.sb_run.text() == "Run: running"
    # The model was loaded (and so is used) in the worker thread, never the UI thread.
    assert opened_in and threading.get_ident() not in opened_in
    assert panel.figures["candidates"].text() not in ("—", "0")
    assert panel.feed.rowCount() >= 1
    assert panel.feed_rows()[0][1] in ("kept", "dropped")
    panel.toggle_pause()
    assert panel.state == "paused" and panel.job.token.paused
    assert window.sb_run.text() == "Run: paused"
    panel.toggle_pause()
    assert not panel.job.token.paused
    panel.cancel()
    qtbot.waitUntil(lambda: panel.state == "cancelled", timeout=120_000)
    status, _ = run_row(window.ws.path, run_id)
    assert status == "cancelled"
    assert panel.offers_resume() and f"run {run_id} was cancelled" in panel.banner_text.text()
    decided_before = window.ws.scalar(
        "SELECT count(*) FROM candidates WHERE run_id = ? AND decision != 'pending'", (run_id,)
    )

    from workbench.gui.workers import MODELS

    loads = MODELS.loads
    events.clear()
    assert panel.resume_interrupted()
    panel.job.progress.connect(events.append)
    assert not panel.offers_resume()
    qtbot.waitUntil(decided, timeout=180_000)
    assert all(e.data.get("run_id") == run_id for e in events if e.stage == "self-instruct")
    assert MODELS.loads == loads and len(opened_in) == 1  # the resume found the model loaded
    assert (
        window.ws.scalar(
            "SELECT count(*) FROM candidates WHERE run_id = ? AND decision != 'pending'", (run_id,)
        )
        > decided_before
    )
    panel.cancel()
    qtbot.waitUntil(lambda: panel.state == "cancelled", timeout=120_000)
    assert window.ws.scalar("SELECT count(*) FROM runs") == 1  # resumed, not a new run


def test_missing_modules_or_errors_show_a_message_and_the_window_keeps_running(window, qtbot):
    from workbench.core.errors import ModelError
    from workbench.gui.workers import JobThread

    def failing(_ctx):
        raise ModelError("/nowhere/model.gguf: not a GGUF file.", hint="Choose a .gguf file.")

    assert window.generate.launch_job(JobThread("self-instruct", window.ws.path, failing), 5)
    qtbot.waitUntil(lambda: window.generate.state == "failed", timeout=20_000)
    assert window.error_banner.isVisible() and "not a GGUF file" in window.last_error
    assert window.generate.start_btn.isEnabled()
