"""What the example editor shows a field as reads back as the same value (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from workbench.gui.example_editor import _weight_text, parse_tools, parse_weight, tools_text

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
TOOLS = st.lists(JSON, max_size=3) | st.dictionaries(st.text(), JSON, max_size=3)


@given(TOOLS)
def test_tools_shown_then_parsed_are_the_same(tools):
    assert parse_tools(tools_text(tools), tools) == (tools, "")


@given(TOOLS)
def test_tools_given_as_text_stay_text(tools):
    import json

    text = json.dumps(tools)
    assert parse_tools(tools_text(text), text) == (text, "")


@given(st.none() | st.integers(0, 10**6) | st.floats(0, 1e6, allow_nan=False))
def test_weight_shown_then_parsed_is_the_same(weight):
    assert parse_weight(_weight_text(weight)) == (weight, "")
