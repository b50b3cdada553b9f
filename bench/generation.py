"""Generation speed against llama.cpp's own decode loop, and the gain from prefix reuse.

(a) tokens/s of our path (LlamaCppBackend.complete, streaming, cancel checks, prefix cache)
    against a bare greedy loop over llama-cpp-python's low-level eval + argmax, same model,
    same threads, same number of tokens (end-of-text banned in both so lengths match);
(b) a ~1,500-token fixed few-shot prefix with N different short suffixes: wall time with our
    prefix reuse against every call from a cold context (the naive pattern);
(c) (with --families F) F prompt families with ~400-token prefixes called in turn, the way
    SELF-INSTRUCT and SELF-CHECK interleave them: our prefix cache against llama-cpp-python's
    own reuse of the previous prompt only.

    .venv/bin/python bench/generation.py [--tokens 128] [--suffixes 30] [--threads T] [--families 3]

The last line prints the ratios of (a) and (b). Not part of the test suite.
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


def low_level_decode(llm, prompt: str, n: int, eos: int) -> tuple[float, str]:
    """Seconds to decode n tokens greedily with llama.cpp's own calls (llama_decode of one token,
    argmax over llama_get_logits_ith), and the text, to check both paths chose the same tokens."""
    import llama_cpp

    ctx = llm._ctx.ctx
    llm.reset()
    llm.eval(llm.tokenize(prompt.encode(), add_bos=True, special=True))
    n_vocab = llm.n_vocab()
    buf = (llama_cpp.llama_token * 1)()
    out: list[int] = []
    t0 = time.perf_counter()
    for _ in range(n):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
        logits[eos] = -np.inf  # end-of-text banned, as in ours: both decode exactly n tokens
        buf[0] = int(np.argmax(logits))
        out.append(buf[0])
        if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(buf, 1)) != 0:
            raise RuntimeError("llama_decode failed")
    dt = time.perf_counter() - t0
    llm.reset()
    return dt, llm.detokenize(out).decode("utf-8", errors="replace")


def ours_decode(backend: LlamaCppBackend, prompt: str, n: int, eos: int) -> tuple[float, str]:
    backend.llm.reset()
    r = backend.complete(prompt, GenParams(max_tokens=n, temperature=0.0, seed=0,
                                           logit_bias={eos: -1e9}))
    assert r.completion_tokens >= n - 2, r.completion_tokens
    # generation_s runs from the first token to the last: n - 1 decode steps.
    return r.timings["generation_s"] * n / max(r.completion_tokens - 1, 1), r.text


def few_shot_prefix(backend: LlamaCppBackend, target_tokens: int = 1500) -> str:
    lines, i = [], 0
    while True:
        lines.append(f"Task {i}: Rewrite the sentence 'the {i}th cat sat on mat number {i * 7}' "
                     f"in a formal tone.\nAnswer: The feline numbered {i} rested upon mat "
                     f"{i * 7}.\n")
        i += 1
        text = "".join(lines)
        if len(backend.tokenize(text)) >= target_tokens:
            return text


def interleaved(path: Path, threads: int, families: int, rounds: int = 4) -> None:
    prompts = []
    for r in range(rounds):
        for f in range(families):
            head = "".join(f"Family {f}, example {i}: item {i * (f + 2)} belongs to group "
                           f"{i % (f + 3)}.\n" for i in range(22))
            prompts.append(head + f"Family {f}, example {100 + r}: item")
    params = GenParams(max_tokens=8, temperature=0.0)
    times = {}
    for label, cache in (("prefix cache", True), ("previous prompt only", False)):
        b = LlamaCppBackend(path, n_threads=threads, prefix_cache=cache)
        t0 = time.perf_counter()
        evaluated = sum(b.complete(p, params).prompt_eval_tokens for p in prompts)
        times[label] = time.perf_counter() - t0
        b.close()
        print(f"(c) {families} families x {rounds} rounds, {label}: {times[label]:.2f} s, "
              f"{evaluated} prompt tokens evaluated")
    print(f"(c) ratio {times['previous prompt only'] / times['prefix cache']:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--suffixes", type=int, default=30)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--families", type=int, default=0, help="also run (c) with F families")
    args = ap.parse_args()
    path = default_model_path()
    backend = LlamaCppBackend(path, n_threads=args.threads)
    eos = backend.llm.token_eos()
    print(f"model {path.name}, threads {args.threads}, n_ctx {backend.n_ctx}")

    # (a) same Llama object for both, alternating, best of N: the machine is shared and noisy.
    refs, ourss = [], []
    for _ in range(args.repeats):
        refs.append(low_level_decode(backend.llm, PROMPT, args.tokens, eos))
        ourss.append(ours_decode(backend, PROMPT, args.tokens, eos))
    ref, ours = min(t for t, _ in refs), min(t for t, _ in ourss)
    same = refs[0][1] == ourss[0][1]
    ref_tps, ours_tps = args.tokens / ref, args.tokens / ours
    speed_ratio = ours_tps / ref_tps
    print(f"(a) llama.cpp low-level loop {ref_tps:7.1f} tok/s; ours {ours_tps:7.1f} tok/s; "
          f"same text {'yes' if same else 'NO'}; ratio {speed_ratio:.2f}x")

    reuse_ratio = float("nan")
    if args.suffixes:
        reuse_ratio = prefix_reuse(backend, path, args)
    if args.families:
        interleaved(path, args.threads, args.families)
    print(f"ratios: decode {speed_ratio:.2f}x llama.cpp's loop; prefix reuse {reuse_ratio:.1f}x")


def prefix_reuse(backend: LlamaCppBackend, path: Path, args: argparse.Namespace) -> float:
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
    cold_backend.close()
    print(f"(b) prefix {n_prefix} tokens x {len(suffixes)} suffixes: reuse {warm:.2f} s, "
          f"cold {cold:.2f} s, same outputs {same}/{len(suffixes)}; ratio {cold / warm:.1f}x")
    return cold / warm


if __name__ == "__main__":
    main()
