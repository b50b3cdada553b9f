"""Stopping and stalls against servers that never answer (issue 17, break-test findings 2, 3
and 9): a stop closes every open request at once, headers still awaited included; an endpoint
that accepts connections but sends nothing is set aside and its requests go to another; the
per-endpoint counts say what the servers answered."""

from __future__ import annotations

import threading

import pytest
from concurrency_helpers import HangListener, accepted_tasks, run_si, si_calls

from workbench.cli import build_parser
from workbench.core.jobs import CancelToken
from workbench.core.llm.base import GenParams, GenResult
from workbench.core.llm.openai_compat import OpenAICompatBackend
from workbench.core.llm.simserver import SimulatedServer


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


def test_a_stalled_endpoint_is_set_aside_and_the_run_is_the_same(tmp_path) -> None:
    """Two endpoints, one that accepts and never answers: its requests go to the other after
    the stall bound, it is reported as stalled, and the run accepts the same tasks as on the
    healthy endpoint alone. The counts say what the server answered: recorded calls plus those
    sent ahead and withdrawn."""
    with SimulatedServer(latency=0.02, per_token=0.0) as sim, HangListener() as hang:
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
