"""The main window at its minimum size (900×560): nothing that matters is cut off."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QLabel  # noqa: E402


def test_seeds_instruction_column_stays_readable_when_narrow(seeded_window, qtbot):
    w = seeded_window
    w.resize(900, 560)
    w.show_panel("Seeds")
    seeds = w.seeds
    header = seeds.table.horizontalHeader()
    text = seeds.model.index(0, 1).data()
    fm = seeds.table.fontMetrics()
    forty = fm.horizontalAdvance(text[:40])  # about 260 px in the default font
    qtbot.waitUntil(lambda: header.sectionSize(1) >= forty, timeout=5_000)
    others = [header.sectionSize(c) for c in range(header.count()) if c != 1]
    assert header.sectionSize(1) > max(others), others
    assert not header.isSectionHidden(0)  # the task id stays
    assert seeds.search.width() >= fm.horizontalAdvance("Search instructions")

    w.resize(1600, 900)  # room again: the hidden columns come back
    qtbot.waitUntil(lambda: not any(header.isSectionHidden(c) for c in range(6)), timeout=5_000)
    assert header.sectionSize(1) > max(header.sectionSize(c) for c in (0, 2, 3, 4, 5))


def test_models_panel_wraps_and_scrolls_instead_of_clipping(seeded_window, qtbot):
    w = seeded_window
    w.resize(900, 560)
    w.show_panel("Models")
    panel = w.models
    panel.list.setCurrentRow(0)  # the embedded default: its information is read for real
    qtbot.waitUntil(lambda: len(panel.info_labels["sha256"].text()) == 64, timeout=60_000)
    qtbot.waitUntil(lambda: "llama.cpp features" in panel.cpu_note.text(), timeout=20_000)
    qtbot.wait(50)  # one more layout pass after the texts changed

    labels = [
        lab
        for lab in panel.scroll.widget().findChildren(QLabel)
        if lab.isVisible() and lab.buddy() is None and lab.text().strip()
    ]
    values = [lab for lab in panel.info_labels.values() if isinstance(lab, QLabel)]
    for lab in [*values, panel.gpu_note, panel.cpu_note, panel.test_stats]:
        assert lab.wordWrap(), lab.objectName() or lab.text()
    for lab in labels:
        needed = lab.heightForWidth(lab.width()) if lab.wordWrap() else lab.sizeHint().height()
        assert needed <= lab.height(), (lab.text()[:60], needed, lab.height())
    line = panel.template.fontMetrics().lineSpacing()
    assert panel.template.isReadOnly() and panel.template.height() >= 5 * line
    # The page is taller than the window, so it scrolls rather than squeezes.
    assert panel.scroll.verticalScrollBar().maximum() > 0
    for box in (panel.info_box, panel.settings_box, panel.server_box, panel.test_box):
        assert box.fontMetrics().horizontalAdvance(box.title()) < box.width(), box.title()


def test_generate_figures_and_captions_fit_when_narrow(seeded_window, qtbot):
    """Issue: "accepted / targ", "accepted of ex" were cut off at 900×560. Each caption, and
    each figure at a wide value, needs no more width than it has."""
    w = seeded_window
    w.resize(900, 560)
    w.show_panel("Generate")
    panel = w.generate
    wide = {
        "accepted": "12,345 / 50,000",
        "candidates": "123,456",
        "rate": "45 % of 123,456",
        "tps": "1,234.5",
        "eta": "12h 34m",
    }
    for key, text in wide.items():
        panel.figures[key].setText(text)
    qtbot.wait(50)  # a layout pass after the texts changed
    assert (w.width(), w.height()) == (900, 560)
    for key, cap in panel.captions.items():
        assert cap.isVisible() and cap.sizeHint().width() <= cap.width(), (cap.text(), cap.width())
        value = panel.figures[key]
        assert value.sizeHint().width() <= value.width(), (value.text(), value.width())
