"""The QA trial's export bugs, through the CLI on the shared samples: import-only formats are a
clear error (exit 2), a v1 (typed-parts) chat exported as ShareGPT re-imports equal, writers
that cannot hold a field refuse with counts or leave it out with --lossy and say so, and the
import messages (truncated JSON, an empty list, a reasoning file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.core.formats.common import CONTENT_META
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace

DATA = Path("/work/shared/data")
LF = DATA / "datasets" / "llama-factory"
HH = DATA / "datasets" / "hh-rlhf" / "harmless-base_test.jsonl"
FASTCHAT = DATA / "datasets" / "sharegpt-format-fastchat" / "dummy_conversation.json"
GSM8K = DATA / "reasoning" / "gsm8k_test_first200.jsonl"
IMPORT_ONLY = ("tabular", "natural-instructions", "hh-rlhf", "hf-hub", "oig")


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared sample {path} is absent (the shared data folder is not mounted)")
    return path


def cli(capsys, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


def imported(capsys, tmp_path: Path, sample: Path, name: str = "ws") -> Path:
    ws = tmp_path / name
    code, res = cli(capsys, "import", str(need(sample)), "-w", str(ws))
    assert code == 0, res
    return ws


def test_import_only_formats_are_a_clear_error(tmp_path, capsys):
    ws = imported(capsys, tmp_path, LF / "alpaca_en_demo.json")
    for fmt in IMPORT_ONLY:
        code, err = cli(
            capsys, "export", "--format", fmt, "--out", str(tmp_path / "x"), "-w", str(ws)
        )
        assert code == 2, err
        assert err["error"].startswith(f"{fmt} is an import-only format; export formats are: ")
        listed = err["error"].split(": ", 1)[1].split(", ")
        assert "alpaca" in listed and not set(IMPORT_ONLY) & set(listed)
        assert not (tmp_path / "x").exists()
    code, err = cli(
        capsys, "export", "--format", "csv", "--out", str(tmp_path / "x"), "-w", str(ws)
    )
    assert code == 2 and "unknown format" in err["error"]
    assert "sharegpt" in err["hint"] and not any(f in err["hint"] for f in IMPORT_ONLY)


def _examples(ws_path: Path) -> list[tuple]:
    ws = Workspace.open(ws_path)
    try:
        tasks = iter_tasks(ws)
    finally:
        ws.close()
    return sorted(
        (
            t.instruction,
            i.input,
            i.output,
            i.system,
            json.dumps(i.history),
            i.kind,
            i.rejected,
            i.label,
            i.weight,
            json.dumps(i.tools),
            json.dumps(
                {k: v for k, v in (i.meta or {}).items() if k in CONTENT_META}, sort_keys=True
            ),
        )
        for t in tasks
        for i in t.instances
    )


def test_sharegpt_export_of_a_v1_chat_reimports_equal(tmp_path, capsys):
    ws = imported(capsys, tmp_path, LF / "v1_sft_demo.jsonl")
    out = tmp_path / "sg.json"
    code, res = cli(capsys, "export", "--format", "sharegpt", "--out", str(out), "-w", str(ws))
    assert code == 0 and res["count"] == 40, res
    records = json.loads(out.read_text(encoding="utf-8"))
    turns = [t for r in records for t in r["conversations"]]
    assert all(isinstance(t["value"], str) for t in turns)
    assert turns[0]["value"] == "hi" and turns[0]["content_parts"][0]["type"] == "text"
    code, back = cli(capsys, "import", str(out), "-w", str(tmp_path / "ws2"))
    assert code == 0, back
    first, second = _examples(ws), _examples(tmp_path / "ws2")
    assert len(second) == len(first) == 40
    assert second == first
    # and on to openai-chat: the typed parts come back as the original file had them
    again = tmp_path / "again.jsonl"
    code, _ = cli(
        capsys,
        "export",
        "--format",
        "openai-chat",
        "--out",
        str(again),
        "-w",
        str(tmp_path / "ws2"),
    )
    assert code == 0
    original = LF / "v1_sft_demo.jsonl"
    assert json.loads(again.read_text().splitlines()[0]) == json.loads(
        original.read_text().splitlines()[0]
    )


@pytest.mark.parametrize(
    "sample, left_out",
    [
        (HH, {"history": 30, "rejected": 40}),
        (
            LF / "glaive_toolcall_en_demo.json",
            {"history": 20, "tool-history": 10, "tool-calls": 14, "tools": 39},
        ),
        (LF / "kto_en_demo.json", {"history": 10, "label": 40}),
        (FASTCHAT, {"history": 27}),
    ],
    ids=["hh-rlhf", "glaive-toolcall", "kto", "fastchat"],
)
@pytest.mark.parametrize("fmt", ["selfinstruct-instances", "selfinstruct-finetune"])
def test_lossy_writers_refuse_with_counts_or_report_them(tmp_path, capsys, sample, left_out, fmt):
    ws = imported(capsys, tmp_path, sample)
    out = tmp_path / "out.jsonl"
    code, err = cli(capsys, "export", "--format", fmt, "--out", str(out), "-w", str(ws))
    assert code == 2, err
    assert (
        f"{fmt} cannot hold everything in {max(left_out.values())}" in err["error"]
        or f"{fmt} cannot hold everything in" in err["error"]
    )
    for n in left_out.values():
        assert f"in {n} example" in err["error"]
    assert "sharegpt" in err["hint"] and "--lossy" in err["hint"]
    assert not out.exists()
    code, res = cli(capsys, "export", "--format", fmt, "--out", str(out), "-w", str(ws), "--lossy")
    assert code == 0, res
    assert res["left_out"] == left_out
    assert len(out.read_text(encoding="utf-8").splitlines()) == res["count"]


def test_alpaca_refuses_tool_history_with_counts_and_writes_with_lossy(tmp_path, capsys):
    ws = imported(capsys, tmp_path, LF / "glaive_toolcall_en_demo.json")
    out = tmp_path / "a.json"
    code, err = cli(capsys, "export", "--format", "alpaca", "--out", str(out), "-w", str(ws))
    assert code == 2 and "in 10 of 39 examples" in err["error"], err
    code, res = cli(
        capsys,
        "export",
        "--format",
        "alpaca",
        "--out",
        str(out),
        "-w",
        str(ws),
        "--drop-unsupported",
    )
    assert code == 0 and res["left_out"] == {"tool-history": 10} and res["count"] == 39


def test_import_messages(tmp_path, capsys):
    cut = tmp_path / "cut.jsonl"
    cut.write_text('{"instruction": "a", "output": "abc\n', encoding="utf-8")
    code, err = cli(capsys, "import", str(cut), "-w", str(tmp_path / "ws"))
    assert code == 2 and "Unterminated string starting at column" in err["error"], err
    assert "at at" not in err["error"]
    empty = tmp_path / "empty.json"
    empty.write_text("[]\n", encoding="utf-8")
    code, err = cli(capsys, "import", str(empty), "-w", str(tmp_path / "ws"))
    assert code == 2 and "the list is empty: no records" in err["error"], err
    code, err = cli(capsys, "import", str(need(GSM8K)), "-w", str(tmp_path / "ws"))
    assert code == 2 and "reasoning file" in err["error"], err
    assert "workbench cot --data" in err["hint"] and "eval" in err["hint"]
