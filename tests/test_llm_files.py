"""Bad model files are refused with a message that names the file (API and CLI, exit code 2)."""
from __future__ import annotations

import pytest

from workbench.cli import main
from workbench.core.errors import ModelError
from workbench.core.llm.gguf_info import read_model_info


@pytest.fixture()
def bad_files(tmp_path, default_model_path):
    text = tmp_path / "notes.gguf"
    text.write_text("this is not a model\n")
    truncated = tmp_path / "cut.gguf"
    with open(default_model_path, "rb") as src:
        truncated.write_bytes(src.read(default_model_path.stat().st_size // 3))
    header_only = tmp_path / "header.gguf"
    with open(default_model_path, "rb") as src:
        header_only.write_bytes(src.read(64))
    return {"text": text, "truncated": truncated, "header": header_only,
            "missing": tmp_path / "nowhere.gguf"}


@pytest.mark.parametrize("kind, words", [
    ("text", "not a GGUF"), ("truncated", "truncated"), ("header", "damaged or truncated"),
    ("missing", "no such model file"),
])
def test_read_model_info_refuses(bad_files, kind, words):
    with pytest.raises(ModelError, match=words) as exc:
        read_model_info(bad_files[kind])
    assert str(bad_files[kind]) in str(exc.value)


@pytest.mark.parametrize("kind", ["text", "truncated", "missing"])
def test_cli_complete_exit_2_names_the_file(bad_files, kind, capsys):
    code = main(["complete", "--model", str(bad_files[kind]), "--max-tokens", "2", "hi"])
    _, err = capsys.readouterr()
    assert code == 2
    assert str(bad_files[kind]) in err


def test_cli_models_info_json(default_model_path, capsys):
    import json

    assert main(["models", "info", "default", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["path"] == str(default_model_path.resolve())
    assert info["architecture"] == "llama" and info["has_chat_template"] is True


def test_cli_models_add_refuses_bad_and_lists_good(tmp_path, bad_files, default_model_path, capsys):
    import json
    import shutil

    ws = str(tmp_path / "w.sqlite")
    assert main(["models", "add", str(bad_files["text"]), "-w", ws]) == 2
    copy = tmp_path / "copy.gguf"
    shutil.copy(default_model_path, copy)
    assert main(["models", "add", str(copy), "-w", ws]) == 0
    capsys.readouterr()
    assert main(["models", "list", "-w", ws, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["models"]
    assert [m["label"] for m in listed] == ["default", "copy.gguf"]


def test_cli_complete_json_reports_counts(capsys):
    import json

    code = main(["complete", "--max-tokens", "5", "--temperature", "0", "--json", "Hello"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["finish_reason"] == "length" and out["completion_tokens"] == 5
    assert out["tokens_per_second"] > 0
