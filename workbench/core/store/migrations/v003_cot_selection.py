"""v3: chain-of-thought items and their sampled paths; the embeddings cache; named selections.

CoT items are stored per run when the run starts, so a resumed run reads its work list back
from here; a path row exists once its model call is done, which is what resume counts.
Embeddings are keyed by the model's sha256 and a hash of the embedded text, so an edited task
or another model never reuses a stale vector.
"""

STATEMENTS = [
    """CREATE TABLE cot_items (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,     -- order in the source (0-based)
        source TEXT NOT NULL,          -- gsm8k | choice | records | workspace
        source_ref TEXT,               -- file:line or task id, to trace a record to its origin
        cot_type TEXT NOT NULL,        -- math | general | choice | task
        instruction TEXT NOT NULL,
        input TEXT NOT NULL DEFAULT '',
        gold_output TEXT NOT NULL DEFAULT '',
        gold_answer TEXT,              -- normalised: a number, an option letter or text
        answer_kind TEXT NOT NULL,     -- number | option | text
        options TEXT NOT NULL DEFAULT '[]',  -- JSON list of option texts (multiple choice)
        samples INTEGER NOT NULL DEFAULT 0,
        kept INTEGER NOT NULL DEFAULT 0,
        agreement REAL,                -- share of samples agreeing with the most common answer
        meta TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE UNIQUE INDEX cot_items_run ON cot_items(run_id, position)",
    """CREATE TABLE cot_paths (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES cot_items(id) ON DELETE CASCADE,
        sample_index INTEGER NOT NULL,
        call_id INTEGER REFERENCES model_calls(id) ON DELETE SET NULL,
        rationale TEXT NOT NULL,       -- the model's text as generated
        answer TEXT,                   -- extracted, normalised final answer (NULL: none found)
        correct INTEGER,               -- answer equals gold: 1/0, NULL when no answer found
        kept INTEGER NOT NULL DEFAULT 0,
        reason TEXT,                   -- why dropped: wrong-answer | no-answer | empty | ...
        confidence REAL,               -- SELF-CHECK confidence when that filter ran
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,  -- the record made from it
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE UNIQUE INDEX cot_paths_item ON cot_paths(item_id, sample_index)",
    """CREATE TABLE embeddings (
        id INTEGER PRIMARY KEY,
        model_sha256 TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        dim INTEGER NOT NULL,
        vector BLOB NOT NULL,          -- float32, little-endian, L2-normalised
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE UNIQUE INDEX embeddings_key ON embeddings(model_sha256, text_sha256)",
    """CREATE TABLE selections (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        method TEXT NOT NULL,          -- kcenter | kmeans-kcenter | random
        config TEXT NOT NULL DEFAULT '{}',  -- JSON: budget, seed, embed, task, model
        stats TEXT NOT NULL DEFAULT '{}',   -- JSON: coverage figures and the random baseline
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    """CREATE TABLE selection_members (
        selection_id INTEGER NOT NULL REFERENCES selections(id) ON DELETE CASCADE,
        task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,     -- order of choice (k-center order: most covering first)
        PRIMARY KEY (selection_id, task_id)
    )""",
]
