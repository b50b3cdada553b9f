"""Finding 5: weights, tools and KTO labels are checked on import (one definition of a valid
weight, store.examples.weight_problem, shared with the example editor), identical preference
answers are a warning, and no writer writes NaN or Infinity (which are not JSON)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.errors import UserInputError
from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.formats.validation import InvalidRecords
from workbench.core.store.examples import Instance, tools_problem, weight_problem
from workbench.core.store.tasks import Task, add_task
from workbench.core.store.workspace import Workspace
from workbench.gui.example_editor import parse_weight


@pytest.fixture
def ws(tmp_path):
    w = Workspace.create(tmp_path / "ws.sqlite")
    yield w
    w.close()


def chat(i: int, weight: str, extra: str = "") -> str:
    return (
        f'{{"messages": [{{"role": "user", "content": "q{i}"}}, '
        f'{{"role": "assistant", "content": "a", "weight": {weight}}}]{extra}}}'
    )


@pytest.mark.parametrize("weight", ["NaN", "Infinity", "-Infinity", "1e400", "-3", "true", '"1"'])
def test_a_weight_that_is_not_a_finite_number_at_least_0_is_a_bad_record(ws, tmp_path, weight):
    f = tmp_path / "w.jsonl"
    f.write_text(chat(1, "1") + "\n" + chat(2, weight) + "\n", "utf-8")
    with pytest.raises(InvalidRecords) as exc:
        import_file(ws, f)
    (p,) = exc.value.problems.items
    assert (p.line, p.field) == (2, "messages[1].weight")
    res = import_file(ws, f, skip_invalid=True)
    assert (res.imported, res.rejected) == (1, 1)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.booleans())
@settings(max_examples=60, deadline=None)
def test_the_editor_and_the_importers_share_one_weight_rule(value):
    ok = weight_problem(value) is None
    assert ok == (not isinstance(value, bool) and math.isfinite(value) and value >= 0), value
    if not isinstance(value, bool):
        assert (parse_weight(repr(float(value)))[1] == "") == ok


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ('{"instruction": "i", "output": "o", "tools": 5}', "tools"),
        ('{"instruction": "i", "output": "o", "tools": "not json ["}', "tools"),
        ('{"instruction": "i", "output": "o", "kto_tag": "yes"}', "kto_tag"),
        (chat(3, "1", ', "tools": {"a": 1}'), "tools"),
    ],
)
def test_tools_and_kto_labels_of_another_shape_are_bad_records(ws, tmp_path, record, field):
    f = tmp_path / "t.jsonl"
    f.write_text(record + "\n", "utf-8")
    with pytest.raises(InvalidRecords) as exc:
        import_file(ws, f)
    assert exc.value.problems.items[0].field == field


def test_tool_text_that_parses_and_a_class_label_are_kept(ws, tmp_path):
    assert tools_problem('[{"name": "f"}]') is None and tools_problem("") is None
    f = tmp_path / "ok.jsonl"
    f.write_text(
        '{"instruction": "i1", "output": "o", "tools": "[{\\"name\\": \\"f\\"}]"}\n'
        '{"instruction": "i2", "output": "o", "label": "positive"}\n',
        "utf-8",
    )
    res = import_file(ws, f)
    assert (res.imported, res.notes.get("kto")) == (2, None)


def test_identical_preference_answers_are_kept_with_a_warning(ws, tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text('{"instruction": "i", "chosen": "same", "rejected": "same"}\n', "utf-8")
    res = import_file(ws, f)
    assert res.notes["same_answers"] == 1
    assert "1 preference pairs have the same chosen and rejected answer" in res.summary()


@pytest.mark.parametrize("fmt", ["openai-chat", "sharegpt", "hf", "selfinstruct-seed"])
def test_no_writer_writes_a_number_json_cannot_hold(ws, tmp_path, fmt):
    # A workspace from before imports checked weights may hold one.
    with ws.transaction():
        add_task(ws, Task("Say hi.", [Instance(output="hi", weight=float("inf"))]))
    out = tmp_path / ("out" if fmt == "hf" else "out.jsonl")
    try:
        export(ws, fmt, out, lossy=True)  # openai-chat leaves a weight other than 0/1 out
    except UserInputError as exc:
        assert "NaN or infinity" in str(exc), str(exc)
        assert fmt != "openai-chat"
    files = [out] if out.is_file() else list(out.rglob("*.jsonl"))
    for f in files:  # whatever was written is JSON
        for line in f.read_text("utf-8").splitlines():
            json.loads(line, parse_constant=lambda c: pytest.fail(c))
