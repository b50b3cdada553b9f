"""SELF-CHECK parsing, confidence and voting: pure functions, no model."""

from __future__ import annotations

import math

import pytest

from workbench.core.selfcheck.confidence import (
    confidence,
    effective_scores,
    first_wrong,
    weighted_vote,
)
from workbench.core.selfcheck.parse import (
    extract_answer,
    normalize_answer,
    parse_collected,
    parse_verdict,
)
from workbench.core.selfcheck.split import split_information, split_steps


# ------------------------------------------------------------------ steps
@pytest.mark.parametrize(
    "text",
    [
        "Step 1: Tom has 3 apples.\nStep 2: He buys 2, so 3 + 2 = 5.\nStep 3: So the answer is 5.",
        "**Step 1:** Tom has 3 apples.\n**Step 2:** He buys 2, so 3 + 2 = 5.\n"
        "**Step 3:** So the answer is 5.",
        "### Step 1. Tom has 3 apples.\n### Step 2. He buys 2, so 3 + 2 = 5.\n"
        "### Step 3. So the answer is 5.",
        "Step: Tom has 3 apples.\nStep: He buys 2, so 3 + 2 = 5.\nStep: So the answer is 5.",
        "1. Tom has 3 apples.\n2. He buys 2, so 3 + 2 = 5.\n3. So the answer is 5.",
        "(1) Tom has 3 apples.\n(2) He buys 2, so 3 + 2 = 5.\n(3) So the answer is 5.",
        "Tom has 3 apples.\n\nHe buys 2, so 3 + 2 = 5.\n\nSo the answer is 5.",
        "Sure! Let's solve it step by step.\nStep 1: Tom has 3 apples.\n"
        "Step 2: He buys 2, so 3 + 2 = 5.\nStep 3: So the answer is 5.",
    ],
)
def test_split_steps_formats(text):
    assert split_steps(text) == [
        "Tom has 3 apples.",
        "He buys 2, so 3 + 2 = 5.",
        "So the answer is 5.",
    ]


def test_split_steps_keeps_continuation_lines_and_merges_colon_steps():
    text = (
        "Step 1: Compute the total:\nStep 2: 3 + 2 = 5\nthat is five\n\nStep 3: So the answer is 5."
    )
    assert split_steps(text) == [
        "Compute the total:\n3 + 2 = 5\nthat is five",
        "So the answer is 5.",
    ]


def test_numbered_list_that_does_not_count_up_is_not_the_step_structure():
    text = "We need 3 things:\n1. eggs\n1. milk\n\nSo 2 + 1 = 3."
    assert split_steps(text) == ["We need 3 things:\n1. eggs\n1. milk", "So 2 + 1 = 3."]


def test_split_information_sentences():
    q = "Mr. Lee buys 3.5 kg of rice for $2.50. He eats 1 kg! How much rice is left?"
    assert split_information(q) == [
        "Mr. Lee buys 3.5 kg of rice for $2.50.",
        "He eats 1 kg!",
        "How much rice is left?",
    ]


# ------------------------------------------------------- collected ids
def test_collected_ranges_are_expanded_not_concatenated():
    # The reference reads "steps 1-3" as step 13.
    info, steps = parse_collected(
        "It follows from Information 0 and 2, and steps 1-3.", n_info=4, step_index=5
    )
    assert info == [0, 2]
    assert steps == [1, 2, 3]


@pytest.mark.parametrize(
    "reply,info,steps",
    [
        ("Step 0, Step 2 and Information 1", [1], [0, 2]),
        ("information 1, 2 and step 0 to step 2", [1, 2], [0, 1, 2]),
        ("The next step follows from Step 3.", [], []),  # not a previous step of step 3
        ("Information 7 and Step 1", [], [1]),  # the question has no information 7
        ("It directly follows from the question.", [], []),
    ],
)
def test_collected_ids(reply, info, steps):
    assert parse_collected(reply, n_info=3, step_index=3) == (info, steps)


# -------------------------------------------------------------- verdicts
@pytest.mark.parametrize(
    "reply,verdict",
    [
        ("Solution 1 supports the conclusion in Solution 2.", "support"),
        ("Both give 5. Therefore, Solution 1 supports Solution 2.", "support"),
        (
            "Solution 1 gets 6 but Solution 2 gets 5, so Solution 1 contradicts Solution 2.",
            "contradict",
        ),
        ("Solution 1 does not support the conclusion in Solution 2.", "contradict"),
        (
            "In conclusion, Solution 1 is not directly related to the conclusion in Solution 2.",
            "unrelated",
        ),
        ("Contradict", "contradict"),
        ("Not related", "unrelated"),
        (
            'We check whether Solution 1 "supports", "contradicts" or "is not directly related to" it.',
            None,
        ),
        ("Both solutions compute the number of apples.", None),
        ("This is a logical fallacy: the conclusion is not supported by the premises.", None),
        ("", None),
    ],
)
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) == verdict


# --------------------------------------------------------------- answers
@pytest.mark.parametrize(
    "text,answer",
    [
        ("Step 3: 3 + 2 = 5.\nSo the answer is 5.", "5"),
        ("So the answer is $1,250.00.", "1250"),
        ("... #### 18", "18"),
        ("The answer is \\boxed{-3}", "-3"),
        ("So the answer is 0.50 dollars", "0.5"),
        ("I am not sure.", None),
    ],
)
def test_extract_answer(text, answer):
    assert extract_answer(text) == answer


def test_normalize_answer_makes_equal_numbers_equal():
    assert normalize_answer("18.0") == normalize_answer("$18") == "18"


# ------------------------------------------------------------ confidence
def test_confidence_formula_one_contradiction_two_unrelated():
    w = confidence([1, -1, 0, 0, 1])
    assert w == pytest.approx(2 / (1 + math.exp(1.6)))
    assert w == pytest.approx(0.336, abs=5e-4)


def test_confidence_all_supported_is_one_and_lambdas_apply():
    assert confidence([1, 1, 1]) == 1.0
    assert confidence([-1], lam_contradict=0.0) == 1.0  # majority voting: λ = 0
    assert confidence([-1, -1]) < confidence([-1]) < confidence([0]) < 1.0


def test_error_policy_counts_failed_checks():
    verdicts = ["support", "error", "contradict"]
    assert effective_scores(verdicts, "support") == [1, 1, -1]  # the reference
    assert effective_scores(verdicts, "unrelated") == [1, 0, -1]
    assert effective_scores(verdicts, "contradict") == [1, -1, -1]
    assert first_wrong(effective_scores(verdicts, "contradict")) == 1
    assert first_wrong([1, 0, 1]) == -1
    with pytest.raises(ValueError):
        effective_scores(verdicts, "ignore")


# --------------------------------------------------------------- voting
def test_weighted_voting_beats_a_majority_of_low_confidence_answers():
    answers = ["5", "6", "6", "5"]
    weights = [1.0, 0.3, 0.3, 0.2]
    assert weighted_vote(answers, weights).winners == ["5"]
    # Majority voting (λ = 0, all weights 1) is a tie here: the two answers share the credit.
    maj = weighted_vote(answers)
    assert sorted(maj.winners) == ["5", "6"]
    assert maj.credit("5") == 0.5 and maj.credit("7") == 0.0


def test_weighted_voting_ties_share_credit_and_unanswered_do_not_vote():
    vote = weighted_vote(["5", "6", None, "7"], [0.5, 0.5, 2.0, 0.25])
    assert sorted(vote.winners) == ["5", "6"]
    assert vote.credit("6") == 0.5
    assert None not in vote.totals
    assert weighted_vote([None, None]).winners == []
