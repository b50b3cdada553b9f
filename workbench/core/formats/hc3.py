"""HC3 (Hello-SimpleAI/HC3, "Human ChatGPT Comparison Corpus"): JSON Lines (or a JSON list) of
`{"id", "question", "human_answers": [str, ...], "chatgpt_answers": [str, ...], "source"?}`.

Each question is a task (the instruction); each answer one of its examples, human answers
first, in file order, with `meta["answerer"]` = "human" | "chatgpt" and the record's other
fields (`id`, `source`, `index`, …). A question without answers is kept as a task without
examples.

Errors: a missing or empty `question`, answers that are not a list of texts (file, line, field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import require_obj
from .reading import Example, group_examples, iter_records, text_field, type_name
from .validation import parse_each

FORMAT = "hc3"
EXTENSIONS = (".jsonl", ".json")
_ANSWERS = (("human_answers", "human"), ("chatgpt_answers", "chatgpt"))


def looks_like(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and "question" in obj
        and "human_answers" in obj
        and "chatgpt_answers" in obj
    )


def _record(obj: Any, path: Path, line: int) -> list[Example]:
    obj = require_obj(obj, path, line)
    question = text_field(obj, "question", path, line, nonempty=True)
    rest = {
        k: v for k, v in obj.items() if k not in ("question", "human_answers", "chatgpt_answers")
    }
    out = []
    for key, who in _ANSWERS:
        answers = obj.get(key) or []
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise UserInputError(
                f"expected a list of texts, found {type_name(answers)}",
                path=path,
                line=line,
                field=key,
            )
        for answer in answers:
            out.append(
                Example(line, question, Instance(output=answer, meta={"answerer": who, **rest}))
            )
    return out or [Example(line, question, None, rest)]


def read(path: Path) -> list[Task]:
    examples = [e for group in parse_each(iter_records(path), _record, path) for e in group]
    return group_examples(examples, path, FORMAT)
