"""Both inspectors on a workspace made by a real small SELF-INSTRUCT run and a real SELF-CHECK
of a short trace (the embedded default model, tiny token limits), built once for the module."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from workbench.core.inspect import overrides, refilter  # noqa: E402
from workbench.core.similarity import lcs_alignment, score  # noqa: E402
from workbench.core.store.tasks import Instance, Task, add_task  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.model]

SEEDS = [
    "Write a haiku about autumn.",
    "Summarize the paragraph in one sentence.",
    "Classify the sentiment of the review as positive or negative.",
    "Give three synonyms for the given word.",
    "Translate the sentence into Spanish.",
    "Write a short poem about the sea.",
]
QUESTION = (
    "Tom has 3 apples. He buys 2 bags with 4 apples in each bag. How many apples does Tom have now?"
)
SOLUTIONS = [
    (
        "Step 1: Tom buys 2 bags with 4 apples each, so he buys 2 * 4 = 8 apples.\n"
        "Step 2: He had 3 apples, so now he has 3 + 8 = 11 apples.\n"
        "Step 3: So Tom has 11 apples now."
    ),
    ("Step 1: 2 bags of 4 apples is 6 apples.\nStep 2: The answer is 9."),
]


@pytest.fixture(scope="module")
def made(tmp_path_factory, llama_backend):
    from workbench.core.selfcheck import checker, store
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

    path = tmp_path_factory.mktemp("inspect") / "ws.sqlite"
    ws = Workspace.open(path, create=True)
    for i, text in enumerate(SEEDS):
        add_task(ws, Task(text, [Instance("", f"example {i}")], i == 2, source="seed"))
    # A low threshold makes ROUGE-L drops certain even in a two-task run.
    cfg = RunConfig(
        target=2,
        seed=1,
        threshold=0.3,
        gen_max_tokens=40,
        instances_max_tokens=16,
        max_instances=1,
        max_gen_calls=2,
    )
    summary = run_self_instruct(ws, llama_backend, cfg)
    qid, _ = store.add_question(ws, QUESTION, source="manual", gold_answer="11")
    sids = [
        store.add_solution(ws, qid, s, origin="imported", sample_index=i)
        for i, s in enumerate(SOLUTIONS)
    ]
    ccfg = checker.CheckConfig(
        max_tokens={"target": 12, "collect": 12, "regen": 16, "compare": 16, "followup": 4}
    )
    check_run = checker.start_check_run(ws, sids[:1], ccfg, backend=llama_backend)
    checker.check_run(ws, llama_backend, check_run)
    ws.close()
    return path, summary.run_id, sids


@pytest.fixture()
def window(qtbot, made):
    from workbench.gui.main_window import MainWindow

    ws = Workspace.open(made[0])
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def _ready(panel, qtbot):
    qtbot.waitUntil(lambda: panel.plan is not None, timeout=60_000)


def test_dropped_candidate_shows_the_cores_neighbours_scores_and_lcs(window, qtbot, made):
    _, run_id, _ = made
    window.show_panel("Inspect")
    panel = window.inspect
    assert panel.run_id == run_id
    ws = window.ws
    dropped = ws.query(
        "SELECT id, instruction, most_similar FROM candidates WHERE run_id = ? "
        "AND decision = 'dropped' AND reason = 'rouge' ORDER BY id",
        (run_id,),
    )
    assert dropped, "the run dropped nothing by ROUGE-L at 0.3"
    cand = dropped[0]
    assert panel.select_candidate(cand["id"])
    shown = panel.shown_neighbours()
    tok = panel._tokenizer()
    import json

    stored = sorted(json.loads(cand["most_similar"]).items(), key=lambda kv: -kv[1])
    assert [" ".join(t.split()) for t, _ in stored] == [t for t, _ in shown]
    for (text, stored_score), (_, shown_score) in zip(stored, shown):
        assert shown_score == pytest.approx(score(cand["instruction"], text, tok), abs=5e-5)
        assert shown_score == pytest.approx(stored_score, abs=5e-5)
    assert max(s for _, s in shown) > 0.3
    # The LCS highlighted for each neighbour is the core's alignment.
    for row, (text, _) in enumerate(stored[:3]):
        panel.neighbours.selectRow(row)
        assert panel.lcs_tokens == lcs_alignment(cand["instruction"], text, tok)
        ta, _tb, ia, _ib = panel.lcs_tokens
        for i in ia:
            assert f"<b>{ta[i]}</b>" in panel.lcs_a.text()
    assert "rouge" in panel.why_title.text()


def test_slider_counts_and_changes_equal_the_cores_refilter_and_apply(window, qtbot, made):
    _, run_id, _ = made
    panel = window.inspect
    _ready(panel, qtbot)
    plan = refilter.build_plan(window.ws, run_id)
    assert panel.slider.value() == 30
    cur = refilter.current_decisions(window.ws, run_id)
    for v in (30, 0, 55, 100, 80):
        panel.slider.setValue(v)
        qtbot.waitUntil(lambda v=v: panel.counts_label.text().startswith(f"At {v / 100:.2f}"))
        res = refilter.decisions_at(plan, v / 100)
        assert panel.shown_counts == res.counts()
        assert [c.candidate_id for c in panel.changed] == [
            c.candidate_id for c in refilter.changes(plan, res, cur)
        ]
        assert panel.changed_list.count() == len(panel.changed)
        assert f"{res.counts()['kept']:,} kept" in panel.counts_label.text()
    assert panel.histogram.counts == refilter.score_histogram(plan)[0]
    panel.slider.setValue(100)
    qtbot.waitUntil(lambda: panel.counts_label.text().startswith("At 1.00"))
    n_changed = len(panel.changed)
    assert n_changed > 0
    sid = panel.apply_threshold()
    assert refilter.decision_sets(window.ws, run_id)[-1]["id"] == sid
    assert panel.changed == []  # the new set is in force
    in_force = refilter.current_decisions(window.ws, run_id)
    assert in_force == refilter.decisions_at(plan, 1.0).decisions


def test_a_large_runs_slider_starts_at_its_floor(window, qtbot, made):
    _, run_id, _ = made
    panel = window.inspect
    _ready(panel, qtbot)
    sparse = refilter.build_plan(window.ws, run_id, dense_max=0, floor=0.5)
    panel._plan_built(run_id, sparse)
    assert panel.slider.minimum() == 50 and panel.slider.value() >= 50
    panel.slider.setValue(10)  # clamped by the slider: never a threshold the plan refuses
    qtbot.waitUntil(lambda: panel.counts_label.text().startswith("At 0.50"))
    assert not window.error_banner.isVisible()
    assert panel.shown_counts == refilter.decisions_at(sparse, 0.5).counts()


def test_override_with_note_is_stored(window, qtbot, made):
    _, run_id, _ = made
    panel = window.inspect
    ws = window.ws
    cid = ws.scalar(
        "SELECT id FROM candidates WHERE run_id = ? AND decision = 'dropped' ORDER BY id LIMIT 1",
        (run_id,),
    )
    assert panel.select_candidate(cid)
    panel.note.setText("a fine task after all")
    qtbot.mouseClick(panel.keep_btn, Qt.MouseButton.LeftButton)
    ov = overrides.get_override(ws, cid)
    assert ov["decision"] == "kept" and ov["note"] == "a fine task after all"
    assert "a fine task after all" in panel.override_info.text()
    tid = overrides.candidate_task_id(ws, cid)
    in_force = "SELECT decision FROM task_decisions WHERE task_id = ?"
    assert tid is not None and ws.scalar(in_force, (tid,)) == "kept"
    # The same by keyboard: Alt+N to the note, type, Alt+D drops, Alt+U undoes.
    window.show_panel("Inspect")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    panel.neighbours.setFocus()
    qtbot.keyClick(panel.neighbours, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    assert panel.note.hasFocus()
    panel.note.clear()
    qtbot.keyClicks(panel.note, "near-duplicate")
    qtbot.keyClick(panel.note, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    assert ws.scalar(in_force, (tid,)) == "dropped"
    assert overrides.get_override(ws, cid)["note"] == "near-duplicate"
    qtbot.keyClick(panel.note, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    assert overrides.get_override(ws, cid) is None


def test_step_through_a_checked_trace_with_the_keyboard_and_labels_survive_reopen(
    window, qtbot, made
):
    path, _, sids = made
    window.show_panel("Reasoning")
    panel = window.reasoning
    assert panel.select_trace(sids[0])
    t = panel.trace
    assert len(t["steps"]) == 3 and all(
        s["check"]["verdict"] in ("support", "contradict", "unrelated", "error") for s in t["steps"]
    )
    panel.steps.setFocus()
    assert panel.steps.currentRow() == 0
    # The four stages of the selected step, side by side.
    assert panel.stage_views["target"].toPlainText() == t["steps"][0]["check"]["target_output"]
    assert panel.stage_views["regen"].toPlainText() == t["steps"][0]["check"]["regen_output"]
    qtbot.keyClick(panel.steps, Qt.Key.Key_Plus)  # step 0: +1, moves on
    qtbot.keyClick(panel.steps, Qt.Key.Key_Minus)  # step 1: -1
    qtbot.keyClick(panel.steps, Qt.Key.Key_K)  # back to step 1
    assert panel.steps.currentRow() == 1
    qtbot.keyClick(panel.steps, Qt.Key.Key_F)  # flag step 1
    qtbot.keyClick(panel.steps, Qt.Key.Key_J)  # step 2
    qtbot.keyClick(panel.steps, Qt.Key.Key_0)  # step 2: 0
    assert "3 of 3 labelled" in panel.progress.text()
    assert (
        panel.stage_views["compare"]
        .toPlainText()
        .startswith(t["steps"][2]["check"]["compare_output"] or "")
    )
    qtbot.keyClick(panel.steps, Qt.Key.Key_N)  # next trace
    assert panel.trace["id"] == sids[1]
    assert "Majority" in panel.votes.toPlainText() and "gold: 11" in panel.votes.toPlainText()
    assert panel.vote_summary.gold == "11"
    qtbot.wait(20)
    window.shutdown()

    # A new Workspace object and a new window: the labels are there.
    from workbench.gui.main_window import MainWindow

    ws2 = Workspace.open(path)
    w2 = MainWindow(ws2)
    qtbot.addWidget(w2)
    qtbot.wait(20)  # let the window's start-up timers run before it closes
    try:
        p2 = w2.reasoning
        assert p2.select_trace(sids[0])
        labels = [(s["label"] or {}).get("rating") for s in p2.trace["steps"]]
        flags = [bool((s["label"] or {}).get("flag")) for s in p2.trace["steps"]]
        assert labels == [1, -1, 0] and flags == [False, True, False]
        assert "you: +1" in p2.steps.item(0).text() and "flagged" in p2.steps.item(1).text()
    finally:
        w2.shutdown()
    window.ws = Workspace.open(path)  # the fixture's shutdown closes it again


def test_a_normalised_candidate_shows_what_the_model_wrote(window, qtbot, made):
    from workbench.core.selfinstruct import candidates
    from workbench.core.selfinstruct.validity import normalise, shape_reason

    _, run_id, _ = made
    ws = window.ws
    raw = '3. "2023-07-15: The answer to the question is 5."'
    n = normalise(raw)
    assert n.text == "The answer to the question is 5." and shape_reason(n.text)
    with ws.transaction():
        cid = candidates.insert(
            ws,
            run_id,
            None,
            0,
            99,
            candidates.NewCandidate(
                n.text,
                candidates.Decision.DROPPED,
                candidates.Reason.NOT_AN_INSTRUCTION,
                meta={"raw": raw, "normalised": list(n.changes)},
            ),
        )
    try:
        window.show_panel("Inspect")
        panel = window.inspect
        panel.reload()
        assert panel.select_candidate(cid)
        # The Why tab's detail line, and the list's "Model wrote" column with its tooltip.
        assert not panel.raw_label.isHidden()
        assert raw in panel.raw_label.text()
        assert "numbering, quotes, date stripped" in panel.raw_label.text()
        col = [name for name, _ in panel.model.columns].index("Model wrote")
        rows = {panel.model.row(i)["id"]: i for i in range(panel.model.rowCount())}
        cell = panel.model.index(rows[cid], col)
        assert panel.model.data(cell) == raw
        assert panel.model.data(cell, Qt.ItemDataRole.ToolTipRole) == raw
        # A candidate the model wrote as it stands shows no raw text.
        plain = next(i for c, i in rows.items() if c != cid)
        if not panel.model.row(plain).get("meta") or "raw" not in panel.model.row(plain)["meta"]:
            assert panel.model.data(panel.model.index(plain, col)) == ""
            panel.table.selectRow(plain)
            assert panel.raw_label.isHidden()
    finally:
        with ws.transaction():
            ws.conn.execute("DELETE FROM candidates WHERE id = ?", (cid,))
