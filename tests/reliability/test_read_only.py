"""A workspace on a read-only file or folder is never called damaged: a command that writes is
refused naming what is read-only (exit 2), one that only reads (export, models list) works; a
workspace that cannot be created says why (no traceback); a cut-off JSON file says so.

The read-only folder is a real read-only bind mount where this process may mount (root with
CAP_SYS_ADMIN, as in CI containers that allow it), else a folder chmod 555 where that binds
(not root); otherwise that variant is skipped. SQLite's error classification and the read-only
open (`mode=ro`) run everywhere."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from workbench.core.errors import UserInputError, WorkbenchError, WorkspaceError
from workbench.core.formats.common import iter_json_array, iter_jsonl
from workbench.core.seeds import init_workspace
from workbench.core.store.workspace import Workspace, storage_error, unwritable_reason


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], capture_output=True, text=True
    )


@contextmanager
def _read_only(folder: Path):
    """`folder` made read-only for this process: a read-only bind mount (root) or chmod 555."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if not shutil.which("mount"):
        pytest.skip("root without mount: the read-only folder variant is untested here")
    mnt = folder.parent / (folder.name + "-ro")
    mnt.mkdir()
    for cmd in (
        ["mount", "--bind", str(folder), str(mnt)],
        ["mount", "-o", "remount,ro,bind", str(mnt)],
    ):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["umount", str(mnt)], check=False, capture_output=True)
            pytest.skip(f"cannot make a read-only mount here ({r.stderr.strip()})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture()
def ro_workspace(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    init_workspace(src / "w.sqlite").close()
    with _read_only(src) as ro:
        yield ro / "w.sqlite"


def test_writing_command_names_the_read_only_folder(ro_workspace):
    r = _cli("select", "--budget", "3", "-w", str(ro_workspace))
    assert r.returncode == 2, r.stderr
    assert "damaged" not in r.stderr and "Traceback" not in r.stderr
    assert f"{ro_workspace}: the workspace cannot be written here: its folder" in r.stderr
    assert "Copy the workspace" in r.stderr


def test_reading_commands_work_on_a_read_only_workspace(ro_workspace, tmp_path):
    out = tmp_path / "out.jsonl"
    r = _cli("export", "-f", "alpaca", "-o", str(out), "--json", "-w", str(ro_workspace))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["count"] > 0 and out.exists()
    r = _cli("models", "list", "--json", "-w", str(ro_workspace))
    assert r.returncode == 0, r.stderr
    ws = Workspace.open(ro_workspace, read_only_ok=True)
    assert ws.readonly and ws.scalar("SELECT count(*) FROM tasks") > 0
    with pytest.raises(WorkspaceError, match="cannot be written here"):
        ws.set_setting("x", 1)
    ws.close()


def test_init_in_a_read_only_folder_is_one_line(ro_workspace):
    new = ro_workspace.parent / "new.sqlite"
    r = _cli("init", str(new))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(f"error: {new}: cannot create a workspace here: its folder")
    assert not new.exists()


def test_init_under_a_file_names_it(tmp_path):
    """Works as root too: a path whose 'folder' is a file cannot be created by anyone."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    r = _cli("init", str(blocker / "new.sqlite"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert f"error: {blocker / 'new.sqlite'}: cannot create a workspace here" in r.stderr


def test_sqlite_errors_are_classified_not_called_damaged(tmp_path):
    ws = Workspace.create(tmp_path / "w.sqlite")
    ws.close()
    # A real "attempt to write a readonly database" from a read-only (mode=ro) connection.
    ro = sqlite3.connect(f"{(tmp_path / 'w.sqlite').as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as err:
        ro.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
    ro.close()
    readonly = storage_error(err.value, tmp_path / "w.sqlite")
    assert isinstance(readonly, WorkspaceError) and "cannot be written here" in str(readonly)
    # A real "unable to open database file": the folder is a file.
    with pytest.raises(sqlite3.OperationalError) as err:
        sqlite3.connect(str(tmp_path / "w.sqlite" / "x.sqlite"))
    cannot = storage_error(err.value, tmp_path / "w.sqlite" / "x.sqlite")
    assert cannot is not None and "is a file, not a folder" in str(cannot)
    assert unwritable_reason(tmp_path / "nowhere" / "x.sqlite").endswith("does not exist")
    full = storage_error(sqlite3.OperationalError("database or disk is full"), tmp_path / "w")
    assert full is not None and "disk is full" in str(full) and full.exit_code == 1
    assert storage_error(sqlite3.OperationalError("no such table: x"), tmp_path / "w") is None


def test_ctrl_c_is_not_printed_as_an_error(capsys):
    from argparse import Namespace

    from workbench.cli.common import STOPPED_RESUMABLE, print_error
    from workbench.core.errors import Cancelled

    print_error(Namespace(json=False), Cancelled(STOPPED_RESUMABLE))
    err = capsys.readouterr().err
    assert err.startswith("stopped by you;") and "error" not in err
    print_error(Namespace(json=False), WorkbenchError("boom"))
    assert capsys.readouterr().err.startswith("error: boom")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[\n  {"a": 1},\n  {"a": 2},\n', 3),  # cut after a comma
        ('[\n  {"a": 1},\n  {"a": "tw', 3),  # cut in a string
        ('[\n  {"a": 1},\n  {"a": 2}', 3),  # cut after a whole record
    ],
)
def test_cut_off_json_says_the_file_ends_early(tmp_path, text, line):
    f = tmp_path / "cut.json"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        list(iter_json_array(f))
    assert err.value.line == line and "the file ends early (cut off?)" in str(err.value)


def test_a_bad_value_mid_file_is_not_called_cut_off(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('[\n  {"a": x},\n  {"a": 2}\n]\n', encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        list(iter_json_array(f))
    assert err.value.line == 2 and "ends early" not in str(err.value)
    g = tmp_path / "cut.jsonl"
    g.write_text('{"a": x}\n{"a": 1}\n{"a": "tw', encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        list(iter_jsonl(g))
    assert err.value.line == 1 and "ends early" not in str(err.value)
    g.write_text('{"a": 1}\n{"a": "tw\n\n', encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        list(iter_jsonl(g))
    assert err.value.line == 2 and "the file ends early" in str(err.value)
