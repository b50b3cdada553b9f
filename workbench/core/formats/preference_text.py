"""Preference pairs written as text: each record becomes one example of kind "preference"
(`output` = the preferred answer, `rejected` = the other one).

- **hh-rlhf** (Anthropic HH-RLHF, `*/train.jsonl.gz`): `{"chosen": "\\n\\nHuman: …\\n\\nAssistant:
  …", "rejected": "…"}`, two whole transcripts that share all turns but the last answer. Also
  the split layout `{"prompt": "\\n\\nHuman: …\\n\\nAssistant:", "chosen": " …", "rejected":
  " …"}` (TRL, many Hub copies), and a plain-text `prompt` with text answers.
  The transcript's earlier turns are the example's history, its last Human turn the
  instruction. When the rejected transcript differs before its last answer (a few HH records
  do), its earlier turns are kept in `meta["rejected_history"]`. Other fields go to meta.
  Normalisation: turn texts are stripped of the spaces/newlines around them; answers of the
  split layout are kept exactly.
- **shp** (Stanford Human Preferences, `stanfordnlp/SHP`, SHP-2): `{"post_id", "domain",
  "history", "human_ref_A", "human_ref_B", "labels", "score_A", "score_B", …}`, `labels` = 1
  when A is preferred: `history` (the post) is the instruction. Also Stack Exchange paired
  data `{"question", "response_j", "response_k", …}` (j preferred). Every other field is kept
  in the example's meta (so `labels` tells which of A/B the output was).

Errors: a transcript without a Human or an Assistant turn, `labels` other than 0/1, a missing
or non-text answer (file, line, field).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import require_obj
from .reading import Example, group_examples, iter_records, text_field
from .validation import parse_each

HH = "hh-rlhf"
SHP = "shp"
EXTENSIONS = (".jsonl", ".json")
HH_MARKERS = {"Human:": "user", "Assistant:": "assistant"}
# A turn starts at the beginning of the text or after a blank line ("\n\nHuman:").
_HH_RE = re.compile(r"((?:^\s*|\n[ \t]*\n\s*)(?:Human|Assistant):)")


def looks_like_hh(obj: object) -> bool:
    """Text chosen/rejected answers to an HH transcript (`Human:` … `Assistant:`), whole or
    split into prompt and answers. A plain-text prompt is TRL's layout (trl.py); this reader
    takes it too when named with --format hh-rlhf."""
    if not (
        isinstance(obj, dict)
        and isinstance(obj.get("chosen"), str)
        and isinstance(obj.get("rejected"), str)
    ):
        return False
    text = obj["prompt"] if isinstance(obj.get("prompt"), str) else obj["chosen"]
    return bool(_HH_RE.search(text)) and "Assistant:" in text


def looks_like_shp(obj: object) -> bool:
    return isinstance(obj, dict) and (
        ("human_ref_A" in obj and "human_ref_B" in obj and "history" in obj)
        or ("response_j" in obj and "response_k" in obj and "question" in obj)
    )


def split_hh(text: str) -> list[tuple[str, str]]:
    """[(role, text), ...] of an HH transcript ("\\n\\nHuman: …\\n\\nAssistant: …"); text before
    the first marker (none in HH) is returned as a ("system", text) turn."""
    parts = _HH_RE.split(text)
    turns: list[tuple[str, str]] = []
    if parts[0].strip():
        turns.append(("system", parts[0].strip()))
    for i in range(1, len(parts), 2):
        turns.append((HH_MARKERS[parts[i].strip()], parts[i + 1].strip()))
    return turns


def _history(turns: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"role": r, "content": t} for r, t in turns]


def _last_pair(
    turns: list[tuple[str, str]],
    path: Path,
    line: int,
    field: str,
) -> tuple[str | None, list[tuple[str, str]], str, str]:
    """(system, earlier turns, last user turn, last answer) of a whole transcript."""
    system = turns.pop(0)[1] if turns and turns[0][0] == "system" else None
    if not turns or turns[-1][0] != "assistant":
        raise UserInputError(
            "the transcript must end with an Assistant turn", path=path, line=line, field=field
        )
    if len(turns) < 2 or turns[-2][0] != "user":
        raise UserInputError(
            "the last Assistant turn follows no Human turn", path=path, line=line, field=field
        )
    if not turns[-2][1]:
        raise UserInputError("the last Human turn is empty", path=path, line=line, field=field)
    return system, turns[:-2], turns[-2][1], turns[-1][1]


def _hh_record(obj: Any, path: Path, line: int) -> Example:
    obj = require_obj(obj, path, line)
    chosen = text_field(obj, "chosen", path, line)
    rejected = text_field(obj, "rejected", path, line)
    meta: dict[str, Any] = {
        k: v for k, v in obj.items() if k not in ("chosen", "rejected", "prompt")
    }
    if isinstance(obj.get("prompt"), str):
        prompt = obj["prompt"]
        turns = split_hh(prompt)
        if any(r == "user" for r, _ in turns):
            if turns[-1] == ("assistant", ""):
                turns.pop()  # the open "Assistant:" the answers complete
            system = turns.pop(0)[1] if turns and turns[0][0] == "system" else None
            if not turns or turns[-1][0] != "user" or not turns[-1][1]:
                raise UserInputError(
                    "the prompt must end with a Human turn", path=path, line=line, field="prompt"
                )
            instruction, history = turns[-1][1], _history(turns[:-1])
        else:
            if not prompt.strip():
                raise UserInputError("the field is empty", path=path, line=line, field="prompt")
            system, instruction, history = None, prompt, []
        inst = Instance(
            output=chosen,
            rejected=rejected,
            kind="preference",
            system=system,
            history=history,
            meta=meta,
        )
        return Example(line, instruction, inst)
    c_system, c_before, instruction, c_answer = _last_pair(split_hh(chosen), path, line, "chosen")
    r_system, r_before, r_user, r_answer = _last_pair(split_hh(rejected), path, line, "rejected")
    if (r_system, r_before, r_user) != (c_system, c_before, instruction):
        meta["rejected_history"] = _history(
            ([("system", r_system)] if r_system else []) + r_before + [("user", r_user)]
        )
    inst = Instance(
        output=c_answer,
        rejected=r_answer,
        kind="preference",
        system=c_system,
        history=_history(c_before),
        meta=meta,
    )
    return Example(line, instruction, inst)


def read_hh(path: Path) -> list[Task]:
    return group_examples(parse_each(iter_records(path), _hh_record, path), path, HH)


def _shp_record(obj: Any, path: Path, line: int) -> Example:
    obj = require_obj(obj, path, line)
    if "response_j" in obj:
        prompt_key, better, worse = "question", "response_j", "response_k"
    else:
        label = obj.get("labels")
        if isinstance(label, bool) or label not in (0, 1):
            raise UserInputError(
                "expected 1 (A is preferred) or 0 (B is preferred)",
                path=path,
                line=line,
                field="labels",
            )
        prompt_key = "history"
        better, worse = (
            ("human_ref_A", "human_ref_B") if label == 1 else ("human_ref_B", "human_ref_A")
        )
    instruction = text_field(obj, prompt_key, path, line, nonempty=True)
    output = text_field(obj, better, path, line)
    rejected = text_field(obj, worse, path, line)
    meta = {k: v for k, v in obj.items() if k not in (prompt_key, better, worse)}
    inst = Instance(output=output, rejected=rejected, kind="preference", meta=meta)
    return Example(line, instruction, inst)


def read_shp(path: Path) -> list[Task]:
    return group_examples(parse_each(iter_records(path), _shp_record, path), path, SHP)
