"""Step splitting (issue 19.2): headings and preambles are not steps; generated variations of
markers and headings; the ProcessBench and MR-GSM8K files' own step lists; solutions the default
model writes; and the issue's case through `workbench self-check`."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.selfcheck.split import (
    _STEP_MARK,
    _merge_colon_steps,
    answer_lines,
    split_steps,
)

STEPS = [
    "Janet's ducks lay 16 eggs; she uses 3 + 4 = 7, so 16 - 7 = 9 are left.",
    "She sells them at $2 each: 9 * 2 = 18 dollars.",
    "So the answer is 18.",
]
ISSUE_HEADED = "**Step-by-Step Explanation:**\n\n" + "\n".join(
    f"{i}. {s}" for i, s in enumerate(STEPS, start=1)
)


@pytest.mark.parametrize(
    "text",
    [
        ISSUE_HEADED,  # was one step beginning "by-Step Explanation:"
        "Step-by-step solution:\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(STEPS, start=1)),
        "Step-by-step solution:\n" + "\n".join(STEPS),
        "### Step-by-Step Solution\n\n" + "\n\n".join(STEPS),
        "**Solution:**\n" + "\n".join(f"**Step {i}:** {s}" for i, s in enumerate(STEPS, start=1)),
        "Sure! Let's solve it step by step.\n\n"
        + "\n".join(f"Step {i}: {s}" for i, s in enumerate(STEPS, start=1)),
    ],
)
def test_headings_and_preambles_are_not_steps(text):
    assert split_steps(text) == STEPS


def test_a_lone_step_marker_inside_paragraphs_is_not_the_structure():
    text = "We start with 16 eggs.\n\nShe uses 7, so 16 - 7 = 9.\n\nStep 3: 9 * 2 = 18."
    assert split_steps(text) == [
        "We start with 16 eggs.",
        "She uses 7, so 16 - 7 = 9.",
        "Step 3: 9 * 2 = 18.",
    ]


# ------------------------------------------------------------------ generated variations
_heading = st.sampled_from(
    [
        "",
        "**Step-by-Step Explanation:**",
        "Step-by-step solution:",
        "### Solution",
        "## Step-by-step",
        "**Solution**",
        "Solution:",
        "Let's solve this step by step.",
        "Explanation:",
        "Sure! Here is the step-by-step solution.",
    ]
)
_marker = st.sampled_from(
    [
        "Step {k}: ",
        "**Step {k}:** ",
        "### Step {k}. ",
        "Step {k} - ",
        "{k}. ",
        "{k}) ",
        "({k}) ",
        "**{k}.** ",
        "Step {k}:\n",
    ]
)
_step = st.tuples(
    st.integers(1, 999),
    st.integers(1, 999),
    st.sampled_from(["apples", "dollars", "eggs", "hours"]),
).map(lambda t: f"We have {t[0]} {t[2]} and add {t[1]}, so {t[0]} + {t[1]} = {t[0] + t[1]}.")


@settings(max_examples=200, deadline=None)
@given(_heading, _marker, st.lists(_step, min_size=2, max_size=6), st.sampled_from(["\n", "\n\n"]))
def test_any_heading_before_any_marked_steps(heading, marker, steps, sep):
    body = sep.join(marker.format(k=k) + s for k, s in enumerate(steps, start=1))
    text = (heading + sep + body) if heading else body
    assert split_steps(text) == steps


@settings(max_examples=100, deadline=None)
@given(_heading, st.lists(_step, min_size=2, max_size=6))
def test_any_heading_before_paragraphs(heading, steps):
    text = "\n\n".join(
        ([heading] if heading.endswith(":") or heading.startswith(("#", "**")) else []) + steps
    )
    assert split_steps(text) == steps


# ------------------------------------------------------------------ the shared files
def _documented(steps: list[str], marked: bool) -> list[str]:
    """A file's own step list under the documented rules: markers off, a number-free opener
    before marked steps dropped, a step ending with ":" merged with the next."""
    out = []
    for s in steps:
        m = _STEP_MARK.match(s) if marked else None
        if m:
            head, _, rest = s[m.end() :].partition("\n")
            s = head.rstrip("*_ ").strip() + ("\n" + rest if rest else "")
        out.append(s.strip())
    if marked and not _STEP_MARK.match(steps[0]) and not re.search(r"[0-9=]", out[0]):
        out = out[1:]
    return _merge_colon_steps(out)


def test_processbench_and_mr_gsm8k_step_lists(shared_data):
    reasoning = shared_data / "reasoning"
    pb = json.loads((reasoning / "processbench_gsm8k_public200.json").read_text(encoding="utf-8"))
    as_is = 0
    for p in pb:
        steps = [s.strip() for s in p["steps"]]
        got = split_steps("\n\n".join(steps))  # ProcessBench: one paragraph per step
        marked = sum(bool(_STEP_MARK.match(s)) for s in steps) >= 2
        assert got == _documented(steps, marked), p["id"]
        as_is += got == steps
    assert as_is >= 195  # the rest differ only by the documented merges and openers
    mr = json.loads((reasoning / "mr_gsm8k_incorrect_slice150.json").read_text(encoding="utf-8"))
    for m in mr:
        got = split_steps("\n".join(m["model_output_steps"]))  # "Step k: ..." lines
        assert got == _documented(m["model_output_steps"], True), m["uuid"]


@pytest.mark.model
def test_solutions_the_default_model_writes(llama_backend, shared_data):
    """Whatever layout the 135M model chooses, splitting loses no number and keeps no heading."""
    from workbench.core.llm.base import GenParams

    rows = (
        (shared_data / "reasoning" / "gsm8k_test_first200.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()[:4]
    )
    for i, row in enumerate(rows):
        q = json.loads(row)["question"]
        res = llama_backend.chat(
            [{"role": "user", "content": f"Solve step by step.\n\n{q}"}],
            GenParams(max_tokens=160, temperature=0.7, seed=i),
        )
        steps = split_steps(res.text)
        assert steps or not res.text.strip()
        numbers = re.findall(r"\d+", res.text)
        assert sorted(numbers) == sorted(re.findall(r"\d+", "\n".join(steps))) or re.match(
            r"\s*(?:#|\*\*)?\s*step", res.text, re.IGNORECASE
        ), res.text
        assert not any(s.lower().startswith("by-step") for s in steps)


@pytest.mark.parametrize(
    ("steps", "flags"),
    [
        (["x = 11000.", "#### 11000", "The answer is: $11,000"], [False, True, True]),
        (["2 * 4 = 8", "So, the final answer is: \\boxed{\\$8}."], [False, True]),
        (["3 + 3 = 6", "The answer is 6 apples."], [False, True]),
        (["3 + 3 = 6", "So Tom has 6 apples now."], [False, False]),  # not only the answer
        (["234 - 90 - 144 =", "#### 39"], [False, False]),  # a value no step states
        (["#### 5"], [False]),  # never the only step
        (["#### 5", "5 + 1 = 6"], [False, False]),  # only at the end
    ],
)
def test_answer_lines(steps, flags):
    assert answer_lines(steps) == flags


def test_answer_lines_in_the_shared_files(shared_data):
    """MR-GSM8K's "#### N" / "The answer is: N" boilerplate is told apart; no labelled first
    wrong step of either file is an answer line (so leaving them unchecked loses no label)."""
    reasoning = shared_data / "reasoning"
    mr = json.loads((reasoning / "mr_gsm8k_incorrect_slice150.json").read_text(encoding="utf-8"))
    both = 0
    for m in mr:
        steps = split_steps("\n".join(m["model_output_steps"]))
        flags = answer_lines(steps)
        both += flags[-2:] == [True, True]
        first = m.get("model_output_solution_first_error_step")
        if isinstance(first, int) and 0 < first <= len(flags):
            assert not flags[first - 1], m["uuid"]
    # 118 of 150 end with both lines; in the others one is missing or states another value than
    # the steps ("The value of x is -15." then "#### 15"), which is then checked as a step.
    assert both >= 115
    pb = json.loads((reasoning / "processbench_gsm8k_public200.json").read_text(encoding="utf-8"))
    for p in pb:
        flags = answer_lines([s.strip() for s in p["steps"]])
        assert p["label"] == -1 or not flags[p["label"]], p["id"]


# ------------------------------------------------------------------ issue 19 through the CLI
def test_issue_case_through_self_check_cli(tmp_path, monkeypatch, capsys):
    import workbench.cli.cmd_selfcheck as cmd_selfcheck
    from workbench.cli import main
    from workbench.core.llm.scripted import ScriptedBackend
    from workbench.core.store.workspace import Workspace

    question = (
        "Janet's ducks lay 16 eggs per day. She eats 3 and bakes with 4. She sells the "
        "rest for $2 each. How much does she make?"
    )
    monkeypatch.setattr(
        cmd_selfcheck, "open_model", lambda args: ScriptedBackend(lambda prompt: ISSUE_HEADED)
    )
    data = tmp_path / "q.jsonl"
    data.write_text(
        json.dumps({"question": question, "answer": "9 * 2 = 18\n#### 18"}) + "\n", encoding="utf-8"
    )
    ws = tmp_path / "w.sqlite"
    assert (
        main(
            [
                "self-check",
                "--questions",
                str(data),
                "--samples",
                "1",
                "--followup",
                "never",
                "--json",
                "-w",
                str(ws),
            ]
        )
        == 0
    )
    capsys.readouterr()
    with Workspace.open(ws) as w:
        steps = [r["text"] for r in w.query("SELECT text FROM sc_steps ORDER BY position")]
        answer = w.query("SELECT answer, is_correct FROM sc_solutions")[0]
    assert steps == STEPS
    assert (answer["answer"], answer["is_correct"]) == ("18", 1)
