"""Issue 18: a folder that is not one dataset imports as a collection: each file detected on
its own (recursively; README/SOURCES and non-data files skipped with a note), a summary per
file, all or nothing across the folder (every bad record of every file listed, each with its
file), `--skip-invalid` as for one file, and a file whose format cannot be detected named with
the `--format` to give.

The shared folders are checked against the same files imported one at a time, in the same
order, into another workspace: the counts come from the files, not from numbers written here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workbench.cli import main
from workbench.core.errors import UserInputError
from workbench.core.formats import collection, registry
from workbench.core.formats.importer import import_file, preview_file
from workbench.core.formats.validation import InvalidRecords
from workbench.core.store import examples as store_examples
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace


def state(ws: Workspace) -> list[Any]:
    return [
        (
            t.instruction,
            t.source,
            t.origin,
            [store_examples.example_key(i) for i in t.instances],
        )
        for t in iter_tasks(ws)
    ]


@pytest.mark.parametrize("rel", ["datasets", "datasets/llama-factory", "datasets/flan"])
def test_shared_folder_imports_as_its_files_one_at_a_time(shared_data, tmp_path, rel):
    folder = shared_data / rel
    assert registry.detect_format(folder) == collection.FORMAT
    entries = collection.plan(folder)
    data = [e for e in entries if e.note is None]
    assert data and all(e.format and e.error is None for e in data)
    whole = Workspace.create(tmp_path / "whole.sqlite")
    res = import_file(whole, folder)
    one_by_one = Workspace.create(tmp_path / "files.sqlite")
    singles = [import_file(one_by_one, e.path, e.format) for e in data]
    assert state(whole) == state(one_by_one)
    assert [(f["path"], f["format"]) for f in res.files] == [
        (e.path.relative_to(folder).as_posix(), e.format) for e in data
    ]
    for row, single in zip(res.files, singles, strict=True):
        assert (row["read"], row["imported"], row["instances"], row["merged"]) == (
            single.read,
            single.imported,
            single.instances,
            single.merged,
        )
    assert res.imported == sum(s.imported for s in singles)
    assert res.instances == sum(s.instances for s in singles)
    assert res.instances == whole.scalar("SELECT count(*) FROM instances")
    n = len(data)
    assert f"From {n} {'file' if n == 1 else 'files'}:" in res.summary()
    whole.close()
    one_by_one.close()


def write(path: Path, records: list[Any], jsonl: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if jsonl:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        path.write_text(json.dumps(records), encoding="utf-8")
    return path


def mixed(root: Path) -> Path:
    folder = root / "mine"
    write(folder / "a.json", [{"instruction": "Add 1 and 1.", "input": "", "output": "2"}])
    write(
        folder / "chats" / "b.jsonl",
        [
            {
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Yo"},
                ]
            },
            {"messages": [{"role": "user", "content": "Bye"}]},  # no answer: bad
        ],
        jsonl=True,
    )
    (folder / "README.md").write_text("# My files\n", encoding="utf-8")
    (folder / "notes.py").write_text("print()\n", encoding="utf-8")
    (folder / "odd.json").write_text(json.dumps([{"Title": "x"}]), encoding="utf-8")
    return folder


def test_bad_records_of_every_file_all_at_once_and_nothing_written(tmp_path):
    folder = mixed(tmp_path)
    ws = Workspace.create(tmp_path / "w.sqlite")
    with pytest.raises(InvalidRecords) as err:
        import_file(ws, folder)
    text = str(err.value)
    assert err.value.total == 2 and err.value.path == str(folder)
    assert "chats/b.jsonl, line 2" in text and "odd.json, line 1" in text
    assert "--format" in text  # the undetectable file says what to give
    assert ws.scalar("SELECT count(*) FROM tasks") == 0
    assert not (tmp_path / "mine.rejected.jsonl").exists()
    ws.close()


def test_skip_invalid_imports_the_rest_and_writes_the_rejected_with_their_file(tmp_path):
    folder = mixed(tmp_path)
    ws = Workspace.create(tmp_path / "w.sqlite")
    before = preview_file(ws, folder, skip_invalid=True)
    assert ws.scalar("SELECT count(*) FROM tasks") == 0  # a preview writes nothing
    res = import_file(ws, folder, skip_invalid=True)
    assert (before.imported, before.instances) == (res.imported, res.instances) == (2, 2)
    assert res.rejected == 2 and res.rejected_path == str(tmp_path / "mine.rejected.jsonl")
    rejected = [json.loads(x) for x in Path(res.rejected_path).read_text().splitlines()]
    assert [(Path(r["path"]).name, r["line"]) for r in rejected] == [
        ("b.jsonl", 2),
        ("odd.json", 1),
    ]
    by_path = {f["path"]: f for f in res.files}
    assert by_path["a.json"]["format"] == "alpaca"
    assert by_path["chats/b.jsonl"]["rejected"] == 1
    assert "could not be recognised" in by_path["odd.json"]["error"]
    assert {s["path"] for s in res.skipped} == {"README.md", "notes.py"}
    summary = res.summary()
    assert "skipped README.md" in summary and "odd.json (format not recognised)" in summary
    ws.close()


def test_format_named_for_a_folder_reads_every_file_so(tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    for n in (1, 2):
        (folder / f"part{n}.tsv").write_text(f"Q{n}\tA{n}\tbecause {n}\n", encoding="utf-8")
    ws = Workspace.create(tmp_path / "w.sqlite")
    res = import_file(ws, folder, "tabular")
    assert [f["format"] for f in res.files] == ["tabular", "tabular"] and res.imported == 2
    with pytest.raises(UserInputError, match="no reader of this folder's files has the option"):
        import_file(ws, folder, options={"split": "train"})
    ws.close()


def test_hub_layouts_stay_datasets_and_an_empty_folder_says_so(tmp_path):
    hub = tmp_path / "hub"
    write(hub / "data" / "train.jsonl", [{"prompt": "a", "chosen": "b", "rejected": "c"}], True)
    assert registry.detect_format(hub) == "hf-hub"
    splits = tmp_path / "shp"
    for split in ("train", "test"):
        write(splits / "d" / f"{split}.json", [{"instruction": "a", "output": "b"}], jsonl=True)
    assert registry.detect_format(splits) == "hf-hub"
    lone = tmp_path / "lone"
    (lone / "gsm8k_train.tsv").parent.mkdir()
    (lone / "gsm8k_train.tsv").write_text("Q\tA\tR\n", encoding="utf-8")
    assert registry.detect_format(lone) == collection.FORMAT  # one split named: a file
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("# nothing\n", encoding="utf-8")
    ws = Workspace.create(tmp_path / "w.sqlite")
    with pytest.raises(UserInputError, match=r"no data files in this folder \(skipped: README.md"):
        import_file(ws, empty)
    ws.close()


def test_cli_json_lists_files_and_skipped(tmp_path, capsys):
    folder = mixed(tmp_path)
    (folder / "odd.json").unlink()
    code = main(
        ["import", str(folder), "-w", str(tmp_path / "w.sqlite"), "--skip-invalid", "--json"]
    )
    res = json.loads(capsys.readouterr()[0])
    assert code == 0 and res["format"] == "collection" and res["rejected"] == 1
    assert [f["path"] for f in res["files"]] == ["a.json", "chats/b.jsonl"]
    assert [s["path"] for s in res["skipped"]] == ["README.md", "notes.py"]
