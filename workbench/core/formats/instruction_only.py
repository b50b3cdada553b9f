"""Instruction-only records: instructions without outputs, as InstructWild releases them
(XueFuzhao/InstructionWild `data/seed_prompts_en.jsonl`: `{"instruction"}`; `data_v2/user_*.jsonl`:
`{"instruction", "instruction_type"}`), and any JSON list or JSON Lines of objects with an
`instruction` and no `output`.

Stored as tasks without examples, the way SELF-INSTRUCT holds an instruction before its
instances are generated: nothing is invented for the missing output, the instruction takes part
in ROUGE-L de-duplication and selection, and a later import of the same instruction with
examples fills the task in. Every other field (`instruction_type`, `id`, an `input` without
output, …) is kept in the task's meta; when the same instruction comes twice, the later
record's fields are kept in `meta["also"]`.

Errors: a record that is not an object, or without a non-empty text `instruction` (file, line,
field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store.tasks import Task
from .common import require_obj
from .reading import Example, group_examples, iter_records, text_field
from .validation import parse_each

FORMAT = "instruction-only"
EXTENSIONS = (".jsonl", ".json")
_ANSWERS = (
    "output",
    "outputs",
    "response",
    "completion",
    "answer",
    "instances",
    "conversations",
    "messages",
    "chosen",
)


def looks_like(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("instruction"), str)
        and not any(k in obj for k in _ANSWERS)
    )


def _record(obj: Any, path: Path, line: int) -> Example:
    obj = require_obj(obj, path, line)
    instruction = text_field(obj, "instruction", path, line, nonempty=True)
    meta = {k: v for k, v in obj.items() if k != "instruction"}
    return Example(line, instruction, None, meta)


def read(path: Path) -> list[Task]:
    return group_examples(parse_each(iter_records(path), _record, path), path, FORMAT)
