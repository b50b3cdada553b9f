"""Self-Instruct generated instructions: the reference's `machine_generated_instructions.jsonl`
(one instruction a line with its ROUGE-L neighbours, `{"instruction", "most_similar",
"avg_similarity_score", "metadata", "request_idx"}`), imported as tasks without instances; and
its step-3 file `machine_generated_instances.jsonl` (`{"instruction", "raw_instances",
"instance_metadata", "instruction_metadata", "most_similar", "avg_similarity_score"}`), whose
`raw_instances` (the model's step-3 text) are parsed into examples the way the reference's
`prepare_for_finetuning.py` does, with our step-3 parsers and instance filter
(selfinstruct/parse.py, filters.py; the same calls a replay of the run folder makes).

Output-first (classification) or input-first is told by the line's `is_classification` when it
has one (true/false, or the reference's " Yes"/" No"), else by the text: the classification
template makes the model write "Class label:". Every field is kept in the task's meta
(`metadata`, `instance_metadata`, `instruction_metadata`, `raw_instances`, ...); the pairs the
filter left out are in `meta["instances_dropped"]` (`{"input", "output", "reason"}`), and a
task whose text gave no example says why in `meta["instances_unparsed"]` (`no-examples-found`:
no "Example"/"Output:"/"Class label:" in it; `all-filtered`: every pair was left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from ..errors import UserInputError
from ..selfinstruct.filters import filter_instances
from ..selfinstruct.parse import parse_classification_instances, parse_generation_instances
from ..store.tasks import Instance, Task
from .common import dump, get_str, iter_jsonl, json_type, require_obj

FORMAT = "selfinstruct-generated"
EXTENSIONS = (".jsonl",)
MARKERS = ("most_similar", "avg_similarity_score", "request_idx", "raw_instances")
# The fields the task takes as its own; every other one is kept in its meta as it was.
_OWN = ("instruction", "is_classification")
CLASS_LABEL = "Class label:"  # what the classification (output-first) template makes it write
MAX_INSTANCES = 5  # the reference keeps at most 5 instances a task, as our runs and replay do
NO_EXAMPLES = "no-examples-found"
ALL_FILTERED = "all-filtered"


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
    raw = d.get("raw_instances")
    if raw is not None and not isinstance(raw, str):
        raise UserInputError(
            f"expected text, found {json_type(raw)}", path=path, line=line, field="raw_instances"
        )
    meta = {k: v for k, v in d.items() if k not in _OWN}
    meta.update(format=FORMAT, line=line)
    task = Task(
        instruction=instruction,
        is_classification=_classification(d, path, line),
        origin=str(path),
        meta=meta,
    )
    if raw is not None:
        _parse_instances(task, raw, d.get("instance_metadata"))
    return task


def _finish_reason(instance_metadata: Any) -> str:
    """The step-3 completion's finish reason ("length" drops its last, cut-off example), as
    the replay reads it; "stop" when the record does not say."""
    with suppress(KeyError, IndexError, TypeError, AttributeError):
        reason = instance_metadata["response"]["choices"][0].get("finish_reason")
        if isinstance(reason, str) and reason:
            return reason
    return "stop"


def _parse_instances(task: Task, raw: str, instance_metadata: Any) -> None:
    """Fill `task.instances` from the reference's step-3 text (see the module doc)."""
    clf = task.is_classification
    if clf is None and CLASS_LABEL in raw:
        clf = task.is_classification = True
    parser = parse_classification_instances if clf else parse_generation_instances
    pairs = parser(raw, _finish_reason(instance_metadata))
    decided = filter_instances(pairs, max_instances=MAX_INSTANCES)
    task.instances = [Instance(x["input"], x["output"]) for x in decided if x["kept"]]
    dropped = [
        {"input": x["input"], "output": x["output"], "reason": str(x["reason"] or "")}
        for x in decided
        if not x["kept"]
    ]
    if dropped:
        task.meta["instances_dropped"] = dropped
    if not task.instances:
        task.meta["instances_unparsed"] = ALL_FILTERED if pairs else NO_EXAMPLES


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
            "metadata": task.meta.get("metadata", {}),
            "request_idx": task.meta.get("request_idx"),
        }
        if task.is_classification is not None:
            obj["is_classification"] = task.is_classification
        fh.write(dump(obj) + "\n")
        n += 1
    return n, {"examples": examples}
