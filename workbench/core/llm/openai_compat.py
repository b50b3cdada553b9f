"""An OpenAI-compatible server (llama.cpp's server, vLLM, SGLang, Ollama) as a backend, served
from one or several endpoints.

HTTP is httpx: one pooled client per backend (keep-alive connections, no cap on their number, so
K requests in flight never wait for a connection), streaming Server-Sent Events so tokens reach
`on_token` as they arrive, and timeouts per phase. Ours on top of it: retries on 429 and 5xx
(the server's Retry-After when it sends one), stop strings beyond the API's four applied by the
client, an answer cut off mid-stream is an error (never a short result), and errors that name the
URL and say what to do.

Several endpoints (one model served in several places): each request goes to the endpoint with
the fewest requests in flight; an endpoint that fails (refused connection, 5xx after the
retries, a connection broken before the first token) is set aside for a while and the request is
sent to another one; the failover is counted in `endpoint_stats()`.

Thread-safe (`thread_safe = True`): unlike the llama.cpp backend, one object serves many threads
at once; `close_streams(cancel)` closes, from any thread, every open stream of a cancel token.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import ModelError
from ..jobs import CancelToken
from .base import GenParams, GenResult, TokenCallback
from .prompt import PromptText

log = logging.getLogger("workbench.llm")

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 30.0
SERVER_STOPS = 4  # stop strings the OpenAI API accepts; more are applied by the client
CONNECT_TIMEOUT_S = 10.0
# An endpoint that failed is skipped this long (unless every endpoint is down), so a dead replica
# costs one refused connection per interval, not one per request.
ENDPOINT_COOLDOWN_S = 15.0


# How control tokens are spelled in the common model families (ChatML and Llama 3 `<|...|>`,
# `<s>`/`</s>`, Gemma's turns, Mistral's [INST]). Data holding none of these is sent as text.
_CONTROL_LIKE = re.compile(
    r"<\|[^|<>\s]{1,40}\|>|</?s>|<(?:start|end)_of_turn>|\[/?INST\]"
    r"|<(?:unk|pad|bos|eos|mask)>"
)


def _first_stop(text: str, stops: list[str], start: int) -> int | None:
    """Where the earliest of `stops` begins in `text` at or after `start`, or None."""
    hits = [i for i in (text.find(x, start) for x in stops if x) if i >= 0]
    return min(hits) if hits else None


def split_endpoints(urls: str | Sequence[str]) -> list[str]:
    """Base URLs (with `/v1`) from one URL, a comma list, or several of either; duplicates
    dropped, order kept. Raises ModelError when none is left."""
    raw = [urls] if isinstance(urls, str) else list(urls)
    out: list[str] = []
    for item in raw:
        for part in str(item).split(","):
            url = part.strip().rstrip("/")
            if not url:
                continue
            url = url if url.endswith("/v1") else url + "/v1"
            if url not in out:
                out.append(url)
    if not out:
        raise ModelError("no server URL given.", hint="Pass --server URL (one or several).")
    return out


@dataclass
class Endpoint:
    """One place the model is served, with its counters (guarded by the backend's lock)."""

    url: str
    in_flight: int = 0
    requests: int = 0  # answers received in full
    failures: int = 0  # requests that failed here (and were sent elsewhere if possible)
    retries: int = 0  # tries repeated here after a 429, a 5xx or a timeout
    completion_tokens: int = 0
    active_s: float = 0.0  # wall time with at least one request in flight
    down_until: float = 0.0  # monotonic time before which it is skipped
    last_error: str | None = None
    _active_since: float = 0.0

    def stats(self, now: float) -> dict[str, Any]:
        active = self.active_s + (now - self._active_since if self.in_flight else 0.0)
        return {
            "url": self.url,
            "requests": self.requests,
            "in_flight": self.in_flight,
            "failures": self.failures,
            "retries": self.retries,
            "completion_tokens": self.completion_tokens,
            "tokens_per_s": round(self.completion_tokens / active, 2) if active > 0 else 0.0,
            "down": self.down_until > now,
            "last_error": self.last_error,
        }


class _EndpointFailure(Exception):
    """The endpoint, not the request, failed: the request may be sent to another endpoint."""

    def __init__(self, error: ModelError) -> None:
        super().__init__(str(error))
        self.error = error


class OpenAICompatBackend:
    """A model on one or several OpenAI-compatible endpoints.

    `base_url`: a URL, a comma list of URLs, or a sequence of them (all serving the same model).
    `timeout`: seconds a read may wait (the first token of a long prompt on a busy server
    included); `retries`: extra tries on 429, 5xx and timeouts per endpoint; `backoff`: the first
    retry's delay in seconds when the server sends no Retry-After (doubled each time).
    Raises ModelError when no endpoint can name its model (`model` None) or none is reachable.
    """

    name = "openai"
    thread_safe = True

    def __init__(
        self,
        base_url: str | Sequence[str],
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.endpoints = [Endpoint(u) for u in split_endpoints(base_url)]
        self.base_url = self.endpoints[0].url
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.failovers = 0
        self._lock = threading.Lock()
        self._open: dict[int, tuple[httpx.Response, CancelToken | None]] = {}
        self._warned_control = False  # the string fallback for control-token data (once)
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S), pool=None),
            # No cap on connections: the pipelines bound what is in flight themselves.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
        )
        self.model_sha256: str | None = None
        try:
            self.model_id = model or self._first_model()
        except BaseException:
            self._client.close()
            raise

    # ------------------------------------------------------------ endpoints
    def _acquire(self, exclude: set[int]) -> int | None:
        """The index of the endpoint to use next (fewest in flight, then fewest served), counted
        as in flight; None when every endpoint was tried. Endpoints in their cool-down come last."""
        now = time.monotonic()
        with self._lock:
            idx = [i for i in range(len(self.endpoints)) if i not in exclude]
            if not idx:
                return None
            eps = self.endpoints
            best = min(
                idx,
                key=lambda i: (
                    eps[i].down_until > now,
                    eps[i].in_flight,
                    eps[i].requests + eps[i].failures,
                    i,
                ),
            )
            ep = eps[best]
            if ep.in_flight == 0:
                ep._active_since = now
            ep.in_flight += 1
            return best

    def _release(
        self, i: int, *, result: GenResult | None = None, failure: str | None = None
    ) -> None:
        now = time.monotonic()
        with self._lock:
            ep = self.endpoints[i]
            ep.in_flight -= 1
            if ep.in_flight == 0:
                ep.active_s += now - ep._active_since
            if result is not None:
                ep.requests += 1
                ep.completion_tokens += result.completion_tokens
                ep.down_until = 0.0
            if failure is not None:
                ep.failures += 1
                ep.last_error = failure
                ep.down_until = now + ENDPOINT_COOLDOWN_S

    def endpoint_stats(self) -> list[dict[str, Any]]:
        """Per endpoint: url, requests (answered), in_flight, failures, retries (tries repeated
        after a 429, 5xx or timeout), completion_tokens, tokens_per_s (completion tokens over
        the wall time it had work), down, last_error."""
        now = time.monotonic()
        with self._lock:
            return [ep.stats(now) for ep in self.endpoints]

    @property
    def in_flight(self) -> int:
        """Requests open right now, over all endpoints."""
        with self._lock:
            return sum(ep.in_flight for ep in self.endpoints)

    # ----------------------------------------------------------------- HTTP
    def _send(
        self, base: str, path: str, body: dict[str, Any] | None, *, failover: bool
    ) -> httpx.Response:
        """An open (streaming) response with status 200 from `base + path`, after the retries.

        Raises ModelError for what another endpoint would answer the same way (401, 404, 400),
        and _EndpointFailure (when `failover`) for what is this endpoint's fault."""
        url = base + path
        for attempt in range(self.retries + 1):
            try:
                req = (
                    self._client.build_request("GET", url)
                    if body is None
                    else self._client.build_request(
                        "POST", url, json=body, headers={"Accept": "text/event-stream"}
                    )
                )
                resp = self._post_or_get(req, base)
            except httpx.TimeoutException as exc:
                if attempt < self.retries:
                    self._count_retry(base)
                    time.sleep(self.backoff * 2**attempt)
                    continue
                err = ModelError(
                    f"{url}: no answer in time ({type(exc).__name__}).",
                    hint="The server may be overloaded; check it, or lower --concurrency.",
                )
                raise (_EndpointFailure(err) if failover else err) from exc
            except (httpx.TransportError, OSError) as exc:
                err = ModelError(
                    f"{url}: cannot reach the server ({exc or type(exc).__name__}).",
                    hint="Is it running? Check --server.",
                )
                raise (_EndpointFailure(err) if failover else err) from exc
            if resp.status_code < 400:
                return resp
            try:
                detail = resp.read()[:500].decode("utf-8", errors="replace")
            except httpx.HTTPError:
                detail = ""
            finally:
                resp.close()
            code = resp.status_code
            if code in RETRY_STATUSES and attempt < self.retries:
                self._count_retry(base)
                time.sleep(self._retry_delay(resp, attempt))
                continue
            if code == 401:
                raise ModelError(
                    f"{url}: the server refused the API key (401).", hint="Check --api-key."
                )
            if code == 404:
                raise ModelError(
                    f"{url}: not found (404) — wrong URL or model name "
                    f"{self.__dict__.get('model_id')!r}. {detail}"
                )
            err = ModelError(f"{url}: the server answered {code}: {detail}")
            if code >= 500 and failover:
                raise _EndpointFailure(err)
            raise err
        raise ModelError(f"{url}: no answer after {self.retries + 1} tries.")  # pragma: no cover

    def _post_or_get(self, req: httpx.Request, base: str) -> httpx.Response:
        """Send `req`; when the server drops a kept-alive connection without a word (it closed
        it while the request was on its way: llama-server after a stream, any server's idle
        timeout), send it once more on a fresh connection, counted as a retry."""
        try:
            return self._client.send(req, stream=True)
        except httpx.RemoteProtocolError:
            self._count_retry(base)
            return self._client.send(req, stream=True)

    def _count_retry(self, base: str) -> None:
        with self._lock:
            for ep in self.endpoints:
                if ep.url == base:
                    ep.retries += 1

    def _retry_delay(self, resp: httpx.Response, attempt: int) -> float:
        """The server's Retry-After when it gives one (capped), else exponential backoff."""
        try:
            return max(0.0, min(float(resp.headers.get("Retry-After", "")), MAX_RETRY_AFTER_S))
        except (TypeError, ValueError):
            return self.backoff * 2**attempt

    def _first_model(self) -> str:
        last: ModelError | None = None
        for ep in self.endpoints:
            try:
                resp = self._send(ep.url, "/models", None, failover=len(self.endpoints) > 1)
            except _EndpointFailure as exc:
                last = exc.error
                continue
            try:
                data = json.loads(resp.read())
            except (json.JSONDecodeError, httpx.HTTPError) as exc:
                raise ModelError(
                    f"{ep.url}/models: the server sent an unreadable model list."
                ) from exc
            finally:
                resp.close()
            models = data.get("data") or []
            if not models:
                raise ModelError(
                    f"{ep.url}/models: the server lists no models; name one with --server-model."
                )
            return str(models[0]["id"])
        assert last is not None
        raise last

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
            # The OpenAI API takes at most four; _read applies the rest itself.
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

    def close_streams(self, cancel: CancelToken | None = None) -> int:
        """Close the open streams of `cancel` (all of them when None) now, from any thread: a
        request still waiting for its first token stops waiting. Returns how many were closed."""
        with self._lock:
            targets = [r for r, tok in self._open.values() if cancel is None or tok is cancel]
        for resp in targets:
            stream = resp.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            try:
                if sock is not None:
                    # shutdown, not close: it wakes a thread blocked reading this socket.
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(targets)

    def _stream(
        self,
        path: str,
        body: dict[str, Any],
        on_token: TokenCallback | None,
        cancel: CancelToken | None,
        chat: bool,
        extra_stops: list[str],
    ) -> GenResult:
        tried: set[int] = set()
        failover = len(self.endpoints) > 1
        while True:
            i = self._acquire(tried)
            if i is None:  # pragma: no cover - the last failure raises before this
                raise ModelError(f"{self.base_url}: every endpoint failed this request.")
            emitted: list[bool] = [False]

            def counted(
                piece: str, _on: TokenCallback | None = on_token, _flag: list[bool] = emitted
            ) -> None:
                _flag[0] = True
                if _on is not None:
                    _on(piece)

            try:
                result = self._read(
                    self.endpoints[i].url,
                    path,
                    body,
                    counted,
                    cancel,
                    chat,
                    extra_stops,
                    failover=failover,
                )
            except _EndpointFailure as exc:
                self._release(i, failure=exc.error.message)
                tried.add(i)
                # Tokens already shown cannot be taken back: only a request that showed none
                # is sent again elsewhere.
                if emitted[0] or len(tried) == len(self.endpoints):
                    raise exc.error from exc
                with self._lock:
                    self.failovers += 1
                log.warning(
                    "%s failed (%s); sending the request to another endpoint",
                    self.endpoints[i].url,
                    exc.error.message,
                )
                continue
            except BaseException:
                self._release(i)
                raise
            self._release(i, result=result)
            return result

    def _read(
        self,
        base: str,
        path: str,
        body: dict[str, Any],
        on_token: TokenCallback,
        cancel: CancelToken | None,
        chat: bool,
        extra_stops: list[str],
        *,
        failover: bool,
    ) -> GenResult:
        t0 = time.perf_counter()
        first: float | None = None
        text = ""
        n_pieces = 0
        tail = max((len(x) for x in extra_stops), default=0)
        stopped = False
        finish: str | None = None
        usage: dict[str, Any] = {}
        server_timings: dict[str, Any] = {}
        if cancel is not None and cancel.cancelled:
            return GenResult(text="", finish_reason="cancelled")
        resp = self._send(base, path, body, failover=failover)
        key = id(resp)
        with self._lock:
            self._open[key] = (resp, cancel)
        try:
            done = False
            for line in resp.iter_lines():
                if done:
                    continue
                if stopped:
                    break  # closing the stream early makes the server stop generating
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
                line = line.strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    # Read on to the end of the body (a line or two), so the connection goes back
                    # to the pool instead of being reset.
                    finish, done = finish or "stop", True
                    continue
                event = json.loads(payload)
                usage = event.get("usage") or usage
                # llama.cpp's llama-server adds its own timings: prompt_n is what it evaluated
                # after reusing its cache. Others do not say, so all prompt tokens count.
                server_timings = event.get("timings") or server_timings
                for choice in event.get("choices") or []:
                    piece = (
                        (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                    )
                    if piece:
                        start = len(text)
                        text += piece
                        # A stop string beyond the server's four can only end in this piece:
                        # look from where it could have begun.
                        cut = _first_stop(text, extra_stops, max(0, start - tail + 1))
                        if cut is not None:
                            piece, text = text[start:cut], text[:cut]
                            finish, stopped = "stop", True
                    if piece:
                        first = first or time.perf_counter()
                        n_pieces += 1
                        on_token(piece)
                    if stopped:
                        break
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
        except (httpx.HTTPError, OSError) as exc:
            if cancel is not None and cancel.cancelled:
                finish = "cancelled"  # close_streams() broke the connection on purpose
            else:
                err = ModelError(
                    f"{base}{path}: the connection broke mid-answer ({exc}).",
                    hint="The server may have stopped; the work done so far is saved.",
                )
                raise (_EndpointFailure(err) if failover else err) from exc
        except json.JSONDecodeError as exc:
            raise ModelError(f"{base}{path}: the server sent an unreadable event.") from exc
        finally:
            with self._lock:
                self._open.pop(key, None)
            resp.close()
        if finish is None:
            err = ModelError(
                f"{base}{path}: the server ended the answer early.",
                hint="It may have stopped, or it interrupts concurrent requests "
                "(llama_cpp.server: start it with --interrupt_requests False).",
            )
            raise _EndpointFailure(err) if failover else err
        total = time.perf_counter() - t0
        completion = int(usage.get("completion_tokens") or n_pieces)
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        return GenResult(
            text=text,
            finish_reason=finish if finish in ("stop", "length", "cancelled") else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion,
            prompt_eval_tokens=int(server_timings.get("prompt_n") or prompt_tokens),
            timings={
                "prompt_s": (first - t0) if first else total,
                "generation_s": total - ((first - t0) if first else 0.0),
                "total_s": total,
            },
        )

    # ---------------------------------------------------------------- calls
    def complete(
        self,
        prompt: str,
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        """Continue `prompt` on the server. A `PromptText` whose data holds control-token text
        is sent as token ids when the server can tokenize it as plain text (llama.cpp's
        llama-server); see `wire_prompt`."""
        body = self._body(params) | {"prompt": self.wire_prompt(prompt)}
        return self._stream(
            "/completions",
            body,
            on_token,
            cancel,
            chat=False,
            extra_stops=list(params.stop[SERVER_STOPS:]),
        )

    # ---------------------------------------------------- control tokens in data
    def wire_prompt(self, prompt: str) -> str | list[int]:
        """What is sent as the completion's "prompt": the text, or token ids.

        A server tokenizes a prompt string itself, control tokens included (llama.cpp's
        llama-server and llama-cpp-python's server parse them in every string prompt). So when
        a `PromptText`'s data holds text spelled like a control token, and the server's
        `/tokenize` (llama-server: `parse_special`) shows it would read it as one, the prompt
        goes as token ids: the template's own control tokens as such, all other text as plain
        text (the OpenAI API and these servers take a list of ids as the prompt). A server
        without that endpoint gets the text, with a warning once; a plain `str` is always sent
        as it is."""
        if not isinstance(prompt, PromptText) or not any(
            _CONTROL_LIKE.search(d) for d in prompt.data()
        ):
            return str(prompt)
        try:
            ids = self._plain_data_ids(prompt)
        except (httpx.HTTPError, OSError, ValueError, KeyError, TypeError) as exc:
            if not self._warned_control:
                self._warned_control = True
                log.warning(
                    "%s: a prompt's data holds control-token text (such as <|im_end|>) and the "
                    "server offers no way to tokenize it as plain text (%s); it is sent as "
                    "text, which the server may read as control tokens (docs/models.md)",
                    self.base_url,
                    exc,
                )
            return str(prompt)
        return str(prompt) if ids is None else ids

    def _tokenize(self, text: str, *, special: bool, add_special: bool = False) -> list[int]:
        """llama-server's /tokenize (at the server's root, beside /v1)."""
        root = self.endpoints[0].url.removesuffix("/v1")
        resp = self._client.post(
            f"{root}/tokenize",
            json={"content": text, "add_special": add_special, "parse_special": special},
        )
        resp.raise_for_status()
        return [int(t) for t in resp.json()["tokens"]]

    def _plain_data_ids(self, prompt: PromptText) -> list[int] | None:
        """The prompt's token ids with only the template's control tokens special, or None when
        the server reads the data as plain text anyway (not this model's control tokens)."""
        if all(
            self._tokenize(d, special=True) == self._tokenize(d, special=False)
            for d in prompt.data()
            if _CONTROL_LIKE.search(d)
        ):
            return None
        text = str(prompt)
        cuts: list[tuple[int, int, int]] = []
        at = 0
        for piece, is_data in prompt.pieces():
            for m in () if is_data else _CONTROL_LIKE.finditer(piece):
                ids = self._tokenize(m.group(0), special=True)
                if len(ids) == 1 and ids != self._tokenize(m.group(0), special=False):
                    cuts.append((at + m.start(), at + m.end(), ids[0]))
            at += len(piece)
        # Cut only at the template's control tokens, as llama.cpp itself cuts at every one.
        tokens = self._tokenize("", special=False, add_special=True)  # [BOS] or []
        at = 0
        for start, end, token in cuts:
            if start > at:
                tokens += self._tokenize(text[at:start], special=False)
            tokens.append(token)
            at = end
        if at < len(text):
            tokens += self._tokenize(text[at:], special=False)
        return tokens

    def chat(
        self,
        messages: list[dict[str, str]],
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        body = self._body(params) | {"messages": messages}
        return self._stream(
            "/chat/completions",
            body,
            on_token,
            cancel,
            chat=True,
            extra_stops=list(params.stop[SERVER_STOPS:]),
        )

    def map_complete(
        self,
        prompts: list[str],
        params: GenParams,
        *,
        concurrency: int = 4,
        cancel: CancelToken | None = None,
    ) -> list[GenResult]:
        """Several completions at once (a server batches them); results in prompt order."""
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(lambda p: self.complete(p, params, cancel=cancel), prompts))

    def close(self) -> None:
        """Close the pooled connections (the server owns the model)."""
        self._client.close()
