"""Screenshots of the two inspectors (inspect*.png, stepper*.png) from a real small run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_inspect.py
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TMP = Path(tempfile.mkdtemp(prefix="wb-inspect-shots-"))
os.environ["WORKBENCH_HOME"] = str(TMP)


def main() -> None:
    from workbench.core.formats.importer import import_file
    from workbench.core.llm.factory import open_backend
    from workbench.core.selfcheck import checker, store
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct
    from workbench.core.store.workspace import Workspace
    from workbench.gui.app import make_app
    from workbench.gui.main_window import MainWindow

    app = make_app()
    ws = Workspace.create(TMP / "ws.sqlite")
    import_file(ws, HERE.parents[1] / "seeds" / "en.jsonl")
    backend = open_backend("default")
    run_self_instruct(ws, backend, RunConfig(target=4, seed=3, gen_max_tokens=160,
                                             instances_max_tokens=48, max_instances=1,
                                             max_gen_calls=6))
    q = ("Tom has 3 apples. He buys 2 bags with 4 apples in each bag. "
         "How many apples does Tom have now?")
    qid, _ = store.add_question(ws, q, source="manual", gold_answer="11")
    sols = ["Step 1: Tom buys 2 bags with 4 apples each, so he buys 2 * 4 = 8 apples.\n"
            "Step 2: He had 3 apples, so now he has 3 + 8 = 11 apples.\nStep 3: So the answer is 11.",
            "Step 1: 2 bags of 4 apples is 6 apples.\nStep 2: 3 + 6 = 9.\nStep 3: The answer is 9.",
            "Step 1: He buys 8 apples.\nStep 2: 3 + 8 = 11. The answer is 11."]
    sids = [store.add_solution(ws, qid, s, origin="imported", sample_index=i)
            for i, s in enumerate(sols)]
    cfg = checker.CheckConfig(max_tokens={"target": 24, "collect": 24, "regen": 40,
                                          "compare": 40, "followup": 6})
    checker.check_run(ws, backend, checker.start_check_run(ws, sids, cfg, backend=backend))
    backend.close()
    w = MainWindow(ws)
    w.resize(1400, 860)
    w.show()
    w.show_panel("Inspect")
    p = w.inspect
    while p.plan is None:
        app.processEvents()
    dropped = ws.scalar("SELECT id FROM candidates WHERE decision = 'dropped' AND reason = "
                        "'rouge' ORDER BY max_score DESC LIMIT 1") or ws.scalar(
        "SELECT id FROM candidates ORDER BY id LIMIT 1")
    p.select_candidate(dropped)
    app.processEvents()
    w.grab().save(str(HERE / "inspect.png"))
    p.tabs.setCurrentIndex(1)
    p.slider.setValue(55)
    for _ in range(50):
        app.processEvents()
    p._update_threshold()
    app.processEvents()
    w.grab().save(str(HERE / "inspect-threshold.png"))
    p.tabs.setCurrentIndex(2)
    app.processEvents()
    w.grab().save(str(HERE / "inspect-stats.png"))
    w.show_panel("Reasoning")
    r = w.reasoning
    r.select_trace(sids[0])
    r.steps.setFocus()
    r.label(1)
    r.steps.setCurrentRow(1)
    app.processEvents()
    w.grab().save(str(HERE / "stepper.png"))
    print("wrote", HERE)
    w.shutdown()


if __name__ == "__main__":
    main()
