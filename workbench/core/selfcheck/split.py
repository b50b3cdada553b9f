"""Splitting a solution into steps and a question into information sentences.

Small local models rarely follow "Step k:" to the letter, so the splitter accepts, in order of
preference: step markers ("Step 1:", "**Step 1:**", "### Step 1.", "Step 1 -"), numbered lists
("1.", "1)", "(1)") that count up from 1, paragraphs, and finally single lines.
"""

from __future__ import annotations

import re

from .parse import normalize_answer

# A step marker at the start of a line, with optional markdown emphasis/heading around it:
# "Step 1:", "**Step 1:**", "### Step 1.", "Step 1 -", "Step 2 Compute..." and a bare "Step:".
# "Step-by-step" is not a marker ("**Step-by-Step Explanation:**" used to become a step
# beginning "by-Step Explanation:"): a marker without a number needs ":" right after "Step".
_STEP_MARK = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*step\s*"
    r"(?:(\d+)\s*(?:\*\*|__)?\s*(?:[:.)\-–—]|(?=\s))|(?:\*\*|__)?\s*:)\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)
_LIST_MARK = re.compile(r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*(?:\((\d+)\)|(\d+)[.)])(?:\*\*|__)?\s+")
_SENT_END = re.compile(r"[.!?][\"”')\]]*(\s+)(?=[\"“'(\[]?[A-Z0-9$])")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e|No|approx)\.)$", re.IGNORECASE
)
# A heading: a markdown heading line, or a line that is all bold/underlined, or a short line
# ending with ":" ("Step-by-step solution:", "**Explanation:**", "Solution:").
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+\S.*|(?:\*\*|__)[^*_]+(?:\*\*|__)\s*:?|[^\n]{0,60}:)\s*$")


_CONCLUDING = r"(?i:so\b|therefore|thus|hence|finally|in conclusion|now\b|the (?:final )?answer)"


def _is_heading(text: str) -> bool:
    # One line, no number and no "=": it announces what follows, it is not a step of reasoning.
    one_line = "\n" not in text.strip()
    return one_line and bool(_HEADING.match(text)) and not re.search(r"[0-9=]", text)


def _merge_colon_steps(steps: list[str]) -> list[str]:
    # A step that ends with ':' announces what follows (as the reference merges them); so does a
    # heading between steps ("**Final Answer**").
    out: list[str] = []
    for step in steps:
        if out and (out[-1].rstrip().endswith(":") or _is_heading(out[-1])):
            out[-1] = out[-1].rstrip() + "\n" + step
        else:
            out.append(step)
    return out


def _is_preamble(text: str) -> bool:
    # "Sure! Let's solve this step by step." or a heading carries no reasoning: no number, no
    # formula.
    return not re.search(r"[0-9=]", text)


def _drop_headings(steps: list[str]) -> list[str]:
    # Leading headings ("**Step-by-Step Explanation:**", "Step-by-step solution:") are dropped,
    # never the last step. A number-free first paragraph is kept: without markers it often
    # states the plan, and real step lists (ProcessBench) count it as a step.
    while len(steps) > 1 and _is_heading(steps[0]):
        steps = steps[1:]
    return steps


def _split_by_markers(lines: list[str], mark: re.Pattern[str], numbered: bool) -> list[str] | None:
    starts = []
    for i, line in enumerate(lines):
        m = mark.match(line)
        if m:
            starts.append((i, m))
    # One "Step 4:" inside paragraphs is not the solution's structure; one marker on the first
    # line of a one-step solution is.
    if not starts or (len(starts) < 2 and (numbered or starts[0][0] != 0)):
        return None
    if numbered:
        # A list only counts as the step structure when it counts up 1, 2, 3...
        nums = [int(next(g for g in m.groups() if g)) for _, m in starts]
        if nums != list(range(nums[0], nums[0] + len(nums))):
            return None
    steps: list[str] = []
    pre = "\n".join(lines[: starts[0][0]]).strip()
    if pre and not _is_preamble(pre):
        steps.append(pre)
    for k, (i, m) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        head = lines[i][m.end() :]
        head = head.rstrip("*_ ").strip() if not numbered else head.strip()
        body = [re.sub(r"^(?:\*\*|__)(.*?)(?:\*\*|__)\s*$", r"\1", head)]
        body += [ln for ln in lines[i + 1 : end]]
        text = "\n".join(b for b in body).strip()
        text = re.sub(r"\n{3,}", "\n\n", text)
        if text:
            steps.append(text)
    if steps:
        # After the last marked step, paragraphs that conclude ("So, the final answer is ...")
        # are steps of their own, as in ProcessBench's step lists.
        last = re.split(r"\n\s*\n(?=\s*" + _CONCLUDING + ")", steps[-1])
        steps[-1:] = [p.strip() for p in last if p.strip()]
    return steps or None


def split_steps(solution: str) -> list[str]:
    """The solution's steps, without their "Step k:" markers; never empty for non-blank text.

    In order of preference: step markers ("Step 1:", "**Step 1:**", "### Step 1."; at least two,
    or one on the first line), numbered lists that count up ("1.", "1)", "(1)", "**1.**"),
    paragraphs, lines. Leading headings and number-free preambles are dropped; a step ending
    with ":" or a heading between steps is merged with the step after it (as the reference does).
    """
    text = solution.replace("\r\n", "\n").strip()
    if not text:
        return []
    lines = text.split("\n")
    steps = _split_by_markers(lines, _STEP_MARK, numbered=False)
    if steps is None:
        steps = _split_by_markers(lines, _LIST_MARK, numbered=True)
    if steps is not None:
        return _merge_colon_steps(steps)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    steps = paragraphs if len(paragraphs) > 1 else [ln.strip() for ln in lines if ln.strip()]
    return _merge_colon_steps(_drop_headings(steps))


# A line that only states the final answer: "#### 11000", "The answer is: 11000", "So, the final
# answer is: \\boxed{96}.", "The answer is 6 apples." (MR-GSM8K ends most solutions with the first
# two as steps of their own).
_VALUE = r"(?:\$?\\boxed\{[^{}]*\}\$?|\$?\s*-?\d[\d,]*(?:\.\d+)?\s*%?)"
_ANSWER_LINE = re.compile(
    r"^\s*(?:####\s*(?P<v1>" + _VALUE + r")|(?:so,?\s+)?(?:the\s+)?(?:final\s+)?answer(?:\s+is)?"
    r"\s*:?\s*(?P<v2>" + _VALUE + r"))(?:\s+[a-z]+){0,2}\s*\.?\s*$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def answer_lines(steps: list[str]) -> list[bool]:
    """Which steps are answer lines, not reasoning steps: the trailing steps that only restate
    the final answer ("#### 11000", "The answer is: 11000", "So the final answer is
    \\boxed{96}.") with a value an earlier step already states. Never every step; a final line
    whose value no earlier step states is a step (it asserts a result nobody derived).

    Returns one flag per step, True only at the end of the list."""
    flags = [False] * len(steps)
    for i in range(len(steps) - 1, 0, -1):
        m = _ANSWER_LINE.match(steps[i])
        if not m:
            break
        value = normalize_answer(m.group("v1") or m.group("v2"))
        earlier = "\n".join(steps[:i])
        if value is None or value not in {normalize_answer(n) for n in _NUMBER.findall(earlier)}:
            break
        flags[i] = True
    return flags


def split_information(question: str) -> list[str]:
    """The question as numbered information sentences (Information 0, 1, ...).

    The reference asks the model to copy the question with a marker before each sentence; a
    deterministic splitter gives the same result for well-formed text without a model call, and
    it cannot alter the numbers it copies.
    """
    text = re.sub(r"\s+", " ", question).strip()
    if not text:
        return []
    pieces, pos = [], 0
    for m in _SENT_END.finditer(text):
        pieces.append(text[pos : m.start(1)])
        pos = m.end(1)
    pieces.append(text[pos:])
    out: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if out and _ABBREV.search(out[-1]):
            out[-1] = out[-1] + " " + piece
        else:
            out.append(piece)
    return out
