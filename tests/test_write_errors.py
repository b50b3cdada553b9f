"""Writing a file where it cannot go: a read-only, not-permitted or missing folder is exit 2 with
"choose another place" (never "free some space"); a full disk or quota is exit 1 with the
disk-full advice (core.errors.write_error, shared by export, SELF-CHECK trace export and
--skip-invalid's rejected records). And an import's summary counts in proper singular/plural."""

from __future__ import annotations

import errno
import json
import os

import pytest

from workbench.cli import main
from workbench.core.errors import UserInputError, WorkbenchError, write_error
from workbench.core.formats.importer import ImportResult


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "not writable"),
        (errno.EPERM, "not writable"),
        (errno.ENOTDIR, "not a folder"),
    ],
)
def test_unwritable_folder_says_choose_another_place(tmp_path, code, words):
    out = tmp_path / "out.json"
    err = write_error(OSError(code, os.strerror(code)), out, what="the export", again="export")
    assert isinstance(err, UserInputError) and err.exit_code == 2
    assert str(out) in err.message and str(tmp_path) in err.message and words in err.message
    assert "Free some space" not in str(err) and "Choose another place" in str(err)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_full_disk_says_free_some_space(tmp_path, code):
    err = write_error(OSError(code, os.strerror(code)), tmp_path / "o.json", what="the export")
    assert type(err) is WorkbenchError and err.exit_code == 1
    assert "disk is full" in err.message and "Free some space" in str(err)


def test_other_errors_are_not_mapped(tmp_path):
    assert write_error(OSError(errno.EIO, "I/O error"), tmp_path / "o.json") is None


def test_export_under_a_file_is_exit_2_choose_another_place(tmp_path, capsys):
    ws = str(tmp_path / "ws.sqlite")
    assert main(["init", "--empty", ws]) == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    capsys.readouterr()
    code = main(["export", "-f", "alpaca", "-o", str(blocker / "out.json"), "-w", ws, "--json"])
    err = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 2, err
    assert "is not a folder" in err["error"] and str(blocker) in err["error"]
    assert "Choose another place" in err["hint"] and "Free some space" not in err["hint"]
    assert blocker.read_text() == "x"


def test_import_summary_counts_singular_and_plural():
    one = ImportResult(imported=1, instances=1, rejected=1, skipped_duplicates=1)
    text = one.summary()
    assert "Imported 1 task with 1 example" in text
    assert "1 bad record left out" in text and "1 duplicate skipped" in text
    two = ImportResult(imported=2, instances=3, rejected=2).summary()
    assert "Imported 2 tasks with 3 examples" in two and "2 bad records left out" in two
