"""Import tasks into a workspace: validated first, then written in one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserInputError
from ..store.tasks import Task, add_task, existing_norms, normalize_instruction
from ..store.workspace import Workspace
from . import selfinstruct_seed


@dataclass
class ImportResult:
    imported: int = 0
    classification: int = 0
    skipped_duplicates: int = 0
    format: str = ""

    def to_dict(self) -> dict:
        return {
            "imported": self.imported,
            "classification": self.classification,
            "skipped_duplicates": self.skipped_duplicates,
            "format": self.format,
        }


def add_tasks(ws: Workspace, tasks: list[Task], *, source: str = "imported") -> ImportResult:
    """Add tasks in one transaction, skipping exact duplicates of the workspace and of each other."""
    seen = existing_norms(ws)
    result = ImportResult()
    with ws.transaction():
        for task in tasks:
            key = normalize_instruction(task.instruction)
            if key in seen:
                result.skipped_duplicates += 1
                continue
            seen.add(key)
            task.source = source
            add_task(ws, task)
            result.imported += 1
            result.classification += bool(task.is_classification)
    return result


def detect_format(path: Path) -> str:
    """Guess a file's format from its content."""
    import json

    if path.is_dir():
        raise UserInputError("a folder; give a file", path=path)
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if raw.strip():
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    break
                if selfinstruct_seed.looks_like(obj):
                    return selfinstruct_seed.FORMAT
                break
    raise UserInputError(
        "the format could not be recognised",
        path=path,
        hint="Name it with --format (selfinstruct-seed).",
    )


def import_file(ws: Workspace, path: str | Path, fmt: str | None = None) -> ImportResult:
    p = Path(path)
    if not p.exists():
        raise UserInputError("no such file", path=p)
    fmt = fmt or detect_format(p)
    if fmt == selfinstruct_seed.FORMAT:
        tasks = selfinstruct_seed.read_seed_jsonl(p)
        source = "seed"  # a seed file grows the seed pool that SELF-INSTRUCT samples from
    else:
        raise UserInputError(f"unknown format {fmt!r}", path=p)
    result = add_tasks(ws, tasks, source=source)
    result.format = fmt
    return result
