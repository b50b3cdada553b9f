"""(8) Paths: an export writes only the path the user chose (never through a symlink, never
into a folder named by data), and workspaces whose folders and names hold spaces and non-ASCII
characters work through the CLI and the window."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.seeds import init_workspace
from workbench.core.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
ODD = "Dätensätze 数据 — run #1"  # spaces, Latin-1, CJK, an em dash and a '#'


def _wb(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
    )


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under root (links not followed) with its bytes, to compare before/after."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.read_bytes() if not p.is_symlink() else b"link"
    return out


@pytest.fixture()
def small_ws(tmp_path):
    ws = init_workspace(tmp_path / "ws.sqlite", empty=True)
    src = tmp_path / "tasks.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                {
                    "instruction": f"Name {n} fruits that grow on trees in a {c} climate.",
                    "instances": [{"input": "", "output": ", ".join(["apple"] * n)}],
                }
            )
            + "\n"
            for n, c in [(2, "cold"), (3, "warm"), (4, "dry")]
        ),
        encoding="utf-8",
    )
    import_file(ws, src, None)
    # Hostile data where a careless exporter might build a path from it.
    with ws.transaction():
        ws.execute(
            "UPDATE tasks SET meta = json_set(meta, '$.tags', json(?)) WHERE id = 1",
            (json.dumps(["../../escape"]),),
        )
    yield ws
    ws.close()


def test_file_export_replaces_a_symlink_and_never_writes_through_it(tmp_path, small_ws):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "precious.json"
    target.write_text("do not overwrite")
    chosen = tmp_path / "exports"
    chosen.mkdir()
    link = chosen / "train.json"
    link.symlink_to(target)
    before = _tree(outside)
    res = export(small_ws, "alpaca", link)
    assert res.count == 3
    assert _tree(outside) == before  # the link's target is untouched
    assert not link.is_symlink() and len(json.loads(link.read_text())) == 3
    assert sorted(p.name for p in chosen.iterdir()) == ["train.json"]  # no temp left


def test_folder_export_never_follows_links_out_of_the_chosen_folder(tmp_path, small_ws):
    outside = tmp_path / "outside"
    (outside / "data").mkdir(parents=True)
    (outside / "data" / "train.jsonl").write_text("someone else's data\n")
    before = _tree(outside)
    # First a real export, then a hostile edit: its data/ now points outside.
    out = tmp_path / "dataset"
    export(small_ws, "hf", out)
    shutil.rmtree(out / "data")
    (out / "data").symlink_to(outside / "data")
    res = export(small_ws, "hf", out)
    assert res.count == 3
    assert _tree(outside) == before
    assert not (out / "data").is_symlink()
    assert len((out / "data" / "train.jsonl").read_text().splitlines()) == 3
    # The chosen path itself a link to a folder elsewhere (here one that even looks like an
    # earlier export): the link is replaced by the new folder, its target never written into.
    link = tmp_path / "linked"
    link.symlink_to(outside, target_is_directory=True)
    export(small_ws, "hf", link)
    assert _tree(outside) == before
    assert not link.is_symlink() and (link / "data" / "train.jsonl").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_data_never_names_a_path(tmp_path, small_ws):
    chosen = tmp_path / "a" / "b"
    chosen.mkdir(parents=True)
    before = {str(p) for p in tmp_path.rglob("*")}
    for fmt, name in [
        ("alpaca", "x.jsonl"),
        ("sharegpt", "x.json"),
        ("openai-chat", "y.jsonl"),
        ("selfinstruct-seed", "z.jsonl"),
        ("hf", "ds"),
    ]:
        export(small_ws, fmt, chosen / name, tag="../../escape")
    after = {str(p) for p in tmp_path.rglob("*")} - before
    assert after and all(Path(p).is_relative_to(chosen) for p in after), sorted(after)
    assert not list(tmp_path.rglob("escape*"))


def test_relative_out_path_with_dotdot_is_where_the_user_pointed(tmp_path, small_ws):
    work = tmp_path / "work" / "sub"
    work.mkdir(parents=True)
    r = _wb(
        "export",
        "--format",
        "alpaca",
        "--out",
        "../out.jsonl",
        "--workspace",
        str(small_ws.path),
        cwd=work,
    )
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "work" / "out.jsonl").read_text().splitlines()) == 3
    assert sorted(p.name for p in work.iterdir()) == []


def test_cli_with_spaces_and_non_ascii_in_every_path(tmp_path, shared_data):
    home = tmp_path / ODD
    home.mkdir()
    ws = home / "wörkspace 工作区.sqlite"
    r = _wb("init", str(ws), "--empty")
    assert r.returncode == 0, r.stderr
    seeds = shared_data / "self_instruct" / "seed_tasks.jsonl"
    src = home / "séeds 种子.jsonl"
    src.write_bytes(seeds.read_bytes())
    r = _wb("import", str(src), "--workspace", str(ws), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["imported"] == 175
    out = home / "export ünd 导出"
    r = _wb(
        "select",
        "--budget",
        "10",
        "--workspace",
        str(ws),
        "--name",
        "klein 小",
        "--out",
        str(out / "subset 子集.jsonl"),
    )
    assert r.returncode != 0 and "does not exist" in r.stderr  # a missing folder is named, not made
    assert str(out) in r.stderr
    out.mkdir()
    r = _wb(
        "select",
        "--budget",
        "10",
        "--workspace",
        str(ws),
        "--name",
        "klein 小",
        "--out",
        str(out / "subset 子集.jsonl"),
    )
    assert r.returncode == 0, r.stderr
    assert len((out / "subset 子集.jsonl").read_text(encoding="utf-8").splitlines()) == 10
    r = _wb(
        "export", "--format", "hf", "--out", str(out / "datensatz 数据集"), "--workspace", str(ws)
    )
    assert r.returncode == 0, r.stderr
    assert len((out / "datensatz 数据集" / "data" / "train.jsonl").read_text().splitlines()) == 175
    # A bad file in such a folder: the message names it exactly.
    bad = home / "kaputt 坏.jsonl"
    bad.write_text('{"instruction": "ok", "instances": []}\n{not json\n', encoding="utf-8")
    r = _wb("import", str(bad), "--workspace", str(ws))
    assert r.returncode == 2 and str(bad) in r.stderr and "line 2" in r.stderr, r.stderr
    w = Workspace.open(ws)
    try:
        assert w.scalar("SELECT count(*) FROM tasks") == 175
        assert w.integrity_check() == "ok"
    finally:
        w.close()


@pytest.mark.gui
def test_window_opens_a_workspace_in_a_non_ascii_folder(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from workbench.gui.main_window import MainWindow

    first = init_workspace(tmp_path / "first.sqlite", empty=True)
    w = MainWindow(first)
    qtbot.addWidget(w)
    try:
        folder = tmp_path / ODD
        folder.mkdir()
        path = folder / "wörkspace 工作区.sqlite"
        init_workspace(path).close()
        assert w.open_workspace(path)
        assert w.ws.path == path
        assert w.windowTitle().endswith(path.name)
        assert w.ws.scalar("SELECT count(*) FROM tasks") == 175
    finally:
        w.shutdown()
