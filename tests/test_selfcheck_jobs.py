"""SELF-CHECK orchestration with the scripted backend: storage of every stage, resume, errors,
follow-ups, imports, export, labels, sampling, the eval harness and the CLI."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.core.errors import Cancelled, ModelError, UserInputError
from workbench.core.jobs import CancelToken
from workbench.core.llm.scripted import ScriptedBackend
from workbench.core.selfcheck import checker, evaluate, export, importers, sampler, store

QUESTION = "Tom has 3 apples. He buys 2 more apples. How many apples does he have now?"
SOLUTION = (
    "Step 1: Tom starts with 3 apples.\nStep 2: He buys 2 more, so 3 + 2 = 6.\n"
    "Step 3: So Tom has 6 apples now."
)


def responder(prompt: str) -> str:
    if "What specific action" in prompt:
        return "It adds the bought apples to the apples Tom has."
    if "directly follow from" in prompt:
        return "It follows from Information 0 and 1, and steps 0-1."
    if "We are in the process" in prompt:
        return "3 + 2 = 5 apples."
    if "Compare the key points" in prompt:
        if "Solution 2: He buys 2 more, so 3 + 2 = 6." in prompt:
            return "Solution 1 gets 5 and Solution 2 gets 6, so Solution 1 contradicts Solution 2."
        if "Solution 2: So Tom has 6 apples now." in prompt:
            return "Solution 1 mentions apples, Solution 2 states a number."  # unclear: follow-up
        return "Both agree. Therefore Solution 1 supports Solution 2."
    if "Please use" in prompt:
        return "Not related"
    if "Solve the following problem" in prompt:
        return "Step 1: 3 + 2 = 5.\nStep 2: So the answer is 5."
    raise AssertionError(f"unexpected prompt: {prompt[:80]}")


@pytest.fixture()
def trace(tmp_workspace):
    qid, _ = store.add_question(tmp_workspace, QUESTION, source="manual", gold_answer="5")
    sid = store.add_solution(tmp_workspace, qid, SOLUTION, origin="imported")
    return tmp_workspace, sid


def test_check_stores_every_stage_and_scores(trace):
    ws, sid = trace
    backend = ScriptedBackend(responder)
    run_id = checker.start_check_run(ws, [sid], checker.CheckConfig(), backend=backend)
    stats = checker.check_run(ws, backend, run_id)
    assert stats["steps"] == {
        "support": 1,
        "contradict": 1,
        "unrelated": 1,
        "error": 0,
        "pending": 0,
        "answer": 0,
    }
    assert stats["followups"] == 1
    t = store.load_trace(ws, sid)
    assert [s["check"]["verdict"] for s in t["steps"]] == ["support", "contradict", "unrelated"]
    assert [s["check"]["score"] for s in t["steps"]] == [1, -1, 0]
    for s in t["steps"]:
        c = s["check"]
        for stage in ("target", "collect", "regen", "compare"):
            assert c[f"{stage}_prompt"] and c[f"{stage}_output"], stage
            call = ws.query(
                "SELECT purpose, raw_output, run_id FROM model_calls WHERE id = ?",
                (c[f"{stage}_call_id"],),
            )[0]
            assert call["purpose"] == f"self-check-{stage}" and call["run_id"] == run_id
            assert call["raw_output"].strip() == c[f"{stage}_output"]
    # Step 1 may only collect step 0; the question's 3 sentences are Information 0-2.
    assert t["steps"][1]["check"]["collected_steps"] == [0]
    assert t["steps"][2]["check"]["collected_steps"] == [0, 1]
    assert t["steps"][2]["check"]["collected_info"] == [0, 1]
    assert "Step 0: Tom starts with 3 apples." in t["steps"][2]["check"]["regen_prompt"]
    assert t["steps"][2]["check"]["followup_output"] == "Not related"
    # The question opens the first two stage prompts (shared, cacheable prefix).
    assert t["steps"][1]["check"]["target_prompt"].startswith(
        "The following is a part of the solution to the problem: " + QUESTION
    )
    assert t["score"]["first_wrong"] == 1
    assert t["confidence"] == pytest.approx(2 / (1 + pytest.importorskip("math").exp(1.3)))
    assert store.list_traces(ws)[0]["confidence"] == pytest.approx(t["confidence"])


def test_check_resumes_after_cancel_without_repeating_calls(trace):
    ws, sid = trace
    token = CancelToken()
    calls = {"n": 0}

    def counting(prompt: str) -> str:
        calls["n"] += 1
        if calls["n"] == 5:
            token.cancel()
        return responder(prompt)

    backend = ScriptedBackend(counting)
    run_id = checker.start_check_run(ws, [sid], checker.CheckConfig(), backend=backend)
    with pytest.raises(Cancelled):
        checker.check_run(ws, backend, run_id, cancel=token)
    assert ws.scalar("SELECT status FROM runs WHERE id = ?", (run_id,)) == "cancelled"
    stored = ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (run_id,))
    # The fifth call was cut off by the cancel: nothing of it is stored, it runs again on resume.
    assert stored == 4
    checker.check_run(ws, backend, run_id)
    # 3 steps x 4 stages + 1 follow-up, none stored twice.
    assert ws.scalar("SELECT count(*) FROM model_calls WHERE run_id = ?", (run_id,)) == 13
    assert ws.scalar("SELECT status FROM runs WHERE id = ?", (run_id,)) == "finished"
    assert calls["n"] == 14


def test_failed_stage_is_an_error_verdict_counted_by_policy(trace):
    ws, sid = trace

    def failing(prompt: str) -> str:
        if "We are in the process" in prompt and "6" not in prompt and "Tom starts" not in prompt:
            raise RuntimeError("context window exceeded")
        return responder(prompt)

    backend = ScriptedBackend(failing)
    cfg = checker.CheckConfig(error_policy="support")  # the reference's behaviour
    run_id = checker.start_check_run(ws, [sid], cfg, backend=backend)
    stats = checker.check_run(ws, backend, run_id)
    t = store.load_trace(ws, sid)
    errs = [s for s in t["steps"] if s["check"]["verdict"] == "error"]
    assert stats["steps"]["error"] == len(errs) == 1
    assert "context window exceeded" in errs[0]["check"]["error"]
    assert errs[0]["check"]["compare_prompt"] is None  # later stages never ran
    call = ws.query(
        "SELECT error FROM model_calls WHERE id = ?", (errs[0]["check"]["regen_call_id"],)
    )[0]
    assert "context window exceeded" in call["error"]
    w_ref = t["confidence"]
    checker.rescore(ws, run_id, checker.CheckConfig(error_policy="contradict"))
    assert store.load_trace(ws, sid)["confidence"] < w_ref


def test_followup_always_asks_even_for_clear_replies(trace):
    ws, sid = trace
    backend = ScriptedBackend(responder)
    run_id = checker.start_check_run(
        ws, [sid], checker.CheckConfig(followup="always"), backend=backend
    )
    stats = checker.check_run(ws, backend, run_id)
    assert stats["followups"] == 3
    # The scripted follow-up always says "Not related", which then decides every verdict.
    assert stats["steps"]["unrelated"] == 3


def test_import_processbench_and_mrgsm8k(tmp_workspace, shared_data):
    ws = tmp_workspace
    pb = shared_data / "reasoning" / "processbench_gsm8k_public200.json"
    raw = json.loads(pb.read_text())[:5]
    res = importers.import_traces(ws, pb, limit=5)
    assert res["format"] == "processbench" and res["solutions"] == 5
    for item, sid in zip(raw, res["solution_ids"]):
        steps = store.solution_steps(ws, sid)
        assert [s["text"] for s in steps] == item["steps"]
        assert ws.scalar("SELECT label FROM sc_solutions WHERE id = ?", (sid,)) == item["label"]
    again = importers.import_traces(ws, pb, limit=5)
    assert again["solutions"] == 0 and again["skipped"] == 5
    mr = importers.import_traces(
        ws, shared_data / "reasoning" / "mr_gsm8k_incorrect_slice150.json", limit=3
    )
    first = json.loads(
        (shared_data / "reasoning" / "mr_gsm8k_incorrect_slice150.json").read_text()
    )[0]
    steps = store.solution_steps(ws, mr["solution_ids"][0])
    assert steps[0]["text"] == first["model_output_steps"][0].split(": ", 1)[1]
    label = ws.scalar("SELECT label FROM sc_solutions WHERE id = ?", (mr["solution_ids"][0],))
    assert label == first["model_output_solution_first_error_step"] - 1
    gs = importers.import_traces(
        ws, shared_data / "reasoning" / "gsm8k_test_first200.jsonl", limit=2
    )
    assert gs["format"] == "gsm8k" and gs["solutions"] == 0
    assert (
        ws.scalar("SELECT gold_answer FROM sc_questions WHERE id = ?", (gs["question_ids"][0],))
        == "18"
    )


def test_bad_input_names_file_line_and_field_and_writes_nothing(tmp_workspace, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"question": "q1", "answer": "x #### 3"}\n{"question": "q2", "answer": "no marker"}\n'
    )
    with pytest.raises(UserInputError) as e:
        importers.import_traces(tmp_workspace, bad)
    assert e.value.line == 2 and e.value.field == "answer" and "bad.jsonl" in str(e.value)
    assert tmp_workspace.scalar("SELECT count(*) FROM sc_questions") == 0
    pb = tmp_path / "pb.json"
    pb.write_text(json.dumps([{"id": "a", "problem": "p", "steps": ["s"], "label": 3}]))
    with pytest.raises(UserInputError, match="label 3 is outside"):
        importers.import_traces(tmp_workspace, pb)


def test_export_and_reimport_traces_with_labels(trace, tmp_path):
    ws, sid = trace
    backend = ScriptedBackend(responder)
    checker.check_run(ws, backend, checker.start_check_run(ws, [sid], checker.CheckConfig()))
    steps = store.solution_steps(ws, sid)
    store.set_step_label(ws, steps[1]["id"], -1, flag=True, note="3 + 2 is 5")
    with pytest.raises(UserInputError):
        store.set_step_label(ws, steps[0]["id"], 2)
    out = tmp_path / "traces.jsonl"
    assert export.export_traces(ws, out) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    rec = json.loads(out.read_text().splitlines()[0])
    assert rec["question"] == QUESTION and rec["answer"] == "6" and rec["gold_answer"] == "5"
    assert [s["rating"] for s in rec["steps"]] == [None, -1, None]
    sc = rec["steps"][1]["selfcheck"]
    assert sc["verdict"] == "contradict" and sc["score"] == -1
    assert set(sc) >= {
        "target",
        "collected_information",
        "collected_steps",
        "regenerated",
        "comparison",
    }
    assert rec["confidence"] == pytest.approx(store.load_trace(ws, sid)["confidence"])
    imp = importers.import_traces(ws, out)
    new = store.load_trace(ws, imp["solution_ids"][0])
    assert [s["label"]["rating"] if s["label"] else None for s in new["steps"]] == [None, -1, None]
    rows = store.list_traces(ws, run_id=imp["run_id"])
    assert rows[0]["n_rated"] == 1


def test_sampling_is_resumable_and_extracts_answers(tmp_workspace):
    ws = tmp_workspace
    qid, _ = store.add_question(ws, QUESTION, source="manual", gold_answer="5")
    token = CancelToken()
    seen = []

    def sample(prompt: str) -> str:
        seen.append(prompt)
        if len(seen) == 2:
            token.cancel()
        return responder(prompt)

    backend = ScriptedBackend(sample)
    run_id = sampler.start_sample_run(ws, [qid], 3, backend=backend)
    with pytest.raises(Cancelled):
        sampler.sample_run(ws, backend, run_id, cancel=token)
    assert ws.scalar("SELECT count(*) FROM sc_solutions WHERE run_id = ?", (run_id,)) == 1
    stats = sampler.sample_run(ws, backend, run_id)
    assert stats == {"run_id": run_id, "solutions": 3, "with_answer": 3, "correct": 3}
    assert len(seen) == 4  # 1 kept, 1 cut off by the cancel, 2 after the resume
    assert [r["sample_index"] for r in store.list_traces(ws, run_id=run_id)] == [0, 1, 2]


def test_processbench_metrics_and_balanced_accuracy():
    m = evaluate.processbench_metrics([-1, 2, 1, -1, 0], [-1, 2, 3, 1, -1])
    assert m["acc_erroneous"] == pytest.approx(1 / 3) and m["acc_correct"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert evaluate.balanced_accuracy([1.0, 0.4, 0.9, 0.2], [True, True, False, False], 0.75) == 0.5
    assert evaluate.auroc([1.0, 0.4, 0.9, 0.2], [True, True, False, False]) == 0.75
    v = evaluate.voting_metrics(
        [("5", ["5", "6", "6"], [1.0, 0.3, 0.3]), ("2", ["2", "3"], [0.5, 0.5])]
    )
    assert v["majority_accuracy"] == pytest.approx((0 + 0.5) / 2)
    assert v["weighted_accuracy"] == pytest.approx((1 + 0.5) / 2)


def _scripted_cli(monkeypatch):
    import workbench.cli.cmd_eval as cmd_eval
    import workbench.cli.cmd_selfcheck as cmd_selfcheck

    monkeypatch.setattr(cmd_selfcheck, "open_model", lambda args: ScriptedBackend(responder))
    monkeypatch.setattr(cmd_eval, "open_model", lambda args: ScriptedBackend(responder))


def test_cli_eval_selfcheck_json(tmp_path, monkeypatch, capsys):
    _scripted_cli(monkeypatch)
    data = tmp_path / "pb.json"
    data.write_text(
        json.dumps(
            [
                {
                    "id": "x0",
                    "problem": QUESTION,
                    "steps": [
                        "Tom starts with 3 apples.",
                        "He buys 2 more, so 3 + 2 = 6.",
                        "So the answer is 6.",
                    ],
                    "label": 1,
                },
                {
                    "id": "x1",
                    "problem": QUESTION,
                    "steps": ["Tom starts with 3 apples.", "3 + 2 = 5 apples."],
                    "label": -1,
                },
            ]
        )
    )
    rc = main(
        ["eval", "self-check", "--data", str(data), "--json", "-w", str(tmp_path / "w.sqlite")]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert (
        out["n"] == 2
        and out["acc_erroneous"] == 1.0
        and out["acc_correct"] == 1.0
        and out["f1"] == 1.0
    )
    rc = main(["eval", "self-check", "--data", str(tmp_path / "missing.json"), "--json"])
    assert rc == 2


def test_cli_self_check_traces_and_run(tmp_path, monkeypatch, capsys):
    _scripted_cli(monkeypatch)
    data = tmp_path / "pb.json"
    data.write_text(
        json.dumps([{"id": "x0", "problem": QUESTION, "steps": ["3 + 2 = 5."], "label": -1}])
    )
    w = str(tmp_path / "w.sqlite")
    assert main(["self-check", "--traces", str(data), "--json", "-w", w]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["solutions_checked"] == 1 and out["imported"]["solutions"] == 1
    assert main(["self-check", "--run", str(out["imported"]["run_id"]), "--json", "-w", w]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["run_id"] != out["run_id"] and again["solutions_checked"] == 1
    assert main(["self-check", "--run", "999", "-w", w]) == 2


def test_unusable_model_fails_the_run_instead_of_recording_errors(trace):
    ws, sid = trace

    def down(prompt: str) -> str:
        raise ModelError("http://localhost:8080: connection refused")

    backend = ScriptedBackend(down)
    run_id = checker.start_check_run(ws, [sid], checker.CheckConfig(), backend=backend)
    with pytest.raises(ModelError):
        checker.check_run(ws, backend, run_id)
    run = ws.query("SELECT status, error FROM runs WHERE id = ?", (run_id,))[0]
    assert run["status"] == "failed" and "connection refused" in run["error"]
    assert ws.scalar("SELECT count(*) FROM sc_checks WHERE verdict = 'error'") == 0
    # Resumed with a working model, the run completes.
    stats = checker.check_run(ws, ScriptedBackend(responder), run_id)
    assert stats["steps"]["pending"] == 0 and stats["solutions_checked"] == 1


def test_balanced_limit_takes_correct_and_erroneous_items(tmp_workspace, shared_data):
    pb = shared_data / "reasoning" / "processbench_gsm8k_public200.json"
    _, records = importers.parse_records(pb)
    first = [r.label for r in records[:4]]
    assert -1 not in first  # why --balanced exists: the file lists erroneous items first
    res = importers.import_traces(tmp_workspace, pb, limit=4, balanced=True)
    labels = [
        tmp_workspace.scalar("SELECT label FROM sc_solutions WHERE id = ?", (s,))
        for s in res["solution_ids"]
    ]
    assert sum(lab == -1 for lab in labels) == 2 and len(labels) == 4


def test_eval_voting_samples_checks_and_compares(tmp_workspace, tmp_path):
    data = tmp_path / "gsm8k.jsonl"
    data.write_text(json.dumps({"question": QUESTION, "answer": "3 + 2 = 5\n#### 5"}) + "\n")
    k = {"n": 0}

    def sample(prompt: str) -> str:
        if "Solve the following problem" in prompt:
            k["n"] += 1  # two wrong samples with a contradicted step, one right and supported
            return (
                SOLUTION
                if k["n"] <= 2
                else "Step 1: Tom has 3 apples and buys 2, 3 + 2 = 5.\nStep 2: So the answer is 5."
            )
        return responder(prompt)

    out = evaluate.eval_voting(tmp_workspace, ScriptedBackend(sample), data, samples=3)
    assert out["n"] == 1 and out["solutions"] == 3 and out["answered"] == 3
    assert out["majority_accuracy"] == 0.0  # "6" twice beats "5" once
    assert out["weighted_accuracy"] == 1.0  # w(6) = 2σ(-1.3) each, w(5) = 1
    assert out["single_sample_accuracy"] == pytest.approx(1 / 3)


def _runs(w: str, kind: str) -> list[int]:
    from workbench.core.store.workspace import Workspace

    with Workspace.open(w) as ws:
        return [r["id"] for r in ws.query("SELECT id FROM runs WHERE kind = ?", (kind,))]


def test_cli_traces_with_questions_only_stop_and_point_to_questions(tmp_path, monkeypatch, capsys):
    _scripted_cli(monkeypatch)
    data = tmp_path / "gsm8k.jsonl"
    data.write_text(json.dumps({"question": QUESTION, "answer": "3 + 2 = 5\n#### 5"}) + "\n")
    w = str(tmp_path / "w.sqlite")
    assert main(["self-check", "--traces", str(data), "--limit", "1", "-w", w]) == 2
    err = capsys.readouterr().err
    assert "no solutions to check" in err and f"--questions {data} --samples N" in err
    assert _runs(w, "import") == [] and _runs(w, checker.RUN_KIND) == []  # nothing written


def test_human_summary_never_prints_an_undefined_mean_as_zero():
    from workbench.cli.cmd_selfcheck import human_summary

    steps = {"support": 0, "contradict": 0, "unrelated": 0, "error": 0, "pending": 0}
    text = human_summary(
        {"run_id": 2, "solutions_checked": 0, "steps": steps, "mean_confidence": None}
    )
    assert text.endswith("mean confidence n/a") and "0.000" not in text
    text = human_summary(
        {"run_id": 2, "solutions_checked": 1, "steps": steps, "mean_confidence": 0.0}
    )
    assert text.endswith("mean confidence 0.000")


def test_cli_ctrl_c_hint_and_bare_resume_continue_the_same_run(tmp_path, monkeypatch, capsys):
    import os
    import signal

    import workbench.cli.cmd_selfcheck as cmd_selfcheck

    calls = {"n": 0}

    def interrupting(prompt: str) -> str:
        calls["n"] += 1
        if calls["n"] == 2:  # Ctrl+C while the first step is being checked
            os.kill(os.getpid(), signal.SIGINT)
        return responder(prompt)

    monkeypatch.setattr(cmd_selfcheck, "open_model", lambda args: ScriptedBackend(interrupting))
    data = tmp_path / "pb.json"
    data.write_text(
        json.dumps(
            [{"id": "x0", "problem": QUESTION, "steps": ["3 + 2 = 5.", "So 5."], "label": -1}]
        )
    )
    w = str(tmp_path / "w.sqlite")
    assert main(["self-check", "--traces", str(data), "-w", w]) == 1
    err = capsys.readouterr().err
    assert f"resume with: workbench self-check --resume -w {w}" in err
    [crun] = _runs(w, checker.RUN_KIND)
    # Bare --resume (the printed command) continues that run with its stored settings.
    monkeypatch.setattr(cmd_selfcheck, "open_model", lambda args: ScriptedBackend(responder))
    assert main(["self-check", "--resume", "--json", "-w", w]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run_id"] == crun and out["solutions_checked"] == 1
    assert _runs(w, checker.RUN_KIND) == [crun] and len(_runs(w, "import")) == 1
    assert main(["self-check", "--resume", "-w", w]) == 2  # nothing left to resume
    assert "no unfinished self-check run" in capsys.readouterr().err


def test_cli_traces_resume_records_no_empty_import_run(tmp_path, monkeypatch, capsys):
    _scripted_cli(monkeypatch)
    data = tmp_path / "pb.json"
    data.write_text(
        json.dumps([{"id": "x0", "problem": QUESTION, "steps": ["3 + 2 = 5."], "label": -1}])
    )
    w = str(tmp_path / "w.sqlite")
    from workbench.core.store.workspace import Workspace

    with Workspace.open(w, create=True) as ws:
        sids = importers.import_traces(ws, data)["solution_ids"]
        crun = checker.start_check_run(ws, sids, checker.CheckConfig())  # left unfinished
    assert main(["self-check", "--traces", str(data), "--resume", "--json", "-w", w]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run_id"] == crun and out["imported"]["run_id"] is None
    assert len(_runs(w, "import")) == 1  # the first import only


def test_cli_bare_resume_finishes_sampling_then_checks_as_asked(tmp_path, monkeypatch, capsys):
    _scripted_cli(monkeypatch)
    w = str(tmp_path / "w.sqlite")
    from workbench.core.store.workspace import Workspace

    cfg = checker.CheckConfig(followup="never")
    with Workspace.open(w, create=True) as ws:
        qid, _ = store.add_question(ws, QUESTION, source="manual", gold_answer="5")
        srun = sampler.start_sample_run(ws, [qid], 2, extra={"check": cfg.to_dict()})
    assert main(["self-check", "--resume", "--json", "-w", w]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sampling"]["run_id"] == srun and out["sampling"]["solutions"] == 2
    assert out["solutions_checked"] == 2 and out["followups"] == 0  # the stored settings
    with Workspace.open(w) as ws:
        assert ws.scalar("SELECT status FROM runs WHERE id = ?", (srun,)) == "finished"


def test_answer_lines_are_stored_not_checked_unless_asked(tmp_path, monkeypatch, capsys):
    _scripted_cli(monkeypatch)
    data = tmp_path / "mr.json"
    data.write_text(
        json.dumps(
            [
                {
                    "uuid": "u0",
                    "question": QUESTION,
                    "ground_truth_answer": "5",
                    "model_output_steps": [
                        "Step 1: Tom starts with 3 apples.",
                        "Step 2: He buys 2 more, so 3 + 2 = 5.",
                        "Step 3: #### 5",
                        "Step 4: The answer is: 5",
                    ],
                    "model_output_solution_correctness": "correct",
                }
            ]
        )
    )
    w = str(tmp_path / "w.sqlite")
    assert main(["self-check", "--traces", str(data), "--json", "-w", w]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"]["answer"] == 2 and out["steps"]["support"] == 2
    from workbench.core.store.workspace import Workspace

    with Workspace.open(w) as ws:
        sid = ws.scalar("SELECT id FROM sc_solutions")
        t = store.load_trace(ws, sid)
        assert [s["text"] for s in t["steps"]][2:] == ["#### 5", "The answer is: 5"]
        assert [s["check"]["verdict"] for s in t["steps"]] == [
            "support",
            "support",
            "answer",
            "answer",
        ]
        assert t["steps"][3]["check"]["target_call_id"] is None
        n_calls = ws.scalar("SELECT count(*) FROM model_calls")
    # The reference's behaviour: every split step is checked.
    args = ["self-check", "--run", "1", "--check-answer-lines", "--json", "-w", w]
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["steps"]["answer"] == 0 and sum(again["steps"].values()) == 4
    with Workspace.open(w) as ws:
        assert ws.scalar("SELECT count(*) FROM model_calls") >= 2 * n_calls
    assert checker.CheckConfig.from_dict({}).check_answer_lines  # runs stored before: as before
