"""The inspectors' core (no Qt, no model): re-filter at a threshold, decision sets, overrides
mirrored on tasks for export, statistics and voting."""

from __future__ import annotations

import pytest

from workbench.core.errors import UserInputError
from workbench.core.formats.exporter import select_tasks
from workbench.core.inspect import overrides, refilter, stats, voting
from workbench.core.similarity import SimilarityIndex, score
from workbench.core.store.runs import create_run
from workbench.core.store.tasks import Instance, Task, add_task

SEEDS = [
    "Write a haiku about autumn leaves.",
    "Summarize the paragraph in one sentence.",
    "Classify the sentiment of the movie review.",
    "Give three synonyms for the word.",
]
CANDS = [  # (instruction, decision, reason)
    ("Write a haiku about spring leaves.", "dropped", "rouge"),
    ("Explain how a rainbow forms in simple words.", "kept", None),
    ("Explain how a rainbow forms in very simple words.", "dropped", "rouge"),
    ("List four fruits that are red.", "kept", None),
    ("Draw a picture of a cat.", "dropped", "blacklist"),
    ("Summarize the paragraph in one short sentence.", "dropped", "rouge"),
    ("Translate the sentence into French please.", "kept", None),
]


def make_run(ws, threshold=0.7):
    for s in SEEDS:
        add_task(ws, Task(s, [Instance("", "x")], source="seed"))
    run = create_run(ws, "self-instruct", {"threshold": threshold, "tokenizer": "rouge"})
    ids = []
    with ws.transaction():
        for pos, (text, d, why) in enumerate(CANDS):
            cid = ws.insert(
                "candidates",
                {
                    "run_id": run,
                    "position": pos,
                    "instruction": text,
                    "decision": d,
                    "reason": why,
                    "instances": [{"input": "", "output": f"o{pos}", "kept": True}],
                },
            )
            ids.append(cid)
            if d == "kept":
                tid = add_task(
                    ws,
                    Task(text, [Instance("", f"o{pos}")], source="generated", run_id=run),
                    candidate_id=cid,
                )
                ws.update("candidates", cid, {"task_id": tid})
    return run, ids


def replay(threshold):
    """The filter by hand: pool = seeds, candidates in order, kept ones join the pool."""
    pool = list(SEEDS)
    out = []
    for text, _d, why in CANDS:
        if why not in (None, "rouge"):
            out.append("dropped")
            continue
        best = max(score(text, p) for p in pool)
        out.append("kept" if best <= threshold else "dropped")
        if best <= threshold:
            pool.append(text)
    return out


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 0.7, 0.8, 1.0])
def test_decisions_at_threshold_equal_a_replay_by_hand_and_the_index(tmp_workspace, t):
    run, ids = make_run(tmp_workspace)
    plan = refilter.build_plan(tmp_workspace, run)
    res = refilter.decisions_at(plan, t)
    assert [res.decisions[c] for c in ids] == replay(t)
    idx = SimilarityIndex("rouge")
    idx.add_many(SEEDS)
    elig = [c[0] for c in CANDS if c[2] in (None, "rouge")]
    got = [d.kept for d in idx.add_incremental(elig, threshold=t)]
    assert [
        res.decisions[c] == "kept" for c, x in zip(ids, CANDS) if x[2] in (None, "rouge")
    ] == got
    assert res.counts()["kept"] + res.counts()["dropped"] == len(CANDS)
    assert res.reasons[ids[4]] == "blacklist"


def test_changes_and_apply_a_new_decision_set_keep_the_old_one(tmp_workspace):
    ws = tmp_workspace
    run, ids = make_run(ws)
    plan = refilter.build_plan(ws, run)
    cur = refilter.current_decisions(ws, run)
    assert refilter.changes(plan, refilter.decisions_at(plan, 0.7), cur) == []
    res = refilter.decisions_at(plan, 0.95)
    ch = refilter.changes(plan, res, cur)
    assert {c.candidate_id for c in ch} == {ids[0], ids[2], ids[5]}  # 0.83, 0.94, 0.92
    assert {c.new for c in ch} == {"kept"}
    s1 = refilter.apply_threshold(ws, plan, 0.95)
    s2 = refilter.apply_threshold(ws, plan, 0.2)
    sets = refilter.decision_sets(ws, run)
    assert [s["id"] for s in sets] == [s1, s2] and sets[0]["threshold"] == 0.95
    assert sets[1]["counts"] == refilter.decisions_at(plan, 0.2).counts()
    # The original decisions stay in candidates; the newest set is in force.
    assert ws.scalar("SELECT decision FROM candidates WHERE id = ?", (ids[0],)) == "dropped"
    assert refilter.current_decisions(ws, run) == refilter.decisions_at(plan, 0.2).decisions
    # Export follows: at 0.2 every ROUGE-replayed candidate was dropped, at 0.95 one was created.
    kept_exported = {t.instruction for t in select_tasks(ws, only="not-dropped", run_id=run)}
    want = {
        CANDS[i][0]
        for i, c in enumerate(ids)
        if refilter.decisions_at(plan, 0.2).decisions[c] == "kept"
    }
    assert kept_exported == want


def test_overrides_are_stored_exported_and_undone(tmp_workspace):
    ws = tmp_workspace
    run, ids = make_run(ws)
    kept, dropped = ids[1], ids[0]
    overrides.set_override(ws, kept, "dropped", "too vague")
    overrides.set_override(ws, dropped, "kept", "different season")
    rows = {o["candidate_id"]: o for o in overrides.list_overrides(ws, run)}
    assert rows[kept]["note"] == "too vague" and rows[dropped]["decision"] == "kept"
    exported = {t.instruction: t for t in select_tasks(ws, only="not-dropped", run_id=run)}
    assert CANDS[1][0] not in exported and CANDS[0][0] in exported
    made = exported[CANDS[0][0]]
    assert made.source == "generated" and [i.output for i in made.instances] == ["o0"]
    assert ws.scalar("SELECT candidate_id FROM tasks WHERE id = ?", (made.id,)) == dropped
    assert refilter.current_decisions(ws, run)[kept] == "dropped"
    # An override wins over a later decision set.
    plan = refilter.build_plan(ws, run)
    refilter.apply_threshold(ws, plan, 1.0)
    assert refilter.current_decisions(ws, run)[kept] == "dropped"
    overrides.clear_override(ws, kept)
    overrides.clear_override(ws, dropped)
    refilter.apply_threshold(ws, plan, 0.7)
    exported = {t.instruction for t in select_tasks(ws, only="not-dropped", run_id=run)}
    assert exported == {CANDS[i][0] for i in (1, 3, 6)}
    # The task the override made stays (the 1.0 set kept it); the views drop it now.
    made_id = ws.scalar("SELECT id FROM tasks WHERE candidate_id = ?", (dropped,))
    assert ws.query(
        "SELECT decision, decided_by FROM task_decisions WHERE task_id = ?", (made_id,)
    ) == [{"decision": "dropped", "decided_by": "threshold"}]
    assert (
        ws.scalar("SELECT json_extract(meta, '$.dropped') FROM tasks WHERE id = ?", (made_id,))
        is None
    )  # nothing is mirrored on the task any more
    # Undoing an override with no decision set in between removes the task it made.
    overrides.set_override(ws, ids[3], "dropped")
    overrides.set_override(ws, ids[4], "kept", "n")
    assert ws.scalar("SELECT count(*) FROM tasks WHERE candidate_id = ?", (ids[4],)) == 1
    overrides.clear_override(ws, ids[4])
    overrides.clear_override(ws, ids[3])
    assert ws.scalar("SELECT count(*) FROM tasks WHERE candidate_id = ?", (ids[4],)) == 0
    assert CANDS[3][0] in {t.instruction for t in select_tasks(ws, only="not-dropped", run_id=run)}
    with pytest.raises(UserInputError, match="keeps or drops"):
        overrides.set_override(ws, kept, "maybe")


def test_histogram_bins_and_stats(tmp_workspace):
    ws = tmp_workspace
    counts, edges = refilter.histogram([0.0, 0.05, 0.5, 1.0, None], bins=10)
    assert counts == [2, 0, 0, 0, 0, 1, 0, 0, 0, 1] and edges[0] == 0.0 and edges[-1] == 1.0
    run, ids = make_run(ws)
    assert stats.instruction_lengths(ws, source="seed") == [len(s.split()) for s in SEEDS]
    assert stats.instances_per_task(ws) == {1: 7}
    assert stats.leading_verb("Please, can you write a poem?") == "write"
    verbs = dict(stats.leading_verbs(ws))
    assert verbs["explain"] == 1 and verbs["write"] == 1 and verbs["summarize"] == 1
    overrides.set_override(ws, ids[1], "dropped")
    assert "explain" not in dict(stats.leading_verbs(ws))


def test_voting_majority_and_weighted(tmp_workspace):
    from workbench.core.selfcheck import store

    ws = tmp_workspace
    qid, _ = store.add_question(ws, "2+2?", source="manual", gold_answer="4")
    for ans, conf in [("5", 0.2), ("5", 0.3), ("4", 0.9)]:
        sid = store.add_solution(ws, qid, f"The answer is {ans}.", origin="imported")
        ws.execute("UPDATE sc_solutions SET confidence = ? WHERE id = ?", (conf, sid))
    v = voting.question_votes(ws, qid)
    assert v.majority == ["5"] and v.weighted == ["4"] and v.gold == "4"
    rows = {r.answer: r for r in v.rows}
    assert rows["5"].votes == 2 and rows["5"].confidence_sum == pytest.approx(0.5)
    assert rows["4"].is_gold and not rows["5"].is_gold


def _large_run(ws, n=240, seed=7):
    """Many candidates with every degree of overlap: shared templates, swapped words."""
    import random

    rng = random.Random(seed)
    verbs = ["Write", "Explain", "List", "Summarize", "Describe", "Compare", "Translate", "Rank"]
    things = [
        "a poem",
        "the causes",
        "three facts",
        "the main idea",
        "a short story",
        "two options",
        "the steps",
        "five reasons",
        "an outline",
        "the benefits",
    ]
    topics = [
        "of rainforests",
        "about tides",
        "for a picnic",
        "of the French revolution",
        "about black holes",
        "for new runners",
        "of solar panels",
        "about bees",
        "for a job interview",
        "of volcanoes",
        "about chess openings",
        "of the moon",
    ]
    for s in SEEDS:
        add_task(ws, Task(s, [Instance("", "x")], source="seed"))
    run = create_run(ws, "self-instruct", {"threshold": 0.7, "tokenizer": "rouge"})
    with ws.transaction():
        for pos in range(n):
            words = [rng.choice(verbs), rng.choice(things), rng.choice(topics)]
            if rng.random() < 0.5:
                words.append(
                    rng.choice(
                        ["in simple words", "for children", "in detail", "with examples", "briefly"]
                    )
                )
            ws.insert(
                "candidates",
                {
                    "run_id": run,
                    "position": pos,
                    "instruction": " ".join(words) + ".",
                    "decision": "kept" if pos % 3 else "dropped",
                    "reason": None if pos % 3 else "rouge",
                },
            )
    return run


def test_a_large_run_replays_exactly_from_its_floor_without_an_n_by_n_matrix(tmp_workspace):
    run = _large_run(tmp_workspace)
    dense = refilter.build_plan(tmp_workspace, run)
    sparse = refilter.build_plan(tmp_workspace, run, dense_max=50, floor=0.5)
    assert dense.within is not None and dense.floor == 0.0
    assert sparse.within is None and sparse.floor == 0.5
    stored = sum(len(c) for c, _ in sparse.earlier)
    assert 0 < stored < len(sparse.eligible) ** 2 / 4  # far fewer than n*n/2 pairs
    some_dropped = False
    for t in [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0]:
        a, b = refilter.decisions_at(dense, t), refilter.decisions_at(sparse, t)
        assert a.decisions == b.decisions, t
        some_dropped |= 0 < a.counts()["dropped"] < len(a.decisions)
        for cid, s in a.max_scores.items():
            if s > 0.5:
                assert b.max_scores[cid] == s  # exact above the floor
            else:
                assert b.max_scores[cid] <= 0.5
    assert some_dropped  # the thresholds really split the run
    with pytest.raises(Exception, match="from 0.50"):
        refilter.decisions_at(sparse, 0.3)
