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


# ------------------------------------------------------------------ the form (real widgets)
def _dialog(qtbot, path):
    from workbench.gui.import_mapping import ImportMappingDialog

    dialog = ImportMappingDialog(path)
    qtbot.addWidget(dialog)
    return dialog


def _checked(qtbot, dialog):
    """Wait for the whole-file check (a worker) of the mapping now chosen to end."""
    qtbot.waitUntil(lambda: not dialog.checking, timeout=20_000)
    assert not dialog.busy.isVisibleTo(dialog)
    return dialog


def _imports(path, dialog):
    """What the import would do with the form's choice: the core's reader on the whole file."""
    reader = tabular.read if dialog.fmt() == tabular.FORMAT else tabular.read_pairs
    return reader(path, **dialog.options())


def test_form_tells_duplicate_header_names_apart(qtbot, tmp_path):
    src = tmp_path / "dup.tsv"
    src.write_text("prompt\tprompt\tresponse\nA\tB\tC\nD\tE\tF\n", encoding="utf-8")
    dialog = _dialog(qtbot, src)
    assert dialog.header.isChecked()
    assert dialog.names() == ["prompt", "prompt_2", "response"]
    assert "Two columns are named 'prompt'" in dialog.message.text()
    dialog.combos["input"].setCurrentText("prompt_2")
    assert _checked(qtbot, dialog).import_btn.isEnabled()
    assert "instruction: A · input: B · output: C" in dialog.sample.text()
    (task, _) = _imports(src, dialog)
    assert (task.instruction, task.instances[0].input) == ("A", "B")  # the preview's example


def test_form_shows_the_core_error_for_an_object_field(qtbot, tmp_path):
    src = tmp_path / "nested.jsonl"
    src.write_text(
        '{"q": "Name a colour", "a": {"text": "red"}, "n": 1}\n'
        '{"q": "Name a fruit", "a": "apple", "n": 2}\n',
        encoding="utf-8",
    )
    dialog = _dialog(qtbot, src)
    dialog.combos["instruction"].setCurrentText("q")
    dialog.combos["output"].setCurrentText("a")
    assert not dialog.import_btn.isEnabled()
    assert "expected text, found an object" in dialog.message.text()
    assert dialog.sample.text() == "" and dialog.command.text() == ""
    with pytest.raises(UserInputError):
        _imports(src, dialog)  # the core refuses what the form refused


def test_form_names_columns_with_braces_and_commas_and_guesses_the_header(qtbot, tmp_path):
    src = tmp_path / "my data" / "braces.csv"
    src.parent.mkdir()
    src.write_text(
        'question,"answer, final",{why}\nWhat is 2+2?,4,two plus two\nWhat is 3+3?,6,three\n',
        encoding="utf-8",
    )
    dialog = _dialog(qtbot, src)
    assert dialog.header.isChecked() and "a guess" in dialog.about.text()
    assert dialog.mapping()["instruction"] == "question"
    dialog.combos["output"].setCurrentText("answer, final")
    dialog.combos["rationale"].setCurrentText("{why}")
    assert _checked(qtbot, dialog).import_btn.isEnabled(), dialog.message.text()
    assert "output: two plus two So the answer is 4." in dialog.sample.text()
    tasks = _imports(src, dialog)
    assert tasks[0].instances[0].output == "two plus two So the answer is 4."
    assert f"workbench import '{src}' --format tabular" in dialog.command.text()
    # Unticked, the first row is an example named by FLAN's CoT layout.
    dialog.header.setChecked(False)
    dialog.combos["output"].setCurrentText("answer")
    assert "instruction: question" in dialog.sample.text()
    assert len(_imports(src, dialog)) == 3
