"""The Generate panel's feed across a resume: the run's stored decisions (the last FEED_MAX,
newest first) come back before the resumed run's new ones, and a new run starts empty. The run
is built from stored candidates; the job stands in for the model (one progress event), so this
takes no model and a second."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from workbench.core.jobs import Progress  # noqa: E402
from workbench.core.selfinstruct import candidates  # noqa: E402
from workbench.core.selfinstruct.config import RUN_KIND  # noqa: E402
from workbench.core.store.runs import create_run, set_run_status  # noqa: E402

pytestmark = pytest.mark.gui

D, R = candidates.Decision, candidates.Reason


def stored_run(ws) -> int:
    run_id = create_run(ws, RUN_KIND, {"target": 5})
    rows = [
        ("Write a limerick about rain.", D.KEPT, None),
        ("Write a poem about rain.", D.DROPPED, R.ROUGE),
        ("Sort the list of numbers.", D.KEPT, None),
        ("Draw a picture of a cat.", D.DROPPED, R.NO_INSTANCES),
        ("Still waiting for instances.", D.PENDING, None),
        ("Closed at the target.", D.DROPPED, R.TARGET_REACHED),
    ]
    with ws.transaction():
        for pos, (text, decision, reason) in enumerate(rows):
            candidates.insert(
                ws, run_id, None, 0, pos, candidates.NewCandidate(text, decision, reason)
            )
    set_run_status(ws, run_id, "cancelled")
    return run_id


def test_resume_refills_the_feed_with_the_runs_decisions(empty_window, qtbot):
    from workbench.gui.workers import JobThread

    w = empty_window
    panel = w.generate
    run_id = stored_run(w.ws)
    panel.feed.insertRow(0)  # whatever the panel showed before is replaced, not kept twice

    def job(ctx):  # the resumed run's first event repeats one decision and adds a new one
        ctx.progress(
            Progress(
                "self-instruct",
                2,
                5,
                data={
                    "run_id": run_id,
                    "accepted": 2,
                    "last": [
                        {
                            "instruction": "Draw a picture of a cat.",
                            "decision": "dropped",
                            "reason": str(R.NO_INSTANCES),
                        },
                        {"instruction": "Name three rivers.", "decision": "kept", "reason": None},
                    ],
                },
            )
        )

    assert panel.launch_job(JobThread("self-instruct", w.ws.path, job, panel), 5, run_id)
    before = panel.feed_rows()
    assert before == [
        ("Draw a picture of a cat.", "dropped", str(R.NO_INSTANCES)),
        ("Sort the list of numbers.", "kept", ""),
        ("Write a poem about rain.", "dropped", str(R.ROUGE)),
        ("Write a limerick about rain.", "kept", ""),
    ]
    qtbot.waitUntil(lambda: panel.job is None, timeout=30_000)
    assert panel.feed_rows() == [("Name three rivers.", "kept", ""), *before]

    # A new run (no run to resume) starts with an empty feed.
    assert panel.launch_job(JobThread("self-instruct", w.ws.path, lambda ctx: None, panel), 5)
    assert panel.feed_rows() == []
    qtbot.waitUntil(lambda: panel.job is None, timeout=30_000)
