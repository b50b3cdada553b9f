"""Every JSON record is walked, keys and values at any depth: a key holding a lone surrogate
("meta\\ud83d") and a number that is not finite (NaN, Infinity, 1e400 anywhere: an extra field,
tools parameters) are bad records with line and field, skipped by --skip-invalid; the field
path names a broken key printably (\\ud83d), so --json can print it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.formats.importer import import_file
from workbench.core.formats.validation import InvalidRecords, non_finite, record_error
from workbench.core.store.workspace import Workspace

GOOD = '{"instruction": "Good one", "input": "", "output": "fine"}\n'

keys = st.text(st.characters(codec="utf-8", exclude_characters='\\"'), min_size=1, max_size=4)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | keys
)
json_value = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(keys, c, max_size=3),
    max_leaves=8,
)


@pytest.fixture
def ws(tmp_path):
    w = Workspace.create(tmp_path / "ws.sqlite")
    yield w
    w.close()


@settings(max_examples=60, deadline=None)
@given(json_value, st.sampled_from([float("nan"), float("inf"), float("-inf"), "\ud83d"]))
def test_a_bad_leaf_or_key_is_found_at_any_depth_with_a_printable_path(value, bad):
    nested = {"extra": [value, {"k": {"x" if isinstance(bad, float) else "k\ud83d": bad}}]}
    assert record_error(value, None, 1) is None
    error = record_error(nested, None, 3)
    assert error is not None and error.line == 3
    assert error.field is not None and error.field.startswith("extra[1].k.")
    error.field.encode("utf-8")  # printable: --json can write it
    assert non_finite(value) is None


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"instruction": "B", "input": "", "output": "x", "meta\\ud83d": 1}', "meta\\ud83d"),
        ('{"instruction": "B", "input": "", "output": "x", "extra": {"k\\ud83d": "v"}}', None),
        ('{"instruction": "B", "input": "", "output": "x", "score": NaN}', "score"),
        ('{"instruction": "B", "input": "", "output": "x", "s": [1, -Infinity]}', "s[1]"),
        ('{"instruction": "B", "input": "", "output": "x", "s": 1e400}', "s"),
    ],
)
def test_a_broken_key_or_non_finite_number_is_a_skippable_bad_record(ws, tmp_path, line, field):
    f = tmp_path / "a.jsonl"
    f.write_text(GOOD + line + "\n", "utf-8")
    with pytest.raises(InvalidRecords) as exc:
        import_file(ws, f)
    (p,) = exc.value.problems.items
    assert p.line == 2
    assert p.field == (field or "extra.k\\ud83d")
    json.dumps(exc.value.to_dict(), ensure_ascii=False).encode("utf-8")
    res = import_file(ws, f, skip_invalid=True)
    assert (res.imported, res.rejected) == (1, 1)


def test_dump_names_the_number_json_cannot_write():
    """Writers never write NaN/Infinity: common.dump names the field with the same walk the
    import check uses (validation.first_in)."""
    from workbench.core.errors import UserInputError
    from workbench.core.formats.common import dump

    with pytest.raises(UserInputError) as err:
        dump({"messages": [{"role": "assistant", "weight": float("inf")}]})
    assert "messages[0].weight = inf" in str(err.value) and err.value.field == "weight"
    assert dump({"a": [1.5, {"b": 2}]}) == '{"a": [1.5, {"b": 2}]}'
