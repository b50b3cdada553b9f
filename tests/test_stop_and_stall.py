"""Stopping and stalls against servers that never answer (issue 17, break-test findings 2, 3
and 9): a stop closes every open request at once, headers still awaited included; an endpoint
that accepts connections but sends nothing is set aside and its requests go to another; the
per-endpoint counts say what the servers answered."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
from concurrency_helpers import FullBacklog, HangListener, accepted_tasks, run_si, si_calls

from workbench.cli import build_parser
from workbench.core.errors import Cancelled, ModelError
from workbench.core.jobs import CancelToken
from workbench.core.llm.base import GenParams, GenResult
from workbench.core.llm.openai_compat import OpenAICompatBackend
from workbench.core.llm.simserver import SimulatedServer
from workbench.core.seeds import init_workspace
from workbench.core.store.workspace import Workspace


@pytest.mark.parametrize("option", ["--concurrency", "--round-size"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_counts_below_one_are_refused(option: str, value: str, capsys) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["self-instruct", "--server", "http://127.0.0.1:1", option, value])
    assert exc.value.code == 2
    assert f"argument {option}: must be at least 1, got {value}" in capsys.readouterr().err


def test_a_cancel_ends_a_request_waiting_for_headers(tmp_path) -> None:
    """A server that accepted the request and never answers: the cancel ends the call at once,
    long before the read timeout; the request is counted as cancelled, not answered."""
    with HangListener() as hang:
        backend = OpenAICompatBackend(hang.url, model="m", timeout=600, retries=3)
        token = CancelToken()
        out: list[GenResult] = []
        t = threading.Thread(
            target=lambda: out.append(backend.complete("hi", GenParams(), cancel=token))
        )
        t.start()
        assert hang.requests.wait(60)  # the request is on the server, waiting
        token.cancel()
        t.join(60)  # the read timeout (600 s) times the retries would be 40 min
        assert not t.is_alive()
        assert out[0].finish_reason == "cancelled"
        (ep,) = backend.endpoint_stats()
        assert (ep["requests"], ep["cancelled"], ep["in_flight"]) == (0, 1, 0)
        # A call cancelled before it is sent is no request at all.
        assert backend.complete("x", GenParams(), cancel=token).finish_reason == "cancelled"
        assert backend.endpoint_stats()[0]["cancelled"] == 1 and hang.connections == 1
        backend.close()


@pytest.mark.parametrize("headers_only", [False, True], ids=["silent", "headers-then-nothing"])
def test_the_model_list_probe_ends_on_a_cancel(headers_only: bool) -> None:
    """Second new-user trial, finding 1: with no model named, the backend asks the server for
    its model list; a server that never answers it (or sends headers and then nothing) is left
    at once on a cancel (Ctrl+C, the window's Cancel), not after the read timeout."""
    with HangListener(headers_only=headers_only) as hang:
        token = CancelToken()
        out: list[BaseException] = []

        def probe() -> None:
            try:
                OpenAICompatBackend(hang.url, timeout=600, probe_timeout=600, cancel=token)
            except BaseException as exc:  # noqa: BLE001 - the outcome is what is tested
                out.append(exc)

        t = threading.Thread(target=probe)
        t.start()
        assert hang.requests.wait(60)
        token.cancel()
        t.join(60)  # the probe timeout is 600 s
        assert not t.is_alive() and len(out) == 1 and isinstance(out[0], Cancelled)


@pytest.mark.parametrize("headers_only", [False, True], ids=["silent", "headers-then-nothing"])
def test_a_hung_model_list_probe_says_what_to_do(headers_only: bool) -> None:
    """A probe that gets no model list in its time names the URL and the way round it."""
    with HangListener(headers_only=headers_only) as hang, pytest.raises(ModelError) as exc:
        OpenAICompatBackend(hang.url, probe_timeout=0.3)
    assert f"no answer from {hang.url}/v1/models in 0.3 s: is the server up?" in str(exc.value)
    assert "--server-model" in (exc.value.hint or "")


def test_ctrl_c_ends_the_cli_model_list_probe(tmp_path) -> None:
    """The CLI says whom it waits for before the probe, and Ctrl+C ends that wait."""
    ws = tmp_path / "probe.sqlite"
    init_workspace(ws).close()
    with HangListener() as hang:
        cmd = [sys.executable, "-m", "workbench", "self-instruct", "-w", str(ws)]
        p = subprocess.Popen(
            [*cmd, "--target", "2", "--server", hang.url],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        while not hang.requests.wait(0.05):
            assert p.poll() is None, p.communicate()
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=60)  # the probe timeout alone is 20 s
    assert p.returncode != 0 and f"connecting to {hang.url}".encode() in err, err


def test_complete_says_whom_it_connects_to(tmp_path) -> None:
    """`workbench complete --server URL` (no --server-model) prints the same "connecting to"
    line as the other commands before it waits for the model list; Ctrl+C ends that wait."""
    with HangListener() as hang:
        p = subprocess.Popen(
            [sys.executable, "-m", "workbench", "complete", "--server", hang.url, "hi"],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        while not hang.requests.wait(0.05):
            assert p.poll() is None, p.communicate()
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=60)  # the probe timeout alone is 20 s
    line = f"connecting to {hang.url} (asking for its model list)...".encode()
    assert p.returncode != 0 and err.startswith(line), err


def _connecting() -> bool:
    """Whether a watched connect is pending (its helper thread is alive)."""
    return any(t.name == "workbench-connect" for t in threading.enumerate())


@pytest.mark.parametrize("where", ["request", "probe"])
def test_a_cancel_ends_a_pending_connect(where: str) -> None:
    """A server that does not answer the TCP handshake (a listener whose accept queue is full
    drops SYNs): a cancel ends the connect at once, not after the 10 s connect timeout. No
    retries, so without the watched connect the outcome would be a ConnectTimeout error, not a
    cancel. The connect given up is closed when it completes later."""
    with FullBacklog() as full:
        if not full.pending():
            pytest.skip("this OS completes connects to a listener with a full backlog")
        token = CancelToken()
        out: list[object] = []

        def call() -> None:
            try:
                if where == "probe":
                    OpenAICompatBackend(full.url, retries=0, cancel=token)
                else:
                    backend = OpenAICompatBackend(full.url, model="m", retries=0)
                    out.append(backend.complete("hi", GenParams(), cancel=token))
                    backend.close()
            except BaseException as exc:  # noqa: BLE001 - the outcome is what is tested
                out.append(exc)

        t = threading.Thread(target=call)
        t.start()
        while not _connecting():
            assert t.is_alive(), out
            time.sleep(0.01)
        token.cancel()
        t.join(60)
        assert not t.is_alive() and len(out) == 1
        if where == "probe":
            assert isinstance(out[0], Cancelled), out
        else:
            assert isinstance(out[0], GenResult) and out[0].finish_reason == "cancelled", out
        # The kernel resends the SYN (after 1 s, then 3 s): given room, the handshake completes
        # and the helper closes the connection nobody waits for any more.
        late = full.release(timeout=30)
        assert late is not None
        late.settimeout(30)
        assert late.recv(1) == b""


@pytest.mark.parametrize("headers_only", [False, True], ids=["silent", "headers-then-nothing"])
def test_a_stalled_endpoint_is_set_aside_and_the_run_is_the_same(
    tmp_path, headers_only: bool
) -> None:
    """Two endpoints, one that accepts and never answers (or sends 200 headers and then
    nothing: the stall is judged on the first token, not the headers): its requests go to the
    other after the stall bound, it is reported as stalled, and the run accepts the same tasks
    as on the healthy endpoint alone. The counts say what the server answered: recorded calls
    plus those sent ahead and withdrawn."""
    hang_listener = HangListener(headers_only=headers_only)
    with SimulatedServer(latency=0.02, per_token=0.0) as sim, hang_listener as hang:
        ref = run_si(tmp_path, "ref", OpenAICompatBackend(sim.url), 8)
        sim.requests = 0
        # Asked for its model list, the stalled endpoint is passed over for the next one.
        first = OpenAICompatBackend([hang.url, sim.url], timeout=600, stall_after=0.2)
        assert first.model_id == "sim" and first.endpoint_stats()[0]["stalled"] == 1
        first.close()
        backend = OpenAICompatBackend(
            [hang.url, sim.url], model="sim", timeout=600, stall_after=0.2
        )
        summaries: list = []
        ws = run_si(tmp_path, "two", backend, 8, summaries=summaries)
        assert accepted_tasks(ws) == accepted_tasks(ref) and len(accepted_tasks(ws)) == 12
        assert si_calls(ws) == si_calls(ref)  # nothing recorded twice
        stalled, healthy = backend.endpoint_stats()
        assert stalled["stalled"] >= 1 and stalled["requests"] == 0
        assert "stalled" in stalled["last_error"] and hang.connections >= 1
        summary = summaries[0]
        calls = ws.scalar("SELECT count(*) FROM model_calls")
        assert healthy["requests"] == calls + summary.withdrawn
        # Every request the server received was answered in full or closed by the stop.
        assert sim.requests == healthy["requests"] + healthy["cancelled"]
        ws.close()
        ref.close()
        backend.close()


def test_ctrl_c_ends_a_cli_run_waiting_on_a_silent_server_and_resume_finishes(tmp_path) -> None:
    """Finding 2 of the break test: Ctrl+C while every request waits on a server that accepted
    it and never answers. The run stops at once (not after the 120 s read timeout and its
    retries), recorded as cancelled; --resume on a server that answers finishes it, each call
    recorded once."""
    ws = tmp_path / "hang.sqlite"
    base = [sys.executable, "-m", "workbench", "self-instruct", "-w", str(ws), "--target", "2"]
    base += ["--concurrency", "4", "--server-model", "sim"]
    init_workspace(ws).close()
    with HangListener() as hang:
        p = subprocess.Popen(
            [*base, "--server", hang.url], stderr=subprocess.PIPE, stdout=subprocess.PIPE
        )
        while not hang.requests.wait(0.05):  # until the step-1 request is on the server
            assert p.poll() is None, p.communicate()
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=60)  # the read timeout alone is 120 s
    assert p.returncode == 1 and b"resume with --resume" in err
    db = Workspace.open(ws)
    try:
        assert db.query("SELECT status FROM runs")[0]["status"] == "cancelled"
        assert db.scalar("SELECT count(*) FROM model_calls") == 0
    finally:
        db.close()
    with SimulatedServer(latency=0.0, per_token=0.0) as sim:
        done = subprocess.run(
            [*base, "--server", sim.url, "--resume", "--json"], capture_output=True, text=True
        )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["accepted"] == 2 and out["run_id"] == 1
    db = Workspace.open(ws)
    try:
        keys = db.query("SELECT purpose, coalesce(prompt, messages) AS p, params FROM model_calls")
        assert len(keys) == out["calls"] == len({tuple(k.values()) for k in keys})
    finally:
        db.close()
