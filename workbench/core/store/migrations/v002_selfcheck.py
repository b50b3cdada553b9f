"""v2: SELF-CHECK traces: questions, solutions, steps, per-step checks, scores, human labels.

Checks and scores are keyed by run so the same trace can be re-checked with another model or
setting without losing the earlier verdicts; `sc_solutions.confidence` mirrors the latest one
so lists and voting read one column.
"""

STATEMENTS = [
    """CREATE TABLE sc_questions (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,          -- processbench | mr-gsm8k | gsm8k | traces | manual
        source_id TEXT,                -- the id the source file gives it, when any
        question TEXT NOT NULL,
        gold_answer TEXT,              -- normalised final answer, when known
        gold_solution TEXT,            -- the reference solution text, when the source has one
        information TEXT,              -- JSON list: the question split into information sentences
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,  -- the import run
        meta TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE UNIQUE INDEX sc_questions_source ON sc_questions(source, source_id)",
    """CREATE TABLE sc_solutions (
        id INTEGER PRIMARY KEY,
        question_id INTEGER NOT NULL REFERENCES sc_questions(id) ON DELETE CASCADE,
        origin TEXT NOT NULL,          -- sampled | imported
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,   -- sampling or import run
        call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,  -- the sampling call
        sample_index INTEGER NOT NULL DEFAULT 0,
        text TEXT NOT NULL,            -- the whole solution as generated or imported
        answer TEXT,                   -- extracted, normalised final answer (NULL: none found)
        is_correct INTEGER,            -- answer == gold answer (NULL when either is unknown)
        label INTEGER,                 -- imported step label: index of the first wrong step, -1 none
        confidence REAL,               -- w from the latest finished check, NULL before any
        check_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE INDEX sc_solutions_question ON sc_solutions(question_id, sample_index)",
    "CREATE INDEX sc_solutions_run ON sc_solutions(run_id)",
    """CREATE TABLE sc_steps (
        id INTEGER PRIMARY KEY,
        solution_id INTEGER NOT NULL REFERENCES sc_solutions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,     -- 0-based, and shown to the model as "Step <position>" (reference prompts count from 0)
        text TEXT NOT NULL,
        UNIQUE (solution_id, position)
    )""",
    """CREATE TABLE sc_checks (
        id INTEGER PRIMARY KEY,
        step_id INTEGER NOT NULL REFERENCES sc_steps(id) ON DELETE CASCADE,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        target_prompt TEXT,
        target_output TEXT,
        target_call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        collect_prompt TEXT,
        collect_output TEXT,
        collect_call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        collected_info TEXT,           -- JSON list of information indices (0-based)
        collected_steps TEXT,          -- JSON list of step positions (0-based, as the prompts show)
        regen_prompt TEXT,
        regen_output TEXT,
        regen_call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        compare_prompt TEXT,
        compare_output TEXT,
        compare_call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        followup_output TEXT,          -- the short verdict follow-up, when the reply was unclear
        followup_call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        verdict TEXT NOT NULL,         -- pending (stages under way) | support | contradict | unrelated | error
        score INTEGER,                 -- r_i: +1, -1, 0; NULL for an error (counted per setting)
        error TEXT,                    -- what went wrong when verdict = error
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (step_id, run_id)
    )""",
    "CREATE INDEX sc_checks_run ON sc_checks(run_id)",
    """CREATE TABLE sc_scores (
        solution_id INTEGER NOT NULL REFERENCES sc_solutions(id) ON DELETE CASCADE,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        confidence REAL NOT NULL,
        n_support INTEGER NOT NULL,
        n_contradict INTEGER NOT NULL,
        n_unrelated INTEGER NOT NULL,
        n_error INTEGER NOT NULL,
        first_wrong INTEGER NOT NULL,  -- 0-based index of the first step with r = -1, else -1
        config TEXT NOT NULL DEFAULT '{}',  -- JSON: lambdas and error policy used
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (solution_id, run_id)
    )""",
    """CREATE TABLE sc_step_labels (
        step_id INTEGER PRIMARY KEY REFERENCES sc_steps(id) ON DELETE CASCADE,
        rating INTEGER,                -- -1 | 0 | +1 as PRM800K rates steps; NULL: not rated
        flag INTEGER NOT NULL DEFAULT 0,
        note TEXT,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
]
