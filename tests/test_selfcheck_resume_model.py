"""`self-check --resume` keeps the model stored with the run: a bare resume reopens it (server
URL + model name), a different model is refused unless --switch-model. Against the loopback
simulated OpenAI-compatible server (`core.llm.simserver`, real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3

from workbench.cli import main
from workbench.core.llm.simserver import SimulatedServer, sim_answer

QUESTION = "Tom has 3 apples. He buys 2 more apples. How many apples does he have now?"


def _stopped_run(tmp_path, capsys, srv_model="fake", api_key=None):
    """A self-check run on the simulated server stopped by Ctrl+C after its third call;
    returns (server, workspace path, run id)."""
    calls = {"n": 0}

    def interrupting(prompt, seed):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return sim_answer(prompt, seed)

    srv = SimulatedServer(latency=0.0, per_token=0.0, model=srv_model, responder=interrupting)
    srv.start()
    data = tmp_path / "pb.json"
    steps = [f"Step {i}: 3 + 2 = 5." for i in range(4)]
    data.write_text(json.dumps([{"id": "x0", "problem": QUESTION, "steps": steps, "label": -1}]))
    w = str(tmp_path / "w.sqlite")
    opts = ["--server", srv.url, "--concurrency", "1"] + (["--api-key", api_key] if api_key else [])
    assert main(["self-check", "--traces", str(data), "-w", w, *opts]) == 1
    capsys.readouterr()
    srv.responder = sim_answer
    with sqlite3.connect(w) as db:
        [(run_id,)] = db.execute("SELECT id FROM runs WHERE kind = 'self-check'").fetchall()
    return srv, w, run_id


def _models(w, run_id):
    with sqlite3.connect(w) as db:
        return db.execute(
            "SELECT DISTINCT backend, model FROM model_calls WHERE run_id = ?", (run_id,)
        ).fetchall()


def test_bare_resume_reuses_the_stored_server_model(tmp_path, capsys):
    srv, w, run_id = _stopped_run(tmp_path, capsys)
    try:
        assert main(["self-check", "--resume", "--json", "-w", w]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["run_id"] == run_id and out["steps"]["pending"] == 0
        assert _models(w, run_id) == [("openai", "fake")]  # every call of the run: one model
    finally:
        srv.stop()


def test_resume_with_another_model_is_refused_unless_switch_model(tmp_path, capsys):
    srv, w, run_id = _stopped_run(tmp_path, capsys)
    other = SimulatedServer(latency=0.0, per_token=0.0, model="other").start()
    try:
        args = ["self-check", "--resume", "-w", w, "--server", other.url, "--concurrency", "1"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "server model 'fake'" in err and "server model 'other'" in err
        assert "--switch-model" in err and other.requests == 0
        assert _models(w, run_id) == [("openai", "fake")]
        assert main([*args, "--switch-model", "--json"]) == 0
        assert sorted(_models(w, run_id)) == [("openai", "fake"), ("openai", "other")]
    finally:
        srv.stop()
        other.stop()


def test_bare_resume_asks_for_the_api_key_it_never_stored(tmp_path, capsys):
    srv, w, run_id = _stopped_run(tmp_path, capsys, api_key="sk-secret")
    try:
        with sqlite3.connect(w) as db:
            [(cfg,)] = db.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchall()
        assert "sk-secret" not in cfg
        assert main(["self-check", "--resume", "-w", w]) == 2
        assert "pass --api-key" in capsys.readouterr().err
        assert main(["self-check", "--resume", "-w", w, "--api-key", "sk-secret"]) == 0
        assert _models(w, run_id) == [("openai", "fake")]
    finally:
        srv.stop()
