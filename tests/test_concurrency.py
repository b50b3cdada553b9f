"""K requests in flight (issue 17) against a loopback simulated OpenAI-compatible server: the same
decisions at K = 1 and K = 8, cancel and SIGKILL/resume at K = 8 lose and duplicate nothing, two
endpoints share the load and a dead one is survived. The server is real HTTP on 127.0.0.1
(`core.llm.simserver`), with tiny latencies so the tests stay short."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from concurrency_helpers import (
    accepted_tasks,
    assert_each_call_once,
    check_rows,
    free_port,
    kill_and_resume,
    run_si,
    si_calls,
)

from workbench.core.errors import Cancelled
from workbench.core.jobs import CancelToken, Progress
from workbench.core.llm.openai_compat import OpenAICompatBackend
from workbench.core.llm.pool import derive_seed, resolve_concurrency
from workbench.core.llm.scripted import ScriptedBackend
from workbench.core.llm.simserver import SimulatedServer, sim_answer
from workbench.core.selfcheck import checker, importers
from workbench.core.store.workspace import Workspace

N_TRACES, N_STEPS = 5, 4


def _traces(path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for q in range(N_TRACES):
            fh.write(
                json.dumps(
                    {
                        "question": f"Ann has {q + 2} pens and buys {q + 3} more. How many pens now?",
                        "steps": [
                            {"text": f"Step {i}: she adds {q + i} pens, {q + 2 * i} in all."}
                            for i in range(N_STEPS)
                        ],
                        "answer": str(2 * q + 5),
                    }
                )
                + "\n"
            )
    return path


@pytest.fixture()
def sim():
    with SimulatedServer(latency=0.02, per_token=0.0) as srv:
        yield srv


def _check(
    tmp_path: Path,
    name: str,
    backend,
    k: int,
    *,
    followup: str = "unclear",
    cancel: CancelToken | None = None,
    progress=None,
) -> tuple[Workspace, int]:
    ws = Workspace.create(tmp_path / f"{name}.sqlite")
    imp = importers.import_traces(ws, _traces(tmp_path / "traces.jsonl"), "traces")
    run_id = checker.start_check_run(
        ws, imp["solution_ids"], checker.CheckConfig(followup=followup), backend=backend
    )
    kw = {"progress": progress} if progress else {}
    with contextlib.suppress(Cancelled):
        checker.check_run(ws, backend, run_id, concurrency=k, cancel=cancel, **kw)
    return ws, run_id


def _decisions(ws: Workspace, run_id: int) -> list[tuple]:
    return [
        tuple(r.values())
        for r in ws.query(
            """SELECT st.solution_id, st.position, c.verdict, c.score, c.target_output,
                  c.collect_output, c.regen_output, c.compare_output, c.followup_output
           FROM sc_checks c JOIN sc_steps st ON st.id = c.step_id WHERE c.run_id = ?
           ORDER BY st.solution_id, st.position""",
            (run_id,),
        )
    ]


def _calls(ws: Workspace, run_id: int) -> list[tuple]:
    """Every recorded call as (purpose, prompt or messages, params, output), order-free."""
    return sorted(
        tuple(r.values())
        for r in ws.query(
            "SELECT purpose, coalesce(prompt, messages), params, raw_output FROM model_calls "
            "WHERE run_id = ?",
            (run_id,),
        )
    )


def test_same_decisions_and_calls_at_k1_and_k8(tmp_path, sim):
    backend = OpenAICompatBackend(sim.url)
    ws1, r1 = _check(tmp_path, "k1", backend, 1)
    assert sim.max_in_flight == 1
    seeds_k1 = sorted(s for s in sim.seeds)
    sim.seeds.clear()
    ws8, r8 = _check(tmp_path, "k8", backend, 8)
    assert sim.max_in_flight > 1  # the pipeline really kept several requests open
    assert _decisions(ws1, r1) == _decisions(ws8, r8)
    assert {d[2] for d in _decisions(ws8, r8)} >= {"support", "contradict"}
    assert _calls(ws1, r1) == _calls(ws8, r8)  # same prompts, seeds and answers
    # Each request carries its own seed, derived from the run's seed and its place.
    assert sorted(sim.seeds) == seeds_k1 and len(set(seeds_k1)) == len(seeds_k1)
    assert derive_seed(0, checker.request_seq(1, 0, "target")) in seeds_k1
    scores = "SELECT solution_id, confidence, first_wrong FROM sc_scores ORDER BY solution_id"
    s1, s8 = ws1.query(scores), ws8.query(scores)
    assert s1 == s8 and len(s1) == N_TRACES
    stats = checker.run_stats(ws8, r8, backend)
    assert stats["endpoints"][0]["requests"] == sim.requests
    ws1.close()
    ws8.close()


def test_cancel_at_k8_loses_and_duplicates_nothing(tmp_path, sim):
    sim.latency = 0.05
    backend = OpenAICompatBackend(sim.url)
    ref, rref = _check(tmp_path, "ref", backend, 8, followup="never")
    token = CancelToken()
    events: list[Progress] = []

    def progress(ev: Progress) -> None:
        events.append(ev)
        if ev.done >= 3:
            token.cancel()

    ws, run_id = _check(
        tmp_path, "cut", backend, 8, followup="never", cancel=token, progress=progress
    )
    assert max(ev.data.get("in_flight", 0) for ev in events) > 1
    run = ws.query("SELECT status FROM runs WHERE id = ?", (run_id,))[0]
    assert run["status"] == "cancelled"
    n_before = ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (run_id,))
    assert 0 < n_before < 4 * N_TRACES * N_STEPS
    # Every stored call has its output on its step (one transaction), none half-done.
    assert (
        ws.scalar(
            "SELECT count(*) FROM model_calls WHERE run_id = ? AND raw_output IS NULL", (run_id,)
        )
        == 0
    )
    checker.check_run(ws, backend, run_id, concurrency=8)  # resume
    assert (
        ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (run_id,))
        == 4 * N_TRACES * N_STEPS
    )  # nothing repeated
    assert _decisions(ws, run_id) == _decisions(ref, rref)  # nothing lost or changed
    assert _calls(ws, run_id) == _calls(ref, rref)
    ws.close()
    ref.close()


def test_sigkill_and_resume_at_k8_lose_and_duplicate_nothing(tmp_path, sim):
    sim.latency = 0.05
    traces = _traces(tmp_path / "traces.jsonl")
    ws_path = tmp_path / "killed.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "workbench",
        "self-check",
        "--traces",
        str(traces),
        "--format",
        "traces",
        "--workspace",
        str(ws_path),
        "--followup",
        "never",
        "--server",
        sim.url,
        "--concurrency",
        "8",
        "--resume",
        "--json",
    ]
    total = 4 * N_TRACES * N_STEPS
    out, kills = kill_and_resume(
        cmd,
        ws_path,
        kills=3,
        every=9,
        total=total,
        rows=lambda p: check_rows(p, ["compare_output"]),
    )
    assert kills == 3
    ws = Workspace.open(ws_path)
    try:
        assert ws.integrity_check() == "ok"
        runs = ws.query("SELECT id, status FROM runs WHERE kind = 'self-check'")
        assert len(runs) == 1 and runs[0]["status"] == "finished"
        assert ws.scalar("SELECT count(*) FROM model_calls") == total
        assert ws.scalar("SELECT count(*) FROM sc_checks WHERE verdict = 'pending'") == 0
        assert_each_call_once(ws)
        ref_ws, ref_run = _check(tmp_path, "ref", OpenAICompatBackend(sim.url), 1, followup="never")
        assert _decisions(ws, runs[0]["id"]) == _decisions(ref_ws, ref_run)
        ref_ws.close()
    finally:
        ws.close()
    assert json.loads(out)["solutions_checked"] == N_TRACES


def test_two_endpoints_share_the_load_and_a_dead_one_is_survived(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    with (
        SimulatedServer(latency=0.02, per_token=0.0) as a,
        SimulatedServer(latency=0.02, per_token=0.0) as b,
    ):
        backend = OpenAICompatBackend([a.url, f"{dead},{b.url}"], retries=0)
        assert len(backend.endpoints) == 3
        ws, run_id = _check(tmp_path, "two", backend, 8)
        stats = {e["url"]: e for e in backend.endpoint_stats()}
        assert a.requests > 5 and b.requests > 5  # both served a fair share
        assert stats[a.url + "/v1"]["requests"] == a.requests
        assert stats[dead + "/v1"]["failures"] >= 1 and stats[dead + "/v1"]["requests"] == 0
        assert "cannot reach" in stats[dead + "/v1"]["last_error"]
        assert backend.failovers >= 1
        run = ws.query("SELECT status, stats FROM runs WHERE id = ?", (run_id,))[0]
        assert run["status"] == "finished"
        assert len(json.loads(run["stats"])["endpoints"]) == 3  # in the run record
        ref, rref = _check(tmp_path, "one", OpenAICompatBackend(a.url), 1)
        assert _decisions(ws, run_id) == _decisions(ref, rref)
        ws.close()
        ref.close()


def test_every_endpoint_dead_is_a_clear_error(tmp_path):
    from workbench.core.errors import ModelError

    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    with pytest.raises(ModelError, match="cannot reach the server"):
        OpenAICompatBackend(urls, retries=0)  # model discovery
    backend = OpenAICompatBackend(urls, model="m", retries=0)
    ws = Workspace.create(tmp_path / "dead.sqlite")
    imp = importers.import_traces(ws, _traces(tmp_path / "traces.jsonl"), "traces")
    run_id = checker.start_check_run(
        ws, imp["solution_ids"], checker.CheckConfig(), backend=backend
    )
    with pytest.raises(ModelError, match="cannot reach the server"):
        checker.check_run(ws, backend, run_id, concurrency=8)
    assert ws.query("SELECT status FROM runs WHERE id = ?", (run_id,))[0]["status"] == "failed"
    assert ws.scalar("SELECT count(*) FROM model_calls") == 0
    ws.close()


def test_in_process_backends_run_serialised_at_any_k(tmp_path):
    """A backend that is not thread-safe (llama.cpp, the scripted one) runs one call at a time
    in the job's thread whatever K is, with the same results."""

    def respond(prompt: str) -> str:
        if "Solution 2" in prompt:
            return "Therefore it supports the conclusion."
        return "Information 0"

    b1, b8 = ScriptedBackend(respond), ScriptedBackend(respond)
    assert resolve_concurrency(b1, None) == 1 and resolve_concurrency(b8, 8) == 8
    ws1, r1 = _check(tmp_path, "s1", b1, 1)
    ws8, r8 = _check(tmp_path, "s8", b8, 8)
    assert b1.prompts == b8.prompts  # the same calls in the same order
    assert _decisions(ws1, r1) == _decisions(ws8, r8)
    ws1.close()
    ws8.close()


def test_cli_concurrency_option(tmp_path, sim):
    traces = _traces(tmp_path / "traces.jsonl")
    base = [
        sys.executable,
        "-m",
        "workbench",
        "self-check",
        "--traces",
        str(traces),
        "--format",
        "traces",
        "--workspace",
        str(tmp_path / "cli.sqlite"),
        "--json",
    ]
    bad = subprocess.run(
        base + ["--server", sim.url, "--concurrency", "0"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "concurrency" in bad.stderr + bad.stdout
    ok = subprocess.run(
        base + ["--server", sim.url, "--server", sim.url, "--concurrency", "4"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["solutions_checked"] == N_TRACES and len(out["endpoints"]) == 1
    assert "in flight" in ok.stderr  # the progress line shows the requests in flight


@pytest.mark.parametrize("value", ["0", "1025", "100000", "x"])
def test_concurrency_out_of_range_is_a_usage_error_naming_flag_value_and_range(value, capsys):
    from workbench.cli import build_parser
    from workbench.core.llm.pool import MAX_CONCURRENCY

    for command in ("self-instruct", "self-check", "cot"):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args([command, "--concurrency", value])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "argument --concurrency:" in err and value in err
        if value != "x":
            bound = "at least 1" if value == "0" else f"at most {MAX_CONCURRENCY}"
            assert f"must be {bound}, got {value} (allowed: 1 to {MAX_CONCURRENCY})" in err
    for ok in ("1", str(MAX_CONCURRENCY)):
        args = build_parser().parse_args(["self-instruct", "--concurrency", ok])
        assert args.concurrency == int(ok)


# ------------------------------------------------------------------------------ SELF-INSTRUCT
def test_selfinstruct_accepts_the_same_tasks_at_k1_and_k8(tmp_path, sim):
    backend = OpenAICompatBackend(sim.url)
    ws1 = run_si(tmp_path, "si1", backend, 1)
    assert sim.max_in_flight == 1
    sim.max_in_flight = 0
    ws8 = run_si(tmp_path, "si8", backend, 8)
    assert sim.max_in_flight > 1  # steps 2 and 3 went out ahead of the loop
    assert len(accepted_tasks(ws1)) == 12 and accepted_tasks(ws1) == accepted_tasks(ws8)
    assert si_calls(ws1) == si_calls(ws8)  # the same calls recorded, none extra
    c1 = ws1.query(
        "SELECT batch, position, instruction, decision, reason FROM candidates ORDER BY id"
    )
    assert c1 == ws8.query(
        "SELECT batch, position, instruction, decision, reason FROM candidates ORDER BY id"
    )
    ws1.close()
    ws8.close()


def test_selfinstruct_cancel_and_resume_at_k8(tmp_path, sim):
    backend = OpenAICompatBackend(sim.url)
    ref = run_si(tmp_path, "ref", backend, 8)
    token = CancelToken()

    def progress(ev: Progress) -> None:
        if ev.done >= 4:
            token.cancel()

    ws = run_si(tmp_path, "cut", backend, 8, cancel=token, progress=progress)
    run = ws.query("SELECT id, status FROM runs WHERE kind = 'self-instruct'")[0]
    assert run["status"] == "cancelled" and 4 <= len(accepted_tasks(ws)) < 12
    run_si(tmp_path, "cut", backend, 8, resume=run["id"], ws=ws)
    assert accepted_tasks(ws) == accepted_tasks(ref)  # nothing lost or changed
    assert si_calls(ws) == si_calls(ref)  # nothing recorded twice
    ws.close()
    ref.close()


def test_selfinstruct_rounds_send_a_rounds_step_one_calls_together(tmp_path, sim):
    """round_size R (whole rounds: round_cap off): R step-1 prompts from one snapshot of the
    pool, all in flight at once; the same R gives the same tasks at K = 1 and K = 8."""
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

    backend = OpenAICompatBackend(sim.url)
    got = {}
    for k in (1, 8):
        ws = init_workspace(tmp_path / f"r{k}.sqlite")
        sim.max_in_flight = 0
        run_self_instruct(
            ws,
            backend,
            RunConfig(preset="chat", target=20, seed=5, round_size=4, round_cap=False),
            concurrency=k,
        )
        got[k] = (accepted_tasks(ws), si_calls(ws))
        gen = ws.query(
            "SELECT count(*) AS n FROM model_calls WHERE purpose = 'instruction-generation'"
        )[0]["n"]
        assert gen % 4 == 0  # whole rounds
        ws.close()
    assert sim.max_in_flight >= 4  # a round's step-1 calls went out together
    assert len(got[1][0]) == 20 and got[1] == got[8]


def test_selfinstruct_capped_round_uses_fewer_calls_and_same_tasks_at_any_k(tmp_path, sim):
    """round_cap (the default): a round of 16 at target 3 is one step-1 call (8 asked for),
    every later round also no more than the tasks left need; the same tasks at K = 1 and
    K = 8, stored with the run; far fewer calls made and sent ahead than whole rounds of 16."""
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.config import stored_run
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct
    from workbench.core.selfinstruct.steps import capped_round_size

    assert capped_round_size(16, 3, 8) == 1 and capped_round_size(16, 20, 8) == 3
    assert capped_round_size(16, 500, 8) == 16 and capped_round_size(4, 1, 7) == 1
    backend = OpenAICompatBackend(sim.url)
    got, made = {}, {}
    for cap, k in ((True, 1), (True, 8), (False, 8)):
        ws = init_workspace(tmp_path / f"cap{cap}{k}.sqlite")
        before = sim.requests
        config = RunConfig(preset="chat", target=3, seed=4, round_size=16)
        if not cap:
            config = RunConfig(preset="chat", target=3, seed=4, round_size=16, round_cap=False)
        out = run_self_instruct(ws, backend, config, concurrency=k)
        run = stored_run(ws, out.run_id)
        assert run is not None and run.config.round_cap is cap
        gen = ws.scalar("SELECT count(*) FROM model_calls WHERE purpose = 'instruction-generation'")
        cands = ws.scalar("SELECT count(*) FROM candidates")
        got[cap, k] = (accepted_tasks(ws), si_calls(ws))
        made[cap, k] = (gen, out.calls, sim.requests - before, out.withdrawn, cands)
        ws.close()
    assert len(got[True, 1][0]) == 3 and got[True, 1] == got[True, 8]
    gen, calls, requests, withdrawn, cands = made[True, 8]
    assert gen == 1 and made[False, 8][0] == 16
    # Every request of the capped run was its one step-1 call or a step 2/3 of a candidate of
    # it: fewer than the whole round of 16 recorded, let alone sent.
    assert requests <= 1 + 2 * cands < made[False, 8][1] <= made[False, 8][2]
    assert withdrawn <= requests - calls


DUP = "Write a short poem about the calm morning sea today."


def _dup_responder(prompt: str, seed: int | None) -> str:
    """The simulated model, except that every step-1 list starts with the same instruction."""
    answer = sim_answer(prompt, seed)
    m = re.search(r"Number them from (\d+)", prompt)
    if m is None:
        return answer
    return f"{m.group(1)}. {DUP}\n" + "\n".join(answer.splitlines()[1:])


def test_selfinstruct_round_compares_with_tasks_of_its_own_round(tmp_path):
    """Two step-1 calls of one round bring the same instruction: the first becomes a task, the
    later one is dropped as too similar (ROUGE-L 1.0 against that task, accepted after the
    round's snapshot was taken), as the sequential procedure would have it; the same at K = 1
    and K = 8, and Inspect's re-filter at the run's threshold changes nothing."""
    from workbench.core.inspect import refilter
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

    got = {}
    with SimulatedServer(latency=0.01, per_token=0.0, responder=_dup_responder) as srv:
        backend = OpenAICompatBackend(srv.url)
        for k in (1, 8):
            ws = init_workspace(tmp_path / f"dup{k}.sqlite")
            out = run_self_instruct(
                ws,
                backend,
                RunConfig(preset="chat", target=12, seed=2, round_size=4),
                concurrency=k,
            )
            assert out.round_size == 4
            dups = ws.query(
                "SELECT batch, decision, reason, max_score FROM candidates WHERE instruction = ? "
                "ORDER BY batch",
                (DUP,),
            )
            assert dups[0]["decision"] == "kept" and len(dups) >= 2
            later = [d for d in dups[1:] if d["reason"] != "target-reached"]
            assert later and all(
                (d["decision"], d["reason"], d["max_score"]) == ("dropped", "rouge", 1.0)
                for d in later
            )
            assert dups[1]["batch"] < 4  # one of them came from the same round as the task
            assert accepted_tasks(ws).count(DUP) == 1
            plan = refilter.build_plan(ws, out.run_id)
            result = refilter.decisions_at(plan, plan.threshold)
            assert not refilter.changes(plan, result, refilter.current_decisions(ws, out.run_id))
            got[k] = (
                accepted_tasks(ws),
                si_calls(ws),
                ws.query("SELECT batch, position, decision, reason FROM candidates ORDER BY id"),
            )
            ws.close()
        backend.close()
    assert got[1] == got[8]


def test_selfinstruct_round_size_default_on_a_server_and_endpoint_figures(tmp_path, sim):
    """No round size given: 16 on a server, stored with the run (resumes read it back: the
    cancel/resume test above); --round-size overrides it; the run record, --json and the
    progress line carry per-endpoint figures."""
    from workbench.core.selfinstruct.config import stored_run

    ws = run_si(tmp_path, "auto", OpenAICompatBackend(sim.url), 4)
    run = stored_run(ws, ws.scalar("SELECT max(id) FROM runs"))
    assert run is not None and run.config.round_size == 16
    assert run.stats["endpoints"][0]["requests"] > 0
    ws.close()
    with SimulatedServer(latency=0.01, per_token=0.0) as other:
        cli = [sys.executable, "-m", "workbench"]
        wpath = str(tmp_path / "cli.sqlite")
        subprocess.run([*cli, "init", wpath, "--json"], check=True, capture_output=True)
        args = ["-w", wpath, "--server", sim.url, "--server", other.url, "--json"]
        res = subprocess.run(
            [*cli, "self-instruct", "--target", "3", "--round-size", "3", *args],
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        assert out["round_size"] == 3 and len(out["endpoints"]) == 2
        assert all(e["requests"] > 0 and "retries" in e for e in out["endpoints"])
        assert " req " in res.stderr and "tok/s" in res.stderr  # the progress line
        # Every recorded call was answered by one of them (calls sent ahead and not taken too).
        assert sum(e["requests"] for e in out["endpoints"]) >= out["calls"]


def test_prefetcher_queues_the_follow_up_before_the_answer_is_taken():
    """A call sent ahead with `then` queues its follow-up before its answer can be taken, so a
    pipeline asking for the follow-up right after finds it on its way (no call of its own);
    `forget` withdraws a call the pipeline will not take."""
    from workbench.core.llm.base import GenParams
    from workbench.core.llm.pool import Prefetcher

    backend = ScriptedBackend(lambda p: f"answer to {p}")
    fetcher = Prefetcher(backend, 2)
    params = GenParams(max_tokens=8)
    fetcher.prefetch(
        prompt="first",
        params=params,
        then=lambda res: fetcher.prefetch(prompt="second", params=params),
    )
    assert fetcher.complete("first", params).text == "answer to first"
    assert fetcher.complete("second", params).text == "answer to second"
    assert fetcher.hits == 2
    fetcher.prefetch(prompt="unused", params=params)
    fetcher.forget(prompt="unused", params=params)
    assert fetcher.complete("unused", params).text == "answer to unused"  # asked directly
    assert fetcher.hits == 2
    fetcher.close()


def test_a_connection_dropped_without_an_answer_is_sent_again_once(tmp_path):
    """A server that closes a kept-alive connection as a request arrives (llama-server after a
    stream, any server's idle timeout) answers nothing: the request goes once more on a fresh
    connection, counted as that endpoint's retry, even with retries=0."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from workbench.core.llm.base import GenParams

    class DropFirst(BaseHTTPRequestHandler):
        posts = 0

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            type(self).posts += 1
            if type(self).posts == 1:
                self.close_connection = True  # closed without a status line
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            done = {"choices": [{"text": "ok", "finish_reason": "stop"}]}
            self.wfile.write(b"data: " + json.dumps(done).encode() + b"\n\ndata: [DONE]\n\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), DropFirst)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = OpenAICompatBackend(
            f"http://127.0.0.1:{server.server_address[1]}", model="m", retries=0
        )
        assert backend.complete("hi", GenParams(max_tokens=2)).text == "ok"
        assert DropFirst.posts == 2 and backend.endpoint_stats()[0]["retries"] == 1
        backend.close()
    finally:
        server.shutdown()
        server.server_close()


def test_resume_with_no_unfinished_run_says_it_starts_a_new_one(tmp_path, sim, capsys):
    """--resume continues an unfinished run; with none (a new workspace, or the last run
    finished) it says so before starting a new run, which adds --target tasks."""
    from workbench.cli import main

    ws_path = tmp_path / "w.sqlite"
    assert main(["init", str(ws_path)]) == 0
    args = ["self-instruct", "-w", str(ws_path), "--server", sim.url, "--target", "2", "--resume"]
    args += ["--json"]
    capsys.readouterr()
    for run in (1, 2):
        assert main(args) == 0
        out, err = capsys.readouterr()
        assert "no unfinished self-instruct run to resume; starting a new run of 2 tasks" in err
        assert json.loads(out)["run_id"] == run
