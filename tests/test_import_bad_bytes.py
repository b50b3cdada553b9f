"""A line of a line-based file (JSON Lines, CSV, TSV) that is not valid UTF-8 is one bad
record with its line: --skip-invalid imports the other lines (in a single file and in a
folder), the rejected file keeps the line with its bad bytes spelled \\xNN; without it the
error lists the line and nothing is imported."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.formats.importer import import_file
from workbench.core.formats.validation import InvalidRecords
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace

FILES = {
    "a.jsonl": (
        b'{"instruction": "Good", "input": "", "output": "fine"}\n',
        b'{"instruction": "Bad %s x", "input": "", "output": "y"}\n',
    ),
    "a.csv": (b"question,answer\nGood,fine\n", b"Bad %s x,y\n"),
    "a.tsv": (b"question\tanswer\nGood\tfine\n", b"Bad %s x\ty\n"),
}
# bytes no UTF-8 text holds: a lone continuation byte, a surrogate's encoding, 0xff, a cut
# multi-byte sequence
BAD = st.sampled_from([b"\x80", b"\xed\xa0\xbd", b"\xff", b"\xc3", b"\xe2\x82"])


@pytest.fixture
def ws(tmp_path):
    w = Workspace.create(tmp_path / "ws.sqlite")
    yield w
    w.close()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(sorted(FILES)), bad=BAD)
def test_a_line_with_bad_bytes_is_one_skippable_bad_record(tmp_path_factory, name, bad):
    tmp = tmp_path_factory.mktemp("b")
    good, bad_line = FILES[name]
    f = tmp / name
    f.write_bytes(good + bad_line % bad)
    line = good.count(b"\n") + 1
    w = Workspace.create(tmp / "ws.sqlite")
    try:
        with pytest.raises(InvalidRecords) as exc:
            import_file(w, f)
        (p,) = exc.value.problems.items
        assert p.line == line and "not valid UTF-8" in p.message
        res = import_file(w, f, skip_invalid=True)
        assert (res.imported, res.rejected) == (1, 1)
    finally:
        w.close()
    rejected = json.loads((tmp / "a.rejected.jsonl").read_text("utf-8"))
    assert rejected["line"] == line
    assert rejected["record"] == (bad_line % bad).rstrip(b"\n").decode("utf-8", "backslashreplace")


def test_a_folder_keeps_the_good_lines_of_a_file_with_bad_bytes(ws, tmp_path):
    folder = tmp_path / "fold"
    folder.mkdir()
    (folder / "a.csv").write_bytes(b"question,answer\nGood,fine\nBad \xff x,y\n")
    (folder / "b.csv").write_bytes(b"question,answer\nOther,ok\n")
    res = import_file(ws, folder, skip_invalid=True)
    assert (res.imported, res.rejected) == (2, 1)


def test_a_quoted_csv_cell_spanning_a_bad_line_leaves_out_its_row_only(ws, tmp_path):
    f = tmp_path / "m.csv"
    f.write_bytes(b'question,answer\n"Good\nBad \xff",fine\nOk,yes\n')
    res = import_file(ws, f, skip_invalid=True)
    assert (res.imported, res.rejected) == (1, 1)
    (task,) = iter_tasks(ws)
    assert (task.instruction, task.instances[0].output) == ("Ok", "yes")
