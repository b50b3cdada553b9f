"""Generation speed against llama.cpp's own decode loop, and the gain from prefix reuse.

(a) tokens/s of our path (LlamaCppBackend.complete, streaming, cancel checks, prefix cache)
    against a bare greedy loop over llama-cpp-python's low-level eval + argmax, same model,
    same threads, same number of tokens (end-of-text banned in both so lengths match); and the
    same call through the model worker process (WorkerBackend, what the app uses), timed in
    this process from the first streamed token to the last, so the pipe is included;
(b) a ~1,500-token fixed few-shot prefix with N different short suffixes: wall time with our
    prefix reuse (through the worker) against every call from a cold context (the naive
    pattern);
(c) (with --families F) F prompt families with ~400-token prefixes called in turn, the way
    SELF-INSTRUCT and SELF-CHECK interleave them: our prefix cache against llama-cpp-python's
    own reuse of the previous prompt only;
(d) (with --kernels) llama.cpp's extra buffer types on against off (the safe kernels the
    AMX rule chooses): prompt evaluation and decode tokens/s of the low-level loop.

    .venv/bin/python bench/generation.py [--tokens 128] [--suffixes 30] [--threads T]
                                         [--families 3] [--kernels]

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
from workbench.core.llm.worker import WorkerBackend  # noqa: E402

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
    r = backend.complete(
        prompt, GenParams(max_tokens=n, temperature=0.0, seed=0, logit_bias={eos: -1e9})
    )
    assert r.completion_tokens >= n - 2, r.completion_tokens
    # generation_s runs from the first token to the last: n - 1 decode steps.
    return r.timings["generation_s"] * n / max(r.completion_tokens - 1, 1), r.text


def worker_decode(worker: WorkerBackend, prompt: str, n: int, eos: int) -> tuple[float, str]:
    """Like ours_decode, through the worker, timed here: the clock includes the pipe."""
    stamps: list[float] = []
    r = worker.complete(
        prompt,
        GenParams(max_tokens=n, temperature=0.0, seed=0, logit_bias={eos: -1e9}),
        on_token=lambda _p: stamps.append(time.perf_counter()),
    )
    assert r.completion_tokens >= n - 2 and len(stamps) >= 2, r.completion_tokens
    # First streamed piece to the last: len(stamps) - 1 decode steps (a piece is a token,
    # except where several make one character).
    return (stamps[-1] - stamps[0]) * n / max(r.completion_tokens - 1, 1), r.text


def kernels(path: Path, threads: int, tokens: int, repeats: int) -> None:
    """(d) extra buffer types on vs off: prompt evaluation and decode of the low-level loop."""
    prompt = "".join(
        f"Item {i}: a short line of text about object number {i}.\n" for i in range(40)
    )
    for label, extra in (("on", None), ("off", False)):
        b = LlamaCppBackend(path, n_threads=threads, prefix_cache=False, extra_bufts=extra)
        eos = b.llm.token_eos()
        toks = b.llm.tokenize(prompt.encode(), add_bos=True, special=True)
        pp, dec = [], []
        for _ in range(repeats):
            b.llm.reset()
            t0 = time.perf_counter()
            b.llm.eval(toks)
            pp.append(time.perf_counter() - t0)
            dec.append(low_level_decode(b.llm, PROMPT, tokens, eos)[0])
        b.close()
        print(
            f"(d) extra buffer types {label:3}: prompt {len(toks) / min(pp):7.1f} tok/s "
            f"({len(toks)} tokens), decode {tokens / min(dec):6.1f} tok/s"
        )


def few_shot_prefix(backend: LlamaCppBackend | WorkerBackend, target_tokens: int = 1500) -> str:
    lines, i = [], 0
    while True:
        lines.append(
            f"Task {i}: Rewrite the sentence 'the {i}th cat sat on mat number {i * 7}' "
            f"in a formal tone.\nAnswer: The feline numbered {i} rested upon mat "
            f"{i * 7}.\n"
        )
        i += 1
        text = "".join(lines)
        if len(backend.tokenize(text)) >= target_tokens:
            return text


def interleaved(path: Path, threads: int, families: int, rounds: int = 4) -> None:
    prompts = []
    for r in range(rounds):
        for f in range(families):
            head = "".join(
                f"Family {f}, example {i}: item {i * (f + 2)} belongs to group {i % (f + 3)}.\n"
                for i in range(22)
            )
            prompts.append(head + f"Family {f}, example {100 + r}: item")
    params = GenParams(max_tokens=8, temperature=0.0)
    times = {}
    for label, cache in (("prefix cache", True), ("previous prompt only", False)):
        b = LlamaCppBackend(path, n_threads=threads, prefix_cache=cache)
        t0 = time.perf_counter()
        evaluated = sum(b.complete(p, params).prompt_eval_tokens for p in prompts)
        times[label] = time.perf_counter() - t0
        b.close()
        print(
            f"(c) {families} families x {rounds} rounds, {label}: {times[label]:.2f} s, "
            f"{evaluated} prompt tokens evaluated"
        )
    print(f"(c) ratio {times['previous prompt only'] / times['prefix cache']:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--suffixes", type=int, default=30)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--families", type=int, default=0, help="also run (c) with F families")
    ap.add_argument(
        "--kernels", action="store_true", help="also run (d): extra buffer types on against off"
    )
    args = ap.parse_args()
    path = default_model_path()
    backend = LlamaCppBackend(path, n_threads=args.threads)
    worker = WorkerBackend(path, n_threads=args.threads)
    eos = backend.llm.token_eos()
    print(
        f"model {path.name}, threads {args.threads}, n_ctx {backend.n_ctx}, "
        f"worker extra buffer types {worker.kernels}"
    )

    # (a) alternating, best of N: the machine is shared and noisy. The loop and the in-process
    # path share one Llama; the worker has its own, with the same settings.
    refs, ourss, workers = [], [], []
    for _ in range(args.repeats):
        refs.append(low_level_decode(backend.llm, PROMPT, args.tokens, eos))
        ourss.append(ours_decode(backend, PROMPT, args.tokens, eos))
        workers.append(worker_decode(worker, PROMPT, args.tokens, eos))
    ref, ours = min(t for t, _ in refs), min(t for t, _ in ourss)
    via = min(t for t, _ in workers)
    same = refs[0][1] == ourss[0][1] == workers[0][1]
    ref_tps, ours_tps, via_tps = args.tokens / ref, args.tokens / ours, args.tokens / via
    speed_ratio = via_tps / ref_tps
    print(
        f"(a) llama.cpp low-level loop {ref_tps:7.1f} tok/s; ours in-process {ours_tps:7.1f} "
        f"tok/s ({ours_tps / ref_tps:.2f}x); ours through the worker {via_tps:7.1f} tok/s; "
        f"same text {'yes' if same else 'NO'}; ratio {speed_ratio:.2f}x"
    )

    reuse_ratio = float("nan")
    if args.suffixes:
        reuse_ratio = prefix_reuse(worker, path, args)
    worker.close()
    if args.families:
        interleaved(path, args.threads, args.families)
    if args.kernels:
        backend.close()
        kernels(path, args.threads, args.tokens, args.repeats)
    print(
        f"ratios: decode through the worker {speed_ratio:.2f}x llama.cpp's loop; "
        f"prefix reuse {reuse_ratio:.1f}x"
    )


def prefix_reuse(worker: WorkerBackend, path: Path, args: argparse.Namespace) -> float:
    prefix = few_shot_prefix(worker)
    n_prefix = len(worker.tokenize(prefix))
    suffixes = [
        f"Task {1000 + k}: Rewrite the sentence 'a dog ran {k} miles' in a formal tone.\nAnswer:"
        for k in range(args.suffixes)
    ]
    params = GenParams(max_tokens=16, temperature=0.0, stop=["\n"])
    t0 = time.perf_counter()
    warm_texts = [worker.complete(prefix + s, params).text for s in suffixes]
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
    print(
        f"(b) prefix {n_prefix} tokens x {len(suffixes)} suffixes: reuse {warm:.2f} s, "
        f"cold {cold:.2f} s, same outputs {same}/{len(suffixes)}; ratio {cold / warm:.1f}x"
    )
    return cold / warm


if __name__ == "__main__":
    main()
