"""(1) Crash safety of a SELF-CHECK run: the real `workbench self-check` CLI with the default
model is SIGKILLed at seeded random moments (after a random number of recorded model calls),
then resumed with --resume; at the end no verdict recorded before a kill is lost or changed,
nothing is duplicated, PRAGMA integrity_check is ok, and the run completes.

WORKBENCH_KILLS sets the number of kills (default 10, as issue 12 asks).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from concurrency_helpers import count_calls

from workbench.core.selfcheck import split
from workbench.core.store.workspace import Workspace

KILLS = int(os.environ.get("WORKBENCH_KILLS", "10"))
# Four calls a step and at most two a kill: enough steps that the run outlives every kill.
_STEPS = [
    "Tom starts with 3 apples.",
    "He buys 4 more apples.",
    "3 + 4 = 7.",
    "So he has 7 apples.",
    "Check: 7 - 4 = 3, the apples he started with.",
    "The answer is 7.",
]
TRACES = [
    {
        "question": "Tom has 3 apples and buys 4 more. How many apples does he have?",
        "steps": [{"text": _STEPS[i % len(_STEPS)]} for i in range(KILLS // 2 + 1)],
        "answer": "7",
    },
]


def _checks(ws_path: Path) -> dict[tuple[int, int], dict]:
    ws = Workspace.open(ws_path)
    try:
        return {
            (r["run_id"], r["step_id"]): r
            for r in ws.query(
                "SELECT run_id, step_id, verdict, target_call_id, collect_call_id, regen_call_id, "
                "compare_call_id FROM sc_checks"
            )
        }
    finally:
        ws.close()


def _kept(before: dict, after: dict) -> bool:
    """Every value decided before (a call id, a verdict other than pending) is still there."""
    return all(after[k] == v for k, v in before.items() if v is not None and v != "pending")


def test_selfcheck_survives_sigkill_and_resumes(tmp_path, default_model_path):
    traces = tmp_path / "traces.jsonl"
    traces.write_text("".join(json.dumps(t) + "\n" for t in TRACES))
    ws_path = tmp_path / "crash wörkspace 工作.sqlite"  # (8) spaces, non-ASCII
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
        "--resume",
        "--json",
    ]
    rng = random.Random(int(os.environ.get("WORKBENCH_KILL_SEED", "12")))
    total_calls = 4 * sum(len(t["steps"]) for t in TRACES)
    kills, seen = 0, {}
    while True:
        before = count_calls(ws_path)
        kill_at = before + rng.randint(1, 2) if kills < KILLS else None
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while p.poll() is None:
            if kill_at is not None and count_calls(ws_path) >= min(kill_at, total_calls - 1):
                p.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        out, err = p.communicate()
        if kill_at is not None and p.returncode == -signal.SIGKILL:
            kills += 1
            now = _checks(ws_path)
            for key, row in seen.items():  # nothing recorded before a kill is lost or changed
                assert _kept(row, now[key]), (key, row, now[key])
            seen = now
            continue
        assert p.returncode == 0, err
        result = json.loads(out)
        break
    assert kills == KILLS
    ws = Workspace.open(ws_path)
    try:
        assert ws.integrity_check() == "ok"
        runs = ws.query("SELECT id, status FROM runs WHERE kind = 'self-check'")
        assert len(runs) == 1 and runs[0]["status"] == "finished"  # resumed, never restarted
        n_steps = ws.scalar("SELECT count(*) FROM sc_steps")
        # Imported once, though the import ran on every resume.
        assert ws.scalar("SELECT count(*) FROM sc_solutions") == len(TRACES)
        assert n_steps == sum(len(t["steps"]) for t in TRACES)
        assert ws.scalar("SELECT count(*) FROM sc_checks WHERE verdict = 'pending'") == 0
        assert ws.scalar("SELECT count(*) FROM sc_checks") == n_steps
        assert ws.scalar("SELECT count(*) FROM sc_scores") == len(TRACES)
        # Every call recorded once: one per stage per checked step, none repeated by a
        # resume. A last step restating the answer ("The answer is 7.") is stored unchecked.
        answers = sum(split.answer_lines([s["text"] for s in TRACES[0]["steps"]]))
        assert ws.scalar("SELECT count(*) FROM sc_checks WHERE verdict = 'answer'") == answers
        assert ws.scalar("SELECT count(*) FROM model_calls") == 4 * (n_steps - answers)
        for (rid, sid), row in seen.items():
            final = ws.query(
                "SELECT * FROM sc_checks WHERE run_id = ? AND step_id = ?", (rid, sid)
            )[0]
            assert _kept(row, final)
    finally:
        ws.close()
    assert result["solutions_checked"] == len(TRACES)
