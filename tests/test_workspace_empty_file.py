"""A 0-byte file given as a workspace is refused with what it is and what to do, and is never
written to: `Workspace.open` (with or without `create`), the CLI's `-w`, the window's Open, and
the app's start-up workspace. `init` (an explicit create) may still make a workspace in it."""

from __future__ import annotations

import pytest

from workbench.cli import main
from workbench.core.errors import WorkspaceError
from workbench.core.seeds import open_or_init_default
from workbench.core.store.workspace import Workspace


def untouched(path) -> None:
    assert path.read_bytes() == b""
    assert not path.with_name(path.name + "-wal").exists()


def test_open_refuses_an_empty_file_and_leaves_it(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    for opener in (
        lambda: Workspace.open(empty),
        lambda: Workspace.open(empty, create=True),
        lambda: Workspace.open(empty, read_only_ok=True),
        lambda: open_or_init_default(empty),
    ):
        with pytest.raises(WorkspaceError) as err:
            opener()
        assert str(err.value).startswith(
            f"{empty} is empty (0 bytes): not a workspace; open a workspace file or create a "
            "new one"
        )
        untouched(empty)
    with pytest.raises(WorkspaceError, match="no workspace there"):  # a missing file: as before
        Workspace.open(tmp_path / "missing.sqlite")


@pytest.mark.parametrize("argv", [["models", "list"], ["export", "-f", "alpaca", "-o", "x.json"]])
def test_cli_dash_w_an_empty_file(tmp_path, capsys, argv):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    argv = [a if a != "x.json" else str(tmp_path / a) for a in argv]
    code = main([*argv, "-w", str(empty)])
    err = capsys.readouterr().err
    assert code == 2 and "is empty (0 bytes): not a workspace" in err, err
    untouched(empty)
    assert not (tmp_path / "x.json").exists()


def test_init_may_still_make_a_workspace_in_an_empty_file(tmp_path, capsys):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    assert main(["init", str(empty), "--empty"]) == 0
    Workspace.open(empty).close()


def test_window_open_says_the_file_is_empty(empty_window, tmp_path):
    pytest.importorskip("pytestqt")
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    before = empty_window.ws.path
    assert not empty_window.open_workspace(empty)
    assert "is empty (0 bytes): not a workspace" in empty_window.last_error
    assert empty_window.ws.path == before
    untouched(empty)
