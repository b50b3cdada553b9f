"""The CoT panel: one cheap real run with the default model (1 question, 1 path, few tokens)
through the window's worker, its results table; Cancel; a bad file's line and field; the
results table keeps the question column the widest at the window's small sizes."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")


pytestmark = pytest.mark.gui


@pytest.fixture()
def window(empty_window):
    empty_window.show_panel("CoT")
    return empty_window


@pytest.fixture()
def gsm8k(shared_data):
    return shared_data / "reasoning" / "gsm8k_test_first200.jsonl"


def _configure(panel, path, *, samples=1, limit=1, max_tokens=16, mode="sample"):
    panel.path.setText(str(path))
    panel.samples.setValue(samples)
    panel.limit.setValue(limit)
    panel.max_tokens.setValue(max_tokens)
    panel.mode.setCurrentIndex(panel.mode.findData(mode))


def test_modes_are_the_clis(window):
    from workbench.core.cot.rationale import MODES

    modes = [window.cot.mode.itemData(i) for i in range(window.cot.mode.count())]
    assert sorted(modes) == sorted(MODES) and modes[0] == "sample"  # the CLI's default


@pytest.mark.model
def test_one_cheap_real_run(window, qtbot, gsm8k):
    pytest.importorskip("llama_cpp")
    panel = window.cot
    _configure(panel, gsm8k)
    assert panel.start()
    assert not panel.run_btn.isEnabled() and panel.cancel_btn.isEnabled()
    qtbot.waitUntil(lambda: panel.job is None, timeout=300_000)
    assert panel.run_btn.isEnabled() and not panel.cancel_btn.isEnabled()
    run_id = panel.run_id
    assert (
        run_id is not None
        and f"CoT run {run_id}: 1 question, 1 sample each; kept " in panel.result.text()
    )
    row = window.ws.query(
        "SELECT p.kept, p.reason, p.answer, i.gold_answer, i.input FROM cot_paths p "
        "JOIN cot_items i ON i.id = p.item_id WHERE i.run_id = ?",
        (run_id,),
    )
    assert len(row) == 1 and panel.table.rowCount() == 1
    r = row[0]
    first = json.loads(gsm8k.read_text(encoding="utf-8").splitlines()[0])
    assert panel.table.item(0, 1).text() == " ".join(first["question"].split())
    result = panel.table.item(0, 3).text()
    assert result == ("kept" if r["kept"] else f"dropped: {r['reason']}")
    assert panel.table.item(0, 4).text() == (r["answer"] if r["answer"] is not None else "—")
    assert r["gold_answer"] == "18" and "gold: 18" in panel.table.item(0, 4).toolTip()


@pytest.mark.model
def test_cancel(window, qtbot, gsm8k):
    pytest.importorskip("llama_cpp")
    panel = window.cot
    _configure(panel, gsm8k, samples=4, limit=50, max_tokens=64)
    seen: list = []

    def cancel_at_first_path(ev):
        seen.append(ev)
        if ev.stage == "cot" and ev.done >= 1 and panel.job is not None:
            panel.cancel()

    assert panel.start()
    panel.job.progress.connect(cancel_at_first_path)
    qtbot.waitUntil(lambda: panel.job is None, timeout=300_000)
    assert panel.result.text() == panel.cancelled_text
    assert panel.run_btn.isEnabled()
    run_id = panel.run_id
    status = window.ws.scalar("SELECT status FROM runs WHERE id = ?", (run_id,))
    done = window.ws.scalar(
        "SELECT count(*) FROM cot_paths p JOIN cot_items i ON i.id = p.item_id WHERE i.run_id = ?",
        (run_id,),
    )
    assert status == "cancelled" and 1 <= done < 200
    assert panel.table.rowCount() == done  # what was judged is listed


def test_bad_file_names_line_and_field(window, qtbot, tmp_path):
    bad = tmp_path / "questions.jsonl"
    bad.write_text(
        '{"question": "What is 2 + 2?", "answer": "2 + 2 = 4\\n#### 4"}\n{"question": 5}\n',
        encoding="utf-8",
    )
    panel = window.cot
    _configure(panel, bad, limit=0)
    with qtbot.waitSignal(panel.error, timeout=60_000) as sig:
        assert panel.start()
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert str(bad) in sig.args[0] and "line 2" in sig.args[0], sig.args[0]
    assert window.ws.scalar("SELECT count(*) FROM runs WHERE kind = 'cot'") == 0
    assert panel.result.text() == panel.failed_text


def test_no_file_says_so(window):
    errors: list[str] = []
    window.cot.error.connect(errors.append)
    assert not window.cot.start()
    assert errors and "Choose a file" in errors[0]


@pytest.mark.parametrize("size", [(1024, 600), (900, 560)])
def test_results_question_column_is_the_widest(window, qtbot, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0], timeout=5_000)
    qtbot.wait(50)
    h = window.cot.table.horizontalHeader()
    widths = [h.sectionSize(c) for c in range(h.count())]
    assert widths[1] > max(w for c, w in enumerate(widths) if c != 1), widths
    assert widths[1] >= 150, widths
    assert window.cot.table.viewport().width() >= sum(widths) - 2, widths
