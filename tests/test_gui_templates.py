"""Prompt templates edited in the app: built-ins are never written; an edit lands in the
workspace's template folder and the next run (window or CLI) prompts with it; reset, revert,
another folder (the reference's templates), and unsaved edits are never lost silently."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from workbench.core.selfinstruct import prompts  # noqa: E402
from workbench.core.selfinstruct.prompts import TEMPLATES_SETTING  # noqa: E402
from workbench.core.selfinstruct.run import RunConfig, run_self_instruct  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent / "reliability"))
from helpers import good_selfinstruct_backend  # noqa: E402

pytestmark = pytest.mark.gui
MARK = "Remember: a task that picks one label from a fixed set is classification."


@pytest.fixture()
def window(seeded_window):
    return seeded_window


def _type(dlg, text: str) -> None:
    """Replace the editor's text as typing would (setPlainText counts as a fresh load)."""
    dlg.editor.selectAll()
    dlg.editor.insertPlainText(text)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_edit_a_template_and_the_next_run_prompts_with_it(window, qtbot, tmp_path, monkeypatch):
    builtin = _digest(prompts.default_templates_dir())
    panel = window.generate
    assert panel.templates_label.text() == "built-in"
    dlg = panel.edit_templates()
    dlg.list.setCurrentRow(dlg.keys.index("clf"))
    assert dlg.source.text().startswith("Built-in:") and not dlg.reset_btn.isEnabled()
    original = dlg.editor.toPlainText()
    _type(dlg, MARK + "\n\n" + original)
    assert dlg.save_btn.isEnabled() and dlg.windowTitle().endswith("*")
    assert dlg.save()
    folder = tmp_path / "ws-prompts"
    assert (folder / "clf_identify.txt").read_text(encoding="utf-8").startswith(MARK)
    assert sorted(p.name for p in folder.iterdir()) == ["clf_identify.txt"]  # only the edit
    assert window.ws.get_setting(TEMPLATES_SETTING) == str(folder)
    assert dlg.source.text().startswith("Yours:") and dlg.reset_btn.isEnabled()
    dlg.close()
    assert panel.templates_label.text() == f"yours: {folder}"
    assert _digest(prompts.default_templates_dir()) == builtin  # never written

    # A run on this workspace (as the Generate panel or the CLI starts it) uses the edit and
    # records the folder, so a resume prompts the same way.
    s = run_self_instruct(
        window.ws, good_selfinstruct_backend(1), RunConfig(preset="chat", target=2)
    )
    clf = window.ws.query(
        "SELECT messages FROM model_calls WHERE run_id = ? AND purpose = 'classification'",
        (s.run_id,),
    )
    assert clf and all(MARK in c["messages"] for c in clf)
    gen = window.ws.query(
        "SELECT messages FROM model_calls WHERE run_id = ? AND purpose = 'instruction-generation'",
        (s.run_id,),
    )
    assert gen and not any(MARK in c["messages"] for c in gen)  # the others stayed built-in
    cfg = window.ws.query("SELECT config FROM runs WHERE id = ?", (s.run_id,))[0]["config"]
    assert str(folder) in cfg

    # Reset brings the built-in one back (the file goes; the folder stays chosen).
    dlg = panel.edit_templates()
    dlg.list.setCurrentRow(dlg.keys.index("clf"))
    assert dlg.editor.toPlainText().startswith(MARK)
    dlg.reset()
    assert dlg.editor.toPlainText() == original and not (folder / "clf_identify.txt").exists()
    dlg.close()


def test_unsaved_edits_ask_and_empty_templates_are_refused(window, qtbot, monkeypatch):
    dlg = window.generate.edit_templates()
    answers = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warnings.append(text))
    _type(dlg, "changed")
    answers.append(QMessageBox.StandardButton.Cancel)
    dlg.list.setCurrentRow(2)  # cancelled: stays on the edited template, edit kept
    qtbot.waitUntil(lambda: dlg.list.currentRow() == 0)
    assert dlg.editor.toPlainText() == "changed" and dlg.key == dlg.keys[0]
    answers.append(QMessageBox.StandardButton.Discard)
    dlg.list.setCurrentRow(2)
    assert dlg.key == dlg.keys[2] and dlg.editor.toPlainText() != "changed"
    _type(dlg, "   ")
    assert not dlg.save() and "cannot be empty" in warnings[-1]
    dlg.revert_btn.click()
    assert dlg.editor.toPlainText().strip() and not dlg.save_btn.isEnabled()
    dlg.close()


def test_another_folder_such_as_the_reference_templates(window, qtbot, shared_data):
    ref = shared_data / "self_instruct" / "reference_templates"
    dlg = window.generate.edit_templates()
    assert dlg.set_folder(ref)
    dlg.list.setCurrentRow(dlg.keys.index("clf"))
    src = next(ref / n for n in prompts.TEMPLATE_FILES["clf"] if (ref / n).is_file())
    assert dlg.editor.toPlainText() == src.read_text(encoding="utf-8")
    assert dlg.source.text() == f"Yours: {src}"
    assert dlg.set_folder(None)  # back to the built-in set
    assert window.ws.get_setting(TEMPLATES_SETTING) is None
    assert dlg.source.text().startswith("Built-in:")
    dlg.close()


def test_save_refuses_a_broken_placeholder_and_keeps_the_text(window, qtbot, monkeypatch, tmp_path):
    """The tester's case: {examples} misspelt in the chat step-1 template. Save says why in the
    dialog, writes nothing, and the typed text stays in the editor to be fixed."""
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warnings.append(text))
    dlg = window.generate.edit_templates()
    dlg.list.setCurrentRow(dlg.keys.index("chat_instruction_gen"))
    typed = dlg.editor.toPlainText().replace("{examples}", "{exampels}")
    _type(dlg, typed)
    assert not dlg.save()
    assert "Step 1: new instructions (chat models)" in warnings[-1]
    assert "unknown placeholder {exampels}; did you mean {examples}?" in warnings[-1]
    assert dlg.editor.toPlainText() == typed and dlg.save_btn.isEnabled()
    assert not (tmp_path / "ws-prompts").exists()
    assert window.ws.get_setting(TEMPLATES_SETTING) is None
    _type(dlg, typed.replace("{exampels}", "{examples}"))  # fixed: it saves
    assert dlg.save() and (tmp_path / "ws-prompts" / "chat_instruction_gen.txt").is_file()
    dlg.close()


def test_start_with_a_broken_template_shows_it_before_the_model_loads(
    window, qtbot, monkeypatch, tmp_path
):
    """A template broken outside the dialog (edited by hand): Start shows the file and the
    placeholder in the banner; no model is loaded and no run row is left."""
    from workbench.gui.workers import JobContext

    folder = tmp_path / "ws-prompts"
    folder.mkdir()
    broken = folder / "chat_instruction_gen.txt"
    text = prompts.Templates.load().chat_instruction_gen.replace("{examples}", "{exampels}")
    broken.write_text(text, encoding="utf-8")
    window.ws.set_setting(TEMPLATES_SETTING, str(folder))
    loads: list[object] = []
    monkeypatch.setattr(JobContext, "model", lambda self, **kw: loads.append(kw))
    panel = window.generate
    assert panel.start()
    qtbot.waitUntil(lambda: panel.state == "failed", timeout=20_000)
    assert window.error_banner.isVisible()
    assert str(broken) in window.last_error and "did you mean {examples}" in window.last_error
    assert "Unexpected" not in window.last_error
    assert loads == []
    assert window.ws.scalar("SELECT count(*) FROM runs") == 0
