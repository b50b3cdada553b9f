"""A scripted backend for unit tests of parsing and orchestration (never the only test of a
feature: feature tests use the real default model).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..jobs import CancelToken
from .base import GenParams, GenResult, TokenCallback

Responder = Callable[[str], str]


class ScriptedBackend:
    """Answers from a list (in order, cycling) or from a function of the prompt.

    For chat calls the prompt passed to a responder is the messages joined as
    "role: content" lines. Applies `stop` and `max_tokens` (counted in whitespace words)
    the way a real backend would, so parsers see realistic cut-offs.
    """

    name = "scripted"

    def __init__(self, responses: list[str] | Responder, model_id: str = "scripted") -> None:
        self._responses = responses
        self._i = 0
        self.model_id = model_id
        self.model_sha256: str | None = None
        self.prompts: list[str] = []
        self.closed = False

    def _answer(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if callable(self._responses):
            return self._responses(prompt)
        text = self._responses[self._i % len(self._responses)]
        self._i += 1
        return text

    def _finish(
        self,
        prompt: str,
        text: str,
        params: GenParams,
        on_token: TokenCallback | None,
        cancel: CancelToken | None,
    ) -> GenResult:
        t0 = time.perf_counter()
        finish = "stop"
        cut = min((text.find(s) for s in params.stop if s and s in text), default=-1)
        if cut >= 0:
            text = text[:cut]
        words = text.split(" ")
        if len(words) > params.max_tokens:
            text = " ".join(words[: params.max_tokens])
            finish = "length"
        out = []
        for i, w in enumerate(text.split(" ")):
            if cancel is not None and cancel.cancelled:
                finish = "cancelled"
                break
            piece = w if i == 0 else " " + w
            out.append(piece)
            if on_token:
                on_token(piece)
        text = "".join(out)
        dt = time.perf_counter() - t0
        n_prompt = len(prompt.split())
        return GenResult(
            text=text,
            finish_reason=finish,
            prompt_tokens=n_prompt,
            completion_tokens=len(text.split()),
            prompt_eval_tokens=n_prompt,
            timings={"prompt_s": 0.0, "generation_s": dt, "total_s": dt},
        )

    def complete(
        self,
        prompt: str,
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        return self._finish(prompt, self._answer(prompt), params, on_token, cancel)

    def chat(
        self,
        messages: list[dict[str, str]],
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        prompt = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
        return self._finish(prompt, self._answer(prompt), params, on_token, cancel)

    def close(self) -> None:
        self.closed = True
