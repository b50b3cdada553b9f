"""Model output -> candidates, labels and instances.

Each parser follows the reference (yizhongw/self-instruct, stanford_alpaca) and takes `compat`:
"reference" reproduces the reference's behaviour defects included, anything else applies our
documented fixes (docs/fidelity.md). Parsers never filter by content rules (filters.py does),
except where the reference's parser itself drops text (a cut completion).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REFERENCE = "reference"


@dataclass
class ParsedInstruction:
    text: str
    truncated: bool = False  # the last item of a completion cut by max_tokens


def clean_instruction(raw: str, compat: str | None = None) -> str:
    """Whitespace collapsed; first letter upper-cased.

    The reference calls `str.capitalize()`, which also lower-cases the rest ("Python" ->
    "python", "X" -> "x"); the fix upper-cases the first character only.
    """
    text = re.sub(r"\s+", " ", raw).strip()
    if not text:
        return text
    if compat == REFERENCE:
        return text.capitalize()
    return text[0].upper() + text[1:]


def parse_instructions(
    text: str, finish_reason: str, compat: str | None = None
) -> list[ParsedInstruction]:
    """A numbered continuation ("... \\n10. ...\\n11. ...") -> its items, in order.

    A completion cut by max_tokens: the reference drops every item (`return []`); the fix drops
    only the last, which is the one that may be cut mid-sentence (it is returned with
    `truncated=True` so it can be stored and counted, not silently lost).
    """
    if text is None:
        return []
    items = [clean_instruction(s, compat) for s in re.split(r"\n\d+\s?\. ", text)]
    items = [s for s in items if s]
    cut = finish_reason == "length"
    if cut and compat == REFERENCE:
        return [ParsedInstruction(s, truncated=True) for s in items]
    out = [ParsedInstruction(s) for s in items]
    if cut and out:
        out[-1].truncated = True
    return out


_NUMBERED = re.compile(r"^\s*(?:[-*]\s*)?\**\s*(\d+)\s*[.)]\s*\**\s*(.+)$")
_LABEL_PREFIX = re.compile(r"^(?:task|instruction)\s*\d*\s*:\s*", re.IGNORECASE)


def parse_chat_instructions(text: str, finish_reason: str) -> list[ParsedInstruction]:
    """A chat reply with a numbered list -> its items (markdown bold and "Task:" removed).

    Unnumbered lines (a preamble like "Sure! Here are...") are not tasks and are ignored.
    """
    out: list[ParsedInstruction] = []
    for line in (text or "").splitlines():
        m = _NUMBERED.match(line)
        if not m:
            continue
        item = _LABEL_PREFIX.sub("", m.group(2).replace("**", "").strip())
        item = clean_instruction(item)
        if item:
            out.append(ParsedInstruction(item))
    if finish_reason == "length" and out:
        out[-1].truncated = True
    return out


# ------------------------------------------------------------------------ classification
def parse_clf_label(text: str, compat: str | None = None) -> bool:
    """Step 2's answer. The reference accepts exactly "Yes"/"yes"/"YES" after strip(); the fix
    also reads "Yes." or "Yes, because..." (chat models add punctuation)."""
    raw = (text or "").strip()
    if compat == REFERENCE:
        return raw in ("Yes", "yes", "YES")
    first = re.split(r"[\s.,!:;]+", raw, maxsplit=1)[0] if raw else ""
    return first.lower() == "yes"


# ------------------------------------------------------------------------------ instances
_OUTPUT = re.compile(r"Output\s*\d*\s*:")
_INPUT = re.compile(r"Input\s*\d*\s*:")
_INPUT_PREFIX = re.compile(r"^Input\s*\d*\s*:")
_EXAMPLE_REF = re.compile(r"Example\s?\d*\.?")
# The fix: an example header is a line of its own that starts with "Example" and a number
# (or the bare word), so "For example" or "Example sentences" inside content stay content.
_EXAMPLE_FIXED = re.compile(r"(?m)^[ \t]*Example(?:[ \t]*\d+[ \t]*[.:]?|[ \t]*[.:]?[ \t]*$)")


def parse_input_output(text: str) -> tuple[str, str]:
    """One example's text -> (input, output), as the reference's parse_input_output."""
    if _OUTPUT.search(text):
        parts = _OUTPUT.split(text)
        inp, out = parts[0].strip(), parts[1].strip()
    else:
        inp, out = "", text.strip()
    if _INPUT.search(out):  # several pairs run together: keep the first output
        out = _INPUT.split(out)[0].strip()
    inp = _INPUT_PREFIX.sub("", inp).strip()
    return inp, out


def parse_generation_instances(
    text: str, finish_reason: str, compat: str | None = None
) -> list[tuple[str, str]]:
    """Input-first output -> (input, output) pairs, before the instance filter."""
    raw = (text or "").strip()
    splitter = _EXAMPLE_REF if compat == REFERENCE else _EXAMPLE_FIXED
    if splitter.search(raw):
        chunks = [c.strip() for c in splitter.split(raw) if c.strip()]
        pairs = [parse_input_output(c) for c in chunks]
    elif _OUTPUT.search(raw):
        pairs = [parse_input_output(raw)]
    else:
        return []
    pairs = [(i.strip(), o.strip()) for i, o in pairs]
    if finish_reason == "length":
        pairs = pairs[:-1]
    if compat != REFERENCE:
        # Placeholder inputs ("<noinput>", "N/A", "No input") mean no input; an instance whose
        # output is a placeholder ("<No Output>") teaches nothing and is left out (a task left
        # with none is dropped as no-instances). The reference keeps both as literal text.
        pairs = [
            ("" if is_placeholder_input(i) else i, o)
            for i, o in pairs
            if not is_placeholder_output(o)
        ]
    return pairs


def parse_classification_instances(
    text: str, finish_reason: str, compat: str | None = None
) -> list[tuple[str, str]]:
    """Output-first output ("Class label: X\\n<input>") -> (input, label) pairs."""
    raw = text or ""
    if "Class label:" not in raw:
        return []
    pairs: list[tuple[str, str]] = []
    for chunk in raw.split("Class label:")[1:]:
        fields = chunk.strip().split("\n", 1)
        label = fields[0].strip()
        inp = fields[1].strip() if len(fields) == 2 else ""
        pairs.append((inp, label))
    if finish_reason == "length":
        pairs = pairs[:-1]
    return pairs


# --------------------------------------------------------------------------------- alpaca
# Reasons a parsed Alpaca block is dropped for, beyond filters.py's (stored as the candidate's
# reason; candidates.Reason should list them: UNPARSABLE, PLACEHOLDER_OUTPUT).
UNPARSABLE = "unparsable"  # no "Instruction" and "Output" fields could be read
PLACEHOLDER_OUTPUT = "placeholder-output"  # the output is a placeholder ("<No Output>", "N/A")


@dataclass
class AlpacaTriple:
    instruction: str
    input: str
    output: str
    truncated: bool = False
    reason: str | None = None  # UNPARSABLE or PLACEHOLDER_OUTPUT: keep it as a dropped candidate
    raw: str = ""  # the block as the model wrote it (for a dropped one)


# Placeholders written for "no input" / "no output" (Alpaca's own is "<noinput>"), compared
# without case, brackets, quotes, spaces, "-" and "_": "<no input>", "No input", "noinput",
# "N/A", "<No Output>", "(none)".
_PLACEHOLDER_INPUTS = frozenset(
    {
        "noinput",
        "na",
        "none",
        "nil",
        "empty",
        "noinputrequired",
        "noinputneeded",
        "noinputprovided",
        "input",
    }
)
_PLACEHOLDER_OUTPUTS = frozenset(
    {"nooutput", "na", "nooutputrequired", "nooutputneeded", "nooutputprovided", "output"}
)


def _placeholder_key(text: str) -> str:
    return re.sub(r"[\s<>()\[\]{}\"'`*._\-/]+", "", text).casefold()


def is_placeholder_input(text: str) -> bool:
    """Whether an input field says "no input" ("<noinput>", "<no input>", "No input", "N/A")."""
    return _placeholder_key(text) in _PLACEHOLDER_INPUTS


def is_placeholder_output(text: str) -> bool:
    """Whether an output field says "no output" ("<No Output>", "No output", "N/A"); "None" as a
    whole output can be a real answer, so it counts only in angle brackets ("<none>")."""
    key = _placeholder_key(text)
    bracketed = re.fullmatch(r"\s*<[^<>]*>\s*", text or "") is not None
    return key in _PLACEHOLDER_OUTPUTS or (bracketed and key in {"none", "empty"})


# An item starts at a line (or after a "#" run) with its number and "Instruction:"; the number
# may be missing or wrong and the separator "###", "##", "#", or none: a slip in one item never
# moves the others.
_ITEM_START = re.compile(
    r"(?:^|(?<=#))[ \t*#]*(?:(\d+)\s*[.):]\s*)?\**\s*Instruction\s*\**\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD = re.compile(
    r"^[ \t*#]*(?:\d+\s*[.):]\s*)?\**\s*(Input|Output)\s*\**\s*:", re.IGNORECASE | re.MULTILINE
)


def _parse_block(block: str) -> tuple[str, str, str] | None:
    """(instruction, input, output) of one item's text after "Instruction:", or None."""
    fields = list(_FIELD.finditer(block))
    names = [m.group(1).lower() for m in fields]
    if names not in (["input", "output"], ["output"]):
        return None  # a missing output, or two items run together
    inst = re.sub(r"\s+", " ", block[: fields[0].start()]).strip()
    inp = block[fields[0].end() : fields[1].start()].strip() if len(names) == 2 else ""
    out = block[fields[-1].end() :].strip()
    if not inst:
        return None
    return inst, inp, out


def parse_alpaca(
    text: str, finish_reason: str, first_index: int, compat: str | None = None
) -> list[AlpacaTriple]:
    """Alpaca's "###"-separated "N. Instruction: / N. Input: / N. Output:" blocks.

    `first_index` is the number the prompt ended with (4 after 3 demonstrations). The last
    block of a cut completion is returned with `truncated=True` (the reference skips it too).

    The reference (stanford_alpaca `post_process_gpt3_response`) splits on "###" and expects the
    k-th piece to be item `first_index + k`: one "##" merges the next item into an output, and
    every later item, now numbered one off, is silently lost. With `compat="reference"` that
    behaviour (and its "<noinput>"-only placeholder) stays. Otherwise items are found by their
    "N. Instruction:" lines whatever the separator or number, each block is one triple, a block
    whose fields cannot be read is kept with `reason=UNPARSABLE` and its raw text, placeholder
    inputs become "" and a placeholder output gives `reason=PLACEHOLDER_OUTPUT`.
    """
    if compat == REFERENCE:
        return _parse_alpaca_reference(text, finish_reason, first_index)
    full = f"{first_index}. Instruction:" + (text or "")
    starts = list(_ITEM_START.finditer(full))
    out: list[AlpacaTriple] = []
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(full)
        block = full[m.end() : end]
        # A separator run (###, ##, ---) closing the block is not part of its output.
        block = re.sub(r"(?:\s*(?:#+|-{3,}|\*{3,})\s*)+$", "", block)
        trunc = finish_reason == "length" and k == len(starts) - 1
        raw = re.sub(r"(?:\s*(?:#+|-{3,}|\*{3,})\s*)+$", "", full[m.start() : end]).strip()
        parsed = _parse_block(block)
        if parsed is None:
            out.append(
                AlpacaTriple(
                    re.sub(r"\s+", " ", raw), "", "", truncated=trunc, reason=UNPARSABLE, raw=raw
                )
            )
            continue
        inst, inp, outp = parsed
        if is_placeholder_input(inp):
            inp = ""
        if is_placeholder_output(outp):
            out.append(
                AlpacaTriple(inst, inp, "", truncated=trunc, reason=PLACEHOLDER_OUTPUT, raw=raw)
            )
            continue
        out.append(AlpacaTriple(inst, inp, outp, truncated=trunc))
    return out


def _parse_alpaca_reference(text: str, finish_reason: str, first_index: int) -> list[AlpacaTriple]:
    blocks = re.split("###", f"{first_index}. Instruction:" + (text or ""))
    out: list[AlpacaTriple] = []
    for k, block in enumerate(blocks):
        idx = first_index + k
        parts = re.split(rf"{idx}\.\s+(Instruction|Input|Output):", block)
        if len(parts) != 7:
            continue
        inst = re.sub(r"\s+", " ", parts[2]).strip()
        inp = parts[4].strip()
        inp = "" if inp.lower() == "<noinput>" else inp
        trunc = finish_reason == "length" and k == len(blocks) - 1
        out.append(AlpacaTriple(inst, inp, parts[6].strip(), truncated=trunc))
    return out
