"""Import tasks into a workspace: read and validate the whole file first, then write in one
transaction (all or nothing), skipping exact duplicates of the workspace and of each other
and, when asked, near-duplicates by ROUGE-L.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserInputError
from ..store.tasks import Task, add_task, existing_norms, normalize_instruction, set_instances
from ..store.workspace import Workspace
from . import registry

if TYPE_CHECKING:
    from ..similarity import SimilarityIndex


@dataclass
class ImportResult:
    imported: int = 0
    classification: int = 0
    skipped_duplicates: int = 0
    format: str = ""
    skipped_similar: int = 0   # ROUGE-L above the threshold (only with dedup_threshold)
    filled: int = 0            # duplicates of tasks that had no instances: given this file's
    read: int = 0              # tasks the file held
    instances: int = 0         # instances of the imported tasks
    path: str = ""
    preview: bool = False      # counted only, nothing written

    def to_dict(self) -> dict:
        return {
            "imported": self.imported,
            "classification": self.classification,
            "skipped_duplicates": self.skipped_duplicates,
            "skipped_similar": self.skipped_similar,
            "filled": self.filled,
            "read": self.read,
            "instances": self.instances,
            "format": self.format,
            "path": self.path,
            "preview": self.preview,
        }


def _similarity_index(ws: Workspace) -> SimilarityIndex:
    # Imported when asked for: numpy and rapidfuzz stay out of a plain import (and of start-up).
    from ..similarity import SimilarityIndex, workspace_tokenizer

    index = SimilarityIndex(workspace_tokenizer(ws))
    index.add_many(r[0] for r in ws.execute("SELECT instruction FROM tasks ORDER BY id"))
    return index


def add_tasks(ws: Workspace, tasks: list[Task], *, source: str = "imported",
              dedup_threshold: float | None = None, dry_run: bool = False) -> ImportResult:
    """Add tasks in one transaction, skipping exact duplicates of the workspace and of each
    other, and with `dedup_threshold` those whose ROUGE-L F against any task (already there or
    added before it) is above it. `dry_run` counts without writing (the GUI's preview)."""
    result = ImportResult(read=len(tasks), preview=dry_run)
    with nullcontext() if dry_run else ws.transaction():
        # Read inside the write transaction: another process importing at the same time has
        # committed (or not started) by now, so its tasks count as duplicates, never twice.
        seen = existing_norms(ws)
        # Tasks with no instances yet (say, machine_generated_instructions.jsonl imported before
        # all_generated_instances.jsonl): a duplicate that brings instances fills them in.
        bare = {r[1]: r[0] for r in ws.execute(  # newest first, so the oldest of equals wins
            "SELECT id, norm FROM tasks t WHERE NOT EXISTS "
            "(SELECT 1 FROM instances i WHERE i.task_id = t.id) ORDER BY id DESC")}
        index = _similarity_index(ws) if dedup_threshold is not None else None
        for task in tasks:
            key = normalize_instruction(task.instruction)
            if key in seen:
                if task.instances and key in bare:
                    task_id = bare.pop(key)
                    if not dry_run:
                        fill_task(ws, task_id, task)
                    result.filled += 1
                    result.instances += len(task.instances)
                    continue
                result.skipped_duplicates += 1
                continue
            if index is not None and len(index) and index.max_score(task.instruction) > dedup_threshold:
                result.skipped_similar += 1
                continue
            seen.add(key)
            if index is not None:
                index.add(task.instruction)
            task.source = source
            if not dry_run:
                add_task(ws, task)
            result.imported += 1
            result.instances += len(task.instances)
            result.classification += bool(task.is_classification)
    return result


def fill_task(ws: Workspace, task_id: int, task: Task) -> None:
    """Give an instance-less task `task`'s instances, and its classification when unknown."""
    set_instances(ws, task_id, task.instances)
    if task.is_classification is not None:
        ws.execute("UPDATE tasks SET is_classification = ? WHERE id = ? AND is_classification "
                   "IS NULL", (int(bool(task.is_classification)), task_id))


def detect_format(path: Path) -> str:
    """Guess a file's (or folder's) format from its content."""
    return registry.detect_format(Path(path))


def read_file(path: str | Path, fmt: str | None = None) -> tuple[str, list[Task]]:
    """(format, tasks) from a file, validated; writes nothing."""
    p = Path(path)
    if not p.exists():
        raise UserInputError("no such file", path=p)
    fmt = fmt or registry.detect_format(p)
    spec = registry.get(fmt)
    if spec.read is None:
        raise UserInputError(f"{fmt!r} is an export-only format", path=p, field="format")
    if p.is_dir() and not spec.folder:
        raise UserInputError(f"a folder; the {fmt} format is a file", path=p)
    return fmt, spec.read(p)


def _replay(ws: Workspace, path: Path, compat: str | None) -> Any:
    # Imported when a reference run is found: the replay loads the SELF-INSTRUCT engine.
    from ..selfinstruct.replay import replay_reference_run

    return replay_reference_run(ws, path, compat=compat)


def import_file(ws: Workspace, path: str | Path, fmt: str | None = None, *,
                compat: str | None = None, dedup_threshold: float | None = None,
                preview: bool = False) -> Any:
    """Import a file, a dataset folder, or (a folder holding machine_generated_instructions.jsonl)
    replay a reference Self-Instruct run; returns an ImportResult (or the replay's result)."""
    p = Path(path)
    if not p.exists():
        raise UserInputError("no such file", path=p)
    if dedup_threshold is not None and not 0.0 <= dedup_threshold <= 1.0:
        raise UserInputError(f"expected a number from 0 to 1, found {dedup_threshold}",
                             field="dedup-rouge")
    if p.is_dir() and fmt in (None, registry.REFERENCE_RUN) and registry.is_reference_run(p):
        if preview:
            raise UserInputError("a reference run cannot be previewed; replay it", path=p)
        return _replay(ws, p, compat)
    fmt, tasks = read_file(p, fmt)
    result = add_tasks(ws, tasks, source=registry.get(fmt).source,
                       dedup_threshold=dedup_threshold, dry_run=preview)
    result.format = fmt
    result.path = str(p)
    return result


def preview_file(ws: Workspace, path: str | Path, fmt: str | None = None, *,
                 dedup_threshold: float | None = None) -> ImportResult:
    """The counts an import would give, without writing (the GUI shows them before committing)."""
    return import_file(ws, path, fmt, dedup_threshold=dedup_threshold, preview=True)
