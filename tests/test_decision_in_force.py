"""The decision in force is a view (migration v005), and exports follow it by default.

Old workspaces: a file built by the v4 schema, with Inspect's old mirror (`tasks.meta.dropped`)
written the way the v4 code wrote it, opens migrated with the same tasks left out of a
"not dropped" export, and with the flag gone from the tasks made from candidates.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from workbench.cli import main
from workbench.core.formats.exporter import export, select_tasks
from workbench.core.inspect import overrides, refilter
from workbench.core.selfinstruct import candidates
from workbench.core.selfinstruct.candidates import Decision, Reason
from workbench.core.store.runs import create_run
from workbench.core.store.tasks import Instance, Task, add_task
from workbench.core.store.workspace import APPLICATION_ID, Workspace

SEEDS = ["Write a haiku about autumn leaves.", "Summarize the paragraph in one sentence."]


def v4_workspace(path):
    """A workspace file at schema version 4, as the v4 code left it after Inspect was used:
    candidate 1 kept, then dropped by a person (its task marked dropped); candidate 2 kept
    and left alone; candidate 3 kept, its task marked dropped by hand (no override: only an
    edit outside the app makes the two disagree); an imported task whose file carried a
    "dropped" field of its own."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    ws = Workspace(path, conn)
    ws.migrate(4)
    with ws.transaction():
        run = ws.insert(
            "runs", {"kind": "self-instruct", "config": {"threshold": 0.7}, "stats": {}}
        )
        ids = []
        for i, text in enumerate(
            ["Name three red fruits.", "List two blue birds.", "Give one green vegetable."]
        ):
            cid = ws.insert(
                "candidates",
                {"run_id": run, "position": i, "instruction": text, "decision": "kept"},
            )
            meta = {"dropped": True, "note": "x"} if i in (0, 2) else {}
            tid = ws.insert(
                "tasks",
                {
                    "instruction": text,
                    "norm": text.lower(),
                    "source": "generated",
                    "run_id": run,
                    "candidate_id": cid,
                    "meta": json.dumps(meta),
                },
            )
            ws.insert("instances", {"task_id": tid, "input": "", "output": f"o{i}"})
            ws.update("candidates", cid, {"task_id": tid})
            ids.append(cid)
        ws.insert(
            "inspect_overrides", {"candidate_id": ids[0], "decision": "dropped", "note": "too easy"}
        )
        tid = ws.insert(
            "tasks",
            {
                "instruction": "An imported task.",
                "norm": "an imported task.",
                "source": "imported",
                "meta": json.dumps({"dropped": True}),
            },
        )
        ws.insert("instances", {"task_id": tid, "input": "", "output": "imp"})
    conn.close()
    return run, ids


def test_a_v4_workspace_migrates_to_the_views(tmp_path):
    path = tmp_path / "old.sqlite"
    run, ids = v4_workspace(path)
    ws = Workspace.open(path)
    assert ws.version >= 5
    in_force = candidates.in_force(ws, run)
    assert in_force[ids[0]] == candidates.InForce(Decision.DROPPED, Reason.OVERRIDE, "override")
    assert in_force[ids[1]] == candidates.InForce(Decision.KEPT, None, "run")
    # The mark that disagreed with the candidate became an override, with a note saying so.
    assert in_force[ids[2]].decision == Decision.DROPPED
    assert "schema v5" in overrides.get_override(ws, ids[2])["note"]
    assert overrides.get_override(ws, ids[0])["note"] == "too easy"  # untouched
    metas = {
        r["instruction"]: json.loads(r["meta"])
        for r in ws.query("SELECT instruction, meta FROM tasks")
    }
    assert metas["Name three red fruits."] == {"note": "x"}
    assert metas["Give one green vegetable."] == {"note": "x"}
    assert metas["An imported task."] == {"dropped": True}  # a file's own field stays
    # What a "not dropped" export selected before the migration, it selects after it
    # (the imported task's own "dropped" field no longer hides it).
    got = sorted(t.instruction for t in select_tasks(ws))
    assert got == ["An imported task.", "List two blue birds."]
    assert len(select_tasks(ws, only="including-dropped")) == 4
    ws.close()


def make_run(ws):
    for s in SEEDS:
        add_task(ws, Task(s, [Instance("", "x")], source="seed"))
    run = create_run(ws, "self-instruct", {"threshold": 0.7, "tokenizer": "rouge"})
    texts = ["Write a haiku about autumn leaves today.", "Explain why the sky is blue."]
    ids = []
    with ws.transaction():
        for pos, text in enumerate(texts):
            cid = candidates.insert(
                ws,
                run,
                None,
                0,
                pos,
                candidates.NewCandidate(
                    text, Decision.KEPT, instances=[{"input": "", "output": "o", "kept": True}]
                ),
            )
            tid = add_task(
                ws,
                Task(text, [Instance("", "o")], source="generated", run_id=run),
                candidate_id=cid,
            )
            candidates.link_task(ws, cid, tid)
            ids.append(cid)
    return run, ids, texts


def test_export_default_leaves_out_what_inspect_dropped(tmp_workspace, tmp_path):
    ws = tmp_workspace
    run, ids, texts = make_run(ws)
    assert {t.instruction for t in select_tasks(ws)} == set(SEEDS) | set(texts)
    # A stricter threshold applied in Inspect drops the haiku (0.93 against its seed).
    plan = refilter.build_plan(ws, run)
    refilter.apply_threshold(ws, plan, 0.5)
    assert candidates.in_force(ws, run)[ids[0]] == candidates.InForce(
        Decision.DROPPED, Reason.ROUGE, "threshold"
    )
    assert {t.instruction for t in select_tasks(ws)} == set(SEEDS) | {texts[1]}
    out = tmp_path / "a.json"
    res = export(ws, "alpaca", out)
    assert res.tasks == 3 and res.selection == {"only": "not-dropped"}
    assert texts[0] not in out.read_text()
    res = export(ws, "alpaca", out, only="all")  # the old name: every task
    assert res.tasks == 4 and res.selection == {"only": "including-dropped"}
    # A person's keep wins over the threshold; undoing it puts the threshold back.
    overrides.set_override(ws, ids[0], "kept", "a fine haiku")
    assert len(select_tasks(ws)) == 4
    overrides.clear_override(ws, ids[0])
    assert len(select_tasks(ws)) == 3


@pytest.mark.parametrize(
    "only,expected",
    [(None, 3), ("not-dropped", 3), ("kept", 3), ("including-dropped", 4), ("all", 4)],
)
def test_cli_export_only_names_and_aliases(tmp_path, capsys, only, expected):
    wsp = tmp_path / "w.sqlite"
    ws = Workspace.create(wsp)
    run, ids, _ = make_run(ws)
    overrides.set_override(ws, ids[0], "dropped", "no")
    ws.close()
    argv = [
        "export",
        "--format",
        "alpaca",
        "--out",
        str(tmp_path / "o.json"),
        "-w",
        str(wsp),
        "--json",
    ] + (["--only", only] if only else [])
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["tasks"] == expected
