"""`workbench export --run ID` on a real workspace: an id that names no run whose tasks export
(none at all, or a CoT run) exits 2 before the file exists, naming the workspace and the runs
that would do, newest first; a SELF-INSTRUCT run's id exports its tasks."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.cli import main
from workbench.core.errors import UserInputError
from workbench.core.formats.exporter import export, run_problem
from workbench.core.store.runs import create_run
from workbench.core.store.tasks import Instance, Task, add_task
from workbench.core.store.workspace import Workspace


def cli(capsys, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


def workspace(tmp_path: Path, capsys) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "ws"
    assert cli(capsys, "init", str(path))[0] == 0
    with Workspace.open(path) as ws:
        ids = {
            "si": create_run(ws, "self-instruct", {}),
            "cot": create_run(ws, "cot", {}),
            "replay": create_run(ws, "replay", {}),
        }
        task = Task("Name a colour.", [Instance("", "Blue.")], source="generated")
        task.run_id = ids["si"]
        add_task(ws, task)
        wspath = ws.path
    return Path(wspath), ids


def test_a_run_that_is_not_there_is_refused_before_writing(tmp_path, capsys):
    ws, ids = workspace(tmp_path, capsys)
    out = tmp_path / "x.jsonl"
    code, err = cli(capsys, "export", "-w", str(ws), "-f", "alpaca", "-o", str(out), "--run", "999")
    assert code == 2 and not out.exists()
    allowed = (
        f"runs whose tasks export, newest first: {ids['replay']} replay, {ids['si']} self-instruct"
    )
    assert err["error"] == f"--run 999: no run 999 in {ws} ({allowed})"
    code, err = cli(
        capsys, "export", "-w", str(ws), "-f", "alpaca", "-o", str(out), "--run", str(ids["cot"])
    )
    assert code == 2 and not out.exists()
    assert err["error"] == (
        f"--run {ids['cot']}: run {ids['cot']} in {ws} is a cot run, which makes no tasks; "
        f"its preference pairs: --cot-pairs ({allowed})"
    )
    code, err = cli(
        capsys, "export", "-w", str(ws), "-f", "selfcheck-traces", "-o", str(out), "--run", "999"
    )
    assert code == 2 and not out.exists()
    assert "it has no run whose solutions export (kinds: self-check-sample, import)" in err["error"]


def test_a_self_instruct_run_exports_its_tasks(tmp_path, capsys):
    ws, ids = workspace(tmp_path, capsys)
    out = tmp_path / "x.jsonl"
    code, res = cli(
        capsys, "export", "-w", str(ws), "-f", "alpaca", "-o", str(out), "--run", str(ids["si"])
    )
    assert code == 0 and res["count"] == 1, res
    assert json.loads(out.read_text().splitlines()[0])["instruction"] == "Name a colour."


def test_the_library_checks_too(tmp_path, capsys):
    ws, ids = workspace(tmp_path, capsys)
    with Workspace.open(ws) as w:
        assert run_problem(w, ids["replay"], "alpaca") is None
        try:
            export(w, "alpaca", tmp_path / "y.jsonl", run_id=999)
        except UserInputError as exc:
            assert getattr(exc, "field", None) == "run" and "no run 999" in str(exc)
        else:
            raise AssertionError("run 999 exported")
    assert not (tmp_path / "y.jsonl").exists()
