"""A model worker killed by SIGSEGV in the middle of a real SELF-INSTRUCT run (the default model):
the run stops with a ModelError that says so, the workspace is intact, the run is marked
interrupted and resumes to its target on a new worker; in the library, the CLI and the window.

The worker kills itself through a test-only hook (WORKBENCH_TEST_SIGNAL_AT="CALL:TOKEN:SIG"),
so the fault lands inside a generation at a known call, whatever the machine's speed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.llm.worker import SIGNAL_AT_ENV

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[1]
# Call 3 is a step-2 classification (its answer is one token): the fault lands before it returns.
SEGV_AT_CALL_3 = f"3:1:{int(signal.SIGSEGV)}"
# Tiny token limits keep a real run in seconds on two shared cores.
SMALL = dict(gen_max_tokens=120, instances_max_tokens=32, max_instances=1)


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_run_interrupted_by_a_dead_worker_resumes_to_its_target(
    tmp_path, monkeypatch, default_model_path
):
    from workbench.core.errors import ModelProcessDied
    from workbench.core.llm.worker import WorkerBackend
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct
    from workbench.core.store.runs import latest_unfinished_run

    ws = init_workspace(tmp_path / "ws.sqlite")
    monkeypatch.setenv(SIGNAL_AT_ENV, SEGV_AT_CALL_3)
    backend = WorkerBackend(default_model_path)
    monkeypatch.delenv(SIGNAL_AT_ENV)  # only the first worker carries the fault
    try:
        first = backend.pid
        with pytest.raises(ModelProcessDied, match="signal 11") as exc:
            run_self_instruct(ws, backend, RunConfig(preset="chat", target=1, seed=1, **SMALL))
        assert exc.value.exit_code == 1
        run = latest_unfinished_run(ws, "self-instruct")
        assert run["status"] == "interrupted" and "signal 11" in run["error"]
        assert ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (run["id"],)) == 2
        assert ws.integrity_check() == "ok"
        s = run_self_instruct(ws, backend, RunConfig(), resume_run_id=run["id"])
        assert s.run_id == run["id"] and s.accepted == 1
        assert backend.pid not in (None, first)  # a new worker served the rest
        assert ws.scalar("SELECT status FROM runs WHERE id = ?", (run["id"],)) == "finished"
        assert ws.integrity_check() == "ok"
    finally:
        backend.close()
        ws.close()


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=None,
    )


def test_cli_exits_1_with_the_message_and_resume_completes(tmp_path):
    from workbench.core.seeds import init_workspace

    path = tmp_path / "ws.sqlite"
    init_workspace(path).close()
    env = {**os.environ, SIGNAL_AT_ENV: SEGV_AT_CALL_3}
    opts = [
        "self-instruct",
        "-w",
        str(path),
        "--target",
        "1",
        "--seed",
        "1",
        "--max-tokens",
        "120",
        "--instances-max-tokens",
        "32",
    ]
    first = _cli(opts, env)
    assert first.returncode == 1, first.stderr
    assert "the model process stopped with signal 11 (SIGSEGV" in first.stderr
    assert "--resume" in first.stderr and "Traceback" not in first.stderr
    assert _integrity(path) == "ok"
    env.pop(SIGNAL_AT_ENV)
    second = _cli([*opts, "--resume", "--json"], env)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["accepted"] == 1
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*), min(status) FROM runs").fetchone() == (1, "finished")
    finally:
        conn.close()
    assert _integrity(path) == "ok"


@pytest.mark.gui
def test_window_shows_the_error_stays_up_and_a_second_run_works(seeded_window, qtbot, monkeypatch):
    pytest.importorskip("pytestqt")
    from workbench.gui.workers import MODELS

    w = seeded_window
    MODELS.close()  # a worker kept by an earlier test would not carry the fault
    w.ws.set_setting("llm", {"n_ctx": 1024})
    panel = w.generate
    panel.config_overrides = dict(SMALL)
    panel.target.setValue(1)
    panel.seed.setValue(1)
    monkeypatch.setenv(SIGNAL_AT_ENV, SEGV_AT_CALL_3)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.state == "failed", timeout=300_000)
    monkeypatch.delenv(SIGNAL_AT_ENV)
    assert w.error_banner.isVisible() and "signal 11" in w.last_error
    assert w.isVisible() and panel.start_btn.isEnabled()
    run_id = panel.run_id
    assert w.ws.scalar("SELECT status FROM runs WHERE id = ?", (run_id,)) == "interrupted"
    assert w.ws.integrity_check() == "ok"
    # The window still answers: switch panels, then resume the run it offers.
    panel.check_resumable()
    assert panel.offers_resume()
    assert panel.resume_interrupted()
    qtbot.waitUntil(lambda: panel.state not in ("loading", "running"), timeout=300_000)
    assert panel.state == "finished", w.last_error
    assert w.ws.scalar("SELECT status FROM runs WHERE id = ?", (run_id,)) == "finished"
    assert (
        w.ws.scalar(
            "SELECT count(*) FROM tasks WHERE run_id = ? AND source = 'generated'", (run_id,)
        )
        == 1
    )
