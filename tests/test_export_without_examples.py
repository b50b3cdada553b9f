"""A selected task with no examples (added by hand with no instances, or a candidate kept in
Inspect without instances) gives no record in a format that writes examples: `export` says so
in its summary line and in --json (`without_examples`); task-level formats write it."""

from __future__ import annotations

import json

from workbench.cli import main
from workbench.core.store.tasks import Instance, Task, add_task
from workbench.core.store.workspace import Workspace


def test_export_reports_tasks_without_examples(tmp_path, capsys):
    path = tmp_path / "ws.sqlite"
    with Workspace.open(path, create=True) as ws:
        add_task(ws, Task("Add the numbers.", [Instance("2 3", "5")], source="seed"))
        add_task(ws, Task("Name a colour.", [], source="seed"))
        add_task(ws, Task("Name a fruit.", [], source="seed"))
    out = tmp_path / "out.jsonl"
    assert main(["export", "-f", "alpaca", "-o", str(out), "-w", str(path)]) == 0
    human = capsys.readouterr().out
    assert "wrote 1 records (alpaca)" in human
    assert "2 tasks have no examples and were not written" in human
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1

    assert main(["export", "-f", "alpaca", "-o", str(out), "-w", str(path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (res["count"], res["tasks"], res["without_examples"]) == (1, 3, 2)

    seed = tmp_path / "seed.jsonl"  # a task-level format writes every task, so nothing to say
    assert (
        main(["export", "-f", "selfinstruct-seed", "-o", str(seed), "-w", str(path), "--json"]) == 0
    )
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (res["count"], res["without_examples"]) == (3, 0)
