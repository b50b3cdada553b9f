"""Prompt templates (files a user can edit or replace) and the prompts built from them.

A template folder may hold our file names or the reference's (so the reference templates in
`../shared/data/self_instruct/reference_templates/` load as they are); a file missing from a
user's folder falls back to ours. The fixed few-shot text always comes FIRST in a prompt and the
varying part (the task) last, so llama.cpp reuses the cached prefix from call to call.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserInputError
from ..fileio import atomic_text_file
from ..llm.prompt import Data, PromptText
from ..paths import prompts_dir

if TYPE_CHECKING:
    from .presets import Preset

# Our name first, then the names the reference's files carry.
TEMPLATE_FILES: dict[str, tuple[str, ...]] = {
    "instruction_gen": ("instruction_gen.txt",),
    "chat_instruction_gen": ("chat_instruction_gen.txt",),
    "clf": ("clf_identify.txt", "clf_task_template_1.txt"),
    "input_first": ("instances_input_first.txt", "input_first_template_for_gen.txt"),
    "output_first": ("instances_output_first.txt", "output_first_template_for_clf.txt"),
    "alpaca": ("alpaca.txt", "alpaca_prompt.txt"),
}
CLF_QUESTION = "Is it classification?"
TEMPLATES_SETTING = "selfinstruct.templates"  # the workspace's template folder (the app edits it)
# What each template is for, as the template editor shows it.
TEMPLATE_TITLES: dict[str, str] = {
    "instruction_gen": "Step 1: new instructions (completion models)",
    "chat_instruction_gen": "Step 1: new instructions (chat models)",
    "clf": "Step 2: is it classification? (Yes/No demonstrations)",
    "input_first": "Step 3: instances, input first",
    "output_first": "Step 3: instances, output first (classification)",
    "alpaca": "Alpaca: one call writes many tasks",
}


def default_templates_dir() -> Path:
    return prompts_dir() / "selfinstruct"


# How each template is filled in, read from the builders below: with `str.format` and these
# names, (required, optional), or None: joined to the tasks as plain text (`instruction_prompt`,
# `clf_prompt`, `instances_prompt`, `alpaca_prompt`, `split_demos`), where a "{…}" is just text.
PLACEHOLDERS: dict[str, tuple[frozenset[str], frozenset[str]] | None] = {
    "instruction_gen": None,
    "chat_instruction_gen": (frozenset({"examples"}), frozenset({"count", "next", "last"})),
    "clf": None,
    "input_first": None,
    "output_first": None,
    "alpaca": None,
}


def templates_used(preset: Preset) -> tuple[str, ...]:
    """The template keys a run with `preset` prompts with (what its start checks), read from
    `steps`: the Alpaca pipeline one call ("alpaca"); the SELF-INSTRUCT one step 1 by API
    ("chat_instruction_gen" for "chat", "instruction_gen" for "complete"), step 2 ("clf") and
    step 3's output-first template only with classification, and "input_first"."""
    if preset.pipeline == "alpaca":
        return ("alpaca",)
    keys = ["chat_instruction_gen" if preset.api == "chat" else "instruction_gen"]
    if preset.classification:
        keys.append("clf")
    keys.append("input_first")
    if preset.classification:
        keys.append("output_first")
    return tuple(keys)


# What each placeholder becomes (the editor's messages say it).
PLACEHOLDER_MEANINGS: dict[str, str] = {
    "examples": "the numbered example tasks",
    "count": "how many new tasks to write",
    "next": "the number of the first new task",
    "last": "the number of the last new task",
}
_SAMPLE = {"examples": "1. A task.", "count": 8, "next": 2, "last": 9}
_BRACES = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class TemplateProblem:
    """One reason a template cannot be used. `placeholder`: the name at fault (None for a
    lone brace); `line`: the 1-based line of the text it is on (1 for a missing placeholder:
    the top of the text, where a person starts looking); `str()` is the sentence a person
    reads, starting with the template's title and the line: "“Title”, line 4: ..."
    (`problem_text` puts the file before it)."""

    key: str
    placeholder: str | None
    message: str
    line: int = 1

    def __str__(self) -> str:
        return f"“{TEMPLATE_TITLES[self.key]}”, line {self.line}: {self.message}"


def problem_text(path: str | Path, problem: TemplateProblem) -> str:
    """How every template problem reads: the file, the template's title, the line, the fault:
    "/p/chat_instruction_gen.txt: “Title”, line 1: the placeholder {examples} is missing..."."""
    return f"{path}: {problem}"


def template_problems(key: str, text: str) -> list[TemplateProblem]:
    """What stops `text` from working as template `key` ([] when it is fine): an unknown
    placeholder (with the closest known name), a missing required one, a lone "{" or "}".

    Only templates filled with `str.format` (PLACEHOLDERS) are checked; the others are sent as
    written, braces included. Raises KeyError for a key not in TEMPLATE_FILES."""
    TEMPLATE_FILES[key]  # noqa: B018 - an unknown key is a programming error
    spec = PLACEHOLDERS.get(key)
    if spec is None:
        return []
    required, optional = spec
    known = sorted(required | optional)
    names = ", ".join("{" + k + "}" for k in known)
    out: list[TemplateProblem] = []
    seen: set[str] = set()
    for m in _BRACES.finditer(text):
        tok = m.group(0)
        if tok in ("{{", "}}"):
            continue
        line = text.count("\n", 0, m.start()) + 1
        if m.group(1) is None:  # a brace with no partner
            out.append(
                TemplateProblem(
                    key,
                    None,
                    f"a lone “{tok}”; placeholders are written {{name}}, and "
                    f"a brace meant as text is doubled ({tok * 2})",
                    line,
                )
            )
            continue
        field = re.split(r"[!:]", m.group(1), maxsplit=1)[0]
        name = re.split(r"[.\[]", field, maxsplit=1)[0].strip()
        if name in known:
            seen.add(name)
            if field != name:  # {examples.upper}, {examples[0]}: would print junk, not fail
                out.append(
                    TemplateProblem(
                        key, name, f"{tok} cannot be filled in: write a plain {{{name}}}.", line
                    )
                )
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        seen.update(close)  # a misspelt name: one problem, not also "missing"
        out.append(
            TemplateProblem(
                key,
                name,
                f"unknown placeholder {tok}"
                + (f"; did you mean {{{close[0]}}}?" if close else ".")
                + f" This template knows {names} (write {{{{ and }}}} for braces meant as text).",
                line,
            )
        )
    for name in sorted(required - seen):
        out.append(
            TemplateProblem(
                key,
                name,
                f"the placeholder {{{name}}} is missing, so the prompt would not hold "
                f"{PLACEHOLDER_MEANINGS[name]}; put {{{name}}} where they belong.",
                1,
            )
        )
    if not out:  # the names are right: a conversion or format spec may still not apply
        try:
            text.format(**_SAMPLE)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            out.append(TemplateProblem(key, None, f"cannot be filled in ({exc})", _bad_line(text)))
    return out


def _bad_line(text: str) -> int:
    """The line of the first field of `text` that `str.format` cannot fill ({count:s}), 1 when
    no single field is at fault."""
    errors = (ValueError, TypeError, KeyError, IndexError, AttributeError)
    for m in _BRACES.finditer(text):
        if m.group(1) is None:
            continue
        try:
            m.group(0).format(**_SAMPLE)
        except errors:
            return text.count("\n", 0, m.start()) + 1
    return 1


@dataclass
class Templates:
    instruction_gen: str
    chat_instruction_gen: str
    clf: str
    input_first: str
    output_first: str
    alpaca: str
    sources: dict[str, str]

    @classmethod
    def load(cls, folder: str | Path | None = None) -> Templates:
        """Our templates, overridden by whatever `folder` holds."""
        texts: dict[str, str] = {}
        sources: dict[str, str] = {}
        dirs = [default_templates_dir()]
        if folder is not None:
            user = Path(folder).expanduser()
            if not user.is_dir():
                raise UserInputError(
                    "the template folder does not exist",
                    path=user,
                    hint="Choose a folder holding .txt prompt templates.",
                )
            dirs.insert(0, user)
        for key, names in TEMPLATE_FILES.items():
            for d in dirs:
                hit = next((d / n for n in names if (d / n).is_file()), None)
                if hit is not None:
                    texts[key] = hit.read_text(encoding="utf-8")
                    sources[key] = str(hit)
                    break
            else:
                raise UserInputError(
                    f"no template for {key!r}",
                    path=dirs[-1],
                    hint=f"Expected one of: {', '.join(names)}.",
                )
        return cls(**texts, sources=sources)

    @classmethod
    def load_checked(
        cls, folder: str | Path | None = None, keys: Iterable[str] | None = None
    ) -> Templates:
        """`load`, then `check(keys)`: what a run starts with (before its model loads);
        `keys`: the templates the run prompts with (`Preset.template_keys`), None for all."""
        t = cls.load(folder)
        t.check(keys)
        return t

    def problems(self, keys: Iterable[str] | None = None) -> list[tuple[str, TemplateProblem]]:
        """The problems of the templates `keys` names (None: every template), as (source
        file, problem); [] when they can all be used."""
        wanted = TEMPLATE_FILES if keys is None else set(keys)
        return [
            (self.sources[key], p)
            for key in TEMPLATE_FILES
            if key in wanted
            for p in template_problems(key, getattr(self, key))
        ]

    def check(self, keys: Iterable[str] | None = None) -> None:
        """Raises UserInputError (exit 2) naming each broken template's file, title and
        placeholder, and where to fix it; only the templates `keys` names (None: all), so a
        broken one that a run does not prompt with does not stop it. Every problem reads
        `problem_text` (file, title, line, fault), so the message (and `--json`'s "error")
        names the file. With one broken file the error's `path` is that file and its `line` the
        first problem's line (1 for a missing placeholder); with several, both are None."""
        found = self.problems(keys)
        if not found:
            return
        files = sorted({src for src, _ in found})
        message = "; ".join(problem_text(src, p) for src, p in found)
        folder = Path(files[0]).parent
        error = UserInputError(
            message,
            hint=f"Fix it in Generate › Templates: Edit…, or edit the file in {folder} "
            "(Reset to built-in there brings ours back). No run was started.",
        )
        # For `--json` (its "path" and "line"), set after the message is made: the message
        # already starts with them, the way every template problem reads.
        error.path = files[0] if len(files) == 1 else None
        error.line = found[0][1].line if len(files) == 1 else None
        raise error


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(":")


# Completion prompts are `PromptText`s: the template's text and the numbering are template, the
# tasks (seeds, imported records, earlier model outputs) are data, never read as control tokens.


# ------------------------------------------------------------------ step 1 (completion)
def instruction_prompt(template: str, examples: list[str]) -> PromptText:
    """The header, the examples numbered 1..n, and the next number left open."""
    parts: list[str] = [template.rstrip("\n") + "\n"]
    for i, inst in enumerate(examples, 1):
        parts += [f"{i}. ", Data(_one_line(inst)), "\n"]
    return PromptText.concat([*parts, f"{len(examples) + 1}."])


CHAT_COUNT = 8  # new instructions a step-1 chat prompt asks for


def instruction_messages(
    template: str, examples: list[str], count: int = CHAT_COUNT
) -> list[dict[str, str]]:
    numbered = "\n".join(f"{i}. {_one_line(s)}" for i, s in enumerate(examples, 1))
    nxt = len(examples) + 1
    text = template.format(examples=numbered, count=count, next=nxt, last=nxt + count - 1)
    return [{"role": "user", "content": text.strip()}]


def numbered_list_grammar(first: int, count: int = CHAT_COUNT) -> str:
    """A GBNF grammar for a step-1 chat reply: the items `first`..`first + count - 1`, one line
    each ("9. Write …"), each opening with a capital letter.

    Beyond the paper (docs/quality.md): a small chat model asked for items 9-16 restarts at "1."
    and copies the eight examples it was shown, then wraps items in quotes, date stamps and
    preambles. Forcing the reply to open at the next number makes it continue the list, as the
    paper's completion prompt does, and leaves no room for a preamble, a quote or a date."""
    items = " ".join(f'"{n}. " item "\\n"' for n in range(first, first + count))
    return f"root ::= {items}\nitem ::= [A-Z] [^\\n]+\n"


# ------------------------------------------------------------------------------ step 2
def clf_prompt(template: str, instruction: str) -> PromptText:
    """The reference's shape: prefix + " " + task + "\\n" + the question."""
    return PromptText.concat([template + " ", Data(instruction.strip()), "\n" + CLF_QUESTION])


def split_demos(template: str) -> tuple[str, list[tuple[str, str]]]:
    """A few-shot file -> (header, [(task, answer)]): the blocks after each "Task:".

    Chat prompts are built from the same files as completion prompts: the header becomes the
    system message and each demonstration one user/assistant exchange.
    """
    parts = re.split(r"(?m)^Task:", template)
    header = parts[0].strip()
    demos: list[tuple[str, str]] = []
    for block in parts[1:]:
        block = block.strip()
        if not block:
            continue
        task, _, answer = block.partition("\n")
        answer = answer.strip()
        if answer.startswith(CLF_QUESTION):
            answer = answer[len(CLF_QUESTION) :].strip()
        demos.append((task.strip(), answer))
    return header, demos


def clf_messages(template: str, instruction: str) -> list[dict[str, str]]:
    header, demos = split_demos(template)
    msgs = [{"role": "system", "content": header + " Answer Yes or No."}]
    for task, answer in demos:
        msgs.append({"role": "user", "content": f"Task: {task}\n{CLF_QUESTION}"})
        msgs.append({"role": "assistant", "content": answer})
    msgs.append({"role": "user", "content": f"Task: {instruction.strip()}\n{CLF_QUESTION}"})
    return msgs


# ------------------------------------------------------------------------------ step 3
def instances_prompt(template: str, instruction: str) -> PromptText:
    return PromptText.concat([template + " ", Data(instruction.strip()), "\n"])


def instances_messages(template: str, instruction: str) -> list[dict[str, str]]:
    header, demos = split_demos(template)
    msgs = [{"role": "system", "content": header}]
    for task, answer in demos:
        msgs.append({"role": "user", "content": f"Task: {task}"})
        msgs.append({"role": "assistant", "content": answer})
    msgs.append({"role": "user", "content": f"Task: {instruction.strip()}"})
    return msgs


# ------------------------------------------------------------------------------ alpaca
def alpaca_prompt(template: str, demos: list[tuple[str, str, str]]) -> PromptText:
    """Alpaca's shape: the header, "###"-separated numbered triples, the next number open."""
    parts: list[str] = [template.rstrip("\n") + "\n"]
    for i, (inst, inp, out) in enumerate(demos, 1):
        parts += [
            "###\n",
            f"{i}. Instruction: ",
            Data(_one_line(inst)),
            "\n",
            f"{i}. Input:\n",
            Data(inp) if inp else "<noinput>",
            "\n",
            f"{i}. Output:\n",
            Data(out),
            "\n",
        ]
    return PromptText.concat([*parts, f"###\n{len(demos) + 1}. Instruction:"])


# ------------------------------------------------------------------ editing (the app)
def save_template(folder: str | Path, key: str, text: str) -> Path:
    """Write one template into a user's folder (our file name), whole or not at all. The
    other templates keep falling back to ours, so a folder may hold just the edited ones.

    Raises UserInputError, writing nothing, for an empty text or one `template_problems`
    rejects (an unknown or missing placeholder, a lone brace)."""
    if key not in TEMPLATE_FILES:
        raise UserInputError(f"no template named {key!r}", field="template")
    if not text.strip():
        raise UserInputError(
            "a template cannot be empty", field=key, hint="Reset it to the built-in one instead."
        )
    out = Path(folder).expanduser() / TEMPLATE_FILES[key][0]
    problems = template_problems(key, text)
    if problems:
        error = UserInputError(
            "; ".join(problem_text(out, p) for p in problems), hint="Fix the text, then save again."
        )
        error.path, error.line = str(out), problems[0].line
        raise error
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_text_file(out) as fh:
        fh.write(text)
    return out


def reset_template(folder: str | Path, key: str) -> None:
    """Remove a user's version of one template (any of its file names): ours applies again."""
    for name in TEMPLATE_FILES[key]:
        (Path(folder).expanduser() / name).unlink(missing_ok=True)
