"""Self-Instruct fine-tuning JSONL: `{"prompt", "completion"}` a line, one per instance.

Templates follow the reference's `prepare_for_finetuning.py`: by default each instance gets
one of its 7 (with input) or 6 (without input) prompt/completion templates at random, from a
seeded generator so an export is reproducible (`--option seed=N`, default 123 as the
reference seeds); `--option templates=fixed` uses its one fixed template for every instance.
`--option rewrite=reference` also does what the reference does to inputs before encoding: half of
the time (seeded) it drops the field name of an input that has a single one ("Sentence: ..."
becomes "...") and turns blank lines into single newlines; then it drops duplicate
prompt/completion pairs and shuffles the lines. It is off by default because it changes the data.

Import reads `instruction`/`input`/`output` when a line carries them; otherwise it recovers
them by matching the prompt against the same templates (the most specific first). A prompt
that matches none becomes the instruction as a whole.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import Record, dump, get_str, group_records, iter_examples, iter_jsonl, require_obj
from .lossy import WHOLE

FORMAT = "selfinstruct-finetune"
EXTENSIONS = (".jsonl",)
HOLDS = WHOLE  # instruction, input, output only, any of them may be empty (lossy.py)
EOS = "<|endoftext|>"
OPTIONS = {
    "templates": ("random", "fixed"),
    "seed": None,
    "eos": None,
    "rewrite": ("none", "reference"),
}

TEMPLATES_WITH_INPUT = [
    ("{instruction}\nInput: {input}\nOutput:", " {output}" + EOS),
    ("{instruction}\n\nInput: {input}\n\nOutput:", " {output}" + EOS),
    ("Task: {instruction}\nInput: {input}\nOutput:", " {output}" + EOS),
    ("{instruction}\n\n{input}\n\nOutput:", " {output}" + EOS),
    ("{instruction}\n\n{input}\n\n", "{output}" + EOS),
    ("{instruction}\n{input}\n\n", "{output}" + EOS),
    ("Task: {instruction}\n\n{input}\n\n", "{output}" + EOS),
]
TEMPLATES_WITHOUT_INPUT = [
    ("{instruction} Output:", " {output}" + EOS),
    ("{instruction}\nOutput:", " {output}" + EOS),
    ("{instruction}\n\nOutput:", " {output}" + EOS),
    ("{instruction}\n", "{output}" + EOS),
    ("{instruction}\n\n", "{output}" + EOS),
    ("Task: {instruction}\n\n", "{output}" + EOS),
]
FIXED = ("{instruction}\n\n{input}\n\n", "{output}" + EOS)


def encode(
    instruction: str, input_: str, output: str, rng: random.Random | None, eos: str = EOS
) -> dict[str, str]:
    """The reference's `encode_instance`: `rng=None` is its `random_template=False`."""
    instruction, input_, output = instruction.strip(), input_.strip(), output.strip()
    if rng is None:
        prompt_t, completion_t = FIXED
    elif input_:
        prompt_t, completion_t = rng.choice(TEMPLATES_WITH_INPUT)
    else:
        prompt_t, completion_t = rng.choice(TEMPLATES_WITHOUT_INPUT)
    completion_t = completion_t.replace(EOS, eos)
    return {
        "prompt": prompt_t.format(instruction=instruction, input=input_),
        "completion": completion_t.format(output=output),
    }


def _pattern(template: str) -> re.Pattern[str]:
    # Fields are stripped when written, so a field starts and ends with a non-space.
    field = r"(?P<{}>\S(?:.*?\S)?)"
    parts = re.split(r"(\{instruction\}|\{input\})", template)
    rx = "".join(
        field.format(p[1:-1]) if p in ("{instruction}", "{input}") else re.escape(p) for p in parts
    )
    return re.compile(rx + r"\Z", re.DOTALL)


# The most literal text first, so "Task: {instruction}..." wins over "{instruction}...".
_MATCHERS = sorted(
    [_pattern(p) for p, _ in TEMPLATES_WITH_INPUT]
    + [_pattern(p) for p, _ in TEMPLATES_WITHOUT_INPUT],
    key=lambda rx: -len(re.sub(r"\(\?P<\w+>.*?\)\)\?\)", "", rx.pattern)),
)


def decode(prompt: str, completion: str, eos: str = EOS) -> tuple[str, str, str]:
    """(instruction, input, output) back from a prompt and completion."""
    output = completion[: -len(eos)] if eos and completion.endswith(eos) else completion
    for rx in _MATCHERS:
        m = rx.match(prompt)
        if m:
            groups = m.groupdict()
            return groups["instruction"], groups.get("input") or "", output.strip()
    return prompt.strip(), "", output.strip()


def parse_record(obj: object, path: Path, line: int) -> Record:
    d = require_obj(obj, path, line)
    prompt = get_str(d, "prompt", path, line)
    completion = get_str(d, "completion", path, line)
    if isinstance(d.get("instruction"), str) and d["instruction"].strip():
        instruction = d["instruction"]
        input_ = get_str(d, "input", path, line, required=False)
        output = get_str(d, "output", path, line, required=False) or decode(prompt, completion)[2]
    else:
        instruction, input_, output = decode(prompt, completion)
    if not instruction.strip():
        raise UserInputError("the prompt is empty", path=path, line=line, field="prompt")
    return Record(line=line, instruction=instruction, instance=Instance(input_, output))


def read(path: Path) -> list[Task]:
    return group_records((parse_record(o, path, n) for n, o in iter_jsonl(path)), path, FORMAT)


def rewrite_input(text: str, rng: random.Random) -> str:
    """The reference's input preprocessing: half of the time, drop the field name of an input
    with a single one ("Sentence: ...") and turn blank lines into single newlines."""
    if rng.random() >= 0.5:
        return text
    one_field = len(set(re.findall(r"(\w+):", text))) == 1
    text = text.split(":", 1)[1].strip() if one_field else text.strip()
    return text.replace("\n\n", "\n")


def write(
    tasks: Iterable[Task], fh: IO[str], options: dict[str, str]
) -> int | tuple[int, dict[str, int]]:
    """One prompt/completion line per example; with `rewrite=reference`, identical pairs after
    the rewriting are written once (as the reference does) and counted as `duplicates`."""
    try:
        seed = int(options.get("seed", "123"))
    except ValueError as exc:
        raise UserInputError("expected a whole number", field="seed") from exc
    rng = None if options.get("templates", "random") == "fixed" else random.Random(seed)
    eos = options.get("eos", EOS)
    if options.get("rewrite", "none") != "reference":
        n = 0
        for task, _, inst, _ in iter_examples(tasks):
            fh.write(dump(encode(task.instruction, inst.input, inst.output, rng, eos)) + "\n")
            n += 1
        return n
    # As the reference: one generator for the coin, the template and the shuffle, in that order.
    gen = rng or random.Random(seed)
    records, seen, merged = [], set(), 0
    for task, _, inst, _ in iter_examples(tasks):
        rec = encode(task.instruction, rewrite_input(inst.input, gen), inst.output, rng, eos)
        key = (rec["prompt"], rec["completion"])
        if key not in seen:
            seen.add(key)
            records.append(rec)
        else:
            merged += 1
    gen.shuffle(records)
    for rec in records:
        fh.write(dump(rec) + "\n")
    return len(records), {"duplicates": merged}
