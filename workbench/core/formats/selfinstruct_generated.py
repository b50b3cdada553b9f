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
`meta["_record"]` lists the line's keys in file order, so the writer gives the line back as it
was.

The writer writes a task with examples as a step-3 line, and one without whose stored
`raw_instances` gives none either; any other as a step-2 line (see `write`).
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
from .lossy import WHOLE

FORMAT = "selfinstruct-generated"
EXTENSIONS = (".jsonl",)
MARKERS = ("most_similar", "avg_similarity_score", "request_idx", "raw_instances")
# The fields the task takes as its own; every other one is kept in its meta as it was.
_OWN = ("instruction", "is_classification")
CLASS_LABEL = "Class label:"  # what the classification (output-first) template makes it write
MAX_INSTANCES = 5  # the reference keeps at most 5 instances a task, as our runs and replay do
NO_EXAMPLES = "no-examples-found"
ALL_FILTERED = "all-filtered"
# An example is its input and output only (lossy.py: the exporter refuses, or with --lossy
# strips, a system prompt, history, preference pair, ...); an empty one is checked by `write`.
HOLDS = WHOLE
# The reference's layouts, in its key order: step 2 (bootstrap_instructions.py) and step 3
# (generate_instances.py, whose `instruction_metadata` is step 2's `metadata`).
STEP2 = ("instruction", "most_similar", "avg_similarity_score", "metadata", "request_idx")
STEP3 = (
    "instruction",
    "raw_instances",
    "instance_metadata",
    "instruction_metadata",
    "most_similar",
    "avg_similarity_score",
)
# Task meta this reader adds (bookkeeping, never written): besides every key starting with "_".
_BOOKKEEPING = ("format", "line", "instances_dropped", "instances_unparsed")
# One task a line, its examples all from that line (importer: no records merged).
TASK_PER_RECORD = True
# What lost_fields counts: tasks whose examples raw_instances cannot hold as they are.
RAW = "raw_instances"


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
    meta.update(format=FORMAT, line=line, _record=list(d))
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


def _decide(raw: str, clf: bool | None, instance_metadata: Any) -> tuple[bool | None, list[dict]]:
    """(classification, filter decisions) for a step-3 text, as the reader takes it: output-first
    when `clf` says so, or when it is unknown and the text has "Class label:"."""
    if clf is None and CLASS_LABEL in raw:
        clf = True
    parser = parse_classification_instances if clf else parse_generation_instances
    pairs = parser(raw, _finish_reason(instance_metadata))
    return clf, filter_instances(pairs, max_instances=MAX_INSTANCES)


def _parse_instances(task: Task, raw: str, instance_metadata: Any) -> None:
    """Fill `task.instances` from the reference's step-3 text (see the module doc)."""
    task.is_classification, decided = _decide(raw, task.is_classification, instance_metadata)
    task.instances = [Instance(x["input"], x["output"]) for x in decided if x["kept"]]
    dropped = [
        {"input": x["input"], "output": x["output"], "reason": str(x["reason"] or "")}
        for x in decided
        if not x["kept"]
    ]
    if dropped:
        task.meta["instances_dropped"] = dropped
    if not task.instances:
        task.meta["instances_unparsed"] = ALL_FILTERED if decided else NO_EXAMPLES


def read(path: Path) -> list[Task]:
    return [parse_line(o, path, n) for n, o in iter_jsonl(path)]


def render(instances: list[Instance], classification: bool | None) -> str:
    """Examples as the reference's step-3 text (the layout of machine_generated_instances.jsonl):
    output-first "Class label: <output>\n<input>\n" each for a classification task; else
    "Example k\nInput: <input>\nOutput: <output>\n" each ("Input:" left out for an empty
    input), or "Output: <output>\n" alone for one example without input; a blank line ends it."""
    if classification:
        body = "".join(
            f"Class label: {i.output}\n" + (f"{i.input}\n" if i.input else "") for i in instances
        )
    elif len(instances) == 1 and not instances[0].input:
        body = f"Output: {instances[0].output}\n"
    else:
        body = "".join(
            f"Example {k}\n" + (f"Input: {i.input}\n" if i.input else "") + f"Output: {i.output}\n"
            for k, i in enumerate(instances, start=1)
        )
    return body + "\n"


def _gives(raw: str, task: Task, instances: list[Instance]) -> bool:
    """Whether the reader, given `raw` on a line of `task`, gives back exactly `instances`."""
    _, decided = _decide(raw, task.is_classification, task.meta.get("instance_metadata"))
    got = [(x["input"], x["output"]) for x in decided if x["kept"]]
    return got == [(i.input, i.output) for i in instances]


def raw_instances(task: Task) -> tuple[str | None, int]:
    """(the step-3 text to write for `task`, how many of its examples it leaves out).

    The stored `raw_instances` only when the reader gives exactly the task's current examples
    back from it (an imported line, unedited; or one whose text gave no example, as the task
    still has none); else the examples rendered (`render`), as many of them, in order, as the
    reader gives back as they are (an empty output, one with "Output:" or "Example 2" in it, a
    sixth example, ... cannot be; they are counted). None for a task without examples whose
    stored text (if any) gives some: its examples were removed, so it is a step-2 line, and
    a re-import cannot bring them back."""
    stored = task.meta.get("raw_instances")
    if isinstance(stored, str) and _gives(stored, task, task.instances):
        return stored, 0
    if not task.instances:
        return None, 0
    kept: list[Instance] = []
    for inst in task.instances:
        if _gives(render([*kept, inst], task.is_classification), task, [*kept, inst]):
            kept.append(inst)
    return render(kept, task.is_classification), len(task.instances) - len(kept)


def unwritable(task: Task) -> list[str]:
    """[RAW] when a step-3 line cannot give back every example of `task` (`raw_instances`)."""
    return [RAW] if raw_instances(task)[1] else []


def lost_fields(tasks: Iterable[Task]) -> dict[str, int]:
    """{RAW: tasks} for the tasks some of whose examples a line cannot hold: the exporter
    refuses with the count unless --lossy (then they are counted as `examples`)."""
    n = sum(bool(unwritable(t)) for t in tasks)
    return {RAW: n} if n else {}


def _line(task: Task) -> tuple[dict[str, Any], int]:
    """(the line for `task`, its examples left out); see `write`."""
    meta = task.meta
    raw, lost = raw_instances(task)
    record: list[Any] = meta["_record"] if isinstance(meta.get("_record"), list) else []
    step3 = raw is not None
    values: dict[str, Any] = {"instruction": task.instruction}
    if step3:
        values.update(
            raw_instances=raw,
            instance_metadata=meta.get("instance_metadata", {}),
            instruction_metadata=meta.get("instruction_metadata", meta.get("metadata", {})),
        )
    else:
        values.update(
            metadata=meta.get("metadata", meta.get("instruction_metadata", {})),
            request_idx=meta.get("request_idx"),
        )
    values.update(
        most_similar=meta.get("most_similar", {}),
        avg_similarity_score=meta.get("avg_similarity_score"),
    )
    same = bool(record) and ("raw_instances" in record) == step3
    keys = (
        [k for k in record if k in values or k in meta] if same else list(STEP3 if step3 else STEP2)
    )
    used = set(keys)
    if step3 and meta.get("metadata") == values["instruction_metadata"]:
        used.add("metadata")  # written as instruction_metadata, as the reference does
    if not step3:
        # A step-3 task whose examples were removed: its step-3 text and that completion's
        # metadata describe the removed examples (a re-import would bring them back).
        used.update(("raw_instances", "instance_metadata"))
        if meta.get("instruction_metadata") == values["metadata"]:
            used.add("instruction_metadata")
    inferred = True if step3 and raw and CLASS_LABEL in raw else None
    clf = task.is_classification
    if (same and "is_classification" in record) or clf != inferred:
        if "is_classification" not in keys:
            keys.append("is_classification")
        values["is_classification"] = clf
    obj = {k: values[k] if k in values else meta[k] for k in keys}
    for k, v in meta.items():  # every other stored field (request_idx, id, also, ...)
        if k not in obj and k not in used and k not in _BOOKKEEPING and not k.startswith("_"):
            obj[k] = v
    return obj, lost


def write(
    tasks: Iterable[Task], fh: IO[str], options: dict[str, str]
) -> tuple[int, dict[str, int]]:
    """One line per task, and {"examples": n}: the examples left out (only with --lossy: the
    exporter refuses first, `lost_fields`).

    A task with examples is a step-3 line (STEP3): its stored text when the reader gives exactly
    its examples back from it, else its examples rendered (`render`); so is a task without
    examples whose stored text gives none either (its line's text gave none). Any other task is
    a step-2 line (STEP2): one whose examples were all removed is written without its
    `raw_instances` and `instance_metadata` (its `instruction_metadata` as `metadata`). A task
    read from a line of the same layout gets back the keys its line had, in its order (byte for
    byte); another gets the layout's keys, its
    stored values or {}/null. `is_classification` is written when the line had it, or when the
    reader would not tell it from the text. Every other stored field (a step-2 line's
    `request_idx` on a step-3 line, a seed line's `id`, merged records' `also`) follows; the
    reader's bookkeeping (`format`, `line`, `instances_dropped`, `instances_unparsed`, `_...`)
    is not written."""
    n = lost = 0
    for task in tasks:
        obj, left = _line(task)
        lost += left
        fh.write(dump(obj) + "\n")
        n += 1
    return n, {"examples": lost}
