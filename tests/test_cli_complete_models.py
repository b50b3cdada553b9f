"""The tester's `complete` and `models` findings, through the CLI's `main()`: an empty prompt
is refused before the model loads, counts and the temperature are range-checked by argparse,
`models list/add -w` never create a mistyped workspace (the default one still is, on first
use), a second `models add` says "already added", and `--json` errors name the model file."""

from __future__ import annotations

import json
import os

import pytest

from workbench.cli import cmd_complete, main
from workbench.core.store.workspace import Workspace, default_workspace_path


def cli(capsys, *argv: str) -> tuple[int, dict, str]:
    try:
        code = main([*argv, "--json"])
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    cap = capsys.readouterr()
    lines = cap.out.strip().splitlines()
    return code, (json.loads(lines[-1]) if lines else {}), cap.err


@pytest.mark.parametrize("prompt", ["", "   \n\t"])
def test_empty_prompt_is_refused_before_the_model_loads(capsys, monkeypatch, prompt):
    def no_model(args):
        raise AssertionError("the model was loaded for an empty prompt")

    monkeypatch.setattr(cmd_complete, "open_model", no_model)
    code, err, _ = cli(capsys, "complete", prompt)
    assert code == 2
    assert err["error"] == "the prompt is empty"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-tokens", "0", "argument --max-tokens: must be at least 1, got 0"),
        ("--max-tokens", "-5", "argument --max-tokens: must be at least 1, got -5"),
        ("--threads", "0", "argument --threads: must be at least 1, got 0"),
        ("--temperature", "-1", "argument --temperature: must be 0 or more, got -1.0"),
        ("--temperature", "nan", "argument --temperature: must be 0 or more, got nan"),
    ],
)
def test_complete_ranges_are_usage_errors(capsys, monkeypatch, option, value, message):
    monkeypatch.setattr(cmd_complete, "open_model", lambda args: pytest.fail("model loaded"))
    code, err, _ = cli(capsys, "complete", "Hello", option, value)
    assert code == 2
    assert err["error"] == message


@pytest.mark.parametrize("command", [["cot"], ["eval", "voting"], ["self-instruct"]])
def test_other_commands_max_tokens_must_be_positive(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([*command, "--max-tokens", "0", "--help"])
    assert info.value.code == 2
    assert "--max-tokens: must be at least 1, got 0" in capsys.readouterr().err


def test_complete_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["complete", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 128)" in text
    assert "(default: 0.8)" in text


@pytest.mark.parametrize("action", [["list"], ["add", "default-model"]])
def test_models_with_a_mistyped_workspace_create_nothing(
    capsys, tmp_path, action, default_model_path
):
    argv = ["models", *action]
    if action[0] == "add":
        argv[-1] = str(default_model_path)
    ws = tmp_path / "nope" / "x.sqlite"
    code, err, _ = cli(capsys, *argv, "-w", str(ws))
    assert code == 2
    assert err["error"].startswith(f"{ws}: no workspace there.")
    assert not ws.parent.exists()


def test_models_list_without_w_creates_the_default_workspace(capsys):
    assert not default_workspace_path().exists()
    code, res, _ = cli(capsys, "models", "list")
    assert code == 0
    assert res["models"][0]["label"] == "default"
    assert default_workspace_path().exists()


def test_models_add_twice_says_already_added(capsys, tmp_path, default_model_path):
    ws = tmp_path / "ws.sqlite"
    Workspace.create(ws).close()
    path = os.path.realpath(default_model_path)
    assert main(["models", "add", str(default_model_path), "-w", str(ws)]) == 0
    assert capsys.readouterr().out.startswith("added: ")
    assert main(["models", "add", str(default_model_path), "-w", str(ws)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("already added: ")
    code, res, _ = cli(capsys, "models", "add", str(default_model_path), "-w", str(ws))
    assert (code, res["already_added"]) == (0, True)
    with Workspace.open(ws) as w:
        assert len(w.get_setting("models", [])) == 1
    assert path in out or str(default_model_path) in out


@pytest.mark.parametrize("action", ["info", "add"])
def test_models_json_errors_name_the_file(capsys, tmp_path, action):
    ws = tmp_path / "ws.sqlite"
    Workspace.create(ws).close()
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"this is not GGUF")
    code, err, _ = cli(capsys, "models", action, str(bad), "-w", str(ws))
    assert code == 2
    assert err["path"] == str(bad)
    missing = tmp_path / "missing.gguf"
    code, err, _ = cli(capsys, "models", action, str(missing), "-w", str(ws))
    assert code == 2
    assert err["path"] == str(missing)
