"""A CoT path cut off by the token limit: never kept, never completed with the gold answer, and
the job's kept/correct figures and the preference-pair export judge paths by the one rule
(`rationale.path_correct`). Scripted backend and hypothesis here; the real model in
test_cot_model.py."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.cot import job, sources
from workbench.core.cot.rationale import (
    MIN_WORDS,
    REASONING_DISAGREES,
    REASONS,
    TRUNCATED,
    CotPrompts,
    judge,
    path_correct,
)
from workbench.core.errors import UserInputError
from workbench.core.formats.cot_pairs import cot_preference_tasks, export_cot_pairs
from workbench.core.llm.scripted import ScriptedBackend

ITEM = sources.CotItem("gsm8k", "math", "Tom has 3 apples and buys 4.", "7", "7", "number")
GSM = {"question": "Tom has 3 apples and buys 4 more. How many?", "answer": "3 + 4 = 7\n#### 7"}

# Texts a small model writes: words, numbers, "=", answer lines, line breaks.
texts = st.lists(
    st.one_of(
        st.sampled_from(["He", "has", "apples", "so", "The answer is", "=", "+", ".", "\n"]),
        st.integers(0, 20).map(str),
    ),
    max_size=30,
).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(text=texts, mode=st.sampled_from(["rationalize", "sample"]))
def test_a_path_cut_at_the_limit_is_never_kept(text, mode):
    prompts = CotPrompts.load()
    v = judge(text, ITEM, mode, prompts, finish_reason="length")
    assert (v.kept, v.reason, v.answer, v.correct) == (False, TRUNCATED, None, None)
    assert path_correct(text, ITEM, "length") == (None, None)
    # the reference (STaR) judges it by its answer alone, and never appends the gold to it
    ref = judge(text, ITEM, mode, prompts, finish_reason="length", compat="reference")
    assert ref.kept == (path_correct(text, ITEM, "length", "reference")[1] is True) or (
        len(text.split()) < MIN_WORDS
    )
    assert ref.output == text.strip()


@settings(max_examples=60, deadline=None)
@given(text=texts, mode=st.sampled_from(["rationalize", "sample"]))
def test_kept_means_correct_in_both_modes(text, mode):
    v = judge(text, ITEM, mode, CotPrompts.load(), finish_reason="stop")
    answer, correct = path_correct(text, ITEM, "stop")
    assert (v.answer, v.correct) == (answer, correct)
    disagrees = v.reason == REASONING_DISAGREES
    assert v.kept == (correct is True and len(text.split()) >= MIN_WORDS and not disagrees)
    if disagrees:  # only in rationalize mode, only for a path that reached the gold
        assert mode == "rationalize" and correct is True
    assert v.kept or v.reason in REASONS


def _run(ws, tmp_path, replies, **cfg):
    data = tmp_path / "gsm.jsonl"
    data.write_text(json.dumps(GSM) + "\n", encoding="utf-8")
    items = sources.load_file(data)
    backend = ScriptedBackend(replies)
    run_id = job.start_cot_run(ws, items, job.CotConfig(max_tokens=12, **cfg), backend=backend)
    return run_id, job.cot_run(ws, backend, run_id)


CUT = "He has 3, buys 4, and 3 + 4 = 7 apples"  # 12 words: max_tokens cuts the reply here
REPLIES = [
    "3 + 4 = 7 apples.\nThe answer is 7.",  # right
    "3 + 4 = 8 apples. The answer is 8.",  # wrong
    CUT + " so the answer is clear.",  # cut off, its last number the gold
]


@pytest.mark.parametrize("mode", ["rationalize", "sample"])
def test_truncated_path_is_dropped_and_the_export_agrees(tmp_workspace, tmp_path, mode):
    ws = tmp_workspace
    run_id, stats = _run(ws, tmp_path, REPLIES, mode=mode, samples=3)
    assert (stats["kept"], stats["correct"]) == (1, 1)
    assert stats["dropped"] == {"truncated": 1, "wrong-answer": 1}
    cut = ws.query(
        "SELECT p.kept, p.reason, p.correct, p.answer, c.finish_reason FROM cot_paths p "
        "JOIN model_calls c ON c.id = p.call_id WHERE p.reason = 'truncated'"
    )
    assert [(r["kept"], r["correct"], r["answer"], r["finish_reason"]) for r in cut] == [
        (0, None, None, "length")
    ]
    # no record ends with the gold answer appended to a cut sentence
    outputs = ws.query(
        "SELECT output FROM instances WHERE task_id IN (SELECT value FROM json_each(?))",
        (json.dumps(stats["task_ids"]),),
    )
    assert [o["output"] for o in outputs] == [REPLIES[0]]
    # the export's correct paths are the job's: one chosen (the kept one), the cut one in no pair
    (task,) = cot_preference_tasks(ws, run_id)
    pairs = [(i.output, i.rejected) for i in task.instances]
    assert pairs == [(REPLIES[0], REPLIES[1])]


def test_reference_keeps_a_cut_path_that_reached_the_gold(tmp_workspace, tmp_path):
    ws = tmp_workspace
    run_id, stats = _run(ws, tmp_path, REPLIES, mode="rationalize", samples=3, compat="reference")
    assert (stats["kept"], stats["correct"], stats["dropped"]) == (2, 2, {"wrong-answer": 1})
    texts = {i.output for t in cot_preference_tasks(ws, run_id) for i in t.instances}
    assert texts == {REPLIES[0], CUT}  # the export counts it correct too
    with pytest.raises(UserInputError, match="compat"):
        job.CotConfig(compat="star")


def test_export_without_pairs_refuses_and_says_why(tmp_workspace, tmp_path):
    ws = tmp_workspace
    run_id, _ = _run(ws, tmp_path, REPLIES[::2], mode="sample", samples=2)  # right + cut
    out = tmp_path / "pairs.jsonl"
    with pytest.raises(UserInputError) as err:
        export_cot_pairs(ws, run_id, "trl", out)
    msg = str(err.value)
    assert f"CoT run {run_id} gives no preference pairs" in msg
    assert "1 with only correct paths" in msg and "(1 path cut off by --max-tokens)" in msg
    # the cut path is why: the advice is a larger token limit, not more paths per question
    assert "1 of the run's paths stopped at its token limit (--max-tokens 12)" in msg
    assert "--samples" not in msg and not out.exists()


def test_cli_wording(tmp_path, capsys):
    from workbench.cli import main
    from workbench.core.store.workspace import Workspace

    wsp = tmp_path / "w.sqlite"
    with Workspace.open(wsp, create=True) as ws:
        run_id, _ = _run(ws, tmp_path, REPLIES[:2], mode="sample", samples=2)
    capsys.readouterr()
    argv = ["export", "-w", str(wsp), "--cot-pairs", str(run_id), "-f", "trl"]
    assert main([*argv, "--out", str(tmp_path / "p.jsonl")]) == 0
    assert "wrote 1 preference pair from 1 question of CoT run" in capsys.readouterr().out
    assert main(["cot", "-w", str(wsp), "--resume"]) == 2
    assert (
        f"--resume: no unfinished CoT run in {wsp}; start one without --resume"
        in capsys.readouterr().err
    )


def test_source_errors_are_worded_as_every_reader_words_them(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(GSM) + "\n" + json.dumps({"question": ["a"], "answer": "7"}) + "\n")
    with pytest.raises(UserInputError) as err:
        sources.load_file(p)
    assert str(err.value) == f"{p}, line 2, field 'question': expected text, found a list"
