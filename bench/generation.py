"""Generation speed against llama.cpp's own decode loop, and the gain from prefix reuse.

(a) tokens/s of our path (LlamaCppBackend.complete, streaming, cancel checks, prefix cache)
    against a bare greedy loop over llama-cpp-python's low-level eval + argmax, same model,
    same threads, same number of tokens (end-of-text banned in both so lengths match);
(b) a ~1,500-token fixed few-shot prefix with N different short suffixes: wall time with our
    prefix reuse against every call from a cold context (the naive pattern).

    .venv/bin/python bench/generation.py [--tokens 128] [--suffixes 30] [--threads T]

The last line prints both ratios. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.core.llm.base import GenParams  # noqa: E402
from workbench.core.llm.factory import default_model_path  # noqa: E402
from workbench.core.llm.llamacpp import LlamaCppBackend, default_threads  # noqa: E402

PROMPT = "Here is a long list of everyday objects and what they are used for:\n1."


def low_level_decode(llm, prompt: str, n: int, eos: int) -> float:
    """Seconds to decode n tokens greedily with llama-cpp-python's low-level eval."""
    llm.reset()
    tokens = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    llm.eval(tokens)
    t0 = time.perf_counter()
    for _ in range(n):
        logits = np.array(llm.scores[llm.n_tokens - 1], copy=True)
        logits[eos] = -np.inf
        llm.eval([int(np.argmax(logits))])
    return time.perf_counter() - t0


def ours_decode(backend: LlamaCppBackend, prompt: str, n: int, eos: int) -> float:
    backend.llm.reset()
    r = backend.complete(prompt, GenParams(max_tokens=n, temperature=0.0, seed=0,
                                           logit_bias={eos: -1e9}))
    assert r.completion_tokens >= n - 2, r.completion_tokens
    # generation_s runs from the first token to the last: n - 1 decode steps.
    return r.timings["generation_s"] * n / max(r.completion_tokens - 1, 1)


def few_shot_prefix(backend: LlamaCppBackend, target_tokens: int = 1500) -> str:
    lines, i = [], 0
    while True:
        lines.append(f"Task {i}: Rewrite the sentence 'the {i}th cat sat on mat number {i * 7}' "
                     f"in a formal tone.\nAnswer: The feline numbered {i} rested upon mat {i * 7}.\n")
        i += 1
        text = "".join(lines)
        if len(backend.tokenize(text)) >= target_tokens:
            return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--suffixes", type=int, default=30)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    path = default_model_path()
    backend = LlamaCppBackend(path, n_threads=args.threads)
    eos = backend.llm.token_eos()
    print(f"model {path.name}, threads {args.threads}, n_ctx {backend.n_ctx}")

    # (a) same Llama object for both, alternating, best of N: the machine is shared and noisy.
    ref = min(low_level_decode(backend.llm, PROMPT, args.tokens, eos) for _ in range(args.repeats))
    ours = min(ours_decode(backend, PROMPT, args.tokens, eos) for _ in range(args.repeats))
    ref_tps, ours_tps = args.tokens / ref, args.tokens / ours
    speed_ratio = ours_tps / ref_tps
    print(f"(a) llama.cpp low-level loop {ref_tps:7.1f} tok/s; ours {ours_tps:7.1f} tok/s; "
          f"ratio {speed_ratio:.2f}x")

    # (b) prefix reuse
    prefix = few_shot_prefix(backend)
    n_prefix = len(backend.tokenize(prefix))
    suffixes = [f"Task {1000 + k}: Rewrite the sentence 'a dog ran {k} miles' in a formal tone.\n"
                "Answer:" for k in range(args.suffixes)]
    params = GenParams(max_tokens=16, temperature=0.0, stop=["\n"])
    backend.llm.reset()
    t0 = time.perf_counter()
    warm_texts = [backend.complete(prefix + s, params).text for s in suffixes]
    warm = time.perf_counter() - t0
    cold_backend = LlamaCppBackend(path, n_threads=args.threads, prefix_cache=False)
    t0 = time.perf_counter()
    cold_texts = []
    for s in suffixes:
        cold_backend.llm.reset()  # the naive pattern: nothing kept between calls
        cold_texts.append(cold_backend.complete(prefix + s, params).text)
    cold = time.perf_counter() - t0
    same = sum(a == b for a, b in zip(warm_texts, cold_texts))
    reuse_ratio = cold / warm
    print(f"(b) prefix {n_prefix} tokens x {len(suffixes)} suffixes: reuse {warm:.2f} s, "
          f"cold {cold:.2f} s, same outputs {same}/{len(suffixes)}; ratio {reuse_ratio:.1f}x")
    print(f"ratios: decode {speed_ratio:.2f}x llama.cpp's loop; prefix reuse {reuse_ratio:.1f}x")


if __name__ == "__main__":
    main()
