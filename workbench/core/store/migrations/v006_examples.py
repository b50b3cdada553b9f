"""v6: each example (instance) keeps its own conversation (issue 18).

New columns of `instances`: system prompt, earlier turns (`history`, JSON list of
`{"role", "content", ...}`), kind (sft | preference | kto), the rejected answer of a preference
pair, a KTO label, the final turn's training weight, tool definitions (JSON), per-example meta
(JSON) and `seq` (file order). See workbench/core/store/examples.py.

Moves down what tasks kept for their examples until now: the task-level `meta.system`,
`meta.history` ([[user, assistant], ...] pairs, now turns) and `meta.instance_extras` (per
instance, by position), and Dolly's `category` (to the example's meta); removes them from the
task.
"""

_EXTRAS = """CASE WHEN json_type(t.meta, '$.instance_extras') = 'array'
    THEN json_extract(t.meta, '$.instance_extras[' || i.position || ']')
    ELSE json_object('system', json_extract(t.meta, '$.system'),
                     'history', json(coalesce(json_extract(t.meta, '$.history'), '[]')),
                     'category', CASE WHEN json_extract(t.meta, '$.format') = 'dolly'
                                 THEN json_extract(t.meta, '$.category') END)
    END"""

STATEMENTS = [
    "ALTER TABLE instances ADD COLUMN system TEXT",
    "ALTER TABLE instances ADD COLUMN history TEXT NOT NULL DEFAULT '[]'",  # JSON list of turns
    "ALTER TABLE instances ADD COLUMN kind TEXT NOT NULL DEFAULT 'sft'",  # sft|preference|kto
    "ALTER TABLE instances ADD COLUMN rejected TEXT",
    "ALTER TABLE instances ADD COLUMN label INTEGER",  # KTO: 1 desirable
    "ALTER TABLE instances ADD COLUMN weight REAL",  # NULL = 1
    "ALTER TABLE instances ADD COLUMN tools TEXT",  # JSON
    "ALTER TABLE instances ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'",  # JSON object
    "ALTER TABLE instances ADD COLUMN seq INTEGER",
    "CREATE TEMP TABLE _v6_extras (id INTEGER PRIMARY KEY, e TEXT)",
    f"""INSERT INTO _v6_extras (id, e)
        SELECT i.id, {_EXTRAS} FROM instances i JOIN tasks t ON t.id = i.task_id
        WHERE json_valid(t.meta) AND (json_type(t.meta, '$.instance_extras') IS NOT NULL
              OR json_type(t.meta, '$.system') IS NOT NULL
              OR json_type(t.meta, '$.history') IS NOT NULL
              OR (json_extract(t.meta, '$.format') = 'dolly'
                  AND json_type(t.meta, '$.category') IS NOT NULL))""",
    """UPDATE instances SET
        system = (SELECT nullif(json_extract(x.e, '$.system'), '') FROM _v6_extras x
                  WHERE x.id = instances.id),
        history = coalesce((SELECT json_group_array(json_object(
                      'role', CASE p.key WHEN 0 THEN 'user' ELSE 'assistant' END,
                      'content', p.value))
                    FROM _v6_extras x, json_each(x.e, '$.history') h, json_each(h.value) p
                    WHERE x.id = instances.id), '[]'),
        meta = coalesce((SELECT json_object('category', json_extract(x.e, '$.category'))
                         FROM _v6_extras x WHERE x.id = instances.id
                         AND json_type(x.e, '$.category') = 'text'), '{}')
        WHERE id IN (SELECT id FROM _v6_extras)""",
    """UPDATE tasks SET meta = CASE WHEN json_extract(meta, '$.format') = 'dolly'
            THEN json_remove(meta, '$.system', '$.history', '$.instance_extras', '$.category')
            ELSE json_remove(meta, '$.system', '$.history', '$.instance_extras') END
        WHERE json_valid(meta) AND (json_type(meta, '$.instance_extras') IS NOT NULL
              OR json_type(meta, '$.system') IS NOT NULL
              OR json_type(meta, '$.history') IS NOT NULL
              OR (json_extract(meta, '$.format') = 'dolly'
                  AND json_type(meta, '$.category') IS NOT NULL))""",
    "DROP TABLE _v6_extras",
    "CREATE INDEX instances_seq ON instances(seq)",
]
