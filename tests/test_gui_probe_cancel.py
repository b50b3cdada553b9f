"""The window's Cancel reaches a server's model-list probe: a run started against a server that
accepts the connection and never answers ends as cancelled at once, not with the probe's
"no answer in 20 s" error, and the window goes on working (the next run finishes)."""

from __future__ import annotations

import pytest
from concurrency_helpers import HangListener
from PySide6.QtCore import Qt

from workbench.core.llm.simserver import SimulatedServer

pytestmark = pytest.mark.gui


def test_cancel_ends_the_model_list_probe_of_a_run(seeded_window, qtbot) -> None:
    from workbench.gui.model_choice import SERVER
    from workbench.gui.workers import MODELS

    window = seeded_window
    panel = window.generate
    window.ws.set_setting("gui.model", SERVER)
    with HangListener() as hang:
        window.ws.set_setting("server", {"url": hang.url})  # no model named: it is asked for
        window.models.model_changed.emit(SERVER)
        assert panel.model.currentData() == SERVER
        panel.target.setValue(180)  # beyond the seeds, so the run has work to do
        assert panel.start()
        assert hang.requests.wait(60)  # GET /v1/models is on the server, unanswered
        assert panel.state == "loading" and panel.cancel_btn.isEnabled()
        qtbot.mouseClick(panel.cancel_btn, Qt.MouseButton.LeftButton)
        # Not sliced, the probe would end after 20 s as an error ("failed"), never "cancelled".
        qtbot.waitUntil(lambda: panel.state in ("cancelled", "failed"), timeout=60_000)
    assert panel.state == "cancelled", window.last_error
    assert not window.error_banner.isVisible()
    assert panel.start_btn.isEnabled() and not MODELS.loaded  # nothing kept, nothing lent
    with SimulatedServer(latency=0.0, per_token=0.0) as sim:
        window.ws.set_setting("server", {"url": sim.url, "concurrency": 4})
        window.models.model_changed.emit(SERVER)
        panel.target.setValue(177)
        assert panel.start()
        qtbot.waitUntil(lambda: panel.state in ("finished", "failed"), timeout=120_000)
    assert panel.state == "finished", window.last_error
