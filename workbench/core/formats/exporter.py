"""Export tasks to an instruction file (or dataset folder): a selection of the workspace,
written atomically, with progress and cancel, and recorded in the `exports` table.

Selections: `only` = not-dropped (the default: every task except those the decision in force
drops — an Inspect threshold applied or a person's override; seeds, imports and accepted tasks)
| including-dropped (every task) | verified (meta `"verified": true`, set by a person); the old
names `kept` and `all` still work for the first two. `run_id` one run's tasks; `tag` tasks whose
meta `"tags"` list holds it; `task_ids` an explicit subset (the selection feature's). They
combine with AND.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserInputError, WorkbenchError, write_error
from ..fileio import atomic_text_file, new_mode
from ..jobs import CancelToken, Progress, ProgressCallback, no_progress
from ..store.tasks import NOT_DROPPED, Task, iter_tasks
from ..store.workspace import Workspace
from . import hf, registry, selfinstruct_generated, selfinstruct_seed
from . import lossy as lossy_mod

# What `only` selects, named for it (the first is the default), and the names it once had.
ONLY = ("not-dropped", "including-dropped", "verified")
ONLY_ALIASES = {"kept": "not-dropped", "all": "including-dropped"}
ONLY_DEFAULT = ONLY[0]
PROGRESS_EVERY = 200
# Formats that write tasks (a line each, examples inside or none): every selected task is
# written. The others write examples: a task without one gives no record (`without_examples`).
TASK_LEVEL = (selfinstruct_seed.FORMAT, selfinstruct_generated.FORMAT)


@dataclass
class ExportResult:
    count: int  # records written (instances; tasks for task-level formats)
    path: str
    format: str
    tasks: int = 0  # tasks selected
    files: list[str] = field(default_factory=list)
    selection: dict[str, Any] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)  # lossy: examples per field
    without_examples: int = 0  # selected tasks with no example (example formats write none)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "path": self.path,
            "format": self.format,
            "tasks": self.tasks,
            "files": self.files,
            "selection": self.selection,
            "left_out": self.left_out,
            "without_examples": self.without_examples,
        }


def without_examples_note(n: int) -> str:
    """What the CLI and the window say of `n` selected tasks that a format writing examples
    wrote nothing for: "3 tasks have no examples and were not written" ("" for 0)."""
    if n <= 0:
        return ""
    if n == 1:
        return "1 task has no examples and was not written"
    return f"{n} tasks have no examples and were not written"


def only_name(only: str) -> str:
    """The selection's current name (an old alias mapped); UserInputError for an unknown one."""
    name = ONLY_ALIASES.get(only, only)
    if name not in ONLY:
        raise UserInputError(f"expected one of {', '.join(ONLY)}, found {only!r}", field="only")
    return name


def selection_sql(
    only: str = ONLY_DEFAULT,
    run_id: int | None = None,
    tag: str | None = None,
    task_ids: Iterable[int] | None = None,
) -> tuple[str, list[Any]]:
    """A WHERE clause over `tasks` and its parameters for the selection (see the module doc)."""
    only = only_name(only)
    clauses: list[str] = []
    params: list[Any] = []
    if only == "not-dropped":
        clauses.append(NOT_DROPPED)
    elif only == "verified":
        clauses.append("json_extract(meta, '$.verified') = 1")
    if run_id is not None:
        clauses.append("run_id = ?")
        params.append(int(run_id))
    if tag is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(tasks.meta, '$.tags') WHERE value = ?)")
        params.append(tag)
    if task_ids is not None:
        clauses.append("id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([int(i) for i in task_ids]))
    return " AND ".join(clauses) or "1", params


def select_tasks(
    ws: Workspace,
    *,
    only: str = ONLY_DEFAULT,
    run_id: int | None = None,
    tag: str | None = None,
    task_ids: Iterable[int] | None = None,
) -> list[Task]:
    where, params = selection_sql(only, run_id, tag, task_ids)
    # Tags live in a JSON list, which json_each needs to be valid; meta always is.
    return iter_tasks(ws, where=where, params=params)


def _check_options(spec: registry.FormatSpec, options: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in options.items():
        if key not in spec.options:
            known = ", ".join(spec.options) or "none"
            raise UserInputError(
                f"unknown option for {spec.name} (options: {known})", field=f"option {key}"
            )
        allowed = spec.options[key]
        value = str(value)
        if allowed is not None and value not in allowed:
            raise UserInputError(
                f"expected one of {', '.join(allowed)}, found {value!r}", field=f"option {key}"
            )
        out[key] = value
    return out


def _ticking(
    tasks: list[Task], progress: ProgressCallback, cancel: CancelToken | None, fmt: str
) -> Iterator[Task]:
    total = len(tasks)
    progress(Progress("export", 0, total, fmt))
    for i, task in enumerate(tasks, start=1):
        if cancel is not None:
            cancel.check()
        yield task
        if i % PROGRESS_EVERY == 0 or i == total:
            progress(Progress("export", i, total, fmt))


def _check_out_path(out: Path, folder: bool) -> None:
    if not out.parent.is_dir():
        code = errno.ENOTDIR if out.parent.exists() else errno.ENOENT
        mapped = write_error(
            OSError(code, os.strerror(code), str(out.parent)),
            out,
            what="the export",
            again="export again",
        )
        assert mapped is not None
        raise mapped
    if folder:
        if out.exists() and not out.is_dir():
            raise UserInputError("a file is there; a dataset export is a folder", path=out)
        if out.is_dir() and any(out.iterdir()) and not hf.is_hf_folder(out):
            raise UserInputError(
                "the folder is not empty and holds no earlier dataset export; it was left "
                "untouched",
                path=out,
                hint="Choose a new or empty folder.",
            )
    elif out.is_dir():
        raise UserInputError("a folder; give a file name to write", path=out)


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move a finished dataset folder into place; an earlier export there is replaced whole."""
    if out.is_dir() and any(out.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)  # a symlink is moved as a link: its target is never written into
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(old, out)
            raise
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)
    else:
        if out.is_dir():
            os.rmdir(out)
        os.replace(tmp, out)


def _export_traces(
    ws: Workspace,
    out: Path,
    run_id: int | None,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> int:
    from ..selfcheck.export import export_traces  # the SELF-CHECK tables' own writer

    return export_traces(ws, out, run_id=run_id, progress=progress, cancel=cancel)


def _task_order_only(tasks: list[Task]) -> None:
    """Make writers follow the list's task order: they write examples by `seq` (their place in
    the imported file), which would put the tasks back in file order. Each task keeps its own
    examples' file order; the seq values are dropped from these copies only."""
    from ..store.examples import ordered_examples

    for task in tasks:
        task.instances = [inst for _, _, inst in ordered_examples([task])]
        for inst in task.instances:
            inst.seq = None


# The runs `run_id` may name: those that make tasks (SELF-INSTRUCT runs, replays of the
# reference's output); for selfcheck-traces, those that make solutions (SELF-CHECK sampling
# runs, SELF-CHECK imports). Other runs (CoT, SELF-CHECK checking) own no task.
TASK_RUN_KINDS = ("self-instruct", "replay")
TRACE_RUN_KINDS = ("self-check-sample", "import")
RUNS_NAMED = 10  # how many of the allowed runs an error names, newest first


def run_problem(ws: Workspace, run_id: int, fmt: str) -> str | None:
    """Why `run_id` cannot select what `fmt` exports (None when it can): no such run, or a run
    of a kind that makes no tasks (solutions for selfcheck-traces). The sentence names the
    workspace and the runs that would do, newest first with their kinds, e.g. "no run 999 in
    /w.sqlite (runs whose tasks export, newest first: 4 self-instruct, 2 replay)"."""
    kinds = TRACE_RUN_KINDS if fmt == registry.SELFCHECK_TRACES else TASK_RUN_KINDS
    what = "solutions" if fmt == registry.SELFCHECK_TRACES else "tasks"
    row = ws.query("SELECT kind FROM runs WHERE id = ?", (int(run_id),))
    if row and row[0]["kind"] in kinds:
        return None
    rows = ws.query(
        f"SELECT id, kind FROM runs WHERE kind IN ({','.join('?' * len(kinds))}) ORDER BY id DESC",
        kinds,
    )
    named = ", ".join(f"{r['id']} {r['kind']}" for r in rows[:RUNS_NAMED])
    if len(rows) > RUNS_NAMED:
        named += f", … ({len(rows) - RUNS_NAMED} older)"
    allowed = (
        f"runs whose {what} export, newest first: {named}"
        if rows
        else f"it has no run whose {what} export (kinds: {', '.join(kinds)})"
    )
    if not row:
        return f"no run {run_id} in {ws.path} ({allowed})"
    kind = row[0]["kind"]
    extra = "; its preference pairs: --cot-pairs" if kind == "cot" and what == "tasks" else ""
    return f"run {run_id} in {ws.path} is a {kind} run, which makes no {what}{extra} ({allowed})"


def export(
    ws: Workspace,
    fmt: str,
    out_path: str | Path,
    *,
    only: str = ONLY_DEFAULT,
    run_id: int | None = None,
    tag: str | None = None,
    task_ids: Iterable[int] | None = None,
    keep_order: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    lossy: bool = False,
    **options: Any,
) -> ExportResult:
    """Write the selected tasks as `fmt` to `out_path` (a file; a folder for `hf`).

    Records are written in file order (each example's place in the file it was imported from,
    then task order); with `keep_order=True` and `task_ids`, task by task in the order of
    `task_ids` instead (a selection's chosen order, whose every prefix is spread out).

    A format that cannot hold some examples' fields (lossy.py) refuses with the counts
    (LossyExportError), or with `lossy=True` writes them without and reports `left_out`.
    A `run_id` that names no run whose tasks (solutions, for selfcheck-traces) export raises
    UserInputError (field "run", `run_problem`) before anything is written."""
    progress = progress or no_progress
    spec = registry.export_spec(fmt)
    if run_id is not None and (problem := run_problem(ws, run_id, fmt)) is not None:
        raise UserInputError(problem, field="run")
    out = Path(out_path).expanduser().absolute()
    task_ids = list(task_ids) if task_ids is not None else None
    selection: dict[str, Any] = {"only": only_name(only)}
    if run_id is not None:
        selection["run"] = run_id
    if tag is not None:
        selection["tag"] = tag
    if task_ids is not None:
        selection["subset"] = len(task_ids)
    if options:
        selection["options"] = {k: str(v) for k, v in options.items()}

    if fmt == registry.SELFCHECK_TRACES:
        _check_out_path(out, False)
        count = _export_traces(ws, out, run_id, progress, cancel)
        result = ExportResult(count, str(out), fmt, files=[str(out)], selection=selection)
        _record(ws, result)
        return result

    opts = _check_options(spec, options)
    _check_out_path(out, spec.folder)
    if spec.options.get("layout") and "layout" not in opts:
        opts["layout"] = (
            "jsonl"
            if out.suffix.lower() == ".jsonl"
            else ("json" if out.suffix.lower() == ".json" else spec.default_layout or "json")
        )
    tasks = select_tasks(ws, only=only, run_id=run_id, tag=tag, task_ids=task_ids)
    if keep_order and task_ids is not None:
        position = {int(t): i for i, t in reversed(list(enumerate(task_ids)))}
        tasks.sort(key=lambda t: position[t.id if t.id is not None else -1])
        _task_order_only(tasks)
    bare = sum(not t.instances for t in tasks)
    if bare and bare == len(tasks) and fmt not in TASK_LEVEL:
        # Nothing would be written: an empty file that no reader takes back.
        raise UserInputError(
            f"nothing to export as {fmt} (it writes examples): {without_examples_note(bare)}",
            path=out,
            field="format",
            hint=f"Formats that write instructions alone: {', '.join(TASK_LEVEL)} "
            "(--format); or give the tasks examples first (Generate, or an import of examples).",
        )
    left_out: dict[str, int] = {}
    if spec.holds is not None:
        left_out, affected, total = lossy_mod.count(tasks, spec.holds)
        if left_out and not lossy:
            raise lossy_mod.refusal(
                fmt, left_out, affected, total, registry.keepers(left_out, exclude=fmt)
            )
        if left_out:
            tasks = lossy_mod.strip(tasks, spec.holds)
            selection["lossy"] = left_out
    module = registry.module_of(fmt)
    lost_fields = getattr(module, "lost_fields", None)  # task fields a task-level format lacks
    if module is not None and lost_fields is not None:
        lost = lost_fields(tasks)
        if lost and not lossy:
            affected = sum(bool(module.unwritable(t)) for t in tasks)
            raise lossy_mod.task_refusal(fmt, lost, affected, len(tasks))
        if lost:
            selection["lossy"] = {**selection.get("lossy", {}), **lost}
    ticking = _ticking(tasks, progress, cancel, fmt)

    try:
        if spec.folder:
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
            with suppress(OSError):  # mkdtemp makes 0700: give what mkdir would (or out's)
                os.chmod(tmp, new_mode(out, folder=True))
            try:
                written = hf.write_folder(ws, ticking, tmp, selection, lambda: None)
                _replace_folder(tmp, out)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            files = [str(out / f) for f in written["files"]]
            count = written["count"]
        else:
            assert spec.write is not None  # registry.export_spec checked it
            with atomic_text_file(out) as fh:
                count, reported = lossy_mod.written(spec.write(ticking, fh, opts))
            files = [str(out)]
            left_out.update(reported)
    except OSError as exc:
        # A full disk, a quota, a read-only or missing folder: a message for people; nothing
        # partial is left.
        mapped = write_error(exc, out, what="the export", again="export again")
        if mapped is None:
            raise
        raise mapped from exc
    result = ExportResult(
        count, str(out), fmt, tasks=len(tasks), files=files, selection=selection, left_out=left_out
    )
    if fmt not in TASK_LEVEL:
        result.without_examples = bare
    _record(ws, result)
    return result


def _record(ws: Workspace, result: ExportResult) -> None:
    # the file is written; a busy workspace must not undo that; a read-only one is not recorded
    if ws.readonly:
        return
    with suppress(sqlite3.Error, WorkbenchError), ws.transaction():
        ws.insert(
            "exports",
            {
                "format": result.format,
                "path": result.path,
                "selection": result.selection,
                "count": result.count,
            },
        )
