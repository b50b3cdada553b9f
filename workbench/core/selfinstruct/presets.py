"""The three ways to run SELF-INSTRUCT: the paper's, Alpaca's, and chat for instruct models."""

from __future__ import annotations

from dataclasses import dataclass, field

from .filters import BLACKLIST_ALPACA, BLACKLIST_SELF_INSTRUCT


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    api: str  # "complete" (raw continuation) or "chat" (chat template)
    pipeline: str  # "self-instruct" (four steps) or "alpaca" (one call)
    gen_temperature: float
    gen_top_p: float
    gen_presence_penalty: float
    gen_max_tokens: int
    # Stop strings as we use them, and as the reference did (compat="reference").
    gen_stop: tuple[str, ...]
    gen_stop_reference: tuple[str, ...]
    prompt_instructions: int  # in-context examples per step-1 prompt
    machine_instructions: int  # of which from generated tasks, once there are any
    classification: bool  # step 2 runs
    blacklist: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""
    # Step 1 constrained to the numbered items it asks for (prompts.numbered_list_grammar;
    # beyond the paper, never with compat="reference"). Off in every preset: measured worse.
    gen_list_grammar: bool = False


PRESETS: dict[str, Preset] = {
    "self-instruct": Preset(
        name="self-instruct",
        label="Self-Instruct (paper)",
        api="complete",
        pipeline="self-instruct",
        gen_temperature=0.7,
        gen_top_p=0.5,
        gen_presence_penalty=2.0,
        gen_max_tokens=1024,
        # "16." anywhere cut content such as "the square root of 16."; item 16 always starts
        # a line, so only the line-start forms stop (docs/fidelity.md).
        gen_stop=("\n\n", "\n16.", "\n16 ."),
        gen_stop_reference=("\n\n", "\n16", "16.", "16 ."),
        prompt_instructions=8,
        machine_instructions=2,
        classification=True,
        blacklist=tuple(BLACKLIST_SELF_INSTRUCT),
        description="The paper's completion prompts, for base models.",
    ),
    "alpaca": Preset(
        name="alpaca",
        label="Alpaca",
        api="complete",
        pipeline="alpaca",
        gen_temperature=1.0,
        gen_top_p=1.0,
        gen_presence_penalty=0.0,
        gen_max_tokens=3072,
        gen_stop=("\n20.",),
        gen_stop_reference=("\n20", "20."),
        prompt_instructions=3,
        machine_instructions=0,
        classification=False,
        blacklist=tuple(BLACKLIST_ALPACA),
        description="One call writes up to 20 instruction/input/output triples from 3 seeds.",
    ),
    "chat": Preset(
        name="chat",
        label="Chat (instruct models)",
        api="chat",
        pipeline="self-instruct",
        gen_temperature=0.7,
        gen_top_p=0.5,
        gen_presence_penalty=2.0,
        gen_max_tokens=1024,
        # A chat reply is a numbered list that may follow a blank line after a preamble:
        # max_tokens and the end-of-turn token end it.
        gen_stop=(),
        gen_stop_reference=(),
        prompt_instructions=8,
        machine_instructions=2,
        classification=True,
        blacklist=tuple(BLACKLIST_SELF_INSTRUCT),
        description="The same four steps as chat messages, for instruct models.",
        # gen_list_grammar stays off: with SmolLM2-135M it cut copies of the examples (ROUGE-L
        # drops 66 -> 14 in a seed-7 run) but kept fewer valid tasks (15 of 30 by hand, against
        # 24 of 30 without it; docs/quality.md).
    ),
}


def get_preset(name: str) -> Preset:
    from ..errors import UserInputError

    try:
        return PRESETS[name]
    except KeyError:
        raise UserInputError(
            f"unknown preset {name!r}", field="preset", hint=f"Choose one of: {', '.join(PRESETS)}."
        ) from None
