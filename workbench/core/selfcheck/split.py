"""Splitting a solution into steps and a question into information sentences.

Small local models rarely follow "Step k:" to the letter, so the splitter accepts, in order of
preference: step markers ("Step 1:", "**Step 1:**", "### Step 1.", "Step 1 -"), numbered lists
("1.", "1)", "(1)") that count up from 1, paragraphs, and finally single lines.
"""
from __future__ import annotations

import re

# A step marker at the start of a line, with optional markdown emphasis/heading around it.
_STEP_MARK = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*step\s*(\d+)?\s*(?:\*\*|__)?\s*[:.)\-–—]\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)
_LIST_MARK = re.compile(r"^\s*(?:\((\d+)\)|(\d+)[.)])\s+")
_SENT_END = re.compile(r"[.!?][\"”')\]]*(\s+)(?=[\"“'(\[]?[A-Z0-9$])")
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e|No|approx)\.)$", re.IGNORECASE)


def _merge_colon_steps(steps: list[str]) -> list[str]:
    # A step that ends with ':' announces what follows (as the reference merges them).
    out: list[str] = []
    for step in steps:
        if out and out[-1].rstrip().endswith(":"):
            out[-1] = out[-1].rstrip() + "\n" + step
        else:
            out.append(step)
    return out


def _is_preamble(text: str) -> bool:
    # "Sure! Let's solve this step by step." carries no reasoning: no number, no formula.
    return not re.search(r"[0-9=]", text)


def _split_by_markers(lines: list[str], mark: re.Pattern[str], numbered: bool) -> list[str] | None:
    starts = []
    for i, line in enumerate(lines):
        m = mark.match(line)
        if m:
            starts.append((i, m))
    if len(starts) < (1 if not numbered else 2):
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
        body = [lines[i][m.end():].rstrip("*_ ").strip() if not numbered else lines[i][m.end():].strip()]
        body += [ln for ln in lines[i + 1:end]]
        text = "\n".join(b for b in body).strip()
        text = re.sub(r"\n{3,}", "\n\n", text)
        if text:
            steps.append(text)
    return steps or None


def split_steps(solution: str) -> list[str]:
    """The solution's steps, without their "Step k:" markers; never empty for non-blank text."""
    text = solution.replace("\r\n", "\n").strip()
    if not text:
        return []
    lines = text.split("\n")
    steps = _split_by_markers(lines, _STEP_MARK, numbered=False)
    if steps is None:
        steps = _split_by_markers(lines, _LIST_MARK, numbered=True)
    if steps is None:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        if len(paragraphs) > 1:
            steps = paragraphs
        else:
            steps = [ln.strip() for ln in lines if ln.strip()]
    return _merge_colon_steps(steps)


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
        pieces.append(text[pos:m.start(1)])
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
