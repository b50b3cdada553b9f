"""Every format by name: how to read it into tasks, how to write tasks to it, and how to
recognise it from a file's content (first) and its name (to break ties).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Callable, Iterable

from ..errors import UserInputError
from ..store.tasks import Task
from . import (
    alpaca, dolly, hf, openai_chat, selfinstruct_finetune, selfinstruct_generated,
    selfinstruct_instances, selfinstruct_seed, sharegpt,
)
from .common import read_bytes

Reader = Callable[[Path], list[Task]]
Writer = Callable[[Iterable[Task], IO[str], dict[str, str]], int]
SELFCHECK_TRACES = "selfcheck-traces"
REFERENCE_RUN = "selfinstruct-run"
REFERENCE_RUN_MARKER = "machine_generated_instructions.jsonl"


@dataclass(frozen=True)
class FormatSpec:
    name: str
    description: str
    extensions: tuple[str, ...]
    read: Reader | None
    write: Writer | None
    options: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    source: str = "imported"   # the task source an import of this format gets
    folder: bool = False       # written as a folder (hf), not one file
    default_layout: str | None = None


def _spec(module: ModuleType, description: str, **kw) -> FormatSpec:
    return FormatSpec(
        name=module.FORMAT, description=description, extensions=module.EXTENSIONS,
        read=module.read, write=getattr(module, "write", None),
        options=dict(getattr(module, "OPTIONS", {})),
        source=getattr(module, "SOURCE", "imported"),
        default_layout=getattr(module, "DEFAULT_LAYOUT", None), **kw)


FORMATS: dict[str, FormatSpec] = {s.name: s for s in [
    _spec(selfinstruct_seed, "Self-Instruct seed tasks JSONL"),
    _spec(selfinstruct_instances, "Self-Instruct instances JSONL (instruction, input, output)"),
    _spec(selfinstruct_generated, "Self-Instruct machine_generated_instructions.jsonl"),
    _spec(selfinstruct_finetune, "Self-Instruct fine-tuning prompt/completion JSONL"),
    _spec(alpaca, "Alpaca JSON list (or JSONL)"),
    _spec(dolly, "Dolly JSONL (instruction, context, response, category)"),
    _spec(sharegpt, "ShareGPT conversations JSON"),
    _spec(openai_chat, "OpenAI chat fine-tuning JSONL"),
    _spec(hf, "Hugging Face dataset folder (data/train.jsonl, Parquet, README card)",
          folder=True),
    FormatSpec(SELFCHECK_TRACES, "SELF-CHECK reasoning traces JSONL (export only)", (".jsonl",),
               None, None),
]}


def get(name: str) -> FormatSpec:
    spec = FORMATS.get(name)
    if spec is None:
        raise UserInputError(f"unknown format {name!r}", field="format",
                             hint="Formats: " + ", ".join(FORMATS) + ".")
    return spec


def import_formats() -> list[str]:
    return [n for n, s in FORMATS.items() if s.read is not None]


def export_formats() -> list[str]:
    return [n for n, s in FORMATS.items() if s.write is not None or s.folder
            or n == SELFCHECK_TRACES]


# ---------------------------------------------------------------------------- auto-detection
def detect_by_content(obj: object, path: Path) -> str | None:
    """The format one decoded record belongs to, or None."""
    if not isinstance(obj, dict):
        return None
    if openai_chat.looks_like(obj):
        return openai_chat.FORMAT
    if sharegpt.looks_like(obj):
        return sharegpt.FORMAT
    if "prompt" in obj and "completion" in obj:
        return selfinstruct_finetune.FORMAT
    if selfinstruct_seed.looks_like(obj):
        return selfinstruct_seed.FORMAT
    if selfinstruct_generated.looks_like(obj):
        return selfinstruct_generated.FORMAT
    if dolly.looks_like(obj):
        return dolly.FORMAT
    if alpaca.looks_like(obj):
        # Same shape as the reference's instances file; its name tells them apart, and the
        # two import the same way.
        if "generated_instances" in path.name and "system" not in obj and "history" not in obj:
            return selfinstruct_instances.FORMAT
        return alpaca.FORMAT
    if "instruction" in obj and "input" in obj:
        return alpaca.FORMAT
    return None


def is_reference_run(path: Path) -> bool:
    return path.is_dir() and (path / REFERENCE_RUN_MARKER).is_file()


def detect_format(path: Path) -> str:
    """A format name for a file or folder, from its content; its extension breaks no ties the
    content settles, but names the likely formats when the content says nothing."""
    if path.is_dir():
        if is_reference_run(path):
            return REFERENCE_RUN
        if hf.is_hf_folder(path):
            return hf.FORMAT
        raise UserInputError(
            "a folder that is neither a Self-Instruct run (machine_generated_instructions.jsonl) "
            f"nor a dataset folder ({hf.DATA_FILE})", path=path, line=1)
    # Tolerant here (a cut multi-byte character at the 1 MiB mark); the reader is strict.
    text = read_bytes(path)[:1 << 20].decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    first, line = None, 1
    if stripped.startswith("["):
        # Only the first element: decoding the whole list is the reader's job.
        try:
            start = text.index("[") + 1
            rest = text[start:].lstrip()
            line = text.count("\n", 0, len(text) - len(rest)) + 1
            first, _ = json.JSONDecoder().raw_decode(rest)
        except (ValueError, RecursionError):
            first = None
    else:
        for n, raw in enumerate(text.split("\n"), start=1):
            if raw.strip():
                line = n
                try:
                    first = json.loads(raw)
                except (ValueError, RecursionError):
                    first = None
                break
    fmt = detect_by_content(first, path)
    if fmt:
        return fmt
    if not stripped:
        raise UserInputError("the file is empty", path=path, line=1)
    by_ext = [n for n, s in FORMATS.items() if s.read and path.suffix.lower() in s.extensions]
    raise UserInputError(
        "the format could not be recognised from this record", path=path, line=line,
        hint="Name it with --format " + " | ".join(by_ext or import_formats()) + ".")
