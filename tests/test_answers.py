"""The shared answer module (`workbench.core.answers`): LaTeX through math-verify, markers,
numbers as people write them, generated variations, the shared reasoning corpora, and issue 19's
answer cases through the CLI (`workbench cot`, `workbench self-check`)."""

from __future__ import annotations

import csv
import json
import threading
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core import answers as A

ISSUE_NINE_FIVE = r"The total cost is $\boxed{\$9{,}500}$."
ISSUE_FRAC = r"So the fraction is \boxed{\frac{3}{4}}"


@pytest.mark.parametrize(
    "text, expected",
    [
        (ISSUE_NINE_FIVE, "9500"),  # was 9 (SELF-CHECK) and 500 (CoT)
        (ISSUE_FRAC, "0.75"),  # was 3
        (r"The answer is \(\boxed{30}\).", "30"),
        (r"we divide by 3: \boxed{150 \div 3 = 50}", "50"),
        (r"I will answer the opposite. \boxed{-$15}", "-15"),
        (r"$\boxed{2\frac{1}{2}}$ cups", "2.5"),
        (r"\boxed{50\%}", "50"),
        (r"\boxed{12\text{ dollars}}", "12"),
        (r"The answer is $\frac{1}{3}$", "1/3"),
        (r"$\boxed{\frac{\sqrt{2}}{2}}$", r"\frac{\sqrt{2}}{2}"),
        (r"\boxed{x = 5}", "5"),
        ("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", "18"),
        ("The answer is 42. That took 3 steps.", "42"),
        ("So the final answer is $1,200.", "1200"),
        ("**Answer:** 12", "12"),
        ("Answer: 7 apples", "7"),
        ("The answer is below.\n3 + 4 = 7", "7"),
        ("The answer is 5. Wait, recheck: the answer is 6.", "6"),
        ("We get 1,000 then 2,500 pages", "2500"),
        # no marker: the result of the last sentence's last "=", not its last number (FLAN rationales)
        ("It will take her 120 / 24 = 5 hours to read 120 pages.", "5"),
        ("23 total meters - 13 calculated meters = 10 meters after the 3rd turn.", "10"),
        ("So the answer is 0.50 dollars", "0.5"),
        ("I am not sure.", None),
        ("", None),
    ],
)
def test_extract_number(text, expected):
    assert A.extract_number(text) == expected


def test_gold_and_comparison_use_the_same_rules():
    assert A.normalize_gold(r"\frac{3}{4}", A.NUMBER) == "0.75"
    assert A.normalize_gold("0.75", A.NUMBER) == "0.75"
    assert A.answers_equal(A.extract_number(ISSUE_NINE_FIVE), A.normalize_gold("9,500", A.NUMBER))
    assert A.answers_equal("0.5", "1/2")
    assert A.answers_equal(
        A.extract_number(r"$\boxed{\frac{\sqrt{2}}{2}}$"),
        A.normalize_gold(r"\frac{1}{\sqrt{2}}", A.NUMBER),
    )
    assert not A.answers_equal(r"\sqrt{2}", r"\sqrt{3}")
    assert not A.answers_equal(None, "1")
    assert A.normalize_gold("Paris") == "paris" and A.normalize_gold("$18.00") == "18"
    assert A.extract_option(r"so the choice is \boxed{C}", "ABCD") == "C"
    assert A.gsm8k_gold("2 + 1 = <<2+1=3>>3 bolts\n#### 3") == "3"


def test_worker_threads_and_hostile_latex_never_hang_or_raise():
    # math-verify's own timeout is signal-based and fails off the main thread: ours is off and
    # the input guarded, so a SELF-CHECK worker thread gets the same answers.
    results: list[object] = []
    t = threading.Thread(
        target=lambda: results.extend(
            [
                A.extract_number(ISSUE_FRAC),
                A.extract_number(r"\boxed{10^{10^{10}}}"),
                A.extract_number(r"\boxed{\int_0^1 x^{999999} dx}"),
                A.extract_number(r"\boxed{\frac{"),
            ]
        )
    )
    t.start()
    t.join(60)
    assert not t.is_alive()
    assert results[0] == "0.75"


# ------------------------------------------------------------------ generated variations
_number = st.fractions(min_value=-(10**6), max_value=10**6, max_denominator=64)


def _write_number(value: Fraction, style: int) -> str:
    if value.denominator == 1:
        n = value.numerator
        return [
            f"{n}",
            f"{n:,}",
            f"${n:,}" if n >= 0 else f"-${-n:,}",
            f"{n}.00",
            rf"\${n:,}".replace(",", "{,}"),
            f"{n} dollars",
        ][style % 6]
    sign = "-" if value < 0 else ""
    a, b = abs(value.numerator), value.denominator
    forms = [rf"{sign}\frac{{{a}}}{{{b}}}", rf"{sign}\dfrac{{{a}}}{{{b}}}", f"{sign}{a}/{b}"]
    return forms[style % 3]


_frame = st.sampled_from(
    [
        "So the answer is {x}.",
        "The answer is: {x}",
        "#### {x}",
        r"\boxed{{{x}}}",
        r"The final answer is $\boxed{{{x}}}$.",
        r"Therefore, the result is \( \boxed{{{x}}} \).",
        "**Final Answer:** {x}",
        "Answer: {x}",
    ]
)
_prose = st.sampled_from(
    [
        "",
        "First, 3 + 4 = 7 apples.\n",
        "We have 12 boxes of 6, so 72 in all. ",
        "Step 1: 2 * 5 = 10\nStep 2: 10 - 1 = 9\n",
    ]
)


@settings(max_examples=150, deadline=None)
@given(_number, st.integers(0, 5), _frame, _prose)
def test_any_written_form_of_a_number_after_any_marker(value, style, frame, prose):
    text = prose + frame.format(x=_write_number(value, style))
    got = A.extract_number(text)
    assert got is not None and Fraction(got) == value, (text, got)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**7), st.sampled_from(["apples", "dollars", "hours", "pages"]))
def test_last_calculation_is_the_answer_without_marker(n, unit):
    text = f"She had {n + 3} {unit}. Then {n + 3} - 3 = {n} {unit} after the 2nd day."
    assert A.extract_number(text) == str(n)


# ------------------------------------------------------------------ the shared corpora
def test_corpus_every_gold_answer_and_rationale(shared_data):
    """Every gold answer and rationale of the shared GSM8K, FLAN CoT, MR-GSM8K and ProcessBench
    files gives its gold answer (figures in docs/cot.md)."""
    reasoning = shared_data / "reasoning"
    gsm_lines = (reasoning / "gsm8k_test_first200.jsonl").read_text(encoding="utf-8").splitlines()
    gsm = [json.loads(ln) for ln in gsm_lines if ln.strip()]
    checked = 0
    for r in gsm:
        gold = A.gsm8k_gold(r["answer"])
        assert gold is not None
        assert A.extract_number(r["answer"]) == gold
        rationale = r["answer"].rsplit("####", 1)[0]  # the rationale alone, no "####" line
        assert A.extract_number(rationale) == gold, rationale
        checked += 2
    with (shared_data / "datasets" / "flan" / "gsm8k_train.tsv").open(encoding="utf-8") as f:
        flan = list(csv.reader(f, delimiter="\t"))
    for _question, answer, rationale in flan:
        assert A.extract_number(rationale) == A.normalize_gold(answer, A.NUMBER), rationale
        checked += 1
    # MR-GSM8K: the gold solution gives the gold answer, and a model's solution gives it exactly
    # when the file says the model's answer is correct. 18 "reversed" items carry prose in the
    # gold-answer field ("Let's think step by step."): no gold to check, and none is invented.
    mr = json.loads((reasoning / "mr_gsm8k_incorrect_slice150.json").read_text(encoding="utf-8"))
    no_gold = 0
    for m in mr:
        gold = A.normalize_gold(str(m["ground_truth_answer"]), A.NUMBER)
        if gold is None:
            no_gold += 1
            continue
        if m["ground_truth_solution"].strip():
            assert A.extract_number(m["ground_truth_solution"]) == gold
            checked += 1
        if m["question_type"] != "POT":  # program-of-thought: the answer is what the code prints
            said = A.extract_number("\n".join(m["model_output_steps"]))
            correct = m["model_output_answer_correctness"] == "correct"
            assert A.answers_equal(said, gold) == correct
            checked += 1
    assert no_gold == 18
    # ProcessBench has no gold field: every solution states an answer, and where the problem is
    # one of the GSM8K questions above, it equals the gold one exactly when the file says so.
    pb = json.loads((reasoning / "processbench_gsm8k_public200.json").read_text(encoding="utf-8"))
    golds = {r["question"].strip(): A.gsm8k_gold(r["answer"]) for r in gsm}
    overlap = 0
    for p in pb:
        said = A.extract_number("\n".join(p["steps"]))
        assert said is not None, p["steps"][-1]
        checked += 1
        if p["problem"].strip() in golds:
            overlap += 1
            assert A.answers_equal(said, golds[p["problem"].strip()]) == p["final_answer_correct"]
    assert overlap == 25
    assert checked == 400 + 40 + 130 + 112 + 200


# ------------------------------------------------------------------ issue 19 through the CLI
def _responder(question_to_reply: dict[str, str]):
    def respond(prompt: str) -> str:
        for q, reply in question_to_reply.items():
            if q in prompt:
                return reply
        return "I do not know."

    return respond


def test_issue_cases_through_cot_and_self_check_cli(tmp_path, monkeypatch, capsys):
    import workbench.cli.cmd_cot as cmd_cot
    import workbench.cli.cmd_selfcheck as cmd_selfcheck
    from workbench.cli import main
    from workbench.core.llm.scripted import ScriptedBackend
    from workbench.core.store.workspace import Workspace

    q1 = "A builder buys 19 windows at $500 each. What is the total cost in dollars?"
    q2 = "Three of four equal slices are eaten. What fraction is eaten?"
    replies = {
        q1: "19 windows cost 19 * 500 dollars.\n" + ISSUE_NINE_FIVE,
        q2: "Three of the four slices, so " + ISSUE_FRAC,
    }
    backend = lambda args: ScriptedBackend(_responder(replies))  # noqa: E731
    monkeypatch.setattr(cmd_cot, "open_model", backend)
    monkeypatch.setattr(cmd_selfcheck, "open_model", backend)
    data = tmp_path / "items.jsonl"
    data.write_text(
        json.dumps({"question": q1, "answer": "19 * 500 = 9500\n#### 9,500"})
        + "\n"
        + json.dumps({"instruction": "Solve.", "input": q2, "output": "0.75", "type": "math"})
        + "\n",
        encoding="utf-8",
    )
    ws = tmp_path / "w.sqlite"
    assert (
        main(
            [
                "cot",
                "--data",
                str(data),
                "--mode",
                "sample",
                "--samples",
                "1",
                "--json",
                "-w",
                str(ws),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["kept"] == 2 and out["correct"] == 2, out  # CoT used to throw both away

    # SELF-CHECK reads the same answers from the same texts (a traces file, as imported).
    traces = tmp_path / "traces.jsonl"
    traces.write_text(
        "\n".join(
            json.dumps({"question": q, "gold_answer": g, "steps": [r]})
            for (q, r), g in zip(replies.items(), ["9500", r"\frac{3}{4}"], strict=True)
        ),
        encoding="utf-8",
    )
    assert main(["self-check", "--traces", str(traces), "--json", "-w", str(ws)]) == 0
    capsys.readouterr()
    with Workspace.open(ws) as w:
        rows = w.query(
            "SELECT s.answer, s.is_correct FROM sc_solutions s JOIN sc_questions q "
            "ON q.id = s.question_id ORDER BY s.id"
        )
    assert [(r["answer"], r["is_correct"]) for r in rows] == [("9500", 1), ("0.75", 1)]
