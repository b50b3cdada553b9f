"""`workbench import` of Self-Instruct seed JSONL through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workbench.cli import main
from workbench.core.store.workspace import Workspace


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_reference_seeds_import_then_skip(shared_data, tmp_path, capsys):
    seeds = shared_data / "self_instruct" / "seed_tasks.jsonl"
    ws = tmp_path / "w.sqlite"
    code, out, _ = run_cli(capsys, "import", str(seeds), "--workspace", str(ws), "--json")
    assert code == 0
    first = json.loads(out)
    assert (first["imported"], first["classification"], first["skipped_duplicates"]) == (175, 26, 0)
    code, out, _ = run_cli(capsys, "import", str(seeds), "--workspace", str(ws), "--json")
    second = json.loads(out)
    assert (second["imported"], second["skipped_duplicates"]) == (0, 175)
    with Workspace.open(ws) as w:
        assert w.scalar("SELECT count(*) FROM tasks WHERE source = 'seed'") == 175
        assert w.scalar("SELECT count(*) FROM instances") >= 175
        assert w.integrity_check() == "ok"


def _bad_copies(shared_data, tmp_path):
    lines = (shared_data / "self_instruct" / "seed_tasks.jsonl").read_text().splitlines()
    truncated = list(lines)
    truncated[39] = truncated[39][: len(truncated[39]) // 2]
    no_instruction = list(lines)
    obj = json.loads(no_instruction[11])
    del obj["instruction"]
    no_instruction[11] = json.dumps(obj)
    a, b = tmp_path / "truncated.jsonl", tmp_path / "noinstr.jsonl"
    a.write_text("\n".join(truncated) + "\n")
    b.write_text("\n".join(no_instruction) + "\n")
    return a, b


def test_bad_lines_exit_2_name_line_and_field_and_change_nothing(shared_data, tmp_path, capsys):
    truncated, noinstr = _bad_copies(shared_data, tmp_path)
    ws = tmp_path / "w.sqlite"
    Workspace.create(ws).close()
    code, out, err = run_cli(capsys, "import", str(truncated), "--workspace", str(ws), "--json")
    assert code == 2
    error = json.loads(out)  # --json: one error object on stdout, one line on stderr
    assert error["line"] == 40 and error["path"].endswith("truncated.jsonl")
    assert "line 40" in err and "truncated.jsonl" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "import", str(noinstr), "--workspace", str(ws))
    assert code == 2
    assert "line 12" in err and "'instruction'" in err
    with Workspace.open(ws) as w:
        assert w.scalar("SELECT count(*) FROM tasks") == 0


def test_console_script_json_is_the_only_stdout(shared_data, tmp_path):
    seeds = shared_data / "self_instruct" / "seed_tasks.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "import",
            str(seeds),
            "-w",
            str(tmp_path / "w.sqlite"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["imported"] == 175


@pytest.mark.parametrize(
    "payload, field",
    [
        ('{"instruction": 5, "instances": []}', "instruction"),
        ('{"instruction": "x", "instances": [{"input": "a"}]}', "instances[0].output"),
        ('{"instruction": "x", "instances": "no"}', "instances"),
        ('{"instruction": "x", "instances": [], "is_classification": "yes"}', "is_classification"),
    ],
)
def test_field_errors_name_the_field(tmp_path, capsys, payload, field):
    f = tmp_path / "one.jsonl"
    fine = '{"instruction": "fine", "instances": [{"input": "", "output": "o"}]}'
    f.write_text(fine + "\n" + payload + "\n")
    code, _, err = run_cli(
        capsys, "import", str(f), "--format", "selfinstruct-seed", "-w", str(tmp_path / "w.sqlite")
    )
    assert code == 2
    assert "line 2" in err and f"'{field}'" in err


def test_instances_file_fills_the_tasks_an_instructions_file_brought(shared_data, tmp_path, capsys):
    """The reference run's two files, in the order people have them: instructions first (no
    instances), then all_generated_instances.jsonl gives those tasks their instances."""
    run = shared_data / "self_instruct" / "reference_run"
    ws = tmp_path / "w.sqlite"
    code, out, err = run_cli(
        capsys,
        "import",
        str(run / "machine_generated_instructions.jsonl"),
        "--format",
        "selfinstruct-generated",
        "--workspace",
        str(ws),
        "--json",
    )
    assert code == 0, err
    first = json.loads(out)
    with Workspace.open(ws) as w:
        bare = w.scalar(
            "SELECT count(*) FROM tasks t WHERE NOT EXISTS "
            "(SELECT 1 FROM instances i WHERE i.task_id = t.id)"
        )
    assert first["imported"] >= bare > 0
    code, out, err = run_cli(
        capsys,
        "import",
        str(run / "all_generated_instances.jsonl"),
        "--workspace",
        str(ws),
        "--json",
    )
    assert code == 0, err
    second = json.loads(out)
    text = (run / "all_generated_instances.jsonl").read_text()
    lines = [json.loads(x) for x in text.splitlines()]
    # Every instruction of the instances file was one of the bare tasks (the reference kept
    # instances for 15 of its 17 instructions): all filled, none added, none skipped.
    assert second["filled"] == len({r["instruction"] for r in lines}) <= bare
    assert (
        second["imported"]
        + second["filled"]
        + second["merged_records"]
        + second["skipped_duplicates"]
        == second["read"]
    )
    code, out, _ = run_cli(
        capsys,
        "import",
        str(run / "all_generated_instances.jsonl"),
        "--workspace",
        str(ws),
        "--json",
    )
    again = json.loads(out)
    assert again["filled"] == 0 and again["imported"] == 0  # nothing left to fill
    with Workspace.open(ws) as w:
        for rec in lines:  # every instance of the file is now under its instruction, once
            n = w.scalar(
                "SELECT count(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
                "WHERE t.instruction = ? AND i.input = ? AND i.output = ?",
                (rec["instruction"], rec["input"], rec["output"]),
            )
            assert n == 1, rec
        assert w.scalar("SELECT count(*) FROM tasks") == first["imported"] + second["imported"]
        assert w.integrity_check() == "ok"
