"""TRL's unpaired-preference (KTO) layout: a `label` beside prompt/completion makes the file
TRL's (detected, not read as Self-Instruct fine-tuning with the label dropped), and a label
that is not true/false is a bad record with its line, in a file mixing good and bad labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.formats import registry
from workbench.core.formats.importer import import_file
from workbench.core.formats.validation import InvalidRecords
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace

NOT_BOOL = st.none() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)


@settings(max_examples=25, deadline=None)
@given(label=st.booleans() | NOT_BOOL)
def test_a_label_beside_prompt_and_completion_is_trl(label):
    assert (
        registry.detect_by_content(
            {"prompt": "a", "completion": "b", "label": label}, Path("k.jsonl")
        )
        == "trl"
    )


@pytest.mark.parametrize("fmt", [None, "trl"])
def test_a_label_that_is_not_true_or_false_is_a_bad_record(tmp_path, fmt):
    lines = [
        {"prompt": "a", "completion": "b", "label": True},
        {"prompt": "c", "completion": "d", "label": "yes"},
        {"prompt": "e", "completion": "f", "label": 1},
        {"prompt": "g", "completion": "h", "label": None},
        {"prompt": "i", "completion": "j", "label": False},
    ]
    f = tmp_path / "kto.jsonl"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines), "utf-8")
    ws = Workspace.create(tmp_path / "ws.sqlite")
    try:
        with pytest.raises(InvalidRecords) as exc:
            import_file(ws, f, fmt)
        assert [(p.line, p.field) for p in exc.value.problems.items] == [
            (2, "label"),
            (3, "label"),
            (4, "label"),
        ]
        res = import_file(ws, f, fmt, skip_invalid=True)
        assert (res.imported, res.rejected) == (2, 3)
        labels = sorted(i.label for t in iter_tasks(ws) for i in t.instances)
        assert labels == [False, True]
    finally:
        ws.close()
