"""Template placeholders are checked where a template is saved and before a run loads its model:
an unknown name (with the closest known one), a missing required one or a lone brace is refused
with the template's title, its file and the placeholder; no run row is left and no model loads."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.errors import UserInputError
from workbench.core.selfinstruct import prompts
from workbench.core.selfinstruct.prompts import (
    PLACEHOLDERS,
    TEMPLATE_FILES,
    TEMPLATE_TITLES,
    TEMPLATES_SETTING,
    Templates,
    save_template,
    template_problems,
)

CHAT = "chat_instruction_gen"
FORMATTED = [k for k, spec in PLACEHOLDERS.items() if spec is not None]
LITERAL = [k for k, spec in PLACEHOLDERS.items() if spec is None]


def test_every_template_key_has_a_rule_and_every_default_passes(shared_data):
    assert set(PLACEHOLDERS) == set(TEMPLATE_FILES)
    assert Templates.load().problems() == []
    # The reference's own files load as they are, and pass too.
    assert Templates.load(shared_data / "self_instruct" / "reference_templates").problems() == []


def test_a_formatted_default_fills_with_every_allowed_name():
    t = Templates.load()
    for key in FORMATTED:
        required, optional = PLACEHOLDERS[key]  # type: ignore[misc]
        names = set(re.findall(r"\{(\w+)\}", getattr(t, key)))
        assert required <= names <= required | optional


def test_the_testers_typo_names_the_template_and_the_closest_name():
    text = Templates.load().chat_instruction_gen.replace("{examples}", "{exampels}")
    [p] = template_problems(CHAT, text)
    assert p.placeholder == "exampels"
    assert TEMPLATE_TITLES[CHAT] in str(p)
    assert "unknown placeholder {exampels}; did you mean {examples}?" in str(p)


def test_a_removed_required_placeholder_is_missing():
    text = Templates.load().chat_instruction_gen.replace("{examples}", "")
    [p] = template_problems(CHAT, text)
    assert p.placeholder == "examples" and "{examples} is missing" in str(p)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("a { here", "line 4: a lone “{”"),
        ("a } here", "line 4: a lone “}”"),
        ("{count:q}", "cannot be filled in"),
        ("{examples.upper}", "cannot be filled in"),
        ("{}", "unknown placeholder {}."),
    ],
)
def test_lone_braces_and_bad_fields_are_reported(extra, needle):
    text = Templates.load().chat_instruction_gen + extra
    problems = template_problems(CHAT, text)
    assert len(problems) == 1 and needle in str(problems[0])


def test_doubled_braces_are_text():
    text = Templates.load().chat_instruction_gen + "Answer as {{json}}."
    assert template_problems(CHAT, text) == []


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(name=NAMES, at=st.integers(min_value=0))
def test_an_inserted_placeholder_is_reported_unless_allowed(name, at):
    for key in FORMATTED:
        required, optional = PLACEHOLDERS[key]  # type: ignore[misc]
        base = getattr(Templates.load(), key)
        i = at % (len(base) + 1)
        # never inside an existing placeholder
        while any(m.start() < i < m.end() for m in re.finditer(r"\{[^{}]*\}", base)):
            i -= 1
        text = base[:i] + "{" + name + "}" + base[i:]
        got = [p.placeholder for p in template_problems(key, text)]
        assert got == ([] if name in required | optional else [name])


@settings(max_examples=50, deadline=None)
@given(name=NAMES, brace=st.sampled_from(["{", "}", "{x", ""]))
def test_plain_text_templates_take_any_braces(name, brace):
    """These are joined to the tasks as written (no str.format): a "{…}" is text."""
    t = Templates.load()
    for key in LITERAL:
        assert template_problems(key, getattr(t, key) + "{" + name + "}" + brace) == []


def test_save_refuses_a_broken_template_and_writes_nothing(tmp_path):
    text = Templates.load().chat_instruction_gen.replace("{examples}", "{exampels}")
    with pytest.raises(UserInputError, match=r"did you mean \{examples\}"):
        save_template(tmp_path, CHAT, text)
    assert list(tmp_path.iterdir()) == []


def test_the_cli_exits_2_before_the_model_loads_and_leaves_no_run(tmp_path, monkeypatch, capsys):
    from workbench.cli import cmd_selfinstruct, main
    from workbench.core.store.workspace import Workspace

    ws_path = tmp_path / "w.sqlite"
    assert main(["init", str(ws_path)]) == 0
    folder = tmp_path / "w-prompts"  # where the Templates dialog saves for this workspace
    folder.mkdir()
    broken = folder / TEMPLATE_FILES[CHAT][0]
    broken.write_text(
        Templates.load().chat_instruction_gen.replace("{examples}", "{exampels}"), "utf-8"
    )
    with Workspace.open(ws_path) as ws:
        ws.set_setting(TEMPLATES_SETTING, str(folder))
    loads: list[object] = []
    monkeypatch.setattr(cmd_selfinstruct, "open_model", lambda args: loads.append(args))
    capsys.readouterr()
    assert main(["self-instruct", "-w", str(ws_path), "--preset", "chat", "--target", "2"]) == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "{exampels}" in err and "did you mean {examples}" in err
    assert TEMPLATE_TITLES[CHAT] in err
    assert loads == []  # no model was loaded
    with Workspace.open(ws_path) as ws:
        assert ws.scalar("SELECT count(*) FROM runs") == 0
        assert ws.scalar("SELECT count(*) FROM model_calls") == 0


def test_a_direct_run_refuses_before_creating_its_row(tmp_path):
    """run_self_instruct checks too (callers that skip check_templates): no run row."""
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct
    from workbench.core.store.workspace import Workspace

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / TEMPLATE_FILES[CHAT][0]).write_text("Tasks: {exampels}\n", "utf-8")
    with Workspace.create(tmp_path / "w.sqlite") as ws:
        with pytest.raises(UserInputError, match=r"exampels"):
            run_self_instruct(ws, object(), RunConfig(preset="chat", templates_dir=str(folder)))  # type: ignore[arg-type]
        assert ws.scalar("SELECT count(*) FROM runs") == 0
        # the paper's preset does not prompt with it: the run goes on (to the missing seeds)
        paper = RunConfig(preset="self-instruct", templates_dir=str(folder), round_size=1)
        with pytest.raises(UserInputError, match="no seed tasks"):
            run_self_instruct(ws, object(), paper)  # type: ignore[arg-type]


def test_each_preset_checks_only_the_templates_it_prompts_with():
    from workbench.core.selfinstruct.presets import PRESETS

    used = {name: prompts.templates_used(p) for name, p in PRESETS.items()}
    assert used == {
        "self-instruct": ("instruction_gen", "clf", "input_first", "output_first"),
        "alpaca": ("alpaca",),
        "chat": ("chat_instruction_gen", "clf", "input_first", "output_first"),
    }


def _broken_chat_workspace(tmp_path, text="Tasks:\n{examples}\n\na { here\n"):
    """A workspace (bundled seeds) whose template folder holds a broken chat step-1 template."""
    from workbench.cli import main
    from workbench.core.store.workspace import Workspace

    ws_path = tmp_path / "w.sqlite"
    assert main(["init", str(ws_path)]) == 0
    folder = tmp_path / "w-prompts"
    folder.mkdir()
    broken = folder / TEMPLATE_FILES[CHAT][0]
    broken.write_text(text, "utf-8")
    with Workspace.open(ws_path) as ws:
        ws.set_setting(TEMPLATES_SETTING, str(folder))
    return ws_path, broken


def test_a_broken_chat_template_blocks_only_a_chat_start(tmp_path):
    """What the CLI and the window's Start call: the completion presets never prompt with the
    chat template, so it does not stop them (nothing runs the model here)."""
    from workbench.core.selfinstruct.run import RunConfig, check_templates
    from workbench.core.store.runs import create_run
    from workbench.core.store.workspace import Workspace

    ws_path, broken = _broken_chat_workspace(tmp_path)
    with Workspace.open(ws_path) as ws:
        for preset in ("self-instruct", "alpaca"):
            assert check_templates(ws, RunConfig(preset=preset)).sources[CHAT] == str(broken)
        with pytest.raises(UserInputError) as err:
            check_templates(ws, RunConfig(preset="chat"))
        assert (err.value.path, err.value.line) == (str(broken), 4)
        # a resume checks what the stored run prompts with, whatever the panel shows
        folder = str(broken.parent)
        done = RunConfig(preset="self-instruct", templates_dir=folder).to_dict()
        run_id = create_run(ws, "self-instruct", done)
        check_templates(ws, RunConfig(preset="chat"), run_id)
        chat_run = create_run(ws, "self-instruct", {**done, "preset": "chat"})
        with pytest.raises(UserInputError, match="lone"):
            check_templates(ws, RunConfig(preset="self-instruct"), chat_run)


def test_the_cli_json_error_has_the_template_file_and_line(tmp_path, monkeypatch, capsys):
    import json

    from workbench.cli import cmd_selfinstruct, main
    from workbench.cli.common import JSON_POINTER
    from workbench.core.errors import WorkbenchError

    ws_path, broken = _broken_chat_workspace(tmp_path)

    def reached(args):
        raise WorkbenchError("the model would load now")

    monkeypatch.setattr(cmd_selfinstruct, "open_model", reached)
    capsys.readouterr()
    argv = ["self-instruct", "-w", str(ws_path), "--target", "2", "--json"]
    assert main([*argv, "--preset", "chat"]) == 2
    out, err = capsys.readouterr()
    obj = json.loads(out)
    assert (obj["path"], obj["line"]) == (str(broken), 4)
    assert obj["error"].startswith(f"{broken}: “{TEMPLATE_TITLES[CHAT]}”, line 4: a lone “{{”")
    assert obj["exit_code"] == 2
    assert err.count("\n") == 1 and err.endswith(JSON_POINTER + "\n")
    # the paper's preset does not use the chat template: its start goes on to the model
    assert main([*argv, "--preset", "self-instruct"]) == 1
    assert json.loads(capsys.readouterr().out)["error"] == "the model would load now"


_ = prompts  # the module under test


@pytest.mark.parametrize(
    ("edit", "line", "needle"),
    [
        (lambda t: t.replace("{examples}", ""), 1, "the placeholder {examples} is missing"),
        (lambda t: t + "\n{count:s}", -1, "cannot be filled in"),
        (lambda t: t.replace("{examples}", "{exampels}"), None, "did you mean {examples}?"),
        (lambda t: t + "\na { here", -1, "a lone “{”"),
        (lambda t: t + "\n{examples.upper}", -1, "cannot be filled in"),
    ],
)
def test_every_problem_names_file_title_and_line(tmp_path, edit, line, needle):
    """Each kind of problem: the error (and --json's "error") starts with the file, then the
    title and the line; `path` is the file, `line` the problem's (1 for a missing one)."""
    from workbench.cli.common import error_object
    from workbench.core.formats.validation import bare_message

    text = edit(Templates.load().chat_instruction_gen)
    lines = text.split("\n")
    if line is None:  # the misspelt name's own line
        line = next(i for i, ln in enumerate(lines, 1) if "{exampels}" in ln)
    elif line == -1:  # appended: the last line
        line = len(lines)
    path = tmp_path / TEMPLATE_FILES[CHAT][0]
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        Templates.load(tmp_path).check([CHAT])
    obj = error_object(bare_message(err.value), err.value)  # as print_error
    head = f"{path}: “{TEMPLATE_TITLES[CHAT]}”, line {line}: "
    assert str(err.value).startswith(head) and obj["error"].startswith(head), obj
    assert needle in obj["error"] and (obj["path"], obj["line"]) == (str(path), line)
    with pytest.raises(UserInputError) as saved:  # the dialog's Save reads the same way
        save_template(tmp_path / "other", CHAT, text)
    head = (
        f"{tmp_path / 'other' / TEMPLATE_FILES[CHAT][0]}: “{TEMPLATE_TITLES[CHAT]}”, line {line}: "
    )
    assert str(saved.value).startswith(head)
