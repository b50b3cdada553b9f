"""v1: the core of every workspace (tasks, instances, runs, model calls, candidates, exports)."""

STATEMENTS = [
    """CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL            -- JSON
    )""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,            -- self-instruct | self-check | cot | replay | import | ...
        status TEXT NOT NULL DEFAULT 'running',  -- running | finished | cancelled | failed
        config TEXT NOT NULL DEFAULT '{}',       -- JSON: preset, seed, target, model, filters...
        stats TEXT NOT NULL DEFAULT '{}',        -- JSON: figures kept up to date as it goes
        error TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        finished_at TEXT
    )""",
    """CREATE TABLE model_calls (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        purpose TEXT NOT NULL,         -- e.g. instruction-generation, classification, instances
        backend TEXT NOT NULL,         -- llama.cpp | openai | scripted
        model TEXT NOT NULL,           -- GGUF path or server model name
        model_sha256 TEXT,
        prompt TEXT,                   -- for completion calls
        messages TEXT,                 -- JSON, for chat calls
        params TEXT NOT NULL,          -- JSON
        raw_output TEXT,
        finish_reason TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        prompt_eval_tokens INTEGER,    -- prompt tokens actually evaluated (prefix reuse)
        timings TEXT,                  -- JSON
        error TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE INDEX model_calls_run ON model_calls(run_id)",
    """CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        name TEXT,                     -- the seed's `id`/`name` when it has one
        instruction TEXT NOT NULL,
        norm TEXT NOT NULL,            -- normalised instruction, for exact-duplicate checks
        is_classification INTEGER,    -- 1, 0, or NULL when unknown
        source TEXT NOT NULL,          -- seed | generated | imported
        origin TEXT,                   -- file or format it came from
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        candidate_id INTEGER,          -- the candidate it was accepted from
        lang TEXT,
        meta TEXT NOT NULL DEFAULT '{}',  -- JSON: fields a format carries that we keep (system...)
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE INDEX tasks_norm ON tasks(norm)",
    "CREATE INDEX tasks_source ON tasks(source)",
    "CREATE INDEX tasks_run ON tasks(run_id)",
    """CREATE TABLE instances (
        id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        position INTEGER NOT NULL DEFAULT 0,
        input TEXT NOT NULL DEFAULT '',
        output TEXT NOT NULL DEFAULT '',
        call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE INDEX instances_task ON instances(task_id, position)",
    """CREATE TABLE candidates (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        batch INTEGER NOT NULL DEFAULT 0,
        position INTEGER NOT NULL DEFAULT 0,
        instruction TEXT NOT NULL,
        decision TEXT NOT NULL DEFAULT 'pending',  -- pending | kept | dropped
        reason TEXT,                   -- why dropped (rouge, length, blacklist, ...) or NULL
        max_score REAL,
        most_similar TEXT,             -- JSON: {text: score}, top-10 as the reference stores it
        avg_similarity_score REAL,
        is_classification INTEGER,
        clf_call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        instances_call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        instances TEXT,                -- JSON: parsed instances with their own decisions
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE INDEX candidates_run ON candidates(run_id, decision)",
    """CREATE TABLE exports (
        id INTEGER PRIMARY KEY,
        format TEXT NOT NULL,
        path TEXT NOT NULL,
        selection TEXT NOT NULL DEFAULT '{}',  -- JSON: only, run, tag, subset
        count INTEGER NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
]
