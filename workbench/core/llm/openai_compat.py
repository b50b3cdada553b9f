"""An OpenAI-compatible server (llama.cpp's server, vLLM, Ollama) as a backend.

Standard library only: streaming Server-Sent Events over urllib, so tokens reach `on_token` as
they arrive and a cancel token closes the stream between events. Retries with backoff on 429 and
5xx; refused connections, 401 and 404 become ModelErrors that name the URL.
"""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import ModelError
from ..jobs import CancelToken
from .base import GenParams, GenResult, TokenCallback

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 30.0
SERVER_STOPS = 4  # stop strings the OpenAI API accepts; more are applied by the client


def _first_stop(text: str, stops: list[str], start: int) -> int | None:
    """Where the earliest of `stops` begins in `text` at or after `start`, or None."""
    hits = [i for i in (text.find(x, start) for x in stops if x) if i >= 0]
    return min(hits) if hits else None


class OpenAICompatBackend:
    """Thread-safe: each call opens its own HTTP request (unlike the llama.cpp backend)."""

    name = "openai"

    def __init__(self, base_url: str, *, model: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0, retries: int = 3, backoff: float = 0.5) -> None:
        url = base_url.rstrip("/")
        self.base_url = url if url.endswith("/v1") else url + "/v1"
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.model_id = model or self._first_model()
        self.model_sha256: str | None = None

    # ----------------------------------------------------------------- HTTP
    def _request(self, path: str, body: dict[str, Any] | None = None):
        url = self.base_url + path
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, headers=headers,
                                     method="GET" if body is None else "POST")
        for attempt in range(self.retries + 1):
            try:
                return urllib.request.urlopen(req, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                if exc.code in RETRY_STATUSES and attempt < self.retries:
                    time.sleep(self._retry_delay(exc, attempt))
                    continue
                detail = exc.read(500).decode("utf-8", errors="replace")
                if exc.code == 401:
                    raise ModelError(f"{url}: the server refused the API key (401).",
                                     hint="Check --api-key.") from exc
                if exc.code == 404:
                    raise ModelError(f"{url}: not found (404) — wrong URL or model name "
                                     f"{self.__dict__.get('model_id')!r}. {detail}") from exc
                raise ModelError(f"{url}: the server answered {exc.code}: {detail}") from exc
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                if attempt < self.retries and isinstance(reason, (socket.timeout, TimeoutError)):
                    time.sleep(self.backoff * 2**attempt)
                    continue
                raise ModelError(f"{url}: cannot reach the server ({reason}).",
                                 hint="Is it running? Check --server.") from exc
        raise ModelError(f"{url}: no answer after {self.retries + 1} tries.")  # pragma: no cover

    def _retry_delay(self, exc: urllib.error.HTTPError, attempt: int) -> float:
        """The server's Retry-After when it gives one (capped), else exponential backoff."""
        try:
            return max(0.0, min(float(exc.headers.get("Retry-After", "")), MAX_RETRY_AFTER_S))
        except (TypeError, ValueError, AttributeError):
            return self.backoff * 2**attempt

    def _first_model(self) -> str:
        with self._request("/models") as resp:
            data = json.load(resp)
        models = data.get("data") or []
        if not models:
            raise ModelError(f"{self.base_url}/models: the server lists no models; "
                             "name one with --server-model.")
        return models[0]["id"]

    def _body(self, params: GenParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "presence_penalty": params.presence_penalty,
            "frequency_penalty": params.frequency_penalty,
            "stream": True,
        }
        if params.stop:
            # The OpenAI API takes at most four; _stream applies the rest itself.
            body["stop"] = params.stop[:SERVER_STOPS]
        if params.seed is not None:
            body["seed"] = params.seed
        if params.logit_bias:
            body["logit_bias"] = {str(k): v for k, v in params.logit_bias.items()}
        # llama.cpp's server and vLLM accept these extras; others ignore them.
        body["top_k"] = params.top_k
        body["min_p"] = params.min_p
        if params.grammar is not None:
            body["grammar"] = params.grammar  # llama.cpp's servers; vLLM: guided_grammar
            body["guided_grammar"] = params.grammar
        return body

    def _stream(self, path: str, body: dict[str, Any], on_token: TokenCallback | None,
                cancel: CancelToken | None, chat: bool, extra_stops: list[str]) -> GenResult:
        t0 = time.perf_counter()
        first: float | None = None
        text = ""
        n_pieces = 0
        tail = max((len(x) for x in extra_stops), default=0)
        stopped = False
        finish: str | None = None
        usage: dict[str, Any] = {}
        server_timings: dict[str, Any] = {}
        try:
            with self._request(path, body) as resp:
                for raw in resp:
                    if stopped:
                        break  # closing the stream early makes the server stop generating
                    if cancel is not None and cancel.cancelled:
                        finish = "cancelled"
                        break
                    line = raw.decode("utf-8", errors="replace").strip()
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        finish = finish or "stop"
                        break
                    event = json.loads(payload)
                    usage = event.get("usage") or usage
                    # llama.cpp's llama-server adds its own timings: prompt_n is what it evaluated
                    # after reusing its cache. Others do not say, so all prompt tokens count.
                    server_timings = event.get("timings") or server_timings
                    for choice in event.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content") if chat \
                            else choice.get("text")
                        if piece:
                            start = len(text)
                            text += piece
                            # A stop string beyond the server's four can only end in this
                            # piece: look from where it could have begun.
                            cut = _first_stop(text, extra_stops, max(0, start - tail + 1))
                            if cut is not None:
                                piece, text = text[start:cut], text[:cut]
                                finish, stopped = "stop", True
                        if piece:
                            first = first or time.perf_counter()
                            n_pieces += 1
                            if on_token:
                                on_token(piece)
                        if stopped:
                            break
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
        except (ConnectionError, socket.timeout, TimeoutError, urllib.error.URLError) as exc:
            raise ModelError(f"{self.base_url}{path}: the connection broke mid-answer ({exc}).",
                             hint="The server may have stopped; the work done so far is saved.") \
                from exc
        except json.JSONDecodeError as exc:
            raise ModelError(f"{self.base_url}{path}: the server sent an unreadable event.") from exc
        if finish is None:
            raise ModelError(
                f"{self.base_url}{path}: the server ended the answer early.",
                hint="It may have stopped, or it interrupts concurrent requests "
                "(llama_cpp.server: start it with --interrupt_requests False).",
            )
        total = time.perf_counter() - t0
        completion = int(usage.get("completion_tokens") or n_pieces)
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        return GenResult(
            text=text,
            finish_reason=finish if finish in ("stop", "length", "cancelled") else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion,
            prompt_eval_tokens=int(server_timings.get("prompt_n") or prompt_tokens),
            timings={"prompt_s": (first - t0) if first else total,
                     "generation_s": total - ((first - t0) if first else 0.0), "total_s": total},
        )

    # ---------------------------------------------------------------- calls
    def complete(self, prompt: str, params: GenParams, *, on_token: TokenCallback | None = None,
                 cancel: CancelToken | None = None) -> GenResult:
        body = self._body(params) | {"prompt": prompt}
        return self._stream("/completions", body, on_token, cancel, chat=False,
                            extra_stops=list(params.stop[SERVER_STOPS:]))

    def chat(self, messages: list[dict[str, str]], params: GenParams, *,
             on_token: TokenCallback | None = None, cancel: CancelToken | None = None) -> GenResult:
        body = self._body(params) | {"messages": messages}
        return self._stream("/chat/completions", body, on_token, cancel, chat=True,
                            extra_stops=list(params.stop[SERVER_STOPS:]))

    def map_complete(self, prompts: list[str], params: GenParams, *, concurrency: int = 4,
                     cancel: CancelToken | None = None) -> list[GenResult]:
        """Several completions at once (a server batches them); results in prompt order."""
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(lambda p: self.complete(p, params, cancel=cancel), prompts))

    def close(self) -> None:
        """Nothing to free: the server owns the model."""
