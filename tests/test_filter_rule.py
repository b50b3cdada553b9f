"""One ROUGE-L rule: Inspect's re-filter at a run's own threshold reproduces the run exactly.

The run (steps.decide_instructions), the replay of a reference run and Inspect's re-filter
(refilter.decisions_at) all decide through the same procedure; these guard tests hold them to
it on real runs: the scripted A / A' / B run of issue 20, generated runs (hypothesis), and a
small run of the real default model (marker `model`).
"""

from __future__ import annotations

import json
import random
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.inspect import refilter
from workbench.core.llm.scripted import ScriptedBackend
from workbench.core.selfinstruct import parse
from workbench.core.selfinstruct.candidates import Decision, Reason
from workbench.core.selfinstruct.run import RunConfig, run_self_instruct
from workbench.core.similarity import score
from workbench.core.store.tasks import Instance, Task, add_task
from workbench.core.store.workspace import Workspace

SEEDS = [
    "Explain how a bicycle gear works to a child.",
    "Summarize the following news article in two sentences.",
    "Classify the sentiment of the given movie review.",
    "Give three synonyms for the word happy.",
    "Translate the sentence into Spanish.",
    "Write a limerick about a cat that loves cheese.",
    "List the planets of the solar system in order.",
    "Suggest a name for a new coffee shop.",
    "Describe the water cycle in simple terms.",
    "Convert the temperature from Celsius to Fahrenheit.",
]
# Ten words each, one word apart: ROUGE-L 9/10 = 0.90, over the default threshold of 0.7.
A = "Write a short poem about the calm morning sea today"
A2 = "Write a short poem about the calm evening sea today"
B = "List three surprising facts about Jupiter for curious children"
GOOD = "Example 1\nInput: one\nOutput: first\nExample 2\nInput: two\nOutput: second"
BAD = "I cannot help with that."


def seed(ws: Workspace) -> None:
    for s in SEEDS:
        add_task(ws, Task(s, [Instance("", "x")], source="seed"))


def unchanged_at_run_threshold(ws: Workspace, run_id: int) -> list[refilter.Change]:
    """What Inspect's Threshold tab lists as "would change" before the slider moves."""
    plan = refilter.build_plan(ws, run_id)
    result = refilter.decisions_at(plan, plan.threshold)
    return refilter.changes(plan, result, refilter.current_decisions(ws, run_id))


def test_reason_lists_the_parser_reasons():
    assert {Reason(parse.UNPARSABLE), Reason(parse.PLACEHOLDER_OUTPUT)} <= set(Reason)


def test_the_scripted_example_reads_as_issue_20_says():
    assert score(A, A2) == pytest.approx(0.9)
    assert max(score(x, s) for x in (A, A2, B) for s in SEEDS) < 0.5


def test_refilter_at_the_run_threshold_agrees_with_a_run_whose_sibling_fails_step_3(tmp_workspace):
    """Issue 20's example: A passes step 1 and drops A' (0.90) as its sibling, then finds no
    instances. The run keeps only B; the re-filter at the run's 0.70 must keep only B too."""
    ws = tmp_workspace
    seed(ws)

    def script(prompt: str) -> str:
        last = prompt.strip().splitlines()[-1]
        if "new tasks" in prompt and "Number them" in prompt:
            return f"9. {A}\n10. {A2}\n11. {B}"
        if last.endswith("Is it classification?"):
            return "No"
        return BAD if A in prompt else GOOD

    s = run_self_instruct(ws, ScriptedBackend(script), RunConfig(preset="chat", target=1))
    rows = {
        r["instruction"]: r
        for r in ws.query(
            "SELECT instruction, decision, reason, max_score FROM candidates WHERE run_id = ?",
            (s.run_id,),
        )
    }
    assert (rows[A]["decision"], rows[A]["reason"]) == ("dropped", "no-instances")
    assert (rows[A2]["decision"], rows[A2]["reason"]) == ("dropped", "rouge")
    assert rows[A2]["max_score"] == pytest.approx(0.9)
    assert (rows[B]["decision"], rows[B]["reason"]) == ("kept", None)
    assert [c.instruction for c in unchanged_at_run_threshold(ws, s.run_id)] == []
    # Above 0.90, A' passes step 1 and would be kept; at 0.70 it is dropped, as in the run.
    plan = refilter.build_plan(ws, s.run_id)
    ids = {t: c for c, t in zip(plan.ids, plan.instructions)}
    assert refilter.decisions_at(plan, 0.95).decisions[ids[A2]] == "kept"
    assert refilter.decisions_at(plan, 0.70).decisions[ids[A2]] == "dropped"


# ------------------------------------------------------------------ generated runs
# Few words, short texts: near-copies (ROUGE-L around the threshold) are common.
VERBS = ["Write", "List", "Explain", "Describe", "Summarize"]
VOCAB = [
    "the",
    "a",
    "of",
    "three",
    "short",
    "poem",
    "story",
    "about",
    "sea",
    "sky",
    "city",
    "quiet",
    "old",
    "river",
    "garden",
]


class GeneratedScript:
    """A fake model whose step-1 replies (chat lists, or Alpaca's numbered triples) are drawn
    from a small vocabulary, many of them near-copies of each other; the instances of an
    instruction fail when its crc is a multiple of `fail_mod` (0: never)."""

    def __init__(self, seed_: int, fail_mod: int, items: int) -> None:
        self.seed = seed_
        self.fail_mod = fail_mod
        self.items = items

    def fails(self, instruction: str) -> bool:
        return bool(self.fail_mod) and zlib.crc32(instruction.encode()) % self.fail_mod == 0

    def instructions(self, prompt: str) -> list[str]:
        rng = random.Random(f"{self.seed}:{zlib.crc32(prompt.encode())}")
        base = [rng.choice(VERBS), *rng.sample(VOCAB, 6)]
        out = []
        for _ in range(self.items):
            words = list(base) if rng.random() < 0.5 else [rng.choice(VERBS), *rng.sample(VOCAB, 6)]
            if rng.random() < 0.7:  # a near-copy: one or two words changed
                for _ in range(rng.randint(1, 2)):
                    words[rng.randrange(1, len(words))] = rng.choice(VOCAB)
            out.append(f"{' '.join(words)} for a child.")
        return out

    def __call__(self, prompt: str) -> str:
        last = prompt.strip().splitlines()[-1]
        if "new tasks" in prompt and "Number them" in prompt:
            return "\n".join(f"{9 + k}. {t}" for k, t in enumerate(self.instructions(prompt)))
        if "List of 20 tasks" in prompt:  # Alpaca: the prompt ends with "N. Instruction:"
            n = int(prompt.rsplit("###\n", 1)[1].split(".", 1)[0])
            blocks = []
            for k, t in enumerate(self.instructions(prompt)):
                io = "same\n{0}. Output:\nsame" if self.fails(t) else "<noinput>\n{0}. Output:\nok"
                blocks.append(f"{n + k}. Instruction: {t}\n{n + k}. Input:\n" + io.format(n + k))
            return " " + "\n###\n".join(blocks)[len(f"{n}. Instruction: ") :]
        if last.endswith("Is it classification?"):
            return "No"
        return BAD if self.fails(last) else GOOD


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed_=st.integers(0, 10_000),
    fail_mod=st.sampled_from([0, 2, 3]),
    items=st.integers(2, 7),
    target=st.integers(1, 6),
    threshold=st.sampled_from([0.5, 0.6, 0.7, 0.8]),
    preset=st.sampled_from(["chat", "alpaca"]),
)
def test_refilter_at_the_run_threshold_changes_nothing_on_generated_runs(
    seed_, fail_mod, items, target, threshold, preset
):
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "ws.sqlite")
        try:
            seed(ws)
            s = run_self_instruct(
                ws,
                ScriptedBackend(GeneratedScript(seed_, fail_mod, items)),
                RunConfig(
                    preset=preset, target=target, seed=seed_, threshold=threshold, max_gen_calls=6
                ),
            )
            assert unchanged_at_run_threshold(ws, s.run_id) == []
            # Every decision and reason stored is one the candidate module lists.
            for row in ws.query("SELECT decision, reason, instances FROM candidates"):
                Decision(row["decision"])
                assert row["reason"] is None or Reason(row["reason"])
                for inst in json.loads(row["instances"] or "[]"):
                    assert inst["reason"] is None or Reason(inst["reason"])
        finally:
            ws.close()


# ------------------------------------------------------------------ the real model
@pytest.mark.model
def test_refilter_agrees_with_a_real_model_run(chat_run):
    """The session's real chat-preset run (conftest `chat_run`), read only."""
    ws = Workspace.open(chat_run.path)
    try:
        assert chat_run.summary.accepted == chat_run.config.target
        assert unchanged_at_run_threshold(ws, chat_run.summary.run_id) == []
    finally:
        ws.close()


# ------------------------------------------------------------------ a replayed reference run
@pytest.mark.parametrize("compat", [None, "reference"])
def test_refilter_agrees_with_a_replayed_reference_run(tmp_workspace, shared_data, compat):
    """The replay grows its pool at step 1, as the reference did; the re-filter grows it the
    same way (the run records it), so at 0.7 nothing would change there either."""
    from workbench.core.formats.importer import import_file
    from workbench.core.selfinstruct.replay import replay_reference_run

    ws = tmp_workspace
    import_file(ws, shared_data / "self_instruct" / "seed_tasks.jsonl", None)
    res = replay_reference_run(ws, shared_data / "self_instruct" / "reference_run", compat=compat)
    assert res.candidates > 0
    assert unchanged_at_run_threshold(ws, res.run_id) == []
