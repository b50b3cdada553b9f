"""Finding 1: a lone UTF-16 surrogate ("\\ud83d" in JSON, half an emoji) is a bad record with
its line and field in every import path (a folder's files, a NI task file, the net behind the
readers), never a traceback from the store."""

from __future__ import annotations

import json

import pytest

from workbench.core.errors import UserInputError
from workbench.core.formats.importer import _sound_tasks, import_file
from workbench.core.formats.validation import InvalidRecords, Problems, collecting
from workbench.core.store.examples import Instance
from workbench.core.store.tasks import Task
from workbench.core.store.workspace import Workspace

GOOD = '{"instruction": "Good one", "output": "fine"}\n'
BAD = '{"instruction": "Emoji \\ud83d broken", "output": "x"}\n'


@pytest.fixture
def ws(tmp_path):
    w = Workspace.create(tmp_path / "ws.sqlite")
    yield w
    w.close()


def test_a_folder_lists_the_file_line_and_field_and_skips_it(ws, tmp_path):
    folder = tmp_path / "fold"
    folder.mkdir()
    (folder / "a.jsonl").write_text(GOOD + BAD, "utf-8")
    (folder / "b.jsonl").write_text('{"instruction": "Other", "output": "ok"}\n', "utf-8")
    with pytest.raises(InvalidRecords) as exc:
        import_file(ws, folder)
    assert "a.jsonl, line 2, field 'instruction'" in str(exc.value)
    assert "lone UTF-16 surrogate \\ud83d at position 6" in str(exc.value)
    res = import_file(ws, folder, skip_invalid=True)
    assert (res.imported, res.rejected) == (2, 1)
    rejected = json.loads((tmp_path / "fold.rejected.jsonl").read_text("utf-8"))
    assert rejected["record"]["instruction"] == "Emoji \ud83d broken"


def test_a_task_file_document_names_the_field(ws, tmp_path):
    f = tmp_path / "task001_x.json"
    f.write_text(
        '{"Definition": ["Say it \\udc00."], "Instances": [{"input": "a", "output": ["b"]}]}',
        "utf-8",
    )
    with pytest.raises(UserInputError) as exc:
        import_file(ws, f, "natural-instructions")
    assert exc.value.field == "Definition[0]"


def test_the_net_behind_the_readers_rejects_the_task_with_its_line(tmp_path):
    ok = Task("Fine.", [Instance(output="o")], meta={"line": 1})
    broken = Task("Also fine.", [Instance(output="half \ud83d")], meta={"line": 4})
    problems = Problems()
    with collecting(problems):
        kept = _sound_tasks([ok, broken], tmp_path / "x.csv")
    assert kept == [ok]
    (p,) = problems.items
    assert (p.line, p.field) == (4, "instances[0].output")
