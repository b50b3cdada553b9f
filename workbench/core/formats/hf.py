"""Hugging Face dataset folder: `data/train.jsonl` (and `data/train.parquet` when pyarrow is
importable) plus a `README.md` dataset card: YAML with the features and sizes, and text with
the provenance (model files and hashes, presets, seeds, filter settings, counts) read from the
`runs` and `model_calls` tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..selfinstruct import candidates
from ..store.tasks import Task
from ..store.workspace import Workspace
from . import selfinstruct_instances
from .common import (
    Record,
    dump,
    get_bool,
    group_records,
    instruction_of,
    iter_examples,
    iter_jsonl,
    own_fields,
    require_obj,
    take_own_fields,
)
from .validation import record_error

FORMAT = "hf"
EXTENSIONS = ()
DATA_FILE = "data/train.jsonl"
PARQUET_FILE = "data/train.parquet"
# (name, datasets dtype); a task's unknown classification is written as false.
FEATURES = [
    ("instruction", "string"),
    ("input", "string"),
    ("output", "string"),
    ("is_classification", "bool"),
    ("task_id", "int64"),
    ("source", "string"),
]
# Columns written only when some exported example has them (issue 18: an example's own
# conversation, kind and extras are never dropped); JSON values are written as JSON text.
EXTRA_FEATURES = [
    ("system", "string"),
    ("history", "string"),
    ("kind", "string"),
    ("rejected", "string"),
    ("label", "bool"),
    ("weight", "float64"),
    ("tools", "string"),
    ("meta", "string"),
]
_JSON_COLUMNS = ("history", "tools", "meta")
_SECRET_WORDS = ("key", "token", "secret", "password")


def is_hf_folder(path: Path) -> bool:
    return path.is_dir() and (path / DATA_FILE).is_file()


def parse_record(obj: object, path: Path, line: int) -> Record:
    """A selfinstruct-instances line with its optional `is_classification` and the example
    columns (EXTRA_FEATURES) an export wrote."""
    rec = selfinstruct_instances.parse_record(obj, path, line)
    d = require_obj(obj, path, line)
    rec.is_classification = get_bool(d, "is_classification", path, line)
    for name in _JSON_COLUMNS:
        value = d.get(name)
        if isinstance(value, str):
            try:
                d = {**d, name: json.loads(value)}
            except json.JSONDecodeError as exc:
                raise UserInputError(
                    f"not valid JSON text ({exc.msg})", path=path, line=line, field=name
                ) from exc
            error = record_error({name: d[name]}, path, line)
            if error:
                raise error
    take_own_fields(d, rec.example)
    if isinstance(d.get("meta"), dict):
        rec.example.meta = d["meta"]
    return rec


def read(path: Path) -> list[Task]:
    """A dataset folder (its data/train.jsonl) or the JSONL file itself."""
    data = path / DATA_FILE if path.is_dir() else path
    if not data.is_file():
        raise UserInputError(f"no {DATA_FILE} in this folder", path=path, line=1)
    return group_records((parse_record(o, data, n) for n, o in iter_jsonl(data)), data, FORMAT)


def rows(tasks: Iterable[Task]) -> Iterable[dict[str, Any]]:
    """One row per example: FEATURES, then the EXTRA_FEATURES it has (None where it has not)."""
    for task, _, inst, _ in iter_examples(tasks):
        row: dict[str, Any] = {
            "instruction": instruction_of(task, inst),
            "input": inst.input,
            "output": inst.output,
            "is_classification": bool(task.is_classification),
            "task_id": task.id,
            "source": task.source,
        }
        extra = {**own_fields(inst), "meta": inst.meta or None}
        for name, value in extra.items():
            if value is not None:
                row[name] = dump(value) if name in _JSON_COLUMNS else value
        yield row


def features(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """FEATURES and the extra columns some record has."""
    present = {k for r in records for k in r}
    return FEATURES + [(n, t) for n, t in EXTRA_FEATURES if n in present]


def pyarrow_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def write_folder(
    ws: Workspace,
    tasks: Iterable[Task],
    folder: Path,
    selection: dict[str, Any],
    tick: Callable[[], None],
) -> dict[str, Any]:
    """Write the dataset into `folder` (a fresh temporary folder the exporter renames)."""
    (folder / "data").mkdir(parents=True)
    kept: list[Task] = []
    for task in tasks:
        tick()
        kept.append(task)
    records = list(rows(kept))  # in file order across tasks
    feats = features(records)
    names = [n for n, _ in feats]
    records = [{n: r.get(n) for n in names} for r in records]
    with open(folder / DATA_FILE, "w", encoding="utf-8", newline="\n") as fh:
        for row in records:
            fh.write(dump(row) + "\n")
    files = [DATA_FILE]
    if pyarrow_available():
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema(
            [
                (
                    n,
                    {
                        "string": pa.string(),
                        "bool": pa.bool_(),
                        "int64": pa.int64(),
                        "float64": pa.float64(),
                    }[t],
                )
                for n, t in feats
            ]
        )
        pq.write_table(pa.Table.from_pylist(records, schema=schema), folder / PARQUET_FILE)
        files.append(PARQUET_FILE)
    num_bytes = sum(len(dump(r).encode("utf-8")) for r in records)
    card = dataset_card(ws, kept, len(records), num_bytes, files, selection, feats)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return {"count": len(records), "files": files + ["README.md"]}


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def dataset_card(
    ws: Workspace,
    tasks: list[Task],
    n_records: int,
    num_bytes: int,
    files: list[str],
    selection: dict[str, Any],
    feats: list[tuple[str, str]] | None = None,
) -> str:
    data_path = PARQUET_FILE if PARQUET_FILE in files else DATA_FILE
    y = ["---", "dataset_info:", "  features:"]
    for name, dtype in feats or FEATURES:
        y += [f"  - name: {name}", f"    dtype: {dtype}"]
    y += [
        "  splits:",
        "  - name: train",
        f"    num_bytes: {num_bytes}",
        f"    num_examples: {n_records}",
        f"  dataset_size: {num_bytes}",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        f"    path: {data_path}",
        "task_categories:",
        "- text-generation",
        "tags:",
        "- instruction-tuning",
        "---",
        "",
    ]
    by_source: dict[str, int] = {}
    for t in tasks:
        by_source[t.source] = by_source.get(t.source, 0) + 1
    text = [
        "# Instruction dataset",
        "",
        "Made with Instruction Workbench. Each record is one instance: an `instruction`, its "
        "`input` (may be empty) and the `output`; `task_id` groups the instances of one task.",
        "",
        "## Counts",
        "",
        f"- records (instances): {n_records}",
        f"- tasks: {len(tasks)} ({', '.join(f'{k}: {v}' for k, v in sorted(by_source.items()))})",
        f"- classification tasks: {sum(bool(t.is_classification) for t in tasks)}",
        f"- selection: `{json.dumps(selection, ensure_ascii=False, sort_keys=True)}`",
        "",
        "## Provenance",
        "",
    ]
    run_ids = sorted({t.run_id for t in tasks if t.run_id is not None})
    if not run_ids:
        text.append(
            "No task in this export was made by a run of this workspace (seeds, edits "
            "and imports only)."
        )
    for run_id in run_ids:
        text += _run_provenance(ws, run_id, sum(t.run_id == run_id for t in tasks))
    return "\n".join(y + text) + "\n"


def _run_provenance(ws: Workspace, run_id: int, n_tasks: int) -> list[str]:
    rows_ = ws.query("SELECT * FROM runs WHERE id = ?", (run_id,))
    if not rows_:
        return [f"### Run {run_id}", "", "(the run record is gone)", ""]
    run = rows_[0]
    config = json.loads(run["config"] or "{}")
    stats = json.loads(run["stats"] or "{}")
    out = [
        f"### Run {run_id} ({run['kind']}, {run['status']})",
        "",
        f"- started {run['created_at']}, finished {run['finished_at'] or '—'}",
        f"- tasks from this run in the export: {n_tasks}",
    ]
    for key in ("preset", "seed"):
        if key in config:
            out.append(f"- {key}: {config[key]}")
    filters = {
        k: v
        for k, v in config.items()
        if any(w in k for w in ("filter", "threshold", "rouge", "blacklist", "length"))
    }
    if filters:
        out.append(
            f"- filter settings: `{json.dumps(filters, ensure_ascii=False, sort_keys=True)}`"
        )
    models = ws.query(
        "SELECT backend, model, model_sha256, count(*) AS calls FROM model_calls "
        "WHERE run_id = ? GROUP BY backend, model, model_sha256 ORDER BY calls DESC",
        (run_id,),
    )
    for m in models:
        out.append(
            f"- model: `{m['model']}` ({m['backend']}), sha256 "
            f"`{m['model_sha256'] or 'unknown'}`, {m['calls']} calls"
        )
    decisions = candidates.counts(ws, run_id)
    if decisions:
        out.append("- candidates: " + ", ".join(f"{d} {n}" for d, n in sorted(decisions.items())))
    safe = {k: v for k, v in config.items() if not any(w in k.lower() for w in _SECRET_WORDS)}
    out += [
        "",
        "Run configuration:",
        "",
        "```json",
        json.dumps(safe, ensure_ascii=False, indent=2, sort_keys=True),
        "```",
    ]
    if stats:
        out += [
            "",
            "Run figures:",
            "",
            "```json",
            json.dumps(stats, ensure_ascii=False, indent=2, sort_keys=True),
            "```",
        ]
    return out + [""]
