"""Records of one file with the same instruction: merged into one task, counted, their fields
kept (meta.also); chat roles checked on import; nothing-to-write exports refused; the import
notes count only what was imported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.errors import UserInputError
from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.formats.validation import InvalidRecords
from workbench.core.store.tasks import iter_tasks
from workbench.core.store.workspace import Workspace


def test_seed_file_duplicate_line_is_counted_and_keeps_its_fields(tmp_workspace, shared_data):
    path = shared_data / "self_instruct" / "user_oriented_instructions.jsonl"
    res = import_file(tmp_workspace, path)
    assert (res.read, res.imported, res.merged_records, res.instances) == (252, 251, 1, 252)
    assert "1 record merged into tasks with the same instruction" in res.summary()
    assert res.to_dict()["merged_records"] == 1
    task = next(
        t for t in iter_tasks(tmp_workspace) if t.instruction == "Answer the following question."
    )
    assert task.meta["id"] == "user_oriented_task_89"
    (also,) = task.meta["also"]
    assert (also["id"], also["motivation_app"]) == ("user_oriented_task_124", "Doulingo")
    assert len(task.instances) == 2


def test_grouping_reader_says_how_many_records_it_merged(tmp_workspace, shared_data):
    path = shared_data / "self_instruct" / "default_model_candidates_labelled.jsonl"
    res = import_file(tmp_workspace, path)
    # 83 lines, 76 instructions: one repeat is identical to its first line (no trace left)
    assert (res.imported, res.merged_records, res.read) == (76, 6, 82)
    assert "6 records merged into tasks with the same instruction" in res.summary()


def test_unknown_chat_role_is_named(tmp_path, tmp_workspace, shared_data):
    lines = (shared_data / "datasets" / "llama-factory" / "v1_sft_demo.jsonl").read_text()
    lines = lines.splitlines()
    rec = json.loads(lines[2])
    rec["messages"][1]["role"] = "robot"
    lines[2] = json.dumps(rec)
    path = tmp_path / "robot.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidRecords) as err:
        import_file(tmp_workspace, path)
    (problem,) = err.value.problems.items
    assert problem.line == 3 and problem.field == "messages[1].role"
    assert "unknown role 'robot' (expected system, user, assistant, " in problem.message


def test_unknown_sharegpt_speaker_is_named(tmp_path, tmp_workspace):
    path = tmp_path / "chat.json"
    conv = [{"from": "human", "value": "hi"}, {"from": "robot", "value": "x"}]
    path.write_text(json.dumps([{"conversations": conv}]))
    with pytest.raises(InvalidRecords) as err:
        import_file(tmp_workspace, path, "sharegpt")
    (problem,) = err.value.problems.items
    assert problem.field == "conversations[1].from"
    assert "unknown speaker 'robot' (expected human, gpt" in problem.message


@pytest.mark.parametrize("fmt", ["alpaca", "openai-chat", "hf"])
def test_export_of_instructions_only_is_refused(tmp_path, tmp_workspace, shared_data, fmt):
    import_file(
        tmp_workspace, shared_data / "self_instruct" / "default_model_candidates_labelled.jsonl"
    )
    out = tmp_path / "out"
    with pytest.raises(UserInputError) as err:
        export(tmp_workspace, fmt, out)
    assert "76 tasks have no examples and were not written" in err.value.message
    assert "selfinstruct-seed" in (err.value.hint or "")
    assert not out.exists()
    assert export(tmp_workspace, "selfinstruct-seed", tmp_path / "seed.jsonl").count == 76


def test_second_import_notes_count_only_what_was_imported(tmp_workspace, shared_data):
    path = shared_data / "datasets" / "llama-factory" / "glaive_toolcall_en_demo.json"
    first = import_file(tmp_workspace, path)
    assert first.notes["with_tools"] == first.instances > 0
    again = import_file(tmp_workspace, path)
    assert (again.imported, again.instances, again.notes) == (0, 0, {})
    assert "with tools" not in again.summary()


@settings(max_examples=40, deadline=None)
@given(
    picks=st.lists(st.integers(0, 5), min_size=1, max_size=12),
    outputs=st.lists(st.sampled_from(["a", "b"]), min_size=12, max_size=12),
    seed_fmt=st.booleans(),
)
def test_every_record_is_accounted_for(tmp_path_factory, picks, outputs, seed_fmt):
    """records in == tasks created + records merged + skipped + rejected, whatever repeats."""
    folder = tmp_path_factory.mktemp("prop")
    lines = []
    for n, (pick, out) in enumerate(zip(picks, outputs)):
        if seed_fmt:
            rec = {"id": f"t{n}", "instruction": f"Task {pick}.", "instances": [{"output": out}]}
        else:
            rec = {"instruction": f"Task {pick}.", "input": "", "output": out, "n": n}
        lines.append(json.dumps(rec))
    lines.append("not json")  # one bad record
    path = folder / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    fmt = "selfinstruct-seed" if seed_fmt else "alpaca"
    with Workspace.open(folder / "w.sqlite", create=True) as ws:
        res = import_file(ws, path, fmt, skip_invalid=True)
        accounted = (
            res.imported
            + res.merged_records
            + res.merged
            + res.filled
            + res.filled_fields
            + res.skipped_duplicates
        )
        assert (res.read, res.rejected) == (len(picks), 1)
        assert accounted == res.read
        assert res.imported == len(set(picks))
        if seed_fmt:  # every line's own id is kept: on its task, or in its meta.also
            ids = set()
            for t in iter_tasks(ws):
                ids |= {t.meta["id"], *(a["id"] for a in t.meta.get("also", []))}
            assert ids == {f"t{n}" for n in range(len(picks))}
    shutil.rmtree(folder, ignore_errors=True)
    assert not Path(folder).exists()
