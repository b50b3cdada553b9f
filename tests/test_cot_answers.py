"""Answer extraction for CoT rejection sampling: numbers (units, commas, currency) and letters."""

from __future__ import annotations

import json

import pytest

from workbench.core.cot.answers import (
    answers_equal,
    extract_answer,
    extract_number,
    extract_option,
    gsm8k_gold,
    normalize_gold,
    normalize_number,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("18", "18"),
        ("$18.00", "18"),
        ("1,234,567", "1234567"),
        ("$80,000", "80000"),
        ("12.50 dollars", "12.5"),
        ("-5 degrees", "-5"),
        ("−3", "-3"),  # a Unicode minus
        ("3/4 of a cup", "0.75"),
        ("1/3", "1/3"),
        ("40%", "40"),
        ("0.0", "0"),
        ("no number here", None),
    ],
)
def test_normalize_number(text, expected):
    assert normalize_number(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # GSM8K's own format, with a calculator annotation before it
        ("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", "18"),
        # the marker wins over a later number
        ("The answer is 42. That took 3 steps.", "42"),
        ("So the final answer is $1,200.", "1200"),
        ("Answer: 7 apples", "7"),
        ("\\boxed{3.50}", "3.5"),
        # no marker: the last number
        ("He buys 2 bags of 4, so 2 * 4 = 8 apples in all.", "8"),
        # a marker with no number after it falls back to the last number
        ("The answer is below.\n3 + 4 = 7", "7"),
        # the last of several markers counts
        ("The answer is 5. Wait, recheck: the answer is 6.", "6"),
        # thousands separator vs a list
        ("We get 1,000 then 2,500 pages", "2500"),
        ("", None),
        ("I do not know.", None),
    ],
)
def test_extract_number(text, expected):
    assert extract_number(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The answer is (B).", "B"),
        ("Answer: c", "C"),
        ("I think option D strengthens it most.", "D"),
        ("Reasoning...\nB) because the premise fails", "B"),
        ("The answer is A.", "A"),
        # "a" as an article is not option A
        ("The answer is a claim about costs, so (C) weakens it.", "C"),
        # a letter outside the options is not an answer
        ("The answer is (F).", None),
        ("No letter given.", None),
    ],
)
def test_extract_option(text, expected):
    assert extract_option(text, "ABCDE") == expected


def test_extract_answer_kinds():
    assert extract_answer("so the answer is 3 bolts", "number") == "3"
    assert extract_answer("so the answer is (b)", "option") == "B"
    assert extract_answer("Reasoning.\nThe answer is: Paris.", "text") == "paris"
    with pytest.raises(ValueError):
        extract_answer("x", "colour")


def test_answers_equal_compares_numbers_by_value():
    assert answers_equal("0.5", "1/2", "number")
    assert answers_equal("18", "18", "number")
    assert not answers_equal("18", "19", "number")
    assert not answers_equal(None, "18", "number")
    assert answers_equal("B", normalize_gold("b", "option"), "option")
    assert not answers_equal("A", "B", "option")


def test_gsm8k_gold_on_real_answers(shared_data):
    path = shared_data / "reasoning" / "gsm8k_test_first200.jsonl"
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    golds = [gsm8k_gold(r["answer"]) for r in rows]
    assert all(g is not None for g in golds)
    assert golds[0] == "18" and golds[1] == "3"
    # The reference solution itself extracts to its gold answer, for every one of the 200.
    assert all(extract_number(r["answer"]) == g for r, g in zip(rows, golds))
    # Answers with thousands separators exist in this slice and are normalised.
    assert any("," in r["answer"].rsplit("####", 1)[1] for r in rows)
