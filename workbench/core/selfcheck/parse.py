"""Reading the model's replies: collected ids, the comparison verdict, the final answer (the last
through the shared answer module, `workbench.core.answers`)."""

from __future__ import annotations

import re

from ..answers import extract_number, normalize_gold

SUPPORT, CONTRADICT, UNRELATED, ERROR, PENDING = (
    "support",
    "contradict",
    "unrelated",
    "error",
    "pending",
)
VERDICTS = (SUPPORT, CONTRADICT, UNRELATED, ERROR)
# Not a verdict of the model: the step only restates the final answer (`split.answer_lines`), so
# it is stored but not checked and gives no r_i (unless the run's `check_answer_lines` is set).
ANSWER = "answer"

# "information 0, 2 and 3", "steps 1-3", "step 0 to step 2", "Info 1 & 2".
_KEY = re.compile(r"\b(information|info|step)s?\b", re.IGNORECASE)
_NUM_LIST = re.compile(
    r"""^[\s#:]*(
        \d+(?:\s*(?:-|–|—|to|through|thru)\s*(?:(?:information|info|step)s?\s*)?\d+)?
        (?:\s*(?:,|and|or|&|/|\+)\s*[#]?\d+
            (?:\s*(?:-|–|—|to|through|thru)\s*\d+)?)*
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_RANGE = re.compile(
    r"(\d+)\s*(?:-|–|—|to|through|thru)\s*(?:(?:information|info|step)s?\s*)?(\d+)", re.IGNORECASE
)
_MAX_RANGE = 50  # "steps 1-1000" is a misreading, not a range to expand


def _numbers(span: str) -> list[int]:
    out: list[int] = []
    pos = 0
    for m in _RANGE.finditer(span):
        out += [int(n) for n in re.findall(r"\d+", span[pos : m.start()])]
        a, b = int(m.group(1)), int(m.group(2))
        if a <= b and b - a <= _MAX_RANGE:
            out += list(range(a, b + 1))
        else:
            out += [a, b]
        pos = m.end()
    out += [int(n) for n in re.findall(r"\d+", span[pos:])]
    return out


def parse_collected(output: str, *, n_info: int, step_index: int) -> tuple[list[int], list[int]]:
    """Information ids and previous-step ids the reply names, in order, de-duplicated.

    Unlike the reference (which concatenates the digits of "steps 1-3" into 13), ranges are
    expanded. Ids outside the question's information or not before `step_index` are dropped.
    """
    info: list[int] = []
    steps: list[int] = []
    for m in _KEY.finditer(output):
        lst = _NUM_LIST.match(output[m.end() :])
        if not lst:
            continue
        target = steps if m.group(1).lower() == "step" else info
        for n in _numbers(lst.group(1)):
            if n not in target:
                target.append(n)
    info = [i for i in info if 0 <= i < n_info]
    steps = [s for s in steps if 0 <= s < step_index]
    return info, steps


# Only a negated "support" of the other solution is a contradiction; "the conclusion is not
# supported by the premises" is commentary small models add, not a verdict.
_V_CONTRA = re.compile(
    r"\bcontradict(?:s|ed|ing|ion|ory)?\b|\b(?:does|do|did) not support\b"
    r"|\bdoesn't support\b|\binconsistent\b",
    re.IGNORECASE,
)
_V_UNREL = re.compile(
    r"\b(?:is\s+)?not\s+(?:directly\s+)?related\b|\bunrelated\b|\bnot related\b"
    r"|\bnot directly relate",
    re.IGNORECASE,
)
_V_SUPPORT = re.compile(r"\bsupport(?:s|ed|ing)?\b|\bconsistent\b|\bagree(?:s)?\b", re.IGNORECASE)
_NEG_SUPPORT = re.compile(r"\bnot\s+(?:\w+\s+)?support\w*", re.IGNORECASE)
_CONCLUSION = re.compile(
    r"(?:therefore|thus|so|in conclusion|conclusion|overall|hence|final answer)"
    r"[,:]?\s",
    re.IGNORECASE,
)


def _verdict_in(text: str) -> str | None:
    # Negated support ("does not support") is a contradiction; check it before plain "support".
    found = {
        CONTRADICT: bool(_V_CONTRA.search(text)),
        UNRELATED: bool(_V_UNREL.search(text)),
        SUPPORT: bool(_V_SUPPORT.search(_NEG_SUPPORT.sub(" ", _V_CONTRA.sub(" ", text)))),
    }
    hits = [v for v, hit in found.items() if hit]
    return hits[0] if len(hits) == 1 else None


def parse_verdict(reply: str) -> str | None:
    """support | contradict | unrelated, or None when the reply is unclear.

    The comparison prompt names all three options, so a reply that repeats them is not a
    verdict: look at the concluding sentence first, then the last line, then the whole reply, and
    take a verdict only where exactly one option is named.
    """
    text = reply.strip()
    if not text:
        return None
    candidates = []
    concl = list(_CONCLUSION.finditer(text))
    if concl:
        candidates.append(text[concl[-1].start() :])
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines:
        candidates.append(lines[-1])
    sentences = re.split(r"(?<=[.!?])\s+", text)
    if sentences:
        candidates.append(sentences[-1])
    candidates.append(text)
    for c in candidates:
        v = _verdict_in(c)
        if v:
            return v
    return None


def score_of(verdict: str) -> int | None:
    """r_i of a verdict; None for an error, which counts per the run's error policy."""
    return {SUPPORT: 1, CONTRADICT: -1, UNRELATED: 0}.get(verdict)


def normalize_answer(text: str | None) -> str | None:
    """A gold or stated answer in the shared canonical form (`workbench.core.answers`): a number
    when it states one ("$1,250.00" -> "1250", "\\frac{3}{4}" -> "0.75"), else case-folded text."""
    return normalize_gold(text) if text is not None else None


def extract_answer(solution: str) -> str | None:
    """The solution's final answer, canonical, by the shared rules (`workbench.core.answers`):
    after "So the answer is" (the reference's marker), "#### X", \\boxed{X} or "answer: X",
    else the result of the last sentence; None when it states no number."""
    return extract_number(solution)
