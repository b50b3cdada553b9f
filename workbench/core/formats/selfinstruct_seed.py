"""Self-Instruct seed JSONL: one task a line,
`{"id", "name", "instruction", "instances": [{"input", "output"}], "is_classification"}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import (
    OWN_FIELDS,
    dump,
    get_str,
    iter_jsonl,
    json_error_text,
    own_fields,
    take_own_fields,
)
from .validation import check_text

FORMAT = "selfinstruct-seed"
EXTENSIONS = (".jsonl",)
SOURCE = "seed"  # a seed file grows the seed pool that SELF-INSTRUCT samples from
_KNOWN = {"id", "name", "instruction", "instances", "is_classification"}
# An example's own conversation and kind, written on its instance when it has them (the
# Self-Instruct code reads only input/output and leaves them be), so nothing is dropped.
_EXAMPLE_KEYS = OWN_FIELDS
_WORKBENCH = "_workbench"  # the example's own meta keys (store/examples.py), as one object


def _example(
    inst: dict[str, Any], extra: dict[str, Any], path: Path, line: int, fname: str
) -> Instance:
    out = Instance(inst.get("input", ""), inst["output"], meta=extra)
    own_meta = extra.pop(_WORKBENCH, None)
    if isinstance(own_meta, dict):
        out.meta.update({k: v for k, v in own_meta.items() if k.startswith("_")})
    elif own_meta is not None:
        out.meta[_WORKBENCH] = own_meta
    for key in take_own_fields(inst, out):  # a value of a shape we do not take stays
        out.meta[key] = inst[key]
    return out


def _instance_record(i: Instance) -> dict[str, Any]:
    rec: dict[str, Any] = {"input": i.input, "output": i.output}
    own = own_fields(i)
    rec.update({k: v for k, v in own.items() if v is not None})
    rec.update({k: v for k, v in (i.meta or {}).items() if not k.startswith("_")})
    own_meta = {k: v for k, v in (i.meta or {}).items() if k.startswith("_")}
    if own_meta:  # tool turns before the answer, the answer's tool calls, dropped turns, ...
        rec[_WORKBENCH] = own_meta
    return rec


def parse_seed_line(obj: object, path: Path, line: int) -> Task:
    """Validate one decoded line; every error names the file, line and field."""
    if not isinstance(obj, dict):
        raise UserInputError("expected a JSON object", path=path, line=line)
    instruction = get_str(obj, "instruction", path, line)
    if not instruction.strip():
        raise UserInputError("the instruction is empty", path=path, line=line, field="instruction")
    raw_instances = obj.get("instances", [])
    if not isinstance(raw_instances, list):
        raise UserInputError("expected a list", path=path, line=line, field="instances")
    instances = []
    for i, inst in enumerate(raw_instances):
        fname = f"instances[{i}]"
        if not isinstance(inst, dict):
            raise UserInputError("expected an object", path=path, line=line, field=fname)
        for key in ("input", "output"):
            if key in inst and not isinstance(inst[key], str):
                raise UserInputError(
                    f"expected text, found {type(inst[key]).__name__}",
                    path=path,
                    line=line,
                    field=f"{fname}.{key}",
                )
        if "output" not in inst:
            raise UserInputError(
                "the field is missing", path=path, line=line, field=f"{fname}.output"
            )
        extra = {k: v for k, v in inst.items() if k not in ("input", "output", *_EXAMPLE_KEYS)}
        instances.append(_example(inst, extra, path, line, fname))
    clf = obj.get("is_classification")
    if clf is not None and not isinstance(clf, bool):
        raise UserInputError(
            "expected true or false", path=path, line=line, field="is_classification"
        )
    name = obj.get("name") if isinstance(obj.get("name"), str) else None
    if name is None and isinstance(obj.get("id"), str):
        name = obj["id"]
    meta: dict[str, Any] = {"id": obj["id"]} if isinstance(obj.get("id"), str) else {}
    # Fields other seed-shaped files add (user_oriented_instructions' `motivation_app`,
    # InstructWild's `instruction_type`) are kept, and `_fields` says which keys the line had,
    # so the export writes them back and invents none.
    meta.update({k: v for k, v in obj.items() if k not in _KNOWN})
    meta["_fields"] = list(obj)
    return Task(
        instruction=instruction,
        instances=instances,
        is_classification=clf,
        name=name,
        origin=str(path),
        meta=meta,
    )


def read_seed_jsonl(path: str | Path) -> list[Task]:
    """Read and validate a whole file before anything is written (all or nothing)."""
    p = Path(path)
    return [parse_seed_line(obj, p, line) for line, obj in iter_jsonl(p)]


def iter_seed_lines(fh: IO[bytes], path: Path) -> Iterable[Task]:
    for line_no, raw in enumerate(fh, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserInputError(
                f"not valid UTF-8 ({exc.reason} at byte {exc.start})", path=path, line=line_no
            ) from exc
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserInputError(
                f"not valid JSON ({json_error_text(exc)})", path=path, line=line_no
            ) from exc
        check_text(obj, path, line_no)
        yield parse_seed_line(obj, path, line_no)


def looks_like(first_obj: object) -> bool:
    """Auto-detection: a seed line has an instruction and an instances list."""
    return (
        isinstance(first_obj, dict)
        and "instruction" in first_obj
        and isinstance(first_obj.get("instances"), list)
    )


def read(path: Path) -> list[Task]:
    return read_seed_jsonl(path)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    return write_seed_jsonl(tasks, fh)


def write_seed_jsonl(tasks: Iterable[Task], fh: IO[str]) -> int:
    """One line per task. A task read from a seed-shaped file gets back the keys its line had
    (extra fields included, `is_classification` only when it had one); any other task gets
    `id`/`name` (made up from its id when it has none) and `is_classification` when known."""
    n = 0
    for t in tasks:
        fields = t.meta.get("_fields")
        obj: dict[str, Any] = {
            "id": t.meta.get("id") or t.name or f"task_{t.id}",
            "name": t.name or t.meta.get("id") or f"task_{t.id}",
            "instruction": t.instruction,
            "instances": [_instance_record(i) for i in t.instances],
        }
        if t.is_classification is not None:
            obj["is_classification"] = bool(t.is_classification)
        if isinstance(fields, list):
            obj = {
                k: obj[k] if k in obj else t.meta.get(k) for k in fields if k in obj or k in t.meta
            }
            if t.is_classification is not None:
                obj["is_classification"] = bool(t.is_classification)
            if "instances" not in obj and t.instances:
                obj["instances"] = [_instance_record(i) for i in t.instances]
        elif isinstance(t.meta.get("motivation_app"), str):
            obj["motivation_app"] = t.meta["motivation_app"]
        fh.write(dump(obj) + "\n")
        n += 1
    return n
