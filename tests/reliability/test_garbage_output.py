"""(6) Garbage model output through SELF-INSTRUCT and SELF-CHECK: recorded, skipped, never a
crash, never an endless loop.

A ScriptedBackend answers with random bytes (decoded with errors="replace"), empty strings,
endless text with no stop, and lone UTF-16 surrogates (invalid in UTF-8, what a server's JSON
"\\ud800" escape decodes to). Every call must be recorded, and each run must end: the
self-instruct run at its safety stop ("stopped after N generation calls"), the self-check run
with every step decided.
"""

from __future__ import annotations

import random

import pytest

from workbench.core.llm.scripted import ScriptedBackend
from workbench.core.seeds import init_workspace
from workbench.core.selfcheck import checker, store
from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

KINDS = ("bytes", "empty", "endless", "surrogates", "mixed")


def garbage(kind: str, seed: int = 0):
    rng = random.Random(seed)

    def respond(prompt: str) -> str:
        k = rng.choice(KINDS[:-1]) if kind == "mixed" else kind
        if k == "bytes":
            return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))).decode(
                "utf-8", errors="replace"
            )
        if k == "empty":
            return ""
        if k == "endless":  # far more than any max_tokens, and none of the stop strings
            return " ".join(
                rng.choice(["la", "1.", "Input:", "\n", "Output", "2)"]) for _ in range(20_000)
            )
        return "1. \ud800 Write \udfff a poem\n2. \udc80\ud83d" + "x" * rng.randrange(50)

    return respond


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("preset", ["chat", "self-instruct", "alpaca"])
def test_selfinstruct_survives_garbage(tmp_path, kind, preset):
    ws = init_workspace(tmp_path / "ws.sqlite")
    backend = ScriptedBackend(garbage(kind))
    cfg = RunConfig(preset=preset, target=3, seed=1, max_gen_calls=6)
    summary = run_self_instruct(ws, backend, cfg)
    # Bounded: the run stops at its safety limit (or its target) after a bounded number of calls.
    gen = ws.scalar(
        "SELECT count(*) FROM model_calls WHERE run_id = ? AND purpose IN "
        "('instruction-generation', 'alpaca-generation')",
        (summary.run_id,),
    )
    assert gen <= 6
    cands = ws.scalar("SELECT count(*) FROM candidates WHERE run_id = ?", (summary.run_id,))
    assert len(backend.prompts) <= gen + 2 * cands  # step 1, then at most steps 2 and 3 each
    # Every call is recorded (the raw output kept for auditing), the run is closed.
    assert ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (summary.run_id,)) == len(
        backend.prompts
    )
    run = ws.query("SELECT status, stats FROM runs WHERE id = ?", (summary.run_id,))[0]
    assert run["status"] == "finished"
    if summary.accepted < 3:
        assert "stopped after" in run["stats"]
    assert (
        ws.scalar(
            "SELECT count(*) FROM candidates WHERE run_id = ? AND decision = 'pending'",
            (summary.run_id,),
        )
        == 0
    )
    assert ws.integrity_check() == "ok"
    ws.close()


def test_selfinstruct_default_bound_without_explicit_limit(tmp_path):
    """No max_gen_calls: the default bound (20 + 10 x target) still ends a run that never
    produces a task."""
    ws = init_workspace(tmp_path / "ws.sqlite")
    backend = ScriptedBackend([""])
    summary = run_self_instruct(ws, backend, RunConfig(preset="chat", target=1, seed=0))
    assert summary.accepted == 0
    assert len(backend.prompts) == 30
    assert (
        "stopped after 30 generation calls"
        in ws.query("SELECT stats FROM runs WHERE id = ?", (summary.run_id,))[0]["stats"]
    )
    ws.close()


def _traces(ws, n_solutions=2):
    qid, _ = store.add_question(
        ws,
        "Tom has 3 apples and buys 4 more. How many apples?",
        source="test",
        source_id="q1",
        gold_answer="7",
    )
    return [
        store.add_solution(
            ws,
            qid,
            "Step 1: 3 + 4 = 7.\nStep 2: So Tom has 7 apples.",  # no answer line: both checked
            origin="test",
        )
        for _ in range(n_solutions)
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("followup", ["unclear", "always"])
def test_selfcheck_survives_garbage(tmp_path, kind, followup):
    from workbench.core.store.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws.sqlite")
    sids = _traces(ws)
    n_steps = ws.scalar("SELECT count(*) FROM sc_steps")
    backend = ScriptedBackend(garbage(kind, seed=3))
    run_id = checker.start_check_run(
        ws, sids, checker.CheckConfig(followup=followup), backend=backend
    )
    stats = checker.check_run(ws, backend, run_id)
    assert stats["solutions_checked"] == len(sids)
    assert stats["steps"]["pending"] == 0
    assert sum(stats["steps"].values()) == n_steps
    assert len(backend.prompts) <= 5 * n_steps  # four stages and a follow-up at most, per step
    calls = ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (run_id,))
    assert calls == len(backend.prompts)
    if kind == "empty":  # an empty reply is an error verdict with a reason, not a guess
        assert stats["steps"]["error"] == n_steps
        errors = ws.execute("SELECT error FROM sc_checks WHERE run_id = ?", (run_id,))
        assert all(e for (e,) in errors)
    assert ws.integrity_check() == "ok"
    ws.close()


def test_surrogates_are_recorded_as_replacement_characters(tmp_path):
    """A lone surrogate cannot be stored as UTF-8: the raw output is kept with U+FFFD in its
    place (GenResult cleans it), not lost and not a crash."""
    ws = init_workspace(tmp_path / "ws.sqlite")
    backend = ScriptedBackend(garbage("surrogates"))
    summary = run_self_instruct(ws, backend, RunConfig(preset="chat", target=1, max_gen_calls=1))
    raw = ws.scalar(
        "SELECT raw_output FROM model_calls WHERE run_id = ? ORDER BY id LIMIT 1", (summary.run_id,)
    )
    assert raw.startswith("1. \ufffd Write \ufffd a poem")
    ws.close()
