"""Models (information, test prompt with the real default model) and Export, through the
panels."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from workbench.core.store.tasks import Instance, Task, add_task  # noqa: E402
from workbench.core.store.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture()
def window(qtbot, tmp_path):
    from workbench.gui.main_window import MainWindow

    ws = Workspace.open(tmp_path / "ws.sqlite", create=True)
    for i in range(12):
        add_task(
            ws,
            Task(
                f"Instruction {i}: do thing {i}.",
                [Instance(f"in {i}", f"out {i}")],
                i % 4 == 0,
                source="seed",
            ),
        )
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


@pytest.mark.model
def test_model_information_and_a_streamed_test_prompt(window, qtbot):
    panel = window.models
    window.show_panel("Models")
    panel.list.setCurrentRow(0)  # the embedded default
    qtbot.waitUntil(lambda: len(panel.info_labels["sha256"].text()) == 64, timeout=60_000)
    assert panel.info_labels["architecture"].text() == "llama"
    assert panel.info_labels["quantization"].text() != "—"
    assert panel.template.toPlainText()

    panel.max_tokens.setValue(8)
    panel.run_test()
    qtbot.waitUntil(
        lambda: "tokens/s" in panel.test_stats.text() or "failed" in panel.test_stats.text(),
        timeout=120_000,
    )
    assert "tokens/s" in panel.test_stats.text(), window.last_error
    assert panel.output.toPlainText().strip()
    assert panel.run_btn.isEnabled()


@pytest.mark.model
def test_the_loaded_model_is_kept_for_the_next_job(window, qtbot):
    """Two test prompts load the default model once; other settings or a new choice reload."""
    from workbench.gui.workers import MODELS

    panel = window.models
    panel.list.setCurrentRow(0)
    panel.max_tokens.setValue(4)
    loads = MODELS.loads

    def prompt_once() -> None:
        panel.run_test()
        qtbot.waitUntil(
            lambda: panel.run_btn.isEnabled() and panel._test_job is None, timeout=120_000
        )
        assert "tokens/s" in panel.test_stats.text(), window.last_error

    prompt_once()
    prompt_once()
    assert MODELS.loads == loads + 1 and MODELS.loaded
    window.ws.set_setting("llm", {"n_ctx": 1024})  # other settings: a new load
    prompt_once()
    assert MODELS.loads == loads + 2
    window._model_changed()  # a changed model choice frees the model at once
    assert not MODELS.loaded
    prompt_once()
    window.shutdown()  # quitting frees it too
    assert not MODELS.loaded


def test_export_alpaca_from_the_panel(window, qtbot, tmp_path):
    panel = window.export
    out = tmp_path / "out.json"
    panel.format.setCurrentIndex(panel.format.findData("alpaca"))
    panel.path.setText(str(out))
    assert panel.start()
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert out.is_file(), window.last_error
    records = json.loads(out.read_text(encoding="utf-8"))
    assert len(records) == 12
    assert {"instruction", "input", "output"} <= set(records[0])
    assert "Wrote" in panel.result.text()


def test_palette_follows_the_requested_scheme(qapp, monkeypatch):
    from PySide6.QtGui import QPalette

    from workbench.gui.theme import apply_theme

    monkeypatch.setenv("WORKBENCH_THEME", "dark")
    apply_theme(qapp)
    dark = qapp.palette().color(QPalette.ColorRole.Window).lightness()
    monkeypatch.setenv("WORKBENCH_THEME", "light")
    apply_theme(qapp)
    light = qapp.palette().color(QPalette.ColorRole.Window).lightness()
    assert dark < 80 < 200 < light
    assert "navigation" in qapp.styleSheet()


def test_export_failure_banner_belongs_to_the_panel_and_clears(window, qtbot, tmp_path):
    panel = window.export
    window.show_panel("Export")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    panel.format.setCurrentIndex(panel.format.findData("alpaca"))
    panel.path.setText(str(blocker / "out.json"))  # under a file: cannot be written
    assert panel.start()
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert panel.banner.isVisible() and panel.banner_label.text() == panel.last_error
    assert panel.result.text() == "Export failed."
    assert not window.error_banner.isVisible()  # not the window's: other tabs stay clear
    window.show_panel("Seeds")
    assert not panel.banner.isVisible() and not window.error_banner.isVisible()
    window.show_panel("Export")
    assert panel.banner.isVisible()  # still there when the person comes back

    out = tmp_path / "out.json"
    panel.path.setText(str(out))
    assert panel.start()
    assert not panel.banner.isVisible()  # a new attempt clears it at once
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert out.is_file() and not panel.banner.isVisible()
    assert "Wrote" in panel.result.text()

    panel.path.setText("")
    assert not panel.start()
    assert panel.banner.isVisible() and "Choose where" in panel.banner_label.text()


def test_export_result_names_tasks_without_examples(window, qtbot, tmp_path):
    """A task with no examples (added by hand, or kept in Inspect without instances) gives no
    record in an example format: the window's result says so rather than staying silent."""
    with window.ws.transaction():
        add_task(window.ws, Task("Name a colour.", [], False, source="seed"))
    panel = window.export
    out = tmp_path / "out.json"
    panel.format.setCurrentIndex(panel.format.findData("alpaca"))
    panel.path.setText(str(out))
    assert panel.start()
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 12, window.last_error
    assert "1 task has no examples and was not written" in panel.result.text()
