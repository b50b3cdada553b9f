"""A SELF-INSTRUCT run's ROUGE-L filter replayed at another threshold.

The replay is the run's own rule, `selfinstruct.candidates.decide_call`, called once per step-1
call (candidates grouped by `batch`, in id order): each candidate is compared with the pool and
with the earlier candidates of its call that passed step 1 at this threshold — whatever step 3
later made of them, as in the run. The pool is the one the run started from (every task that
existed when the run was created and that it did not make), grown as the run grew it
(`StoredRun.pool_growth`): by the candidates kept at this threshold (our runs), or by every
candidate that passed step 1 (a replay of a reference run). At the run's own threshold the
re-filter therefore reproduces the run exactly (tests/test_filter_rule.py holds it to that).

Candidates a rule dropped before ROUGE-L looked at them (length, blacklist, truncated...) keep
that decision. One that passes at this threshold gets its fate after step 1 as the run recorded
it: kept stays kept, no-instances / target-reached / not-in-reference stay dropped, pending
stays pending, and one the run dropped for ROUGE-L is kept (step 3 never ran for it).

`build_plan` does the expensive part once (every candidate against the pool, and every
candidate against every other); `decisions_at` is then a cheap greedy pass, fast enough to
follow a slider. Scores are rouge-score's exact floats, so a score equal to the threshold is
kept, as in the run.

Up to `DENSE_MAX` replayed candidates the plan holds the full candidate x candidate matrix
(exact at every threshold). Beyond that, n x n would not fit a laptop (20,000 candidates: 3.2
GB), so the plan keeps, per candidate, only the earlier candidates it scores above `floor`; a
pair at or below the floor can never drop a candidate at a threshold >= floor, so decisions stay
exact there, and thresholds below the floor are refused (the slider starts at the floor).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserInputError
from ..jobs import CancelToken
from ..selfinstruct import candidates
from ..selfinstruct.candidates import Decision, PoolGrowth, Reason, decide_call, passed_rules
from ..selfinstruct.config import stored_run
from ..similarity import SimilarityIndex
from ..similarity.workspace import workspace_tokenizer
from ..store.workspace import Workspace

# The decision in force lives in `decisions`, below this module and `overrides`; these names stay
# importable from here.
from .decisions import current_decisions
from .decisions import decision_sets as decision_sets
from .decisions import overridden as overridden
from .overrides import sync_task

DENSE_MAX = 4096  # replayed candidates up to which the full matrix is kept (128 MiB)
SPARSE_FLOOR = 0.5  # beyond it: the lowest threshold a plan can replay exactly
BLOCK = 256  # rows scored at once when building (bounded memory)


@dataclass
class RefilterPlan:
    run_id: int
    tokenizer: str
    threshold: float  # the run's own threshold
    ids: list[int]  # every candidate of the run, in order
    instructions: list[str]
    fixed: dict[int, tuple[Decision, Reason | None]]  # candidate id -> a rule's drop
    eligible: list[int]  # positions (into ids) that the replay decides
    pool_max: np.ndarray  # per eligible: highest ROUGE-L against the start pool
    within: np.ndarray | None  # eligible x eligible ROUGE-L (dense plans)
    stored_max: list[float | None] = field(default_factory=list)  # candidates.max_score
    # Sparse plans: per eligible j, (earlier eligible positions, their scores) above `floor`.
    earlier: list[tuple[np.ndarray, np.ndarray]] | None = None
    floor: float = 0.0  # decisions are exact for thresholds >= floor
    # Per eligible: what the run recorded after step 1, the fate of one that passes.
    fate: list[tuple[Decision, Reason | None]] = field(default_factory=list)
    calls: list[tuple[int, int]] = field(default_factory=list)  # [lo, hi) eligible per call
    pool_growth: PoolGrowth = PoolGrowth.ACCEPTED


@dataclass
class Refiltered:
    threshold: float
    decisions: dict[int, Decision]  # candidate id -> kept | dropped | pending
    reasons: dict[int, Reason | None]
    max_scores: dict[int, float]  # eligible candidates: highest score when decided

    def counts(self) -> dict[str, int]:
        out = {str(Decision.KEPT): 0, str(Decision.DROPPED): 0}
        for d in self.decisions.values():
            out[str(d)] = out.get(str(d), 0) + 1
        return out


def pool_at_start(ws: Workspace, run_id: int) -> list[str]:
    """Instructions of the tasks the run's filter started from, in task id order."""
    created = ws.scalar("SELECT created_at FROM runs WHERE id = ?", (run_id,))
    if created is None:
        raise UserInputError(f"no run {run_id} in this workspace", field="run")
    return [
        r[0]
        for r in ws.execute(
            "SELECT instruction FROM tasks WHERE (run_id IS NULL OR run_id != ?) AND created_at <= ? "
            "ORDER BY id",
            (run_id, created),
        )
    ]


def _pool_max(pool: SimilarityIndex, texts: list[str], cancel: CancelToken | None) -> np.ndarray:
    if not texts or not len(pool):
        return np.zeros(len(texts))
    out = []
    for i in range(0, len(texts), BLOCK):
        if cancel is not None:
            cancel.check()
        out.append(pool.scores_many(texts[i : i + BLOCK]).max(axis=1))
    return np.concatenate(out)


def _earlier_above(
    cands: SimilarityIndex, texts: list[str], floor: float, cancel: CancelToken | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for start in range(0, len(texts), BLOCK):
        if cancel is not None:
            cancel.check()
        block = cands.scores_many(texts[start : start + BLOCK])
        for r, row in enumerate(block):
            j = start + r
            cols = np.flatnonzero(row[:j] > floor)
            out.append((cols, row[cols]))
    return out


def _fate(decision: str, reason: str | None) -> tuple[Decision, Reason | None]:
    """What a candidate that passes step 1 becomes, from what the run recorded for it."""
    if decision == Decision.DROPPED and reason != Reason.ROUGE:
        return Decision.DROPPED, Reason(reason) if reason else None
    if decision == Decision.PENDING:
        return Decision.PENDING, None
    return Decision.KEPT, None  # kept, or dropped for ROUGE-L only (step 3 never ran for it)


def build_plan(
    ws: Workspace,
    run_id: int,
    threads: int | None = None,
    *,
    dense_max: int = DENSE_MAX,
    floor: float = SPARSE_FLOOR,
    cancel: CancelToken | None = None,
) -> RefilterPlan:
    """Score the run's candidates once (see the module docstring); raises UserInputError when
    there is no SELF-INSTRUCT run or replay `run_id`."""
    run = stored_run(ws, run_id)
    if run is None:
        raise UserInputError(f"no self-instruct run {run_id} in this workspace", field="run")
    tokenizer = run.tokenizer or workspace_tokenizer(ws)
    rows = candidates.for_refilter(ws, run_id)
    fixed: dict[int, tuple[Decision, Reason | None]] = {}
    eligible: list[int] = []
    fate: list[tuple[Decision, Reason | None]] = []
    calls: list[tuple[int, int]] = []
    for pos, r in enumerate(rows):
        if not passed_rules(r["decision"], r["reason"]):
            fixed[r["id"]] = (Decision(r["decision"]), Reason(r["reason"]) if r["reason"] else None)
            continue
        if not eligible or rows[eligible[-1]]["batch"] != r["batch"]:
            calls.append((len(eligible), len(eligible)))
        eligible.append(pos)
        fate.append(_fate(r["decision"], r["reason"]))
        calls[-1] = (calls[-1][0], len(eligible))
    texts = [rows[p]["instruction"] for p in eligible]
    pool = SimilarityIndex(tokenizer, threads=threads)
    pool.add_many(pool_at_start(ws, run_id))
    pool_max = _pool_max(pool, texts, cancel)
    cands = SimilarityIndex(tokenizer, threads=threads)
    cands.add_many(texts)
    dense = len(texts) <= dense_max
    within = (cands.pairwise() if texts else np.zeros((0, 0))) if dense else None
    return RefilterPlan(
        run_id=run_id,
        tokenizer=tokenizer,
        threshold=run.threshold,
        ids=[r["id"] for r in rows],
        instructions=[r["instruction"] for r in rows],
        fixed=fixed,
        eligible=eligible,
        pool_max=np.asarray(pool_max, dtype=float),
        within=within,
        stored_max=[r["max_score"] for r in rows],
        earlier=None if dense else _earlier_above(cands, texts, floor, cancel),
        floor=0.0 if dense else floor,
        fate=fate,
        calls=calls,
        pool_growth=run.pool_growth,
    )


def decisions_at(plan: RefilterPlan, threshold: float) -> Refiltered:
    """Every candidate's decision had the run's filter used `threshold` (0..1).

    In a sparse plan (a large run) a candidate's reported score is exact when above the floor
    and a lower bound below it; the decisions are exact. Raises UserInputError for a threshold
    below a sparse plan's floor."""
    if threshold < plan.floor:
        raise UserInputError(
            f"this run is large: it can be re-filtered at thresholds from {plan.floor:.2f} up, "
            f"not {threshold:.2f}",
            field="threshold",
        )
    m = len(plan.eligible)
    running = np.full(m, -1.0)  # dense: highest score against the candidates that joined the pool
    joined = np.zeros(m, dtype=bool)  # sparse: which candidates have joined the pool
    decisions: dict[int, Decision] = {}
    reasons: dict[int, Reason | None] = {}
    scores: dict[int, float] = {}
    for cid, (d, why) in plan.fixed.items():
        decisions[cid], reasons[cid] = d, why
    for lo, hi in plan.calls:

        def best(k: int, siblings: Sequence[int], lo: int = lo) -> float:
            i = lo + k
            sib = [lo + s for s in siblings]
            if plan.earlier is not None:
                cols, vals = plan.earlier[i]
                hit = vals[joined[cols] | np.isin(cols, sib)]
                other = float(hit.max()) if hit.size else 0.0
            else:
                assert plan.within is not None
                other = float(running[i])
                if sib:
                    other = max(other, float(plan.within[i, sib].max()))
            return max(float(plan.pool_max[i]), other, 0.0)

        verdicts = decide_call([None] * (hi - lo), best, threshold)
        # The pool grows between calls: within this one, the siblings stood in for it.
        for k, v in enumerate(verdicts):
            i = lo + k
            cid = plan.ids[plan.eligible[i]]
            scores[cid] = v.max_score
            if v.reason is not None:
                decisions[cid], reasons[cid] = Decision.DROPPED, v.reason
                continue
            decisions[cid], reasons[cid] = plan.fate[i]
            if plan.pool_growth == PoolGrowth.STEP_1 or plan.fate[i][0] == Decision.KEPT:
                joined[i] = True
                if plan.within is not None:
                    np.maximum(running, plan.within[:, i], out=running)
    return Refiltered(threshold, decisions, reasons, scores)


@dataclass
class Change:
    candidate_id: int
    instruction: str
    old: str
    new: str
    max_score: float | None


def _differences(plan: RefilterPlan, result: Refiltered, current: dict[int, str]) -> list[Change]:
    out = []
    for cid, text in zip(plan.ids, plan.instructions):
        new = result.decisions[cid]
        old = current.get(cid, new)
        if old != new:
            out.append(Change(cid, text, old, new, result.max_scores.get(cid)))
    return out


def changes(
    plan: RefilterPlan,
    result: Refiltered,
    current: dict[int, str],
    overridden: Collection[int] = (),
) -> list[Change]:
    """Candidates whose decision at `result.threshold` differs from `current` (candidate id ->
    decision in force), in run order. Candidates in `overridden` (`overridden(ws, run_id)`)
    are left out: an override wins over every threshold, so applying this one would not change
    them (see `override_stays`)."""
    held = set(overridden)
    return [c for c in _differences(plan, result, current) if c.candidate_id not in held]


def override_stays(
    plan: RefilterPlan,
    result: Refiltered,
    current: dict[int, str],
    overridden: Collection[int],
) -> list[Change]:
    """The overridden candidates whose override disagrees with the replay at
    `result.threshold`, in run order: `new` is what the threshold alone would decide; the
    override (`old`) stays in force."""
    held = set(overridden)
    return [c for c in _differences(plan, result, current) if c.candidate_id in held]


def histogram(
    values: Sequence[float | None], bins: int = 20, lo: float = 0.0, hi: float = 1.0
) -> tuple[list[int], list[float]]:
    """Counts per bin over [lo, hi] (the last bin includes hi) and the bin edges."""
    vals = np.asarray([v for v in values if v is not None], dtype=float)
    counts, edges = np.histogram(vals, bins=bins, range=(lo, hi))
    return counts.astype(int).tolist(), edges.tolist()


def score_histogram(plan: RefilterPlan, bins: int = 20) -> tuple[list[int], list[float]]:
    """Each replayed candidate's highest ROUGE-L as the run's filter saw it (the paper's figure)."""
    return histogram([plan.stored_max[p] for p in plan.eligible], bins)


def apply_threshold(ws: Workspace, plan: RefilterPlan, threshold: float) -> int:
    """Record the re-filter at `threshold` as a new decision set (earlier ones stay) and bring
    the tasks in line with it (see `overrides.sync_task`); returns the set's id."""
    if not 0.0 <= threshold <= 1.0:
        raise UserInputError("the ROUGE-L threshold must be between 0 and 1", field="threshold")
    result = decisions_at(plan, threshold)
    before = current_decisions(ws, plan.run_id)
    with ws.transaction():
        sid = ws.insert(
            "inspect_decision_sets",
            {
                "run_id": plan.run_id,
                "threshold": float(threshold),
                "counts": json.dumps(result.counts()),
            },
        )
        for cid in plan.ids:
            why = result.reasons[cid]
            ws.execute(
                "INSERT INTO inspect_decisions (set_id, candidate_id, decision, reason, "
                "max_score) VALUES (?, ?, ?, ?, ?)",
                (
                    sid,
                    cid,
                    str(result.decisions[cid]),
                    None if why is None else str(why),
                    result.max_scores.get(cid),
                ),
            )
        after = current_decisions(ws, plan.run_id)
        for cid in plan.ids:
            if before.get(cid) != after.get(cid):
                sync_task(ws, cid)
    return sid
