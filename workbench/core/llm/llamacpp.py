"""llama.cpp in-process, through llama-cpp-python.

Threading: one thread owns a `LlamaCppBackend` (llama.cpp contexts are not thread-safe). The GUI
hands it to a worker; other threads only set the cancel token, which is read between tokens.

Prefix reuse: SELF-INSTRUCT and SELF-CHECK interleave several prompt families, each with a long
fixed few-shot prefix. llama-cpp-python only reuses the prefix shared with the *previous* prompt,
so a RAM cache of KV states keyed by token sequence (LlamaRAMCache, longest-prefix lookup) keeps
the hot prefixes of every family; a call then evaluates only the tokens after its prefix.
"""
from __future__ import annotations

import ctypes
import logging
import os
import time
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..jobs import CancelToken
from .base import GenParams, GenResult, TokenCallback
from .gguf_info import ModelInfo, read_model_info

log = logging.getLogger("workbench.llama")

DEFAULT_CTX_CAP = 4096
PREFIX_CACHE_BYTES = 768 << 20
# ggml levels: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 "continue the previous line".
_LEVELS = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_log_callback: Any = None  # kept referenced: llama.cpp calls it from C for the process lifetime


def route_llama_logs() -> None:
    """Send llama.cpp's log lines to our logger instead of the terminal (once per process)."""
    global _log_callback
    if _log_callback is not None:
        return
    import llama_cpp

    last = [logging.DEBUG]

    @llama_cpp.llama_log_callback
    def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        lvl = last[0] if level == 5 else _LEVELS.get(level, logging.DEBUG)
        last[0] = lvl
        msg = text.decode("utf-8", errors="replace").rstrip()
        if msg:
            log.log(lvl, "%s", msg)

    _log_callback = _callback
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))


def gpu_offload_supported() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def default_threads() -> int:
    """Half the cores, at most 4: llama.cpp threads spin-wait, so oversubscribing a busy
    laptop (or a shared 2-core machine) makes generation many times slower, not faster."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class _Watch:
    """Stopping criterion: stops generation cleanly between tokens when cancelled."""

    def __init__(self, cancel: CancelToken | None) -> None:
        self.cancel = cancel
        self.cancelled = False

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        if self.cancel is not None and self.cancel.cancelled:
            self.cancelled = True
            return True
        return False


class LlamaCppBackend:
    name = "llama.cpp"

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        n_batch: int = 512,
        prefix_cache: bool = True,
        info: ModelInfo | None = None,
    ) -> None:
        self.info = info or read_model_info(model_path)  # refuse bad files before llama.cpp
        import llama_cpp

        route_llama_logs()
        model_ctx = self.info.context_length or DEFAULT_CTX_CAP
        self.n_ctx = min(n_ctx or DEFAULT_CTX_CAP, model_ctx)
        self.n_threads = n_threads or default_threads()
        self.gpu = gpu_offload_supported()
        if n_gpu_layers is None:
            n_gpu_layers = -1 if self.gpu else 0
        self.n_gpu_layers = n_gpu_layers if self.gpu else 0
        try:
            self.llm = llama_cpp.Llama(
                model_path=self.info.path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_gpu_layers=self.n_gpu_layers,
                n_batch=min(n_batch, self.n_ctx),
                verbose=False,
            )
        except Exception as exc:
            raise ModelError(f"{self.info.path}: llama.cpp could not load the model ({exc}).") from exc
        if prefix_cache:
            self.llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=PREFIX_CACHE_BYTES))
        self.model_id = self.info.path
        self.model_sha256: str | None = self.info.sha256
        self._formatter: Any = None

    # ------------------------------------------------------------------ calls
    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def complete(self, prompt: str, params: GenParams, *, on_token: TokenCallback | None = None,
                 cancel: CancelToken | None = None) -> GenResult:
        return self._generate(self.tokenize(prompt), params, on_token, cancel)

    def chat(self, messages: list[dict[str, str]], params: GenParams, *,
             on_token: TokenCallback | None = None, cancel: CancelToken | None = None) -> GenResult:
        # Rendered to text and sent through the completion path, so chat calls share the
        # prefix cache. The Jinja formatter is llama-cpp-python's sandboxed one.
        prompt, stops, added_special = self.render_chat(messages)
        tokens = self.tokenize(prompt, add_bos=not added_special)
        merged = GenParams(**{**params.to_dict(), "stop": [*params.stop, *stops]})
        return self._generate(tokens, merged, on_token, cancel)

    def render_chat(self, messages: list[dict[str, str]]) -> tuple[str, list[str], bool]:
        try:
            if self._formatter is None:
                self._formatter = self._make_formatter()
            if self._formatter == "plain":
                text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
                return text, ["\nuser:"], False
            r = self._formatter(messages=messages)
        except Exception as exc:  # a broken or hostile template (the sandbox refused it)
            raise ModelError(
                f"{self.info.path}: the model's chat template failed ({type(exc).__name__}: {exc}).",
                hint="Choose a model whose chat template works (or a raw-completion preset).") from exc
        stops = r.stop if isinstance(r.stop, list) else ([r.stop] if r.stop else [])
        return r.prompt, stops, bool(getattr(r, "added_special", False))

    def _make_formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            return "plain"
        model = self.llm._model
        eos_id, bos_id = self.llm.token_eos(), self.llm.token_bos()
        return Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos_id) if eos_id != -1 else "",
            bos_token=model.token_get_text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )

    def _generate(self, tokens: list[int], params: GenParams, on_token: TokenCallback | None,
                  cancel: CancelToken | None) -> GenResult:
        import llama_cpp

        if len(tokens) >= self.n_ctx:
            raise ModelError(
                f"the prompt has {len(tokens)} tokens; the context holds {self.n_ctx}.",
                hint="Use a larger context size (--ctx) or a shorter prompt.",
            )
        max_tokens = max(1, min(params.max_tokens, self.n_ctx - len(tokens)))
        watch = _Watch(cancel)
        ctx = self.llm._ctx.ctx
        llama_cpp.llama_perf_context_reset(ctx)
        t0 = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        finish = "length"
        stream = self.llm.create_completion(
            tokens,
            max_tokens=max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k if params.temperature > 0 else 1,
            min_p=params.min_p,
            stop=list(params.stop) or [],
            presence_penalty=params.presence_penalty,
            frequency_penalty=params.frequency_penalty,
            repeat_penalty=1.0,
            logit_bias=params.logit_bias,
            seed=params.seed if params.seed is not None else 0,
            stopping_criteria=llama_cpp.StoppingCriteriaList([watch]),
            stream=True,
        )
        for chunk in stream:
            choice = chunk["choices"][0]
            piece = choice.get("text") or ""
            if piece:
                if first is None:
                    first = time.perf_counter()
                pieces.append(piece)
                if on_token is not None:
                    on_token(piece)
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
        total = time.perf_counter() - t0
        perf = llama_cpp.llama_perf_context(ctx)
        if watch.cancelled:
            finish = "cancelled"
        # Wall clock: time to the first token is prompt evaluation (plus one sampling step).
        prompt_s = (first - t0) if first is not None else total
        gen_s = max(total - prompt_s, 1e-9)
        text = "".join(pieces)
        return GenResult(
            text=text,
            finish_reason=finish if finish in ("stop", "length", "cancelled") else "stop",
            prompt_tokens=len(tokens),
            # Counted by re-tokenising the text: the stopping-criterion call count is off by
            # one or two depending on how generation ended.
            completion_tokens=len(self.tokenize(text, add_bos=False)) if text else 0,
            prompt_eval_tokens=max(int(perf.n_p_eval), 1 if tokens else 0),
            timings={"prompt_s": prompt_s, "generation_s": gen_s, "total_s": total,
                     "first_token_s": prompt_s},
        )

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None  # type: ignore[assignment]

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
