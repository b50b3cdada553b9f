"""Helpers shared by the concurrency tests (tests/test_concurrency.py against the loopback
simulated server, tests/test_concurrency_server.py against a real llama_cpp.server): a free
port, read-only looks at a workspace another process is writing, the SIGKILL/resume loop of a
CLI run, and the check that every recorded call belongs to exactly one stage of one step."""

from __future__ import annotations

import contextlib
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench.core.errors import Cancelled
from workbench.core.jobs import CancelToken
from workbench.core.store.workspace import Workspace

STAGE_CALLS = ("target_call_id", "collect_call_id", "regen_call_id", "compare_call_id")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count_calls(ws_path: Path) -> int:
    """Recorded model calls, read-only (0 while the workspace does not exist yet)."""
    try:
        con = sqlite3.connect(f"file:{ws_path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute("SELECT count(*) FROM model_calls").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def check_rows(ws_path: Path, extra: Sequence[str] = ()) -> dict[int, dict[str, Any]]:
    """SELF-CHECK rows by step id: verdict, the four stages' call ids and `extra` columns."""
    ws = Workspace.open(ws_path)
    try:
        cols = ", ".join(["step_id", "verdict", *STAGE_CALLS, *extra])
        return {r["step_id"]: r for r in ws.query(f"SELECT {cols} FROM sc_checks")}
    finally:
        ws.close()


def kill_and_resume(
    cmd: list[str],
    ws_path: Path,
    *,
    kills: int,
    every: int,
    total: int,
    rows: Callable[[Path], dict[Any, dict[str, Any]]] = check_rows,
    poll_s: float = 0.01,
) -> tuple[str, int]:
    """Run `cmd` (a CLI run with --resume) until it finishes, killing it with SIGKILL `kills`
    times, each once `every` more calls are recorded (or all but one of `total`). After each
    kill, nothing recorded before an earlier kill is lost or changed (`rows`, values other than
    None and "pending"). Returns the finishing run's stdout and how many kills there were."""
    done, seen = 0, {}
    while True:
        before = count_calls(ws_path)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while p.poll() is None:
            if done < kills and count_calls(ws_path) >= min(before + every, total - 1):
                p.send_signal(signal.SIGKILL)
                break
            time.sleep(poll_s)
        out, err = p.communicate()
        if p.returncode == -signal.SIGKILL:
            done += 1
            now = rows(ws_path)
            for key, row in seen.items():
                assert all(now[key][c] == v for c, v in row.items() if v not in (None, "pending"))
            seen = now
            continue
        assert p.returncode == 0, err
        return out, done


def assert_each_call_once(ws: Workspace) -> None:
    """Every recorded call is referenced by exactly one stage of one step: none orphaned,
    none twice."""
    refs = [r[c] for r in ws.query("SELECT * FROM sc_checks") for c in STAGE_CALLS]
    assert sorted(refs) == sorted(r["id"] for r in ws.query("SELECT id FROM model_calls"))


# ------------------------------------------------------------------------------ SELF-INSTRUCT
def run_si(
    tmp_path: Path,
    name: str,
    backend,
    k: int,
    cancel: CancelToken | None = None,
    progress=None,
    resume: int | None = None,
    ws: Workspace | None = None,
    summaries: list[Any] | None = None,
):
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

    ws = ws or init_workspace(tmp_path / f"{name}.sqlite")
    kw = {"progress": progress} if progress else {}
    with contextlib.suppress(Cancelled):
        summary = run_self_instruct(
            ws,
            backend,
            RunConfig(preset="chat", target=12, seed=3),
            concurrency=k,
            cancel=cancel,
            resume_run_id=resume,
            **kw,
        )
        if summaries is not None:
            summaries.append(summary)
    return ws


def accepted_tasks(ws: Workspace) -> list[str]:
    return [
        r["instruction"]
        for r in ws.query("SELECT instruction FROM tasks WHERE source = 'generated' ORDER BY id")
    ]


def si_calls(ws: Workspace) -> list[tuple]:
    return sorted(
        tuple(r.values())
        for r in ws.query(
            "SELECT purpose, coalesce(prompt, messages), params, raw_output FROM model_calls"
        )
    )


class HangListener:
    """A TCP listener on 127.0.0.1 that accepts connections, reads what is sent, and never
    answers (a server that hangs before its first byte). `url`; `requests`: an Event set once
    a request's bytes arrived; `connections`: how many it accepted. `headers_only`: it sends
    `200 OK` headers (an SSE content type) for each request, then nothing more."""

    HEADERS = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )

    def __init__(self, *, headers_only: bool = False) -> None:
        self.headers_only = headers_only
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.requests = threading.Event()
        self.connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        try:
            while data := conn.recv(65536):
                self.requests.set()
                if self.headers_only and b"\r\n\r\n" in data:
                    conn.sendall(self.HEADERS)
        except OSError:
            pass

    def __enter__(self) -> HangListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        for c in self._open:
            c.close()


class FullBacklog:
    """A TCP listener on 127.0.0.1 whose accept queue is full (listen(0), one connection queued
    and never accepted): the kernel drops further SYNs, so a connect to `url` stays pending
    (retransmitting its SYN) until its timeout. `pending()`: whether this OS does that (Linux
    does); `release()` accepts the queued connection, making room for one more, and returns the
    next connection accepted (within `timeout` seconds), or None."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(0)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._held = [socket.create_connection(("127.0.0.1", self.port), timeout=5)]

    def pending(self) -> bool:
        with socket.socket() as s:
            s.settimeout(0.5)
            try:
                s.connect(("127.0.0.1", self.port))
            except TimeoutError:
                return True
            except OSError:
                return False
            self._held.append(s.dup())  # connected: this OS queues more than asked
            return False

    def release(self, timeout: float) -> socket.socket | None:
        first, _ = self._sock.accept()
        self._held.append(first)
        self._sock.settimeout(timeout)
        try:
            conn, _ = self._sock.accept()
        except TimeoutError:
            return None
        self._held.append(conn)
        return conn

    def __enter__(self) -> FullBacklog:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        for c in self._held:
            c.close()
