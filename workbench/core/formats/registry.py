"""Every format by name: how to read it into tasks, how to write tasks to it, and how to
recognise it from a file's content (first) and its name (to break ties).

Readers are `read(path, **options) -> list[Task]`; `FormatSpec.read_options` names the options
a reader takes (the CLI's `--option KEY=VALUE`, `--split`). A `tolerant` reader reports every
bad record through `validation` (all at once); the importer reads the others record by record
when they stop at one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO

from ..errors import UserInputError
from ..store.tasks import Task
from . import (
    alpaca,
    dialogues,
    dolly,
    hc3,
    hf,
    hf_folder,
    instruction_only,
    natural_instructions,
    openai_chat,
    preference_text,
    rankings,
    selfinstruct_finetune,
    selfinstruct_generated,
    selfinstruct_instances,
    selfinstruct_seed,
    sharegpt,
    tabular,
    transcripts,
    trl,
)
from .common import CUT_OFF, json_error_text, json_syntax_error, read_bytes
from .compression import inner_suffix
from .lossy import kept

Reader = Callable[..., list[Task]]
# A count of records written, or (count, lossy.REPORTED counts of what it left out).
Writer = Callable[[Iterable[Task], IO[str], dict[str, str]], "int | tuple[int, dict[str, int]]"]
SELFCHECK_TRACES = "selfcheck-traces"
REFERENCE_RUN = "selfinstruct-run"
REFERENCE_RUN_MARKER = "machine_generated_instructions.jsonl"
COLLECTION = "collection"  # any other folder: its files, each on its own (collection.py)


@dataclass(frozen=True)
class FormatSpec:
    name: str
    description: str
    extensions: tuple[str, ...]
    read: Reader | None
    write: Writer | None
    options: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    source: str = "imported"  # the task source an import of this format gets
    folder: bool = False  # written as a folder (hf), not one file
    default_layout: str | None = None
    read_options: tuple[str, ...] = ()  # keyword options the reader takes
    tolerant: bool = False  # reports every bad record (validation.parse_each/reject)
    reads_folder: bool = False  # a folder is an input (only, when it has no extensions)
    holds: frozenset[str] | None = None  # lossy.FIELDS its records keep (None: every one)


def _spec(module: ModuleType, description: str, **kw) -> FormatSpec:
    kw.setdefault("read_options", tuple(getattr(module, "READ_OPTIONS", ())))
    return FormatSpec(
        name=module.FORMAT,
        description=description,
        extensions=module.EXTENSIONS,
        read=module.read,
        write=getattr(module, "write", None),
        options=dict(getattr(module, "OPTIONS", {})),
        source=getattr(module, "SOURCE", "imported"),
        default_layout=getattr(module, "DEFAULT_LAYOUT", None),
        holds=getattr(module, "HOLDS", None),
        **kw,
    )


FORMATS: dict[str, FormatSpec] = {
    s.name: s
    for s in [
        _spec(selfinstruct_seed, "Self-Instruct seed tasks JSONL"),
        _spec(selfinstruct_instances, "Self-Instruct instances JSONL (instruction, input, output)"),
        _spec(selfinstruct_generated, "Self-Instruct machine_generated_instructions.jsonl"),
        _spec(selfinstruct_finetune, "Self-Instruct fine-tuning prompt/completion JSONL"),
        _spec(alpaca, "Alpaca JSON list (or JSONL)"),
        _spec(dolly, "Dolly JSONL (instruction, context, response, category)"),
        _spec(sharegpt, "ShareGPT conversations JSON"),
        _spec(openai_chat, "OpenAI chat fine-tuning JSONL"),
        _spec(
            hf,
            "Hugging Face dataset folder (data/train.jsonl, Parquet, README card)",
            folder=True,
            reads_folder=True,
        ),
        _spec(
            natural_instructions,
            "Natural Instructions v1 / Super-NaturalInstructions task "
            "file (Definition, Positive Examples, Instances), or a folder of them",
            tolerant=True,
            reads_folder=True,
        ),
        _spec(
            tabular,
            "TSV/CSV with a column mapping (FLAN CoT: question, answer, rationale)",
            read_options=tuple(tabular.OPTIONS),
            tolerant=True,
        ),
        FormatSpec(
            preference_text.HH,
            "HH-RLHF preference pairs (chosen/rejected Human:/Assistant: "
            "transcripts; also prompt/chosen/rejected texts)",
            preference_text.EXTENSIONS,
            preference_text.read_hh,
            None,
            tolerant=True,
        ),
        FormatSpec(
            preference_text.SHP,
            "SHP-style preference pairs (history, human_ref_A/B, "
            "labels; Stack Exchange response_j/k)",
            preference_text.EXTENSIONS,
            preference_text.read_shp,
            None,
            tolerant=True,
        ),
        FormatSpec(
            transcripts.OIG,
            "OIG <human>:/<bot>: transcripts (JSONL, or training text)",
            (".jsonl", ".json", ".txt"),
            transcripts.read_oig,
            None,
            tolerant=True,
        ),
        FormatSpec(
            transcripts.BAIZE,
            "Baize [|Human|]/[|AI|] transcripts (topic, input)",
            (".json", ".jsonl"),
            transcripts.read_baize,
            None,
            tolerant=True,
        ),
        FormatSpec(
            tabular.PAIRS,
            "inputs/targets records (xP3, FLAN collection exports) as instruction/output",
            (".jsonl", ".json"),
            tabular.read_pairs,
            None,
            read_options=tuple(tabular.PAIR_OPTIONS),
            tolerant=True,
        ),
        _spec(hc3, "HC3 questions with human and ChatGPT answers", tolerant=True),
        FormatSpec(
            dialogues.ULTRACHAT,
            "UltraChat raw dialogues ({id, data: [user, assistant, ...]})",
            dialogues.EXTENSIONS,
            dialogues.read_ultrachat,
            None,
            tolerant=True,
        ),
        FormatSpec(
            dialogues.CAMEL,
            "CAMEL role-playing chats (message_1 … message_N, num_messages), a file each",
            dialogues.EXTENSIONS,
            dialogues.read_camel,
            None,
            tolerant=True,
        ),
        FormatSpec(
            rankings.GPT4_COMPARISON,
            "GPT-4-LLM comparison data (user_input, completion_a ranked above completion_b)",
            rankings.EXTENSIONS,
            rankings.read_gpt4_comparison,
            None,
            tolerant=True,
        ),
        FormatSpec(
            rankings.SE_PREFERENCES,
            "Stack Exchange preferences (question, answers with pm_score): preference pairs",
            rankings.EXTENSIONS,
            rankings.read_se_preferences,
            None,
            tolerant=True,
        ),
        _spec(
            instruction_only,
            "Instructions without outputs (InstructWild), kept as tasks without examples",
            tolerant=True,
        ),
        FormatSpec(
            hf_folder.FORMAT,
            "Hugging Face dataset folder in the Hub layout (README card, "
            "Parquet/JSON/CSV shards, splits) or save_to_disk, rows mapped by content",
            hf_folder.EXTENSIONS,
            lambda path, **opts: hf_folder.read(
                path, detect=detect_by_content, module_of=module_of, **opts
            ),
            None,
            read_options=hf_folder.READ_OPTIONS,
            reads_folder=True,
            tolerant=True,
        ),
        _spec(trl, "TRL preference / KTO / prompt-completion JSONL (prompt, chosen, rejected)"),
        # Read by the importer (importer.import_collection, collection.py), file by file.
        FormatSpec(
            COLLECTION,
            "A folder of instruction files of any formats, each detected on its own "
            "(--format F reads them all as F)",
            (),
            None,
            None,
            reads_folder=True,
            tolerant=True,
        ),
        FormatSpec(
            SELFCHECK_TRACES,
            "SELF-CHECK reasoning traces JSONL (export only)",
            (".jsonl",),
            None,
            None,
        ),
    ]
}


_MODULES: dict[str, ModuleType] = {
    m.FORMAT: m
    for m in (
        alpaca,
        dolly,
        hf,
        openai_chat,
        selfinstruct_finetune,
        selfinstruct_generated,
        selfinstruct_instances,
        selfinstruct_seed,
        sharegpt,
        natural_instructions,
        tabular,
        instruction_only,
        hf_folder,
        hc3,
        trl,
    )
}


def module_of(name: str) -> ModuleType | None:
    """The module of a one-module format (its record parser, looks_like), or None."""
    return _MODULES.get(name)


def get(name: str) -> FormatSpec:
    spec = FORMATS.get(name)
    if spec is None:
        raise UserInputError(
            f"unknown format {name!r}", field="format", hint="Formats: " + ", ".join(FORMATS) + "."
        )
    return spec


def export_spec(name: str) -> FormatSpec:
    """The spec of a format the exporter can write; UserInputError (listing the export
    formats) for an unknown or import-only one."""
    writable = export_formats()
    spec = FORMATS.get(name)
    if spec is None:
        raise UserInputError(
            f"unknown format {name!r}",
            field="format",
            hint="Export formats: " + ", ".join(writable) + ".",
        )
    if name not in writable:
        raise UserInputError(
            f"{name} is an import-only format; export formats are: " + ", ".join(writable),
            field="format",
            hint="Import it, then export as one of those.",
        )
    return spec


def keepers(fields: Iterable[str], exclude: str = "") -> list[str]:
    """The export formats whose records keep every one of `fields` (lossy.FIELDS)."""
    need = set(fields)
    task_level = (SELFCHECK_TRACES, selfinstruct_generated.FORMAT)  # instructions only
    out = []
    for name in export_formats():
        holds = FORMATS[name].holds
        if name != exclude and name not in task_level and (holds is None or need <= kept(holds)):
            out.append(name)
    return out


def import_formats() -> list[str]:
    return [n for n, s in FORMATS.items() if s.read is not None or n == COLLECTION]


def export_formats() -> list[str]:
    return [
        n for n, s in FORMATS.items() if s.write is not None or s.folder or n == SELFCHECK_TRACES
    ]


# ---------------------------------------------------------------------------- auto-detection
def detect_by_content(obj: object, path: Path) -> str | None:
    """The format one decoded record belongs to, or None."""
    if not isinstance(obj, dict):
        return None
    if openai_chat.looks_like(obj):
        return openai_chat.FORMAT
    if sharegpt.looks_like(obj):
        return sharegpt.FORMAT
    if preference_text.looks_like_hh(obj):  # before TRL: an HH transcript as the prompt
        return preference_text.HH
    if trl.looks_like(obj):
        return trl.FORMAT
    if preference_text.looks_like_shp(obj):
        return preference_text.SHP
    if natural_instructions.looks_like(obj):
        return natural_instructions.FORMAT
    if hc3.looks_like(obj):
        return hc3.FORMAT
    if rankings.looks_like_gpt4_comparison(obj):
        return rankings.GPT4_COMPARISON
    if rankings.looks_like_se_preferences(obj):
        return rankings.SE_PREFERENCES
    if dialogues.looks_like_camel(obj):
        return dialogues.CAMEL
    if dialogues.looks_like_ultrachat(obj):
        return dialogues.ULTRACHAT
    if tabular.looks_like_pairs(obj):
        return tabular.PAIRS
    if transcripts.looks_like_baize(obj):
        return transcripts.BAIZE
    if transcripts.looks_like_oig(obj):
        return transcripts.OIG
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
    if instruction_only.looks_like(obj):
        return instruction_only.FORMAT
    return None


def is_reference_run(path: Path) -> bool:
    return path.is_dir() and (path / REFERENCE_RUN_MARKER).is_file()


def _our_dataset(path: Path) -> bool:
    """A folder our `hf` export wrote (its card says so, or its rows are ours), not any Hub
    dataset that happens to have data/train.jsonl."""
    card = path / "README.md"
    if card.is_file() and "Made with Instruction Workbench" in card.read_text("utf-8", "replace"):
        return True
    try:
        with open(path / hf.DATA_FILE, encoding="utf-8") as fh:
            first = json.loads(fh.readline() or "null")
    except (OSError, ValueError):
        return False
    return isinstance(first, dict) and {"instruction", "output"} <= set(first)


def detect_format(path: Path) -> str:
    """A format name for a file or folder, from its content; its extension breaks no ties the
    content settles, but names the likely formats when the content says nothing. Compressed
    files (.gz/.bz2/.zst) are looked into; their inner extension counts."""
    if path.is_dir():
        if is_reference_run(path):
            return REFERENCE_RUN
        if hf.is_hf_folder(path) and _our_dataset(path):
            return hf.FORMAT
        if natural_instructions.is_task_folder(path):
            return natural_instructions.FORMAT
        if hf_folder.is_hub_layout(path):
            return hf_folder.FORMAT
        return COLLECTION  # any other folder: its files, each on its own
    suffix = inner_suffix(path)
    data = read_bytes(path)
    # Tolerant here (a cut multi-byte character at the 1 MiB mark); the reader is strict.
    text = data[: 1 << 20].decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        raise UserInputError("the file is empty", path=path, line=1)
    if suffix in tabular.EXTENSIONS:
        return tabular.FORMAT  # a table: its columns are mapped, not recognised
    first, line = None, 1
    bad_json = ""
    if stripped.startswith("["):
        # Only the first element: decoding the whole list is the reader's job.
        try:
            start = text.index("[") + 1
            rest = text[start:].lstrip()
            line = text.count("\n", 0, len(text) - len(rest)) + 1
            if rest.startswith("]"):
                raise UserInputError("the list is empty: no records", path=path, line=line)
            first, _ = json.JSONDecoder().raw_decode(rest)
        except (ValueError, RecursionError):
            first = None
    else:
        for n, raw in enumerate(text.split("\n"), start=1):
            if raw.strip():
                line = n
                try:
                    first = json.loads(raw)
                except json.JSONDecodeError as exc:
                    first, bad_json = None, json_error_text(exc)
                except (ValueError, RecursionError):
                    first = None
                break
        if first is None and stripped.startswith("{"):
            # One JSON document over many lines (a Natural Instructions task file).
            try:
                first = json.loads(data.decode("utf-8", errors="replace").lstrip("\ufeff"))
            except (ValueError, RecursionError):
                first = None
    fmt = detect_by_content(first, path)
    if fmt:
        return fmt
    if stripped.startswith("[") or (first is None and stripped.startswith("{")):
        # A JSON document unrecognised from its start may be cut off at its end: say that.
        try:
            # Trailing newlines are not data: without them a string cut at a line's end reads
            # as "Unterminated string", not as the newline being a stray control character.
            json.loads(data.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip())
        except json.JSONDecodeError as exc:
            cut = json_syntax_error(exc, path)
            if CUT_OFF in cut.message:
                raise cut from exc
        except (ValueError, RecursionError):
            pass
    if first is None and transcripts.looks_like_oig_text(text):
        return transcripts.OIG
    by_ext = [n for n, s in FORMATS.items() if s.read and suffix in s.extensions]
    if isinstance(first, dict) and {"question", "answer"} <= set(first):
        raise UserInputError(
            "the format could not be recognised: a question/answer record is a reasoning file "
            "(GSM8K and the like), not instruction data",
            path=path,
            line=line,
            hint=f"Use it with `workbench cot --data {path.name}` or `workbench eval`; to import "
            "it as instructions, name a format with --format (docs/formats.md).",
        )
    if isinstance(first, dict):
        keys = ", ".join(list(first)[:12]) + (", …" if len(first) > 12 else "")
        what = f"a record with the fields {keys} matches no format"
    elif first is None:
        what = (
            "not JSON or JSON Lines, and no known text layout (OIG <human>:/<bot>: transcripts)"
            if not stripped.startswith(("{", "["))
            else f"not valid JSON ({bad_json})"
            if bad_json
            else "not valid JSON here"
        )
    else:
        what = "expected records (JSON objects), found " + (
            "a list" if isinstance(first, list) else type(first).__name__
        )
    raise UserInputError(
        f"the format could not be recognised: {what}",
        path=path,
        line=line,
        hint="Name it with --format "
        + " | ".join(by_ext or import_formats())
        + " (formats and their fields: docs/formats.md).",
    )
