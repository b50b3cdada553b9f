"""From per-step results to a solution's confidence, and from confidences to a voted answer."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from .parse import ANSWER, CONTRADICT, ERROR, SUPPORT, UNRELATED

LAMBDA_CONTRADICT = 1.0
LAMBDA_UNRELATED = 0.3
# How a failed check counts. The reference counts it as +1 (its error strings match neither -1
# nor 0); we default to 0: a step nobody could verify is not evidence that it is right.
ERROR_POLICIES = {"support": 1, "unrelated": 0, "contradict": -1}
DEFAULT_ERROR_POLICY = "unrelated"
REFERENCE_ERROR_POLICY = "support"


def effective_scores(
    verdicts: Sequence[str], error_policy: str = DEFAULT_ERROR_POLICY
) -> list[int]:
    """r_i per checked step, with errors counted by `error_policy`. Answer lines (verdict
    `answer`: a trailing line that only restates the final answer, not a reasoning step) give no
    r_i; they only ever end a solution, so index k of the result is still step k."""
    if error_policy not in ERROR_POLICIES:
        raise ValueError(f"unknown error policy {error_policy!r}; one of {sorted(ERROR_POLICIES)}")
    table = {SUPPORT: 1, CONTRADICT: -1, UNRELATED: 0, ERROR: ERROR_POLICIES[error_policy]}
    return [table[v] for v in verdicts if v != ANSWER]


def confidence(
    scores: Iterable[int],
    lam_contradict: float = LAMBDA_CONTRADICT,
    lam_unrelated: float = LAMBDA_UNRELATED,
) -> float:
    """w = 2·σ(−λ₋₁·#{r=−1} − λ₀·#{r=0}); 1 when every step is supported."""
    scores = list(scores)
    s = -lam_contradict * scores.count(-1) - lam_unrelated * scores.count(0)
    return 2.0 / (1.0 + math.exp(-s))


def first_wrong(scores: Sequence[int]) -> int:
    """ProcessBench's prediction: index of the first step with r = −1, else −1."""
    for i, r in enumerate(scores):
        if r == -1:
            return i
    return -1


@dataclass
class Vote:
    winners: list[Hashable]  # every answer tied for the largest total
    totals: dict[Hashable, float]

    def credit(self, gold: Hashable) -> float:
        """1/len(winners) when the gold answer is among the tied winners, else 0."""
        return 1.0 / len(self.winners) if gold in self.winners else 0.0


def weighted_vote(
    answers: Sequence[Hashable | None],
    weights: Sequence[float] | None = None,
    *,
    tol: float = 1e-12,
) -> Vote:
    """The answer with the largest sum of weights; ties share the credit.

    Majority voting is `weights=None` (every w = 1, the λ = 0 case). Solutions with no answer
    (None) do not vote, as in the reference.
    """
    if weights is None:
        weights = [1.0] * len(answers)
    if len(weights) != len(answers):
        raise ValueError("one weight per answer")
    totals: dict[Hashable, float] = {}
    for a, w in zip(answers, weights):
        if a is None:
            continue
        totals[a] = totals.get(a, 0.0) + float(w)
    if not totals:
        return Vote([], {})
    best = max(totals.values())
    winners = [a for a, t in totals.items() if abs(t - best) <= tol * max(1.0, abs(best))]
    return Vote(winners, totals)
