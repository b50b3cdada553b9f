"""Natural Instructions task files: v1 (allenai/natural-instructions-v1, `tasks/subtaskNNN_*.json`)
and v2 / Super-NaturalInstructions (allenai/natural-instructions, `tasks/taskNNN_*.json`). One
file is one task.

Spec (v1): `{"Title", "Prompt", "Definition": str, "Things to Avoid", "Emphasis & Caution",
"Examples": {"Positive Examples": [{"input", "output", "reason"}], "Negative Examples": [...]},
"Instances": [{"input", "output": [str, ...]}]}`.
Spec (v2): `{"Contributors", "Source", "URL", "Categories", "Reasoning", "Definition": [str],
"Input_language", "Output_language", "Instruction_language", "Domains",
"Positive Examples": [{"input", "output", "explanation"}], "Negative Examples": [...],
"Instances": [{"id", "input", "output": [str, ...]}], "Instance License"}`.

Read as one task: the definition is the instruction (v2's list joined by blank lines), named
after the file; the positive examples, then the instances, are its examples, in file order.
Each example's meta says which it was (`ni_role`: "positive_example" | "instance") and keeps its
other fields (`reason`/`explanation`, `id`); an instance with several acceptable outputs gets
the first as its output and all of them in `meta["outputs"]`. Every other key of the file
(title, prompt, things to avoid, negative examples, contributors, categories, licence …) is
kept in the task's `meta["natural_instructions"]`, with `meta["ni_version"]`.

A folder of task files (the repositories' `tasks/`, or the repository itself) imports every
`*.json` task in it, in name order; a file in it that is not a task is one bad record.

Errors: a file that is not one JSON object, without a text `Definition`, or whose examples are
not `{"input": text, "output": text | [text, …]}` (file, line of the record, field).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import decode_utf8, read_bytes
from .compression import inner_name
from .reading import Example, group_examples, load_json_document, type_name
from .validation import reject

FORMAT = "natural-instructions"
EXTENSIONS = (".json",)
_BODY = ("Definition", "Instances")


def looks_like(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and "Definition" in obj
        and any(k in obj for k in ("Instances", "Positive Examples", "Examples"))
    )


def task_files(folder: Path) -> list[Path]:
    """The `*.json` files of a task folder (`folder/tasks/` when there is one)."""
    inner = folder / "tasks"
    base = inner if inner.is_dir() else folder
    return sorted(p for p in base.glob("*.json") if p.is_file())


def is_task_folder(folder: Path) -> bool:
    """A folder whose first `*.json` file is a Natural Instructions task."""
    if not folder.is_dir():
        return False
    files = task_files(folder)
    if not files:
        return False
    try:
        head = files[0].read_bytes()[: 1 << 16].decode("utf-8", "replace")
    except OSError:
        return False
    return '"Definition"' in head and (
        '"Instances"' in head or "Examples" in head or files[0].stat().st_size > len(head)
    )


def version_of(d: dict) -> int:
    return 2 if isinstance(d.get("Definition"), list) or "Positive Examples" in d else 1


def _element_lines(text: str, key: str, count: int) -> list[int | None]:
    """The line where each element of the list under `"key":` starts (None when not found)."""
    decoder = json.JSONDecoder()
    for m in re.finditer(r'"' + re.escape(key) + r'"\s*:\s*\[', text):
        i = m.end()
        lines: list[int | None] = []
        try:
            for _ in range(count):
                while text[i] in " \t\r\n,":
                    i += 1
                lines.append(text.count("\n", 0, i) + 1)
                _, i = decoder.raw_decode(text, i)
        except (ValueError, IndexError):
            continue
        return lines
    return [None] * count


def _example(
    item: Any,
    path: Path,
    line: int,
    field: str,
    role: str,
) -> Instance | None:
    if not isinstance(item, dict):
        reject(
            UserInputError(
                f"expected an object, found {type_name(item)}", path=path, line=line, field=field
            ),
            item,
        )
        return None
    inp = item.get("input", "")
    if not isinstance(inp, str):
        reject(
            UserInputError(
                f"expected text, found {type_name(inp)}",
                path=path,
                line=line,
                field=f"{field}.input",
            ),
            item,
        )
        return None
    out = item.get("output")
    outputs = out if isinstance(out, list) else [out]
    if out is None or not outputs or not all(isinstance(o, str) for o in outputs):
        what = (
            "the field is missing"
            if out is None
            else (
                "an empty list of outputs"
                if isinstance(out, list) and not out
                else "expected text or a list of texts"
            )
        )
        reject(UserInputError(what, path=path, line=line, field=f"{field}.output"), item)
        return None
    meta: dict[str, Any] = {"ni_role": role}
    meta.update({k: v for k, v in item.items() if k not in ("input", "output")})
    if isinstance(out, list) and len(out) != 1:
        meta["outputs"] = list(out)
    return Instance(input=inp, output=str(outputs[0]), meta=meta)


def read(path: Path) -> list[Task]:
    if path.is_dir():
        tasks: list[Task] = []
        for f in task_files(path):
            try:
                tasks += read(f)
            except UserInputError as exc:
                reject(exc, str(f))
        if not tasks and not task_files(path):
            raise UserInputError("no task files (*.json) in this folder", path=path, line=1)
        return tasks
    data = read_bytes(path)
    d = load_json_document(path, data)
    if not isinstance(d, dict):
        raise UserInputError(
            f"expected one JSON object (a task), found {type_name(d)}", path=path, line=1
        )
    text = decode_utf8(data, path)
    definition = d.get("Definition")
    if isinstance(definition, list) and all(isinstance(x, str) for x in definition):
        instruction = "\n\n".join(definition)
    elif isinstance(definition, str):
        instruction = definition
    else:
        raise UserInputError(
            "expected the task definition (text, or a list of texts)",
            path=path,
            line=1,
            field="Definition",
        )
    if not instruction.strip():
        raise UserInputError("the task definition is empty", path=path, line=1, field="Definition")
    version = version_of(d)
    if version == 1:
        examples = d.get("Examples") or {}
        if not isinstance(examples, dict):
            raise UserInputError(
                f"expected an object, found {type_name(examples)}",
                path=path,
                line=1,
                field="Examples",
            )
        positives, pos_field = examples.get("Positive Examples") or [], "Examples.Positive Examples"
    else:
        positives, pos_field = d.get("Positive Examples") or [], "Positive Examples"
    instances = d.get("Instances") or []
    for value, fname in ((positives, pos_field), (instances, "Instances")):
        if not isinstance(value, list):
            raise UserInputError(
                f"expected a list, found {type_name(value)}", path=path, line=1, field=fname
            )
    kept = {k: v for k, v in d.items() if k not in _BODY}
    if version == 1:
        rest = {k: v for k, v in (kept.get("Examples") or {}).items() if k != "Positive Examples"}
        kept.pop("Examples", None)
        kept.update(rest)  # "Negative Examples" and any other kind of examples
    else:
        kept.pop("Positive Examples", None)
    if isinstance(definition, list) and len(definition) != 1:
        kept["Definition"] = definition
    task_meta = {"natural_instructions": kept, "ni_version": version}
    name = Path(inner_name(path)).stem
    out: list[Example] = []
    for items, fname, role in (
        (positives, pos_field, "positive_example"),
        (instances, "Instances", "instance"),
    ):
        lines = _element_lines(text, fname.rsplit(".", 1)[-1], len(items))
        for i, item in enumerate(items):
            line = lines[i] or 1
            inst = _example(item, path, line, f"{fname}[{i}]", role)
            if inst is not None:
                out.append(Example(line, instruction, inst, task_meta, name=name))
    if not out:
        # A task with no usable example is still a task (its definition, its metadata).
        out.append(Example(1, instruction, None, task_meta, name=name))
    return group_examples(out, path, FORMAT)
