"""One typed run config: RunConfig's defaults are the CLI's and the window's, a stored run reads
back typed (stored_run), and the threshold a user sets reaches the run."""

from __future__ import annotations

import dataclasses

import pytest

from workbench.cli import build_parser
from workbench.core.errors import UserInputError
from workbench.core.llm.scripted import ScriptedBackend
from workbench.core.selfinstruct.candidates import DEFAULT_THRESHOLD, PoolGrowth
from workbench.core.selfinstruct.config import (
    DEFAULTS,
    RunConfig,
    preset_choices,
    stored_run,
)
from workbench.core.selfinstruct.presets import PRESETS
from workbench.core.selfinstruct.run import run_self_instruct
from workbench.core.store.runs import create_run
from workbench.core.store.tasks import Instance, Task, add_task
from workbench.core.store.workspace import Workspace


def test_run_config_is_frozen_and_validates_its_ranges():
    c = RunConfig(blacklist=("map",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.threshold = 0.5  # type: ignore[misc]
    assert RunConfig.from_dict(c.to_dict()) == c and c.to_dict()["blacklist"] == ["map"]
    assert DEFAULTS.threshold == DEFAULT_THRESHOLD == 0.7
    for bad in (
        {"threshold": 1.5},
        {"threshold": -0.1},
        {"target": 0},
        {"preset": "x"},
        {"max_gen_calls": 0},
        {"compat": "old"},
        {"round_size": 0},
    ):
        with pytest.raises(UserInputError):
            RunConfig(**bad).validate()  # type: ignore[arg-type]


def test_cli_defaults_are_the_core_defaults():
    args = build_parser().parse_args(["self-instruct"])
    assert (
        args.target,
        args.seed,
        args.preset,
        args.threshold,
        args.instances_max_tokens,
        args.max_tokens,
        args.max_gen_calls,
        args.round_size,
    ) == (
        DEFAULTS.target,
        DEFAULTS.seed,
        DEFAULTS.preset,
        DEFAULTS.threshold,
        DEFAULTS.instances_max_tokens,
        DEFAULTS.gen_max_tokens,
        DEFAULTS.max_gen_calls,
        DEFAULTS.round_size,
    )
    assert {n for _, n in preset_choices()} == set(PRESETS)
    assert preset_choices()[0][1] == DEFAULTS.preset


def test_stored_runs_read_back_typed(tmp_workspace):
    ws = tmp_workspace
    for i in range(4):
        add_task(
            ws,
            Task(
                f"Explain the idea number {i} in plain words.", [Instance("", "x")], source="seed"
            ),
        )
    reply = "1. Write a poem about a quiet harbor at dawn\n2. List four kinds of old trees"
    script = ScriptedBackend(
        lambda p: (
            reply
            if "Number them" in p
            else ("No" if p.strip().endswith("Is it classification?") else "Input: a\nOutput: b")
        )
    )
    s = run_self_instruct(ws, script, RunConfig(target=1, seed=5, threshold=0.55))
    run = stored_run(ws, s.run_id)
    assert run is not None and run.kind == "self-instruct"
    assert run.config == RunConfig(
        target=1,
        seed=5,
        threshold=0.55,
        templates_dir=run.config.templates_dir,
        round_size=1,
        round_cap=True,
    )  # in-process: rounds of one step-1 call, stored with the run (and the round cap)
    assert run.threshold == 0.55 and run.tokenizer == "rouge"
    assert run.pool_growth == PoolGrowth.ACCEPTED
    # A replay records "fixed"/"reference" and its threshold; its pool grows at step 1.
    rid = create_run(ws, "replay", {"compat": "fixed", "tokenizer": "rouge", "threshold": 0.7})
    replay = stored_run(ws, rid)
    assert replay is not None and replay.pool_growth == PoolGrowth.STEP_1
    assert replay.config.compat is None and replay.threshold == 0.7
    assert stored_run(ws, create_run(ws, "self-check", {})) is None
    assert stored_run(ws, 999) is None


def test_round_size_default_follows_the_backend_and_compat_and_is_kept_on_resume(
    tmp_workspace, tmp_path
):
    """None: 1 in-process, 16 on a server, 5 with compat="reference" (the reference's
    request_batch_size); stored with the run. A run stored before rounds existed resumes with
    rounds of one call; one stored before the round cap, with whole rounds."""
    from workbench.core.selfinstruct.config import default_round_size

    assert default_round_size(server=False) == 1 and default_round_size(server=True) == 16
    assert default_round_size(server=True, compat="reference") == 5
    assert default_round_size(server=False, compat="reference") == 5
    ws = tmp_workspace
    for i in range(4):
        add_task(ws, Task(f"Explain the idea number {i} well.", [Instance("", "x")], source="seed"))
    reply = "1. Write a poem about a quiet harbor at dawn\n2. List four kinds of old trees"
    script = ScriptedBackend(
        lambda p: (
            reply if "Number them" in p or p.rstrip().endswith("1.") else "Input: a\nOutput: b"
        )
    )
    s = run_self_instruct(
        ws, script, RunConfig(preset="self-instruct", compat="reference", target=1, seed=1)
    )
    ref = stored_run(ws, s.run_id)
    assert ref is not None and ref.config.round_size == 5 and s.round_size == 5
    # The reference's rounds are always request_batch_size calls: no round cap there.
    assert ref.config.round_cap is False
    # An old run without the keys: resumed with rounds of one call, whole (no cap).
    old = RunConfig(target=2, seed=9).to_dict()
    del old["round_size"], old["round_cap"]
    rid = create_run(ws, "self-instruct", old)
    s2 = run_self_instruct(ws, script, RunConfig(), resume_run_id=rid)
    assert s2.round_size == 1
    # One stored before the round cap: its rounds stay whole (4 step-1 calls at target 2); a
    # new run's first round is capped to what 2 tasks can use (1 call). Fresh workspaces: the
    # script's two instructions are tasks of the runs above already.
    gen = "SELECT count(*) FROM model_calls WHERE run_id = ? AND purpose = 'instruction-generation'"
    for name, cap, calls in (("old", None, 4), ("new", True, 1)):
        w = Workspace.create(tmp_path / f"{name}.sqlite")
        for i in range(4):
            add_task(w, Task(f"Explain the idea number {i}.", [Instance("", "x")], source="seed"))
        config = RunConfig(target=2, seed=9, round_size=4).to_dict()
        if cap is None:
            del config["round_cap"]
            rid = create_run(w, "self-instruct", config)
            run_self_instruct(w, script, RunConfig(), resume_run_id=rid)
        else:
            rid = run_self_instruct(w, script, RunConfig(target=2, seed=9, round_size=4)).run_id
        assert w.scalar(gen, (rid,)) == calls and stored_run(w, rid) is not None
        w.close()
