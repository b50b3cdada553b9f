"""Replaying the reference run (../shared/data/self_instruct/reference_run) through our code."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from workbench.core.errors import UserInputError
from workbench.core.formats.importer import import_file
from workbench.core.selfinstruct.replay import FIXES, replay_reference_run

# Each difference the fixed replay may show is one of the documented fixes (docs/fidelity.md).
DOCUMENTED = {
    "capitalize",
    "max-tokens-truncation",
    "example-split",
    "clf-label",
    "instance-sample",
}


def _ref(shared_data):
    return shared_data / "self_instruct" / "reference_run"


def _replay(ws, shared_data, compat):
    import_file(ws, shared_data / "self_instruct" / "seed_tasks.jsonl", None)
    return replay_reference_run(ws, _ref(shared_data), compat=compat)


def _instances(ws, key="instruction"):
    return Counter(
        (r[key], r["input"], r["output"])
        for r in ws.query(
            "SELECT t.instruction, json_extract(t.meta, '$.reference_instruction') AS ref, "
            "i.input, i.output FROM instances i JOIN tasks t ON t.id = i.task_id "
            "WHERE t.source = 'generated'"
        )
    )


def _expected(shared_data):
    return Counter(
        (d["instruction"], d["input"], d["output"])
        for d in map(json.loads, open(_ref(shared_data) / "all_generated_instances.jsonl"))
    )


def test_compat_reference_keeps_what_the_reference_kept(tmp_workspace, shared_data):
    ws = tmp_workspace
    r = _replay(ws, shared_data, "reference")
    ref_file = _ref(shared_data) / "machine_generated_instructions.jsonl"
    ref_kept = [
        json.loads(line)["instruction"]
        for line in ref_file.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert r.kept_instructions == ref_kept
    assert _instances(ws) == _expected(shared_data)
    assert r.differences == []
    # Every candidate is stored for inspection, with its reason and neighbours.
    rows = ws.query("SELECT * FROM candidates WHERE run_id = ?", (r.run_id,))
    assert len(rows) == r.candidates > len(ref_kept)
    assert Counter(x["reason"] for x in rows if x["decision"] == "dropped")["write-a-program"] >= 1
    assert all(len(json.loads(x["most_similar"])) == 10 for x in rows)
    run = ws.query("SELECT kind, status FROM runs WHERE id = ?", (r.run_id,))[0]
    assert (run["kind"], run["status"]) == ("replay", "finished")


def test_fixed_replay_differs_only_by_documented_fixes(tmp_workspace, shared_data):
    ws = tmp_workspace
    r = _replay(ws, shared_data, None)
    assert set(FIXES) == DOCUMENTED
    kinds = Counter(d["kind"] for d in r.differences)
    assert set(kinds) <= DOCUMENTED
    assert kinds["capitalize"] >= 1  # e.g. "Python" and "X" keep their case
    ours = {d["ours"] for d in r.differences if d["kind"] == "capitalize"}
    assert "Write a function to reverse a string in Python. Show your steps." in ours
    # Apart from the recorded fixes, the same instances come out (keyed by the reference text).
    assert _instances(ws, "ref") == _expected(shared_data)
    assert r.to_dict()["differences_by_kind"] == dict(kinds)


def test_not_a_reference_folder(tmp_workspace, tmp_path):
    with pytest.raises(UserInputError):
        replay_reference_run(tmp_workspace, tmp_path)


def test_bad_line_names_file_and_line(tmp_workspace, tmp_path, shared_data):
    import_file(tmp_workspace, shared_data / "self_instruct" / "seed_tasks.jsonl", None)
    (tmp_path / "machine_generated_instructions.jsonl").write_text('{"instruction": "x"}\n{oops\n')
    with pytest.raises(UserInputError) as e:
        replay_reference_run(tmp_workspace, tmp_path)
    assert "line 1" in str(e.value) and "metadata" in str(e.value)
