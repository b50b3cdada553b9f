"""SELF-INSTRUCT candidates: their decisions and reasons, the ROUGE-L rule, and their rows.

A candidate is one instruction a step-1 call produced (one row of `candidates`). Its life:

    step 1 ──rules/ROUGE-L fail──▶ dropped (empty, too-short, ..., truncated, rouge)
       │ passes
       ▼
    pending ──step 3: no instance survives──▶ dropped (no-instances)
       │      ──the run met its target first──▶ dropped (target-reached)
       │      ──a replay: the reference has no step 3 for it──▶ dropped (not-in-reference)
       ▼ an instance survives
    kept (a task is made from it: `tasks.candidate_id`)

Inspect may later put another decision in force — a threshold applied as a decision set, or a
person's override — without touching the row: the view `candidate_decisions` (migration v005)
says what is in force per candidate (override > newest decision set > the run's own), and
`task_decisions` what that means for each task. Exports and statistics read the views.

This module is the one place that writes candidate rows and the one ROUGE-L rule
(`decide_call`) that the run, the replay and Inspect's re-filter all call. It imports nothing
heavy (no similarity engine), so the window can read `DEFAULT_THRESHOLD` at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..store.workspace import Workspace

DEFAULT_THRESHOLD = 0.7
"""The ROUGE-L F-measure above which a candidate is too close to the pool (the paper's 0.7)."""


class Decision(StrEnum):
    """A candidate's decision (stored as its string: old workspaces read the same)."""

    PENDING = "pending"  # passed step 1, waiting for steps 2 and 3
    KEPT = "kept"  # a task was made from it
    DROPPED = "dropped"  # see its Reason


class Reason(StrEnum):
    """Why a candidate (or one of its parsed instances) was dropped; stored as its string."""

    # Step 1, the parser (parse.py) and the instruction rules (filters.instruction_reason).
    EMPTY = "empty"
    TOO_SHORT = "too-short"
    TOO_LONG = "too-long"
    BLACKLIST = "blacklist"
    WRITE_A_PROGRAM = "write-a-program"
    PUNCTUATION_START = "punctuation-start"
    NON_ASCII_START = "non-ascii-start"
    TRUNCATED = "truncated"  # the last item of a completion cut by max_tokens
    UNPARSABLE = "unparsable"  # Alpaca: a block whose fields could not be read (parse.py)
    PLACEHOLDER_OUTPUT = "placeholder-output"  # Alpaca: the output is "<No Output>", "N/A"...
    # No task form (validity.py: a statement, answer, title, fragment, system prompt, reply to
    # the user, advice); beyond the paper, off with compat="reference".
    NOT_AN_INSTRUCTION = "not-an-instruction"
    # Step 1, the ROUGE-L rule (decide_call).
    ROUGE = "rouge"
    # After step 1: the candidate passed it and still did not become a task.
    NO_INSTANCES = "no-instances"  # step 3: no instance survived the instance rules
    TARGET_REACHED = "target-reached"  # closed unexamined once the run had its target
    NOT_IN_REFERENCE = "not-in-reference"  # a replay: the reference has no step 2/3 for it
    # Inspect: a person dropped it (an override; only in the `candidate_decisions` view).
    OVERRIDE = "override"
    # One parsed instance (filters.filter_instances; stored in `candidates.instances`).
    INPUT_EQUALS_OUTPUT = "input-equals-output"
    EMPTY_OUTPUT = "empty-output"
    ENDS_WITH_COLON = "ends-with-colon"
    SAME_INPUT_DIFFERENT_OUTPUT = "same-input-different-output"
    DUPLICATE = "duplicate"
    OVER_LIMIT = "over-limit"


# Reasons a candidate gets before the ROUGE-L rule looks at it: such a candidate never joins
# the pool and is never a sibling, at any threshold.
RULE_REASONS = frozenset(
    {
        Reason.EMPTY,
        Reason.TOO_SHORT,
        Reason.TOO_LONG,
        Reason.BLACKLIST,
        Reason.WRITE_A_PROGRAM,
        Reason.PUNCTUATION_START,
        Reason.NON_ASCII_START,
        Reason.TRUNCATED,
        Reason.NOT_AN_INSTRUCTION,
        Reason.UNPARSABLE,
        Reason.PLACEHOLDER_OUTPUT,
    }
)
# Dropped after passing step 1: a sibling at step 1 all the same.
AFTER_STEP_1 = frozenset({Reason.NO_INSTANCES, Reason.TARGET_REACHED, Reason.NOT_IN_REFERENCE})
INSTANCE_REASONS = frozenset(
    {
        Reason.INPUT_EQUALS_OUTPUT,
        Reason.EMPTY_OUTPUT,
        Reason.ENDS_WITH_COLON,
        Reason.SAME_INPUT_DIFFERENT_OUTPUT,
        Reason.DUPLICATE,
        Reason.OVER_LIMIT,
    }
)


def passed_rules(decision: str, reason: str | None) -> bool:
    """Whether a stored candidate reached the ROUGE-L rule (it passed the instruction rules)."""
    return decision != Decision.DROPPED or reason not in RULE_REASONS


# ------------------------------------------------------------------------------ the rule
class PoolGrowth(StrEnum):
    """When a candidate that passed step 1 joins the pool that later step-1 calls compare with.

    Within its own call it is a sibling from the moment it passes, either way (decide_call).
    A run in rounds (`RunConfig.round_size`) builds a round's step-1 prompts from one snapshot
    but still decides its calls in sequence order, each against the pool grown by the earlier
    calls, those of its own round included (`steps.redecide_call`): what the re-filter replays."""

    ACCEPTED = "accepted"  # our runs: the pool is the task table (a task is made)
    STEP_1 = "step-1"  # the reference (and its replay): as soon as it passes step 1


@dataclass(frozen=True)
class StepOne:
    """The rule's verdict on one candidate: `reason` None means it passed step 1."""

    reason: Reason | None
    max_score: float  # highest ROUGE-L F against the pool and the earlier passing siblings


def decide_call(
    rule_reasons: Sequence[Reason | None],
    best_score: Callable[[int, Sequence[int]], float],
    threshold: float = DEFAULT_THRESHOLD,
) -> list[StepOne]:
    """The ROUGE-L rule for the candidates of one step-1 call, in the model's order.

    `rule_reasons[i]` is what the instruction rules said of candidate i (None: it passed them).
    `best_score(i, siblings)` returns candidate i's highest ROUGE-L F-measure (0..1) against
    the pool as it stood when the call was made and against the candidates at positions
    `siblings` (earlier in this call, every one that passed step 1). A candidate that passed
    the rules is dropped with `Reason.ROUGE` when that score is > `threshold` (a score equal to
    the threshold is kept); otherwise it passes and is a sibling for the ones after it,
    whatever step 3 later makes of it: step 3 has not run when step 1 decides, as in the
    reference (bootstrap_instructions.py). Growing the pool between calls is the caller's
    part (`PoolGrowth`): the pool is the one in force when the call is decided, every earlier
    call's candidates settled — for a call of a round that is later than when its prompt was
    built, so the run decides it again then (`steps.redecide_call`). `best_score` is called
    once per candidate, in order, rule-dropped ones too (the run stores their neighbours).
    """
    passed: list[int] = []
    out: list[StepOne] = []
    for i, rule in enumerate(rule_reasons):
        best = best_score(i, tuple(passed))
        reason = rule if rule is not None else (Reason.ROUGE if best > threshold else None)
        if reason is None:
            passed.append(i)
        out.append(StepOne(reason, best))
    return out


# ------------------------------------------------------------------------------ rows
@dataclass
class NewCandidate:
    """One candidate row to insert. Scores are ROUGE-L F-measures in 0..1; `most_similar`
    maps up to ten neighbours' texts to their scores, highest first; `instances` lists the
    parsed instances as filters.filter_instances returns them."""

    instruction: str
    decision: Decision
    reason: Reason | None = None
    max_score: float | None = None
    most_similar: dict[str, float] = field(default_factory=dict)
    avg_similarity_score: float | None = None
    is_classification: bool | None = None
    clf_call_id: int | None = None
    instances_call_id: int | None = None
    instances: list[dict[str, Any]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def insert(
    ws: Workspace, run_id: int, call_id: int | None, batch: int, position: int, cand: NewCandidate
) -> int:
    """Store a candidate of step-1 call `call_id` (the run's `batch`-th, 0-based) at
    `position` in its reply; returns its id. Call it inside the caller's transaction."""
    return ws.insert(
        "candidates",
        {
            "run_id": run_id,
            "call_id": call_id,
            "batch": batch,
            "position": position,
            "instruction": cand.instruction,
            "decision": str(cand.decision),
            "reason": None if cand.reason is None else str(cand.reason),
            "max_score": cand.max_score,
            "most_similar": cand.most_similar,
            "avg_similarity_score": cand.avg_similarity_score,
            "is_classification": None
            if cand.is_classification is None
            else int(cand.is_classification),
            "clf_call_id": cand.clf_call_id,
            "instances_call_id": cand.instances_call_id,
            "instances": cand.instances,
            "meta": cand.meta,
        },
    )


def set_classification(
    ws: Workspace, candidate_id: int, is_classification: bool, call_id: int
) -> None:
    """Step 2's answer for a pending candidate (inside the caller's transaction)."""
    ws.update(
        "candidates",
        candidate_id,
        {"is_classification": int(is_classification), "clf_call_id": call_id},
    )


def settle(
    ws: Workspace,
    candidate_id: int,
    *,
    instances_call_id: int | None,
    instances: list[dict[str, Any]],
    task_id: int | None,
) -> None:
    """Step 3's outcome: kept with the task made from it, or dropped (no-instances) when
    `task_id` is None. Inside the caller's transaction."""
    values: dict[str, Any] = {"instances_call_id": instances_call_id, "instances": instances}
    if task_id is not None:
        values.update(decision=str(Decision.KEPT), reason=None, task_id=task_id)
    else:
        values.update(decision=str(Decision.DROPPED), reason=str(Reason.NO_INSTANCES))
    ws.update("candidates", candidate_id, values)


def link_task(ws: Workspace, candidate_id: int, task_id: int) -> None:
    ws.update("candidates", candidate_id, {"task_id": task_id})


def close_pending(ws: Workspace, run_id: int, reason: Reason = Reason.TARGET_REACHED) -> int:
    """Drop every candidate of the run still pending (the run has what it needs); returns how
    many."""
    with ws.transaction():
        cur = ws.execute(
            "UPDATE candidates SET decision = ?, reason = ? WHERE run_id = ? AND decision = ?",
            (str(Decision.DROPPED), str(reason), run_id, str(Decision.PENDING)),
        )
    return cur.rowcount


# ------------------------------------------------------------------------------ queries
_STEP_COLS = "id, batch, position, instruction, is_classification, clf_call_id"


def first_pending_batch(ws: Workspace, run_id: int) -> int | None:
    """The earliest step-1 call (its `batch`) with a pending candidate, or None: the run
    settles its calls' candidates in sequence order, one call after the other."""
    b = ws.scalar(
        "SELECT min(batch) FROM candidates WHERE run_id = ? AND decision = ?",
        (run_id, str(Decision.PENDING)),
    )
    return None if b is None else int(b)


def next_to_classify(ws: Workspace, run_id: int, batch: int | None = None) -> dict[str, Any] | None:
    """The oldest pending candidate without a step-2 answer (of step-1 call `batch` when
    given), or None."""
    rows = ws.query(
        f"SELECT {_STEP_COLS} FROM candidates WHERE run_id = ? AND decision = ? "
        "AND clf_call_id IS NULL AND (? IS NULL OR batch = ?) ORDER BY id LIMIT 1",
        (run_id, str(Decision.PENDING), batch, batch),
    )
    return rows[0] if rows else None


def next_for_instances(
    ws: Workspace, run_id: int, batch: int | None = None
) -> dict[str, Any] | None:
    """The next pending candidate for step 3 (of step-1 call `batch` when given): generation
    tasks first, then classification ones, each in id order (consecutive calls share a
    template, so llama.cpp reuses its KV cache; alternating would re-evaluate ~1,000 prompt
    tokens per call)."""
    rows = ws.query(
        f"SELECT {_STEP_COLS} FROM candidates WHERE run_id = ? AND decision = ? "
        "AND (? IS NULL OR batch = ?) ORDER BY coalesce(is_classification, 0), id LIMIT 1",
        (run_id, str(Decision.PENDING), batch, batch),
    )
    return rows[0] if rows else None


def of_call(ws: Workspace, run_id: int, batch: int) -> list[dict[str, Any]]:
    """The candidates of step-1 call `batch`, in the model's order: id, position, instruction,
    decision, reason, clf_call_id, instances_call_id."""
    return ws.query(
        "SELECT id, position, instruction, decision, reason, clf_call_id, instances_call_id "
        "FROM candidates WHERE run_id = ? AND batch = ? ORDER BY position, id",
        (run_id, batch),
    )


def kept_in_calls(ws: Workspace, run_id: int, lo: int, hi: int) -> int:
    """How many candidates of step-1 calls lo <= batch < hi became tasks."""
    return int(
        ws.scalar(
            "SELECT count(*) FROM candidates WHERE run_id = ? AND batch >= ? AND batch < ? "
            "AND decision = ?",
            (run_id, lo, hi, str(Decision.KEPT)),
        )
        or 0
    )


def set_step_one(ws: Workspace, candidate_id: int, cand: NewCandidate) -> None:
    """A step-1 decision made again (`steps.redecide_call`): decision, reason and scores
    (inside the caller's transaction)."""
    ws.update(
        "candidates",
        candidate_id,
        {
            "decision": str(cand.decision),
            "reason": None if cand.reason is None else str(cand.reason),
            "max_score": cand.max_score,
            "most_similar": cand.most_similar,
            "avg_similarity_score": cand.avg_similarity_score,
        },
    )


def pending(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    """Every pending candidate of the run (for steps 2 and 3), in id order."""
    return ws.query(
        f"SELECT {_STEP_COLS} FROM candidates WHERE run_id = ? AND decision = ? ORDER BY id",
        (run_id, str(Decision.PENDING)),
    )


def get(ws: Workspace, candidate_id: int) -> dict[str, Any] | None:
    """The candidate's row as stored (JSON columns as text), or None."""
    rows = ws.query("SELECT * FROM candidates WHERE id = ?", (candidate_id,))
    return rows[0] if rows else None


def task_of(ws: Workspace, candidate_id: int) -> int | None:
    """The task made from the candidate (its `task_id` link, else a task naming it), or None."""
    tid = ws.scalar(
        "SELECT task_id FROM candidates WHERE id = ? AND task_id IN (SELECT id FROM tasks)",
        (candidate_id,),
    )
    if tid is None:
        tid = ws.scalar(
            "SELECT id FROM tasks WHERE candidate_id = ? ORDER BY id LIMIT 1", (candidate_id,)
        )
    return None if tid is None else int(tid)


def count(ws: Workspace, run_id: int) -> int:
    return int(ws.scalar("SELECT count(*) FROM candidates WHERE run_id = ?", (run_id,)) or 0)


def count_examined(ws: Workspace, run_id: int) -> int:
    """Candidates the filters decided: not pending, and not closed unexamined at the target
    (the denominator of the acceptance rate)."""
    return int(
        ws.scalar(
            "SELECT count(*) FROM candidates WHERE run_id = ? AND decision != ? "
            "AND coalesce(reason, '') != ?",
            (run_id, str(Decision.PENDING), str(Reason.TARGET_REACHED)),
        )
        or 0
    )


def latest_decided(ws: Workspace, run_id: int, limit: int) -> list[dict[str, Any]]:
    """The run's last `limit` decided candidates (kept or dropped; neither pending nor closed
    unexamined at the target), newest first (by when they were generated): dicts with
    instruction, decision and reason (None when kept), as the progress events' `last` gives
    them. The Generate panel refills its feed with them when a run resumes."""
    rows = ws.query(
        "SELECT instruction, decision, reason FROM candidates WHERE run_id = ? "
        "AND decision != ? AND coalesce(reason, '') != ? ORDER BY id DESC LIMIT ?",
        (run_id, str(Decision.PENDING), str(Reason.TARGET_REACHED), int(limit)),
    )
    return [
        {"instruction": r["instruction"], "decision": r["decision"], "reason": r["reason"]}
        for r in rows
    ]


def dropped_by_reason(ws: Workspace, run_id: int) -> dict[str, int]:
    """The run's own drops per reason, most frequent first."""
    return {
        r["reason"]: r["n"]
        for r in ws.query(
            "SELECT reason, count(*) AS n FROM candidates WHERE run_id = ? AND decision = ? "
            "GROUP BY reason ORDER BY n DESC, reason",
            (run_id, str(Decision.DROPPED)),
        )
    }


def counts(ws: Workspace, run_id: int) -> dict[str, int]:
    """The run's own decisions: {"kept": n, "dropped": n, "pending": n} (absent when 0)."""
    return {
        r["decision"]: r["n"]
        for r in ws.query(
            "SELECT decision, count(*) AS n FROM candidates WHERE run_id = ? GROUP BY decision",
            (run_id,),
        )
    }


def page(
    ws: Workspace, run_id: int, *, decision: str | None = None, after_id: int = 0, limit: int = 256
) -> list[dict[str, Any]]:
    """One page of a run's candidates (the Inspect list), keyset-paginated by id; the run's
    own decision (`decision` filters on it; None: all)."""
    return ws.query(
        "SELECT id, batch, instruction, decision, reason, max_score, most_similar, "
        "is_classification, task_id FROM candidates "
        "WHERE run_id = ? AND (? IS NULL OR decision = ?) AND id > ? ORDER BY id LIMIT ?",
        (run_id, decision, decision, after_id, limit),
    )


def for_refilter(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    """Every candidate of the run in order: id, batch, instruction, decision, reason,
    max_score."""
    return ws.query(
        "SELECT id, batch, instruction, decision, reason, max_score "
        "FROM candidates WHERE run_id = ? ORDER BY id",
        (run_id,),
    )


# ------------------------------------------------------------------------------ in force
@dataclass(frozen=True)
class InForce:
    """The decision in force for one candidate, and what put it there: "run" (the run's
    own), "threshold" (the newest decision set Inspect applied) or "override" (a person)."""

    decision: Decision
    reason: Reason | None
    decided_by: str


def _reason(value: str | None) -> Reason | None:
    return None if value is None else Reason(value)


def in_force(ws: Workspace, run_id: int) -> dict[int, InForce]:
    """Every candidate of the run: candidate id -> the decision in force."""
    return {
        r["candidate_id"]: InForce(Decision(r["decision"]), _reason(r["reason"]), r["decided_by"])
        for r in ws.query(
            "SELECT candidate_id, decision, reason, decided_by "
            "FROM candidate_decisions WHERE run_id = ?",
            (run_id,),
        )
    }


def in_force_one(ws: Workspace, candidate_id: int) -> InForce | None:
    rows = ws.query(
        "SELECT decision, reason, decided_by FROM candidate_decisions WHERE candidate_id = ?",
        (candidate_id,),
    )
    if not rows:
        return None
    r = rows[0]
    return InForce(Decision(r["decision"]), _reason(r["reason"]), r["decided_by"])


def stored_instances(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The (input, output) pairs the instance rules kept, from a row's `instances` JSON."""
    try:
        items = json.loads(row.get("instances") or "[]")
    except (TypeError, ValueError):
        return []
    return [
        (str(d.get("input", "")), str(d.get("output", "")))
        for d in items
        if isinstance(d, dict) and d.get("kept", True)
    ]
