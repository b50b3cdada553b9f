"""Shared helpers of the reliability tests (a plain module: tests/reliability has no __init__)."""

from __future__ import annotations

import random

from workbench.core.llm.scripted import ScriptedBackend

_SYLL = ["ka", "lo", "mi", "ru", "te", "vo", "sa", "ne", "pi", "da", "zu", "fe", "go", "hy", "ba"]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLL) for _ in range(3))


def good_selfinstruct_backend(seed: int = 0) -> ScriptedBackend:
    """Well-formed replies for the chat preset: distinct instructions (ROUGE-L far apart), a
    classification label, and one valid instance each."""
    rng = random.Random(seed)

    def respond(prompt: str) -> str:
        if "classification" in prompt.splitlines()[-1]:
            return "No"
        last = prompt.splitlines()[-1]
        if "Example" in prompt or "Input" in last or "instance" in prompt.lower()[-400:]:
            return (
                f"Example 1\nInput: {word(rng)} {word(rng)}\n"
                f"Output: {word(rng)} {word(rng)} {word(rng)}"
            )
        return "\n".join(
            f"{i}. Explain the {word(rng)} {word(rng)} of {word(rng)} {word(rng)} "
            f"{word(rng)} using {word(rng)} {word(rng)}."
            for i in range(1, 5)
        )

    return ScriptedBackend(respond)
