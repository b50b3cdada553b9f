"""Prompts for the two ways to get a rationale, and the judgement of one generated path.

rationalize (with output): the model sees instruction, input and gold answer and explains it.
sample (without output): the model solves the item. In both modes a path is kept only when its
own final answer equals the gold one (STaR, Zelikman et al. 2022: a rationale written with the
answer as a hint is kept only when it arrives at that answer), and a path cut off by the token
limit is dropped as `truncated`: its last number is where it stopped, not its answer, and it is
never completed by appending the gold answer. `path_correct` is the one rule for "this path is
correct", used by the job's figures and by the preference-pair export alike.

In rationalize mode the prompt dictates the final line, so a final answer equal to the gold
one says little: a path is also dropped as `reasoning-disagrees` when the last calculation
before its final answer statement ("9*3 = 27. The answer is 18.") gives another number. Only
that calculation is checked, not the reasoning as a whole (STaR's own limit: rationalization
is filtered by the final answer only); compat "reference" skips the check.

Reasons a path is dropped (`cot_paths.reason`, `REASONS`): empty, truncated, no-answer,
wrong-answer, reasoning-disagrees, low-confidence (SELF-CHECK); pending-check while SELF-CHECK
has not decided yet; contradicts-gold only in runs made before rationalize mode required the
gold answer.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Formatter
from typing import Any

from ..answers import (
    NUMBER,
    OPTION,
    answers_equal,
    computed_before_answer,
    extract_answer,
    final_statement,
    normalize_text,
)
from ..answers import stated_answer as _stated
from ..errors import UserInputError
from ..llm.prompt import Data, PromptText
from ..paths import prompts_dir
from .sources import COT_TYPES, LETTERS, CotItem

MODES = ("rationalize", "sample")
COMPAT = ("reference",)  # CotConfig.compat: None (ours) | "reference" (STaR's own rule)
MIN_WORDS = 4  # shorter "rationales" ("18.") carry no reasoning
EMPTY = "empty"
TRUNCATED = "truncated"
NO_ANSWER = "no-answer"
WRONG_ANSWER = "wrong-answer"
REASONING_DISAGREES = "reasoning-disagrees"
LOW_CONFIDENCE = "low-confidence"
PENDING_CHECK = "pending-check"
REASONS = (
    EMPTY,
    TRUNCATED,
    NO_ANSWER,
    WRONG_ANSWER,
    REASONING_DISAGREES,
    LOW_CONFIDENCE,
    PENDING_CHECK,
)


def default_prompts_path() -> Path:
    return prompts_dir() / "cot" / "prompts.toml"


@dataclass(frozen=True)
class CotPrompts:
    system: str
    types: dict[str, dict[str, str]]

    @classmethod
    def load(cls, path: str | Path | None = None) -> CotPrompts:
        return _load(str(path or default_prompts_path()))

    def instruction(self, item: CotItem) -> str:
        return item.instruction.strip() or self.types[item.cot_type]["instruction"].strip()

    def messages(self, item: CotItem, mode: str) -> list[dict[str, str]]:
        if mode not in MODES:
            raise UserInputError(f"expected one of {', '.join(MODES)}", field="mode")
        template = self.types[item.cot_type][mode]
        # The item's text is data (a `PromptText` span): never read as control tokens when the
        # messages are joined into a completion prompt (`completion_prompt`).
        user = format_prompt(
            template,
            instruction=Data(self.instruction(item)),
            input=Data(item.input.strip()),
            gold=Data(item.gold_output.strip()),
            answer_hint=answer_hint(item),
        )
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return msgs + [{"role": "user", "content": user.strip()}]

    def completion_prompt(self, item: CotItem, mode: str) -> PromptText:
        """The messages' texts joined for a completion model: each followed by a blank line."""
        parts: list[str] = []
        for m in self.messages(item, mode):
            parts += ["\n\n" if parts else "", m["content"]]
        return PromptText.concat([*parts, "\n\n"])

    def answer_line(self, item: CotItem) -> str:
        return self.types[item.cot_type]["answer_line"].format(answer=item.gold_output.strip())


def format_prompt(template: str, **values: str) -> PromptText:
    """`template.format(**values)` as a `PromptText`: a `Data` value is a data span."""
    parts: list[str] = []
    fmt = Formatter()
    for literal, field, spec, conversion in fmt.parse(template):
        parts.append(literal)
        if field is None:
            continue
        value: Any = values[field]  # KeyError for an unknown field, as str.format
        if conversion:
            value = fmt.convert_field(value, conversion)
        text = fmt.format_field(value, spec or "")
        parts.append(Data(text) if isinstance(values[field], Data) else text)
    return PromptText.concat(parts)


@lru_cache(maxsize=8)
def _load(path: str) -> CotPrompts:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError("prompt templates not found", path=p) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserInputError(f"not valid TOML ({exc})", path=p) from None
    types = {}
    for t in COT_TYPES:
        table = data.get(t)
        if not isinstance(table, dict):
            raise UserInputError("missing table", path=p, field=t)
        for key in ("instruction", "rationalize", "sample", "answer_line"):
            if not isinstance(table.get(key), str):
                raise UserInputError("missing text", path=p, field=f"{t}.{key}")
        types[t] = {k: str(v) for k, v in table.items()}
    return CotPrompts(system=str(data.get("system", "")), types=types)


def answer_hint(item: CotItem) -> str:
    if item.answer_kind == NUMBER:
        return "a number"
    if item.answer_kind == OPTION:
        return "the letter of one option (" + ", ".join(LETTERS[: len(item.options)]) + ")"
    return "the answer"


def stated_answer(text: str, item: CotItem) -> str | None:
    """The answer a path states after an answer marker; None when it states none explicitly."""
    return _stated(text, item.answer_kind, letters=LETTERS[: max(len(item.options), 1)])


def path_answer(text: str, item: CotItem) -> str | None:
    """The path's final answer (marker, else its last number / option / line)."""
    return extract_answer(text, item.answer_kind, letters=LETTERS[: max(len(item.options), 1)])


def is_truncated(finish_reason: str | None, compat: str | None = None) -> bool:
    """Whether a path counts as cut off: its call stopped at max_tokens ("length"). Never under
    compat "reference": STaR judges a generation by its answer alone, whatever stopped it."""
    return finish_reason == "length" and compat != "reference"


def path_correct(
    text: str, item: CotItem, finish_reason: str | None = "stop", compat: str | None = None
) -> tuple[str | None, bool | None]:
    """(answer, correct) of one generated path: its own final answer (normalised) and whether
    it equals the item's gold answer. (None, None) when it has no answer of its own: none
    found, or the call stopped at the token limit (`is_truncated`). `finish_reason` is the
    model call's ("stop" | "length"; None when unknown counts as finished). The one rule the
    job's kept/correct figures and the preference-pair export share."""
    if is_truncated(finish_reason, compat):
        return None, None
    answer = path_answer(text.strip(), item)
    if answer is None:
        return None, None
    return answer, answers_equal(answer, item.gold_answer, item.answer_kind)


@dataclass
class Verdict:
    answer: str | None
    correct: bool | None  # None: no answer found
    kept: bool
    reason: str | None  # why dropped
    output: str  # the record's output (rationale + the answer stated once more)


def judge(
    text: str,
    item: CotItem,
    mode: str,
    prompts: CotPrompts,
    finish_reason: str | None = "stop",
    compat: str | None = None,
) -> Verdict:
    """Keep or drop one generated path, and the output text of the record a kept path becomes.

    The same rule in both modes (`mode` only checked): dropped as `truncated` when the call
    stopped at the token limit, `empty` under MIN_WORDS words, `no-answer` / `wrong-answer` when
    its own answer (`path_correct`) is missing / not the gold one; in rationalize mode (not
    under compat "reference") `reasoning-disagrees` when `computed_before_answer` is another
    number than the gold. A kept path ends with the type's answer line, unless it already ends
    by stating its answer (`with_answer_line`). UserInputError for an unknown mode."""
    if mode not in MODES:
        raise UserInputError(f"expected one of {', '.join(MODES)}", field="mode")
    rationale = text.strip()
    answer, correct = path_correct(rationale, item, finish_reason, compat)
    if is_truncated(finish_reason, compat):
        return Verdict(None, None, False, TRUNCATED, rationale)
    if len(rationale.split()) < MIN_WORDS:
        return Verdict(answer, correct, False, EMPTY, rationale)
    if answer is None:
        return Verdict(answer, correct, False, NO_ANSWER, rationale)
    if not correct:
        return Verdict(answer, correct, False, WRONG_ANSWER, rationale)
    if mode == "rationalize" and compat != "reference" and item.answer_kind == NUMBER:
        computed = computed_before_answer(rationale)
        if computed is not None and not answers_equal(computed, item.gold_answer, NUMBER):
            return Verdict(answer, correct, False, REASONING_DISAGREES, rationale)
    if finish_reason == "length":  # kept under compat "reference": as generated, not completed
        return Verdict(answer, correct, True, None, rationale)
    return Verdict(answer, correct, True, None, with_answer_line(rationale, item, prompts))


def with_answer_line(rationale: str, item: CotItem, prompts: CotPrompts) -> str:
    """The rationale ending with the gold answer stated once: as it is when it already ends by
    stating that answer (`final_statement`, any marker the answer extractor reads, or the
    type's answer line itself), else followed by the type's answer line."""
    text = rationale.strip()
    line = prompts.answer_line(item)
    last = text.splitlines()[-1] if text else ""
    if normalize_text(last) == normalize_text(line):
        return text
    span = final_statement(text)
    if span is not None:
        stated = path_answer(text[span[0] :], item)
        if stated is not None and answers_equal(stated, item.gold_answer, item.answer_kind):
            return text
    return f"{text}\n{line}"
