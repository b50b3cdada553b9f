"""The window's concurrency setting (issue 17): the Models panel stores it beside the server URL,
the Reasoning panel's SELF-CHECK runs with it against a loopback simulated server and shows the
requests in flight in its progress line."""

from __future__ import annotations

import json

import pytest

from workbench.core.llm.simserver import SimulatedServer
from workbench.core.selfcheck import importers
from workbench.core.store.workspace import Workspace

pytestmark = pytest.mark.gui


def test_reasoning_panel_checks_with_the_servers_concurrency(qtbot, tmp_path):
    from workbench.gui.models_panel import ModelsPanel
    from workbench.gui.reasoning_panel import ReasoningPanel

    traces = tmp_path / "traces.jsonl"
    traces.write_text(
        "".join(
            json.dumps(
                {
                    "question": f"Bo has {q} cards and gets {q + 1} more. How many?",
                    "steps": [{"text": f"Step {i}: {q} + {i} cards."} for i in range(3)],
                    "answer": str(2 * q + 1),
                }
            )
            + "\n"
            for q in range(4)
        )
    )
    ws = Workspace.create(tmp_path / "ws.sqlite")
    importers.import_traces(ws, traces, "traces")
    with SimulatedServer(latency=0.02, per_token=0.0) as sim:
        models = ModelsPanel(ws, lambda _t: False)
        qtbot.addWidget(models)
        models.server_url.setText(sim.url)
        assert models.server_concurrency.maximum() == 1024  # the CLI's --concurrency range
        models.server_concurrency.setValue(4)
        models._save_server()
        assert ws.get_setting("server")["concurrency"] == 4
        ws.set_setting("gui.model", "server")

        def start(thread) -> bool:
            thread.start()
            return True

        panel = ReasoningPanel(ws, start_job=start)
        qtbot.addWidget(panel)
        shown: list[str] = []
        panel.check_status.setText = lambda text, _f=panel.check_status.setText: (
            shown.append(text),
            _f(text),
        )[1]
        assert panel.check_unchecked()
        with qtbot.waitSignal(panel.job.finished, timeout=60_000):
            pass
        qtbot.waitUntil(lambda: panel.job is None)
        assert ws.scalar("SELECT count(*) FROM sc_scores") == 4
        assert any("requests in flight" in t for t in shown)
        assert sim.max_in_flight > 1  # the setting reached the run
        assert "Checked 4 solutions" in panel.check_status.text()
        assert not panel.check_unchecked()  # nothing left to check
    ws.close()


def test_generate_panel_round_size_reaches_the_run(qtbot, tmp_path):
    """The Generate panel's round size (a workspace setting; 0 shows the core's default for the
    chosen model) is what a run started from the window uses, with the server's concurrency,
    and the requests in flight and the two endpoints' figures show in the progress line."""
    from workbench.core.seeds import init_workspace
    from workbench.core.selfinstruct.config import stored_run
    from workbench.gui.generate_panel import ROUND_SIZE_SETTING, GeneratePanel

    ws = init_workspace(tmp_path / "gen.sqlite")
    with (
        SimulatedServer(latency=0.02, per_token=0.0) as sim,
        SimulatedServer(latency=0.02, per_token=0.0) as other,
    ):
        ws.set_setting("server", {"url": f"{sim.url},{other.url}", "concurrency": 4})
        ws.set_setting("gui.model", "server")

        def start(thread) -> bool:
            thread.start()
            return True

        panel = GeneratePanel(ws, start_job=start)
        qtbot.addWidget(panel)
        assert panel.round_size.value() == 0 and panel.round_size.text() == "auto (16)"
        panel.round_size.setValue(3)
        assert ws.get_setting(ROUND_SIZE_SETTING) == 3
        assert GeneratePanel(ws, start_job=start).round_size.value() == 3  # kept
        panel.target.setValue(4)
        shown: list[str] = []
        panel.message.setText = lambda text, _f=panel.message.setText: (
            shown.append(text),
            _f(text),
        )[1]
        assert panel.start()
        qtbot.waitUntil(lambda: panel.state == "finished", timeout=60_000)
        run = stored_run(ws, panel.run_id)
        assert run is not None and run.config.round_size == 3
        assert ws.scalar("SELECT count(*) FROM tasks WHERE run_id = ?", (panel.run_id,)) == 4
        assert any("requests in flight" in t for t in shown)
        assert any(f"{other.url.split('//')[1]}: " in t and " req " in t for t in shown)
        assert sim.max_in_flight + other.max_in_flight > 2  # the concurrency reached the run
    ws.close()
