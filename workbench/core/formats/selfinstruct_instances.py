"""Self-Instruct instances JSONL (the reference's `all_generated_instances.jsonl`): one
`{"instruction", "input", "output"}` a line, one line per instance; lines that share an
instruction are one task.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

from ..store.tasks import Instance, Task
from .common import (
    Record,
    dump,
    get_str,
    group_records,
    instruction_of,
    iter_examples,
    iter_jsonl,
    require_obj,
)
from .lossy import WHOLE

FORMAT = "selfinstruct-instances"
EXTENSIONS = (".jsonl",)
HOLDS = WHOLE  # instruction, input, output only, any of them may be empty (lossy.py)


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    return Record(
        line=line,
        instruction=get_str(d, "instruction", path, line, nonempty=True),
        instance=Instance(
            get_str(d, "input", path, line, required=False), get_str(d, "output", path, line)
        ),
    )


def read(path: Path) -> list[Task]:
    return group_records((parse_record(o, path, n) for n, o in iter_jsonl(path)), path, FORMAT)


def write(tasks: Iterable[Task], fh: IO[str], options: dict[str, str]) -> int:
    n = 0
    for task, _, inst, _ in iter_examples(tasks):
        fh.write(
            dump(
                {
                    "instruction": instruction_of(task, inst),
                    "input": inst.input,
                    "output": inst.output,
                }
            )
            + "\n"
        )
        n += 1
    return n
