"""The workspace store: create, open, migrate, refuse bad files untouched, transactions."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from workbench.core.errors import WorkspaceError
from workbench.core.store import migrations
from workbench.core.store.tasks import Instance, Task, add_task, count_tasks, get_task
from workbench.core.store.workspace import APPLICATION_ID, Workspace


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_new_workspace_is_wal_with_foreign_keys_and_latest_schema(tmp_path):
    ws = Workspace.create(tmp_path / "a.sqlite")
    assert ws.version == migrations.latest_version()
    assert ws.scalar("PRAGMA journal_mode") == "wal"
    assert ws.scalar("PRAGMA foreign_keys") == 1
    assert ws.scalar("PRAGMA application_id") == APPLICATION_ID
    for table in ("tasks", "instances", "runs", "model_calls", "candidates", "exports"):
        assert table in ws.table_names()
    ws.close()


@pytest.mark.parametrize("start", range(0, migrations.latest_version()))
def test_migrates_from_every_earlier_version(tmp_path, start):
    p = tmp_path / "old.sqlite"
    ws = Workspace.create(p)
    ws.close()
    # Rebuild the file at version `start` by applying only the first `start` migrations.
    p.unlink()
    conn = sqlite3.connect(p, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for v in range(start):
        for step in migrations.MIGRATIONS[v]:
            step(conn) if callable(step) else conn.execute(step)
        conn.execute(f"PRAGMA user_version = {v + 1}")
    conn.close()
    ws = Workspace.open(p)
    assert ws.version == migrations.latest_version()
    assert ws.integrity_check() == "ok"
    ws.close()


def test_open_missing_path_says_how_to_create(tmp_path):
    with pytest.raises(WorkspaceError, match="workbench init"):
        Workspace.open(tmp_path / "nope.sqlite")


def test_text_file_is_refused_and_left_untouched(tmp_path):
    p = tmp_path / "notes.sqlite"
    p.write_text("hello, not a database\n" * 10)
    before = digest(p)
    with pytest.raises(WorkspaceError, match="not an SQLite database"):
        Workspace.open(p)
    assert digest(p) == before


def test_foreign_sqlite_database_is_refused_untouched(tmp_path):
    p = tmp_path / "other.db"
    conn = sqlite3.connect(p)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = digest(p)
    with pytest.raises(WorkspaceError, match="not an Instruction Workbench workspace"):
        Workspace.open(p)
    assert digest(p) == before
    assert not Path(str(p) + "-wal").exists()


def test_newer_schema_is_refused_untouched(tmp_path):
    p = tmp_path / "new.sqlite"
    Workspace.create(p).close()
    conn = sqlite3.connect(p)
    conn.execute(f"PRAGMA user_version = {migrations.latest_version() + 1}")
    conn.commit()
    conn.close()
    before = digest(p)
    with pytest.raises(WorkspaceError, match="newer"):
        Workspace.open(p)
    assert digest(p) == before


def test_truncated_workspace_is_refused_untouched(tmp_path):
    p = tmp_path / "big.sqlite"
    ws = Workspace.create(p)
    for i in range(400):
        add_task(
            ws,
            Task(
                f"Task number {i} with some padding text " * 5,
                [Instance("in", "out")],
                source="seed",
            ),
        )
    ws.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ws.close()
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    before = digest(p)
    with pytest.raises(WorkspaceError, match="damaged"):
        Workspace.open(p)
    assert digest(p) == before


def test_create_refuses_existing_file(tmp_path):
    p = tmp_path / "x.sqlite"
    p.write_text("keep me")
    with pytest.raises(WorkspaceError):
        Workspace.create(p)
    assert p.read_text() == "keep me"


def test_transaction_is_all_or_nothing(tmp_workspace):
    ws = tmp_workspace
    with pytest.raises(RuntimeError), ws.transaction():
        add_task(ws, Task("Kept only if the block finishes.", source="seed"))
        raise RuntimeError("boom")
    assert count_tasks(ws) == 0
    with ws.transaction():
        tid = add_task(
            ws, Task("Saved.", [Instance("a", "b"), Instance("", "c")], True, source="seed")
        )
    task = get_task(ws, tid)
    assert task.instruction == "Saved."
    assert [i.output for i in task.instances] == ["b", "c"]
    assert task.is_classification is True


def test_nested_transaction_rolls_back_only_inner(tmp_workspace):
    ws = tmp_workspace
    with ws.transaction():
        add_task(ws, Task("outer", source="seed"))
        with pytest.raises(ValueError), ws.transaction():
            add_task(ws, Task("inner", source="seed"))
            raise ValueError
    assert [r["instruction"] for r in ws.query("SELECT instruction FROM tasks")] == ["outer"]


def test_deleting_task_cascades_to_instances(tmp_workspace):
    ws = tmp_workspace
    tid = add_task(ws, Task("t", [Instance("a", "b")], source="seed"))
    with ws.transaction():
        ws.execute("DELETE FROM tasks WHERE id = ?", (tid,))
    assert ws.scalar("SELECT count(*) FROM instances") == 0


def test_disk_full_gives_clear_message_and_keeps_saved_data(tmp_path):
    from workbench.core.errors import WorkbenchError

    ws = Workspace.create(tmp_path / "full.sqlite")
    add_task(ws, Task("saved before the disk filled", source="seed"))
    pages = ws.scalar("PRAGMA page_count")
    ws.execute(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(WorkbenchError, match="disk is full"), ws.transaction():
        for i in range(2000):
            add_task(ws, Task("filler " * 50 + str(i), source="seed"))
    assert count_tasks(ws) == 1
    assert ws.integrity_check() == "ok"
    ws.close()
