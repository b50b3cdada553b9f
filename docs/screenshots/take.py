"""Regenerate the README screenshots: one PNG per panel (light) and the editor in dark.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take.py [--dark] [--only PANEL]

Everything shown is real: the Self-Instruct seed tasks, and, when the SELF-INSTRUCT and model
modules are in the tree, a short real run of the embedded default model for Generate/Inspect.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TMP = Path(tempfile.mkdtemp(prefix="wb-shots-"))
os.environ["WORKBENCH_HOME"] = str(TMP)


def seed_file() -> Path:
    shared = REPO.parent / "shared" / "data" / "self_instruct" / "seed_tasks.jsonl"
    if shared.is_file():
        return shared
    for name in ("en.jsonl", "zh.jsonl"):
        if (REPO / "seeds" / name).is_file():
            return REPO / "seeds" / name
    raise SystemExit("no seed file to show")


def wait(app, cond, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.01)
    return False


def shoot(window, name: str) -> None:
    window.grab().save(str(HERE / f"{name}.png"))
    print("wrote", HERE / f"{name}.png")


def main() -> None:
    theme = "dark" if "--dark" in sys.argv else "light"
    os.environ["WORKBENCH_THEME"] = theme
    from workbench.core.formats.importer import import_file
    from workbench.core.store.workspace import Workspace
    from workbench.gui.app import make_app
    from workbench.gui.main_window import MainWindow

    app = make_app()
    ws = Workspace.create(TMP / "workspace.sqlite")
    import_file(ws, seed_file())
    w = MainWindow(ws)
    w.resize(1280, 800)
    w.show()
    app.processEvents()

    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    real = only in (None, "Generate") and all(
        importlib.util.find_spec(m) for m in ("workbench.core.selfinstruct.run",
                                              "workbench.core.llm.factory"))
    if real:
        w.show_panel("Generate")
        w.generate.target.setValue(20)
        w.generate.config_overrides = {"gen_max_tokens": 160, "instances_max_tokens": 96}
        if w.generate.start():
            wait(app, lambda: w.generate.feed.rowCount() >= 8, 400)
            shoot(w, "generate")
            w.generate.cancel()
            wait(app, lambda: w.generate.state in ("cancelled", "finished", "failed"), 60)
    w.seeds.select_task(2)
    if theme == "dark":
        w.show_panel("Seeds")
        app.processEvents()
        shoot(w, "seeds-dark")
        w.shutdown()
        return
    for panel in ["Seeds", "Models", "Generate", "Inspect", "Reasoning", "Subsets", "Export"]:
        if (panel == "Generate" and real) or only not in (None, panel):
            continue
        w.show_panel(panel)
        if panel == "Subsets":
            w.subsets.budget.setValue(20)
            w.subsets.name.setText("spread-20")
            w.subsets.start()
            wait(app, lambda: w.subsets.job is None, 60)
        if panel == "Models":
            wait(app, lambda: w.models.info_labels["sha256"].text() != "—", 60)
            w.models.max_tokens.setValue(40)
            w.models.run_test()
            wait(app, lambda: "tokens/s" in w.models.test_stats.text()
                 or "failed" in w.models.test_stats.text(), 120)
        app.processEvents()
        shoot(w, panel.lower())
    w.error_banner.hide()
    w.shutdown()


if __name__ == "__main__":
    main()
