"""(3) A full disk: during a SELF-INSTRUCT run (SQLite's max_page_count as the test hook) the run
stops with a clear message, what it committed is intact, and it resumes to its target once
space is back; an export to a full disk (a 64 KiB tmpfs, when this process may mount one) fails
clearly and leaves no partial file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers import good_selfinstruct_backend  # noqa: E402

from workbench.core.errors import WorkbenchError  # noqa: E402
from workbench.core.seeds import init_workspace  # noqa: E402
from workbench.core.selfinstruct.run import RunConfig, run_self_instruct  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

TARGET = 12


def _snapshot(ws, run_id):
    return {
        r["instruction"]: r["n"]
        for r in ws.query(
            "SELECT t.instruction, (SELECT count(*) FROM instances i WHERE i.task_id = t.id) AS n "
            "FROM tasks t WHERE t.run_id = ? ORDER BY t.id",
            (run_id,),
        )
    }


@pytest.mark.parametrize("fill_after", [1, 4, 9])
def test_run_stops_clearly_on_full_disk_and_resumes(tmp_path, fill_after):
    ws = init_workspace(tmp_path / "ws.sqlite")
    seen: dict = {}

    def progress(ev):
        if ev.done >= fill_after and "filled" not in seen:
            seen["filled"] = True
            pages = ws.scalar("PRAGMA page_count")
            ws.execute(f"PRAGMA max_page_count = {pages}")  # no room for one more page
            seen["before"] = _snapshot(ws, ev.data["run_id"])
            seen["run_id"] = ev.data["run_id"]

    backend = good_selfinstruct_backend(seed=fill_after)
    # Large raw outputs fill pages quickly once the database may not grow.
    with pytest.raises(WorkbenchError) as err:
        run_self_instruct(
            ws, backend, RunConfig(preset="chat", target=TARGET, seed=fill_after), progress=progress
        )
    assert "disk is full" in str(err.value) and str(ws.path) in str(err.value)
    run_id = seen["run_id"]
    after = _snapshot(ws, run_id)
    # Everything committed before the disk filled is there, with all its instances.
    for instr, n in seen["before"].items():
        assert after.get(instr) == n
    assert len(after) < TARGET
    assert ws.integrity_check() == "ok"

    ws.execute("PRAGMA max_page_count = 1073741823")  # space is back
    summary = run_self_instruct(ws, backend, RunConfig(), resume_run_id=run_id)
    assert summary.accepted == TARGET
    final = _snapshot(ws, run_id)
    distinct = ws.scalar("SELECT count(DISTINCT norm) FROM tasks WHERE run_id = ?", (run_id,))
    assert len(final) == TARGET == distinct
    for instr, n in after.items():
        assert final[instr] == n
    assert ws.integrity_check() == "ok"
    ws.close()


@pytest.mark.model
def test_real_model_run_stops_on_full_disk_and_resumes(tmp_path, llama_backend):
    """The same promise with the default model through llama.cpp (small token limits)."""
    ws = init_workspace(tmp_path / "ws.sqlite")
    seen: dict = {}

    def progress(ev):
        if ev.done >= 1 and "filled" not in seen:
            seen["filled"] = True
            ws.execute(f"PRAGMA max_page_count = {ws.scalar('PRAGMA page_count')}")
            seen["before"] = _snapshot(ws, ev.data["run_id"])
            seen["run_id"] = ev.data["run_id"]

    config = RunConfig(preset="chat", target=3, seed=5, gen_max_tokens=120, instances_max_tokens=64)
    with pytest.raises(WorkbenchError) as err:
        run_self_instruct(ws, llama_backend, config, progress=progress)
    assert "disk is full" in str(err.value)
    run_id = seen["run_id"]
    after = _snapshot(ws, run_id)
    assert seen["before"] and all(after.get(i) == n for i, n in seen["before"].items())
    assert ws.integrity_check() == "ok"
    ws.execute("PRAGMA max_page_count = 1073741823")
    assert run_self_instruct(ws, llama_backend, RunConfig(), resume_run_id=run_id).accepted == 3
    final = _snapshot(ws, run_id)
    assert len(final) == 3 and all(final[i] == n for i, n in after.items())
    ws.close()


@contextmanager
def _tmpfs(mnt: Path, size: str):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root (this variant runs where the test may mount one)")
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): full-disk variant untested")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture()
def tiny_tmpfs(tmp_path):
    with _tmpfs(tmp_path / "full", "64k") as mnt:
        yield mnt


@pytest.fixture()
def small_tmpfs(tmp_path):
    with _tmpfs(tmp_path / "small", "4m") as mnt:
        yield mnt


def test_run_on_a_really_full_tmpfs_stops_and_resumes(small_tmpfs):
    """The workspace lives on a 4 MiB tmpfs; a ballast file takes all but a little of it, so the
    run's own writes (WAL and database) meet ENOSPC, not a SQLite page limit."""
    ws = init_workspace(small_tmpfs / "ws.sqlite")
    ws.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seen: dict = {}
    ballast = small_tmpfs / "ballast.bin"

    def progress(ev):
        if ev.done >= 2 and "filled" not in seen:
            seen["filled"] = True
            seen["before"] = _snapshot(ws, ev.data["run_id"])
            seen["run_id"] = ev.data["run_id"]
            with open(ballast, "wb") as fh:  # fill the disk up to its last bytes
                try:
                    while True:
                        fh.write(b"\0" * 4096)
                        fh.flush()
                except OSError:
                    pass

    backend = good_selfinstruct_backend(seed=42)
    with pytest.raises(WorkbenchError) as err:
        run_self_instruct(
            ws, backend, RunConfig(preset="chat", target=TARGET, seed=3), progress=progress
        )
    assert "disk is full" in str(err.value), err.value
    run_id = seen["run_id"]
    ws.close()
    ballast.unlink()  # space is back
    ws = Workspace.open(small_tmpfs / "ws.sqlite")
    after = _snapshot(ws, run_id)
    assert all(after.get(i) == n for i, n in seen["before"].items())
    assert ws.integrity_check() == "ok"
    summary = run_self_instruct(ws, backend, RunConfig(), resume_run_id=run_id)
    assert summary.accepted == TARGET
    final = _snapshot(ws, run_id)
    assert len(final) == TARGET and all(final[i] == n for i, n in after.items())
    assert ws.integrity_check() == "ok"
    ws.close()


@pytest.mark.parametrize("fmt", ["alpaca", "selfinstruct-seed", "openai-chat"])
def test_export_to_full_disk_leaves_no_partial_file(tmp_path, tiny_tmpfs, fmt):
    ws_path = tmp_path / "ws.sqlite"
    big = tmp_path / "big.jsonl"
    with open(big, "w") as fh:
        for i in range(600):
            fh.write(
                json.dumps(
                    {
                        "instruction": f"Task {i}: repeat this text. " + "x" * 200,
                        "instances": [{"input": "", "output": "y" * 200}],
                    }
                )
                + "\n"
            )
    wb = [sys.executable, "-m", "workbench"]
    subprocess.run(
        [*wb, "import", str(big), "--format", "selfinstruct-seed", "--workspace", str(ws_path)],
        check=True,
        capture_output=True,
    )
    (tiny_tmpfs / "keep.txt").write_text("an earlier file")
    out = tiny_tmpfs / f"export.{fmt}"
    r = subprocess.run(
        [*wb, "export", "--format", fmt, "--out", str(out), "--workspace", str(ws_path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "space" in r.stderr.lower(), r.stderr
    assert sorted(p.name for p in tiny_tmpfs.iterdir()) == ["keep.txt"]  # no partial, no temp
