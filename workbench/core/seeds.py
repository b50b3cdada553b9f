"""The seed task sets shipped with the app, and new workspaces made from them."""

from __future__ import annotations

from pathlib import Path

from .formats.importer import ImportResult, add_tasks
from .formats.selfinstruct_seed import read_seed_jsonl
from .paths import seeds_dir
from .store.workspace import Workspace

SEED_SETS = {"en": "en.jsonl", "zh": "zh.jsonl"}


def seed_file(lang: str = "en") -> Path:
    try:
        return seeds_dir() / SEED_SETS[lang]
    except KeyError:
        raise ValueError(
            f"no bundled seed set for {lang!r}; known: {', '.join(SEED_SETS)}"
        ) from None


def add_bundled_seeds(ws: Workspace, lang: str = "en") -> ImportResult:
    tasks = read_seed_jsonl(seed_file(lang))
    for t in tasks:
        t.lang = lang
        t.origin = f"bundled:{lang}"
    result = add_tasks(ws, tasks, source="seed")
    # The similarity tokenizer follows the seed set's script (see core.similarity).
    ws.set_setting("seed_lang", lang)
    return result


def init_workspace(path: str | Path, *, empty: bool = False, lang: str = "en") -> Workspace:
    ws = Workspace.create(path)
    if not empty:
        add_bundled_seeds(ws, lang)
    return ws


def open_or_init_default(path: str | Path) -> Workspace:
    """The GUI's workspace: opened, or created with the English seeds when no file is there.
    An empty (0-byte) file is refused like any other non-workspace (WorkspaceError), never
    written to."""
    p = Path(path).expanduser()
    if p.exists():
        return Workspace.open(p)
    return init_workspace(p)
