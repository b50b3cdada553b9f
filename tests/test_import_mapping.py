"""The mapping the import form hands the core readers: tables (`tabular`) and JSON records
(`inputs-targets`), with `input=` empty (no input column) and a rationale template."""

from __future__ import annotations

import json

import pytest

from workbench.core.errors import UserInputError
from workbench.core.formats import tabular
from workbench.gui.import_mapping import default_mapping, output_spec


def test_records_map_fields_and_templates(tmp_path):
    src = tmp_path / "r.jsonl"
    rows = [{"q": "What is 2+2?", "why": "2+2 makes 4.", "a": "4", "ctx": "math", "n": 1}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    opts = {"instruction": "q", "input": "ctx", "output": output_spec("a", "why")}
    (task,) = tabular.read_pairs(src, **opts)
    (inst,) = task.instances
    assert task.instruction == "What is 2+2?"
    assert (inst.input, inst.output) == ("math", "2+2 makes 4. So the answer is 4.")
    assert inst.meta == {"why": "2+2 makes 4.", "a": "4", "n": 1}  # template fields kept
    with pytest.raises(UserInputError) as err:
        tabular.read_pairs(src, instruction="q", output="{nope}")
    assert err.value.field == "nope"


def test_table_input_mapped_to_nothing(tmp_path):
    src = tmp_path / "t.tsv"
    src.write_text("instruction\tinput\toutput\nSay hi.\tBob\tHi Bob.\n", encoding="utf-8")
    (task,) = tabular.read(src, input="")
    (inst,) = task.instances
    assert (inst.input, inst.output, inst.meta) == ("", "Hi Bob.", {"input": "Bob"})
    assert default_mapping(["question", "answer", "rationale"]) == {
        "instruction": "question",
        "input": None,
        "output": "answer",
        "rationale": "rationale",
    }
