"""The README screenshots of the task editor on a preference pair and of the import's
column-mapping form (issue 18).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_editor.py

What is shown is real: LLaMA-Factory's DPO demo file (`../shared/data/datasets/llama-factory/
dpo_en_demo.json`, see ../shared/data/SOURCES.md) imported by the core importer, the editor
open on its first pair (chosen and rejected answers, kind, weight; the other tabs hold the
system prompt and earlier turns, tools and meta); FLAN's GSM8K CoT table
(`../shared/data/datasets/flan/gsm8k_train.tsv`) in the column-mapping form.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TMP = Path(tempfile.mkdtemp(prefix="wb-shots-"))
os.environ["WORKBENCH_HOME"] = str(TMP)
DATASETS = REPO.parent / "shared" / "data" / "datasets"
DPO = DATASETS / "llama-factory" / "dpo_en_demo.json"
TSV = DATASETS / "flan" / "gsm8k_train.tsv"


def main() -> None:
    if not DPO.is_file():
        raise SystemExit(f"{DPO} not found (../shared beside the repository)")
    os.environ["WORKBENCH_THEME"] = "light"
    from workbench.core.formats.importer import import_file
    from workbench.core.store.workspace import Workspace
    from workbench.gui.app import make_app
    from workbench.gui.main_window import MainWindow

    app = make_app()
    ws = Workspace.create(TMP / "workspace.sqlite")
    import_file(ws, DPO)
    task_id = ws.scalar(
        "SELECT task_id FROM instances WHERE kind = 'preference' ORDER BY seq LIMIT 1"
    )
    w = MainWindow(ws)
    w.resize(1280, 800)
    w.show()
    w.show_panel("Seeds")
    w.seeds.select_task(task_id)
    for _ in range(20):
        app.processEvents()
    out = HERE / "editor-preference.png"
    w.grab().save(str(out))
    print("wrote", out)
    from workbench.gui.import_mapping import ImportMappingDialog

    dialog = ImportMappingDialog(TSV, parent=w)
    dialog.resize(820, 560)
    dialog.show()
    for _ in range(20):
        app.processEvents()
    out = HERE / "import-mapping.png"
    dialog.grab().save(str(out))
    print("wrote", out)
    w.shutdown()


if __name__ == "__main__":
    main()
