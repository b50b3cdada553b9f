"""`workbench import --dry-run` writes nothing: not a new workspace, not its folder, not a
tokenizer switch (new-user trial, session 4), and it counts what a real import would."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.cli import main


def _alpaca(tmp_path: Path) -> Path:
    p = tmp_path / "a.json"
    p.write_text(
        json.dumps([{"instruction": f"Say {i}.", "input": "", "output": str(i)} for i in range(5)])
    )
    return p


def test_dry_run_creates_no_workspace_and_counts_as_the_import(tmp_path, capsys):
    src = _alpaca(tmp_path)
    ws = tmp_path / "new-folder" / "w.sqlite"
    assert main(["import", str(src), "-w", str(ws), "--dry-run", "--json"]) == 0
    preview = json.loads(capsys.readouterr()[0])
    assert preview["preview"] and not ws.parent.exists()
    assert main(["import", str(src), "-w", str(ws), "--json"]) == 0
    real = json.loads(capsys.readouterr()[0])
    assert preview["imported"] == real["imported"] == 5
    # on an existing workspace a dry run still writes nothing, and sees its tasks as duplicates
    before = ws.read_bytes()
    assert main(["import", str(src), "-w", str(ws), "--dry-run", "--json"]) == 0
    again = json.loads(capsys.readouterr()[0])
    assert again["imported"] == 0 and ws.read_bytes() == before


def test_dry_run_refuses_a_tokenizer_switch(tmp_path, capsys):
    ws = tmp_path / "w.sqlite"
    code = main(
        ["import", str(_alpaca(tmp_path)), "-w", str(ws), "--dry-run", "--tokenizer", "unicode"]
    )
    assert code == 2 and "which --dry-run must not do" in capsys.readouterr()[1] and not ws.exists()
