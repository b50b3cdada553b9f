"""Exported files get the permissions a plain open() would give under the umask (not
mkstemp's 0600), the hf folder those of mkdir (not mkdtemp's 0700), and a file being replaced
keeps its own mode."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.core.fileio import atomic_text_file, current_umask


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_exports_follow_the_umask_and_a_replaced_file_keeps_its_mode(tmp_path, capsys, umask_022):
    assert current_umask() == 0o022
    src = tmp_path / "in.json"
    src.write_text(json.dumps([{"instruction": "Say hi.", "input": "", "output": "hi"}]))
    ws = str(tmp_path / "w.sqlite")
    assert main(["import", str(src), "-w", ws]) == 0
    out, folder = tmp_path / "out.json", tmp_path / "hf"
    assert main(["export", "--format", "alpaca", "--out", str(out), "-w", ws]) == 0
    assert main(["export", "--format", "hf", "--out", str(folder), "-w", ws]) == 0
    capsys.readouterr()
    assert _mode(out) == 0o644
    assert _mode(folder) == 0o755
    inside = list(folder.rglob("*"))
    assert inside and all(_mode(f) == (0o755 if f.is_dir() else 0o644) for f in inside)

    out.chmod(0o600)
    assert main(["export", "--format", "alpaca", "--out", str(out), "-w", ws]) == 0
    assert _mode(out) == 0o600 and json.loads(out.read_text())[0]["output"] == "hi"


def test_atomic_write_follows_a_stricter_umask(tmp_path):
    old = os.umask(0o077)
    try:
        with atomic_text_file(tmp_path / "x.txt") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "x.txt") == 0o600
