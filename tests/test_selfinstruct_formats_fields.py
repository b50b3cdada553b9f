"""Self-Instruct formats keep what the reference's files hold (on the real shared files):
`machine_generated_instances.jsonl` gives the examples its `raw_instances` hold, parsed as the
reference's prepare_for_finetuning does, with every field kept in meta; the seed writer writes
a task's stored fields back, and refuses (or with --lossy counts) the ones a seed line cannot
hold."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from workbench.core.formats.exporter import export
from workbench.core.formats.importer import import_file
from workbench.core.formats.lossy import LossyExportError
from workbench.core.store.tasks import iter_tasks


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_generated_instances_file_gives_its_examples(shared_data, tmp_workspace):
    run = shared_data / "self_instruct" / "reference_run"
    res = import_file(tmp_workspace, run / "machine_generated_instances.jsonl")
    assert res.format == "selfinstruct-generated"
    tasks = iter_tasks(tmp_workspace)
    assert len(tasks) == 17
    # The reference's own step-3 result (all_generated_instances.jsonl) is what we parse.
    ref = Counter(
        (r["instruction"], r["input"], r["output"])
        for r in _lines(run / "all_generated_instances.jsonl")
    )
    ours = Counter((t.instruction, i.input, i.output) for t in tasks for i in t.instances)
    assert res.instances == sum(ours.values()) == 23
    assert ours == ref
    by_text = {t.instruction: t for t in tasks}
    spam = by_text[
        "The following email has been flagged as spam by many people. please identify why "
        "it is considered spam."
    ]
    assert spam.is_classification is True  # told by the "Class label:" text
    for t in tasks:
        for key in ("raw_instances", "instance_metadata", "instruction_metadata", "most_similar"):
            assert key in t.meta, key
    unparsed = [t for t in tasks if not t.instances]
    assert len(unparsed) == res.notes["without_examples"] == 2
    assert {t.meta["instances_unparsed"] for t in unparsed} == {"all-filtered"}
    assert all(t.meta["instances_dropped"] for t in unparsed)


def test_seed_export_writes_instruction_only_fields_back(shared_data, tmp_workspace, tmp_path):
    src = shared_data / "self_instruct" / "default_model_candidates_labelled.jsonl"
    import_file(tmp_workspace, src)
    out = tmp_path / "seed.jsonl"
    res = export(tmp_workspace, "selfinstruct-seed", out, only="including-dropped")
    got = _lines(out)
    assert res.count == len(got) == res.tasks and not res.left_out
    rows = _lines(src)
    # every source row's fields are on its instruction's line, its own or in `also` (a row
    # identical to an earlier one is that one)
    keys = ("decision", "reason", "valid")
    written = {(g["instruction"], *(g[k] for k in keys)) for g in got}
    written |= {(g["instruction"], *(a[k] for k in keys)) for g in got for a in g.get("also", [])}
    assert written == {(r["instruction"], *(r[k] for k in keys)) for r in rows}
    assert all(g["id"].startswith("task_") for g in got)  # made up: the file has none
    # and the file comes back as it was
    again = tmp_path / "w2.sqlite"
    from workbench.core.store.workspace import Workspace

    ws2 = Workspace.create(again)
    import_file(ws2, out)
    out2 = tmp_path / "seed2.jsonl"
    export(ws2, "selfinstruct-seed", out2, only="including-dropped")
    assert out2.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_seed_export_refuses_a_text_label_unless_lossy(shared_data, tmp_workspace, tmp_path):
    src = shared_data / "self_instruct" / "reference_run" / "is_clf_or_not_davinci_template_1.jsonl"
    import_file(tmp_workspace, src, "instruction-only")
    out = tmp_path / "seed.jsonl"
    with pytest.raises(LossyExportError) as err:
        export(tmp_workspace, "selfinstruct-seed", out, only="including-dropped")
    assert err.value.counts == {"is_classification": 17} and not out.exists()
    res = export(tmp_workspace, "selfinstruct-seed", out, only="including-dropped", lossy=True)
    assert res.left_out == {"task-fields": 17} and res.count == 17
    labels = {r["instruction"]: r["is_classification"] for r in _lines(src)}
    for line in _lines(out):
        assert line["is_classification"] is (labels[line["instruction"]].strip() == "Yes")
