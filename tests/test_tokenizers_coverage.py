"""Tasks ROUGE-L cannot see (issue 19.5): Chinese text in a workspace with the English (rouge)
tokenizer has no tokens and scores 0 against everything. The core counts them, `workbench
import` and `workbench self-instruct` warn and offer `--tokenizer unicode`, Inspect shows a
notice with a switch."""

from __future__ import annotations

import json

import pytest

from workbench.core.similarity import (
    score,
    set_workspace_tokenizer,
    tokenizer_coverage,
    workspace_tokenizer,
)
from workbench.core.store.tasks import Instance, Task, add_task

CHINESE = ["写一首关于秋天的诗。", "写一首关于秋天的短诗。", "把这句话翻译成英文。"]


def _english_workspace_with_chinese(ws):
    for i, text in enumerate(
        [
            "Write a haiku about autumn.",
            "Summarize the paragraph.",
            "Give three synonyms for the word.",
        ]
    ):
        add_task(ws, Task(text, [Instance("", f"out {i}")], False, source="seed"))
    assert workspace_tokenizer(ws) == "rouge"  # chosen from the English seeds
    for text in CHINESE:
        add_task(ws, Task(text, [Instance("", "好")], False, source="imported"))


def test_coverage_counts_tasks_without_tokens(tmp_workspace):
    _english_workspace_with_chinese(tmp_workspace)
    cov = tokenizer_coverage(tmp_workspace)
    assert (cov.tokenizer, cov.tasks, cov.unseen, cov.suggested) == ("rouge", 6, 3, "unicode")
    assert "3 of 6 tasks" in cov.message() and "--tokenizer unicode" in cov.message()
    assert score(CHINESE[0], CHINESE[1], "rouge") == 0.0  # why it matters: a near-duplicate
    set_workspace_tokenizer(tmp_workspace, "unicode")
    assert tokenizer_coverage(tmp_workspace).unseen == 0
    assert score(CHINESE[0], CHINESE[1], "unicode") > 0.7


def test_import_warns_and_the_switch_makes_dedup_see_them(tmp_path, capsys):
    from workbench.cli import main

    ws = str(tmp_path / "en.sqlite")
    data = tmp_path / "zh.json"
    data.write_text(
        json.dumps(
            [{"instruction": t, "input": "", "output": "好"} for t in CHINESE], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    assert main(["init", ws, "--json"]) == 0  # the 175 English seeds: rouge
    capsys.readouterr()
    assert main(["import", str(data), "-w", ws, "--dedup-rouge", "0.7", "--json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["imported"] == 3 and out["skipped_similar"] == 0  # the near-duplicate passed
    assert out["rouge_unseen"]["unseen"] == 3 and out["rouge_unseen"]["suggested"] == "unicode"
    assert "warning: ROUGE-L cannot see 3 of 178 tasks" in cap.err

    ws2 = str(tmp_path / "en2.sqlite")
    assert main(["init", ws2, "--json"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "import",
                str(data),
                "-w",
                ws2,
                "--dedup-rouge",
                "0.7",
                "--tokenizer",
                "unicode",
                "--json",
            ]
        )
        == 0
    )
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["imported"] == 2 and out["skipped_similar"] == 1  # now it is seen, and dropped
    assert "rouge_unseen" not in out and "warning" not in cap.err


def test_self_instruct_warns_before_the_run(tmp_path, monkeypatch, capsys):
    import workbench.cli.cmd_selfinstruct as cmd_selfinstruct
    from workbench.cli import main
    from workbench.core.llm.scripted import ScriptedBackend

    ws = str(tmp_path / "en.sqlite")
    data = tmp_path / "zh.json"
    data.write_text(
        json.dumps(
            [{"instruction": t, "input": "", "output": "好"} for t in CHINESE], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    assert main(["init", ws, "--json"]) == 0 and main(["import", str(data), "-w", ws]) == 0
    capsys.readouterr()
    monkeypatch.setattr(cmd_selfinstruct, "open_model", lambda args: ScriptedBackend([""]))
    main(["self-instruct", "--target", "1", "--max-gen-calls", "1", "-w", ws, "--json"])
    cap = capsys.readouterr()
    assert "ROUGE-L cannot see 3 of 178 tasks" in cap.err
    assert json.loads(cap.out)["rouge_unseen"]["unseen"] == 3


@pytest.mark.gui
def test_inspect_shows_the_notice_and_switches(qtbot, tmp_workspace):
    pytest.importorskip("pytestqt")
    from workbench.gui.inspect_panel import InspectPanel

    _english_workspace_with_chinese(tmp_workspace)
    panel = InspectPanel(tmp_workspace)
    qtbot.addWidget(panel)
    assert not panel.unseen_bar.isHidden()
    assert "3 of 6 tasks" in panel.unseen_label.text()
    assert panel.switch_tokenizer_btn.text() == "Switch to “unicode”"
    panel.switch_tokenizer_btn.click()
    assert workspace_tokenizer(tmp_workspace) == "unicode"
    assert panel.unseen_bar.isHidden()
