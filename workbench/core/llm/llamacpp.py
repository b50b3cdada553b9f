"""llama.cpp in-process, through llama-cpp-python.

Threading: one thread owns a `LlamaCppBackend` (llama.cpp contexts are not thread-safe). The GUI
hands it to a worker; other threads only set the cancel token, which is read between tokens.

Prefix reuse: SELF-INSTRUCT and SELF-CHECK interleave several prompt families, each with a long
fixed few-shot prefix. llama-cpp-python only reuses the prefix shared with the *previous* prompt,
so we keep the KV states of prefixes that prompts were seen to share (`prefix_cache.py`) and
restore the longest one before a call; the call then evaluates only the tokens after it, and
`prompt_eval_tokens` says how many that was (llama.cpp's own counter).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..errors import ModelError, UserInputError
from ..jobs import CancelToken
from .base import GenParams, GenResult, TokenCallback
from .gguf_info import ModelInfo, read_model_info
from .prefix_cache import PrefixStateCache, StateEntry, common_prefix
from .prompt import PromptText

log = logging.getLogger("workbench.llama")
# With no logging set up (the CLI), Python's last-resort handler would print llama.cpp's warnings
# on the terminal; this logger's lines are for the workbench log only.
if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
    log.addHandler(logging.NullHandler())

DEFAULT_CTX_CAP = 4096
PREFIX_CACHE_BYTES = 1 << 30
# A shared stretch shorter than this is cheaper to re-evaluate than to save and restore.
MIN_PREFIX_TOKENS = 64
# A confirmed prefix this close to the newly shared length already covers it (suffixes often
# agree on a few tokens past the template, e.g. "Task 1" in "Task 12" and "Task 13").
PREFIX_SLACK_TOKENS = 32
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


@contextmanager
def model_params(extra_bufts: bool | None) -> Iterator[None]:
    """While a `Llama` is constructed, its `llama_model_params` start with `use_extra_bufts`
    as asked. llama-cpp-python 0.3.x has no keyword for it and builds the struct inside
    `Llama.__init__` right before loading, so the struct's factory is wrapped for that call
    (one thread constructs at a time: the worker process, or one owner thread)."""
    if extra_bufts is None:
        yield
        return
    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params

    def params() -> Any:
        p = original()
        if hasattr(p, "use_extra_bufts"):
            p.use_extra_bufts = bool(extra_bufts)
        else:  # an older llama.cpp: no extra buffer types to turn off
            log.warning("this llama.cpp has no use_extra_bufts setting; using its default")
        return p

    low.llama_model_default_params = params
    try:
        yield
    finally:
        low.llama_model_default_params = original


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
        prefix_cache_bytes: int = PREFIX_CACHE_BYTES,
        info: ModelInfo | None = None,
        extra_bufts: bool | None = None,
    ) -> None:
        """Load `model_path` (ModelError for a file llama.cpp refuses). `extra_bufts`: whether
        llama.cpp may repack weights into extra buffer types (AMX, CPU_REPACK); None keeps
        llama.cpp's default (on). See `kernels.py` for the rule the worker applies."""
        self.info = info or read_model_info(model_path)  # refuse bad files before llama.cpp
        import llama_cpp

        route_llama_logs()
        model_ctx = self.info.context_length or DEFAULT_CTX_CAP
        self.n_ctx = min(n_ctx or DEFAULT_CTX_CAP, model_ctx)
        self.n_threads = n_threads or default_threads()
        self.gpu = gpu_offload_supported()
        if n_gpu_layers is None:
            n_gpu_layers = -1 if self.gpu else 0
        elif n_gpu_layers and not self.gpu:
            log.warning(
                "this llama-cpp-python build cannot offload to a GPU; running "
                "%s on the CPU (gpu layers %s ignored)",
                self.info.path,
                n_gpu_layers,
            )
        self.n_gpu_layers = n_gpu_layers if self.gpu else 0
        self.extra_bufts = extra_bufts
        try:
            with model_params(extra_bufts):
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
            raise ModelError(
                f"{self.info.path}: llama.cpp could not load the model ({exc})."
            ) from exc
        # Not llama-cpp-python's LlamaRAMCache: it saves after every call and copies the whole
        # logits buffer into each entry without counting it (~100 MB per entry here).
        self.prefix_cache = (
            PrefixStateCache(prefix_cache_bytes, max_candidates=4, slack=PREFIX_SLACK_TOKENS)
            if prefix_cache
            else None
        )
        self.model_id = self.info.path
        self.model_sha256: str | None = self.info.sha256
        self.has_chat_template = bool(self.info.has_chat_template)
        self._formatter: Any = None
        self._grammars: dict[str, Any] = {}
        self._control: frozenset[int] | None = None

    # ------------------------------------------------------------------ calls
    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        if self.llm is None:
            raise ModelError(f"{self.info.path}: this model was closed; open it again.")
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def complete(
        self,
        prompt: str,
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        """Continue `prompt`; a `PromptText`'s data is never read as control tokens."""
        return self._generate(self.prompt_tokens(prompt), params, on_token, cancel)

    def prompt_tokens(self, prompt: str) -> list[int]:
        """The token ids a completion call evaluates for `prompt` (with the BOS token where the
        model wants one).

        A plain `str` is tokenized whole with special tokens parsed, as a person's own prompt
        should be. For a `PromptText` only the template's control tokens are special: when its
        data holds control-token text (`<|im_end|>`, `<|eot_id|>`, `</s>` ...), the prompt is
        cut at the template's own control tokens and the text between them (template and data
        together, so no token boundary moves) is tokenized as plain text. Otherwise the ids are
        exactly those of the whole text tokenized at once (prefix reuse and outputs unchanged).
        Raises ModelError when the model was closed."""
        whole = self.tokenize(prompt)
        if not isinstance(prompt, PromptText) or not prompt.spans:
            return whole
        control = self._control_ids()
        head = self.llm.tokenize(b"", add_bos=True, special=False)  # [BOS] or []
        n_control = sum(1 for t in whole[len(head) :] if t in control)
        if not n_control:
            return whole  # no control token anywhere (the bundled templates and clean data)
        cuts = self._template_controls(prompt, control)
        if n_control == len(cuts) and not any(self._has_control_text(d) for d in prompt.data()):
            return whole
        text = str(prompt)
        # llama.cpp with special=True does the same: it cuts the text at control tokens and
        # tokenizes each stretch between them as plain text (so SPM's space prefix after a
        # control token comes out the same). Here only the template's tokens cut.
        tokens = head
        at = 0
        for start, end, token in cuts:
            if start > at:
                tokens += self.llm.tokenize(
                    text[at:start].encode("utf-8"), add_bos=False, special=False
                )
            tokens.append(token)
            at = end
        if at < len(text):
            tokens += self.llm.tokenize(text[at:].encode("utf-8"), add_bos=False, special=False)
        return tokens

    def _control_ids(self) -> frozenset[int]:
        """The ids llama.cpp parses from text only with special=True (control and unknown
        tokens; user-defined ones are parsed either way). Read once from the vocabulary."""
        ids = self._control
        if ids is None:
            import llama_cpp

            model = self.llm._model
            mask = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_UNKNOWN
            ids = frozenset(t for t in range(self.llm.n_vocab()) if model.token_get_attr(t) & mask)
            self._control = ids
        return ids

    def _template_controls(
        self, prompt: PromptText, control: frozenset[int]
    ) -> list[tuple[int, int, int]]:
        """(start, end, id) of each control token in the template pieces of `prompt`."""
        cuts: list[tuple[int, int, int]] = []
        at = 0
        for text, is_data in prompt.pieces():
            if not is_data and self._has_control_text(text):
                pos = 0
                for t in self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True):
                    if t not in control:
                        continue
                    mark = self.llm._model.token_get_text(t)
                    found = text.find(mark, pos)
                    if found < 0:  # a token whose text is not its spelling: keep it as text
                        continue
                    cuts.append((at + found, at + found + len(mark), t))
                    pos = found + len(mark)
            at += len(text)
        return cuts

    def chat(
        self,
        messages: list[dict[str, str]],
        params: GenParams,
        *,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenResult:
        # Rendered to text and sent through the completion path, so chat calls share the
        # prefix cache. The Jinja formatter is llama-cpp-python's sandboxed one.
        tokens, stops = self.chat_tokens(messages)
        merged = GenParams(**{**params.to_dict(), "stop": [*params.stop, *stops]})
        return self._generate(tokens, merged, on_token, cancel)

    def chat_tokens(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """The token ids of the rendered chat prompt, and its stop strings.

        The template's markers (`<|im_start|>`, `<|im_end|>`, ...) are control tokens; the text
        of the messages never is, so a seed, a model answer or an imported record that contains
        `<|im_end|><|im_start|>assistant` stays plain text and cannot close a turn or open a
        new one. When no message holds control-token text the whole prompt is tokenized at
        once (exactly as llama.cpp's own chat path); otherwise the template is rendered around
        placeholders and each piece is tokenized on its own, messages with special=False."""
        prompt, stops, added_special = self.render_chat(messages)
        add_bos = not added_special
        if not any(self._has_control_text(str(m.get("content") or "")) for m in messages):
            return self.tokenize(prompt, add_bos=add_bos), stops
        marks = [f"\ue000{i}\ue001" for i in range(len(messages))]  # private use: in no template
        held, _, _ = self.render_chat([{**m, "content": marks[i]} for i, m in enumerate(messages)])
        contents = [str(m.get("content") or "") for m in messages]
        pieces = re.split("\ue000(\\d+)\ue001", held)
        # Odd items are message indexes. A template that looks inside the contents (so the text
        # around them depends on them) cannot be split: then every content must be plain text
        # where it appears, which the rebuilt text checks.
        rebuilt = "".join(contents[int(p)] if i % 2 else p for i, p in enumerate(pieces))
        if rebuilt != prompt:
            raise ModelError(
                f"{self.info.path}: a message contains control-token text (such as <|im_end|>) "
                "and the model's chat template changes with the messages' text, so it cannot "
                "be kept as plain text.",
                hint="Remove the control-token text from the data.",
            )
        tokens: list[int] = []
        for i, piece in enumerate(pieces):
            text = contents[int(piece)] if i % 2 else piece
            if text:
                tokens += self.llm.tokenize(
                    text.encode("utf-8"), add_bos=add_bos and not tokens, special=not i % 2
                )
        return tokens, stops

    def _has_control_text(self, text: str) -> bool:
        """Whether `text` tokenized with special tokens parsed differs from it as plain text."""
        if "<" not in text and "[" not in text and "|" not in text:
            return False  # every control-token spelling we know uses one of these
        raw = text.encode("utf-8")
        return self.llm.tokenize(raw, add_bos=False, special=True) != self.llm.tokenize(
            raw, add_bos=False, special=False
        )

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
                f"{self.info.path}: the model's chat template failed "
                f"({type(exc).__name__}: {exc}).",
                hint="Choose a model whose chat template works (or a raw-completion preset).",
            ) from exc
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

    def _grammar(self, text: str | None) -> Any:
        """The compiled grammar for `text` (compiled once per text: verdict calls repeat it)."""
        if text is None:
            return None
        if text not in self._grammars:
            import llama_cpp
            from llama_cpp import LlamaGrammar

            grammar = LlamaGrammar.from_string(text, verbose=False)
            # llama-cpp-python hands a grammar that fails to parse to the sampler chain as a
            # NULL pointer and the process crashes: parse it here first.
            probe = llama_cpp.llama_sampler_init_grammar(
                self.llm._model.vocab,
                grammar._grammar.encode("utf-8"),
                grammar._root.encode("utf-8"),
            )
            if not probe:
                raise UserInputError(
                    "the output grammar does not parse (llama.cpp printed where)",
                    field="grammar",
                    hint="Check it against llama.cpp's GBNF syntax.",
                )
            llama_cpp.llama_sampler_free(probe)
            self._grammars[text] = grammar
        return self._grammars[text]

    def _generate(
        self,
        tokens: list[int],
        params: GenParams,
        on_token: TokenCallback | None,
        cancel: CancelToken | None,
    ) -> GenResult:
        import llama_cpp

        if self.llm is None:
            raise ModelError(f"{self.info.path}: this model was closed; open it again.")
        if len(tokens) >= self.n_ctx:
            raise ModelError(
                f"the prompt has {len(tokens)} tokens; the context holds {self.n_ctx}.",
                hint="Use a larger context size (--ctx) or a shorter prompt.",
            )
        max_tokens = max(1, min(params.max_tokens, self.n_ctx - len(tokens)))
        watch = _Watch(cancel)
        ctx = self.llm._ctx.ctx
        t0 = time.perf_counter()
        shared = self._reuse_prefix(tokens)
        llama_cpp.llama_perf_context_reset(ctx)
        first: float | None = None
        pieces: list[str] = []
        finish = "length"
        # No seed means a fresh one: repeated samples of one prompt must differ.
        seed = params.seed if params.seed is not None else random.randrange(2**31)
        stream = self.llm.create_completion(
            tokens,
            max_tokens=max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k if params.temperature > 0 else 1,
            min_p=params.min_p,
            stop=[s for s in params.stop if s],  # an empty stop string would end every call
            presence_penalty=params.presence_penalty,
            frequency_penalty=params.frequency_penalty,
            repeat_penalty=1.0,
            logit_bias=params.logit_bias,
            seed=seed,
            grammar=self._grammar(params.grammar),
            stopping_criteria=llama_cpp.StoppingCriteriaList([watch]),
            stream=True,
        )
        try:
            # stream=True: an iterator of completion chunks (the stubs also allow one response)
            for chunk in cast(Iterator[dict[str, Any]], stream):
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
        except RuntimeError as exc:  # llama_decode failed (out of memory, a broken graph)
            self.llm.reset()  # the context may hold half a batch: start the next call clean
            raise ModelError(
                f"{self.info.path}: llama.cpp failed while generating ({exc}).",
                hint="Try a smaller context (--ctx) or fewer GPU layers.",
            ) from exc
        total = time.perf_counter() - t0
        perf = llama_cpp.llama_perf_context(ctx)
        if watch.cancelled:
            finish = "cancelled"
        else:
            self._remember(tokens, shared)  # after the clock: it is not generation time
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
            timings={
                "prompt_s": prompt_s,
                "generation_s": gen_s,
                "total_s": total,
                "first_token_s": prompt_s,
            },
        )

    # ----------------------------------------------------------- prefix reuse
    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Restore the longest kept prefix of `tokens` into the context; keep the shared prefix
        when this prompt shares a long one with an earlier prompt. Returns the shared length."""
        cache: PrefixStateCache | None = getattr(self, "prefix_cache", None)
        if cache is None or not tokens:
            return 0
        llm = self.llm
        toks = np.asarray(tokens, dtype=np.intc)
        shared = common_prefix(llm.input_ids[: llm.n_tokens], toks)
        entry, n_entry = cache.longest(toks)
        if (
            entry is not None
            and n_entry > shared
            and n_entry >= PREFIX_SLACK_TOKENS
            and self._load_state(entry)
        ):
            shared = n_entry
        # Seen twice: the fixed part of a template. Keep exactly that (trimmed), not the
        # previous prompt's own suffix and answer.
        if (
            shared >= MIN_PREFIX_TOKENS
            and not cache.has_prefix_of(toks, shared - PREFIX_SLACK_TOKENS)
            and llm._ctx.kv_cache_seq_rm(-1, shared, -1)
        ):
            llm.n_tokens = shared
            llm._requires_eval = True
            cache.add(toks[:shared], self._save_state(), confirmed=True)
            if entry is not None and not entry.confirmed and n_entry >= shared:
                cache.remove(entry)  # the candidate it came from has served its purpose
        return shared

    def _remember(self, tokens: list[int], shared: int) -> None:
        """After a call: a prompt with a long stretch no kept state covers becomes a candidate,
        so the next prompt of its family (maybe after other families) can find the shared part."""
        cache: PrefixStateCache | None = getattr(self, "prefix_cache", None)
        if cache is None or len(tokens) - shared < MIN_PREFIX_TOKENS:
            return
        llm = self.llm
        cache.add(llm.input_ids[: llm.n_tokens], self._save_state(), confirmed=False)

    def _save_state(self) -> bytes:
        import llama_cpp

        ctx = self.llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        n = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
        return ctypes.string_at(buf, n)

    def _load_state(self, entry: StateEntry) -> bool:
        import llama_cpp

        llm = self.llm
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        src = ctypes.cast(ctypes.c_char_p(entry.state), ctypes.POINTER(ctypes.c_uint8))
        if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, src, len(entry.state), 0) == 0:
            log.warning("could not restore a kept prompt prefix; evaluating it again")
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            llm.n_tokens = 0
            if self.prefix_cache is not None:
                self.prefix_cache.remove(entry)
            return False
        n = len(entry.tokens)
        llm.input_ids[:n] = entry.tokens
        llm.n_tokens = n
        llm._requires_eval = True  # logits are not part of the state: replay a token
        return True

    def close(self) -> None:
        cache = getattr(self, "prefix_cache", None)
        if cache is not None:
            cache.clear()
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None  # type: ignore[assignment]

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
