"""Alpaca-preset list parsing (issue 19.3): separator and numbering slips never merge or lose
items, unreadable blocks stay as dropped candidates, placeholders are normalised; the
reference's behaviour under compat="reference"; the issue's reply through `workbench
self-instruct --preset alpaca`."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.selfinstruct import parse

FIRST = 4  # the prompt ends with "4. Instruction:" after 3 demonstrations


def _item(k: int, inst: str, inp: str, out: str) -> str:
    return f"{k}. Instruction: {inst}\n{k}. Input:\n{inp}\n{k}. Output:\n{out}\n"


def _reply(items: list[str], seps: list[str]) -> str:
    text = "".join(it + (seps[i] if i < len(seps) else "") for i, it in enumerate(items))
    return text[len(f"{FIRST}. Instruction:") :]  # the model continues after the prompt


# The issue's reply: items 4-9, "##" (not "###") between items 5 and 6, placeholders.
ISSUE_ITEMS = [
    _item(4, "Name three primary colors.", "<noinput>", "Red, blue and yellow."),
    _item(
        5,
        "Correct the grammar of the sentence.",
        "He go to school every day.",
        "He goes to school every day.",
    ),
    _item(6, "Give the capital city of France.", "<no input>", "Paris."),
    _item(7, "Suggest a name for a friendly pet cat.", "No input", "Whiskers."),
    _item(8, "Convert 3 kilometres to metres.", "noinput", "3,000 metres."),
    _item(9, "Describe the feeling of a rainy morning.", "N/A", "<No Output>"),
]
ISSUE_REPLY = _reply(ISSUE_ITEMS, ["###\n", "##\n", "###\n", "###\n", "###\n"])


def test_issue_reply_every_block_is_one_triple():
    got = parse.parse_alpaca(ISSUE_REPLY, "stop", FIRST)
    assert [t.instruction for t in got] == [
        "Name three primary colors.",
        "Correct the grammar of the sentence.",
        "Give the capital city of France.",
        "Suggest a name for a friendly pet cat.",
        "Convert 3 kilometres to metres.",
        "Describe the feeling of a rainy morning.",
    ]
    assert got[1].output == "He goes to school every day."  # item 6 not merged into it
    assert [t.input for t in got] == ["", "He go to school every day.", "", "", "", ""]
    assert [t.reason for t in got] == [None] * 5 + [parse.PLACEHOLDER_OUTPUT]
    assert got[5].output == "" and "<No Output>" in got[5].raw


def test_reference_switch_keeps_the_reference_defect():
    got = parse.parse_alpaca(ISSUE_REPLY, "stop", FIRST, parse.REFERENCE)
    assert len(got) == 2  # items 7-9 vanish, as in the reference
    assert "6. Instruction: Give the capital city" in got[1].output  # item 6 merged into 5


def test_unreadable_block_is_kept_with_its_raw_text():
    items = [
        ISSUE_ITEMS[0],
        "5. Instruction: Tell a joke.\nWhy did the chicken cross the road?\n",
        ISSUE_ITEMS[2],
    ]
    got = parse.parse_alpaca(_reply(items, ["###\n", "###\n"]), "stop", FIRST)
    assert [t.reason for t in got] == [None, parse.UNPARSABLE, None]
    assert got[1].raw.startswith("5. Instruction: Tell a joke.") and "chicken" in got[1].raw
    assert got[2].instruction == "Give the capital city of France."


def test_cut_completion_marks_the_last_block():
    text = _reply([ISSUE_ITEMS[0], ISSUE_ITEMS[1], "6. Instruction: Cut"], ["###\n", "###\n"])
    got = parse.parse_alpaca(text, "length", FIRST)
    assert [(t.truncated, t.reason) for t in got] == [
        (False, None),
        (False, None),
        (True, parse.UNPARSABLE),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "<noinput>",
        "<no input>",
        "No input",
        "noinput",
        "N/A",
        "<No Input>",
        "None",
        "(none)",
        "No input required.",
    ],
)
def test_placeholder_inputs(text):
    assert parse.is_placeholder_input(text)


@pytest.mark.parametrize(
    "text, placeholder",
    [
        ("<No Output>", True),
        ("No output", True),
        ("<nooutput>", True),
        ("N/A", True),
        ("<none>", True),
        ("None", False),
        ("Nothing is missing.", False),
        ("42", False),
    ],
)
def test_placeholder_outputs(text, placeholder):
    assert parse.is_placeholder_output(text) == placeholder


# ------------------------------------------------------------------ generated variations
_word = st.sampled_from(
    [
        "write",
        "list",
        "explain",
        "the",
        "a",
        "poem",
        "river",
        "three",
        "numbers",
        "summary",
        "short",
        "story",
        "about",
        "cats",
        "why",
    ]
)
_sentence = st.lists(_word, min_size=4, max_size=10).map(lambda w: " ".join(w).capitalize() + ".")
_sep = st.sampled_from(["###\n", "##\n", "#\n", "### ", "\n###\n", "", "---\n", "###\n\n"])
_placeholder_in = st.sampled_from(["<noinput>", "<no input>", "No input", "noinput", "N/A"])


@st.composite
def _items(draw):
    n = draw(st.integers(1, 12))
    items, expected = [], []
    k = FIRST
    for i in range(n):
        if i:  # numbering slips: a skipped, repeated or missing number shifts nothing
            k = draw(st.sampled_from([k + 1, k + 1, k + 2, k]))
        inst, out = draw(_sentence), draw(_sentence)
        inp = draw(st.one_of(_sentence, _placeholder_in))
        num = "" if (i and draw(st.booleans()) and draw(st.booleans())) else f"{k}. "
        broken = i and draw(st.integers(0, 9)) == 0  # the model forgot the fields
        if broken:
            items.append(f"{num}Instruction: {inst}\n{out}\n")
            expected.append((None, parse.UNPARSABLE, inst))
        else:
            items.append(f"{num}Instruction: {inst}\n{num}Input:\n{inp}\n{num}Output:\n{out}\n")
            real_inp = "" if parse.is_placeholder_input(inp) else inp
            expected.append(((inst, real_inp, out), None, inst))
    seps = [draw(_sep) for _ in range(n - 1)]
    text = "".join(it + (seps[i] if i < n - 1 else "") for i, it in enumerate(items))
    if not text.startswith(f"{FIRST}. Instruction:"):
        text = f"{FIRST}. " + text
    return text[len(f"{FIRST}. Instruction:") :], expected


@settings(max_examples=120, deadline=None)
@given(_items())
def test_any_separator_or_numbering_slip_keeps_every_item_in_place(sample):
    text, expected = sample
    got = parse.parse_alpaca(text, "stop", FIRST)
    assert len(got) == len(expected), text
    for t, (triple, reason, inst) in zip(got, expected, strict=True):
        assert t.reason == reason, (text, t)
        if triple is not None:
            assert (t.instruction, t.input, t.output) == triple
            assert "Instruction" not in t.output
        else:
            assert inst in t.raw


# ------------------------------------------------------------------ issue 19 through the CLI
def test_issue_reply_through_self_instruct_cli(tmp_path, monkeypatch, capsys):
    import workbench.cli.cmd_selfinstruct as cmd_selfinstruct
    from workbench.cli import main
    from workbench.core.llm.scripted import ScriptedBackend
    from workbench.core.store.workspace import Workspace

    monkeypatch.setattr(cmd_selfinstruct, "open_model", lambda args: ScriptedBackend([ISSUE_REPLY]))
    ws = tmp_path / "w.sqlite"
    assert main(["init", str(ws), "--json"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "self-instruct",
                "--preset",
                "alpaca",
                "--target",
                "20",
                "--max-gen-calls",
                "1",
                "-w",
                str(ws),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["candidates"] == 6, out
    with Workspace.open(ws) as w:
        rows = w.query(
            "SELECT instruction, decision, reason, task_id FROM candidates ORDER BY position"
        )
        outputs = {
            r["instruction"]: w.query(
                "SELECT input, output FROM instances WHERE task_id = ?", (r["task_id"],)
            )
            for r in rows
            if r["task_id"] is not None
        }
    assert [r["decision"] for r in rows] == ["kept"] * 5 + ["dropped"]
    assert rows[5]["reason"] == parse.PLACEHOLDER_OUTPUT  # the parser's reason, stored
    assert (
        outputs["Correct the grammar of the sentence."][0]["output"]
        == "He goes to school every day."
    )  # item 6 is not in item 5's output
    assert outputs["Give the capital city of France."][0]["output"] == "Paris."
    assert [outputs[t][0]["input"] for t in list(outputs)[2:]] == ["", "", ""]


def test_issue_reply_with_compat_reference_reproduces_the_reference(tmp_path, monkeypatch, capsys):
    import workbench.cli.cmd_selfinstruct as cmd_selfinstruct
    from workbench.cli import main
    from workbench.core.llm.scripted import ScriptedBackend

    monkeypatch.setattr(cmd_selfinstruct, "open_model", lambda args: ScriptedBackend([ISSUE_REPLY]))
    ws = tmp_path / "w.sqlite"
    assert main(["init", str(ws), "--json"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "self-instruct",
                "--preset",
                "alpaca",
                "--target",
                "20",
                "--max-gen-calls",
                "1",
                "--compat",
                "reference",
                "-w",
                str(ws),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["candidates"] == 2  # items 7-9 lost, item 6 inside item 5's output
