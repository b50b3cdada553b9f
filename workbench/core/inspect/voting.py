"""Voting summaries for the SELF-CHECK stepper: a question's solutions, their answers, votes and
summed confidences, the majority and the confidence-weighted results, and the gold answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..selfcheck.confidence import weighted_vote
from ..store.workspace import Workspace


@dataclass
class AnswerRow:
    answer: str
    votes: int
    confidence_sum: float
    is_gold: bool


@dataclass
class VoteSummary:
    question_id: int
    question: str
    gold: str | None
    rows: list[AnswerRow]
    majority: list[str]  # tied winners of one-solution-one-vote
    weighted: list[str]  # tied winners of the confidence-weighted vote
    n_solutions: int
    n_unchecked: int  # solutions without a confidence (they weigh 0 in the weighted vote)


def question_votes(ws: Workspace, question_id: int) -> VoteSummary:
    q = ws.query("SELECT question, gold_answer FROM sc_questions WHERE id = ?", (question_id,))[0]
    sols: list[dict[str, Any]] = ws.query(
        "SELECT answer, confidence FROM sc_solutions WHERE question_id = ? "
        "ORDER BY sample_index, id",
        (question_id,),
    )
    answers = [s["answer"] for s in sols]
    weights = [s["confidence"] if s["confidence"] is not None else 0.0 for s in sols]
    majority = weighted_vote(answers)
    weighted = weighted_vote(answers, weights)
    rows = [
        AnswerRow(
            str(a),
            int(round(majority.totals[a])),
            float(weighted.totals.get(a, 0.0)),
            q["gold_answer"] is not None and a == q["gold_answer"],
        )
        for a in majority.totals
    ]
    rows.sort(key=lambda r: (-r.confidence_sum, -r.votes, r.answer))
    return VoteSummary(
        question_id,
        q["question"],
        q["gold_answer"],
        rows,
        [str(a) for a in majority.winners],
        [str(a) for a in weighted.winners if weighted.totals[a] > 0] or [],
        len(sols),
        sum(1 for s in sols if s["confidence"] is None),
    )
