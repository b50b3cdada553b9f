"""bench/judge.py: a model rating step-1 candidates, measured against hand labels (issue 21)."""

from __future__ import annotations

import json

import pytest
from bench_helpers import load_bench
from hypothesis import given
from hypothesis import strategies as st

judge = load_bench("judge")

scored = st.lists(st.tuples(st.integers(1, 5), st.booleans()), min_size=2, max_size=40).filter(
    lambda rows: len({v for _, v in rows}) == 2
)


@given(scored)
def test_auc_is_a_rank_statistic(rows):
    scores = [float(s) for s, _ in rows]
    labels = [v for _, v in rows]
    a = judge.auc(scores, labels)
    assert 0.0 <= a <= 1.0
    # Flipping the scores flips the ranking; a monotone transform changes nothing.
    assert judge.auc([-s for s in scores], labels) == pytest.approx(1.0 - a)
    assert judge.auc([s**3 + 7 for s in scores], labels) == pytest.approx(a)


def test_auc_known_values():
    assert judge.auc([5, 4, 1, 2], [True, True, False, False]) == 1.0
    assert judge.auc([1, 2, 5, 4], [True, True, False, False]) == 0.0
    assert judge.auc([3, 3, 3, 3], [True, False, True, False]) == 0.5
    assert judge.auc([5, 1, 3], [True, False, False]) == 1.0
    assert judge.auc([5, 5], [True, True]) is None  # one class only


@pytest.mark.parametrize(
    "reply, rating",
    [("5", 5), (" 4.", 4), ("Rating: 2/5", 2), ("I rate it 3", 3), ("ten", None), ("0 9", None)],
)
def test_rating_of(reply, rating):
    assert judge.rating_of(reply) == rating


def test_the_judge_sees_what_the_rules_keep_normalised(tmp_path):
    f = tmp_path / "labels.jsonl"
    rows = [
        {"instruction": '3. "Rewrite the sentence in the passive voice."', "valid": True},
        {"instruction": "The answer to the question is 5.", "valid": False},  # rules drop it
        {
            "instruction": "2023-07-15: Rewrite this message politely.",
            "valid": False,
            "normalised_valid": True,
            "split": "held-out",
        },
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    kept = judge.rows_the_rules_keep(f)
    assert [r["text"] for r in kept] == [
        "Rewrite the sentence in the passive voice.",
        "Rewrite this message politely.",
    ]
    assert [r["valid"] for r in kept] == [True, True]  # the label of the normalised text
    assert kept[1]["split"] == "held-out"


@pytest.mark.model
def test_bench_rates_with_the_default_model(tmp_path, capsys):
    f = tmp_path / "labels.jsonl"
    rows = [
        {"instruction": "Rewrite the sentence in the passive voice.", "valid": True},
        {"instruction": "Which sport is best for building supercomputers?", "valid": False},
        {"instruction": "List three uses of a paper clip.", "valid": True},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert judge.main(["--labels", str(f)]) == 0
    out = capsys.readouterr().out.splitlines()
    rated = [line for line in out if line[2:3].isdigit()]
    assert len(rated) == 3
    assert all(1 <= int(line[2]) <= 5 for line in rated)
    assert out[-1].startswith("judge AUC ")
    assert "3 rows the rules keep" in out[-2]


def test_missing_labels_file_is_named(tmp_path, capsys):
    assert judge.main(["--labels", str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl" in capsys.readouterr().err
