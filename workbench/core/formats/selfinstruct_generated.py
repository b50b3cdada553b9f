"""Self-Instruct generated instructions (the reference's `machine_generated_instructions.jsonl`):
one instruction a line with its ROUGE-L neighbours, `{"instruction", "most_similar",
"avg_similarity_score", "metadata", "request_idx"}`. Imported as tasks without instances.

The raw model prompt/response in `metadata` is not kept: the workspace records its own model
calls, and a reference run's raw completions are replayed from the run folder instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

from ..errors import UserInputError
from ..store.tasks import Task
from .common import dump, get_str, iter_jsonl, json_type, require_obj

FORMAT = "selfinstruct-generated"
EXTENSIONS = (".jsonl",)
MARKERS = ("most_similar", "avg_similarity_score", "request_idx", "raw_instances")
_KEPT = ("most_similar", "avg_similarity_score", "request_idx")


def looks_like(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("instruction"), str)
        and "instances" not in obj
        and any(k in obj for k in MARKERS)
    )


def _classification(d: dict, path: Path, line: int) -> bool | None:
    # The reference stores the label as the model wrote it (" Yes"/" No"); ours as a bool.
    value = d.get("is_classification")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    raise UserInputError(
        f'expected true/false or "Yes"/"No", found {json_type(value)}',
        path=path,
        line=line,
        field="is_classification",
    )


def parse_line(obj: object, path: Path, line: int) -> Task:
    d = require_obj(obj, path, line)
    instruction = get_str(d, "instruction", path, line, nonempty=True)
    score = d.get("avg_similarity_score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise UserInputError(
            f"expected a number, found {json_type(score)}",
            path=path,
            line=line,
            field="avg_similarity_score",
        )
    meta = {k: d[k] for k in _KEPT if d.get(k) is not None}
    meta.update(format=FORMAT, line=line)
    return Task(
        instruction=instruction,
        is_classification=_classification(d, path, line),
        origin=str(path),
        meta=meta,
    )


def read(path: Path) -> list[Task]:
    return [parse_line(o, path, n) for n, o in iter_jsonl(path)]


def write(
    tasks: Iterable[Task], fh: IO[str], options: dict[str, str]
) -> tuple[int, dict[str, int]]:
    """One line per task (its instruction and ROUGE-L neighbours); the examples are not
    written, and counted as `examples` (lossy.REPORTED) so the summary says so."""
    n = examples = 0
    for task in tasks:
        examples += len(task.instances)
        obj = {
            "instruction": task.instruction,
            "most_similar": task.meta.get("most_similar", {}),
            "avg_similarity_score": task.meta.get("avg_similarity_score"),
            "metadata": {},
            "request_idx": task.meta.get("request_idx"),
        }
        if task.is_classification is not None:
            obj["is_classification"] = task.is_classification
        fh.write(dump(obj) + "\n")
        n += 1
    return n, {"examples": examples}
