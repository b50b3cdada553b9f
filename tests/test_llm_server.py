"""The OpenAI-compatible backend against a real `python -m llama_cpp.server` on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from workbench.core.errors import ModelError
from workbench.core.jobs import CancelToken
from workbench.core.llm.base import GenParams
from workbench.core.llm.openai_compat import OpenAICompatBackend

GREEDY = dict(temperature=0.0, seed=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--n_threads",
            "1",
            "--model_alias",
            "smol",
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1/models"
    for _ in range(600):  # readiness poll, not a time limit on behaviour
        if proc.poll() is not None:
            raise RuntimeError("llama_cpp.server exited during start-up")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("llama_cpp.server did not start")


@pytest.fixture(scope="module")
def server(default_model_path):
    port = free_port()
    proc = start_server(default_model_path, port)
    yield f"http://127.0.0.1:{port}"
    proc.kill()
    proc.wait()


def test_completion_and_model_discovery(server):
    b = OpenAICompatBackend(server)  # no model name: the first listed one
    assert b.model_id == "smol"
    pieces: list[str] = []
    r = b.complete(
        "The capital of France is", GenParams(max_tokens=6, **GREEDY), on_token=pieces.append
    )
    assert r.finish_reason == "length" and r.text and "".join(pieces) == r.text
    assert r.completion_tokens >= 1


def test_chat_and_same_text_as_in_process(server, llama_backend):
    b = OpenAICompatBackend(server + "/v1", model="smol")
    msgs = [{"role": "user", "content": "Name a colour."}]
    r = b.chat(msgs, GenParams(max_tokens=8, **GREEDY))
    assert r.text.strip()
    local = llama_backend.chat(msgs, GenParams(max_tokens=8, **GREEDY))
    assert r.text.strip() == local.text.strip()


def test_four_concurrent_requests(server):
    b = OpenAICompatBackend(server, model="smol")
    # Continuations a small model is sure of: numeric noise between a batched and a lone
    # evaluation (the server reuses its KV cache differently) cannot flip them, so the check
    # below tests the order of the results, not llama.cpp's rounding.
    prompts = [
        "1, 2, 3, 4, 5,",
        "Monday, Tuesday, Wednesday, Thursday,",
        "A, B, C, D, E,",
        "The capital of France is",
    ]
    results = b.map_complete(prompts, GenParams(max_tokens=2, **GREEDY), concurrency=4)
    assert len(results) == 4 and all(r.text for r in results)
    # Each answer belongs to its own prompt: the same prompt alone gives the same first word.
    alone = [b.complete(p, GenParams(max_tokens=2, **GREEDY)).text for p in prompts]
    assert [r.text.split()[0] for r in results] == [a.split()[0] for a in alone]
    assert len({a.split()[0] for a in alone}) == 4


def test_cancel_closes_the_stream_and_the_server_goes_on(server):
    b = OpenAICompatBackend(server, model="smol")
    token = CancelToken()
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 2:
            token.cancel()

    r = b.complete(
        "Count: 1, 2, 3,", GenParams(max_tokens=60, **GREEDY), on_token=on_token, cancel=token
    )
    assert r.finish_reason == "cancelled" and r.text == "".join(seen) and len(seen) == 2
    after = b.complete("The capital of France is", GenParams(max_tokens=3, **GREEDY))
    assert after.finish_reason == "length" and after.text


def test_refused_connection_and_404_are_clear(server):
    with pytest.raises(ModelError, match="cannot reach the server"):
        OpenAICompatBackend(f"http://127.0.0.1:{free_port()}", model="x", retries=0).complete(
            "hi", GenParams(max_tokens=2)
        )
    with pytest.raises(ModelError, match="cannot reach the server"):
        OpenAICompatBackend(f"http://127.0.0.1:{free_port()}", retries=0)  # model discovery
    with pytest.raises(ModelError, match="404"):
        OpenAICompatBackend(server + "/nothing-here", model="smol", retries=0).complete(
            "hi", GenParams(max_tokens=2)
        )


def test_server_killed_mid_request_gives_an_error_not_a_hang(default_model_path):
    port = free_port()
    proc = start_server(default_model_path, port)
    b = OpenAICompatBackend(f"http://127.0.0.1:{port}", model="smol", timeout=30, retries=0)
    started = threading.Event()
    outcome: dict = {}

    def call():
        try:
            outcome["result"] = b.complete(
                "Count: 1, 2, 3,",
                GenParams(max_tokens=900, **GREEDY),
                on_token=lambda _p: started.set(),
            )
        except ModelError as exc:
            outcome["error"] = exc

    t = threading.Thread(target=call)
    t.start()
    try:
        assert started.wait(120)
    finally:
        proc.kill()
        proc.wait()
    t.join(60)
    assert not t.is_alive()
    assert "result" not in outcome  # a cut-off answer is never passed off as complete
    assert any(w in str(outcome["error"]) for w in ("connection broke", "ended the answer early"))
