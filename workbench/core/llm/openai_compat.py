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

An endpoint that *stalls* (accepts the connection, then sends nothing, or only the response
headers) while another one answers is treated the same way: once a request has waited for its
first token (the first data event; headers do not count) longer than the stall bound —
max(`stall_after`, 15 s by default, and 10 x the median time to first token of the answers so
far) — every request of that endpoint still waiting for its first token is closed and sent to
another endpoint (the same request: same seed), and the endpoint is set aside (`stalled` in
`endpoint_stats()`). With one endpoint, or none other answering, only the read timeout applies.

Stopping: every read waits in slices of a fraction of a second and looks at the request's cancel
token in between, so a cancel ends a request within a fraction of a second wherever it is —
waiting for the response headers of a server that never answers included (httpx's own read
timeout would only fire after `timeout` seconds, times the retries). Connecting too: a connect
(name lookup and TCP handshake, under the 10 s connect timeout) runs in a helper thread while the
request's thread looks at the token in the same slices, so a stop does not wait for a server that
does not answer the handshake. This is done by wrapping httpcore's network backend
(`_WatchedBackend`); `close_streams(cancel)` also closes, from any thread, every open stream of a
cancel token at once.

Thread-safe (`thread_safe = True`): unlike the llama.cpp backend, one object serves many threads
at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from ..errors import Cancelled, ModelError
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
# An endpoint failing again and again is set aside longer each time (doubling), up to this.
MAX_COOLDOWN_S = 240.0
# The stall bound: a request with no first token after max(STALL_MIN_S, STALL_FACTOR x the median
# time to first token of the answers so far) is sent elsewhere (when another endpoint answers).
STALL_MIN_S = 15.0
STALL_FACTOR = 10.0
TTFB_SAMPLES = 64  # answers per endpoint the median is taken over (the latest)
READ_SLICE_S = 0.2  # a read looks at its cancel token (and the stall bound) this often
# The model-list probe (no model named): seconds it waits for an answer before it says so.
PROBE_TIMEOUT_S = 20.0


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
    requests: int = 0  # answers received in full (what the server answered)
    failures: int = 0  # requests that failed here (and were sent elsewhere if possible)
    stalled: int = 0  # requests closed here for want of a first token, and sent elsewhere
    cancelled: int = 0  # requests sent here and closed by a cancel before their answer ended
    retries: int = 0  # tries repeated here after a 429, a 5xx or a timeout
    completion_tokens: int = 0
    active_s: float = 0.0  # wall time with at least one request in flight
    down_until: float = 0.0  # monotonic time before which it is skipped
    strikes: int = 0  # failures and stalls since its last answer (the set-aside doubles)
    stalled_at: float = 0.0  # when it was last found stalled
    last_error: str | None = None
    ttfb: deque[float] = field(default_factory=lambda: deque(maxlen=TTFB_SAMPLES))
    _active_since: float = 0.0

    def stats(self, now: float) -> dict[str, Any]:
        active = self.active_s + (now - self._active_since if self.in_flight else 0.0)
        return {
            "url": self.url,
            "requests": self.requests,
            "in_flight": self.in_flight,
            "failures": self.failures,
            "stalled": self.stalled,
            "cancelled": self.cancelled,
            "retries": self.retries,
            "completion_tokens": self.completion_tokens,
            "tokens_per_s": round(self.completion_tokens / active, 2) if active > 0 else 0.0,
            "down": self.down_until > now,
            "last_error": self.last_error,
        }


class _EndpointFailure(Exception):
    """The endpoint, not the request, failed: the request may be sent to another endpoint."""

    def __init__(self, error: ModelError, *, stalled: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.stalled = stalled


class _Interrupted(Exception):
    """Raised inside a read (through httpx, which passes it on): the request was cancelled, or
    its endpoint stalled (`reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_local = threading.local()  # .watch: the _Watch of the request this thread is making


@dataclass
class _Watch:
    """One request in progress: what its reads look at between slices."""

    backend: OpenAICompatBackend
    index: int  # its endpoint
    cancel: CancelToken | None
    started: float
    first_byte: float | None = None
    sent: bool = False  # its bytes went out (the server has it)

    def check(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise _Interrupted("cancelled")
        if self.first_byte is None and self.backend._is_stalled(self):
            raise _Interrupted("stalled")

    def got_bytes(self) -> None:
        """The first content arrived (a streamed data event, or the model list's body): not
        the response headers, which a server can send and then say nothing more."""
        if self.first_byte is None:
            self.first_byte = time.monotonic()
            self.backend._note_ttfb(self.index, self.first_byte - self.started)


class _WatchedStream(httpcore.NetworkStream):
    """httpcore's socket stream, reading in slices that look at the thread's `_Watch`."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        watch: _Watch | None = getattr(_local, "watch", None)
        if watch is None:
            return self._inner.read(max_bytes, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            watch.check()
            step = READ_SLICE_S
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise httpcore.ReadTimeout("timed out")
                step = min(step, left)
            try:
                data = self._inner.read(max_bytes, step)
            except httpcore.ReadTimeout:
                continue
            return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        watch: _Watch | None = getattr(_local, "watch", None)
        if watch is not None:
            watch.check()
        self._inner.write(buffer, timeout)
        if watch is not None:
            watch.sent = True

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _WatchedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _watched_connect(
    connect: Callable[[], httpcore.NetworkStream], watch: _Watch
) -> httpcore.NetworkStream:
    """`connect()` (httpcore's own: the name lookup and the TCP handshake, under its connect
    timeout) run in a helper thread while this thread looks at `watch` every READ_SLICE_S, so a
    stop ends a pending connect at once (raises _Interrupted). A connect given up that way is
    closed by its helper when it completes (within the connect timeout). Not a loop of short
    connects: each would restart the handshake, and a server more than READ_SLICE_S away (or a
    lost SYN, resent after 1 s) would never be reached. Errors of `connect()` are raised here."""
    watch.check()
    done = threading.Event()
    lock = threading.Lock()
    state: dict[str, Any] = {}  # "stream" or "error"; "abandoned" once the caller left

    def attempt() -> None:
        try:
            stream, error = connect(), None
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            stream, error = None, exc
        with lock:
            state.update(stream=stream, error=error)
            abandoned = state.get("abandoned", False)
        done.set()
        if abandoned and stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    threading.Thread(target=attempt, name="workbench-connect", daemon=True).start()
    try:
        while not done.wait(READ_SLICE_S):
            watch.check()
    except BaseException:
        with lock:
            state["abandoned"] = True
            late = state.get("stream")
        if late is not None:
            with contextlib.suppress(Exception):
                late.close()
        raise
    if state["error"] is not None:
        raise state["error"]
    stream = state["stream"]
    assert stream is not None
    return stream


class _WatchedBackend(httpcore.NetworkBackend):
    """httpcore's network backend whose streams are `_WatchedStream`s."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        watch: _Watch | None = getattr(_local, "watch", None)
        if watch is None:
            return _WatchedStream(self._inner.connect_tcp(*args, **kwargs))
        return _WatchedStream(
            _watched_connect(lambda: self._inner.connect_tcp(*args, **kwargs), watch)
        )

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _WatchedStream(self._inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _watch_reads(client: httpx.Client) -> bool:
    """Put `_WatchedBackend` under every connection pool of `client` (httpx gives no public way
    to name httpcore's network backend); False when this httpx's insides are not as expected
    (a stop then waits for the read timeout, as before)."""
    transports = [client._transport, *client._mounts.values()]
    done = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        inner = getattr(pool, "_network_backend", None)
        if isinstance(inner, httpcore.NetworkBackend):
            pool._network_backend = _WatchedBackend(inner)  # type: ignore[union-attr]
            done = True
    return done


class OpenAICompatBackend:
    """A model on one or several OpenAI-compatible endpoints.

    `base_url`: a URL, a comma list of URLs, or a sequence of them (all serving the same model).
    `timeout`: seconds a read may wait (the first token of a long prompt on a busy server
    included); `retries`: extra tries on 429, 5xx and timeouts per endpoint; `backoff`: the first
    retry's delay in seconds when the server sends no Retry-After (doubled each time);
    `stall_after`: the least seconds a request waits for its first token before it is sent to
    another endpoint that answers (the bound grows with the endpoints' median time to first
    token; see the module docstring). `probe_timeout`: seconds the model-list probe (`model`
    None) waits for an answer; `cancel`: a token that ends the probe at once (raises Cancelled).
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
        stall_after: float = STALL_MIN_S,
        probe_timeout: float = PROBE_TIMEOUT_S,
        cancel: CancelToken | None = None,
    ) -> None:
        self.endpoints = [Endpoint(u) for u in split_endpoints(base_url)]
        self.base_url = self.endpoints[0].url
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.stall_after = stall_after
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
        if not _watch_reads(self._client):  # pragma: no cover - another httpx
            log.warning("httpx's insides changed: a stop waits for the read timeout")
        self.model_sha256: str | None = None
        try:
            self.model_id = model or self._first_model(probe_timeout, cancel)
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
                    # One that failed or stalled since its last answer gets one request at a
                    # time (a probe) while another can take it.
                    eps[i].strikes > 0 and eps[i].in_flight > 0,
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
        self,
        i: int,
        *,
        result: GenResult | None = None,
        failure: str | None = None,
        stalled: bool = False,
        cancelled: bool = False,
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
                ep.strikes = 0
            if cancelled:
                ep.cancelled += 1
            if failure is not None:
                if stalled:
                    ep.stalled += 1
                    ep.stalled_at = now
                else:
                    ep.failures += 1
                ep.last_error = failure
                ep.strikes += 1
                cooldown = ENDPOINT_COOLDOWN_S * 2 ** min(ep.strikes - 1, 8)
                ep.down_until = now + min(cooldown, MAX_COOLDOWN_S)

    def _note_ttfb(self, i: int, seconds: float) -> None:
        with self._lock:
            self.endpoints[i].ttfb.append(seconds)

    def stall_bound(self) -> float:
        """Seconds a request may wait for its first token before it counts as stalled:
        max(`stall_after`, STALL_FACTOR x the median time to first token of the latest answers
        of every endpoint)."""
        with self._lock:
            return self._stall_bound()

    def _stall_bound(self) -> float:
        samples = [t for ep in self.endpoints for t in ep.ttfb]
        median = statistics.median(samples) if samples else 0.0
        return max(self.stall_after, STALL_FACTOR * median)

    def _is_stalled(self, watch: _Watch) -> bool:
        """Whether a request still waiting for its first token should go elsewhere: another
        endpoint is up and has answered, and this one was found stalled (and is set aside) or
        the request waited past the stall bound."""
        if len(self.endpoints) < 2:
            return False
        now = time.monotonic()
        with self._lock:
            ep = self.endpoints[watch.index]
            if not any(
                j != watch.index and e.down_until <= now and e.requests > 0
                for j, e in enumerate(self.endpoints)
            ):
                return False
            if ep.stalled_at and ep.down_until > now:
                return True
            return now - watch.started > self._stall_bound()

    def endpoint_stats(self) -> list[dict[str, Any]]:
        """Per endpoint: url, requests (answered in full), in_flight, failures, stalled
        (requests closed for want of a first token and sent elsewhere), cancelled (sent, then
        closed by a cancel), retries (tries repeated after a 429, 5xx or timeout),
        completion_tokens, tokens_per_s (completion tokens over the wall time it had work),
        down, last_error."""
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
        self,
        base: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        failover: bool,
        cancel: CancelToken | None = None,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        """An open (streaming) response with status 200 from `base + path`, after the retries
        (`read_timeout`: a read timeout of its own, without retries on a timeout).

        Raises ModelError for what another endpoint would answer the same way (401, 404, 400),
        and _EndpointFailure (when `failover`) for what is this endpoint's fault."""
        url = base + path
        retries = self.retries if read_timeout is None else 0
        for attempt in range(retries + 1):
            try:
                req = (
                    self._client.build_request(
                        "GET",
                        url,
                        timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT_S),
                    )
                    if read_timeout is not None
                    else self._client.build_request("GET", url)
                    if body is None
                    else self._client.build_request(
                        "POST", url, json=body, headers={"Accept": "text/event-stream"}
                    )
                )
                resp = self._post_or_get(req, base)
            except httpx.TimeoutException as exc:
                if attempt < retries:
                    self._count_retry(base)
                    self._pause(self.backoff * 2**attempt, cancel)
                    continue
                err = ModelError(
                    f"{url}: no answer in time ({type(exc).__name__}).",
                    hint="The server may be overloaded; check it, or lower --concurrency.",
                )
                stalled = read_timeout is not None
                raise (_EndpointFailure(err, stalled=stalled) if failover else err) from exc
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
            if code in RETRY_STATUSES and attempt < retries:
                self._count_retry(base)
                self._pause(self._retry_delay(resp, attempt), cancel)
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

    @staticmethod
    def _pause(seconds: float, cancel: CancelToken | None) -> None:
        """A retry's wait, cut short by a cancel (raises _Interrupted)."""
        if cancel is None:
            time.sleep(seconds)
        elif cancel.wait(seconds):
            raise _Interrupted("cancelled")

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

    def _first_model(self, probe_timeout: float, cancel: CancelToken | None) -> str:
        """The first model the first endpoint that answers lists. Each endpoint is given
        `probe_timeout` seconds (the stall bound when there are several) to send its list, in
        watched slices, so `cancel` ends the probe at once (raises Cancelled)."""
        last: ModelError | None = None
        several = len(self.endpoints) > 1
        wait = min(self.stall_after, probe_timeout) if several else probe_timeout
        for i, ep in enumerate(self.endpoints):
            watch = _Watch(self, i, cancel, time.monotonic())
            previous = getattr(_local, "watch", None)
            _local.watch = watch
            try:
                resp = self._send(ep.url, "/models", None, failover=True, read_timeout=wait)
                try:
                    body = resp.read()
                    watch.got_bytes()
                finally:
                    resp.close()
                data = json.loads(body)
            except _Interrupted as exc:
                raise Cancelled() from exc
            except (httpx.TimeoutException, _EndpointFailure) as exc:
                stalled = isinstance(exc, httpx.TimeoutException) or bool(exc.stalled)
                if stalled:
                    err = ModelError(
                        f"no answer from {ep.url}/models in {wait:g} s: is the server up?",
                        hint="Check the server, or give --server-model to skip this probe.",
                    )
                else:
                    assert isinstance(exc, _EndpointFailure)
                    err = exc.error
                last = err
                with self._lock:
                    if stalled:
                        ep.stalled += 1
                        ep.stalled_at = time.monotonic()
                    else:
                        ep.failures += 1
                    ep.strikes += 1
                    ep.last_error = err.message
                    ep.down_until = time.monotonic() + ENDPOINT_COOLDOWN_S
                continue
            except (json.JSONDecodeError, httpx.HTTPError) as exc:
                raise ModelError(
                    f"{ep.url}/models: the server sent an unreadable model list."
                ) from exc
            finally:
                _local.watch = previous
            models = data.get("data") if isinstance(data, dict) else None
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
            if cancel is not None and cancel.cancelled:
                return GenResult(text="", finish_reason="cancelled")  # never sent: no request
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

            watch = _Watch(self, i, cancel, time.monotonic())
            try:
                try:
                    result = self._read(
                        self.endpoints[i].url,
                        path,
                        body,
                        counted,
                        watch,
                        chat,
                        extra_stops,
                        failover=failover,
                    )
                except _Interrupted as exc:
                    if exc.reason != "stalled":
                        self._release(i, cancelled=watch.sent)
                        return GenResult(text="", finish_reason="cancelled")
                    url = self.endpoints[i].url + path
                    raise _EndpointFailure(
                        ModelError(
                            f"{url}: no first token in {time.monotonic() - watch.started:.1f} s "
                            "while another endpoint answers (stalled).",
                            hint="Check that server; it is set aside for a while.",
                        ),
                        stalled=True,
                    ) from exc
            except _EndpointFailure as exc:
                self._release(i, failure=exc.error.message, stalled=exc.stalled)
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
            if result.finish_reason == "cancelled":
                self._release(i, cancelled=True)
            else:
                self._release(i, result=result)
            return result

    def _read(
        self,
        base: str,
        path: str,
        body: dict[str, Any],
        on_token: TokenCallback,
        watch: _Watch,
        chat: bool,
        extra_stops: list[str],
        *,
        failover: bool,
    ) -> GenResult:
        """One try of a request on endpoint `base`, its reads watched by `watch` (cancel and
        stall: raises _Interrupted before the response headers)."""
        previous = getattr(_local, "watch", None)
        _local.watch = watch
        try:
            return self._read_watched(
                base, path, body, on_token, watch.cancel, chat, extra_stops, failover=failover
            )
        finally:
            _local.watch = previous

    def _read_watched(
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
        watch: _Watch | None = getattr(_local, "watch", None)
        resp = self._send(base, path, body, failover=failover, cancel=cancel)
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
                if watch is not None:
                    watch.got_bytes()
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
        except _Interrupted as exc:
            if exc.reason == "stalled":
                raise  # headers, then nothing: sent elsewhere like a silent endpoint
            finish = "cancelled"  # the cancel seen between two slices of a read
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
