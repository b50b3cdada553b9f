"""What the dataset readers (Natural Instructions, tables, transcripts, preference pairs,
instruction-only records, Hub folders) share: records read tolerantly (a bad JSON line is one
bad record, see validation.py), and examples grouped into tasks by instruction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task, normalize_instruction
from .common import decode_utf8, iter_json_array, json_error_text, read_bytes
from .validation import reject


@dataclass
class Example:
    """One example as a reader found it: the task's instruction, the example itself, and the
    task-level fields (kept from the first example of a task)."""

    line: int
    instruction: str
    instance: Instance | None  # None: an instruction without any example (a bare task)
    task_meta: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    is_classification: bool | None = None


def group_examples(examples: Iterable[Example], path: Path, fmt: str) -> list[Task]:
    """Examples with the same (normalised) instruction become one task, in file order; each
    example keeps its own conversation and extras (Instance fields), so nothing is merged
    away. The task's meta is the first example's `task_meta` plus `format` and `line`; the
    `task_meta` of later examples that differs is kept in `meta["also"]` (a list). Each
    example's `seq` is its position in the file (writers keep file order)."""
    tasks: dict[str, Task] = {}
    for seq, ex in enumerate(examples):
        key = normalize_instruction(ex.instruction)
        task = tasks.get(key)
        if task is None:
            task = Task(
                instruction=ex.instruction,
                is_classification=ex.is_classification,
                name=ex.name,
                origin=str(path),
                meta={**ex.task_meta, "format": fmt, "line": ex.line},
            )
            tasks[key] = task
        else:
            if task.is_classification is None:
                task.is_classification = ex.is_classification
            first = {k: v for k, v in task.meta.items() if k not in ("format", "line", "also")}
            if ex.task_meta and ex.task_meta != first:
                task.meta.setdefault("also", []).append({**ex.task_meta, "line": ex.line})
        if ex.instance is not None:
            if ex.instance.seq is None:
                ex.instance.seq = seq
            task.instances.append(ex.instance)
    return list(tasks.values())


def iter_records(path: Path, data: bytes | None = None) -> Iterator[tuple[int, Any]]:
    """(line, value) for each record of a JSON list or of JSON Lines (whichever the file holds,
    compressed or not). In JSON Lines a line that is not valid JSON is one bad record (see
    validation.reject); in a JSON list a syntax error ends the read (there is no next record
    to find)."""
    raw = read_bytes(path) if data is None else data
    if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        yield from iter_json_array(path, raw)
        return
    text = decode_utf8(raw, path)
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as exc:
            reject(
                UserInputError(f"not valid JSON ({json_error_text(exc)})", path=path, line=line_no),
                line,
            )
        except RecursionError:
            reject(UserInputError("nested too deeply to read", path=path, line=line_no), line)


def load_json_document(path: Path, data: bytes | None = None) -> Any:
    """A whole JSON document (one object, say a Natural Instructions task file)."""
    text = decode_utf8(read_bytes(path) if data is None else data, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"not valid JSON ({json_error_text(exc)})", path=path, line=exc.lineno
        ) from exc
    except RecursionError as exc:
        raise UserInputError("nested too deeply to read", path=path, line=1) from exc


def text_field(
    d: dict,
    key: str,
    path: Path,
    line: int,
    *,
    required: bool = True,
    nonempty: bool = False,
    name: str | None = None,
) -> str:
    """`d[key]` as text; missing (when required), not text, or empty (with `nonempty`) is a
    UserInputError naming `name` (default `key`)."""
    fname = name or key
    value = d.get(key)
    if value is None:
        if required:
            raise UserInputError("the field is missing", path=path, line=line, field=fname)
        return ""
    if not isinstance(value, str):
        raise UserInputError(
            f"expected text, found {type_name(value)}", path=path, line=line, field=fname
        )
    if nonempty and not value.strip():
        raise UserInputError(
            "the field is empty",
            path=path,
            line=line,
            field=fname,
            hint="Fill it in, or import the other records with --skip-invalid.",
        )
    return value


def type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), "a value")
