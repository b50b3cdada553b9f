"""What a CoT record says and how the CoT commands word their results: the answer stated once
at the end, rationalize mode's check of the last calculation, plurals, the --resume and
--cot-pairs refusals. Scripted backend and hypothesis; the real model in test_cot_model.py."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.answers import extract_number, has_marker
from workbench.core.cot import job, sources
from workbench.core.cot.rationale import (
    REASONING_DISAGREES,
    CotPrompts,
    computed_before_answer,
    final_statement,
    judge,
    with_answer_line,
)
from workbench.core.llm.scripted import ScriptedBackend

ITEM = sources.CotItem("gsm8k", "math", "Janet's eggs.", "18", "18", "number")
EGGS = "She has 16-3-4 = 9 eggs. 9*2 = 18 dollars. The answer is 18."

texts = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "She",
                "makes",
                "so",
                "The answer is",
                "Answer:",
                "####",
                "\\boxed{18}",
                "=",
                ".",
                "!",
                "**",
                "\n",
                "18",
                "18.",
                "9*2",
            ]
        ),
        st.integers(0, 30).map(str),
    ),
    max_size=30,
).map(" ".join)


def _statements_at_end(text: str) -> int:
    """How many statements of the gold answer the text ends with, one after another."""
    n = 0
    while (span := final_statement(text)) is not None:
        if extract_number(text[span[0] : span[1]]) != "18":
            break
        n += 1
        text = text[: span[0]].rstrip(" \t\n*")
        if text.lower().endswith(("the", "so the", "final")):
            text = text.rsplit(None, 1)[0] if " " in text else ""
    return n


def test_a_rationale_ending_with_its_answer_gets_no_second_answer_line():
    prompts = CotPrompts.load()
    assert judge(EGGS, ITEM, "sample", prompts).output == EGGS
    for end in ("So the answer is 18!", "Answer: **18**", "#### 18", "\\boxed{18}.", "= 18"):
        text = f"She has 16-3-4 = 9 eggs and sells them, 9*2 = 18. {end}"
        out = with_answer_line(text, ITEM, prompts)
        assert out == text if has_marker(end) else out == text + "\nThe answer is 18."
    # a statement followed by more prose does not end the text: the line is added
    text = "The answer is 18. She is happy."
    assert with_answer_line(text, ITEM, prompts) == text + "\nThe answer is 18."


@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_a_record_states_its_answer_once_at_the_end(text):
    prompts = CotPrompts.load()
    v = judge(text, ITEM, "sample", prompts)
    if not v.kept:
        return
    out = v.output
    assert final_statement(out) is not None  # it ends by stating an answer ...
    assert judge(out, ITEM, "sample", prompts).answer == "18"  # ... the gold one
    # ... and never adds a statement: as many at its end as the rationale had, at least one
    assert _statements_at_end(out) == max(1, _statements_at_end(text.strip()))


def test_rationalize_drops_reasoning_that_computes_another_number():
    prompts = CotPrompts.load()
    bad = "She sells 9 eggs, so she makes 9*3 = 27. The answer is 18."
    assert computed_before_answer(bad) == "27"
    v = judge(bad, ITEM, "rationalize", prompts)
    assert (v.kept, v.reason, v.answer, v.correct) == (False, REASONING_DISAGREES, "18", True)
    assert judge(bad, ITEM, "rationalize", prompts, compat="reference").kept  # STaR's rule
    assert judge(EGGS, ITEM, "rationalize", prompts).kept
    # nothing computed before the answer: nothing to check
    assert judge(
        "She sells the eggs for $2 each. The answer is 18.", ITEM, "rationalize", prompts
    ).kept
    # calculator annotations are not the reasoning's own
    assert computed_before_answer("9*2 = 18 <<9*3=27>> dollars. The answer is 18.") == "18"


def _ws_run(tmp_path, replies, **cfg):
    from workbench.core.store.workspace import Workspace

    data = tmp_path / "gsm.jsonl"
    q = {"question": "Janet's ducks lay 16 eggs...", "answer": "16-3-4=9\n9*2=18\n#### 18"}
    data.write_text(json.dumps(q) + "\n", encoding="utf-8")
    wsp = tmp_path / "w.sqlite"
    with Workspace.open(wsp, create=True) as ws:
        backend = ScriptedBackend(replies)
        items = sources.load_file(data)
        run_id = job.start_cot_run(ws, items, job.CotConfig(**cfg), backend=backend)
        stats = job.cot_run(ws, backend, run_id)
    return wsp, run_id, stats


def test_summary_wording(tmp_path):
    _, _, stats = _ws_run(
        tmp_path, ["I do not know what to say here."], mode="rationalize", samples=1
    )
    assert job.summary(stats, 1) == "1 question, 1 sample each; kept 0; dropped: no-answer 1"
    stats = {**stats, "items": 2, "samples": 6, "kept": 3, "dropped": {}}
    assert job.summary(stats, 3) == "2 questions, 3 samples each; kept 3"


def test_cli_resume_without_workspace_creates_nothing(tmp_path, capsys):
    from workbench.cli import main

    new = tmp_path / "new.sqlite"
    assert main(["cot", "-w", str(new), "--resume"]) == 2
    assert "--resume: no workspace at" in capsys.readouterr().err
    assert not new.exists()


def test_cot_pairs_refusals_name_the_run_and_the_cause(tmp_path, capsys):
    from workbench.cli import main

    cut = "She has 16 eggs and eats 3 and bakes 4 so"
    wsp, run_id, _ = _ws_run(tmp_path, [cut, cut], samples=2, max_tokens=10)
    out = tmp_path / "p.jsonl"
    argv = ["export", "-w", str(wsp), "-f", "trl", "--out", str(out), "--cot-pairs"]
    assert main([*argv, "99"]) == 2
    err = capsys.readouterr().err
    assert f"--cot-pairs 99: no CoT run 99 in {wsp} (CoT runs: {run_id})" in err
    assert "field" not in err
    assert main([*argv, str(run_id)]) == 2
    err = capsys.readouterr().err
    assert "2 paths cut off by --max-tokens" in err and "larger --max-tokens" in err
    assert "several paths per question" not in err and not out.exists()
