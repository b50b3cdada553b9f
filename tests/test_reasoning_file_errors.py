"""Reasoning files (GSM8K JSONL, ProcessBench JSON) cut off at the end say so, as `import` does
(`errors.json_syntax_error`), in the CoT reader, the SELF-CHECK reader and `import`'s format
detection; GSM8K questions given to `self-check --traces --format traces` point to --questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.cli import main
from workbench.core.cot import sources
from workbench.core.errors import CUT_OFF, UserInputError
from workbench.core.formats import registry
from workbench.core.selfcheck import importers

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reasoning"
GSM8K = DATA / "gsm8k_test_first200.jsonl"
PROCESSBENCH = DATA / "processbench_gsm8k_public200.json"

pytestmark = pytest.mark.skipif(not GSM8K.is_file(), reason="the shared reasoning data is absent")


def _cut(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / src.name
    out.write_bytes(src.read_bytes()[:-40])  # as `truncate -s -40`
    return out


def test_cut_off_gsm8k_jsonl_says_the_file_ends_early(tmp_path):
    cut = _cut(GSM8K, tmp_path)
    for read in (sources.load_file, importers.parse_records):
        with pytest.raises(UserInputError) as err:
            read(cut)
        assert err.value.line == 200 and CUT_OFF in str(err.value)
        assert "Unterminated string starting at column " in str(err.value)


def test_cut_off_processbench_json_says_the_file_ends_early(tmp_path):
    cut = _cut(PROCESSBENCH, tmp_path)
    last = len(cut.read_text(encoding="utf-8").rstrip().splitlines())
    for read in (importers.parse_records, registry.detect_format):
        with pytest.raises(UserInputError) as err:
            read(cut)
        assert CUT_OFF in str(err.value) and err.value.line == last
    # The whole file is still told apart as reasoning traces, not called cut off.
    with pytest.raises(UserInputError) as err:
        registry.detect_format(PROCESSBENCH)
    assert CUT_OFF not in str(err.value)


def test_cli_cut_off_reasoning_files(tmp_path, capsys):
    w = str(tmp_path / "w.sqlite")
    gsm, pb = _cut(GSM8K, tmp_path), _cut(PROCESSBENCH, tmp_path)
    for args in (
        ["self-check", "--questions", str(gsm)],
        ["self-check", "--traces", str(pb)],
        ["cot", "--data", str(gsm)],
        ["import", str(pb)],
    ):
        assert main([*args, "-w", w]) == 2
        assert "the file ends early (cut off?)" in capsys.readouterr().err, args


def test_gsm8k_questions_as_traces_point_to_questions(tmp_path, capsys):
    w = str(tmp_path / "w.sqlite")
    assert main(["self-check", "--traces", str(GSM8K), "--format", "traces", "-w", w]) == 2
    err = capsys.readouterr().err
    assert "field 'steps': missing" in err
    assert f"workbench self-check --questions {GSM8K} --samples N" in err
