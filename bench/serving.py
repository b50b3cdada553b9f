"""Serving throughput: the pipelines with K requests in flight against an OpenAI-compatible server.

(1) A simulated remote cluster on 127.0.0.1 (`workbench.core.llm.simserver`): every request
waits a fixed latency (default 300 ms) plus a per-token delay, any number run in parallel, and
answers are deterministic per (prompt, seed). A SELF-CHECK evaluation (`eval self-check` on
ProcessBench GSM8K items from ../shared/data, or generated ones when it is absent) and a
SELF-INSTRUCT run (chat preset, the bundled seeds) run at K = 1, 4, 16, 64 on fresh workspaces;
printed: checked steps/min and accepted tasks/min, the ratio to K = 1, and whether every verdict,
accepted task and recorded call is identical to K = 1's.
(2) A real `python -m llama_cpp.server` with the default model (and `llama-server -np 4` when
one is on PATH or built by `make llama-server`): completion tokens/s at K = 1 and K = 4.

The last line prints both ratios at K = 16 (target: >= 12x).

    .venv/bin/python bench/serving.py [--latency 0.3] [--per-token 0.001] [--steps 64]
                                      [--target 100] [--round-size R] [--no-round-cap]
                                      [--no-real-server | --real-server-only]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.core.errors import ModelError  # noqa: E402
from workbench.core.llm.base import GenParams, GenResult  # noqa: E402
from workbench.core.llm.openai_compat import OpenAICompatBackend  # noqa: E402
from workbench.core.llm.pool import Call, CallScheduler, Group, Unit  # noqa: E402
from workbench.core.llm.simserver import SimulatedServer  # noqa: E402
from workbench.core.selfcheck.checker import CheckConfig  # noqa: E402
from workbench.core.selfcheck.evaluate import eval_selfcheck  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

PROCESSBENCH = REPO.parent / "shared" / "data" / "reasoning" / "processbench_gsm8k_public200.json"
KS = (1, 4, 16, 64)
LLAMA_BIN = Path.home() / ".cache" / "instruction-workbench" / "bin"  # `make llama-server`
DIFFERENT: list[int] = []  # the Ks whose results differed from K = 1's (either part)


def processbench_slice(out: Path, steps: int) -> tuple[Path, int, int]:
    """The first ProcessBench items holding at least `steps` steps (generated items when the
    shared data is absent); returns (file, items, steps)."""
    if PROCESSBENCH.is_file():
        data = json.loads(PROCESSBENCH.read_text(encoding="utf-8"))
    else:
        data = [
            {
                "id": f"gen-{i}",
                "problem": f"Ann has {i + 2} pens and buys {i + 3}. How many?",
                "steps": [f"Step {j}: {i + 2} + {j} = {i + 2 + j}." for j in range(4 + i % 3)],
                "label": -1 if i % 2 else i % 4,
                "final_answer_correct": bool(i % 2),
            }
            for i in range(100)
        ]
    picked, n = [], 0
    for item in data:
        if n >= steps:
            break
        picked.append(item)
        n += len(item["steps"])
    out.write_text(json.dumps(picked), encoding="utf-8")
    return out, len(picked), n


def decisions(ws: Workspace, run_id: int) -> tuple[list[tuple], list[tuple]]:
    """(verdicts per step in item order, every recorded call order-free)."""
    verdicts = [
        tuple(r.values())
        for r in ws.query(
            """SELECT st.solution_id, st.position, c.verdict, c.compare_output FROM sc_checks c
           JOIN sc_steps st ON st.id = c.step_id WHERE c.run_id = ?
           ORDER BY st.solution_id, st.position""",
            (run_id,),
        )
    ]
    calls = sorted(
        tuple(r.values())
        for r in ws.query(
            "SELECT purpose, coalesce(prompt, messages), params, raw_output FROM model_calls "
            "WHERE run_id = ?",
            (run_id,),
        )
    )
    return verdicts, calls


def simulated(args: argparse.Namespace, tmp: Path) -> dict[int, float]:
    data, n_items, n_steps = processbench_slice(tmp / "processbench.json", args.steps)
    print(
        f"(1) simulated remote endpoint: {args.latency * 1000:.0f} ms latency + "
        f"{args.per_token * 1000:.1f} ms/token; SELF-CHECK eval on {n_items} ProcessBench "
        f"items, {n_steps} steps"
    )
    rates: dict[int, float] = {}
    reference: tuple[list[tuple], list[tuple]] | None = None
    with SimulatedServer(latency=args.latency, per_token=args.per_token) as srv:
        backend = OpenAICompatBackend(srv.url)
        for k in KS:
            ws = Workspace.create(tmp / f"k{k}.sqlite")
            t0 = time.perf_counter()
            out = eval_selfcheck(ws, backend, data, config=CheckConfig(), concurrency=k)
            dt = time.perf_counter() - t0
            got = decisions(ws, out["run_id"])
            calls = len(got[1])
            reference = reference or got
            rates[k] = n_steps / dt * 60
            same = "yes" if got == reference else "NO"
            DIFFERENT.extend([] if got == reference else [k])
            print(
                f"    K={k:<3d} {dt:6.1f} s  {calls} calls  {rates[k]:7.1f} checked steps/min  "
                f"ratio {rates[k] / rates[1]:5.1f}x  max in flight {srv.max_in_flight:3d}  "
                f"identical to K=1: {same}"
            )
            srv.max_in_flight = 0
            ws.close()
        backend.close()
    return rates


def selfinstruct(args: argparse.Namespace, tmp: Path) -> dict[int, float]:
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

    rounds = (
        "the run's default round size (16 on a server)"
        if args.round_size is None
        else f"rounds of {args.round_size} step-1 calls"
    ) + (", whole (no round cap)" if args.no_round_cap else "")
    print(f"    SELF-INSTRUCT, chat preset, target {args.target} tasks, bundled seeds, {rounds}")
    rates: dict[int, float] = {}
    reference: tuple[list[Any], list[Any]] | None = None
    with SimulatedServer(latency=args.latency, per_token=args.per_token) as srv:
        backend = OpenAICompatBackend(srv.url)
        for k in KS:
            ws = init_workspace(tmp / f"si{k}.sqlite")
            t0 = time.perf_counter()
            requests = srv.requests
            config = RunConfig(
                preset="chat",
                target=args.target,
                seed=0,
                round_size=args.round_size,
                round_cap=False if args.no_round_cap else None,
            )
            out = run_self_instruct(ws, backend, config, concurrency=k)
            dt = time.perf_counter() - t0
            tasks = [
                r["instruction"]
                for r in ws.query(
                    "SELECT instruction FROM tasks WHERE source = 'generated' ORDER BY id"
                )
            ]
            calls = sorted(
                tuple(r.values())
                for r in ws.query(
                    "SELECT purpose, coalesce(prompt, messages), params, raw_output FROM model_calls"
                )
            )
            got = (tasks, calls)
            reference = reference or got
            rates[k] = out.accepted / dt * 60
            same = "yes" if got == reference else "NO"
            DIFFERENT.extend([] if got == reference else [k])
            # Requests the server started (answered, withdrawn or closed at the end) and the
            # answers fetched ahead and never used (RunSummary.withdrawn).
            print(
                f"    K={k:<3d} {dt:6.1f} s  {len(calls)} calls  {rates[k]:7.1f} accepted "
                f"tasks/min  ratio {rates[k] / rates[1]:5.1f}x  max in flight "
                f"{srv.max_in_flight:3d}  requests {srv.requests - requests:4d}  withdrawn "
                f"{out.withdrawn:4d}  identical to K=1: {same}"
            )
            srv.max_in_flight = 0
            ws.close()
        backend.close()
    return rates


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc: subprocess.Popen, url: str) -> None:
    for _ in range(900):
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited during start-up ({proc.args[0]})")
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def throughput(url: str, k: int, prompts: list[str], max_tokens: int) -> tuple[float, float]:
    """(completion tokens/s, requests/s) for `prompts` sent with K in flight."""
    backend = OpenAICompatBackend(url, model="smol")
    sched = CallScheduler(backend, k)
    results: list[GenResult] = []

    def unit(i: int, prompt: str) -> Unit:
        params = GenParams(max_tokens=max_tokens, temperature=0.0, seed=i)
        res = yield Call(key=(i,), run=lambda tok: backend.complete(prompt, params, cancel=tok))
        results.append(res)

    t0 = time.perf_counter()
    sched.run([Group([unit(i, p) for i, p in enumerate(prompts)])])
    dt = time.perf_counter() - t0
    backend.close()
    return sum(r.completion_tokens for r in results) / dt, len(results) / dt


def real_servers(args: argparse.Namespace) -> None:
    from workbench.core.llm.factory import default_model_path

    model = default_model_path()
    prompts = [f"Write one sentence about the number {i}." for i in range(8)]
    servers: list[tuple[str, list[str]]] = [
        (
            "llama_cpp.server",
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--n_ctx",
                "2048",
                "--n_threads",
                str(args.threads),
                "--model_alias",
                "smol",
                "--interrupt_requests",
                "False",
                "--host",
                "127.0.0.1",
            ],
        )
    ]
    llama_server = shutil.which("llama-server") or shutil.which("llama-server", path=str(LLAMA_BIN))
    if llama_server:
        servers.append(
            (
                "llama-server -np 4",
                [
                    llama_server,
                    "-m",
                    str(model),
                    "-np",
                    "4",
                    "-c",
                    "4096",
                    "-t",
                    str(args.threads),
                    "--alias",
                    "smol",
                    "--host",
                    "127.0.0.1",
                ],
            )
        )
    else:
        print(
            f"    (no llama-server on PATH or in {LLAMA_BIN}: only llama_cpp.server is measured; "
            "`make llama-server` builds one)"
        )
    for name, cmd in servers:
        # The server's own messages go to a file, shown when it fails.
        with tempfile.TemporaryFile(mode="w+") as log:
            measure_server(name, cmd, log, prompts, args.max_tokens)


def measure_server(
    name: str, cmd: list[str], log: Any, prompts: list[str], max_tokens: int
) -> None:
    port = free_port()
    proc = subprocess.Popen(cmd + ["--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, url)
        throughput(url, 1, prompts[:1], 4)  # warm-up: load, first allocation
        figures = {k: throughput(url, k, prompts, max_tokens) for k in (1, 4)}
        for k, (tps, rps) in figures.items():
            print(
                f"    {name:20s} K={k}  {tps:7.1f} tok/s  {rps:5.2f} req/s  "
                f"ratio {tps / figures[1][0]:4.2f}x"
            )
    except (ModelError, RuntimeError) as exc:
        log.seek(0)
        tail = "\n      ".join(log.read().splitlines()[-8:])
        print(f"    {name}: failed: {exc}\n    its log ends:\n      {tail}")
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.3, help="seconds before the first token")
    ap.add_argument("--per-token", type=float, default=0.001, help="seconds per token")
    ap.add_argument("--steps", type=int, default=64, help="ProcessBench steps to check (about)")
    ap.add_argument(
        "--target", type=int, default=100, help="SELF-INSTRUCT tasks to accept (steady state)"
    )
    ap.add_argument(
        "--round-size",
        type=int,
        default=None,
        help="SELF-INSTRUCT step-1 calls per pool snapshot (RunConfig.round_size; default: "
        "the run's own, 16 on a server)",
    )
    ap.add_argument(
        "--no-round-cap",
        action="store_true",
        help="SELF-INSTRUCT rounds always whole (RunConfig.round_cap False: the figures before "
        "the cap)",
    )
    ap.add_argument("--threads", type=int, default=1, help="threads of the real server")
    ap.add_argument("--max-tokens", type=int, default=32, help="tokens per real-server request")
    ap.add_argument("--no-real-server", action="store_true", help="skip part (2)")
    ap.add_argument("--real-server-only", action="store_true", help="run part (2) alone")
    args = ap.parse_args()
    if args.real_server_only:
        real_servers(args)
        return
    with tempfile.TemporaryDirectory() as d:
        rates = simulated(args, Path(d))
        si_rates = selfinstruct(args, Path(d))
    if not args.no_real_server:
        print(
            "(2) real servers, default model (SmolLM2-135M Q4_1), "
            f"{args.max_tokens} tokens per request, 8 requests"
        )
        real_servers(args)
    print(
        f"ratios at K=16: checked steps/min {rates[16] / rates[1]:.1f}x K=1; "
        f"accepted tasks/min {si_rates[16] / si_rates[1]:.1f}x K=1 (target >= 12x); "
        f"identical at every K: {'NO' if DIFFERENT else 'yes'}"
    )


if __name__ == "__main__":
    main()
