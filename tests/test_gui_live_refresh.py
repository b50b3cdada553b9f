"""While a SELF-INSTRUCT run is going, the panel in view shows the tasks it accepts (at most
every LIVE_REFRESH_MS) and the others catch up when shown; typing in the seed form is never
interrupted. The run here is scripted (orchestration only: the real-model GUI run is in
test_gui_generate.py) and held mid-way by the test so "during" is certain."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

sys.path.insert(0, str(Path(__file__).parent / "reliability"))
from helpers import good_selfinstruct_backend  # noqa: E402

from workbench.core.store.tasks import count_tasks  # noqa: E402

pytestmark = pytest.mark.gui
HOLD_AFTER_CALLS = 8


@pytest.fixture()
def window(seeded_window):
    return seeded_window


def _held_run(window, release: threading.Event):
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct
    from workbench.gui.workers import JobThread

    inner = good_selfinstruct_backend(seed=3)
    calls = {"n": 0}
    real_chat = inner.chat

    def chat(messages, params, **kw):
        calls["n"] += 1
        if calls["n"] == HOLD_AFTER_CALLS:
            release.wait(60)
        return real_chat(messages, params, **kw)

    inner.chat = chat

    def job(ctx):
        ws = ctx.open_workspace()
        return run_self_instruct(
            ws,
            inner,
            RunConfig(preset="chat", target=6, seed=3),
            progress=ctx.progress,
            cancel=ctx.cancel,
        )

    return JobThread("self-instruct", window.ws.path, job, window.generate)


def test_views_follow_a_running_generation(window, qtbot):
    seeds = count_tasks(window.ws)
    release = threading.Event()
    window.show_panel("Seeds")
    assert window.seeds.count_label.text() == f"{seeds:,} tasks"
    assert window.generate.launch_job(_held_run(window, release), 6)
    try:
        # The run is held mid-way; the Seeds view (in view) already lists what it accepted.
        qtbot.waitUntil(
            lambda: window.seeds.count_label.text() != f"{seeds:,} tasks", timeout=30_000
        )
        assert window.generate.job is not None and window.generate.job.busy
        shown = int(window.seeds.count_label.text().split()[0].replace(",", ""))
        assert seeds < shown <= count_tasks(window.ws)
        # Inspect was not in view: it is marked stale, then read again when shown.
        assert "Inspect" in window._stale
        assert window.inspect.run.count() == 0
        window.show_panel("Inspect")
        assert "Inspect" not in window._stale and window.inspect.run.count() == 1
        # In view during the run: lists and counts follow, the threshold plan is kept (not
        # rescored every refresh; it is rebuilt when the run ends).
        qtbot.waitUntil(lambda: window.inspect.plan is not None, timeout=30_000)
        plan = window.inspect.plan
        window._refresh_live()
        assert window.inspect.plan is plan and window.inspect.slider.isEnabled()
        assert window.inspect.summary.text().startswith(
            f"{window.ws.scalar('SELECT count(*) FROM candidates'):,} candidates"
        )

        # Someone typing in the seed form is not interrupted by a refresh.
        window.show_panel("Seeds")
        window.seeds.form.instruction.setFocus()
        window._stale.clear()
        window._refresh_live()
        assert "Seeds" in window._stale
    finally:
        release.set()
    qtbot.waitUntil(lambda: window.generate.state == "finished", timeout=60_000)
    assert window._stale == set()
    assert window.seeds.count_label.text() == f"{seeds + 6:,} tasks"
    # Rebuilt once the run ended, over every candidate it made.
    qtbot.waitUntil(lambda: window.inspect.plan not in (None, plan), timeout=30_000)
    assert len(window.inspect.plan.ids) == window.ws.scalar("SELECT count(*) FROM candidates")
