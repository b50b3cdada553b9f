"""The llama.cpp backend with the real default model (SmolLM2-135M-Instruct)."""

from __future__ import annotations

import gc
import logging
import os
import threading

import pytest

from workbench.core.errors import ModelError
from workbench.core.jobs import CancelToken
from workbench.core.llm.base import Backend, GenParams
from workbench.core.llm.gguf_info import read_model_info

GREEDY = dict(temperature=0.0, seed=1)


@pytest.fixture(scope="module")
def llama_backend(default_model_path):
    """The in-process class itself: these tests look inside it (its `Llama`, its prefix cache).
    The app runs it in a worker process; test_llm_worker.py makes the same calls through that."""
    from workbench.core.llm.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(default_model_path)
    yield backend
    backend.close()


def test_default_model_metadata_without_loading(default_model_path):
    info = read_model_info(default_model_path)
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert 100e6 < info.parameters < 200e6
    assert info.context_length and info.context_length >= 2048
    assert info.has_chat_template
    assert len(info.sha256) == 64
    assert info.file_size == default_model_path.stat().st_size


def test_backend_follows_the_protocol_and_caps_context(llama_backend):
    assert isinstance(llama_backend, Backend)
    assert llama_backend.n_ctx != 512  # never llama-cpp-python's default by accident
    assert llama_backend.n_ctx <= read_model_info(llama_backend.model_id).context_length
    assert llama_backend.model_sha256 == read_model_info(llama_backend.model_id).sha256


def test_fixed_seed_gives_the_same_sampled_output(llama_backend):
    p = GenParams(max_tokens=16, temperature=0.9, top_p=0.95, seed=1234)
    a = llama_backend.complete("Once upon a time", p)
    llama_backend.complete("An unrelated prompt in between.", GenParams(max_tokens=4, **GREEDY))
    b = llama_backend.complete("Once upon a time", p)
    assert a.text == b.text and a.completion_tokens > 0
    others = {
        llama_backend.complete(
            "Once upon a time", GenParams(max_tokens=16, temperature=0.9, top_p=0.95, seed=s)
        ).text
        for s in (1, 2, 3)
    }
    assert len(others | {a.text}) > 1  # the seed matters


def test_max_tokens_gives_finish_reason_length(llama_backend):
    r = llama_backend.complete("List the numbers from 1 to 100:", GenParams(max_tokens=7, **GREEDY))
    assert r.finish_reason == "length"
    assert r.completion_tokens == 7


def test_stop_string_ends_and_is_not_included(llama_backend):
    r = llama_backend.complete("Count: 1, 2, 3,", GenParams(max_tokens=40, stop=[" 6"], **GREEDY))
    free = llama_backend.complete("Count: 1, 2, 3,", GenParams(max_tokens=40, **GREEDY))
    assert " 6" in free.text  # the model does count on; otherwise the test proves nothing
    assert r.finish_reason == "stop"
    assert " 6" not in r.text and free.text.startswith(r.text)


def test_logit_bias_bans_a_token(llama_backend):
    prompt = "The capital of France is"
    free = llama_backend.complete(prompt, GenParams(max_tokens=3, **GREEDY))
    first = llama_backend.tokenize(free.text, add_bos=False)[0]
    biased = llama_backend.complete(
        prompt, GenParams(max_tokens=3, logit_bias={first: -100.0}, **GREEDY)
    )
    assert biased.text and llama_backend.tokenize(biased.text, add_bos=False)[0] != first


def test_tokens_stream_to_the_callback(llama_backend):
    pieces: list[str] = []
    r = llama_backend.complete(
        "The sky is", GenParams(max_tokens=12, **GREEDY), on_token=pieces.append
    )
    assert len(pieces) >= 2 and "".join(pieces) == r.text


def test_cancel_stops_between_tokens(llama_backend):
    token = CancelToken()
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            token.cancel()

    r = llama_backend.complete(
        "Count: 1, 2, 3, 4, 5,",
        GenParams(max_tokens=200, **GREEDY),
        on_token=on_token,
        cancel=token,
    )
    assert r.finish_reason == "cancelled"
    assert 3 <= len(seen) <= 5 and r.completion_tokens < 10


def test_prefix_reuse_across_interleaved_prompt_families(llama_backend):
    # Two families with long fixed prefixes, interleaved the way SELF-INSTRUCT and SELF-CHECK
    # call them: a raw-completion few-shot template and a chat with a long system prompt.
    few_shot = "".join(f"Example {i}: {i} plus {i} is {2 * i}.\n" for i in range(14))
    system = "You are a careful assistant. " + " ".join(
        f"Rule {i}: answer with one short sentence about topic {i}." for i in range(8)
    )
    p = GenParams(max_tokens=4, **GREEDY)

    def complete(n: int):
        return llama_backend.complete(few_shot + f"Example {n}:", p)

    def chat(question: str):
        return llama_backend.chat(
            [{"role": "system", "content": system}, {"role": "user", "content": question}], p
        )

    a1, b1 = complete(40), chat("What is two plus two?")
    a2, b2 = complete(41), chat("Name a colour.")
    a3 = complete(42)
    assert a1.prompt_tokens > 150 and b1.prompt_tokens > 120
    assert a1.prompt_eval_tokens >= a1.prompt_tokens - 2  # first of its family: all evaluated
    assert b1.prompt_eval_tokens >= b1.prompt_tokens - 2
    # The previous prompt was always of the other family, yet each prefix was kept.
    for r in (a2, a3):
        assert r.prompt_eval_tokens <= 6, r.prompt_eval_tokens
    assert b2.prompt_eval_tokens <= 16, b2.prompt_eval_tokens
    assert llama_backend.prefix_cache.nbytes == sum(
        len(e.state) + e.tokens.nbytes for e in llama_backend.prefix_cache.entries()
    )

    # Reuse changes the cost, never the result: a full evaluation gives the same greedy text.
    cache, llama_backend.prefix_cache = llama_backend.prefix_cache, None
    llama_backend.llm.reset()
    try:
        cold = complete(42)
    finally:
        llama_backend.prefix_cache = cache
    assert cold.prompt_eval_tokens >= cold.prompt_tokens - 1
    assert cold.text == a3.text and a3.completion_tokens > 0


def test_no_seed_gives_different_samples(llama_backend):
    p = GenParams(max_tokens=12, temperature=1.0, top_p=1.0, top_k=0, min_p=0.0)
    texts = {llama_backend.complete("My favourite thing is", p).text for _ in range(3)}
    assert len(texts) > 1  # repeated samples of one prompt (CoT voting) must not be copies


def test_chat_uses_the_model_template(llama_backend):
    prompt, stops, _ = llama_backend.render_chat([{"role": "user", "content": "Hi"}])
    assert "<|im_start|>user" in prompt and prompt.rstrip().endswith("assistant")
    r = llama_backend.chat(
        [{"role": "user", "content": "What is the capital of France?"}],
        GenParams(max_tokens=24, **GREEDY),
    )
    assert r.completion_tokens > 0 and "<|im_end|>" not in r.text
    # Same text as llama-cpp-python's own chat path (greedy), so our rendering is faithful.
    own = llama_backend.llm.create_chat_completion(
        [{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=24,
        temperature=0.0,
        top_k=1,
    )
    assert r.text == own["choices"][0]["message"]["content"]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS read from /proc (Linux)")
def test_close_frees_the_model_and_logs_go_to_our_logger(default_model_path, caplog, capfd):
    from workbench.core.llm.llamacpp import LlamaCppBackend as open_backend

    caplog.set_level(logging.DEBUG, logger="workbench.llama")
    capfd.readouterr()
    gc.collect()
    before = _rss_bytes()
    b = open_backend(default_model_path)
    b.complete("Hello " * 80, GenParams(max_tokens=2, **GREEDY))
    b.complete("Hello " * 80 + "there", GenParams(max_tokens=2, **GREEDY))  # a kept prefix
    assert len(b.prefix_cache) > 0
    loaded = _rss_bytes()
    llm = b.llm
    b.close()
    gc.collect()
    after = _rss_bytes()
    assert b.llm is None and len(b.prefix_cache) == 0
    assert llm._model.model is None  # llama.cpp's model handle released
    grown = loaded - before
    assert grown > 50 << 20  # weights + KV: otherwise the drop below proves nothing
    assert loaded - after > 0.7 * grown, (before, loaded, after)  # switching gives memory back
    b.close()  # twice is harmless
    with pytest.raises(ModelError, match="closed"):
        b.complete("Hello", GenParams(max_tokens=2))
    # llama.cpp's loader lines reached our logger, and nothing reached the terminal.
    assert any(
        "llama_model_loader" in r.getMessage() or "print_info" in r.getMessage()
        for r in caplog.records
        if r.name == "workbench.llama"
    )
    assert capfd.readouterr() == ("", "")


def test_one_thread_owns_a_backend_but_cancel_comes_from_another(llama_backend):
    token = CancelToken()
    started = threading.Event()
    result = {}

    def work():
        result["r"] = llama_backend.complete(
            "Count: 1, 2, 3, 4, 5,",
            GenParams(max_tokens=400, **GREEDY),
            on_token=lambda _p: started.set(),
            cancel=token,
        )

    t = threading.Thread(target=work)
    t.start()
    assert started.wait(120)
    token.cancel()
    t.join(120)
    assert not t.is_alive() and result["r"].finish_reason == "cancelled"


def test_prompt_longer_than_context_is_a_clear_error(llama_backend):
    with pytest.raises(ModelError, match="context"):
        llama_backend.complete("word " * (llama_backend.n_ctx + 10), GenParams(max_tokens=2))


def test_a_grammar_constrains_the_output_and_a_broken_one_is_a_clear_error(llama_backend):
    from workbench.core.errors import UserInputError
    from workbench.core.llm.base import GenParams

    g = 'root ::= ("yes" | "no") " because " [a-z ]{1,20}'
    r = llama_backend.chat(
        [{"role": "user", "content": "Is the sky green? Answer."}],
        GenParams(max_tokens=16, temperature=0.7, seed=3, grammar=g),
    )
    import re

    assert re.fullmatch(r"(yes|no) because [a-z ]{1,20}", r.text), r.text
    # llama-cpp-python would pass an unparsable grammar on as a NULL sampler and crash.
    with pytest.raises(UserInputError, match="grammar"):
        llama_backend.complete("x", GenParams(max_tokens=4, grammar="root ::= (("))
    assert llama_backend.complete("One, two,", GenParams(max_tokens=3, temperature=0)).text
