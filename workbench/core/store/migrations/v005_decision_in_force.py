"""v5: the decision in force is a view, not a JSON flag mirrored on tasks.

Before v5 the decision in force for a SELF-INSTRUCT candidate was spread over `candidates.
decision` (the run's), `inspect_decisions` (the newest decision set), `inspect_overrides` (a
person's) and a copy on its task, `tasks.meta.dropped`, which exports and statistics read. From
v5 two views say it once:

- `candidate_decisions`: per candidate, the decision and reason in force and what put them
  there (`decided_by`: override > threshold (the run's newest decision set) > run);
- `task_decisions`: per task, "dropped" when the candidate it was made from (`tasks.
  candidate_id`) is dropped in force, else "kept" (seeds, imports and tasks without a
  candidate are always kept).

The data migration moves the old flag into the new shape: a task marked dropped whose candidate
the views would call kept gets an override that drops it (only an edit outside the app could
have made them disagree), and the `dropped` key leaves the meta of every task made from a
candidate (the app wrote it only there; on other tasks it is a field an imported file carried,
and stays).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

STATEMENTS_SQL = [
    # The view's join from tasks to their candidate, and Inspect's newest set per run.
    "CREATE INDEX IF NOT EXISTS tasks_candidate ON tasks(candidate_id)",
    """CREATE VIEW candidate_decisions AS
    SELECT c.id AS candidate_id,
           c.run_id AS run_id,
           coalesce(o.decision, d.decision, c.decision) AS decision,
           CASE WHEN o.decision = 'dropped' THEN 'override'
                WHEN o.decision IS NOT NULL THEN NULL
                WHEN d.decision IS NOT NULL THEN d.reason
                ELSE c.reason END AS reason,
           CASE WHEN o.decision IS NOT NULL THEN 'override'
                WHEN d.decision IS NOT NULL THEN 'threshold'
                ELSE 'run' END AS decided_by,
           d.set_id AS set_id
    FROM candidates c
    LEFT JOIN inspect_overrides o ON o.candidate_id = c.id
    LEFT JOIN inspect_decisions d ON d.candidate_id = c.id
         AND d.set_id = (SELECT max(s.id) FROM inspect_decision_sets s WHERE s.run_id = c.run_id)""",
    """CREATE VIEW task_decisions AS
    SELECT t.id AS task_id,
           coalesce(cd.decision, 'kept') AS decision,
           cd.decided_by AS decided_by
    FROM tasks t
    LEFT JOIN candidate_decisions cd ON cd.candidate_id = t.candidate_id""",
]

NOTE = "carried over from the task's old dropped mark (schema v5)"


def move_dropped_flags(conn: sqlite3.Connection) -> None:
    """tasks.meta.dropped -> the views (an override where they disagree); see the docstring."""
    rows = conn.execute(
        "SELECT t.id, t.meta, t.candidate_id, cd.decision FROM tasks t "
        "JOIN candidates c ON c.id = t.candidate_id "
        "LEFT JOIN candidate_decisions cd ON cd.candidate_id = t.candidate_id "
        "WHERE json_valid(t.meta) AND json_extract(t.meta, '$.dropped') IS NOT NULL"
    ).fetchall()
    for task_id, meta, candidate_id, in_force in rows:
        data = json.loads(meta)
        if data.pop("dropped", None) and in_force != "dropped":
            conn.execute(
                "INSERT INTO inspect_overrides (candidate_id, decision, note) "
                "VALUES (?, 'dropped', ?) ON CONFLICT(candidate_id) DO UPDATE SET "
                "decision = 'dropped'",
                (candidate_id, NOTE),
            )
        conn.execute(
            "UPDATE tasks SET meta = ? WHERE id = ?",
            (json.dumps(data, ensure_ascii=False), task_id),
        )


STATEMENTS: list[str | Callable[[sqlite3.Connection], None]] = [*STATEMENTS_SQL, move_dropped_flags]
