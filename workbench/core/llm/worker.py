"""llama.cpp in a worker process: a native fault ends the worker, never the app or the CLI.

    backend = WorkerBackend("model.gguf")            # spawns the worker, loads the model
    backend.complete("The capital of France is", GenParams(max_tokens=8), on_token=print)
    backend.close()                                  # the worker exits: its memory goes back

The worker is a child process started with multiprocessing's *spawn* context (never fork: Qt's
and llama.cpp's threads must not be copied half-way). It owns the `LlamaCppBackend` (the
`Llama`, its threads and its prefix-state cache); the parent holds this proxy, which implements
the same `Backend` protocol. One duplex pipe carries everything:

    parent -> worker   ("call", id, method, args, kwargs, stream)  ("cancel", id)  ("close",)
    worker -> parent   ("ready", facts)  ("tok", id, [pieces])  ("log", logger, level, text)
                       ("ok", id, result)  ("err", id, packed error)

Tokens stream as they are decoded; pieces decoded less than `TOKEN_BATCH_S` after the last
message share one (a fast GPU model would otherwise send a thousand messages a second); the
parent calls `on_token` once per piece. bench/generation.py measures the cost. The worker's
llama.cpp log lines are forwarded as log records and re-logged in the parent under
`workbench.llama`; its stdout and stderr go to a file that is read back only to explain a
crash (a GGML_ASSERT line), never to the terminal.

Failures:
- The worker dies (a signal, an abort, an OOM kill): the call raises `ModelProcessDied` saying
  which signal, during what, and what to do; the proxy stays usable and the next call starts a
  fresh worker (so a kept model in the GUI serves the next job).
- It dies from a signal during its first decode with extra buffer types on: it is restarted once
  with them off, the call is retried, and the model file is remembered (`kernels.py`).
- A cancel that gets no answer within `CANCEL_GRACE_S` (a hung kernel): the worker is ended and
  the call raises `Cancelled`.
- The parent dies (even SIGKILL): the worker sees its pipe close, or its parent change, and exits.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import Cancelled, ModelError, ModelProcessDied, WorkbenchError
from ..jobs import CancelToken
from .base import GenParams, GenResult, TokenCallback
from .gguf_info import ModelInfo, read_model_info
from .kernels import cpuinfo_text, crashed_before, extra_bufts_for, has_amx, remember_crash

log = logging.getLogger("workbench.llama")
# The worker's llama.cpp lines are re-logged here: for the workbench log only, never the
# terminal through Python's last-resort handler (llamacpp.py does the same in-process).
if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
    log.addHandler(logging.NullHandler())
notices = logging.getLogger("workbench.llm")  # what a person should see (status bar, stderr)

CANCEL_GRACE_S = 5.0  # a cancel unanswered this long means a hung worker: it is ended
CLOSE_GRACE_S = 3.0  # a worker asked to close gets this long before it is killed
POLL_S = 0.1  # how often a waiting call looks at its cancel token
TOKEN_BATCH_S = 0.005  # pieces decoded within this of the last message wait for the next one
# Test-only hook: the worker sends itself this signal on its first decode while extra buffer
# types are on (the AMX crash, reproduced on any CPU).
CRASH_HOOK_ENV = "WORKBENCH_TEST_SIGNAL_ON_FIRST_DECODE"
# Test-only hook, "CALL:TOKEN:SIGNAL": on its CALL-th generation call the worker sends itself
# SIGNAL after the TOKEN-th token (a fault in the middle of a real generation).
SIGNAL_AT_ENV = "WORKBENCH_TEST_SIGNAL_AT"
GENERATING = ("complete", "chat")
_START_LOCK = threading.Lock()


# ---------------------------------------------------------------------------- the worker side
class _PipeLogHandler(logging.Handler):
    def __init__(self, send: Callable[[tuple], None]) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # the parent is gone: nothing to log to
            self._send(("log", record.name, record.levelno, record.getMessage()))


def _pack_error(exc: BaseException) -> tuple:
    if isinstance(exc, WorkbenchError):
        return (
            "workbench",
            type(exc).__module__,
            type(exc).__qualname__,
            dict(vars(exc)),
            str(exc),
        )
    return ("other", f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _unpack_error(packed: tuple) -> Exception:
    if packed[0] == "workbench":
        _, module, qualname, state, text = packed
        try:
            import importlib

            cls = getattr(importlib.import_module(module), qualname)
            exc = cls.__new__(cls)
            exc.__dict__.update(state)
            Exception.__init__(exc, text)
            return exc
        except Exception:
            return ModelError(text)
    _, summary, trace = packed
    log.error("the model process failed:\n%s", trace)
    return ModelError(
        f"the model process failed: {summary}",
        hint="This is a bug in the workbench; the log has the details.",
    )


def _child_main(conn: Any, spec: dict[str, Any]) -> None:
    """The worker process: load the model, then serve calls until closed or orphaned."""
    # Ctrl+C reaches the whole terminal's process group; the parent turns it into a cancel.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.open(spec["stderr_path"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(out, 1)  # llama.cpp's own prints, a GGML_ASSERT: kept to explain a crash
    os.dup2(out, 2)
    os.close(out)
    send_lock = threading.Lock()

    def send(msg: tuple) -> None:
        with send_lock:
            conn.send(msg)

    root = logging.getLogger("workbench")
    root.handlers[:] = [_PipeLogHandler(send)]
    root.setLevel(spec.get("log_level", logging.WARNING))
    root.propagate = False

    calls: queue.Queue = queue.Queue()
    tokens: dict[int, CancelToken] = {}
    parent = os.getppid()

    def read() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone (or closed the pipe): nothing left to serve
            if msg[0] == "cancel":
                tok = tokens.get(msg[1])
                if tok is not None:
                    tok.cancel()
            elif msg[0] == "call":
                tokens[msg[1]] = CancelToken()  # before queueing: a cancel may follow at once
                calls.put(msg)
            else:
                calls.put(None)
                return

    def watch_parent() -> None:
        # Belt and braces: a pipe end leaked into another process would hide the EOF.
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=read, name="pipe-reader", daemon=True).start()
    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()

    from .llamacpp import LlamaCppBackend

    try:
        backend = LlamaCppBackend(spec["path"], info=spec["info"], **spec["options"])
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        send(("err", 0, _pack_error(exc)))
        return
    send(
        (
            "ready",
            {
                "pid": os.getpid(),
                "n_ctx": backend.n_ctx,
                "n_threads": backend.n_threads,
                "n_gpu_layers": backend.n_gpu_layers,
                "gpu": backend.gpu,
            },
        )
    )
    crash_signal = int(os.environ.get(CRASH_HOOK_ENV) or 0)
    signal_at = [int(x) for x in os.environ.get(SIGNAL_AT_ENV, "").split(":") if x.strip()]
    decoded = False
    n_calls = 0
    while True:
        msg = calls.get()
        if msg is None:
            break
        _, cid, method, args, kwargs, stream = msg
        batch = None
        try:
            if method in GENERATING:
                if crash_signal and not decoded and backend.extra_bufts is not False:
                    os.kill(os.getpid(), crash_signal)
                    time.sleep(5)  # the signal is delivered before this ends
                n_calls += 1
                batch = _TokenBatch(cid, send) if stream else None
                if batch is not None:
                    kwargs["on_token"] = batch
                if len(signal_at) == 3 and n_calls == signal_at[0]:
                    kwargs["on_token"] = _signal_after(
                        signal_at[1], signal_at[2], kwargs.get("on_token")
                    )
                kwargs["cancel"] = tokens[cid]
            try:
                result = getattr(backend, method)(*args, **kwargs)
            finally:
                if batch is not None:
                    batch.flush()  # every piece reaches the caller before the result
            if method in GENERATING:
                decoded = True
            send(("ok", cid, result))
        except BaseException as exc:  # noqa: BLE001 - every error goes back to the caller
            send(("err", cid, _pack_error(exc)))
        finally:
            tokens.pop(cid, None)
    backend.close()


class _TokenBatch:
    """The worker's on_token: sends pieces at once, or with the next piece when the last
    message went out less than TOKEN_BATCH_S ago."""

    def __init__(self, cid: int, send: Callable[[tuple], None]) -> None:
        self.cid, self.send = cid, send
        self.pending: list[str] = []
        self.last = 0.0

    def __call__(self, piece: str) -> None:
        self.pending.append(piece)
        now = time.monotonic()
        if now - self.last >= TOKEN_BATCH_S:
            self.flush()
            self.last = now

    def flush(self) -> None:
        if self.pending:
            self.send(("tok", self.cid, self.pending))
            self.pending = []


def _signal_after(n: int, sig: int, then: Callable[[str], None] | None) -> Callable[[str], None]:
    seen = [0]

    def on_token(piece: str) -> None:
        if then is not None:
            then(piece)
        seen[0] += 1
        if seen[0] == n:
            os.kill(os.getpid(), sig)
            time.sleep(5)  # the signal is delivered before this ends

    return on_token


# ---------------------------------------------------------------------------- the parent side
def _signal_words(sig: int) -> str:
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    desc = (signal.strsignal(sig) or "").lower()
    return f"signal {sig} ({name}{', ' + desc if desc else ''})"


class WorkerBackend:
    """The `Backend` protocol for a GGUF model run by llama.cpp in a worker process.

    Same calls and results as `LlamaCppBackend` (complete, chat, render_chat, tokenize, close);
    `on_token` receives pieces as they are decoded, `cancel` is honoured between tokens. Bad
    model files raise `ModelError` before a worker starts. Owned by one thread, like any
    backend; `kill(sig)` (tests) and the cancel token may be used from any thread.

    `extra_bufts`: "auto" | "on" | "off" (see `kernels.py`). `pid` is the worker's process id
    (None while no worker runs); `kernels` says which kernel rule applied and why.
    """

    name = "llama.cpp"

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        extra_bufts: str | None = "auto",
        prefix_cache: bool = True,
        cpuinfo: str | None = None,
    ) -> None:
        self.info: ModelInfo = read_model_info(model_path)  # refuse bad files before spawning
        self.model_id = self.info.path
        self.model_sha256: str | None = self.info.sha256
        self.has_chat_template = bool(self.info.has_chat_template)
        self.extra_bufts_setting = extra_bufts or "auto"
        self.amx = has_amx(cpuinfo_text() if cpuinfo is None else cpuinfo)
        self.extra_bufts, self.kernels = extra_bufts_for(
            self.extra_bufts_setting, amx=self.amx, crashed_before=crashed_before(self.info.path)
        )
        self._options: dict[str, Any] = {
            "n_ctx": n_ctx,
            "n_threads": n_threads,
            "n_gpu_layers": n_gpu_layers,
            "prefix_cache": prefix_cache,
        }
        self._ids = itertools.count(1)
        self._proc: Any = None
        self._conn: Any = None
        self._stderr_path: str | None = None
        self._decoded = False
        self._closed = False
        self.restarts = 0  # workers started after the first (a crash, a hang)
        self.n_ctx = self.n_threads = self.n_gpu_layers = 0
        self.gpu = False
        self._start()

    # ------------------------------------------------------------------ the process
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork: no copied threads or Qt state
        fd, self._stderr_path = tempfile.mkstemp(prefix="workbench-model-", suffix=".log")
        os.close(fd)
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        options = dict(self._options, extra_bufts=None if self.extra_bufts else False)
        spec = {
            "path": self.info.path,
            "info": self.info,
            "options": options,
            "stderr_path": self._stderr_path,
            "log_level": logging.getLogger("workbench.llama").getEffectiveLevel(),
        }
        proc = ctx.Process(
            target=_child_main, args=(child_conn, spec), daemon=True, name="workbench-model"
        )
        # spawn re-runs the parent's main script in the child unless it has a __main__ guard
        # (a user's script, a notebook cell file): the worker needs nothing from it, so the
        # child is told there is none. The swap lasts the few milliseconds of start().
        with _START_LOCK:
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                proc.start()
            finally:
                if main is not None:
                    sys.modules["__main__"] = main
        child_conn.close()  # only the worker holds its end: its death closes the pipe
        self._proc, self._conn = proc, parent_conn
        self._decoded = False
        try:
            facts = self._wait(0, None, None, during="loading the model")
        except ModelProcessDied as exc:
            if self._fall_back(exc):
                return self._start()
            raise
        except BaseException:
            self._stop()
            raise
        for key in ("n_ctx", "n_threads", "n_gpu_layers", "gpu"):
            setattr(self, key, facts[key])
        log.info(
            "model process %s serves %s (extra buffer types %s)",
            facts["pid"],
            self.info.path,
            self.kernels,
        )

    def _stop(self, *, graceful: bool = False) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if proc is not None:
            if graceful and proc.is_alive():
                try:
                    conn.send(("close",))
                    proc.join(CLOSE_GRACE_S)
                except (OSError, ValueError):
                    pass
            if proc.is_alive():
                proc.kill()
            proc.join(5)
        if conn is not None:
            conn.close()
        if self._stderr_path:
            with contextlib.suppress(OSError):
                os.unlink(self._stderr_path)
            self._stderr_path = None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send the worker a signal (tests; any thread). The call in progress raises
        `ModelProcessDied`, the next one starts a new worker."""
        if self._proc is not None and self._proc.pid:
            os.kill(self._proc.pid, sig)

    def close(self) -> None:
        """End the worker (its memory goes back to the system). Safe to call twice."""
        self._closed = True
        self._stop(graceful=True)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._stop()

    # ------------------------------------------------------------------ failures
    def _stderr_tail(self, lines: int = 6) -> list[str]:
        if not self._stderr_path:
            return []
        try:
            with open(self._stderr_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 4096))
                text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return [ln.strip() for ln in text.splitlines() if ln.strip()][-lines:]

    def _died(self, during: str) -> ModelProcessDied:
        proc = self._proc
        code = None
        if proc is not None:
            proc.join(5)
            code = proc.exitcode
        tail = self._stderr_tail()
        if tail:
            log.warning("the model process wrote before it stopped:\n%s", "\n".join(tail))
        sig = -code if code is not None and code < 0 else None
        if sig is not None:
            how = _signal_words(sig)
            what = f"the model process stopped with {how} during {during}"
        elif code is None:
            what = f"the model process stopped answering during {during}"
        else:
            what = f"the model process exited with code {code} during {during}"
        said = [ln for ln in tail if "GGML_ASSERT" in ln or "error" in ln.lower()]
        detail = f" llama.cpp said: {said[-1]}" if said else ""
        oom = (
            " A SIGKILL nobody sent usually means the system ran out of memory."
            if sig == signal.SIGKILL
            else ""
        )
        exc = ModelProcessDied(
            f"{what} of {Path(self.info.path).name}; the workbench itself is unaffected and "
            f"everything finished before it is saved.{detail}{oom}",
            hint="Resume the run (`--resume`, or Resume in the window); the next call starts a "
            "new model process. If it happens again: `--extra-bufts off`, fewer GPU layers, "
            "a smaller context (--ctx) or another model file.",
            signal=sig,
            exitcode=code,
        )
        self._stop()
        return exc

    def _fall_back(self, exc: ModelProcessDied) -> bool:
        """After a death by a signal before the first decode finished, with extra buffer types
        on in "auto": remember the file, switch them off, and say so. True: start again."""
        if (
            exc.signal is None
            or not self.extra_bufts
            or self._decoded
            or self._closed
            or self.extra_bufts_setting != "auto"
        ):
            return False
        how = _signal_words(exc.signal)
        remember_crash(self.info.path, how)
        self.extra_bufts = False
        self.kernels = "off (auto: the first decode crashed with them on)"
        notices.warning(
            "the model process stopped with %s on its first decode of %s; restarted with "
            "llama.cpp's extra buffer types off (safe kernels), remembered for this file",
            how,
            Path(self.info.path).name,
        )
        return True

    # ------------------------------------------------------------------ calls
    def _ensure(self) -> None:
        if self._closed:
            raise ModelError(f"{self.info.path}: this model was closed; open it again.")
        if self._proc is None or not self._proc.is_alive():
            if self._proc is not None:
                self._stop()
            self.restarts += 1
            self._start()

    def _wait(
        self, cid: int, on_token: TokenCallback | None, cancel: CancelToken | None, *, during: str
    ) -> Any:
        conn = self._conn
        cancel_sent: float | None = None
        token_error: BaseException | None = None
        while True:
            try:
                ready = conn.poll(POLL_S)
                msg = conn.recv() if ready else None
            except (EOFError, OSError):
                raise self._died(during) from None
            if msg is not None:
                kind = msg[0]
                if kind == "tok" and msg[1] == cid:
                    for piece in msg[2]:
                        if on_token is None or token_error is not None:
                            break
                        try:
                            on_token(piece)
                        except BaseException as exc:  # noqa: BLE001 - stop, then re-raise
                            token_error = exc
                            conn.send(("cancel", cid))
                elif kind == "log":
                    logging.getLogger(msg[1]).log(msg[2], "%s", msg[3])
                elif kind == "ready" and cid == 0:
                    return msg[1]
                elif kind in ("ok", "err") and msg[1] == cid:
                    if token_error is not None:
                        raise token_error
                    if kind == "err":
                        raise _unpack_error(msg[2])
                    return msg[2]
                # else: a late answer to an abandoned call
            # Looked at after every message too: a streaming worker keeps the pipe busy.
            if cancel is not None and cancel.cancelled and cid:
                now = time.monotonic()
                if cancel_sent is None:
                    conn.send(("cancel", cid))
                    cancel_sent = now
                elif now - cancel_sent > CANCEL_GRACE_S:
                    log.warning(
                        "the model process did not stop within %.0f s of a cancel "
                        "during %s; ending it",
                        CANCEL_GRACE_S,
                        during,
                    )
                    self._stop()
                    raise Cancelled(
                        f"Cancelled; the model process did not stop within {CANCEL_GRACE_S:.0f} s "
                        "and was ended (the next call starts a new one). The work done so far "
                        "is saved."
                    )

    def _call(
        self,
        method: str,
        *args: Any,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
        during: str,
        **kwargs: Any,
    ) -> Any:
        streamed = [False]

        def relay(piece: str) -> None:
            streamed[0] = True
            on_token(piece)  # type: ignore[misc]

        while True:
            self._ensure()
            cid = next(self._ids)
            try:
                self._conn.send(("call", cid, method, args, kwargs, on_token is not None))
                result = self._wait(
                    cid, relay if on_token is not None else None, cancel, during=during
                )
            except ModelProcessDied as exc:
                # The first decode crashed (the AMX fault): once, with safe kernels, unless
                # tokens already reached the caller (a retry would repeat them).
                if method in GENERATING and not streamed[0] and self._fall_back(exc):
                    continue
                raise
            if method in GENERATING:
                self._decoded = True
            return result

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        """Token ids of `text` (special tokens parsed), as the model sees it."""
        return self._call("tokenize", text, add_bos=add_bos, during="tokenization")

    def render_chat(self, messages: list[dict[str, str]]) -> tuple[str, list[str], bool]:
        """The prompt text the model's chat template makes of `messages`, its stop strings,
        and whether the template added the BOS token itself."""
        return self._call("render_chat", messages, during="chat template rendering")

    def chat_tokens(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """The token ids a chat call would evaluate, and its stop strings: template markers as
        control tokens, message text never (see `LlamaCppBackend.chat_tokens`)."""
        return self._call("chat_tokens", messages, during="chat template rendering")

    def prompt_tokens(self, prompt: str) -> list[int]:
        """The token ids a completion call would evaluate: a `PromptText`'s data never as
        control tokens (see `LlamaCppBackend.prompt_tokens`)."""
        return self._call("prompt_tokens", prompt, during="tokenization")

    def complete(
        self,
        prompt: str,
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        # A PromptText pickles as its text and its data spans: a few integers more.
        return self._call(
            "complete",
            prompt,
            params,
            on_token=on_token,
            cancel=cancel,
            during="generation (a completion)",
        )

    def chat(
        self,
        messages: list[dict[str, str]],
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        return self._call(
            "chat",
            messages,
            params,
            on_token=on_token,
            cancel=cancel,
            during="generation (a chat turn)",
        )
