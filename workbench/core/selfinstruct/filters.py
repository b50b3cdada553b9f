"""Step 4's rules: which instructions and instances are not worth keeping, and why.

Every rule returns a `Reason` (candidates.py: stored with the candidate as its string and
counted in run summaries), or None when the text passes. The ROUGE-L rule is
`candidates.decide_call`, since it needs the pool; everything here looks at one text at a time.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

from .candidates import Reason
from .validity import shape

# The paper's 13 words (yizhongw/self-instruct bootstrap_instructions.py).
BLACKLIST_SELF_INSTRUCT = [
    "image",
    "images",
    "graph",
    "graphs",
    "picture",
    "pictures",
    "file",
    "files",
    "map",
    "maps",
    "draw",
    "plot",
    "go to",
]
# Alpaca's 18 (tatsu-lab/stanford_alpaca generate_instruction.py).
BLACKLIST_ALPACA = BLACKLIST_SELF_INSTRUCT + ["video", "audio", "music", "flowchart", "diagram"]
# The same idea for Chinese runs: tasks a text-only model cannot do. Matched as substrings,
# since Chinese has no spaces for \b to find.
BLACKLIST_ZH = [
    "图片",
    "图像",
    "图表",
    "照片",
    "画图",
    "画一",
    "绘制",
    "地图",
    "文件",
    "视频",
    "音频",
    "音乐",
    "流程图",
    "示意图",
    "打开网页",
    "去往",
]
PROGRAM_PREFIXES = {"en": ["Write a program"], "zh": ["编写一个程序", "写一个程序", "编写程序"]}

_PUNCT = set(string.punctuation)
# CJK punctuation counts as punctuation for Chinese runs.
_PUNCT_ZH = _PUNCT | set("，。、；：？！“”‘’（）《》【】…—·「」『』")


@dataclass
class InstructionRules:
    """The instruction filter's settings. `lang` is "en" or "zh" (from the workspace tokenizer)."""

    lang: str = "en"
    min_words: int = 4
    max_words: int = 150
    blacklist: list[str] = field(default_factory=lambda: list(BLACKLIST_SELF_INSTRUCT))
    reject_program: bool = True
    # Beyond the paper (validity.py): candidates are normalised (numbering, quotes, date stamps
    # stripped) and must have a task form ("not-an-instruction"); off with compat="reference".
    validity: bool = True

    @classmethod
    def for_lang(
        cls, lang: str, blacklist: list[str] | None = None, compat: str | None = None
    ) -> InstructionRules:
        if blacklist is None:
            blacklist = list(BLACKLIST_ZH if lang == "zh" else BLACKLIST_SELF_INSTRUCT)
        return cls(lang=lang, blacklist=blacklist, validity=compat != "reference")

    def to_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "min_words": self.min_words,
            "max_words": self.max_words,
            "blacklist": list(self.blacklist),
            "reject_program": self.reject_program,
            "validity": self.validity,
        }


def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"\b({re.escape(word)})\b", flags=re.IGNORECASE)


def blacklisted_word(text: str, words: list[str], lang: str = "en") -> str | None:
    """The first blacklisted word in `text` (whole words for English, substrings for Chinese)."""
    for w in words:
        if lang == "zh" or not w.isascii():
            if w.lower() in text.lower():
                return w
        elif _word_pattern(w).search(text):
            return w
    return None


def word_count(text: str, lang: str = "en") -> int:
    # Chinese has no spaces: count what the similarity tokenizer counts (one token per
    # character), so "4 to 150 words" means the same amount of content. Imported here: the
    # presets (read by the window at start-up) import this module, the engine is not needed.
    if lang != "zh":
        return len(text.split())
    from ..similarity import tokenize

    return len(tokenize(text, "unicode"))


def instruction_reason(text: str, rules: InstructionRules) -> Reason | None:
    """Why a (cleaned) instruction is dropped by the rule filter, or None when it passes."""
    if not text:
        return Reason.EMPTY
    n = word_count(text, rules.lang)
    if n < rules.min_words:
        return Reason.TOO_SHORT
    if n > rules.max_words:
        return Reason.TOO_LONG
    if blacklisted_word(text, rules.blacklist, rules.lang):
        return Reason.BLACKLIST
    if rules.reject_program and any(
        text.startswith(p) for p in PROGRAM_PREFIXES.get(rules.lang, PROGRAM_PREFIXES["en"])
    ):
        return Reason.WRITE_A_PROGRAM
    if text[0] in (_PUNCT_ZH if rules.lang == "zh" else _PUNCT):
        return Reason.PUNCTUATION_START
    # Only English runs: a Chinese instruction starts with a non-ASCII character by nature.
    if rules.lang != "zh" and not text[0].isascii():
        return Reason.NON_ASCII_START
    if rules.validity and not shape(text, rules.lang).ok:
        return Reason.NOT_AN_INSTRUCTION
    return None


# ------------------------------------------------------------------------------ instances
def instance_reason(inp: str, out: str) -> Reason | None:
    """The reference's per-instance rules (prepare_for_finetuning.filter_invalid_instances)."""
    if inp == out:
        return Reason.INPUT_EQUALS_OUTPUT
    if out == "":
        return Reason.EMPTY_OUTPUT
    if inp.strip().endswith(":") or out.strip().endswith(":"):
        return Reason.ENDS_WITH_COLON
    return None


def filter_instances(
    pairs: list[tuple[str, str]],
    *,
    max_instances: int = 5,
    compat: str | None = None,
    rng: Any = None,
) -> list[dict[str, Any]]:
    """Each parsed pair with its decision: `{"input", "output", "kept", "reason"}`.

    Rules in the reference's order: invalid pairs; then the same non-empty input with different
    outputs drops every pair of the task; then exact duplicates; then at most `max_instances`.
    The reference dedupes through a set (random order) and samples the 5 at random; ours keeps
    the first ones in the model's order, so a run is reproducible. With compat="reference" and an
    `rng`, the sample is drawn the reference's way (`rng.sample`).
    """
    out: list[dict[str, Any]] = []
    for inp, o in pairs:
        out.append({"input": inp, "output": o, "kept": True, "reason": instance_reason(inp, o)})
        if out[-1]["reason"]:
            out[-1]["kept"] = False
    live = [d for d in out if d["kept"]]
    conflict = False
    for i in range(1, len(live)):
        for j in range(i):
            if live[i]["input"] == "":
                continue
            if live[i]["input"] == live[j]["input"] and live[i]["output"] != live[j]["output"]:
                conflict = True
    if conflict:
        for d in live:
            d["kept"], d["reason"] = False, Reason.SAME_INPUT_DIFFERENT_OUTPUT
        return out
    seen: set[tuple[str, str]] = set()
    unique: list[dict[str, Any]] = []
    for d in live:
        key = (d["input"], d["output"])
        if key in seen:
            d["kept"], d["reason"] = False, Reason.DUPLICATE
        else:
            seen.add(key)
            unique.append(d)
    if len(unique) > max_instances:
        if compat == "reference" and rng is not None:
            chosen = {id(d) for d in rng.sample(unique, max_instances)}
        else:
            chosen = {id(d) for d in unique[:max_instances]}
        for d in unique:
            if id(d) not in chosen:
                d["kept"], d["reason"] = False, Reason.OVER_LIMIT
    return out
