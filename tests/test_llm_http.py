"""HTTP behaviour of the OpenAI-compatible client that a healthy llama_cpp.server never shows
(rate limits, a refused API key), against a small real HTTP server in this process."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workbench.core.errors import ModelError
from workbench.core.llm.base import GenParams
from workbench.core.llm.openai_compat import OpenAICompatBackend


class _Handler(BaseHTTPRequestHandler):
    busy_answers = 0  # how many 429s to send before answering
    seen: list[str] = []
    bodies: list[dict] = []
    pieces: list[str] = ["Hel", "lo"]

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(self.path)
        type(self).bodies.append(body)
        if self.headers.get("Authorization") != "Bearer right-key":
            self._plain(401, b'{"error": "invalid api key"}')
            return
        if type(self).busy_answers > 0:
            type(self).busy_answers -= 1
            self._plain(429, b'{"error": "busy"}', retry_after="0")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        *head, last = type(self).pieces
        events = [{"choices": [{"text": p, "finish_reason": None}]} for p in head] + [
            {
                "choices": [{"text": last, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": body["max_tokens"]},
                "timings": {"prompt_n": 1},
            }
        ]
        for e in events:
            self.wfile.write(b"data: " + json.dumps(e).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")

    def _plain(self, code: int, payload: bytes, retry_after: str | None = None) -> None:
        self.send_response(code)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture()
def stub():
    _Handler.busy_answers = 0
    _Handler.seen = []
    _Handler.bodies = []
    _Handler.pieces = ["Hel", "lo"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_429_is_retried_with_the_servers_retry_after(stub):
    _Handler.busy_answers = 2
    b = OpenAICompatBackend(stub, model="m", api_key="right-key", retries=3, backoff=30)
    r = b.complete("hi", GenParams(max_tokens=2))  # backoff=30 would hang without Retry-After
    assert r.text == "Hello" and r.finish_reason == "length"
    assert r.prompt_tokens == 3 and r.completion_tokens == 2 and r.prompt_eval_tokens == 1
    assert _Handler.seen == ["/v1/completions"] * 3


def test_retries_run_out_into_a_clear_error(stub):
    _Handler.busy_answers = 5
    b = OpenAICompatBackend(stub + "/v1", model="m", api_key="right-key", retries=1)
    with pytest.raises(ModelError, match="429") as exc:
        b.complete("hi", GenParams(max_tokens=2))
    assert f"{stub}/v1/completions" in str(exc.value)
    assert len(_Handler.seen) == 2


def test_wrong_api_key_is_a_clear_error_without_retries(stub):
    b = OpenAICompatBackend(stub, model="m", api_key="wrong", retries=3)
    with pytest.raises(ModelError, match="401") as exc:
        b.chat([{"role": "user", "content": "hi"}], GenParams(max_tokens=2))
    assert f"{stub}/v1/chat/completions" in str(exc.value) and "api-key" in str(exc.value)
    assert len(_Handler.seen) == 1


@pytest.mark.parametrize(
    "pieces, want",
    [
        (
            ["1. Sort a list.\n2. Reverse it", ".\n16", ". Never shown"],
            "1. Sort a list.\n2. Reverse it.\n",
        ),
        (["Answer: 4", "2\nTask", ": next"], "Answer: 42\n"),  # the stop spans two pieces
        (["no stop here"], "no stop here"),
    ],
)
def test_stop_strings_beyond_the_apis_four_are_applied_by_the_client(stub, pieces, want):
    _Handler.pieces = pieces
    b = OpenAICompatBackend(stub, model="m", api_key="right-key")
    shown: list[str] = []
    stops = ["\n\n", "Example 9", "###", "<end>", "16", "Task:"]
    r = b.complete("hi", GenParams(max_tokens=50, stop=stops), on_token=shown.append)
    assert _Handler.bodies[-1]["stop"] == stops[:4]
    assert r.text == want
    assert r.finish_reason == ("stop" if want != "no stop here" else "length")
    assert "".join(shown).startswith(want) and "Never" not in "".join(shown)
