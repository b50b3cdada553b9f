"""Hugging Face dataset folders as `huggingface-cli download --repo-type dataset` leaves them
(the Hub layout: a `README.md` card whose YAML may name `configs`/`dataset_info`, and data
shards such as `data/train-00000-of-00001-<hash>.parquet`, `data/test-*.jsonl`, `*.csv`), and
folders written by `Dataset.save_to_disk` (`dataset_info.json`, `state.json`, `*.arrow`).

Read with `datasets` (the same file resolution as `datasets.load_dataset(folder)`), never by
hand. A folder with several splits needs one chosen (`split=`, the CLI's `--split`); the error
lists them. Each row is then mapped by its content to one of the record formats
(`registry.detect_by_content`: Alpaca, ShareGPT, OpenAI chat, Dolly, HH-RLHF, SHP, OIG, Baize,
instruction-only, …) and read by that format's record parser, so a Hub copy of a dataset
imports exactly as its JSON file would. `rows=NAME` forces the row format; messages give
the row number as the line.

Media (Image/Audio/Video features, and `image(s)`/`audio(s)`/`video(s)` columns) are not
decoded: each example keeps the references (file paths, URLs; for bytes embedded in Parquet,
their size and sha256) in `meta` under the column's name; the import summary counts them.

Errors (UserInputError naming the folder, and the file/row/field when there is one): no data
files, an unknown or missing split, rows no format recognises, `datasets` not installed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Task
from .reading import Example, group_examples
from .validation import reject

FORMAT = "hf-hub"
EXTENSIONS = ()
READ_OPTIONS = ("split", "rows")
DATA_SUFFIXES = (
    ".parquet",
    ".jsonl",
    ".json",
    ".csv",
    ".tsv",
    ".arrow",
    ".txt",
    ".jsonl.gz",
    ".json.gz",
    ".csv.gz",
    ".jsonl.zst",
)
# Media columns → the example meta key that holds their references (store.examples.MEDIA_KEYS).
MEDIA_COLUMNS = {
    "image": "images",
    "images": "images",
    "audio": "audios",
    "audios": "audios",
    "video": "videos",
    "videos": "videos",
}
_MEDIA_KINDS = {"Image": "images", "Audio": "audios", "Video": "videos"}


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and (
        (path / "state.json").is_file() or (path / "dataset_dict.json").is_file()
    )


def data_files(path: Path) -> list[Path]:
    """The data shards under a folder (hidden folders, e.g. `.cache`, left out)."""
    out = []
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and p.name.lower().endswith(DATA_SUFFIXES) and p.name != "README.md":
            out.append(p)
    return out


# datasets' split keywords (datasets.data_files.SPLIT_KEYWORDS), found in a file's or a
# folder's name between separators, as `load_dataset` infers splits from file names.
SPLIT_KEYWORDS = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test", "testing", "eval", "evaluation"),
}
_SPLIT_RE = re.compile(
    r"(?:^|[-._ /])("
    + "|".join(k for ks in SPLIT_KEYWORDS.values() for k in ks)
    + r")(?:$|[-._ /0-9])"
)


def split_of(rel: str) -> str | None:
    """The split a data file's path (relative to its dataset folder) names, or None."""
    for m in _SPLIT_RE.finditer(rel.lower()):
        for split, words in SPLIT_KEYWORDS.items():
            if m.group(1) in words:
                return split
    return None


def _has_card(path: Path) -> bool:
    """A README.md that is a Hub dataset card (it opens with YAML front matter)."""
    card = path / "README.md"
    try:
        with open(card, encoding="utf-8", errors="replace") as fh:
            return fh.read(8).lstrip("\ufeff").startswith("---")
    except OSError:
        return False


def is_hub_layout(path: Path) -> bool:
    """A folder that is one dataset as the Hub lays it out: `save_to_disk` output, a
    `dataset_info.json`, a dataset card (README.md with YAML front matter), data shards under
    `data/`, or data files that all name their split with at least two splits among them
    (SHP's `<domain>/train.json`, `<domain>/test.json`). Any other folder of data files is a
    collection of separate files (collection.py)."""
    if not path.is_dir():
        return False
    if is_saved_dataset(path) or (path / "dataset_info.json").is_file() or _has_card(path):
        return True
    files = data_files(path)
    if not files:
        return False
    if any(
        f.relative_to(path).parts[0] == "data" and len(f.relative_to(path).parts) > 1 for f in files
    ):
        return True
    splits = [split_of(f.relative_to(path).as_posix()) for f in files]
    return None not in splits and len(set(splits)) >= 2


def _datasets(path: Path) -> Any:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - a dependency of the app
        raise UserInputError(
            "a Hugging Face dataset folder, but the datasets package is not installed",
            path=path,
            hint="Install datasets.",
        ) from exc
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    import logging

    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    return datasets


def split_names(path: Path) -> list[str]:
    """The splits a folder holds, as `datasets` resolves them."""
    ds = _datasets(path)
    if is_saved_dataset(path):
        if (path / "dataset_dict.json").is_file():
            import json

            return list(json.loads((path / "dataset_dict.json").read_text("utf-8"))["splits"])
        return ["train"]
    try:
        builder = ds.load_dataset_builder(str(path))
    except Exception as exc:  # noqa: BLE001 - datasets raises many kinds; all mean "cannot"
        raise _folder_error(path, exc) from exc
    files = builder.config.data_files or {}
    if not files:
        raise _no_data(path)
    return [str(k) for k in files]


def _no_data(path: Path) -> UserInputError:
    return UserInputError(
        "no data files in this dataset folder (expected Parquet, JSON, JSONL or CSV shards, "
        "e.g. data/train-00000-of-00001.parquet)",
        path=path,
        line=1,
        hint="Download the data too: huggingface-cli download --repo-type dataset NAME "
        "--local-dir FOLDER (not only the README).",
    )


def _folder_error(path: Path, exc: Exception) -> UserInputError:
    name = type(exc).__name__
    if "NotFound" in name or "Empty" in name or isinstance(exc, FileNotFoundError):
        return _no_data(path)
    return UserInputError(
        f"datasets cannot read this folder ({name}: {exc})",
        path=path,
        line=1,
        hint="Check the card's YAML (configs/data_files) and the data files.",
    )


def _media_ref(value: Any) -> Any:
    """A reference to a media value: its path/URL, or the size and sha256 of embedded bytes."""
    if isinstance(value, list):
        return [_media_ref(v) for v in value]
    if isinstance(value, dict) and ("bytes" in value or "path" in value):
        ref: dict[str, Any] = {}
        if value.get("path"):
            ref["path"] = value["path"]
        if value.get("bytes") is not None:
            data = value["bytes"]
            ref["embedded_bytes"] = len(data)
            ref["sha256"] = hashlib.sha256(data).hexdigest()
        return ref
    if isinstance(value, (bytes, bytearray)):
        return {"embedded_bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    return value


def _plain(value: Any) -> Any:
    """JSON-ready: bytes and other odd values (dates, numpy scalars) made plain."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return _media_ref(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def _load(path: Path, split: str) -> tuple[list[dict[str, Any]], dict[str, str], str]:
    """(rows, media column → meta key, the split's first data file for messages)."""
    ds = _datasets(path)
    cache = tempfile.mkdtemp(prefix="workbench-hf-")
    try:
        if is_saved_dataset(path):
            loaded = ds.load_from_disk(str(path))
            data = loaded[split] if isinstance(loaded, ds.DatasetDict) else loaded
            first = path
        else:
            try:
                data = ds.load_dataset(str(path), split=split, cache_dir=cache)
            except Exception as exc:  # noqa: BLE001
                raise _folder_error(path, exc) from exc
            builder = ds.load_dataset_builder(str(path))
            files = (builder.config.data_files or {}).get(split) or [str(path)]
            first = Path(str(files[0]))
        media: dict[str, str] = {}
        for name, feature in data.features.items():
            kind = type(feature).__name__
            inner = type(getattr(feature, "feature", None)).__name__  # a list of images
            if kind in _MEDIA_KINDS or inner in _MEDIA_KINDS:
                media[name] = _MEDIA_KINDS.get(kind) or _MEDIA_KINDS[inner]
                if kind in _MEDIA_KINDS:
                    data = data.cast_column(name, type(feature)(decode=False))
            elif name.lower() in MEDIA_COLUMNS:
                media[name] = MEDIA_COLUMNS[name.lower()]
        rows = [{k: _media_ref(v) if k in media else _plain(v) for k, v in r.items()} for r in data]
        return rows, media, str(first)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _row_parser(fmt: str, module_of: Callable[[str], Any]) -> Callable[[Any, Path, int], Any]:
    from . import dialogues, hc3, instruction_only, preference_text, rankings, tabular, transcripts

    mine: dict[str, Callable[[Any, Path, int], Any]] = {
        dialogues.ULTRACHAT: dialogues.ultrachat_record,
        dialogues.CAMEL: dialogues.camel_record,
        rankings.GPT4_COMPARISON: rankings.gpt4_comparison_record,
        rankings.SE_PREFERENCES: rankings.se_record,
        preference_text.HH: preference_text._hh_record,
        preference_text.SHP: preference_text._shp_record,
        transcripts.OIG: transcripts._oig_record,
        transcripts.BAIZE: transcripts._baize_record,
        instruction_only.FORMAT: instruction_only._record,
    }
    if fmt == hc3.FORMAT:
        return hc3._record
    if fmt == tabular.PAIRS:
        return tabular.pair_record
    if fmt in mine:
        return mine[fmt]
    module = module_of(fmt)
    for name in ("parse_record", "parse_line", "parse_seed_line"):
        fn = getattr(module, name, None) if module is not None else None
        if fn is not None:
            return fn
    raise UserInputError(
        f"rows in the {fmt} format cannot be read from a dataset folder", field="format"
    )


def _as_example(value: Any, line: int) -> Example | Task:
    """What a format's record parser returns: a Record (common.Record, also named Example)
    or a Task."""
    if isinstance(value, (Example, Task)):
        return value
    raise TypeError(f"unexpected record {type(value).__name__}")


def _attach_media(value: Example | Task, row: dict[str, Any], media: dict[str, str]) -> None:
    if not isinstance(value, Example) or value.instance is None:
        return
    for col, key in media.items():
        if row.get(col) is not None:
            ref = row[col]
            value.instance.meta[key] = ref if isinstance(ref, list) else [ref]
            if key != col:
                value.instance.meta.setdefault("_media_columns", {})[key] = col


def read(
    path: Path,
    split: str | None = None,
    rows: str | None = None,
    *,
    detect: Callable[[Any, Path], str | None] | None = None,
    module_of: Callable[[str], Any] | None = None,
) -> list[Task]:
    """The chosen split of a dataset folder, as tasks; see the module docstring. `detect`
    (a row → its format name) and `module_of` (a format name → its module) are the registry's
    (registry.py passes them: this module does not import it)."""
    if detect is None or module_of is None:
        raise TypeError("hf_folder.read needs the registry's detect and module_of")

    names = split_names(path)
    if split is None:
        if len(names) != 1:
            raise UserInputError(
                f"this dataset has {len(names)} splits: {', '.join(names)}",
                path=path,
                field="split",
                hint="Choose one with --split NAME (the window asks).",
            )
        split = names[0]
    elif split not in names:
        raise UserInputError(
            f"no split {split!r}; the splits are: {', '.join(names)}",
            path=path,
            field="split",
            hint="Choose one with --split NAME.",
        )
    table, media, first = _load(path, split)
    where = Path(first)
    if not table:
        raise UserInputError(f"the {split} split has no rows", path=where, field="split")
    sample = {k: v for k, v in table[0].items() if k not in media}
    fmt = rows or detect(sample, where)
    if fmt is None:
        raise UserInputError(
            "the rows' columns match no record format (columns: " + ", ".join(table[0]) + ")",
            path=where,
            line=1,
            hint="Name the row format with --option rows=NAME (e.g. alpaca, sharegpt, "
            "hh-rlhf), or export the split to JSON Lines and map its columns.",
        )
    parse = _row_parser(fmt, module_of)
    items: list[Example | Task] = []
    for n, row in enumerate(table, start=1):
        record = {k: v for k, v in row.items() if k not in media}
        try:
            parsed = parse(record, where, n)
            values = [_as_example(v, n) for v in (parsed if isinstance(parsed, list) else [parsed])]
        except UserInputError as exc:
            reject(exc, row)
            continue
        for value in values:
            _attach_media(value, row, media)
            items.append(value)
    tasks = [t for t in items if isinstance(t, Task)]
    tasks += group_examples((e for e in items if isinstance(e, Example)), where, f"{FORMAT}:{fmt}")
    for t in tasks:
        t.meta.update(dataset=str(path), split=split, row_format=fmt)
        if media:
            t.meta["media_columns"] = list(media)
    return tasks
