"""JSON lists: a record's line number is right deep in a big indented list (counted on from
the previous record, not from the start of the file), and a record of a one-line (compact)
list is named by its position ("line 1, record 3") in the message and in --json."""

from __future__ import annotations

import json

from workbench.cli import main
from workbench.core.errors import UserInputError
from workbench.core.formats.common import iter_json_array
from workbench.core.formats.importer import read_file


def _records(n: int) -> list[dict[str, str]]:
    # outputs with newlines inside strings: escaped in the file, so they add no lines
    return [
        {"instruction": f"Task {i}.", "input": "" if i % 2 else "x", "output": f"a\nb {i}"}
        for i in range(n)
    ]


def test_line_numbers_deep_in_an_indented_list(tmp_path):
    records = _records(3000)
    records[2718]["instruction"] = ""  # record 2719
    path = tmp_path / "big.json"
    text = json.dumps(records, indent=2)
    path.write_text(text, encoding="utf-8")
    # each record takes 5 lines (`{`, three fields, `}`) after the opening `[` on line 1
    want = 2 + 5 * 2718
    assert text.split("\n")[want - 1].strip() == "{"
    lines = [line for line, _ in iter_json_array(path)]
    assert lines[:3] == [2, 7, 12] and lines[-1] == 2 + 5 * 2999
    assert lines[2718] == want and lines[2718].record == 2719
    try:
        read_file(path, "alpaca")
    except UserInputError as exc:
        assert (exc.line, exc.record, exc.field) == (want, 2719, "instruction")
        assert f"line {want}, record 2719, field 'instruction'" in str(exc)
    else:
        raise AssertionError("an empty instruction was read")


def test_a_compact_list_names_its_bad_records(tmp_path, capsys):
    records = _records(6)
    records[2]["instruction"] = ""  # record 3
    records[4]["output"] = 7  # record 5
    path = tmp_path / "compact.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    code = main(["import", str(path), "-w", str(tmp_path / "w.sqlite"), "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    obj = json.loads(out)
    assert (obj["line"], obj["record"], obj["field"]) == (1, 3, "instruction")
    got = [(p["line"], p["record"], p["field"]) for p in obj["problems"]]
    assert got == [(1, 3, "instruction"), (1, 5, "output")]
    # --json: one line on stderr (the first bad record), the details on stdout
    assert err.count("\n") == 1 and "line 1, record 3, field 'instruction'" in err
    assert main(["import", str(path), "-w", str(tmp_path / "w.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "line 1, record 3, field 'instruction'" in err
    assert "line 1, record 5, field 'output'" in err


def test_a_syntax_error_in_a_compact_list_names_the_record(tmp_path):
    path = tmp_path / "broken.json"
    good = json.dumps(_records(3))[1:-1]
    path.write_text(f'[{good}, {{"instruction": "x" "output": "y"}}]', encoding="utf-8")
    try:
        read_file(path, "alpaca")
    except UserInputError as exc:
        assert (exc.line, exc.record) == (1, 4)
        assert "line 1, record 4: not valid JSON" in str(exc)
    else:
        raise AssertionError("a broken record was read")
