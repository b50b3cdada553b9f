"""K requests in flight against a real `python -m llama_cpp.server` with the default model
(issue 17): the same decisions at K = 1 and K = 8, and SIGKILL/resume of a K = 8 run loses and
duplicates nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from concurrency_helpers import assert_each_call_once, kill_and_resume
from test_llm_server import free_port, start_server

from workbench.core.llm.openai_compat import OpenAICompatBackend
from workbench.core.selfcheck import checker, importers
from workbench.core.store.workspace import Workspace

pytestmark = pytest.mark.server

TRACES = [
    {
        "question": "Tom has 3 apples and buys 4 more. How many apples does he have?",
        "steps": [
            {"text": "Tom starts with 3 apples."},
            {"text": "3 + 4 = 7."},
            {"text": "So he has 7 apples."},
        ],
        "answer": "7",
    }
]
N_STEPS = sum(len(t["steps"]) for t in TRACES)
# Short answers keep the test quick on a small CPU; greedy, so the answers are reproducible.
SHORT = {"target": 12, "collect": 12, "regen": 16, "compare": 16, "followup": 4}


@pytest.fixture(scope="module")
def server(default_model_path):
    port = free_port()
    proc = start_server(default_model_path, port)
    yield f"http://127.0.0.1:{port}"
    proc.kill()
    proc.wait()


def _traces(tmp_path: Path) -> Path:
    p = tmp_path / "traces.jsonl"
    p.write_text("".join(json.dumps(t) + "\n" for t in TRACES))
    return p


def _verdicts(ws: Workspace, run_id: int) -> list[tuple]:
    return [
        tuple(r.values())
        for r in ws.query(
            """SELECT st.solution_id, st.position, c.verdict FROM sc_checks c
           JOIN sc_steps st ON st.id = c.step_id WHERE c.run_id = ?
           ORDER BY st.solution_id, st.position""",
            (run_id,),
        )
    ]


def test_same_decisions_at_k1_and_k8(tmp_path, server):
    backend = OpenAICompatBackend(server, model="smol")
    got = {}
    for k in (1, 8):
        ws = Workspace.create(tmp_path / f"k{k}.sqlite")
        imp = importers.import_traces(ws, _traces(tmp_path), "traces")
        cfg = checker.CheckConfig(followup="never", max_tokens=SHORT)
        run_id = checker.start_check_run(ws, imp["solution_ids"], cfg, backend=backend)
        stats = checker.check_run(ws, backend, run_id, concurrency=k)
        assert stats["steps"]["pending"] == 0 and stats["steps"]["error"] == 0
        assert ws.scalar("SELECT count(*) FROM model_calls") == 4 * N_STEPS
        got[k] = _verdicts(ws, run_id)
        ws.close()
    assert got[1] == got[8]


def test_sigkill_and_resume_at_k8(tmp_path, server):
    ws_path = tmp_path / "killed.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "workbench",
        "self-check",
        "--traces",
        str(_traces(tmp_path)),
        "--format",
        "traces",
        "--workspace",
        str(ws_path),
        "--followup",
        "never",
        "--server",
        server,
        "--server-model",
        "smol",
        "--concurrency",
        "8",
        "--resume",
        "--json",
    ]
    total = 4 * N_STEPS
    out, kills = kill_and_resume(cmd, ws_path, kills=2, every=2, total=total, poll_s=0.02)
    assert kills == 2
    ws = Workspace.open(ws_path)
    try:
        assert ws.integrity_check() == "ok"
        runs = ws.query("SELECT status FROM runs WHERE kind = 'self-check'")
        assert [r["status"] for r in runs] == ["finished"]
        assert ws.scalar("SELECT count(*) FROM model_calls") == total  # none repeated
        assert ws.scalar("SELECT count(*) FROM sc_checks WHERE verdict = 'pending'") == 0
        assert_each_call_once(ws)
    finally:
        ws.close()
    assert json.loads(out)["solutions_checked"] == len(TRACES)
