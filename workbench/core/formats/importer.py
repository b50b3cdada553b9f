"""Import tasks into a workspace: read and validate the whole file first, then write in one
transaction (all or nothing), skipping exact duplicates of the workspace and of each other
and, when asked, near-duplicates by ROUGE-L.

A task whose instruction is already in the workspace gets this file's examples that it does not
hold yet (a duplicate is an identical example: store.examples.example_key); one that brings
nothing new counts as a skipped duplicate. Every bad record of the file is reported at once
(validation.py, up to 50 listed with the total); nothing is written unless `skip_invalid`,
which imports the valid records and writes the rejected ones, with their reasons, to
`<name>.rejected.jsonl` beside the input (or `rejected_out`).
"""

from __future__ import annotations

import functools
import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserInputError, plural
from ..store import examples as store_examples
from ..store.tasks import (
    Instance,
    Task,
    add_task,
    existing_norms,
    normalize_instruction,
    update_task,
)
from ..store.workspace import Workspace
from . import collection, registry
from .reading import iter_records
from .validation import (
    CAP,
    InvalidRecords,
    Problems,
    collecting,
    detected_hint,
    parse_each,
    rejected_path,
    write_rejected,
)

if TYPE_CHECKING:
    from ..similarity import SimilarityIndex


@dataclass
class ImportResult:
    imported: int = 0
    classification: int = 0
    skipped_duplicates: int = 0
    format: str = ""
    skipped_similar: int = 0  # ROUGE-L above the threshold (only with dedup_threshold)
    # duplicates of tasks that had no instances, given this file's examples (and the fields
    # they lacked)
    filled: int = 0
    # duplicates of tasks that had no instances, given only fields they lacked (a step-3 line
    # whose text gave no example: its raw_instances, instances_unparsed, ...)
    filled_fields: int = 0
    read: int = 0  # records the file held (its tasks + merged_records; rejected apart)
    instances: int = 0  # examples added (to new tasks and to existing ones)
    path: str = ""
    preview: bool = False  # counted only, nothing written
    merged: int = 0  # existing tasks that got new examples from this file
    duplicate_examples: int = 0  # examples identical to one already there (or earlier in the file)
    rejected: int = 0  # bad records left out (only with skip_invalid)
    rejected_path: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)  # the first CAP bad records
    notes: dict[str, int] = field(default_factory=dict)  # store.examples.import_notes
    # records of the file merged into an earlier record's task (the same instruction); their
    # own fields are kept in that task's meta["also"]
    merged_records: int = 0
    # the examples this import added, and the new tasks without examples: what the notes count
    added_examples: list[Instance] = field(default_factory=list, repr=False)
    bare_imported: int = 0

    def to_dict(self) -> dict:
        return {
            "imported": self.imported,
            "classification": self.classification,
            "skipped_duplicates": self.skipped_duplicates,
            "skipped_similar": self.skipped_similar,
            "filled": self.filled,
            "filled_fields": self.filled_fields,
            "read": self.read,
            "instances": self.instances,
            "format": self.format,
            "path": self.path,
            "preview": self.preview,
            "merged": self.merged,
            "merged_records": self.merged_records,
            "duplicate_examples": self.duplicate_examples,
            "rejected": self.rejected,
            "rejected_path": self.rejected_path,
            "problems": self.problems,
            "notes": self.notes,
        }

    def summary(self) -> str:
        """One paragraph for people (the CLI's and the window's import summary)."""
        verb = "Would import" if self.preview else "Imported"
        parts = [
            f"{verb} {plural(self.imported, 'task')} with {plural(self.instances, 'example')} "
            f"({self.classification} classification)"
        ]
        if self.merged_records:
            parts.append(
                f"{plural(self.merged_records, 'record')} merged into tasks with the same "
                "instruction"
            )
        if self.merged:
            parts.append(f"added examples to {plural(self.merged, 'existing task')}")
        if self.filled:
            parts.append(f"filled in {plural(self.filled, 'task')} that had no examples")
        if self.filled_fields:
            parts.append(
                f"added fields (no examples) to {plural(self.filled_fields, 'task')} that had none"
            )
        if self.skipped_duplicates:
            parts.append(f"{plural(self.skipped_duplicates, 'duplicate')} skipped")
        if self.duplicate_examples:
            parts.append(f"{plural(self.duplicate_examples, 'duplicate example')} skipped")
        if self.skipped_similar:
            parts.append(f"{self.skipped_similar} similar skipped (ROUGE-L)")
        n = self.notes
        if n.get("preference"):
            parts.append(plural(n["preference"], "preference pair"))
        if n.get("kto"):
            parts.append(plural(n["kto"], "KTO-labelled example"))
        if n.get("with_tools"):
            parts.append(f"{plural(n['with_tools'], 'example')} with tools")
        if n.get("same_answers"):
            parts.append(
                f"warning: {n['same_answers']} preference pairs have the same chosen and "
                "rejected answer (kept; they teach nothing)"
            )
        if n.get("without_examples"):
            parts.append(
                f"{n['without_examples']} instructions without outputs (kept as "
                "tasks without examples)"
            )
        text = "; ".join(parts)
        if n.get("with_media"):
            text += (
                f". {n['with_media']} examples reference images/audio/video: the "
                "references are kept in each example's meta, the media are not imported"
            )
        if n.get("dropped_turns"):
            text += (
                f". {n['dropped_turns']} turns outside any example (an opening greeting, "
                "an unanswered last question) are kept in the examples' meta"
            )
        if n.get("header_guessed"):
            text += (
                ". The first row was taken for the column names (a guess): "
                "--option header=no imports it as an example"
            )
        if n.get("header_none"):
            text += (
                ". The first row was imported as an example (no header row found; the columns "
                "were named as FLAN's): --option header=yes if it names the columns"
            )
        if self.rejected:
            where = f" (written to {self.rejected_path})" if self.rejected_path else ""
            text += f". {plural(self.rejected, 'bad record')} left out{where}"
        return text


def _similarity_index(ws: Workspace) -> SimilarityIndex:
    # Imported when asked for: numpy and rapidfuzz stay out of a plain import (and of start-up).
    from ..similarity import SimilarityIndex, workspace_tokenizer

    index = SimilarityIndex(workspace_tokenizer(ws))
    index.add_many(r[0] for r in ws.execute("SELECT instruction FROM tasks ORDER BY id"))
    return index


def add_tasks(
    ws: Workspace,
    tasks: list[Task],
    *,
    source: str = "imported",
    dedup_threshold: float | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Add tasks in one transaction. A task whose (normalised) instruction an earlier task of
    `tasks` has is merged into it first (fold_same_instruction: its fields kept in that task's
    meta["also"]; counted in `merged_records`, with the records the reader grouped so). A task
    whose instruction the workspace already has gets the examples it does not hold yet
    (identical examples are duplicates, counted); a task bringing nothing new is a skipped
    duplicate. `read` (records) = imported + merged_records + merged + filled + filled_fields +
    skipped_duplicates + skipped_similar. `classification` counts the new tasks that are
    classification and the existing ones this import made so (their kind was unknown).
    With `dedup_threshold`, a new task whose ROUGE-L F against any task (already there or
    added before it) is above it is skipped. `dry_run` counts without writing (the preview)."""
    result = ImportResult(preview=dry_run)
    result.merged_records = sum(_grouped_records(t) for t in tasks)
    tasks, folded = fold_same_instruction(tasks)
    result.merged_records += len(folded)
    result.read = len(tasks) + result.merged_records
    result.duplicate_examples = store_examples.drop_duplicate_examples(tasks)
    with nullcontext() if dry_run else ws.transaction():
        # Read inside the write transaction: another process importing at the same time has
        # committed (or not started) by now, so its tasks count as duplicates, never twice.
        seen = existing_norms(ws)
        # The oldest task of each instruction receives the new examples.
        by_norm: dict[str, int] = {}
        for task_id, norm in ws.execute("SELECT id, norm FROM tasks ORDER BY id DESC"):
            by_norm[norm] = task_id
        held: dict[int, tuple[set[str], bool]] = {}  # task id → (example keys, had none)
        index = _similarity_index(ws) if dedup_threshold is not None else None
        if not dry_run:
            store_examples.rebase_seq(ws, tasks)
        for task in tasks:
            key = normalize_instruction(task.instruction)
            if key in seen:
                task_id = by_norm.get(key)
                added, dups, was_bare, refilled, made_clf = (
                    _merge(ws, task_id, task, held, dry_run, result.added_examples)
                    if task_id
                    else (0, len(task.instances), False, False, False)
                )
                result.duplicate_examples += dups
                result.instances += added
                result.classification += made_clf
                if not added and not refilled:
                    result.skipped_duplicates += 1
                elif was_bare and added:
                    result.filled += 1
                elif was_bare:
                    result.filled_fields += 1
                else:
                    result.merged += 1
                continue
            if (
                index is not None
                and dedup_threshold is not None
                and len(index)
                and index.max_score(task.instruction) > dedup_threshold
            ):
                result.skipped_similar += 1
                continue
            seen.add(key)
            if index is not None:
                index.add(task.instruction)
            task.source = source
            if not dry_run:
                task.id = add_task(ws, task)
            result.imported += 1
            result.instances += len(task.instances)
            result.added_examples += task.instances
            result.bare_imported += not task.instances
            result.classification += bool(task.is_classification)
    return result


_OWN_META = ("format", "line", "also")


def _task_fields(task: Task) -> dict[str, Any]:
    """A task's record-level fields as a meta["also"] entry (common.group_records' shape):
    the record's own fields as its reader kept them in meta, without the reader's bookkeeping
    (`format`, `also`, keys starting with "_"), its `name` only when the record had that key
    (a seed reader names a task by its `id` too), and its `line` when known."""
    meta = task.meta
    entry = {k: v for k, v in meta.items() if k not in _OWN_META and not k.startswith("_")}
    keys = meta.get("_fields")  # the seed line's keys, in its order
    if isinstance(keys, list):
        if "name" in keys and "name" not in entry and task.name is not None:
            entry["name"] = task.name
        order = {k: n for n, k in enumerate(keys)}
        entry = dict(sorted(entry.items(), key=lambda kv: order.get(kv[0], len(order))))
    elif task.name is not None and "name" not in entry:
        entry["name"] = task.name
    if isinstance(meta.get("line"), int):
        entry["line"] = meta["line"]
    return entry


def fold_same_instruction(tasks: list[Task]) -> tuple[list[Task], list[Task]]:
    """(kept, merged): `tasks` with every task whose (normalised) instruction an earlier one has merged into
    that earlier one: its examples appended (keeping their wording, store.examples.keep_wording),
    its classification taken when the first has none, and its own fields (meta, name, line)
    appended to the first's `meta["also"]` when they differ from the first's, the way
    common.group_records keeps a later record's fields, so nothing of the record is lost; `merged`
    lists the tasks merged so. The kept tasks are changed in place."""
    kept: list[Task] = []
    merged: list[Task] = []
    first: dict[str, Task] = {}
    for task in tasks:
        key = normalize_instruction(task.instruction)
        twin = first.get(key)
        if twin is None:
            first[key] = task
            kept.append(task)
            continue
        store_examples.keep_wording(task.instances, task.instruction, twin.instruction)
        twin.instances += task.instances
        if twin.is_classification is None:
            twin.is_classification = task.is_classification
        mine = _task_fields(task)
        theirs = {k: v for k, v in _task_fields(twin).items() if k != "line"}
        also = twin.meta.setdefault("also", [])
        if {k: v for k, v in mine.items() if k != "line"} != theirs:
            also.append(mine)
        also += task.meta.get("also") or []
        if not also:
            del twin.meta["also"]
        merged.append(task)
    return kept, merged


def _grouped_records(task: Task) -> int:
    """How many records of its file the reader merged into `task` besides the first
    (common.group_records: one example per record, a differing record's fields in
    meta["also"]); 0 for a task a reader built from one record (it has no meta["line"] and
    meta["format"], or its format's module says TASK_PER_RECORD: a Self-Instruct step-3 line
    gives several examples). A later record identical to the first and without an example
    leaves no trace, and is not counted."""
    fmt = task.meta.get("format")
    if not (isinstance(fmt, str) and isinstance(task.meta.get("line"), int)):
        return 0
    if getattr(registry.module_of(fmt), "TASK_PER_RECORD", False):
        return 0
    return max(len(task.instances) - 1, len(task.meta.get("also") or []), 0)


def _merge(
    ws: Workspace,
    task_id: int,
    task: Task,
    held: dict[int, tuple[set[str], bool]],
    dry_run: bool,
    added: list[Instance],
) -> tuple[int, int, bool, bool, bool]:
    """(added, duplicates, whether the task had no examples before this import, whether it got
    fields of `task` it lacked, whether it became a classification task): give task `task_id`
    the examples of `task` it lacks (and its classification when unknown), and when it had
    none, `task`'s fields (_fill_fields); the examples given are appended to `added`."""
    if task_id not in held:
        existing = store_examples.load_instances(ws, [task_id]).get(task_id, [])
        held[task_id] = ({store_examples.example_key(i) for i in existing}, not existing)
    keys, was_bare = held[task_id]
    store_examples.keep_wording(
        task.instances,
        task.instruction,
        ws.scalar("SELECT instruction FROM tasks WHERE id = ?", (task_id,)),
    )
    new = []
    for inst in task.instances:
        k = store_examples.example_key(inst)
        if k not in keys:
            keys.add(k)
            new.append(inst)
    added += new
    refilled = was_bare and _fill_fields(ws, task_id, task, dry_run)
    if new and not dry_run:
        store_examples.merge_examples(ws, task_id, new)
    made_clf = False
    if (
        (new or refilled)
        and task.is_classification is not None
        and ws.scalar("SELECT is_classification IS NULL FROM tasks WHERE id = ?", (task_id,))
    ):
        made_clf = bool(task.is_classification)
        if not dry_run:
            ws.execute(
                "UPDATE tasks SET is_classification = ? WHERE id = ?",
                (int(bool(task.is_classification)), task_id),
            )
    return len(new), len(task.instances) - len(new), was_bare, refilled, made_clf


def _fill_fields(ws: Workspace, task_id: int, task: Task, dry_run: bool) -> bool:
    """A fill (task `task_id` has no examples): the record's fields the stored task lacks are
    stored too (a Self-Instruct step-3 line's `raw_instances`, `instance_metadata`,
    `instances_unparsed`, ... on the step-2 line's task), even when the record gives no
    example; when some the task has differ, the record's fields also go to meta["also"] as
    fold_same_instruction keeps them. Whether it had a field to add (`dry_run`: would have)."""
    stored = json.loads(ws.scalar("SELECT meta FROM tasks WHERE id = ?", (task_id,)) or "{}")
    mine = _task_fields(task)
    fields = {k: v for k, v in mine.items() if k not in ("line", "name")}
    new = {k: v for k, v in fields.items() if k not in stored}
    if not new:
        return False
    if dry_run:
        return True
    if any(stored[k] != v for k, v in fields.items() if k in stored):
        stored.setdefault("also", []).append(mine)
    stored.update(new)
    update_task(ws, task_id, meta=stored)
    return True


def detect_format(path: Path) -> str:
    """Guess a file's (or folder's) format from its content."""
    return registry.detect_format(Path(path))


def read_file(
    path: str | Path,
    fmt: str | None = None,
    *,
    options: dict[str, str] | None = None,
    problems: Problems | None = None,
) -> tuple[str, list[Task]]:
    """(format, tasks) from a file or folder, validated; writes nothing.

    `options` are the reader's (FormatSpec.read_options: a table's column mapping, a dataset
    folder's `split`). With `problems`, every bad record is recorded there and left out
    (the caller decides); without, the first one raises its UserInputError."""
    p = Path(path)
    if not p.exists():
        raise UserInputError("no such file", path=p)
    if fmt is None and not p.is_dir():
        fmt = registry.detect_format(p)
        try:
            return read_file(p, fmt, options=options, problems=problems)
        except UserInputError as exc:
            if not isinstance(exc, InvalidRecords) and fmt != registry.REFERENCE_RUN:
                exc.hint = detected_hint(fmt) + (f" {exc.hint}" if exc.hint else "")
            raise
    fmt = fmt or registry.detect_format(p)
    if p.is_dir() and _as_collection(p, fmt):
        coll = read_collection(p, fmt, options=options)
        if coll.problems and problems is None:
            raise InvalidRecords(p, coll.problems, root=p)
        if problems is not None:
            problems.items += coll.problems.items
        return collection.FORMAT, coll.tasks()
    spec = registry.get(fmt)
    if fmt == collection.FORMAT:
        raise UserInputError(
            "a file; the collection format is a folder of files",
            path=p,
            field="format",
            hint="Import the file without --format, or the folder that holds it.",
        )
    if spec.read is None:
        raise UserInputError(f"{fmt!r} is an export-only format", path=p, field="format")
    if p.is_dir() and not (spec.folder or spec.reads_folder):
        raise UserInputError(
            f"a folder; the {fmt} format is a file",
            path=p,
            hint="Import a file inside it, or name a folder format (--format hf-hub).",
        )
    if not p.is_dir() and spec.reads_folder and not spec.extensions:  # folders only
        raise UserInputError(
            f"a file; the {fmt} format is a dataset folder",
            path=p,
            line=1,
            hint="Import the folder that holds it (README.md, data/…).",
        )
    opts = {k: v for k, v in (options or {}).items() if v is not None}
    unknown = sorted(set(opts) - set(spec.read_options))
    if unknown:
        takes = ", ".join(spec.read_options) or "none"
        raise UserInputError(
            f"the {fmt} reader has no option {unknown[0]!r} (it takes: {takes})", field=unknown[0]
        )
    with collecting(problems):
        try:
            tasks = spec.read(p, **opts)
        except UserInputError:
            if problems is None or spec.tolerant:
                raise
            # A reader that stops at the first bad record: read the file record by record
            # with the format's own record parser, to find every bad one.
            found = _per_record(fmt, p, opts)
            if found is None:
                raise
            tasks = found
        return fmt, _sound_tasks(tasks, p)


def _sound_tasks(tasks: list[Task], path: Path) -> list[Task]:
    """The tasks whose texts can all be stored. The JSON readers refuse a record with a lone
    surrogate as they read it (validation.sound, naming its field); this is the net for any other
    reader: a task holding one is a bad record (its first line), left out whole."""
    from .validation import record_error, reject

    kept = []
    for task in tasks:
        line = task.meta.get("line")
        error = record_error(
            {
                "instruction": task.instruction,
                "name": task.name,
                "meta": task.meta,
                "instances": [vars(i) for i in task.instances],
            },
            path,
            line if isinstance(line, int) else None,
        )
        if error:
            reject(error)
            continue
        kept.append(task)
    return kept


def _per_record(fmt: str, path: Path, options: dict[str, str] | None = None) -> list[Task] | None:
    """Every valid record of a file whose reader stops at the first bad one, read with the
    format's record parser and the reader's options (bad ones go to the collector); None when
    it has none."""
    module = registry.module_of(fmt)
    parse = None
    for name in ("parse_record", "parse_seed_line", "parse_line"):
        parse = getattr(module, name, None) if module is not None else None
        if parse is not None:
            break
    if parse is None or path.is_dir():
        return None
    if options:
        parse = functools.partial(parse, **options)  # openai-chat's user_turn, say
    from .common import group_records

    values = list(parse_each(iter_records(path), parse, path))
    if all(isinstance(v, Task) for v in values):
        return values
    return group_records(values, path, fmt)


# ------------------------------------------------------------------------ folders of files
def _as_collection(path: Path, fmt: str | None) -> bool:
    """Whether a folder is read as a collection (collection.py): detected as one, named so, or
    named with a format of single files (then every data file is read as that format)."""
    if fmt == collection.FORMAT:
        return True
    if fmt is None:
        return registry.detect_format(path) == collection.FORMAT
    spec = registry.get(fmt)
    return not (spec.folder or spec.reads_folder) and not registry.is_reference_run(path)


@dataclass
class FileRead:
    """One entry of a collection as read: its tasks and its bad records."""

    entry: collection.Entry
    tasks: list[Task]
    problems: Problems


@dataclass
class CollectionRead:
    """Every entry of a collection folder: the files read (`reads`, path order), the ones
    skipped with a note, and every bad record of them all (`problems`, file by file)."""

    root: Path
    entries: list[collection.Entry]
    reads: list[FileRead]
    problems: Problems

    def tasks(self) -> list[Task]:
        return [t for r in self.reads for t in r.tasks]

    def skipped(self) -> list[dict[str, str]]:
        return [
            {"path": e.rel(self.root), "note": e.note or ""}
            for e in self.entries
            if e.note is not None
        ]


def read_collection(
    path: str | Path, fmt: str | None = None, *, options: dict[str, str] | None = None
) -> CollectionRead:
    """Read every data file of a collection folder on its own (collection.py), validating them
    all: a file whose format cannot be detected, or that cannot be read at all, is one bad
    record (naming the file and the `--format` to give). `fmt` (a single-file format) reads
    every file as that format. `options` go to each reader that takes them; an option no
    reader of the folder takes is a UserInputError. Writes nothing."""
    root = Path(path)
    entries = collection.plan(root, None if fmt in (None, collection.FORMAT) else fmt)
    data = [e for e in entries if e.note is None]
    if not data:
        skipped = ", ".join(e.rel(root) for e in entries) or "it is empty"
        raise UserInputError(
            f"no data files in this folder (skipped: {skipped})",
            path=root,
            hint="Import a folder or file of instruction data (formats: docs/formats.md).",
        )
    opts = {k: v for k, v in (options or {}).items() if v is not None}
    taken = {k for e in data if e.format for k in registry.get(e.format).read_options}
    unknown = sorted(set(opts) - taken)
    if unknown:
        raise UserInputError(
            f"no reader of this folder's files has the option {unknown[0]!r}",
            path=root,
            field=unknown[0],
        )
    problems = Problems()
    reads = []
    for e in data:
        mine = Problems()
        tasks: list[Task] = []
        if e.error is not None:
            mine.add(_file_error(e.error, e.path))
        else:
            assert e.format is not None
            spec = registry.get(e.format)
            try:
                _, tasks = read_file(
                    e.path,
                    e.format,
                    options={k: v for k, v in opts.items() if k in spec.read_options},
                    problems=mine,
                )
            except UserInputError as exc:  # the file as a whole: not readable as its format
                mine.add(_file_error(exc, e.path))
        problems.items += mine.items
        reads.append(FileRead(e, tasks, mine))
    return CollectionRead(root, entries, reads, problems)


def _file_error(exc: UserInputError, path: Path) -> UserInputError:
    """The error of a whole file of a folder, with its hint (the --format to give) in the
    message (a listed problem shows only the message)."""
    from .validation import bare_message

    text = bare_message(exc)
    if exc.hint:
        text += f" — {exc.hint}"
    return UserInputError(
        text, path=exc.path or path, line=exc.line, field=exc.field, record=exc.record
    )


@dataclass
class CollectionResult(ImportResult):
    """An import of a collection folder: the totals (ImportResult's fields) and, per file,
    `files` (`{"path", "format", "read", "imported", "instances", "merged",
    "duplicate_examples", "rejected", "notes"}`, `"error"` for a file left out whole) and
    `skipped` (`{"path", "note"}`)."""

    files: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def add(self, rel: str, res: ImportResult, error: str | None = None) -> None:
        for name in (
            "imported",
            "classification",
            "skipped_duplicates",
            "skipped_similar",
            "filled",
            "filled_fields",
            "read",
            "instances",
            "merged",
            "duplicate_examples",
            "rejected",
        ):
            setattr(self, name, getattr(self, name) + getattr(res, name))
        for k, v in res.notes.items():
            self.notes[k] = self.notes.get(k, 0) + v
        row = {
            "path": rel,
            "format": res.format,
            "read": res.read,
            "imported": res.imported,
            "instances": res.instances,
            "merged": res.merged,
            "duplicate_examples": res.duplicate_examples,
            "rejected": res.rejected,
            "notes": res.notes,
        }
        if error:
            row["error"] = error
        self.files.append(row)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "files": self.files, "skipped": self.skipped}

    def summary(self) -> str:
        lines = [super().summary() + ".", f"From {plural(len(self.files), 'file')}:"]
        for f in self.files:
            what = (
                f"left out: {f['error']}"
                if f.get("error")
                else f"{plural(f['read'], 'task')} read, {f['imported']} new, "
                f"{plural(f['instances'], 'example')}"
                + (f", {f['merged']} merged" if f["merged"] else "")
                + (
                    f", {plural(f['duplicate_examples'], 'duplicate example')}"
                    if f["duplicate_examples"]
                    else ""
                )
                + (f", {plural(f['rejected'], 'bad record')} left out" if f["rejected"] else "")
            )
            lines.append(f"  {f['path']} ({f['format'] or 'format not recognised'}): {what}")
        for s in self.skipped:
            lines.append(f"  skipped {s['path']}: {s['note']}")
        return "\n".join(lines)


class _Preview(Exception):
    """Raised to roll back a collection's preview import."""


def import_collection(
    ws: Workspace,
    path: str | Path,
    fmt: str | None = None,
    *,
    dedup_threshold: float | None = None,
    preview: bool = False,
    options: dict[str, str] | None = None,
    skip_invalid: bool = False,
    rejected_out: str | Path | None = None,
) -> CollectionResult:
    """Import a collection folder (collection.py): every file validated first, then all of
    them written in one transaction, file by file in path order (so a file's duplicates of an
    earlier file's examples count as such). Bad records (every one, each naming its file)
    make it fail with InvalidRecords unless `skip_invalid`, which imports the rest and writes
    the rejected records with their file to `rejected_out` (default `<folder>.rejected.jsonl`
    beside the folder). `preview` imports inside a transaction it rolls back: the counts,
    nothing written."""
    root = Path(path)
    read = read_collection(root, fmt, options=options)
    if read.problems and not skip_invalid:
        raise InvalidRecords(root, read.problems, root=root)
    out_path = None
    if read.problems and not preview:
        out_path = write_rejected(
            read.problems,
            Path(rejected_out) if rejected_out else rejected_path(root),
            with_path=True,
        )
    result = CollectionResult(format=collection.FORMAT, path=str(root), preview=preview)
    result.skipped = read.skipped()
    try:
        with ws.transaction():
            for fr in read.reads:
                fmt_name = fr.entry.format or ""
                if fr.tasks:
                    res = add_tasks(
                        ws,
                        fr.tasks,
                        source=registry.get(fmt_name).source,
                        dedup_threshold=dedup_threshold,
                    )
                    _count_notes(res)
                else:
                    res = ImportResult()
                res.format = fmt_name
                res.rejected = fr.problems.total
                whole = fr.entry.error is not None or (not fr.tasks and fr.problems.total == 1)
                result.add(
                    fr.entry.rel(root),
                    res,
                    fr.problems.items[0].message if whole and fr.problems else None,
                )
            if preview:
                raise _Preview
    except _Preview:
        pass
    result.rejected_path = str(out_path) if out_path else None
    result.problems = read.problems.listed(CAP)
    return result


def _replay(ws: Workspace, path: Path, compat: str | None) -> Any:
    # Imported when a reference run is found: the replay loads the SELF-INSTRUCT engine.
    from ..selfinstruct.replay import replay_reference_run

    return replay_reference_run(ws, path, compat=compat)


def import_file(
    ws: Workspace,
    path: str | Path,
    fmt: str | None = None,
    *,
    compat: str | None = None,
    dedup_threshold: float | None = None,
    preview: bool = False,
    options: dict[str, str] | None = None,
    skip_invalid: bool = False,
    rejected_out: str | Path | None = None,
) -> Any:
    """Import a file, a dataset folder, a collection folder (any other folder: each file on its
    own, see import_collection; a CollectionResult), or (a folder holding
    machine_generated_instructions.jsonl) replay a reference Self-Instruct run; returns an
    ImportResult (or the replay's result).

    Every bad record is found in one pass. By default any makes the import fail with
    `InvalidRecords` (all of them, up to 50 listed, and the total) and nothing is written;
    `skip_invalid` imports the others and writes the rejected records with their reasons to
    `rejected_out` (default `<name>.rejected.jsonl` beside the input; not in a preview)."""
    p = Path(path)
    if not p.exists():
        raise UserInputError("no such file", path=p)
    if dedup_threshold is not None and not 0.0 <= dedup_threshold <= 1.0:
        raise UserInputError(
            f"expected a number from 0 to 1, found {dedup_threshold}", field="dedup-rouge"
        )
    if p.is_dir() and fmt in (None, registry.REFERENCE_RUN) and registry.is_reference_run(p):
        if preview:
            raise UserInputError("a reference run cannot be previewed; replay it", path=p)
        return _replay(ws, p, compat)
    if p.is_dir() and _as_collection(p, fmt):
        return import_collection(
            ws,
            p,
            fmt,
            dedup_threshold=dedup_threshold,
            preview=preview,
            options=options,
            skip_invalid=skip_invalid,
            rejected_out=rejected_out,
        )
    problems = Problems()
    detected = fmt is None
    fmt, tasks = read_file(p, fmt, options=options, problems=problems)
    if problems and not skip_invalid:
        raise InvalidRecords(p, problems, detected=fmt if detected else None)
    out_path = None
    if problems and not preview:
        out_path = write_rejected(
            problems, Path(rejected_out) if rejected_out else rejected_path(p)
        )
    result = add_tasks(
        ws, tasks, source=registry.get(fmt).source, dedup_threshold=dedup_threshold, dry_run=preview
    )
    result.format = fmt
    result.path = str(p)
    result.rejected = problems.total
    result.rejected_path = str(out_path) if out_path else None
    result.problems = problems.listed(CAP)
    _count_notes(result)
    for guess in ("guessed", "none"):  # tabular's header row, when it was a guess
        if any(t.meta.get("header") == guess for t in tasks if t.meta.get("format") == "tabular"):
            result.notes[f"header_{guess}"] = 1
    return result


def _count_notes(result: ImportResult) -> None:
    """Fill `result.notes` (store.examples.import_notes, and `without_examples`) from what the
    import added, not from all the file held: a second import of a file says nothing of the
    examples it skipped."""
    added = [Task(instruction="", instances=result.added_examples)]
    result.notes = {k: v for k, v in store_examples.import_notes(added).items() if v}
    if result.bare_imported:
        result.notes["without_examples"] = result.bare_imported


def preview_file(
    ws: Workspace,
    path: str | Path,
    fmt: str | None = None,
    *,
    dedup_threshold: float | None = None,
    options: dict[str, str] | None = None,
    skip_invalid: bool = False,
) -> ImportResult:
    """The counts an import would give, without writing (the GUI shows them before committing);
    with `skip_invalid`, the bad records are counted and listed in `problems` instead of
    raising InvalidRecords."""
    return import_file(
        ws,
        path,
        fmt,
        dedup_threshold=dedup_threshold,
        preview=True,
        options=options,
        skip_invalid=skip_invalid,
    )
