"""Reading reasoning data into SELF-CHECK traces.

Formats (auto-detected from the first record):
- `processbench`: JSON list of {id, problem, steps, label, final_answer_correct}; `label` is the
  0-based index of the first wrong step, −1 when all are right.
- `mr-gsm8k`: JSON list of {uuid, question, ground_truth_answer, model_output_steps ("Step k: ..."),
  model_output_solution_first_error_step (1-based)}.
- `gsm8k`: JSONL of {question, answer ending "#### N"}: questions with gold answers, no solution.
- `traces`: our own `selfcheck-traces` export (JSONL: question, steps[{text, rating}], answer).
Bad input raises `UserInputError` naming the file, line and field, before anything is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserInputError, json_syntax_error
from ..store.runs import create_run, set_run_status
from ..store.workspace import Workspace
from . import store

FORMATS = ("processbench", "mr-gsm8k", "gsm8k", "traces")
_STEP_PREFIX = re.compile(r"^\s*step\s*\d+\s*[:.]\s*", re.IGNORECASE)


@dataclass
class Record:
    question: str
    source_id: str | None
    gold_answer: str | None = None
    gold_solution: str | None = None
    steps: list[str] | None = None
    label: int | None = None
    ratings: list[int | None] = field(default_factory=list)
    answer: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _read(path: Path) -> tuple[list[tuple[int | None, dict[str, Any]]], bool]:
    """(records with their line numbers for JSONL, is_jsonl)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"cannot read the file ({exc.strerror})", path=path) from exc
    except UnicodeDecodeError as exc:
        raise UserInputError("not UTF-8 text", path=path) from exc
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise json_syntax_error(exc, path) from exc
        if not all(isinstance(d, dict) for d in data):
            raise UserInputError("expected a JSON list of objects", path=path)
        return [(None, d) for d in data], False
    out: list[tuple[int | None, dict[str, Any]]] = []
    lines = text.splitlines()
    last = max((n for n, line in enumerate(lines, 1) if line.strip()), default=0)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise json_syntax_error(exc, path, n, last=n == last) from exc
        if not isinstance(obj, dict):
            raise UserInputError("expected a JSON object", path=path, line=n)
        out.append((n, obj))
    return out, True


def detect_format(first: dict[str, Any]) -> str | None:
    if "problem" in first and "steps" in first:
        return "processbench"
    if "model_output_steps" in first:
        return "mr-gsm8k"
    if "steps" in first and "question" in first:
        return "traces"
    if "question" in first and "answer" in first:
        return "gsm8k"
    return None


def reasoning_layout(path: str | Path) -> str | None:
    """The reasoning layout of a file (one of `FORMATS`: "processbench", "mr-gsm8k", "traces",
    "gsm8k") judged by its first record, or None when it is not one (or cannot be read: this
    only names the layout, for a better message when an instruction import fails; it never
    raises). Reads the whole file: call it after an import failed, not before each one."""
    try:
        rows, _ = _read(Path(path))
    except (UserInputError, OSError, RecursionError):
        return None
    return detect_format(rows[0][1]) if rows else None


def _need(
    obj: dict[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    path: Path,
    line: int | None,
    index: int,
) -> Any:
    if key not in obj:
        raise UserInputError(
            "missing",
            path=path,
            line=line if line is not None else None,
            field=key if line is not None else f"[{index}].{key}",
        )
    val = obj[key]
    if not isinstance(val, kind):
        raise UserInputError(
            f"expected {getattr(kind, '__name__', kind)}",
            path=path,
            line=line,
            field=key if line is not None else f"[{index}].{key}",
        )
    return val


def _gsm8k_gold(answer: str) -> str | None:
    m = re.search(r"####\s*(.+)", answer)
    return m.group(1).strip() if m else None


def parse_records(path: str | Path, fmt: str | None = None) -> tuple[str, list[Record]]:
    """(format, records), validated in full before anything is stored."""
    p = Path(path)
    rows, _ = _read(p)
    if not rows:
        raise UserInputError("no records in the file", path=p)
    fmt = fmt or detect_format(rows[0][1])
    if fmt not in FORMATS:
        raise UserInputError(
            "cannot tell the format of this file",
            path=p,
            hint=f"Pass --format, one of: {', '.join(FORMATS)}.",
        )
    out: list[Record] = []
    for i, (line, obj) in enumerate(rows):
        if fmt == "processbench":
            steps = _need(obj, "steps", list, p, line, i)
            label = _need(obj, "label", int, p, line, i)
            if not (-1 <= label < len(steps)):
                raise UserInputError(
                    f"label {label} is outside the {len(steps)} steps",
                    path=p,
                    line=line,
                    field="label" if line else f"[{i}].label",
                )
            out.append(
                Record(
                    question=_need(obj, "problem", str, p, line, i),
                    source_id=str(obj.get("id", i)),
                    steps=[str(s) for s in steps],
                    label=label,
                    meta={k: obj[k] for k in ("generator", "final_answer_correct") if k in obj},
                )
            )
        elif fmt == "mr-gsm8k":
            raw_steps = _need(obj, "model_output_steps", list, p, line, i)
            steps = [_STEP_PREFIX.sub("", str(s)) for s in raw_steps]
            first = obj.get("model_output_solution_first_error_step")
            correct = str(obj.get("model_output_solution_correctness", "")).lower() == "correct"
            label = -1 if correct or first in (None, "N/A", -1) else int(first) - 1
            out.append(
                Record(
                    question=_need(obj, "question", str, p, line, i),
                    source_id=str(obj.get("uuid", i)),
                    gold_answer=obj.get("ground_truth_answer"),
                    gold_solution=obj.get("ground_truth_solution"),
                    steps=steps,
                    label=label,
                    meta={
                        k: obj[k]
                        for k in ("model_output_solution_first_error_reason", "question_type")
                        if k in obj
                    },
                )
            )
        elif fmt == "gsm8k":
            ans = _need(obj, "answer", str, p, line, i)
            gold = _gsm8k_gold(ans)
            if gold is None:
                raise UserInputError(
                    "the answer does not end with '#### <number>'",
                    path=p,
                    line=line,
                    field="answer",
                )
            out.append(
                Record(
                    question=_need(obj, "question", str, p, line, i),
                    source_id=str(obj.get("id", line if line is not None else i)),
                    gold_answer=gold,
                    gold_solution=ans,
                )
            )
        else:  # traces
            if "steps" not in obj and {"question", "answer"} <= set(obj):
                raise UserInputError(
                    "missing (a question and an answer but no steps: GSM8K questions, "
                    "no solutions to check)",
                    path=p,
                    line=line,
                    field="steps" if line is not None else f"[{i}].steps",
                    hint=_questions_hint(p),
                )
            steps_in = _need(obj, "steps", list, p, line, i)
            steps, ratings = [], []
            for s in steps_in:
                if isinstance(s, dict):
                    steps.append(str(s.get("text", "")))
                    ratings.append(s.get("rating"))
                else:
                    steps.append(str(s))
                    ratings.append(None)
            out.append(
                Record(
                    question=_need(obj, "question", str, p, line, i),
                    source_id=str(obj["id"]) if "id" in obj else None,
                    gold_answer=obj.get("gold_answer"),
                    steps=steps,
                    ratings=ratings,
                    answer=obj.get("answer"),
                    label=obj.get("label"),
                )
            )
    return fmt, out


def balanced_indices(records: list[Record], n: int) -> list[int]:
    """The first n/2 correct (label −1) and first n/2 erroneous records, in file order.

    ProcessBench's files list erroneous items first, so the first N alone can hold no correct
    item at all, and then F1 is undefined."""
    correct = [i for i, r in enumerate(records) if r.label == -1]
    wrong = [i for i, r in enumerate(records) if r.label is not None and r.label != -1]
    k_cor = min(len(correct), n // 2)
    k_wrong = min(len(wrong), n - k_cor)
    k_cor = min(len(correct), n - k_wrong)
    return sorted(correct[:k_cor] + wrong[:k_wrong])


def _questions_hint(path: Path) -> str:
    """The pointer from a file of questions without solutions to sampling them first."""
    return (
        "To sample solutions first and then check them, use "
        f"`workbench self-check --questions {path} --samples N`."
    )


def import_traces(
    ws: Workspace,
    path: str | Path,
    fmt: str | None = None,
    *,
    limit: int | None = None,
    balanced: bool = False,
    need_solutions: bool = False,
    keep_empty_run: bool = True,
) -> dict[str, Any]:
    """Import a file into the workspace in one transaction; a repeat import adds nothing.

    `need_solutions`: raise UserInputError (nothing written) when the records hold no solution
    to check (GSM8K questions with gold answers). `keep_empty_run=False`: when nothing new is
    added (a resumed job importing its file again), no import run is recorded and "run_id" is
    None. Returns {"format", "run_id", "questions", "solutions", "skipped", "question_ids",
    "solution_ids"}.
    """
    p = Path(path)
    fmt, records = parse_records(p, fmt)
    if limit is not None:
        records = (
            [records[i] for i in balanced_indices(records, limit)] if balanced else records[:limit]
        )
    if need_solutions and not any(r.steps is not None for r in records):
        raise UserInputError(
            f"this {fmt} file holds questions but no solutions to check",
            path=p,
            hint=_questions_hint(p),
        )
    source = fmt if fmt != "traces" else f"traces:{p.name}"
    qids: list[int] = []
    sids: list[int] = []
    n_q = skipped = 0
    with ws.transaction():
        run_id: int | None = create_run(
            ws, "import", {"format": f"selfcheck-{fmt}", "path": str(p)}
        )
        for k, r in enumerate(records):
            sid_key = r.source_id if r.source_id is not None else f"{p.name}#{k}"
            qid, created = store.add_question(
                ws,
                r.question,
                source=source,
                source_id=sid_key,
                gold_answer=r.gold_answer,
                gold_solution=r.gold_solution,
                run_id=run_id,
                meta=r.meta,
            )
            n_q += created
            qids.append(qid)
            if r.steps is None:
                continue
            text = "\n".join(f"Step {i}: {s}" for i, s in enumerate(r.steps))
            existing = ws.scalar(
                "SELECT id FROM sc_solutions WHERE question_id = ? "
                "AND origin = 'imported' AND text = ?",
                (qid, text),
            )
            if existing is not None:
                skipped += 1
                sids.append(int(existing))
                continue
            sid = store.add_solution(
                ws,
                qid,
                text,
                origin="imported",
                steps=r.steps,
                run_id=run_id,
                answer=r.answer,
                label=r.label,
                meta=r.meta,
            )
            sids.append(sid)
            if any(x is not None for x in r.ratings):
                for st, rating in zip(store.solution_steps(ws, sid), r.ratings):
                    if rating is not None:
                        store.set_step_label(ws, st["id"], int(rating))
        if not keep_empty_run and n_q == 0 and len(sids) == skipped:
            ws.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            run_id = None
    result = {
        "format": fmt,
        "run_id": run_id,
        "questions": n_q,
        "solutions": len(sids) - skipped,
        "skipped": skipped,
        "question_ids": qids,
        "solution_ids": sids,
    }
    if run_id is not None:
        set_run_status(
            ws,
            run_id,
            "finished",
            stats={k: v for k, v in result.items() if k not in ("question_ids", "solution_ids")},
        )
    return result
