"""Final answers of reasoning paths and their comparison to the gold answer.

The one answer module of the workbench: SELF-CHECK (the answer of a sampled or imported solution,
weighted voting) and CoT (rejection sampling, "states a different answer") both read answers here,
so the same text always gives the same answer.

LaTeX (``\\frac{3}{4}``, ``\\$9{,}500``, ``\\sqrt{2}/2``, mixed numbers) is parsed and compared by
Hugging Face's math-verify (`math_verify.parse` / `math_verify.verify`, on sympy). Our own code does
what it does not: find *which* part of a solution is the final answer ("So the answer is X", the
reference SELF-CHECK marker; GSM8K's "#### X"; ``\\boxed{X}`` with nested braces; "Answer: X";
without a marker the result of the last sentence's last "=", else the last number), read plain
numbers as people write them ("$1,200.00", "12.5%", "3/4 of a cup", "5 hours") without sympy (a
fast path: most answers are plain numbers), option letters and free-text answers.

Canonical forms (what extraction returns, what is stored, what voting compares): a number is a
decimal string without trailing zeros ("9500", "0.75", "-15") or a reduced fraction when it does
not end ("1/3"); a non-rational value is math-verify's sympy value written as LaTeX
(``\\frac{\\sqrt{2}}{2}``); an option is an upper-case letter; text is case-folded with single
spaces. Equal values have equal canonical strings, except non-rational ones, which
`answers_equal` compares with math-verify.

math-verify's own timeout uses ``signal.alarm`` and raises outside the main thread (SELF-CHECK runs
in worker threads in the window), so it is always called with its timeout off and only on short
spans that pass `_sympy_safe` (no huge exponents or factorials, which are what make sympy hang):
results never depend on timing or on the calling thread.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Any

NUMBER = "number"
OPTION = "option"
TEXT = "text"
ANSWER_KINDS = (NUMBER, OPTION, TEXT)

# A number as people write it: sign, currency, thousands separators, decimals, a simple fraction.
# Thousands groups must be exactly three digits so "1,2,3" stays three numbers; an ordinal
# ("the 3rd turn") is not a number.
_NUM = re.compile(
    r"(?<![\w.])(?P<sign>[-−]?)\s*[$€£¥₹]?\s*(?P<sign2>[-−]?)"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?!(?:st|nd|rd|th)\b)"
    r"(?:\s*/\s*(?P<den>\d+)(?![\d.]))?"
)

_MAX_SYMPY_SPAN = 200  # characters: an answer is short; a long span is prose, not a value
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Markers after which the final answer follows. The tail is a lookahead so a later marker on the
# same line is still found.
_HASHES = re.compile(r"####\s*(?=(?P<tail>[^\n]*))")
_ANSWER_PHRASE = re.compile(
    r"\banswer\b\s*\**\s*(?:is|:|=|would be|will be|should be)\s*:?\s*\**\s*(?=(?P<tail>[^\n]*))",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?;](?=\s|$)|\n")
_CALCULATOR = re.compile(r"<<[^<>]*>>")


def strip_calculator(text: str) -> str:
    """GSM8K's calculator annotations ("<<16-3-4=9>>") removed: they are not prose."""
    return _CALCULATOR.sub("", text)


def boxed_contents(text: str) -> list[str]:
    """The contents of every ``\\boxed{...}`` / ``\\fbox{...}`` in `text`, braces balanced.

    A regular expression cannot match nested braces (``\\boxed{\\frac{3}{4}}``), which is how the
    old extractors read that answer as 3. An unclosed box runs to the end of the text.
    """
    out: list[str] = []
    for m in _BOXED.finditer(text):
        end, closed = _box_end(text, m.end())
        out.append(text[m.end() : end - 1 if closed else end])
    return out


def _box_end(text: str, i: int) -> tuple[int, bool]:
    """Where the box whose contents start at `i` ends: the offset just past its closing brace
    (braces balanced, a backslash escaping the next character) and True, or len(text) and False
    for a box never closed."""
    depth = 1
    while i < len(text) and depth:
        if text[i] == "\\" and i + 1 < len(text):
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return i, depth == 0


def has_marker(text: str) -> bool:
    """Whether `text` states its final answer explicitly (a box, "####", "the answer is")."""
    return bool(_BOXED.search(text) or _HASHES.search(text) or _ANSWER_PHRASE.search(text))


# ------------------------------------------------------------------------------ numbers
def _canonical_fraction(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:  # not a finite decimal
        return f"{value.numerator}/{value.denominator}"
    out = format((Decimal(value.numerator) / Decimal(value.denominator)).normalize(), "f")
    return out


def _canonical(m: re.Match[str]) -> str | None:
    raw = m.group("num").replace(",", "")
    try:
        value = Fraction(Decimal(raw))
    except (InvalidOperation, ValueError):  # pragma: no cover - the pattern only admits decimals
        return None
    if m.group("den"):
        den = int(m.group("den"))
        if den == 0:
            return None
        value /= den
    if (m.group("sign") or m.group("sign2")) and value:
        value = -value
    return _canonical_fraction(value)


def _numbers(text: str) -> list[str]:
    return [n for n in (_canonical(m) for m in _NUM.finditer(text)) if n is not None]


# LaTeX that only decorates a number: currency, thousands braces, thin spaces, units in \text,
# percent, math delimiters. Removing it lets plain numbers skip sympy.
_DECOR = [
    (re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname)\s*\{([^{}]*)\}"), r" \1 "),
    (re.compile(r"\{,\}"), ","),
    (re.compile(r"(?<=\d)\\[,!;: ](?=\d{3})"), ""),
    (re.compile(r"\\[,!;: ]"), " "),
    (re.compile(r"\\\$"), "$"),
    (re.compile(r"\\%|\\percent\b"), "%"),
    (re.compile(r"\\(?:left|right|displaystyle)\b"), ""),
    (re.compile(r"\\[()\[\]]"), " "),
    (re.compile(r"\^\s*\{?\s*\\circ\s*\}?"), ""),
    (re.compile(r"\\(?:dfrac|tfrac)\b"), r"\\frac"),
    (re.compile(r"\\(?:times|cdot)\b"), "×"),
    (re.compile(r"\\div\b"), "÷"),
]
_SIMPLE_FRAC = re.compile(r"\\frac\s*\{\s*(-?\d+(?:\.\d+)?)\s*\}\s*\{\s*(\d+(?:\.\d+)?)\s*\}")


def _decorations_off(text: str) -> str:
    for pat, rep in _DECOR:
        text = pat.sub(rep, text)
    return text


def _plain(text: str) -> str:
    """`text` with LaTeX decorations removed and digit-only fractions written a/b."""
    return _SIMPLE_FRAC.sub(r" \1/\2 ", _decorations_off(strip_calculator(text)))


def _after_last_equals(text: str) -> str:
    # "150 / 3 = 50 apples": the value is what the last "=" gives. "<=", ">=", "!=" are not it.
    parts = re.split(r"(?<![<>!=])=(?!=)", text)
    return parts[-1] if len(parts) > 1 and re.search(r"\d", parts[-1]) else text


_PLAIN_NUMBER = re.compile(
    r"^\s*[-−]?\s*[$€£¥₹]?\s*[-−]?\s*(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?"
    r"(?:\s*/\s*\d+)?\s*%?\s*$"
)


def _span_value(span: str) -> str | None:
    """The value an answer span states ("$\\boxed{\\$9{,}500}$" -> "9500"), or None.

    Plain numbers are read by our own pattern; anything with LaTeX left after its decorations
    are removed goes to math-verify.
    """
    for inner in reversed(boxed_contents(span)):
        value = _span_value(inner)
        if value is not None:
            return value
    cleaned = _decorations_off(strip_calculator(span)).strip()
    # Only the first sentence of a tail ("The answer is 42. That took 3 steps."), and in it
    # what the last "=" gives ("the answer is 150 / 3 = 50").
    first = _after_last_equals(_SENTENCE_END.split(cleaned, maxsplit=1)[0] if cleaned else "")
    candidate = first.strip().strip("$").strip()
    if "\\" in candidate or re.search(r"[\^√π]", candidate):
        value = _sympy_value(candidate)
        if value is not None:
            return value
    nums = _numbers(_SIMPLE_FRAC.sub(r" \1/\2 ", first))
    return nums[0] if nums else None


# ----------------------------------------------------------------------------- math-verify
_HUGE = re.compile(r"\^\s*\{?\s*[-(]?\s*\d{3,}|\^[^^]*\^|\d{3,}\s*!|!\s*!|\\(?:int|sum|prod|lim)\b")


def _sympy_safe(latex: str) -> bool:
    """Whether math-verify may parse `latex` without risk of hanging (checked without a timer).

    sympy's slow cases are huge powers (``10^{10^{10}}``), factorials of big numbers and
    integrals/sums it tries to evaluate; none of them is a GSM8K-style final answer.
    """
    return len(latex) <= _MAX_SYMPY_SPAN and not _HUGE.search(latex)


@lru_cache(maxsize=1)
def _math_verify() -> Any:
    # Imported on first use: sympy costs about half a second, and plain numbers never need it.
    import math_verify  # type: ignore[import-untyped]

    # The "timeout is disabled" warning would go to stderr on every CLI run: the timeout is off
    # on purpose (see the module docstring) and `_sympy_safe` guards the input instead.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    return math_verify


@lru_cache(maxsize=4096)
def _sympy_parse(latex: str) -> Any:
    """math-verify's sympy value of one LaTeX expression, or None (never raises)."""
    if not _sympy_safe(latex):
        return None
    mv = _math_verify()
    try:
        found = mv.parse(
            f"${latex}$",
            extraction_config=[mv.LatexExtractionConfig()],
            fallback_mode="no_fallback",
            parsing_timeout=None,
        )
    except Exception:  # noqa: BLE001 - a value we cannot read is "no answer", never a crash
        return None
    return found[0] if found else None


def _sympy_value(latex: str) -> str | None:
    import sympy  # type: ignore[import-untyped]

    expr = _sympy_parse(latex)
    if expr is None or isinstance(expr, str):
        return None
    if isinstance(expr, sympy.Eq):  # "x = 5", "150 \div 3 = 50": the right-hand side
        expr = expr.rhs
    try:
        if not getattr(expr, "is_number", False):
            return None
        if expr.is_Float:
            return _canonical_fraction(Fraction(Decimal(str(expr))))
        simplified = expr if expr.is_Rational else sympy.simplify(expr)
        if simplified.is_Rational:
            return _canonical_fraction(Fraction(int(simplified.p), int(simplified.q)))
        if simplified.is_Float:
            return _canonical_fraction(Fraction(Decimal(str(simplified))))
        return str(sympy.latex(simplified))
    except Exception:  # noqa: BLE001
        return None
    return None


def _symbolic_equal(a: str, b: str) -> bool:
    ea, eb = _sympy_parse(a), _sympy_parse(b)
    if ea is None or eb is None:
        return False
    try:
        return bool(_math_verify().verify(eb, ea, timeout_seconds=None))
    except Exception:  # noqa: BLE001
        return False


# ------------------------------------------------------------------------------ extraction
def normalize_number(text: str) -> str | None:
    """The value a short text states, canonical ("$1,000.50" -> "1000.5", "3/4" -> "0.75",
    "\\frac{3}{4}" -> "0.75", "40%" -> "40"); None when it states none. For gold answers."""
    return _span_value(text) if text is not None else None


def _marked_spans(text: str) -> list[str]:
    """Answer spans after markers, the strongest kind first and the last of a kind first:
    boxes, then GSM8K's "####", then "(so) the (final) answer is / answer:"."""
    spans = list(reversed(boxed_contents(text)))
    spans += [m.group("tail") for m in reversed(list(_HASHES.finditer(text)))]
    spans += [m.group("tail") for m in reversed(list(_ANSWER_PHRASE.finditer(text)))]
    return spans


def stated_number(text: str) -> str | None:
    """The number after the last, strongest answer marker; None when no marker gives one."""
    for span in _marked_spans(text):
        value = _span_value(span)
        if value is not None:
            return value
    return None


def _last_sentence_value(text: str) -> str | None:
    plain = _plain(text)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", plain) if re.search(r"\d", s)]
    if not sentences:
        return None
    last = sentences[-1]
    # "It will take her 120 / 24 = 5 hours to read 120 pages.": the result of the sentence's
    # last calculation, not its last number.
    tail = _after_last_equals(last)
    nums = _numbers(tail) if tail is not last else []
    if nums:
        return nums[0]
    nums = _numbers(last)
    return nums[-1] if nums else None


def extract_number(text: str) -> str | None:
    """The final numeric answer of a reasoning path, canonical; None when it states none.

    The value after the strongest, last answer marker (`stated_number`); without one, the
    result of the last "=" in the last sentence that has a number, else that sentence's last
    number (how GSM8K and FLAN rationales end).
    """
    if not text:
        return None
    value = stated_number(text)
    return value if value is not None else _last_sentence_value(text)


_LETTER_MARKERS = [
    re.compile(r"\\boxed\s*\{\s*\(?\s*(?:\\text\{\s*)?(?P<l>[A-Za-z])\s*\}?\s*\)?\s*\}"),
    re.compile(
        r"\banswer\s*\**\s*(?:is|:|=)?\s*:?\s*\**\s*(?:option\s*)?[(\[]?\s*(?P<l>[A-Za-z])\s*[)\].:]?(?![\w'])",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:option|choice)\s*[(\[]?(?P<l>[A-Za-z])[)\]]?(?!\w)", re.IGNORECASE),
    re.compile(r"\((?P<l>[A-Za-z])\)"),
    re.compile(r"(?:^|\n)\s*(?P<l>[A-Za-z])\s*[).:](?:\s|$)"),
]


_MARKED_A = re.compile(r"[(\[]\s*a|a\s*[)\].:]\s*$|a\s*[)\].:]\s")


def extract_option(text: str, letters: str = "ABCDE") -> str | None:
    """The option letter a path chooses ("The answer is (B)", "Answer: c", "Option D",
    "\\boxed{B}"), upper case; None when it names none of `letters`.

    The article "a" in "the answer is a claim" is not option A unless the text marks it
    ("(a)", "option a", "answer: A.").
    """
    allowed = letters.upper()
    for i, pat in enumerate(_LETTER_MARKERS):
        for m in reversed(list(pat.finditer(text))):
            letter = m.group("l")
            if letter.upper() not in allowed:
                continue
            if i == 1 and letter == "a" and not _MARKED_A.search(m.group(0)):
                continue
            return letter.upper()
    return None


def normalize_text(text: str) -> str:
    """Case-folded, single-spaced, without a final full stop: how free-text answers compare."""
    return " ".join(text.strip().strip(".").split()).casefold()


def extract_answer(text: str, kind: str = NUMBER, *, letters: str = "ABCDE") -> str | None:
    """The final answer of `text` for an answer of `kind` (number | option | text), canonical.

    Raises ValueError for an unknown kind.
    """
    if kind == NUMBER:
        return extract_number(text)
    if kind == OPTION:
        return extract_option(text, letters)
    if kind == TEXT:
        spans = _marked_spans(text)
        if spans:
            return normalize_text(_decorations_off(spans[0])) or None
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        return normalize_text(lines[-1]) if lines else None
    raise ValueError(f"unknown answer kind {kind!r}")


def stated_answer(text: str, kind: str = NUMBER, *, letters: str = "ABCDE") -> str | None:
    """The answer `text` states after an answer marker; None when it states none explicitly."""
    if not has_marker(text):
        return None
    if kind == NUMBER:
        return stated_number(text)
    return extract_answer(text, kind, letters=letters)


def normalize_gold(gold: str, kind: str | None = None) -> str | None:
    """A gold answer in the canonical form `extract_answer` gives, for comparison.

    `kind` None: a number when the gold states one, else text (SELF-CHECK's imported golds).
    """
    if gold is None:
        return None
    gold = str(gold)
    if kind is None:
        value = normalize_number(gold)
        return value if value is not None else (normalize_text(gold) or None)
    if kind == NUMBER:
        return normalize_number(gold)
    if kind == OPTION:
        g = gold.strip()
        if len(g) == 1 and g.isalpha():
            return g.upper()
        return extract_option(g, "ABCDEFGHIJ")
    return normalize_text(gold) or None


def answers_equal(predicted: str | None, gold: str | None, kind: str = NUMBER) -> bool:
    """Whether an extracted answer equals the gold one (both canonical).

    Numbers compare by value; non-rational values (LaTeX) symbolically with math-verify.
    """
    if predicted is None or gold is None:
        return False
    if kind == NUMBER:
        try:
            return Fraction(predicted) == Fraction(gold)
        except (ValueError, ZeroDivisionError):
            if predicted == gold:
                return True
            return "\\" in predicted + gold and _symbolic_equal(predicted, gold)
    return predicted == gold


def gsm8k_gold(answer: str) -> str | None:
    """The gold number of a GSM8K answer, which ends with "#### <number>"; None without one."""
    m = re.search(r"####\s*([^\n]+)\s*$", answer.strip())
    return normalize_number(m.group(1)) if m else None


# ------------------------------------------------------ the statement a text ends with (CoT)
def final_statement(text: str) -> tuple[int, int] | None:
    """(start, end) character offsets of the answer statement `text` ends with: the last answer
    marker (a box, "####", "the answer is" / "Answer:") through the end of its answer (the
    closing brace, the end of the line, the end of the sentence), when only whitespace and
    punctuation follow it; None when the text does not end by stating an answer."""
    starts = [(m.start(), "box", m) for m in _BOXED.finditer(text)]
    starts += [(m.start(), "hash", m) for m in _HASHES.finditer(text)]
    starts += [(m.start(), "phrase", m) for m in _ANSWER_PHRASE.finditer(text)]
    if not starts:
        return None
    start, kind, m = max(starts, key=lambda t: t[0])
    if kind == "box":
        end, _closed = _box_end(text, m.end())
    elif kind == "hash":
        newline = text.find("\n", m.end())
        end = len(text) if newline < 0 else newline
    else:
        stop = _SENTENCE_END.search(text, m.end())
        end = len(text) if stop is None else stop.start()
    if _TRAILING.fullmatch(text, end) is None or not re.search(r"\w", text[m.end() : end]):
        return None  # more prose follows, or the marker states nothing ("The answer is")
    return start, end


_TRAILING = re.compile(r"[\s.!?;:,*$)\]}\\]*")


def computed_before_answer(text: str) -> str | None:
    """The result of the last "=" before the final answer statement (`final_statement`),
    canonical ("9*3 = 27. The answer is 18." -> "27"); GSM8K calculator annotations ignored.
    None when the text does not end with a statement or computes nothing before it."""
    span = final_statement(text)
    if span is None:
        return None
    before = _plain(text[: span[0]])
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", before) if "=" in s]
    for sentence in reversed(sentences):
        tail = _after_last_equals(sentence)
        if tail is not sentence:
            nums = _numbers(tail)
            if nums:
                return nums[0]
    return None
