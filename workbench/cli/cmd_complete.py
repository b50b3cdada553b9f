"""`workbench complete [--model M] [--max-tokens N] [--seed S] PROMPT`: stream a completion."""

from __future__ import annotations

import argparse
import sys

from ..core.errors import UserInputError
from ..core.llm.base import GenParams
from .common import (
    add_model_args,
    cancel_on_sigint,
    command,
    non_negative_float,
    open_model,
    positive_int,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "complete", "continue a prompt with a model (tokens stream to stdout)", run)
    add_model_args(p)
    p.add_argument("prompt", help="the text to continue (not empty)")
    p.add_argument(
        "--max-tokens",
        type=positive_int,
        default=128,
        metavar="N",
        help="tokens to generate at most, at least 1 (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="sampling seed, for a repeatable completion (default: a random one)",
    )
    p.add_argument(
        "--temperature",
        type=non_negative_float,
        default=0.8,
        help="sampling temperature, 0 or more; 0 is greedy (default: %(default)s)",
    )
    p.add_argument("--stop", action="append", default=[], help="a stop string (repeatable)")
    p.add_argument("--chat", action="store_true", help="send PROMPT as a user chat message")


def run(args: argparse.Namespace) -> dict:
    if not args.prompt.strip():  # llama.cpp asserts on zero prompt tokens: refuse before loading
        raise UserInputError(
            "the prompt is empty",
            hint='Give the text to continue, e.g. `workbench complete "Once upon a time"`.',
        )
    params = GenParams(
        max_tokens=args.max_tokens, temperature=args.temperature, seed=args.seed, stop=args.stop
    )
    backend = open_model(args)
    if args.chat and getattr(backend, "has_chat_template", True) is False:
        print(
            f"note: {backend.model_id} has no chat template; --chat sends a plain "
            "'user: ... assistant:' text. Leave out --chat for a raw completion (the "
            "completion preset, --preset self-instruct, for runs).",
            file=sys.stderr,
        )
    stream = None if args.json else (lambda piece: (sys.stdout.write(piece), sys.stdout.flush()))
    try:
        with cancel_on_sigint() as cancel:
            if args.chat:
                result = backend.chat(
                    [{"role": "user", "content": args.prompt}],
                    params,
                    on_token=stream,
                    cancel=cancel,
                )
            else:
                result = backend.complete(args.prompt, params, on_token=stream, cancel=cancel)
    finally:
        backend.close()
    out = {
        "text": result.text,
        "finish_reason": result.finish_reason,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "tokens_per_second": round(result.tokens_per_second, 2),
        "model": backend.model_id,
    }
    if not args.json:
        sys.stdout.write("\n")
        print(
            f"[{result.finish_reason}; {result.completion_tokens} tokens, "
            f"{result.tokens_per_second:.1f} tokens/s]",
            file=sys.stderr,
        )
        out["_human"] = ""
    return out
