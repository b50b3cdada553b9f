"""Final-answer extraction and comparison for reasoning paths: numbers and option letters.

Rejection sampling keeps a path only when its final answer equals the gold one, so extraction
must be strict about *which* number is the answer (the one after an answer marker, else the
last one) and lenient about how it is written ("$1,200.00", "1200 dollars", "12.5%").
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

NUMBER = "number"
OPTION = "option"
TEXT = "text"
ANSWER_KINDS = (NUMBER, OPTION, TEXT)

# A number as people write it: sign, currency, thousands separators, decimals, a simple fraction.
# Thousands groups must be exactly three digits so "1,2,3" stays three numbers.
_NUM = re.compile(
    r"(?<![\w.])(?P<sign>[-−]?)\s*[$€£¥]?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s*/\s*(?P<den>\d+)(?![\d.]))?"
)

# Markers after which the final answer follows, strongest first. The reference format of
# GSM8K ("#### 18") and our own templates ("The answer is 18") come first. The tail is a
# lookahead so a later marker on the same line is still found.
_MARKERS = [
    re.compile(r"####\s*(?=(?P<tail>[^\n]*))"),
    re.compile(r"\\boxed\{(?P<tail>[^{}]*)\}"),
    re.compile(r"\b(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=|would be|will be)\s*:?\s*(?=(?P<tail>[^\n]*))",
               re.IGNORECASE),
]


def normalize_number(text: str) -> str | None:
    """The first number in `text` in canonical form ("$1,000.50" -> "1000.5", "3/4" -> "0.75").

    None when `text` holds no number. Fractions that do not end in a finite decimal stay "a/b".
    """
    m = _NUM.search(text)
    if not m:
        return None
    return _canonical(m)


def _canonical(m: re.Match[str]) -> str | None:
    raw = m.group("num").replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern only admits decimals
        return None
    if m.group("den"):
        den = int(m.group("den"))
        if den == 0:
            return None
        frac = Fraction(value) / den
        as_dec = Decimal(frac.numerator) / Decimal(frac.denominator)
        if as_dec * frac.denominator != frac.numerator:  # not a finite decimal
            sign = "-" if m.group("sign") and frac != 0 else ""
            return f"{sign}{frac.numerator}/{frac.denominator}"
        value = as_dec
    if m.group("sign"):
        value = -value
    out = format(value.normalize(), "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return "0" if out in ("-0", "") else out


def _numbers(text: str) -> list[str]:
    return [n for n in (_canonical(m) for m in _NUM.finditer(text)) if n is not None]


def extract_number(text: str) -> str | None:
    """The final numeric answer of a reasoning path, normalised; None when it states none.

    The number after the last answer marker ("#### 18", "\\boxed{18}", "The answer is $18.")
    wins; without a marker, the last number in the text (how GSM8K solutions end).
    """
    for pat in _MARKERS:
        for m in reversed(list(pat.finditer(text))):
            nums = _numbers(m.group("tail"))
            if nums:
                return nums[0]
    nums = _numbers(text)
    return nums[-1] if nums else None


_LETTER_MARKERS = [
    re.compile(r"\banswer\s*(?:is|:|=)?\s*:?\s*(?:option\s*)?[(\[]?\s*(?P<l>[A-Za-z])\s*[)\].:]?(?![\w'])",
               re.IGNORECASE),
    re.compile(r"\b(?:option|choice)\s*[(\[]?(?P<l>[A-Za-z])[)\]]?(?!\w)", re.IGNORECASE),
    re.compile(r"\((?P<l>[A-Za-z])\)"),
    re.compile(r"(?:^|\n)\s*(?P<l>[A-Za-z])\s*[).:](?:\s|$)"),
]


def extract_option(text: str, letters: str = "ABCDE") -> str | None:
    """The option letter a path chooses ("The answer is (B)", "Answer: c", "Option D"), upper case.

    Only letters in `letters` count, so the article "a" in "the answer is a claim" is not
    option A unless the text marks it ("(a)", "option a", "answer: A.").
    """
    allowed = letters.upper()
    for i, pat in enumerate(_LETTER_MARKERS):
        for m in reversed(list(pat.finditer(text))):
            letter = m.group("l")
            if letter.upper() not in allowed:
                continue
            # "the answer is a ..." reads as the article unless the letter is upper case or
            # set off as an option; the bracketed and line-start forms are unambiguous.
            if i == 0 and letter == "a" and not re.search(r"[(\[]\s*a|a\s*[)\].:]\s*$|a\s*[)\].:]\s",
                                                           m.group(0)):
                continue
            return letter.upper()
    return None


def normalize_text(text: str) -> str:
    return " ".join(text.strip().strip(".").split()).casefold()


def extract_answer(text: str, kind: str, *, letters: str = "ABCDE") -> str | None:
    """The final answer of `text` for an answer of `kind` (number | option | text)."""
    if kind == NUMBER:
        return extract_number(text)
    if kind == OPTION:
        return extract_option(text, letters)
    if kind == TEXT:
        for pat in _MARKERS:
            found = list(pat.finditer(text))
            if found:
                return normalize_text(found[-1].group("tail")) or None
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        return normalize_text(lines[-1]) if lines else None
    raise ValueError(f"unknown answer kind {kind!r}")


def normalize_gold(gold: str, kind: str) -> str | None:
    """The gold answer in the form `extract_answer` gives, for comparison."""
    if kind == NUMBER:
        return normalize_number(gold)
    if kind == OPTION:
        g = gold.strip()
        if len(g) == 1 and g.isalpha():
            return g.upper()
        return extract_option(g, "ABCDEFGHIJ")
    return normalize_text(gold) or None


def answers_equal(predicted: str | None, gold: str | None, kind: str) -> bool:
    """Whether an extracted answer equals the gold one (numbers compare by value)."""
    if predicted is None or gold is None:
        return False
    if kind == NUMBER:
        try:
            return Fraction(predicted) == Fraction(gold)
        except (ValueError, ZeroDivisionError):
            return predicted == gold
    return predicted == gold


def gsm8k_gold(answer: str) -> str | None:
    """The gold number of a GSM8K answer, which ends with "#### <number>"."""
    m = re.search(r"####\s*([^\n]+)\s*$", answer.strip())
    return normalize_number(m.group(1)) if m else None


def strip_calculator(text: str) -> str:
    """GSM8K's calculator annotations ("<<16-3-4=9>>") removed: they are not prose."""
    return re.sub(r"<<[^<>]*>>", "", text)
