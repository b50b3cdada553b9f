"""Reading and writing SELF-CHECK traces: the API the jobs, the CLI and the GUI stepper share.

Every write function opens `ws.transaction()` itself; called inside a caller's transaction it
becomes a savepoint, so a job can put a model call and what it produced in one unit of work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..answers import answers_equal
from ..errors import UserInputError
from ..store.workspace import Workspace
from .parse import extract_answer, normalize_answer
from .split import split_information, split_steps

STAGES = ("target", "collect", "regen", "compare")
RATINGS = (-1, 0, 1)


def add_question(
    ws: Workspace,
    question: str,
    *,
    source: str,
    source_id: str | None = None,
    gold_answer: str | None = None,
    gold_solution: str | None = None,
    run_id: int | None = None,
    meta: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    """(question id, created). A question with the same (source, source_id) is reused."""
    with ws.transaction():
        if source_id is not None:
            found = ws.scalar(
                "SELECT id FROM sc_questions WHERE source = ? AND source_id = ?",
                (source, source_id),
            )
            if found is not None:
                return int(found), False
        qid = ws.insert(
            "sc_questions",
            {
                "source": source,
                "source_id": source_id,
                "question": question,
                "gold_answer": normalize_answer(gold_answer) if gold_answer is not None else None,
                "gold_solution": gold_solution,
                "information": split_information(question),
                "run_id": run_id,
                "meta": meta or {},
            },
        )
        return qid, True


def add_solution(
    ws: Workspace,
    question_id: int,
    text: str,
    *,
    origin: str,
    steps: Sequence[str] | None = None,
    run_id: int | None = None,
    call_id: int | None = None,
    sample_index: int = 0,
    answer: str | None = None,
    label: int | None = None,
    meta: dict[str, Any] | None = None,
) -> int:
    """Store a solution and its steps (split from `text` unless given); returns its id."""
    steps = list(steps) if steps is not None else split_steps(text)
    ans = normalize_answer(answer) if answer is not None else extract_answer(text)
    with ws.transaction():
        gold = ws.scalar("SELECT gold_answer FROM sc_questions WHERE id = ?", (question_id,))
        correct = None if gold is None or ans is None else int(answers_equal(ans, gold))
        sid = ws.insert(
            "sc_solutions",
            {
                "question_id": question_id,
                "origin": origin,
                "run_id": run_id,
                "call_id": call_id,
                "sample_index": sample_index,
                "text": text,
                "answer": ans,
                "is_correct": correct,
                "label": label,
                "meta": meta or {},
            },
        )
        for pos, step in enumerate(steps):
            ws.insert("sc_steps", {"solution_id": sid, "position": pos, "text": step})
        return sid


def question_information(ws: Workspace, question_id: int) -> tuple[str, list[str]]:
    row = ws.query("SELECT question, information FROM sc_questions WHERE id = ?", (question_id,))
    if not row:
        raise UserInputError(f"no self-check question {question_id}")
    stored = row[0]["information"]
    info = json.loads(stored) if stored else split_information(row[0]["question"])
    return row[0]["question"], info


def solution_steps(ws: Workspace, solution_id: int) -> list[dict[str, Any]]:
    return ws.query(
        "SELECT id, position, text FROM sc_steps WHERE solution_id = ? ORDER BY position",
        (solution_id,),
    )


def solution_ids(
    ws: Workspace,
    *,
    run_id: int | None = None,
    source: str | None = None,
    question_ids: Sequence[int] | None = None,
) -> list[int]:
    """Solutions made or imported by a run (or all), optionally of one source or some questions."""
    sql = "SELECT s.id FROM sc_solutions s JOIN sc_questions q ON q.id = s.question_id WHERE 1=1"
    params: list[Any] = []
    if run_id is not None:
        sql += " AND s.run_id = ?"
        params.append(run_id)
    if source is not None:
        sql += " AND q.source = ?"
        params.append(source)
    if question_ids is not None:
        sql += f" AND s.question_id IN ({','.join('?' * len(question_ids))})"
        params += list(question_ids)
    sql += " ORDER BY s.question_id, s.sample_index, s.id"
    return [r["id"] for r in ws.query(sql, params)]


def list_traces(
    ws: Workspace,
    *,
    run_id: int | None = None,
    check_run_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One row per solution for a list view: question, answer, confidence, gold, correctness,
    steps, and how many steps a person has rated. `check_run_id` picks whose confidence is shown
    (default: the latest check of each solution)."""
    conf = (
        "(SELECT confidence FROM sc_scores sc WHERE sc.solution_id = s.id AND sc.run_id = ?)"
        if check_run_id is not None
        else "s.confidence"
    )
    params: list[Any] = [check_run_id] if check_run_id is not None else []
    sql = f"""
        SELECT s.id AS solution_id, s.question_id, q.question, q.source, s.origin, s.run_id,
               s.sample_index, s.answer, q.gold_answer, s.is_correct, s.label,
               {conf} AS confidence,
               (SELECT count(*) FROM sc_steps st WHERE st.solution_id = s.id) AS n_steps,
               (SELECT count(*) FROM sc_steps st JOIN sc_step_labels l ON l.step_id = st.id
                 WHERE st.solution_id = s.id AND l.rating IS NOT NULL) AS n_rated,
               (SELECT count(*) FROM sc_steps st JOIN sc_step_labels l ON l.step_id = st.id
                 WHERE st.solution_id = s.id AND l.flag = 1) AS n_flagged
        FROM sc_solutions s JOIN sc_questions q ON q.id = s.question_id
    """
    if run_id is not None:
        sql += " WHERE s.run_id = ?"
        params.append(run_id)
    sql += " ORDER BY s.question_id, s.sample_index, s.id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return ws.query(sql, params)


def _check_dict(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for key in ("collected_info", "collected_steps"):
        out[key] = json.loads(out[key]) if out[key] is not None else None
    return out


def check_runs_of(ws: Workspace, solution_id: int) -> list[dict[str, Any]]:
    """The SELF-CHECK runs that checked any step of a solution, oldest first, with their
    status, creation time and config (the stepper lets one choose which to show)."""
    rows = ws.query(
        """SELECT r.id, r.status, r.created_at, r.config FROM runs r
                       WHERE r.id IN (SELECT c.run_id FROM sc_checks c
                                      JOIN sc_steps st ON st.id = c.step_id
                                      WHERE st.solution_id = ?) ORDER BY r.id""",
        (solution_id,),
    )
    for r in rows:
        r["config"] = json.loads(r["config"] or "{}")
    return rows


def load_trace(
    ws: Workspace, solution_id: int, *, check_run_id: int | None = None
) -> dict[str, Any]:
    """A solution with its question, information, steps, each step's check (all four stage
    prompts and outputs, collected ids, verdict, r_i, call ids) and human label."""
    rows = ws.query(
        """SELECT s.*, q.question, q.gold_answer, q.information, q.source, q.source_id
                       FROM sc_solutions s JOIN sc_questions q ON q.id = s.question_id
                       WHERE s.id = ?""",
        (solution_id,),
    )
    if not rows:
        raise UserInputError(f"no self-check solution {solution_id}")
    trace = rows[0]
    trace["information"] = json.loads(trace["information"] or "[]")
    trace["meta"] = json.loads(trace["meta"] or "{}")
    run = check_run_id if check_run_id is not None else trace["check_run_id"]
    if run is None:  # not finished yet: show the newest check in progress
        run = ws.scalar(
            """SELECT c.run_id FROM sc_checks c JOIN sc_steps st ON st.id = c.step_id
                           WHERE st.solution_id = ? ORDER BY c.run_id DESC LIMIT 1""",
            (solution_id,),
        )
    trace["shown_check_run_id"] = run
    score = ws.query(
        "SELECT * FROM sc_scores WHERE solution_id = ? AND run_id = ?", (solution_id, run)
    )
    trace["score"] = score[0] if score else None
    steps = solution_steps(ws, solution_id)
    for st in steps:
        chk = ws.query("SELECT * FROM sc_checks WHERE step_id = ? AND run_id = ?", (st["id"], run))
        st["check"] = _check_dict(chk[0] if chk else None)
        lab = ws.query(
            "SELECT rating, flag, note, updated_at FROM sc_step_labels WHERE step_id = ?",
            (st["id"],),
        )
        st["label"] = lab[0] if lab else None
    trace["steps"] = steps
    return trace


def set_step_label(
    ws: Workspace, step_id: int, rating: int | None, flag: bool = False, note: str | None = None
) -> None:
    """A person's verdict on one step: rating −1/0/+1 (None clears it), a flag, a note."""
    if rating is not None and rating not in RATINGS:
        raise UserInputError(f"a step rating is -1, 0 or +1, not {rating!r}", field="rating")
    with ws.transaction():
        if ws.scalar("SELECT 1 FROM sc_steps WHERE id = ?", (step_id,)) is None:
            raise UserInputError(f"no self-check step {step_id}")
        ws.execute(
            """INSERT INTO sc_step_labels (step_id, rating, flag, note, updated_at)
               VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
               ON CONFLICT(step_id) DO UPDATE SET rating = excluded.rating, flag = excluded.flag,
                 note = excluded.note, updated_at = excluded.updated_at""",
            (step_id, rating, int(bool(flag)), note),
        )
