"""A simulated OpenAI-compatible server on 127.0.0.1 for benchmarks and tests: it stands in for a
remote cluster (vLLM, SGLang) that batches any number of requests.

Each request waits a fixed `latency` (seconds) before its first token, then `per_token` seconds
per token, streamed as Server-Sent Events (chunked HTTP/1.1, keep-alive); requests run in
parallel without limit (one thread each). Answers are deterministic per (prompt, seed) and shaped
so the pipelines parse them: SELF-CHECK's stages (target, collection, regeneration, a clear
comparison verdict, the follow-up), sampled GSM8K-style solutions, SELF-INSTRUCT's instruction
lists, classification answers and instances; anything else gets words drawn from the prompt's
hash. Standard library only; not a model, and never used outside benchmarks and tests.

    with SimulatedServer(latency=0.3, per_token=0.002) as srv:
        backend = OpenAICompatBackend(srv.url)
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[str, "int | None"], str]

_WORDS = (
    "river",
    "maple",
    "signal",
    "copper",
    "lantern",
    "orbit",
    "meadow",
    "cipher",
    "harbor",
    "glacier",
    "ember",
    "violet",
    "canyon",
    "pixel",
    "falcon",
    "quartz",
    "tundra",
    "saffron",
    "beacon",
    "willow",
    "nebula",
    "cobalt",
    "prairie",
    "thistle",
    "summit",
    "lagoon",
)
_VERBS = (
    "Write",
    "Explain",
    "List",
    "Describe",
    "Summarize",
    "Classify",
    "Compare",
    "Translate",
    "Suggest",
    "Rewrite",
    "Estimate",
    "Design",
    "Plan",
    "Outline",
    "Identify",
    "Sort",
)


def _rng(prompt: str, seed: int | None) -> random.Random:
    digest = hashlib.blake2b(
        f"{seed}\x00{prompt}".encode("utf-8", "replace"), digest_size=8
    ).digest()
    return random.Random(int.from_bytes(digest, "big"))


_SYLL = (
    "ka",
    "lo",
    "mi",
    "ru",
    "te",
    "vo",
    "sa",
    "ne",
    "pi",
    "da",
    "zu",
    "fe",
    "go",
    "hy",
    "ba",
    "ti",
    "mo",
    "ce",
    "lu",
    "ri",
)


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _word(rng: random.Random) -> str:
    """A made-up word (8,000 of them): tasks built from them rarely look alike under ROUGE-L."""
    return "".join(rng.choice(_SYLL) for _ in range(3))


def _task(rng: random.Random) -> str:
    return (
        f"{rng.choice(_VERBS)} the {_word(rng)} {_word(rng)} of {_word(rng)} {_word(rng)} "
        f"using {_word(rng)} {_word(rng)}."
    )


def sim_answer(prompt: str, seed: int | None) -> str:
    """The simulated model's answer to `prompt` with sampling seed `seed` (a pure function)."""
    rng = _rng(prompt, seed)
    tail = prompt[-600:]
    # SELF-CHECK, stage by stage (the templates in resources/prompts/selfcheck).
    if "What specific action does the step" in tail:
        return f"The step works out the {_words(rng, 2)} from the given {_words(rng, 1)}."
    if "directly follow from?" in tail:
        steps = re.findall(r"^Step (\d+):", prompt, re.MULTILINE)
        refs = ["Information 0"] + ([f"Step {steps[-1]}"] if steps else [])
        return "It directly follows from " + " and ".join(refs) + "."
    if (
        prompt.lstrip().startswith("We are in the process of solving a math problem")
        or "We are in the process of solving a math problem" in prompt[:200]
    ):
        return f"Using the {_words(rng, 2)}, the result is {rng.randint(2, 99)}."
    if "check whether Solution 1" in tail:
        verdict = rng.choices(
            ["supports", "contradicts", "is not directly related to"], weights=[7, 2, 1]
        )[0]
        return (
            f"Both solutions use the {_words(rng, 2)}. Therefore, Solution 1 {verdict} "
            "the conclusion in Solution 2."
        )
    if "to summarize the final conclusion of the reply" in tail:
        return rng.choice(["Support", "Support", "Contradict", "Not related"])
    if "Solve the following problem step by step" in prompt[:200]:
        n = rng.randint(2, 4)
        steps = [
            f"Step {i}: We use the {_words(rng, 2)} to get {rng.randint(2, 99)}." for i in range(n)
        ]
        return "\n\n".join(steps) + f"\n\nSo the answer is {rng.randint(1, 20)}."
    # SELF-INSTRUCT (the chat and the reference presets, resources/prompts/selfinstruct).
    m = re.search(r"Write (\d+) new tasks.*?Number them from (\d+)", prompt, re.DOTALL)
    if m:
        return "\n".join(f"{int(m.group(2)) + i}. {_task(rng)}" for i in range(int(m.group(1))))
    lines = prompt.rstrip().splitlines()
    last = lines[-1] if lines else ""
    if "Is it classification?" in last:
        return rng.choice(["Yes", "No", "No", "No"])
    if re.match(r"(?:user: )?Task:", last) or re.search(r"\nTask: [^\n]+\n$", prompt):
        if "Class label:" in prompt and "Example 1" not in prompt[-400:]:
            a, b = rng.sample(["Yes", "No", "Positive", "Negative"], 2)
            return f"Class label: {a}\n{_words(rng, 6)}\nClass label: {b}\n{_words(rng, 6)}"
        return (
            f"Example 1\nInput: {_words(rng, 4)}\nOutput: {_words(rng, 5)}\n"
            f"Example 2\nInput: {_words(rng, 4)}\nOutput: {_words(rng, 5)}"
        )
    if re.search(r"(?:^|\n)\d+\.\s*$", prompt):  # the paper's prompt: continue the numbered list
        start = len(re.findall(r"(?:^|\n)\d+\.", prompt))
        return f" {_task(rng)}\n" + "\n".join(f"{start + 1 + i}. {_task(rng)}" for i in range(6))
    return _words(rng, 12) + "."


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a pooled client reuses its connections
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, code: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(
                200, {"object": "list", "data": [{"id": self.server.sim.model, "object": "model"}]}
            )
        else:
            self._json(404, {"error": "not found"})

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_POST(self) -> None:
        sim = self.server.sim
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        chat = self.path.rstrip("/").endswith("/chat/completions")
        if not chat and not self.path.rstrip("/").endswith("/completions"):
            self._json(404, {"error": "not found"})
            return
        if chat:
            prompt = "\n".join(
                f"{m.get('role')}: {m.get('content')}" for m in body.get("messages", [])
            )
            # The pipelines' single-message chats answer as the completion would.
            msgs = body.get("messages", [])
            key = msgs[-1].get("content", "") if len(msgs) == 1 else prompt
        else:
            key = prompt = str(body.get("prompt", ""))
        seed = body.get("seed")
        text = sim.responder(key, seed)
        stops = [s for s in (body.get("stop") or []) if s]
        cuts = [text.find(s) for s in stops if s in text]
        finish = "stop"
        if cuts:
            text = text[: min(cuts)]
        pieces = re.findall(r"\s*\S+", text) or [text]
        max_tokens = int(body.get("max_tokens") or 256)
        if len(pieces) > max_tokens:
            pieces, finish = pieces[:max_tokens], "length"
        with sim.lock:
            sim.in_flight += 1
            sim.max_in_flight = max(sim.max_in_flight, sim.in_flight)
            sim.requests += 1
            sim.seeds.append(seed)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            time.sleep(sim.latency)
            for n, piece in enumerate(pieces):
                if sim.per_token:
                    time.sleep(sim.per_token)
                last = n == len(pieces) - 1
                choice: dict[str, Any] = {"index": 0, "finish_reason": finish if last else None}
                if chat:
                    choice["delta"] = {"content": piece}
                else:
                    choice["text"] = piece
                event: dict[str, Any] = {"choices": [choice]}
                if last:
                    event["usage"] = {
                        "prompt_tokens": len(prompt.split()),
                        "completion_tokens": len(pieces),
                    }
                self._chunk(b"data: " + json.dumps(event).encode() + b"\n\n")
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client closed the stream (a cancel)
        finally:
            with sim.lock:
                sim.in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # many clients connect at once; a short backlog would drop SYNs
    sim: SimulatedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closed its connection (a cancel, a pool shutdown) is not news."""


class SimulatedServer:
    """Start with `start()` (or `with`); `url` is its base URL. `latency`: seconds before the
    first token; `per_token`: seconds per token. Counters: requests, in_flight, max_in_flight,
    seeds (every request's seed, in arrival order)."""

    def __init__(
        self,
        *,
        latency: float = 0.3,
        per_token: float = 0.002,
        port: int = 0,
        model: str = "sim",
        responder: Responder = sim_answer,
    ) -> None:
        self.latency, self.per_token, self.model = latency, per_token, model
        self.responder = responder
        self.lock = threading.Lock()
        self.requests = self.in_flight = self.max_in_flight = 0
        self.seeds: list[int | None] = []
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> SimulatedServer:
        self._httpd = _Server(("127.0.0.1", self._port), _Handler)
        self._httpd.sim = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SimulatedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:  # pragma: no cover - a manual tool
    import argparse

    ap = argparse.ArgumentParser(description="a simulated OpenAI-compatible server")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--per-token", type=float, default=0.002)
    a = ap.parse_args()
    srv = SimulatedServer(latency=a.latency, per_token=a.per_token, port=a.port).start()
    print(f"serving on {srv.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
