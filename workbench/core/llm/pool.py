"""Keep serving engines busy: K model calls in flight, results taken in sequence order.

A pipeline describes its work as *units*: generators that yield a `Call` (a model call, run on a
worker thread, touching no database) and receive its result back (in the job's own thread, where
the unit commits what the call produced and yields its next call, or returns). The scheduler keeps
up to K calls in flight, always starting the ready call with the smallest `key`, and hands results
back in key order among those that completed together. So:

- every write happens in the thread that drives the scheduler: one writer per workspace
  connection, whatever K is;
- every call is committed as soon as it completes (a killed run loses at most what was in
  flight, and `--resume` re-issues exactly that);
- a unit's calls stay in order (a SELF-CHECK step's four stages), different units run in
  parallel; what a unit decides depends on its own calls' answers, never on timing;
- with K = 1, or with a backend that is not thread-safe (llama.cpp in-process), calls run one at
  a time in the driving thread, in key order — the same order as a plain loop.

Cancel (the job's token): no new call starts, open streams are closed at once
(`backend.close_streams`), calls that had completed are still committed, and `Cancelled` is
raised once everything in flight has returned. A fatal error of one call (ModelError: the server
is gone) does the same and raises that error.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..errors import Cancelled
from ..jobs import CancelToken
from .base import Backend

DEFAULT_SERVER_CONCURRENCY = 16
MAX_CONCURRENCY = 1024
log = logging.getLogger(__name__)
_POLL_S = 0.05  # how often the driving thread looks at the cancel token while calls are in flight


def is_thread_safe(backend: Backend) -> bool:
    """Whether several threads may call `backend` at once (servers: yes; llama.cpp: no)."""
    return bool(getattr(backend, "thread_safe", False))


def default_concurrency(backend: Backend) -> int:
    """16 for a server (continuous batching wants many requests), 1 in-process (one CPU
    context gains little from parallel sequences)."""
    return DEFAULT_SERVER_CONCURRENCY if is_thread_safe(backend) else 1


def resolve_concurrency(backend: Backend, requested: int | None) -> int:
    """The K a job uses: `requested` (>= 1) or the backend's default."""
    if requested is None:
        return default_concurrency(backend)
    return max(1, min(int(requested), MAX_CONCURRENCY))


def derive_seed(seed: int | None, seq: int) -> int | None:
    """The sampling seed of request number `seq` of a run seeded `seed` (None stays None: a
    fresh random seed per call). A 31-bit value servers and llama.cpp all accept; well mixed, so
    neighbouring requests do not get neighbouring seeds."""
    if seed is None:
        return None
    digest = hashlib.blake2b(f"{seed}:{seq}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


def endpoint_summary(backend: Backend) -> str | None:
    """The per-endpoint figures for a progress line, e.g. "gpu1:8000: 120 req 310 tok/s
    gpu2:8000: 118 req 2 failed 1 retried 305 tok/s, down"; None for a backend without
    endpoints (in-process) or one endpoint that has had no trouble (its tokens/s is the run's)."""
    stats = getattr(backend, "endpoint_stats", None)
    if stats is None:
        return None
    eps = stats()
    if len(eps) < 2 and not any(e.get("failures") or e.get("retries") for e in eps):
        return None
    parts = []
    for e in eps:
        trouble = "".join(
            f" {e[k]} {word}"
            for k, word in (
                ("failures", "failed"),
                ("stalled", "stalled"),
                ("retries", "retried"),
                ("cancelled", "cancelled"),
            )
            if e.get(k)
        )
        parts.append(
            f"{e['url'].split('//')[-1].removesuffix('/v1')}: {e['requests']} req{trouble} "
            f"{e['tokens_per_s']:.0f} tok/s{', down' if e['down'] else ''}"
        )
    return "  ".join(parts)


@dataclass
class Call:
    """One model call of a unit. `key`: its place in the sequence (smaller starts first, and
    results completed together are handed back smallest first). `run(cancel)` makes the call; it
    runs on a worker thread and must not touch the workspace. Whatever it returns is sent back
    into the unit; whatever it raises stops the job (after what is in flight has returned)."""

    key: tuple[Any, ...]
    run: Callable[[CancelToken], Any]


Unit = Generator[Call, Any, None]


@dataclass
class Group:
    """Units opened together (a solution's steps), and what to do once they have all returned
    (score the solution) — called in the driving thread."""

    units: list[Unit]
    on_done: Callable[[], None] | None = None
    _left: int = field(default=0, repr=False)


class CallScheduler:
    """Runs groups of units with up to `concurrency` calls in flight on `backend` (see the module
    docstring). One scheduler per job run; `in_flight` is safe to read from the driving thread
    (progress events)."""

    def __init__(
        self, backend: Backend, concurrency: int | None = None, cancel: CancelToken | None = None
    ) -> None:
        self.backend = backend
        self.concurrency = resolve_concurrency(backend, concurrency)
        self.parallel = self.concurrency > 1 and is_thread_safe(backend)
        self.cancel = cancel
        # The calls' own token: set on cancel and on a fatal error, so every open stream stops.
        self._inner = CancelToken()
        self._ready: list[tuple[tuple[Any, ...], int, Call, Unit, Group]] = []
        self._count = itertools.count()
        self._futures: dict[Future[Any], tuple[Call, Unit, Group]] = {}
        self._inline = 0
        self.calls_done = 0

    @property
    def in_flight(self) -> int:
        return len(self._futures) + self._inline

    def progress_data(self) -> dict[str, Any]:
        """Figures for a progress event: in_flight, and per-endpoint counts when the backend has
        several endpoints ("endpoints": a short text)."""
        data: dict[str, Any] = {"in_flight": self.in_flight, "concurrency": self.concurrency}
        summary = endpoint_summary(self.backend)
        if summary:
            data["endpoints"] = summary
        return data

    # ------------------------------------------------------------- internals
    def _advance(self, unit: Unit, group: Group, value: Any, first: bool = False) -> None:
        """Send `value` into `unit` (commits happen here) and queue its next call."""
        try:
            call = next(unit) if first else unit.send(value)
        except StopIteration:
            group._left -= 1
            if group._left == 0 and group.on_done is not None:
                group.on_done()
            return
        heapq.heappush(self._ready, (call.key, next(self._count), call, unit, group))

    def _open(self, groups: Iterator[Group]) -> bool:
        """Open groups until K calls are ready to start; False once there are no more."""
        while len(self._ready) < self.concurrency:
            group = next(groups, None)
            if group is None:
                return False
            group._left = len(group.units)
            if not group.units:
                if group.on_done is not None:
                    group.on_done()
                continue
            for unit in list(group.units):
                self._advance(unit, group, None, first=True)
        return True

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def _stop_calls(self) -> None:
        if not self._inner.cancelled:
            self._inner.cancel()
            close = getattr(self.backend, "close_streams", None)
            if close is not None:
                close(self._inner)

    def _close_units(self) -> None:
        for *_, unit, _group in self._ready:
            unit.close()
        self._ready.clear()

    # ------------------------------------------------------------------ run
    def run(self, groups: Iterable[Group]) -> None:
        """Drive every group's units to the end. Raises `Cancelled` when the job's token was
        cancelled, or the first error a call or a unit raised (after in-flight calls returned
        and those that completed were committed)."""
        it = iter(groups)
        try:
            if self.parallel:
                self._run_parallel(it)
            else:
                self._run_inline(it)
        finally:
            self._close_units()

    def _run_inline(self, groups: Iterator[Group]) -> None:
        token = self.cancel if self.cancel is not None else self._inner
        more = True
        while True:
            if more:
                more = self._open(groups)
            if not self._ready:
                return
            if self.cancel is not None:
                self.cancel.check()  # blocks while paused
            _key, _n, call, unit, group = heapq.heappop(self._ready)
            self._inline = 1
            try:
                value = call.run(token)
            finally:
                self._inline = 0
            self.calls_done += 1
            self._advance(unit, group, value)

    def _run_parallel(self, groups: Iterator[Group]) -> None:
        error: BaseException | None = None
        more = True
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="model-call")
        try:
            while True:
                stopping = error is not None or self._cancelled()
                if stopping:
                    self._stop_calls()
                elif not (self.cancel is not None and self.cancel.paused):
                    if more:
                        more = self._open(groups)
                    while self._ready and len(self._futures) < self.concurrency:
                        _key, _n, call, unit, group = heapq.heappop(self._ready)
                        fut = pool.submit(call.run, self._inner)
                        self._futures[fut] = (call, unit, group)
                if not self._futures:
                    if stopping or not self._ready:
                        break
                    continue  # paused with nothing in flight: poll the token
                done, _ = wait(list(self._futures), timeout=_POLL_S, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: self._futures[f][0].key):
                    call, unit, group = self._futures.pop(fut)
                    exc = fut.exception()
                    if exc is not None:
                        # A call closed by the cancel is not an error: it is re-issued on resume.
                        if error is None and not (
                            isinstance(exc, Cancelled)
                            and (self._inner.cancelled or self._cancelled())
                        ):
                            error = exc
                        unit.close()
                        continue
                    self.calls_done += 1
                    try:
                        self._advance(unit, group, fut.result())
                    except BaseException as e:  # a commit failed (disk full): stop the job
                        if error is None:
                            error = e
        except BaseException:
            self._stop_calls()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for _call, unit, _group in self._futures.values():
                unit.close()
            self._futures.clear()
        if error is not None:
            raise error
        if self._cancelled():
            raise Cancelled()


class Prefetcher:
    """A backend in front of a thread-safe one that answers calls asked for ahead of time.

    A sequential pipeline keeps taking its decisions one at a time, in its own order; before it
    asks, `prefetch(...)` sends the calls it is going to make (up to `concurrency` at once, on
    worker threads, the smallest `priority` first: the order the pipeline will take them in).
    When the pipeline then calls `complete`/`chat` with the same prompt and parameters, it gets
    the prefetched answer (waiting for it if still in flight); any other call goes to the backend
    directly. Nothing is recorded here: the pipeline records each call when it takes it, so an
    answer fetched but not yet taken is simply asked again after a kill. `then(result)` (on the
    worker thread) may prefetch the call that follows from an answer.

    Cancel (the pipeline's token): waiting calls return a "cancelled" result at once, open
    streams are closed, queued ones are dropped. `close()` stops everything and frees the
    threads (the wrapped backend stays open).

    `withdrawn`: calls sent ahead and answered whose answer the pipeline never took (withdrawn
    with `forget`, or still untaken at `close`): the server did the work, nothing records it.
    Those closed while still in flight are the endpoints' `cancelled`."""

    def __init__(
        self, backend: Backend, concurrency: int | None = None, cancel: CancelToken | None = None
    ) -> None:
        import threading

        self.backend = backend
        self.name = backend.name
        self.model_id = backend.model_id
        self.model_sha256 = backend.model_sha256
        self.thread_safe = True
        self.concurrency = resolve_concurrency(backend, concurrency)
        self.cancel = cancel
        self._inner = CancelToken()
        self._cond = threading.Condition()
        self._futures: dict[str, Future[Any]] = {}
        self._queue: list[tuple[tuple[Any, ...], int, Callable[[], None]]] = []
        self._count = itertools.count()
        self._running = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"prefetch-{i}")
            for i in range(self.concurrency)
        ]
        for t in self._threads:
            t.start()
        self.hits = 0
        self.withdrawn = 0

    @staticmethod
    def _key(prompt: str | None, messages: list[dict[str, str]] | None, params: Any) -> str:
        import json

        return json.dumps([prompt, messages, params.to_dict()], sort_keys=True, default=str)

    @property
    def in_flight(self) -> int:
        """Prefetched calls running now."""
        with self._cond:
            return self._running

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                _prio, _n, job = heapq.heappop(self._queue)
                self._running += 1
            try:
                job()
            finally:
                with self._cond:
                    self._running -= 1

    def prefetch(
        self,
        *,
        prompt: str | None = None,
        messages: list[dict[str, str]] | None = None,
        params: Any,
        priority: tuple[Any, ...] = (),
        then: Callable[[Any], None] | None = None,
    ) -> None:
        """Queue one call (`messages`: chat, else `prompt`: completion), unless the same one is
        already on its way or everything was cancelled. Smaller `priority` runs first."""
        key = self._key(prompt, messages, params)
        fut: Future[Any] = Future()

        def job() -> None:
            if not fut.set_running_or_notify_cancel():
                return
            try:
                if messages is not None:
                    res = self.backend.chat(messages, params, cancel=self._inner)
                else:
                    res = self.backend.complete(prompt or "", params, cancel=self._inner)
            except BaseException as exc:  # handed to whoever takes the answer
                fut.set_exception(exc)
                return
            # The follow-up is queued before the answer is handed over: a pipeline that takes
            # this answer and at once asks for the next call finds it on its way (else it would
            # make that call itself, in its own thread, one latency at a time).
            if then is not None and res.finish_reason != "cancelled":
                try:
                    then(res)
                except Exception:  # the follow-up is then made when asked for, not ahead
                    log.exception("a call to send ahead could not be prepared")
            fut.set_result(res)

        with self._cond:
            if key in self._futures or self._inner.cancelled or self._closed:
                return
            self._futures[key] = fut
            heapq.heappush(self._queue, (priority, next(self._count), job))
            self._cond.notify()

    def forget(
        self,
        *,
        prompt: str | None = None,
        messages: list[dict[str, str]] | None = None,
        params: Any,
    ) -> None:
        """Withdraw a call asked for ahead that the pipeline will not take after all: a queued
        one never starts, a running or finished one's answer is let go. Unknown calls: nothing."""
        with self._cond:
            fut = self._futures.pop(self._key(prompt, messages, params), None)
        if fut is not None and not fut.cancel():  # a queued call never starts
            # Running or done: counted once its answer is in (it may still be cut by a stop).
            fut.add_done_callback(self._count_withdrawn)

    def _count_withdrawn(self, fut: Future[Any]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        if getattr(fut.result(), "finish_reason", None) != "cancelled":
            with self._cond:
                self.withdrawn += 1

    def _take(self, key: str, direct: Callable[[], Any], cancel: CancelToken | None) -> Any:
        from .base import GenResult

        with self._cond:
            fut = self._futures.pop(key, None)
        if fut is None:
            return direct()
        self.hits += 1
        token = cancel or self.cancel
        while True:
            try:
                return fut.result(timeout=_POLL_S)
            except TimeoutError:
                if token is not None and token.cancelled:
                    self.stop()
                    return GenResult(text="", finish_reason="cancelled")

    def complete(
        self, prompt: str, params: Any, *, on_token: Any = None, cancel: CancelToken | None = None
    ) -> Any:
        return self._take(
            self._key(prompt, None, params),
            lambda: self.backend.complete(prompt, params, on_token=on_token, cancel=cancel),
            cancel,
        )

    def chat(
        self,
        messages: list[dict[str, str]],
        params: Any,
        *,
        on_token: Any = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        return self._take(
            self._key(None, messages, params),
            lambda: self.backend.chat(messages, params, on_token=on_token, cancel=cancel),
            cancel,
        )

    def stop(self) -> None:
        """Cancel every prefetched call: open streams closed, queued ones dropped."""
        if not self._inner.cancelled:
            self._inner.cancel()
            with self._cond:
                queued, self._queue = self._queue, []
            for *_rest, job in queued:
                job()  # each returns at once: the token is cancelled ("cancelled" result)
            close = getattr(self.backend, "close_streams", None)
            if close is not None:
                close(self._inner)

    def close(self) -> None:
        """Stop, end the worker threads, forget what was fetched (the backend stays open)."""
        self.stop()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            t.join()
        with self._cond:
            left = list(self._futures.values())
            self._futures.clear()
        for fut in left:  # every thread has ended: these are done or were never started
            if fut.done():
                self._count_withdrawn(fut)
