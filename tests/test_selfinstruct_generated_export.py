"""selfinstruct-generated export: a task imported from a step-3 line
(machine_generated_instances.jsonl) is written back as that line, byte for byte; a task with
examples but no stored text gets its examples rendered in the reference's step-3 layout, or the
export is refused (--lossy: counted) when the text cannot give them back. Import counts of a
step-3 file (one record a line, whatever its examples), a fill of the step-2 file's tasks with
the step-3 fields, and merged records' `also` holding only their line's own fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.formats import selfinstruct_generated as gen
from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.formats.lossy import LossyExportError
from workbench.core.store.tasks import Instance, Task, add_task, iter_tasks
from workbench.core.store.workspace import Workspace

FMT = "selfinstruct-generated"


def _run(shared_data: Path) -> Path:
    return shared_data / "self_instruct" / "reference_run"


@pytest.mark.parametrize(
    "name", ["machine_generated_instances.jsonl", "machine_generated_instructions.jsonl"]
)
def test_reference_files_come_back_byte_for_byte(shared_data, tmp_path, tmp_workspace, name):
    src = _run(shared_data) / name
    res = import_file(tmp_workspace, src)
    assert (res.read, res.merged_records, res.imported) == (17, 0, 17)
    out = tmp_path / "g.jsonl"
    export(tmp_workspace, FMT, out)
    assert out.read_bytes() == src.read_bytes()
    with Workspace.create(tmp_path / "again.sqlite") as ws:
        back = import_file(ws, out)
        assert (back.imported, back.instances) == (17, res.instances)


def test_step3_import_counts_lines_not_examples(shared_data, tmp_workspace):
    res = import_file(tmp_workspace, _run(shared_data) / "machine_generated_instances.jsonl")
    assert (res.read, res.merged_records, res.instances) == (17, 0, 23)
    assert "merged into tasks" not in res.summary()


def test_step3_file_fills_the_step2_tasks_with_its_fields(shared_data, tmp_path, tmp_workspace):
    run = _run(shared_data)
    import_file(tmp_workspace, run / "machine_generated_instructions.jsonl")
    res = import_file(tmp_workspace, run / "machine_generated_instances.jsonl")
    assert (res.read, res.merged_records, res.imported) == (17, 0, 0)
    # 15 tasks got examples, the 2 whose text gave none (all-filtered) only the fields
    assert (res.filled, res.filled_fields, res.instances) == (15, 2, 23)
    assert res.to_dict()["classification"] == 2 and "(2 classification)" in res.summary()
    assert "added fields (no examples) to 2 tasks" in res.summary()
    tasks = iter_tasks(tmp_workspace)
    assert sum(bool(t.is_classification) for t in tasks) == 2
    assert all(isinstance(t.meta.get("raw_instances"), str) for t in tasks)
    assert sum("instances_unparsed" in t.meta for t in tasks) == 2
    assert all("request_idx" in t.meta and "instance_metadata" in t.meta for t in tasks)
    # written as step-3 lines (the step-2 metadata is the step-3 instruction_metadata), and
    # read back with every example
    out = tmp_path / "g.jsonl"
    export(tmp_workspace, FMT, out)
    step3 = (run / "machine_generated_instances.jsonl").read_text(encoding="utf-8")
    ref = {json.loads(x)["instruction"]: json.loads(x) for x in step3.splitlines()}
    for line in out.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        assert list(obj)[:6] == list(gen.STEP3) and "metadata" not in obj
        assert {k: obj[k] for k in gen.STEP3} == ref[obj["instruction"]]
    with Workspace.create(tmp_path / "again.sqlite") as ws:
        assert import_file(ws, out).instances == 23


def _examples(ws: Workspace) -> dict[str, list[tuple[str, str]]]:
    return {t.instruction: [(i.input, i.output) for i in t.instances] for t in iter_tasks(ws)}


# What the GUI's remove/edit-example actions do to the rows, on the task with the most examples.
_CHANGES = {
    "delete_all": "DELETE FROM instances WHERE task_id = ?",
    "delete_one": "DELETE FROM instances WHERE id = (SELECT max(id) FROM instances WHERE task_id = ?)",
    "edit_one": "UPDATE instances SET output = 'edited' "
    "WHERE id = (SELECT min(id) FROM instances WHERE task_id = ?)",
}


@pytest.mark.parametrize("change", list(_CHANGES))
def test_changed_examples_are_written_as_the_workspace_has_them(
    shared_data, tmp_path, tmp_workspace, change
):
    src = _run(shared_data) / "machine_generated_instances.jsonl"
    import_file(tmp_workspace, src)
    task_id = tmp_workspace.scalar(
        "SELECT task_id FROM instances GROUP BY task_id ORDER BY count(*) DESC, task_id LIMIT 1"
    )
    with tmp_workspace.transaction():
        tmp_workspace.execute(_CHANGES[change], (task_id,))
    want = _examples(tmp_workspace)
    out = tmp_path / "g.jsonl"
    export(tmp_workspace, FMT, out)
    assert out.read_bytes() != src.read_bytes()
    with Workspace.create(tmp_path / "again.sqlite") as ws:
        back = import_file(ws, out)
        assert back.instances == sum(map(len, want.values()))
        assert _examples(ws) == want
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    if change == "delete_all":  # a step-2 line: nothing of the removed step-3 text is left
        (line,) = [x for x in lines if "raw_instances" not in x]
        assert list(line) == list(gen.STEP2) and "instance_metadata" not in line


def test_a_task_whose_text_gave_no_example_keeps_its_text(shared_data, tmp_path, tmp_workspace):
    src = _run(shared_data) / "machine_generated_instances.jsonl"
    import_file(tmp_workspace, src)
    unparsed = [t for t in iter_tasks(tmp_workspace) if "instances_unparsed" in t.meta]
    assert len(unparsed) == 2 and not any(t.instances for t in unparsed)
    out = tmp_path / "g.jsonl"
    export(tmp_workspace, FMT, out)
    raw = {
        json.loads(x)["instruction"]: json.loads(x).get("raw_instances")
        for x in out.read_text(encoding="utf-8").splitlines()
    }
    assert all(raw[t.instruction] == t.meta["raw_instances"] for t in unparsed)


def test_merged_seed_line_keeps_only_its_own_fields(shared_data, tmp_path, tmp_workspace):
    import_file(tmp_workspace, shared_data / "self_instruct" / "user_oriented_instructions.jsonl")
    out = tmp_path / "seed.jsonl"
    export(tmp_workspace, "selfinstruct-seed", out)
    line = json.loads(out.read_text(encoding="utf-8").splitlines()[89])
    assert line["also"] == [{"id": "user_oriented_task_124", "motivation_app": "Doulingo"}]


def test_examples_without_text_are_rendered_in_the_reference_layout(tmp_path, tmp_workspace):
    add_task(tmp_workspace, Task("Reverse it.", [Instance("abc", "cba"), Instance("ab", "ba")]))
    add_task(tmp_workspace, Task("Say hi.", [Instance("", "hi")]))
    add_task(tmp_workspace, Task("Spam?", [Instance("Email: win", "Spam")], True))
    out = tmp_path / "g.jsonl"
    res = export(tmp_workspace, FMT, out)
    assert res.left_out == {}
    raw = [json.loads(x)["raw_instances"] for x in out.read_text().splitlines()]
    assert raw == [
        "Example 1\nInput: abc\nOutput: cba\nExample 2\nInput: ab\nOutput: ba\n\n",
        "Output: hi\n\n",
        "Class label: Spam\nEmail: win\n\n",
    ]
    with Workspace.create(tmp_path / "again.sqlite") as ws:
        import_file(ws, out)
        got = {
            t.instruction: ([(i.input, i.output) for i in t.instances], t.is_classification)
            for t in iter_tasks(ws)
        }
    assert got == {
        "Reverse it.": ([("abc", "cba"), ("ab", "ba")], None),
        "Say hi.": ([("", "hi")], None),
        "Spam?": ([("Email: win", "Spam")], True),
    }


def test_examples_the_text_cannot_hold_are_refused_or_counted(tmp_path, tmp_workspace):
    insts = [Instance("a", "Output: b"), *(Instance(str(n), f"o{n}") for n in range(6))]
    add_task(tmp_workspace, Task("Do it.", insts))
    out = tmp_path / "g.jsonl"
    with pytest.raises(LossyExportError) as err:
        export(tmp_workspace, FMT, out)
    assert err.value.counts == {"raw_instances": 1} and not out.exists()
    assert "--lossy" in (err.value.hint or "")
    res = export(tmp_workspace, FMT, out, lossy=True)
    # the "Output:" one cannot come back, and a task holds at most 5
    assert res.left_out == {"examples": 2}
    (task,) = gen.read(out)
    assert [i.output for i in task.instances] == [f"o{n}" for n in range(5)]


TEXT = st.sampled_from(["", "a", "b c", "x\ny", "Output: z", "Example 2", "Class label: k"])


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(TEXT, TEXT), max_size=7),
    clf=st.sampled_from([None, False, True]),
)
def test_written_examples_come_back_and_the_rest_are_counted(pairs, clf):
    """For any examples: those written come back as they were, in order, with the task's
    classification; written + left out == selected."""
    task = Task("Do it.", [Instance(i, o) for i, o in pairs], clf)
    raw, lost = gen.raw_instances(task)
    line, left = gen._line(task)
    assert left == lost
    back = gen.parse_line(json.loads(json.dumps(line)), Path("g.jsonl"), 1)
    got = [(i.input, i.output) for i in back.instances]
    assert len(got) + lost == len(pairs)
    rest = iter(pairs)  # what comes back is the examples written, in order
    assert all(p in rest for p in got)
    if pairs and not lost:
        assert got == list(pairs) and back.is_classification == clf
