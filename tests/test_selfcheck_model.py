"""SELF-CHECK with the real default model (SmolLM2-135M-Instruct): a 3-step trace end to end
(two reasoning steps checked, the final answer line stored unchecked)."""

from __future__ import annotations

import json

import pytest

from workbench.core.selfcheck import checker, export, store

pytestmark = pytest.mark.model

QUESTION = (
    "Tom has 3 apples. He buys 2 bags with 4 apples in each bag. How many apples does Tom have now?"
)
SOLUTION = (
    "Step 1: Tom buys 2 bags with 4 apples each, so he buys 2 * 4 = 8 apples.\n"
    "Step 2: He had 3 apples, so now he has 3 + 8 = 12 apples.\n"
    "Step 3: So the answer is 12."
)


@pytest.fixture(scope="session")
def selfcheck_backend(llama_backend):
    """The real default model, through the backend every command uses (conftest's)."""
    return llama_backend


def test_default_model_checks_a_three_step_trace_and_stores_every_stage(
    tmp_workspace, selfcheck_backend, tmp_path
):
    ws = tmp_workspace
    qid, _ = store.add_question(ws, QUESTION, source="manual", gold_answer="11")
    sid = store.add_solution(ws, qid, SOLUTION, origin="imported")
    cfg = checker.CheckConfig(
        max_tokens={"target": 24, "collect": 24, "regen": 40, "compare": 40, "followup": 6}
    )
    run_id = checker.start_check_run(ws, [sid], cfg, backend=selfcheck_backend)
    stats = checker.check_run(ws, selfcheck_backend, run_id)

    assert stats["solutions_checked"] == 1 and stats["steps"]["pending"] == 0
    t = store.load_trace(ws, sid)
    assert [s["text"] for s in t["steps"]] == [
        "Tom buys 2 bags with 4 apples each, so he buys 2 * 4 = 8 apples.",
        "He had 3 apples, so now he has 3 + 8 = 12 apples.",
        "So the answer is 12.",
    ]
    assert t["answer"] == "12" and t["is_correct"] == 0
    # "So the answer is 12." only restates step 1's result: stored, no model call, no r_i.
    assert stats["steps"]["answer"] == 1
    last = t["steps"][2]["check"]
    assert last["verdict"] == "answer" and last["score"] is None
    assert all(last[f"{stage}_call_id"] is None for stage in ("target", "collect", "regen"))
    for s in t["steps"][:2]:
        c = s["check"]
        assert c["verdict"] in ("support", "contradict", "unrelated")
        assert c["score"] == {"support": 1, "contradict": -1, "unrelated": 0}[c["verdict"]]
        for stage in ("target", "collect", "regen", "compare"):
            assert c[f"{stage}_prompt"], stage
            assert c[f"{stage}_output"] is not None, stage
            call = ws.query(
                "SELECT raw_output, backend, completion_tokens FROM model_calls WHERE id = ?",
                (c[f"{stage}_call_id"],),
            )[0]
            assert call["backend"] == "llama.cpp" and call["completion_tokens"] > 0
            assert call["raw_output"].strip() == c[f"{stage}_output"]
        assert s["text"] in c["compare_prompt"]
        assert c["regen_output"] in c["compare_prompt"]
    scores = [s["check"]["score"] for s in t["steps"][:2]]
    expected = 2 / (1 + __import__("math").exp(scores.count(-1) + 0.3 * scores.count(0)))
    assert t["confidence"] == pytest.approx(expected)
    out = tmp_path / "traces.jsonl"
    assert export.export_traces(ws, out, run_id=None) == 1
    assert '"verdict"' in out.read_text()


def test_cli_eval_self_check_with_the_default_model(tmp_path, capsys):
    """The CLI contract end to end through the runtime's `backend_from_args` (needs llm.factory)."""
    import json

    from workbench.cli import main

    data = tmp_path / "pb.json"
    data.write_text(
        json.dumps(
            [
                {
                    "id": "t0",
                    "problem": "Ann has 2 pens. She buys 3 more. How many pens?",
                    "steps": ["2 + 3 = 5.", "So the answer is 5."],
                    "label": -1,
                }
            ]
        )
    )
    rc = main(
        ["eval", "self-check", "--data", str(data), "--json", "-w", str(tmp_path / "w.sqlite")]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["n"] == 1 and out["n_correct"] == 1 and out["acc_erroneous"] is None
    assert out["acc_correct"] in (0.0, 1.0)
    assert sum(out["steps"].values()) == 2 and out["steps"]["answer"] == 1


def test_the_follow_up_is_constrained_to_one_of_the_three_verdicts(
    tmp_workspace, selfcheck_backend
):
    ws = tmp_workspace
    qid, _ = store.add_question(ws, QUESTION, source="manual", gold_answer="11")
    sid = store.add_solution(ws, qid, "Step 1: 2 * 4 = 8.\nStep 2: 3 + 8 = 11.", origin="imported")
    cfg = checker.CheckConfig(
        followup="always",
        max_tokens={"target": 16, "collect": 16, "regen": 24, "compare": 24, "followup": 8},
    )
    run_id = checker.start_check_run(ws, [sid], cfg, backend=selfcheck_backend)
    checker.check_run(ws, selfcheck_backend, run_id)
    words = {"Support": "support", "Contradict": "contradict", "Not related": "unrelated"}
    rows = ws.query(
        "SELECT c.followup_output, c.verdict, m.params FROM sc_checks c "
        "JOIN model_calls m ON m.id = c.followup_call_id WHERE c.run_id = ?",
        (run_id,),
    )
    assert len(rows) == 2
    for r in rows:
        assert r["followup_output"] in words  # exactly one of the three, nothing else
        assert r["verdict"] == words[r["followup_output"]]
        assert json.loads(r["params"])["grammar"] == checker.VERDICT_GRAMMAR  # recorded


def test_free_follow_up_and_other_stages_have_no_grammar():
    cfg = checker.CheckConfig()
    assert cfg.params("followup").grammar == checker.VERDICT_GRAMMAR
    assert all(cfg.params(s).grammar is None for s in ("target", "collect", "regen", "compare"))
    assert checker.CheckConfig(followup_grammar=False).params("followup").grammar is None


def test_cli_self_check_leaves_mr_gsm8k_answer_lines_unchecked(tmp_path, capsys):
    """`workbench self-check --traces` on an MR-GSM8K record with the real default model: the
    "#### 5" / "The answer is: 5" boilerplate is stored with verdict "answer" and no model call;
    only the reasoning step is checked and w is computed over it alone."""
    from workbench.cli import main
    from workbench.core.store.workspace import Workspace

    data = tmp_path / "mr.json"
    data.write_text(
        json.dumps(
            [
                {
                    "uuid": "m0",
                    "question": "Ann has 2 pens. She buys 3 more. How many pens does she have?",
                    "ground_truth_answer": "5",
                    "model_output_steps": [
                        "Step 1: She has 2 + 3 = 5 pens.",
                        "Step 2: #### 5",
                        "Step 3: The answer is: 5",
                    ],
                    "model_output_solution_correctness": "correct",
                }
            ]
        )
    )
    w = tmp_path / "w.sqlite"
    args = ["self-check", "--traces", str(data), "--limit", "1", "--followup", "never"]
    assert main([*args, "--json", "-w", str(w)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["solutions_checked"] == 1 and out["steps"]["answer"] == 2
    assert sum(out["steps"][v] for v in ("support", "contradict", "unrelated", "error")) == 1
    with Workspace.open(w) as ws:
        rows = ws.query("SELECT verdict, score, target_call_id FROM sc_checks ORDER BY step_id")
        assert [r["verdict"] for r in rows][1:] == ["answer", "answer"]
        assert all(r["target_call_id"] is None and r["score"] is None for r in rows[1:])
        r0 = rows[0]["score"] if rows[0]["score"] is not None else 0  # an error counts 0
        w_expected = 2 / (1 + __import__("math").exp(int(r0 == -1) + 0.3 * int(r0 == 0)))
        assert out["mean_confidence"] == pytest.approx(w_expected)
