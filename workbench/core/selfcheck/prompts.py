"""The SELF-CHECK prompt templates (`resources/prompts/selfcheck/prompts.toml`) and their filling.

Placeholders are replaced in one pass instead of `str.format`, so braces in questions and LaTeX
steps ("\\frac{1}{3}") are never read as fields. The prompts are `PromptText`s: the questions,
steps and model outputs filled in are data, never read as control tokens (issue 19 item 6).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserInputError
from ..llm.prompt import Data, PromptText
from ..llm.prompt import fill as fill_prompt
from ..paths import prompts_dir

REQUIRED = (
    "sample",
    "target",
    "collect",
    "collect_first",
    "regen_intro",
    "regen_information",
    "regen_steps",
    "regen_target",
    "regen_ending_both",
    "regen_ending_information",
    "regen_ending_steps",
    "regen_ending_none",
    "compare",
    "followup",
)


def default_prompts_path() -> Path:
    return prompts_dir() / "selfcheck" / "prompts.toml"


def fill(template: str, **values: str) -> PromptText:
    """`template` with each `{name}` replaced by its value (as data, see `llm.prompt.fill`)."""
    return fill_prompt(template, values)


def numbered(label: str, items: Sequence[str], numbers: Sequence[int] | None = None) -> PromptText:
    """ "Information 0: ..." / "Step 0: ..." lines, one per item (the items are data)."""
    nums = range(len(items)) if numbers is None else numbers
    parts: list[str] = []
    for n, text in zip(nums, items):
        parts += ["\n" if parts else "", f"{label} {n}: ", Data(text)]
    return PromptText.concat(parts)


@dataclass
class SelfCheckPrompts:
    templates: dict[str, str]

    @classmethod
    def load(cls, path: str | Path | None = None) -> SelfCheckPrompts:
        p = Path(path) if path is not None else default_prompts_path()
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UserInputError(
                f"cannot read the prompt templates ({exc.strerror})", path=p
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise UserInputError(f"not valid TOML ({exc})", path=p) from exc
        missing = [k for k in REQUIRED if not isinstance(data.get(k), str)]
        if missing:
            raise UserInputError(
                "template missing",
                path=p,
                field=missing[0],
                hint=f"The file needs the templates: {', '.join(REQUIRED)}.",
            )
        return cls({k: data[k] for k in REQUIRED})

    def sample(self, question: str) -> PromptText:
        return fill(self.templates["sample"], question=question)

    def target(self, question: str, steps: Sequence[str], i: int) -> PromptText:
        return fill(
            self.templates["target"],
            question=question,
            steps=numbered("Step", steps[: i + 1]),
            step=steps[i],
        )

    def collect(
        self, question: str, information: Sequence[str], steps: Sequence[str], i: int
    ) -> PromptText:
        key = "collect" if i > 0 else "collect_first"
        return fill(
            self.templates[key],
            question=question,
            information=numbered("Information", information),
            previous_steps=numbered("Step", steps[:i]),
            step=steps[i],
        )

    def regen(
        self, target: str, information: Sequence[str], previous_steps: Sequence[str]
    ) -> PromptText:
        t = self.templates
        # The collected items are renumbered from 0, as in the notes ("Step 0: [Step S 0]").
        parts: list[str] = [t["regen_intro"]]
        if information:
            parts.append(
                fill(t["regen_information"], information=numbered("Information", information))
            )
        if previous_steps:
            parts.append(fill(t["regen_steps"], previous_steps=numbered("Step", previous_steps)))
        parts.append(fill(t["regen_target"], target=target.strip()))
        ending = (
            "regen_ending_both"
            if information and previous_steps
            else "regen_ending_information"
            if information
            else "regen_ending_steps"
            if previous_steps
            else "regen_ending_none"
        )
        parts.append(t[ending])
        return PromptText.concat(parts)

    def compare(self, regenerated: str, step: str) -> PromptText:
        return fill(self.templates["compare"], regenerated=regenerated.strip(), step=step)

    def followup(self, comparison: str) -> PromptText:
        return fill(self.templates["followup"], comparison=comparison.strip())
