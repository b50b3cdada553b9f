"""A folder of instruction files that is not one dataset: a collection, each file on its own.

A folder is one dataset when it is a reference Self-Instruct run, our `hf` export, a Natural
Instructions task folder or a Hugging Face Hub layout (`hf_folder.is_hub_layout`); any other
folder (`../shared/data/datasets/`, LLaMA-Factory's `data/`, a lone TSV in a folder) is a
collection. Its files are found recursively (hidden ones left out, in path order); each is
detected on its own (`registry.detect_format`), or read as the `--format` named for the whole
folder. Not imported, each with a note: README/SOURCES/LICENSE/CITATION files, files that are
no data (`.md`, `.py`, `.yaml`, images, ...), Parquet/Arrow shards outside a Hub layout,
`*.rejected.jsonl` of earlier imports. A sub-folder that is itself one dataset (a Hub
snapshot, our `hf` export, a Natural Instructions task folder) is one entry of its own; a
reference run inside is skipped with a note (replay it on its own).

The importer (importer.import_collection) validates every file before it writes anything,
and writes all of them in one transaction (all or nothing, as for one file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserInputError
from . import registry
from .compression import inner_name

FORMAT = registry.COLLECTION
EXTENSIONS: tuple[str, ...] = ()
DATA_SUFFIXES = (".json", ".jsonl", ".tsv", ".csv", ".txt")
SHARD_SUFFIXES = (".parquet", ".arrow")
NOTE_STEMS = ("readme", "sources", "license", "licence", "citation", "changelog", "notice")


@dataclass
class Entry:
    """One file (or dataset sub-folder) of a collection: its format, or why it is skipped
    (`note`), or why its format could not be found (`error`)."""

    path: Path
    format: str | None = None
    note: str | None = None
    error: UserInputError | None = None

    def rel(self, root: Path) -> str:
        return self.path.relative_to(root).as_posix() if self.path != root else self.path.name


def is_collection(path: Path) -> bool:
    """A folder that is not one dataset (see the module docstring)."""
    try:
        return path.is_dir() and registry.detect_format(path) == FORMAT
    except UserInputError:
        return False


def _note(path: Path) -> str | None:
    """Why a file of a collection is not data, or None when it may be."""
    name = inner_name(path).lower()
    stem, _, suffix = name.rpartition(".")
    suffix = "." + suffix if stem else ""
    if any(name.startswith(s) for s in NOTE_STEMS):
        return "documentation (README/SOURCES/licence), not data"
    if name.endswith(".rejected.jsonl"):
        return "the rejected records of an earlier import"
    if suffix in SHARD_SUFFIXES:
        return (
            "a Parquet/Arrow shard outside a dataset folder: import the folder that holds it "
            "with --format hf-hub"
        )
    if suffix not in DATA_SUFFIXES:
        return f"not a data file ({suffix or 'no extension'})"
    return None


def plan(folder: Path, fmt: str | None = None) -> list[Entry]:
    """Every entry of a collection folder, in path order: data files with their format (`fmt`
    for all when given, else detected; `error` when it cannot be), dataset sub-folders, and the
    files skipped with their note."""
    entries: list[Entry] = []

    def walk(d: Path) -> None:
        for p in sorted(d.iterdir()):
            if p.name.startswith("."):
                continue
            if p.is_dir():
                if registry.is_reference_run(p):
                    entries.append(
                        Entry(p, note="a Self-Instruct run: import (replay) it on its own")
                    )
                    continue
                try:
                    sub = registry.detect_format(p)
                except UserInputError:
                    sub = FORMAT
                if sub == FORMAT:
                    walk(p)
                else:
                    entries.append(Entry(p, format=sub))
                continue
            if not p.is_file():
                continue
            note = _note(p)
            if note:
                entries.append(Entry(p, note=note))
                continue
            if fmt:
                entries.append(Entry(p, format=fmt))
                continue
            try:
                entries.append(Entry(p, format=registry.detect_format(p)))
            except UserInputError as exc:
                entries.append(Entry(p, error=exc))

    walk(folder)
    return entries
