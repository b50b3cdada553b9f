"""`workbench models list | info PATH | add PATH`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import ModelError
from ..core.llm.factory import default_model_path, gpu_offload_supported
from ..core.llm.gguf_info import read_model_info
from ..core.llm.kernels import cpu_report
from .common import add_common, open_workspace

MODELS_SETTING = "models"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list, inspect and add GGUF models",
        description="list, inspect and add GGUF models",
    )
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    lp = msub.add_parser("list", help="the default model and the models added to the workspace")
    add_common(lp)
    lp.set_defaults(func=run_list)
    ip = msub.add_parser("info", help="metadata of a GGUF file, read without loading it")
    add_common(ip)
    ip.add_argument("path", help="a .gguf file, or 'default'")
    ip.set_defaults(func=run_info)
    ap = msub.add_parser("add", help="add a GGUF file to the workspace's models")
    add_common(ap)
    ap.add_argument("path", type=Path)
    ap.set_defaults(func=run_add)


def _info_dict(path: Path) -> dict:
    """`read_model_info(path)` as a dict, less the chat template. Raises ModelError (exit 2)
    with `path` set, so `--json`'s error object names the file."""
    try:
        d = read_model_info(path).to_dict()
    except ModelError as exc:
        if getattr(exc, "path", None) is None:
            exc.path = str(path)  # type: ignore[attr-defined]
        raise
    d.pop("chat_template", None)  # long; `has_chat_template` says whether there is one
    return d


def _open(args: argparse.Namespace, *, read_only_ok: bool = False):
    """The workspace `-w` names, which must exist (like `export`: a mistyped path is refused
    with "no workspace there", never created empty); without `-w`, the default workspace,
    created on first use."""
    return open_workspace(args, create=args.workspace is None, read_only_ok=read_only_ok)


def run_list(args: argparse.Namespace) -> dict:
    models = [{**_info_dict(default_model_path()), "label": "default"}]
    with _open(args, read_only_ok=True) as ws:
        for path in ws.get_setting(MODELS_SETTING, []):
            try:
                models.append({**_info_dict(Path(path)), "label": Path(path).name})
            except Exception as exc:  # a moved or deleted file stays listed, with why
                models.append({"label": Path(path).name, "path": path, "error": str(exc)})
        setting = (ws.get_setting("llm", {}) or {}).get("extra_bufts") or "auto"
    lines = [
        f"{m['label']}: {m.get('architecture', '?')} {m.get('quantization', '')} "
        f"{m.get('path')}" + (f"  [{m['error']}]" if "error" in m else "")
        for m in models
    ]
    lines.append(f"GPU offload: {'available' if gpu_offload_supported() else 'not in this build'}")
    cpu = cpu_report(setting)
    lines.append(f"CPU: {cpu['cpu'] or 'unknown'}; AMX: {'yes' if cpu['amx'] else 'no'}")
    lines.append(f"llama.cpp features: {' '.join(cpu['features']) or '(none reported)'}")
    lines.append(
        f"extra buffer types (window setting {setting}, --extra-bufts): {cpu['extra_bufts']}"
    )
    return {
        "models": models,
        "gpu_offload": gpu_offload_supported(),
        "cpu": cpu,
        "_human": "\n".join(lines),
    }


def run_info(args: argparse.Namespace) -> dict:
    path = default_model_path() if args.path == "default" else Path(args.path)
    return _info_dict(path)


def run_add(args: argparse.Namespace) -> dict:
    info = _info_dict(args.path)  # refuses bad files before they are listed
    with _open(args) as ws:
        models = ws.get_setting(MODELS_SETTING, [])
        already = info["path"] in models
        if not already:
            models.append(info["path"])
            ws.set_setting(MODELS_SETTING, models)
    info["already_added"] = already
    what = "already added" if already else "added"
    info["_human"] = f"{what}: {info['path']} ({info['architecture']}, {info['quantization']})"
    return info
