"""The Generate panel's defaults and presets are the core's, and it sets the ROUGE-L threshold
of the run it starts (no model: the worker is intercepted where the run's config is built)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from workbench.core.selfinstruct.config import DEFAULTS, RunConfig, preset_choices  # noqa: E402

pytestmark = pytest.mark.gui


def test_generate_panel_defaults_and_threshold(qtbot, tmp_workspace, monkeypatch):
    from workbench.gui.generate_panel import GeneratePanel

    panel = GeneratePanel(tmp_workspace, start_job=lambda _thread: True)
    qtbot.addWidget(panel)
    assert (panel.target.value(), panel.seed.value()) == (DEFAULTS.target, DEFAULTS.seed)
    assert panel.threshold.value() == pytest.approx(DEFAULTS.threshold)
    assert [
        (panel.preset.itemText(i), panel.preset.itemData(i)) for i in range(panel.preset.count())
    ] == preset_choices()
    assert "above it is dropped" in panel.threshold.toolTip()
    built: list[dict] = []
    monkeypatch.setattr(panel, "configure_job", lambda _kw, cfg, _rid: built.append(cfg))
    monkeypatch.setattr(panel, "_launch", lambda: True)
    panel.threshold.setValue(0.55)
    panel.target.setValue(3)
    assert panel.start()
    config = RunConfig.from_dict(built[-1])
    assert (config.threshold, config.target, config.preset) == (0.55, 3, DEFAULTS.preset)
    config.validate()
    panel._set_state("running")
    assert not panel.threshold.isEnabled()
    panel._set_state("finished")
    assert panel.threshold.isEnabled()


def test_export_panel_offers_the_exporter_selections(qtbot, tmp_workspace):
    from workbench.core.formats.exporter import ONLY, ONLY_DEFAULT
    from workbench.gui.export_panel import ExportPanel

    panel = ExportPanel(tmp_workspace, start_job=lambda _thread: True)
    qtbot.addWidget(panel)
    assert [panel.only.itemData(i) for i in range(panel.only.count())] == list(ONLY)
    assert panel.only.currentData() == ONLY_DEFAULT == "not-dropped"


def test_generate_panel_rate_is_of_the_examined_candidates(qtbot, tmp_workspace):
    """The acceptance figure says what it is a share of: the candidates decided so far (a
    round's pending ones are not counted yet), as the CLI's "of examined accepted"."""
    from workbench.core.jobs import Progress
    from workbench.gui.generate_panel import GeneratePanel

    panel = GeneratePanel(tmp_workspace, start_job=lambda _thread: True)
    qtbot.addWidget(panel)
    data = {"accepted": 20, "candidates": 1234, "examined": 40, "acceptance_rate": 0.5}
    panel._on_progress(Progress("self-instruct", done=20, total=50, data=data))
    assert panel.figures["rate"].text() == "50 % of 40"
    assert panel.figures["candidates"].text() == "1,234"
    assert "decided" in panel.figures["rate"].toolTip()
