"""Items to reason about: question + gold answer, from a data file or from workspace tasks.

Accepted JSONL records (one object a line; a JSON list of the same objects works too):
- GSM8K: {"question", "answer"} where the answer ends with "#### <number>";
- multiple choice: {"question", "options" | "choices" (list, or {letter: text}), "answer" |
  "label" (a letter or a 0-based index)}, optionally "context" | "passage";
- instruction records: {"instruction", "input"?, "output"}, optionally "answer" (the short gold
  answer when the output is longer) and "type" (math | formalize | infer | choice | task).
The whole file is validated before anything is stored, and errors name the line and field.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..answers import (
    NUMBER,
    OPTION,
    TEXT,
    gsm8k_gold,
    normalize_gold,
    normalize_number,
    strip_calculator,
)
from ..errors import UserInputError, json_syntax_error
from ..store.tasks import iter_tasks
from ..store.workspace import Workspace

COT_TYPES = ("math", "formalize", "infer", "choice", "task")
LETTERS = string.ascii_uppercase


@dataclass
class CotItem:
    """One question with its gold answer. `instruction` empty = the CoT type's template wording."""

    source: str  # gsm8k | choice | records | workspace
    cot_type: str
    input: str
    gold_output: str  # the gold answer as the source writes it ("18", "B", a formula)
    gold_answer: str  # normalised for comparison
    answer_kind: str  # number | option | text
    instruction: str = ""
    options: list[str] = field(default_factory=list)
    source_ref: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _read_rows(path: Path) -> list[tuple[int, Any]]:
    if not path.is_file():
        raise UserInputError("no such file", path=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"not UTF-8 text ({exc.reason})", path=path) from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise json_syntax_error(exc, path) from None
        return [(i + 1, row) for i, row in enumerate(data)]
    rows = []
    lines = text.splitlines()
    last = max((n for n, line in enumerate(lines, 1) if line.strip()), default=0)
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise json_syntax_error(exc, path, lineno, last=lineno == last) from None
    return rows


# Worded as every reader words a field (`formats.common.get_str` / `json_type`), which cot
# cannot import: formats sits above cot in the core's floors (pyproject: importlinter).
_JSON_TYPES = {dict: "an object", list: "a list", bool: "true/false", type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "a value")


def _text(row: dict[str, Any], key: str, path: Path, line: int, *, required: bool = True) -> str:
    """`row[key]` as text (a number is its digits); errors read "PATH, line N, field 'KEY':
    expected text, found a list" / "the field is missing" / "the field is empty"."""
    value = row.get(key)
    if value is None:
        if required:
            raise UserInputError("the field is missing", path=path, line=line, field=key)
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise UserInputError(
            f"expected text, found {_json_type(value)}", path=path, line=line, field=key
        )
    if required and not value.strip():
        raise UserInputError("the field is empty", path=path, line=line, field=key)
    return value


def _options(row: dict[str, Any], path: Path, line: int) -> tuple[str, list[str], str]:
    key = "options" if "options" in row else "choices"
    raw = row[key]
    if isinstance(raw, dict):
        letters = [str(k).strip().upper() for k in raw]
        texts = [str(v) for v in raw.values()]
        if letters != list(LETTERS[: len(letters)]):
            raise UserInputError(
                "option keys must be A, B, C, ... in order", path=path, line=line, field=key
            )
    elif isinstance(raw, list) and all(isinstance(o, (str, int, float)) for o in raw):
        texts = [str(o) for o in raw]
    else:
        raise UserInputError(
            "expected a list of option texts or {letter: text}", path=path, line=line, field=key
        )
    if not 2 <= len(texts) <= len(LETTERS):
        raise UserInputError("expected at least 2 options", path=path, line=line, field=key)
    akey = next((k for k in ("answer", "label", "gold") if k in row), None)
    if akey is None:
        raise UserInputError(
            "missing (the gold option: a letter or a 0-based index)",
            path=path,
            line=line,
            field="answer",
        )
    ans = row[akey]
    if isinstance(ans, int) and not isinstance(ans, bool):
        if not 0 <= ans < len(texts):
            raise UserInputError(
                f"index {ans} is not one of the {len(texts)} options",
                path=path,
                line=line,
                field=akey,
            )
        letter = LETTERS[ans]
    else:
        letter = normalize_gold(str(ans), OPTION) or ""
        if letter not in LETTERS[: len(texts)]:
            raise UserInputError(
                f"{ans!r} is not one of the option letters", path=path, line=line, field=akey
            )
    return letter, texts, key


def format_choice_input(question: str, options: list[str], context: str = "") -> str:
    """A multiple-choice item as one input text: passage, question, lettered options."""
    parts = [context.strip()] if context.strip() else []
    parts.append(question.strip())
    parts.append("\n".join(f"({LETTERS[i]}) {o.strip()}" for i, o in enumerate(options)))
    return "\n\n".join(parts)


def _item(row: Any, path: Path, line: int) -> CotItem:
    if not isinstance(row, dict):
        raise UserInputError(f"expected an object, found {_json_type(row)}", path=path, line=line)
    ref = f"{path.name}:{line}"
    if "question" in row and ("options" in row or "choices" in row):
        letter, options, _ = _options(row, path, line)
        context = _text(row, "context", path, line, required=False) or _text(
            row, "passage", path, line, required=False
        )
        question = _text(row, "question", path, line)
        return CotItem(
            "choice",
            "choice",
            format_choice_input(question, options, context),
            letter,
            letter,
            OPTION,
            options=options,
            source_ref=ref,
        )
    if "question" in row and "answer" in row:
        question = _text(row, "question", path, line)
        answer = _text(row, "answer", path, line)
        gold = gsm8k_gold(answer) if "####" in answer else normalize_number(answer)
        if gold is None:
            raise UserInputError(
                'expected a GSM8K answer ending with "#### <number>"',
                path=path,
                line=line,
                field="answer",
            )
        display = answer.rsplit("####", 1)[-1].strip() if "####" in answer else answer.strip()
        return CotItem(
            "gsm8k",
            "math",
            question,
            display,
            gold,
            NUMBER,
            source_ref=ref,
            meta={"reference_solution": strip_calculator(answer)},
        )
    if "instruction" in row and "output" in row:
        instruction = _text(row, "instruction", path, line)
        output = _text(row, "output", path, line)
        inp = _text(row, "input", path, line, required=False)
        cot_type = row.get("type", "task")
        if cot_type not in COT_TYPES:
            raise UserInputError(
                f"expected one of {', '.join(COT_TYPES)}", path=path, line=line, field="type"
            )
        short = _text(row, "answer", path, line, required=False) or output
        item = item_from_output(
            instruction, inp, short, cot_type=cot_type, source="records", source_ref=ref
        )
        item.meta["output"] = output
        return item
    raise UserInputError(
        "not a known record: expected GSM8K {question, answer}, multiple choice "
        "{question, options, answer} or {instruction, input, output}",
        path=path,
        line=line,
    )


def item_from_output(
    instruction: str,
    inp: str,
    output: str,
    *,
    cot_type: str = "task",
    source: str = "workspace",
    source_ref: str | None = None,
) -> CotItem:
    """An item whose gold answer is an output text: numeric when the output is a bare number."""
    stripped = output.strip()
    number = normalize_number(stripped)
    bare_number = (
        number is not None and len(stripped.split()) <= 2 and any(c.isdigit() for c in stripped)
    )
    if cot_type == "math" or bare_number:
        if number is None:
            raise UserInputError("a math item needs a numeric answer", field="output")
        return CotItem(
            source,
            cot_type,
            inp,
            stripped,
            number,
            NUMBER,
            instruction=instruction,
            source_ref=source_ref,
        )
    return CotItem(
        source,
        cot_type,
        inp,
        stripped,
        normalize_gold(stripped, TEXT) or "",
        TEXT,
        instruction=instruction,
        source_ref=source_ref,
    )


def load_file(path: str | Path, *, limit: int | None = None) -> list[CotItem]:
    """All items of a data file (the first `limit`), validated before anything is used."""
    p = Path(path).expanduser()
    rows = _read_rows(p)
    if limit is not None:
        rows = rows[:limit]
    items = [_item(row, p, line) for line, row in rows]
    if not items:
        raise UserInputError("no records in the file", path=p)
    return items


def from_workspace(ws: Workspace, task_ids: Iterable[int] | None = None) -> list[CotItem]:
    """Items from workspace tasks: one per instance that has an output."""
    if task_ids is None:
        tasks = iter_tasks(ws)
    else:
        ids = [int(i) for i in task_ids]
        tasks = iter_tasks(
            ws, where="id IN (SELECT value FROM json_each(?))", params=[json.dumps(ids)]
        )
    items = []
    for task in tasks:
        for k, inst in enumerate(task.instances):
            if inst.output.strip():
                items.append(
                    item_from_output(
                        task.instruction,
                        inst.input,
                        inst.output,
                        source_ref=f"task {task.id} instance {k}",
                    )
                )
    return items
