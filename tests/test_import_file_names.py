"""A file name with bytes that are not UTF-8 (Python's str holds them as surrogate escapes,
"\\udcff") no longer crashes the store when an import or export records it: texts are stored
in a valid, reversible spelling (fileio.storable_text) and looked up the same way."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.fileio import storable_text
from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.store.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    w = Workspace.create(tmp_path / "ws.sqlite")
    yield w
    w.close()


@given(st.binary(max_size=12))
def test_storable_text_is_valid_utf8_and_spells_bad_bytes(raw):
    name = os.fsdecode(raw)
    text = storable_text(name)
    text.encode("utf-8")
    assert text == raw.decode("utf-8", "backslashreplace")


def test_import_and_export_with_a_file_name_that_is_not_utf8(ws, tmp_path):
    try:
        src = tmp_path / os.fsdecode(b"x\xffy.jsonl")
        src.write_text('{"instruction": "Good", "input": "", "output": "fine"}\n', "utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes no such name")
    res = import_file(ws, src)
    assert res.imported == 1
    out = tmp_path / os.fsdecode(b"o\xfe.json")
    export(ws, "alpaca", out)
    assert out.exists()
    ws.insert("runs", {"kind": "export", "status": "done", "config": {"path": str(out)}})
    assert ws.query("SELECT count(*) AS n FROM runs WHERE kind = ?", ["export"])[0]["n"] >= 1
