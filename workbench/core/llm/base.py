"""The one backend interface every method uses (llama.cpp in-process, OpenAI-compatible HTTP,
and the scripted backend of unit tests).

Threading: a backend object is owned by one thread. llama.cpp contexts are not thread-safe, so
the GUI gives the backend to a worker and talks to it through signals; cancellation is the
`cancel` token, checked between tokens, never a thread kill.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..jobs import CancelToken

if TYPE_CHECKING:
    from ..store.workspace import Workspace

TokenCallback = Callable[[str], None]
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class GenParams:
    """Sampling parameters. `temperature == 0` means greedy decoding."""

    max_tokens: int = 256
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    stop: list[str] = field(default_factory=list)
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[int, float] | None = None  # token id -> bias
    seed: int | None = None
    # A GBNF grammar the output must follow (llama.cpp, and servers built on it); None: free text.
    grammar: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GenResult:
    text: str
    finish_reason: str  # "stop" | "length" | "cancelled"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_eval_tokens: int = 0  # prompt tokens actually evaluated (less with prefix reuse)
    timings: dict[str, float] = field(default_factory=dict)  # prompt_s, generation_s, total_s

    def __post_init__(self) -> None:
        # Lone UTF-16 surrogates (a server's JSON "\ud800", a broken detokenizer) cannot be
        # stored as UTF-8: SQLite's encoder raises, which would crash the run. Each becomes
        # U+FFFD, the same as undecodable bytes under errors="replace".
        if isinstance(self.text, str) and _SURROGATE.search(self.text):
            self.text = _SURROGATE.sub("\ufffd", self.text)

    @property
    def tokens_per_second(self) -> float:
        gen = self.timings.get("generation_s") or 0.0
        return self.completion_tokens / gen if gen > 0 else 0.0


@runtime_checkable
class Backend(Protocol):
    """What every method calls. Implementations: llama.cpp, OpenAI-compatible, scripted."""

    name: str  # "llama.cpp" | "openai" | "scripted"
    model_id: str  # GGUF path or the server's model name
    model_sha256: str | None

    def complete(
        self,
        prompt: str,
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        """Raw text continuation (base models and the papers' prompts need it).

        `prompt` is a `str` (all of it may hold control tokens: a person's own prompt) or a
        `prompt.PromptText` built from a template and data, whose data text is never read as
        control tokens (issue 19 item 6; servers: see docs/models.md)."""
        ...

    def chat(
        self,
        messages: list[dict[str, str]],
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        """A chat turn through the model's own chat template."""
        ...

    def close(self) -> None:
        """Free the model (memory is released when switching models)."""
        ...


def record_generation(
    ws: Workspace,
    backend: Backend,
    *,
    run_id: int | None,
    purpose: str,
    params: GenParams,
    result: GenResult | None,
    prompt: str | None = None,
    messages: list[dict[str, str]] | None = None,
    error: str | None = None,
) -> int:
    """Store one model call with its provenance; returns the call id for derived records.

    Call it inside the transaction that stores what was derived from the call, so a crash never
    leaves a derived record without its call or a call without what it produced.
    """
    from ..store.runs import record_call

    return record_call(
        ws,
        run_id=run_id,
        purpose=purpose,
        backend=backend.name,
        model=backend.model_id,
        model_sha256=backend.model_sha256,
        params=params.to_dict(),
        prompt=prompt,
        messages=messages,
        raw_output=None if result is None else result.text,
        finish_reason=None if result is None else result.finish_reason,
        prompt_tokens=None if result is None else result.prompt_tokens,
        completion_tokens=None if result is None else result.completion_tokens,
        prompt_eval_tokens=None if result is None else result.prompt_eval_tokens,
        timings=None if result is None else result.timings,
        error=error,
    )
