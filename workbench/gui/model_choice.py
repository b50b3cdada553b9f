"""Which model a job uses, read from the workspace settings (and the key from QSettings).

The choice is computed on the UI thread and handed to the job as plain values, so the worker
opens the backend itself and is the only thread that ever touches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.store.workspace import Workspace
from .settings import app_settings

DEFAULT = "default"
SERVER = "server"


def added_models(ws: Workspace) -> list[str]:
    return [str(p) for p in ws.get_setting("models", []) or []]


def current_choice(ws: Workspace) -> str:
    """ "default", a GGUF path, or "server"."""
    return ws.get_setting("gui.model", DEFAULT) or DEFAULT


def choice_label(choice: str) -> str:
    if choice == DEFAULT:
        return "SmolLM2-135M (embedded)"
    if choice == SERVER:
        return "server"
    return Path(choice).name


def api_key(url: str) -> str | None:
    # Keys stay with the person (QSettings), never in a workspace file that may be shared.
    return app_settings().value(f"server_keys/{url}", None) or None


def set_api_key(url: str, key: str) -> None:
    s = app_settings()
    if key:
        s.setValue(f"server_keys/{url}", key)
    else:
        s.remove(f"server_keys/{url}")


def backend_kwargs(ws: Workspace, choice: str) -> dict[str, Any]:
    """Keyword arguments for `core.llm.factory.open_backend`."""
    if choice == SERVER:
        server = ws.get_setting("server", {}) or {}
        url = server.get("url") or ""
        return {
            "model": DEFAULT,
            "server": url,
            "server_model": server.get("model") or None,
            "api_key": api_key(url),
        }
    llm = ws.get_setting("llm", {}) or {}
    return {
        "model": choice,
        "n_threads": llm.get("n_threads") or None,
        "n_gpu_layers": llm.get("n_gpu_layers"),
        "n_ctx": llm.get("n_ctx") or None,
        "extra_bufts": llm.get("extra_bufts") or "auto",  # the kernel rule (core/llm/kernels.py)
    }


def device_label(ws: Workspace, choice: str) -> str:
    if choice == SERVER:
        return "server"
    llm = ws.get_setting("llm", {}) or {}
    layers = llm.get("n_gpu_layers")
    if layers == 0:
        return "CPU"
    try:
        from ..core.llm.factory import gpu_offload_supported
    except ImportError:
        return "CPU"
    try:
        return "GPU" if gpu_offload_supported() else "CPU"
    except Exception:  # a probe failure is not worth an error in the status bar
        return "CPU"
