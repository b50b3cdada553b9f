"""Ranked answers, read as preference pairs (kind "preference": `output` = the better answer,
`rejected` = the worse):

- **gpt4-comparison** (GPT-4-LLM, Instruction-Tuning-with-GPT-4/GPT-4-LLM
  `data/comparision_data.json`, the repository's spelling): a JSON list of `{"user_input",
  "completion_a", "completion_b"}`, `completion_a` ranked higher than `completion_b` by GPT-4
  (the repository's README). `user_input` is the instruction; other fields stay in meta.
- **se-preferences** (HuggingFaceH4/stack-exchange-preferences and its layout, e.g.
  bigcode/code-exchange): `{"qid", "question", "answers": [{"answer_id", "author", "author_id",
  "author_profile", "pm_score", "selected", "text"}, ...], "date", "metadata"}` a row. The
  question is the instruction. Pairs: each answer of the highest `pm_score` (the accepted one
  first) against each answer of a lower score, every answer in at least one pair when the
  scores differ; each example keeps both answers' fields (`chosen_answer`, `rejected_answer`:
  every key but `text`) and the record's other fields. A question whose answers all share one
  score gives no pair: its answers are kept as plain examples (`meta["unpaired"] = true`, with
  their fields), and one without answers as a task without examples.

Errors: missing or non-text fields, `answers` that is not a list of objects with text `text`
and a number `pm_score` (file, line, field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import Record, group_records, object_list, require_obj
from .reading import iter_records, text_field, type_name
from .validation import parse_each

GPT4_COMPARISON = "gpt4-comparison"
SE_PREFERENCES = "se-preferences"
EXTENSIONS = (".json", ".jsonl")


def looks_like_gpt4_comparison(obj: object) -> bool:
    return isinstance(obj, dict) and {"user_input", "completion_a", "completion_b"} <= set(obj)


def looks_like_se_preferences(obj: object) -> bool:
    answers = obj.get("answers") if isinstance(obj, dict) else None
    return (
        isinstance(obj, dict)
        and "question" in obj
        and isinstance(answers, list)
        and all(isinstance(a, dict) and "pm_score" in a and "text" in a for a in answers)
    )


def gpt4_comparison_record(obj: Any, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    keys = ("user_input", "completion_a", "completion_b")
    inst = Instance(
        output=text_field(d, "completion_a", path, line),
        rejected=text_field(d, "completion_b", path, line),
        kind="preference",
        meta={k: v for k, v in d.items() if k not in keys},
    )
    return Record(line, text_field(d, "user_input", path, line, nonempty=True), inst)


def se_record(obj: Any, path: Path, line: int) -> list[Record]:
    d = require_obj(obj, path, line)
    question = text_field(d, "question", path, line, nonempty=True)
    rest = {k: v for k, v in d.items() if k not in ("question", "answers")}
    ranked = []
    for i, (fname, a) in enumerate(object_list(d, "answers", path, line)):
        text = text_field(a, "text", path, line, name=f"{fname}.text")
        score = a.get("pm_score")
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise UserInputError(
                f"expected a number, found {type_name(score)}",
                path=path,
                line=line,
                field=f"{fname}.pm_score",
            )
        fields = {k: v for k, v in a.items() if k != "text"}
        ranked.append((score, not a.get("selected"), i, text, fields))
    if not ranked:
        return [Record(line, question, None, rest)]
    ranked.sort(key=lambda r: (-r[0], r[1], r[2]))
    top = ranked[0][0]
    best = [r for r in ranked if r[0] == top]
    lower = [r for r in ranked if r[0] < top]
    if not lower:
        return [
            Record(line, question, Instance(output=text, meta={**rest, **fields, "unpaired": True}))
            for _, _, _, text, fields in sorted(best, key=lambda r: r[2])
        ]
    out = []
    for _, _, _, good, good_fields in best:
        for _, _, _, bad, bad_fields in lower:
            meta = {**rest, "chosen_answer": good_fields, "rejected_answer": bad_fields}
            inst = Instance(output=good, rejected=bad, kind="preference", meta=meta)
            out.append(Record(line, question, inst))
    return out


def read_gpt4_comparison(path: Path) -> list[Task]:
    return group_records(
        parse_each(iter_records(path), gpt4_comparison_record, path), path, GPT4_COMPARISON
    )


def read_se_preferences(path: Path) -> list[Task]:
    examples = [r for group in parse_each(iter_records(path), se_record, path) for r in group]
    return group_records(examples, path, SE_PREFERENCES)
