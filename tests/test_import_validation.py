"""Bad records all at once (issue 18 item 4), --skip-invalid with the rejected file, the
--json error object of every command, duplicates judged per example, and Hypothesis tests of
the transcript parsers (OIG, Baize, HH-RLHF) with odd spacing."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import main
from workbench.cli.common import JSON_POINTER
from workbench.core.formats import preference_text, transcripts
from workbench.core.formats.importer import import_file, preview_file
from workbench.core.formats.validation import CAP, InvalidRecords
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _alpaca_lines(n_good: int, bad_every: int) -> tuple[list[str], list[int]]:
    lines, bad = [], []
    for i in range(n_good):
        if bad_every and i % bad_every == 0:
            lines.append(json.dumps({"instruction": "", "output": f"o{i}"}))
            bad.append(len(lines))
        lines.append(
            json.dumps({"instruction": f"Task number {i}.", "input": "", "output": f"o{i}"})
        )
    return lines, bad


def test_every_bad_record_reported_then_skip_invalid(tmp_path, capsys):
    lines, bad = _alpaca_lines(10, 3)
    lines.insert(5, "{not json")
    bad = sorted([b + (b > 5) for b in bad] + [6])
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws_path = tmp_path / "w.sqlite"
    code, out, err = run_cli(capsys, "import", str(path), "-w", str(ws_path), "--json")
    assert code == 2
    obj = json.loads(out)
    assert obj["problems_total"] == len(bad)
    assert [p["line"] for p in obj["problems"]] == bad
    assert obj["line"] == bad[0] and obj["path"] == str(path) and "field" in obj
    # --json: the details are in the object; stderr holds one line that points to it
    assert "--skip-invalid" in obj["hint"]
    assert err.count("\n") == 1 and "records cannot be imported" in err and "stdout" in err
    code, out, err = run_cli(capsys, "import", str(path), "-w", str(ws_path))
    assert code == 2 and out == ""  # without --json the whole message is on stderr
    assert all(f"line {n}" in err for n in bad) and "--skip-invalid" in err
    with Workspace.open(ws_path) as ws:
        assert ws.scalar("SELECT count(*) FROM tasks") == 0  # all or nothing
    code, out, err = run_cli(
        capsys, "import", str(path), "-w", str(ws_path), "--json", "--skip-invalid"
    )
    assert code == 0, err
    res = json.loads(out)
    assert (res["imported"], res["rejected"]) == (10, len(bad))
    rejected = tmp_path / "data.rejected.jsonl"
    assert res["rejected_path"] == str(rejected)
    rows = [json.loads(x) for x in rejected.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rows] == bad
    assert rows[0]["field"] == "instruction" and rows[0]["error"] == "the field is empty"
    assert rows[0]["record"] == json.loads(lines[bad[0] - 1])
    assert any(r["record"] == "{not json" for r in rows)


def test_cap_lists_fifty_and_gives_the_total(tmp_path):
    lines, bad = _alpaca_lines(120, 2)
    path = tmp_path / "many.json"
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    ws = Workspace.create(tmp_path / "w.sqlite")
    with pytest.raises(InvalidRecords) as err:
        import_file(ws, path)
    assert err.value.total == len(bad) > CAP
    assert len(err.value.to_dict()["problems"]) == CAP
    assert f"and {len(bad) - CAP} more" in str(err.value)
    pre = preview_file(ws, path, skip_invalid=True)
    assert (pre.imported, pre.rejected, pre.rejected_path) == (120, len(bad), None)
    assert not (tmp_path / "many.rejected.jsonl").exists()  # a preview writes nothing
    out = tmp_path / "elsewhere.jsonl"
    res = import_file(ws, path, skip_invalid=True, rejected_out=out)
    assert res.rejected == len(bad) and len(out.read_text().splitlines()) == len(bad)
    ws.close()


def test_one_empty_instruction_has_a_way_through(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(
        "[\n"
        + ",\n".join(
            json.dumps(r)
            for r in [
                {"instruction": "Fine.", "output": "ok"},
                {"instruction": " ", "output": "blocked?"},
            ]
        )
        + "\n]\n"
    )
    ws = Workspace.create(tmp_path / "w.sqlite")
    with pytest.raises(InvalidRecords, match="1 record cannot be imported") as err:
        import_file(ws, path)
    assert (err.value.line, err.value.field) == (3, "instruction")
    assert import_file(ws, path, skip_invalid=True).imported == 1
    ws.close()


def test_json_error_object_for_other_commands_and_usage(tmp_path, capsys):
    code, out, _ = run_cli(
        capsys,
        "export",
        "--format",
        "alpaca",
        "--out",
        str(tmp_path / "x"),
        "-w",
        str(tmp_path / "none.sqlite"),
        "--json",
    )
    obj = json.loads(out)  # a workspace that is not there: still one object
    assert code != 0 and {"error", "path", "line", "field"} <= set(obj)
    Workspace.create(tmp_path / "w.sqlite").close()
    code, out, err = run_cli(
        capsys,
        "export",
        "--format",
        "nope",
        "--out",
        str(tmp_path / "x"),
        "-w",
        str(tmp_path / "w.sqlite"),
        "--json",
    )
    obj = json.loads(out)
    assert code == 2 and obj["field"] == "format" and {"error", "path", "line"} <= set(obj)
    # every command, through print_error: the message is not printed twice, stderr has one
    # line that says what and points to the object (scripts read stdout, logs keep stderr)
    assert err.count("\n") == 1 and err.startswith("error: ") and "nope" in err
    assert err.endswith(JSON_POINTER + "\n") and obj["hint"] not in err
    with pytest.raises(SystemExit) as exit_:
        main(["import", "x.jsonl", "--json", "--no-such-option"])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert "unrecognized arguments" in json.loads(out)["error"]
    assert err.count("\n") == 1 and "unrecognized arguments" in err and "usage:" not in err
    with pytest.raises(SystemExit):
        main(["import", "--json"])
    out, _ = capsys.readouterr()
    assert "required: PATH" in json.loads(out)["error"]
    code, out, _ = run_cli(
        capsys,
        "import",
        str(tmp_path / "missing.jsonl"),
        "-w",
        str(tmp_path / "w.sqlite"),
        "--json",
    )
    assert code == 2 and json.loads(out)["path"].endswith("missing.jsonl")
    code, out, err = run_cli(
        capsys, "import", str(tmp_path / "missing.jsonl"), "-w", str(tmp_path / "w.sqlite")
    )
    assert code == 2 and out == "" and "missing.jsonl" in err  # without --json: stderr only


def test_duplicates_are_identical_examples_not_same_instructions(shared_data, tmp_path):
    src = shared_data / "datasets" / "hh-rlhf" / "harmless-base_test.jsonl"
    if not src.is_file():
        pytest.skip(f"{src} is missing")
    lines = [x for x in src.read_text(encoding="utf-8").splitlines() if x.strip()]
    half = len(lines) // 2
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
    b.write_text("\n".join(lines[half:]) + "\n", encoding="utf-8")
    halves = Workspace.create(tmp_path / "halves.sqlite")
    import_file(halves, a)
    import_file(halves, b)
    again = import_file(halves, src)  # everything is there already
    assert (again.imported, again.instances, again.duplicate_examples) == (0, 0, len(lines))
    whole = Workspace.create(tmp_path / "whole.sqlite")
    import_file(whole, src)

    def content(ws):
        return sorted(
            (t.instruction, i.output, i.rejected, json.dumps(i.history))
            for t in iter_tasks(ws)
            for i in t.instances
        )

    assert content(halves) == content(whole) and len(content(whole)) == len(lines)
    halves.close()
    whole.close()


# ------------------------------------------------------------------------- Hypothesis
settings.register_profile(
    "transcripts",
    max_examples=int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TRANSCRIPTS = settings.get_profile("transcripts")

_MARKER_BITS = (
    "<human>",
    "<bot>",
    "[|",
    "|]",
    "Human:",
    "Assistant:",
    "User:",
    "Joi:",
    "<|endoftext|>",
)
_text = (
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(lambda t: t and not any(m in t for m in _MARKER_BITS))
)
_space = st.sampled_from(["", " ", "  ", "\t", "\n", " \n ", "\r\n"])
_conv = st.lists(st.tuples(_text, _text), min_size=1, max_size=4)


def _expected(pairs):
    history = []
    for user, bot in pairs[:-1]:
        history += [{"role": "user", "content": user}, {"role": "assistant", "content": bot}]
    return pairs[-1][0], pairs[-1][1], history


@TRANSCRIPTS
@given(pairs=_conv, gaps=st.lists(_space, min_size=16, max_size=16))
def test_oig_transcripts_parse_whatever_the_spacing(tmp_path_factory, pairs, gaps):
    text = ""
    for k, (user, bot) in enumerate(pairs):
        g = gaps[(2 * k) % 16], gaps[(2 * k + 1) % 16]
        text += f"{g[0]}<human>:{g[1]}{user}{g[0]}\n<bot>:{g[1]}{bot}\n"
    pre, turns = transcripts.split_turns(text, transcripts.OIG_MARKERS)
    instruction, inst = transcripts.to_example(
        pre, turns, tmp_path_factory.getbasetemp(), 1, "text"
    )
    assert (instruction, inst.output, inst.history) == _expected(pairs)
    assert inst.system is None


@TRANSCRIPTS
@given(pairs=_conv, preamble=st.one_of(st.just(""), _text), gap=_space, trailing=st.booleans())
def test_baize_transcripts_parse_whatever_the_spacing(
    tmp_path_factory, pairs, preamble, gap, trailing
):
    text = preamble + "".join(f"{gap}[|Human|]{gap}{u}{gap}[|AI|] {b}" for u, b in pairs)
    if trailing:
        text += "\n[|Human|] "
    pre, turns = transcripts.split_turns(text, transcripts.BAIZE_MARKERS)
    instruction, inst = transcripts.to_example(
        pre, turns, tmp_path_factory.getbasetemp(), 1, "input"
    )
    assert (instruction, inst.output, inst.history) == _expected(pairs)
    assert inst.system == (preamble or None)
    assert inst.meta.get("_empty_last_turn") == ("user" if trailing else None)


@TRANSCRIPTS
@given(pairs=_conv, rejected=_text, gap=st.sampled_from(["", " ", "  "]))
def test_hh_pairs_parse_whatever_the_spacing(tmp_path_factory, pairs, rejected, gap):
    def transcript(last):
        body = "".join(f"\n\nHuman:{gap}{u}\n\nAssistant:{gap}{b}" for u, b in pairs[:-1])
        return body + f"\n\nHuman:{gap}{pairs[-1][0]}\n\nAssistant:{gap}{last}"

    ex = preference_text._hh_record(
        {"chosen": transcript(pairs[-1][1]), "rejected": transcript(rejected)},
        tmp_path_factory.getbasetemp(),
        1,
    )
    instruction, output, history = _expected(pairs)
    assert (ex.instruction, ex.instance.output, ex.instance.history) == (
        instruction,
        output,
        history,
    )
    assert ex.instance.rejected == rejected and ex.instance.kind == "preference"
    assert "rejected_history" not in ex.instance.meta
