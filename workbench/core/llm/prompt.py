"""Completion prompts that know which of their text came from data (issue 19 item 6).

A prompt built from a template and data (a seed task, an imported record, an earlier model
output) is a `PromptText`: a `str` equal to the whole prompt, carrying the character spans that
are data. The llama.cpp backend tokenizes the template's text with special tokens parsed (a
user's template may hold `<|im_start|>` on purpose) and the data's text never, so a record that
contains `<|im_end|><|im_start|>assistant` stays plain text. A plain `str` prompt is all
template (a prompt a person typed: `workbench complete`), exactly as before.

Because a `PromptText` is a `str`, it is recorded, compared, hashed and sent to a server as the
plain prompt text. Only `+`, `concat` and `strip` keep the spans; any other `str` method returns a
plain `str` (all template), so renderers build prompts with those three.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


class Data(str):
    """Text from data: never parsed for control tokens when it is part of a `PromptText`."""

    __slots__ = ()


class PromptText(str):
    """A prompt (the whole text, as a `str`) and `spans`: the (start, end) character ranges of
    its data text, sorted, disjoint and non-empty."""

    spans: tuple[tuple[int, int], ...]

    def __new__(cls, text: str = "", spans: Iterable[tuple[int, int]] = ()) -> PromptText:
        self = super().__new__(cls, text)
        self.spans = _merge(spans)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled for the model worker: the text and a few integers.
        return (PromptText, (str(self), self.spans))

    @classmethod
    def concat(cls, parts: Iterable[str]) -> PromptText:
        """The parts joined: a `Data` part is data, a `PromptText` keeps its spans, any other
        `str` is template text."""
        texts: list[str] = []
        spans: list[tuple[int, int]] = []
        at = 0
        for part in parts:
            if isinstance(part, Data):
                spans.append((at, at + len(part)))
            elif isinstance(part, PromptText):
                spans.extend((at + s, at + e) for s, e in part.spans)
            texts.append(str(part))
            at += len(part)
        return cls("".join(texts), spans)

    def __add__(self, other: str) -> PromptText:
        if not isinstance(other, str):
            return NotImplemented
        return PromptText.concat([self, other])

    def __radd__(self, other: str) -> PromptText:
        if not isinstance(other, str):
            return NotImplemented
        return PromptText.concat([other, self])

    def strip(self, chars: str | None = None) -> PromptText:
        """`str.strip`, the spans cut to what is left."""
        text = str(self)
        start = len(text) - len(text.lstrip(chars))
        end = len(text.rstrip(chars))
        if end <= start:
            return PromptText("")
        return PromptText(
            text[start:end], [(max(s, start) - start, min(e, end) - start) for s, e in self.spans]
        )

    def pieces(self) -> list[tuple[str, bool]]:
        """The text in order as (text, is_data) pieces; their texts joined are the prompt."""
        text = str(self)
        out: list[tuple[str, bool]] = []
        at = 0
        for s, e in self.spans:
            if s > at:
                out.append((text[at:s], False))
            out.append((text[s:e], True))
            at = e
        if at < len(text):
            out.append((text[at:], False))
        return out

    def data(self) -> list[str]:
        """The data pieces' texts."""
        return [self[s:e] for s, e in self.spans]

    def __repr__(self) -> str:
        return f"PromptText({str(self)!r}, spans={self.spans!r})"


def _merge(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for s, e in sorted((int(s), int(e)) for s, e in spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:  # adjacent or overlapping data: one span
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return tuple(out)


def data_pieces(prompt: str) -> list[str]:
    """The data texts of `prompt` (none for a plain `str`)."""
    return prompt.data() if isinstance(prompt, PromptText) else []


def fill(template: str, values: dict[str, str]) -> PromptText:
    """`template` with each `{key}` of `values` replaced by that value as data, in one pass (a
    value that itself holds `{key}` text is never filled again); other braces stay as they are."""
    if not values:
        return PromptText(template)
    pattern = re.compile(
        "|".join(re.escape("{" + k + "}") for k in sorted(values, key=len, reverse=True))
    )
    parts: list[str] = []
    at = 0
    for m in pattern.finditer(template):
        parts.append(template[at : m.start()])
        value = values[m.group(0)[1:-1]]
        parts.append(value if isinstance(value, PromptText) else Data(value))
        at = m.end()
    parts.append(template[at:])
    return PromptText.concat(parts)
