"""TRL's implicit-prompt preference layout: `{"chosen": [...], "rejected": [...]}`, two whole
conversations whose shared beginning is the prompt. Detected as trl, read as one preference
pair (the earlier turns as history), written back in the explicit layout with the same
content; a pair with no shared prompt or more than one answer after it is a bad record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.formats import registry, trl
from workbench.core.formats.importer import import_file
from workbench.core.formats.validation import InvalidRecords
from workbench.core.store.workspace import Workspace

words = st.text(st.characters(codec="ascii", categories=["L"]), min_size=1, max_size=6)


def turns(texts: list[str]) -> list[dict[str, str]]:
    return [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(texts)]


@settings(max_examples=30, deadline=None)
@given(st.lists(words, min_size=0, max_size=3), words, words, words)
def test_the_shared_beginning_is_the_prompt(earlier, question, good, bad):
    prompt = turns([*earlier[: len(earlier) // 2 * 2], question])
    obj = {
        "chosen": [*prompt, {"role": "assistant", "content": good}],
        "rejected": [*prompt, {"role": "assistant", "content": bad + "!"}],
    }
    assert registry.detect_by_content(obj, Path("p.jsonl")) == "trl"
    rec = trl.parse_record(obj, Path("p.jsonl"), 1)
    implicit = rec.instance
    explicit = trl.parse_record(
        {"prompt": prompt, "chosen": obj["chosen"][-1:], "rejected": obj["rejected"][-1:]},
        Path("p.jsonl"),
        1,
    ).instance
    assert (implicit.output, implicit.rejected, implicit.kind) == (good, bad + "!", "preference")
    assert (implicit.input, implicit.history) == (explicit.input, explicit.history)


@pytest.mark.parametrize(
    "obj",
    [
        {"chosen": turns(["a", "b"]), "rejected": turns(["x", "c"])},
        {"chosen": turns(["a", "b", "c", "d"]), "rejected": turns(["a", "e"])},
    ],
)
def test_no_shared_prompt_or_two_answers_is_a_bad_record(tmp_path, obj):
    good = {"chosen": turns(["q", "good"]), "rejected": turns(["q", "bad"])}
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps(good) + "\n" + json.dumps(obj) + "\n", "utf-8")
    ws = Workspace.create(tmp_path / "ws.sqlite")
    try:
        with pytest.raises(InvalidRecords) as exc:
            import_file(ws, f)
        assert [p.line for p in exc.value.problems.items] == [2]
        assert import_file(ws, f, skip_invalid=True).imported == 1
    finally:
        ws.close()
