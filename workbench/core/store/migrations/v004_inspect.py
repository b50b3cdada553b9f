"""v4: the inspector's decision sets (a run re-filtered at another threshold) and overrides.

A decision set never replaces the run's original decisions (kept in `candidates`): each applied
threshold is a new set, the newest is the one in force. An override is a person's keep/drop of
one candidate with a note; it wins over every decision set. `created_task_id` remembers the task
an override made (keeping a dropped candidate), so undoing the override removes it again.
"""

STATEMENTS = [
    """CREATE TABLE inspect_decision_sets (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        threshold REAL NOT NULL,
        counts TEXT NOT NULL DEFAULT '{}',   -- JSON: {"kept": n, "dropped": n}
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE INDEX inspect_decision_sets_run ON inspect_decision_sets(run_id, id)",
    """CREATE TABLE inspect_decisions (
        set_id INTEGER NOT NULL REFERENCES inspect_decision_sets(id) ON DELETE CASCADE,
        candidate_id INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
        decision TEXT NOT NULL,              -- kept | dropped
        reason TEXT,                         -- rouge, or the run's own non-ROUGE reason
        max_score REAL,                      -- highest ROUGE-L against the pool at that point
        PRIMARY KEY (set_id, candidate_id)
    )""",
    """CREATE TABLE inspect_overrides (
        candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id) ON DELETE CASCADE,
        decision TEXT NOT NULL,              -- kept | dropped
        note TEXT NOT NULL DEFAULT '',
        created_task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
]
