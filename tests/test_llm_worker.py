"""llama.cpp in its worker process, with the real default model: the Backend calls through the
process boundary, a worker killed mid-generation (SIGSEGV), a hung worker, the parent's death,
memory given back on close, and logs that never reach the terminal."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workbench.core.errors import Cancelled, ModelError, ModelProcessDied, UserInputError
from workbench.core.jobs import CancelToken
from workbench.core.llm.base import Backend, GenParams

pytestmark = pytest.mark.model

GREEDY = dict(temperature=0.0, seed=1)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def worker(default_model_path):
    from workbench.core.llm.worker import WorkerBackend

    b = WorkerBackend(default_model_path)
    yield b
    b.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_calls_go_through_the_worker_and_match_in_process(worker, default_model_path):
    from workbench.core.llm.llamacpp import LlamaCppBackend

    assert isinstance(worker, Backend) and worker.pid and worker.pid != os.getpid()
    assert worker.n_ctx > 512 and worker.has_chat_template
    pieces: list[str] = []
    r = worker.complete(
        "The capital of France is", GenParams(max_tokens=8, **GREEDY), on_token=pieces.append
    )
    assert len(pieces) >= 2 and "".join(pieces) == r.text and r.finish_reason == "length"
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    chat = worker.chat(msgs, GenParams(max_tokens=12, **GREEDY))
    prompt, stops, _ = worker.render_chat(msgs)
    local = LlamaCppBackend(default_model_path)
    try:
        assert (
            local.complete("The capital of France is", GenParams(max_tokens=8, **GREEDY)).text
            == r.text
        )
        assert local.chat(msgs, GenParams(max_tokens=12, **GREEDY)).text == chat.text
        assert (prompt, stops) == local.render_chat(msgs)[:2]
        assert worker.tokenize("Hello world") == local.tokenize("Hello world")
    finally:
        local.close()


def test_errors_cross_the_boundary_with_their_type_and_words(worker):
    with pytest.raises(ModelError, match="context"):
        worker.complete("word " * (worker.n_ctx + 10), GenParams(max_tokens=2))
    with pytest.raises(UserInputError, match="grammar") as exc:
        worker.complete("x", GenParams(max_tokens=4, grammar="root ::= (("))
    assert exc.value.field == "grammar"
    assert worker.complete("One, two,", GenParams(max_tokens=3, temperature=0)).text


def test_cancel_from_another_thread_stops_between_tokens(worker):
    token = CancelToken()
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            token.cancel()

    r = worker.complete(
        "Count: 1, 2, 3, 4, 5,",
        GenParams(max_tokens=300, **GREEDY),
        on_token=on_token,
        cancel=token,
    )
    assert r.finish_reason == "cancelled" and r.completion_tokens < 40


def test_sigsegv_mid_generation_is_a_model_error_and_a_new_worker_serves_next(worker):
    first = worker.pid
    n = [0]

    def on_token(_piece: str) -> None:
        n[0] += 1
        if n[0] == 3:
            os.kill(first, signal.SIGSEGV)

    with pytest.raises(ModelProcessDied) as exc:
        worker.complete("Count: 1, 2, 3,", GenParams(max_tokens=300, **GREEDY), on_token=on_token)
    assert exc.value.signal == signal.SIGSEGV and exc.value.exit_code == 1
    assert "signal 11" in str(exc.value) and "segmentation fault" in str(exc.value)
    assert "during generation" in str(exc.value) and "--resume" in str(exc.value)
    assert not _alive(first)
    r = worker.complete("Count: 1, 2, 3,", GenParams(max_tokens=4, **GREEDY))
    assert r.completion_tokens > 0 and worker.pid not in (None, first)


def test_a_hung_worker_is_ended_after_an_unanswered_cancel(worker):
    token = CancelToken()

    def on_token(_piece: str) -> None:
        if not token.cancelled:
            os.kill(worker.pid, signal.SIGSTOP)  # a kernel that never returns
            token.cancel()

    stuck = worker.pid
    with pytest.raises(Cancelled, match="did not stop"):
        worker.complete(
            "Count: 1, 2, 3,", GenParams(max_tokens=300, **GREEDY), on_token=on_token, cancel=token
        )
    assert not _alive(stuck)
    assert worker.complete("Hi", GenParams(max_tokens=2, **GREEDY)).completion_tokens > 0


def _rss(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_close_ends_the_worker_and_logs_go_to_our_logger(default_model_path, caplog, capfd):
    from workbench.core.llm.worker import WorkerBackend

    caplog.set_level(logging.DEBUG, logger="workbench.llama")
    capfd.readouterr()
    before = _rss()
    b = WorkerBackend(default_model_path)
    b.complete("Hello " * 80, GenParams(max_tokens=2, **GREEDY))
    pid = b.pid
    child = _rss(pid)
    loaded = _rss()
    b.close()
    after = _rss()
    assert child > 50 << 20  # the weights and KV cache live in the worker...
    assert loaded - before < 40 << 20, (before, loaded)  # ...not in this process
    assert not _alive(pid) and b.pid is None
    assert after - before < 40 << 20
    b.close()  # twice is harmless
    with pytest.raises(ModelError, match="closed"):
        b.complete("Hello", GenParams(max_tokens=2))
    assert any(
        "llama_model_loader" in r.getMessage() or "print_info" in r.getMessage()
        for r in caplog.records
        if r.name == "workbench.llama"
    )
    assert capfd.readouterr() == ("", "")


def test_the_worker_dies_with_its_parent(tmp_path):
    """A SIGKILLed CLI (the reliability trials) must not leave a worker holding the model."""
    script = textwrap.dedent("""
        import sys, time
        from workbench.core.llm.factory import open_backend
        b = open_backend("default")
        print(b.pid, flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        pid = int(proc.stdout.readline())
        assert _alive(pid)
        proc.kill()
        proc.wait()
        for _ in range(200):  # EOF on its pipe is seen at once; the parent watch within 1 s
            if not _alive(pid):
                break
            time.sleep(0.05)
        assert not _alive(pid)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_base_model_with_the_chat_preset_is_told_to_use_completion(tmp_path, worker, monkeypatch):
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

    ws = init_workspace(tmp_path / "ws.sqlite")
    monkeypatch.setattr(worker, "has_chat_template", False)
    with pytest.raises(ModelError, match="no chat template") as exc:
        run_self_instruct(ws, worker, RunConfig(preset="chat", target=1))
    assert "--preset self-instruct" in str(exc.value)
    assert ws.scalar("SELECT count(*) FROM model_calls") == 0
    ws.close()
