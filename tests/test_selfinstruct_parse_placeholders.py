"""Placeholder inputs and outputs in step-3 instances (issue 19 item 3): the fix empties the
input and leaves out an instance whose output is a placeholder; `--compat reference` keeps the
reference's literal text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from workbench.core.selfinstruct.parse import parse_generation_instances

PLACEHOLDER_INPUTS = ["<noinput>", "<no input>", "No input", "noinput", "N/A", "None"]
PLACEHOLDER_OUTPUTS = ["<No Output>", "N/A", "<nooutput>", "No output needed"]


def _reply(inp: str, out: str) -> str:
    return f"Example 1\nInput: {inp}\nOutput: {out}\n\nExample 2\nInput: a cat\nOutput: cats\n"


@given(st.sampled_from(PLACEHOLDER_INPUTS))
def test_placeholder_input_becomes_empty(inp):
    pairs = parse_generation_instances(_reply(inp, "Paris"), "stop")
    assert pairs == [("", "Paris"), ("a cat", "cats")]
    ref = parse_generation_instances(_reply(inp, "Paris"), "stop", compat="reference")
    assert ref[0] == (inp, "Paris")


@given(st.sampled_from(PLACEHOLDER_OUTPUTS))
def test_placeholder_output_instance_is_left_out(out):
    pairs = parse_generation_instances(_reply("France", out), "stop")
    assert pairs == [("a cat", "cats")]
    ref = parse_generation_instances(_reply("France", out), "stop", compat="reference")
    assert ref[0] == ("France", out)


def test_real_words_are_not_placeholders():
    pairs = parse_generation_instances(_reply("None of the above applies", "Nothing"), "stop")
    assert pairs[0] == ("None of the above applies", "Nothing")
