"""(7) Hypothesis on the model-output parsers: any text gives a well-formed result, never an
exception. WORKBENCH_FUZZ_EXAMPLES sets the count (small by default; `make fuzz`: 10,000)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.cot import answers
from workbench.core.selfcheck import parse as scp
from workbench.core.selfcheck.split import split_information, split_steps
from workbench.core.selfinstruct import parse as sip

FUZZ = settings(
    max_examples=int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Text that looks like model output: numbered lists, labels and stray punctuation mixed in.
PIECES = st.sampled_from(
    [
        "\n",
        "1. ",
        "2) ",
        "Input:",
        "Output:",
        "Example 1",
        "Class label:",
        "Task:",
        "**",
        "Step 1:",
        "support",
        "does not support",
        "contradict",
        "unrelated",
        "So the answer is",
        "####",
        "\\boxed{",
        "}",
        "$",
        "1,000.5",
        "-",
        "Yes",
        "No",
        "(A)",
        "情報",
        "\ufffd",
        " ",
    ]
)
TEXT = st.one_of(
    st.text(), st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=40).map("".join)
)
FINISH = st.sampled_from(["stop", "length"])
COMPAT = st.sampled_from([None, "reference"])


@FUZZ
@given(TEXT, FINISH, COMPAT)
def test_selfinstruct_parsers(text, finish, compat):
    items = sip.parse_instructions(text, finish, compat) + sip.parse_chat_instructions(text, finish)
    for item in items:
        assert item.text and item.text == item.text.strip()
    assert isinstance(sip.parse_clf_label(text, compat), bool)
    for parser in (sip.parse_generation_instances, sip.parse_classification_instances):
        for inp, out in parser(text, finish, compat):
            assert isinstance(inp, str) and isinstance(out, str)
    for t in sip.parse_alpaca(text, finish, 4):
        assert isinstance(t.instruction, str)


@FUZZ
@given(TEXT, st.integers(0, 12), st.integers(0, 12))
def test_selfcheck_parsers(text, n_info, step_index):
    info, steps = scp.parse_collected(text, n_info=n_info, step_index=step_index)
    assert all(0 <= i < n_info for i in info) and len(set(info)) == len(info)
    assert all(0 <= s < step_index for s in steps) and len(set(steps)) == len(steps)
    assert scp.parse_verdict(text) in (None, scp.SUPPORT, scp.CONTRADICT, scp.UNRELATED)
    ans = scp.extract_answer(text)
    assert ans is None or isinstance(ans, str)
    assert all(isinstance(s, str) for s in split_steps(text) + split_information(text))


@FUZZ
@given(TEXT, st.sampled_from(["number", "option", "text"]))
def test_cot_answer_extraction(text, kind):
    got = answers.extract_answer(text, kind)
    assert got is None or isinstance(got, str)
    if got is not None:
        assert answers.answers_equal(got, got, kind) in (True, False)
