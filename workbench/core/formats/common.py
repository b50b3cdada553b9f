"""What the format modules share: line-numbered reading, field checks, grouping records into
tasks, one-record-per-instance iteration for writers, and atomic file writes.

Every reader raises `UserInputError` with the file and a line (and the field when there is one)
for anything it cannot use, and writes nothing: the importer writes only after a whole file has
been read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CUT_OFF as CUT_OFF
from ..errors import RecordLine, UserInputError, last_line

# Re-exported for the format modules; they live on the floor below the formats and methods.
from ..errors import json_error_text as json_error_text
from ..errors import json_syntax_error as json_syntax_error

# Re-exported for the format modules; it lives on the floor below the formats and methods.
from ..fileio import atomic_text_file as atomic_text_file
from ..store.tasks import Instance, Task, normalize_instruction
from .compression import decompress
from .validation import check_example, non_finite, reject, sound

# Top-level record keys that are media references: kept in `Instance.meta` and counted in the
# import summary (LLaMA-Factory's multimodal layouts).
MEDIA_KEYS = ("images", "videos", "audios")


# ------------------------------------------------------------------------------------ reading


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is .gz/.bz2/.zst (see compression.py)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserInputError(f"cannot be read ({exc.strerror or exc})", path=path, line=1) from exc
    return decompress(path, data)


def decode_utf8(data: bytes, path: Path) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserInputError(
            f"not valid UTF-8 ({exc.reason} at byte {exc.start})", path=path, line=line
        ) from exc
    return text[1:] if text.startswith("\ufeff") else text  # a BOM some editors write


def decode_lines(data: bytes, path: Path, bad: set[int] | None = None) -> str:
    """decode_utf8 for a line-based file (JSON Lines, CSV, TSV): a line that is not valid UTF-8
    is one bad record (validation.reject: raised at once outside `collecting`, else recorded
    with the line's text, its bad bytes spelled \\xNN) and is blanked, so the readers skip it
    and every other line keeps its number. With `bad` (a table, whose quoted cells may span
    lines), a bad line is kept with U+FFFD for its bad bytes so that quotes still pair, and
    `bad` gets its number: the reader must leave out any row spanning it."""
    try:
        return decode_utf8(data, path)
    except UserInputError:
        pass
    out = []
    offset = 0
    for n, raw in enumerate(data.split(b"\n"), start=1):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            reject(
                UserInputError(
                    f"not valid UTF-8 ({exc.reason} at byte {offset + exc.start})",
                    path=path,
                    line=n,
                ),
                raw.decode("utf-8", "backslashreplace"),
            )
            if bad is None:
                out.append("")
            else:
                out.append(raw.decode("utf-8", "replace"))
                bad.add(n)
        offset += len(raw) + 1
    text = "\n".join(out)
    return text[1:] if text.startswith("\ufeff") else text


def iter_jsonl(path: Path, data: bytes | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, decoded value) for each non-blank line."""
    text = decode_lines(read_bytes(path) if data is None else data, path)
    last = last_line(text)
    for line_no, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise json_syntax_error(exc, path, line_no, last=line_no == last) from exc
        except RecursionError as exc:
            raise UserInputError("nested too deeply to read", path=path, line=line_no) from exc
        if sound(obj, path, line_no):
            yield line_no, obj


def iter_json_array(path: Path, data: bytes | None = None) -> Iterator[tuple[int, Any]]:
    """(line number where it starts, value) for each element of a top-level JSON list.

    Decoded element by element so that an error can name the line of the record at fault. The
    line number is a `RecordLine`: it also carries the record's position in the list (1-based),
    so every error raised with it says "line N, record K" (a one-line list has only line 1).
    Line numbers are counted on from the previous record's, so a list reads in linear time.
    """
    text = decode_utf8(read_bytes(path) if data is None else data, path)
    decoder = json.JSONDecoder()
    n = len(text)
    counted = [0, 1]  # [offset, its line number]: newlines are counted on from there

    def skip_ws(i: int) -> int:
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    def line_at(i: int) -> int:
        pos, line = counted
        if i < pos:  # never for the records, which only move forwards
            return text.count("\n", 0, i) + 1
        line += text.count("\n", pos, i)
        counted[:] = [i, line]
        return line

    i = skip_ws(0)
    if i >= n:
        return
    if text[i] != "[":
        raise UserInputError(
            "expected a JSON list of records ('[' ...)", path=path, line=line_at(i)
        )
    i = skip_ws(i + 1)
    if i < n and text[i] == "]":
        i = skip_ws(i + 1)
        if i < n:
            raise UserInputError("unexpected text after the list", path=path, line=line_at(i))
        return
    record = 0
    while True:
        start = i
        record += 1
        try:
            value, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            raise json_syntax_error(exc, path, record=record) from exc
        except RecursionError as exc:
            raise UserInputError(
                "nested too deeply to read", path=path, line=RecordLine(line_at(start), record)
            ) from exc
        line = RecordLine(line_at(start), record)
        if sound(value, path, line):
            yield line, value
        i = skip_ws(i)
        if i < n and text[i] == ",":
            i = skip_ws(i + 1)
            continue
        if i < n and text[i] == "]":
            i = skip_ws(i + 1)
            if i < n:
                raise UserInputError("unexpected text after the list", path=path, line=line_at(i))
            return
        if i >= n:  # a whole record, then the end: the rest of the list is missing
            raise UserInputError(
                f"{CUT_OFF}: expected ',' or ']' after the record",
                path=path,
                line=last_line(text),
                record=record,
                hint="Check that the whole file was downloaded or copied, then import it again.",
            )
        raise UserInputError(
            "expected ',' or ']' between records",
            path=path,
            line=line_at(min(i, n)),
            record=record,
        )


def iter_json_records(path: Path) -> Iterator[tuple[int, Any]]:
    """A JSON list or JSON Lines, whichever the file holds."""
    data = read_bytes(path)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return iter_json_array(path, data)
    return iter_jsonl(path, data)


def require_obj(obj: Any, path: Path, line: int) -> dict:
    if not isinstance(obj, dict):
        raise UserInputError(
            f"expected a JSON object, found {json_type(obj)}", path=path, line=line
        )
    return obj


def json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), "a value")


def get_str(
    obj: dict,
    key: str,
    path: Path,
    line: int,
    *,
    required: bool = True,
    nonempty: bool = False,
    field_name: str | None = None,
) -> str:
    """A text field; `field_name` is how the error names it (defaults to `key`)."""
    name = field_name or key
    if key not in obj or obj[key] is None and not required:
        if required:
            raise UserInputError("the field is missing", path=path, line=line, field=name)
        return ""
    value = obj[key]
    if not isinstance(value, str):
        raise UserInputError(
            f"expected text, found {json_type(value)}", path=path, line=line, field=name
        )
    if nonempty and not value.strip():
        raise UserInputError("the field is empty", path=path, line=line, field=name)
    return value


def get_bool(obj: dict, key: str, path: Path, line: int) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise UserInputError("expected true or false", path=path, line=line, field=key)
    return value


def get_history(obj: dict, key: str, path: Path, line: int) -> list[list[str]] | None:
    """Alpaca/LLaMA-Factory `history`: earlier turns as [[user, assistant], ...]."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise UserInputError(
            f"expected a list of [user, assistant] pairs, found {json_type(value)}",
            path=path,
            line=line,
            field=key,
        )
    for i, pair in enumerate(value):
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, str) for x in pair)
        ):
            raise UserInputError(
                "expected a [user, assistant] pair of texts",
                path=path,
                line=line,
                field=f"{key}[{i}]",
            )
    return [list(p) for p in value]


# ----------------------------------------------------------------------------- records → tasks
@dataclass
class Record:
    """One example as a reader found it, with where it came from: the instruction that groups
    it into a task, the example itself (`instance`: input, output, system prompt, history,
    kind, rejected answer, label, weight, tools and its own extras in `meta`; see
    store.examples.Instance), and the task-level fields (`meta`, `name`,
    `is_classification`). `instance` None: an instruction without any example (a task with
    none, e.g. InstructWild's)."""

    line: int
    instruction: str
    instance: Instance | None = field(default_factory=Instance)
    meta: dict[str, Any] = field(default_factory=dict)  # task-level fields to keep
    name: str | None = None
    is_classification: bool | None = None

    @property
    def example(self) -> Instance:
        """The instance of a record that has one (every chat and Alpaca-like record)."""
        if self.instance is None:
            raise ValueError(f"line {self.line}: an instruction without an example")
        return self.instance


# An example's own fields beyond input and output, as formats with a column each write them
# (dolly, hf).
OWN_FIELDS = ("system", "history", "kind", "rejected", "label", "weight", "tools")


def own_fields(inst: Instance) -> dict[str, Any]:
    """The example's OWN_FIELDS, None where it has the default (no system prompt, no history,
    kind sft, no rejected answer, no label, weight 1, no tools)."""
    return {
        "system": inst.system,
        "history": inst.history or None,
        "kind": None if inst.kind == "sft" else inst.kind,
        "rejected": inst.rejected,
        "label": inst.label,
        "weight": inst.weight,
        "tools": inst.tools,
    }


def take_own_fields(d: dict[str, Any], inst: Instance) -> list[str]:
    """Set the example's OWN_FIELDS from a record's columns of their shape (system and
    rejected text, history a list of turns, kind preference|kto, label true/false, weight a
    number, tools anything); returns the names of the columns the record has that gave no
    value (another shape, or null): the caller keeps them as fields of their own."""
    w = d.get("weight")
    history = d.get("history")
    if isinstance(d.get("system"), str):
        inst.system = d["system"]
    if isinstance(history, list) and all(isinstance(t, dict) for t in history):
        inst.history = history
    if d.get("kind") in ("preference", "kto"):
        inst.kind = d["kind"]
    if isinstance(d.get("rejected"), str):
        inst.rejected = d["rejected"]
    if isinstance(d.get("label"), bool):
        inst.label = d["label"]
    if isinstance(w, (int, float)) and not isinstance(w, bool):
        inst.weight = w
    inst.tools = d.get("tools")
    taken = own_fields(inst)
    return [k for k in OWN_FIELDS if k in d and taken[k] is None]


def pairs_to_turns(pairs: Iterable[Any]) -> list[dict[str, Any]]:
    """[[user, assistant], ...] (Alpaca `history`) as turns; items that are turns already
    (`{"role", "content", ...}`) are taken as they are."""
    turns: list[dict[str, Any]] = []
    for item in pairs:
        if isinstance(item, dict):
            turns.append(dict(item))
            continue
        user, assistant = item
        turns += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return turns


def turns_to_pairs(turns: list[dict[str, Any]]) -> list[list[str]] | None:
    """The turns as [[user, assistant], ...] when they are only that (plain text, alternating,
    no other keys); None when they cannot be written as pairs."""
    if len(turns) % 2:
        return None
    pairs = []
    for u, a in zip(turns[::2], turns[1::2]):
        if (
            set(u) != {"role", "content"}
            or set(a) != {"role", "content"}
            or u["role"] != "user"
            or a["role"] != "assistant"
            or not isinstance(u["content"], str)
            or not isinstance(a["content"], str)
        ):
            return None
        pairs.append([u["content"], a["content"]])
    return pairs


def group_records(records: Iterable[Record], path: Path, fmt: str) -> list[Task]:
    """Records with the same (normalised) instruction become one task with several instances
    (the Self-Instruct model), in file order, each example keeping its own conversation, kind
    and extras; `Instance.seq` is the record's position in the file unless the reader set it,
    so writers keep file order. Two different records are never merged; identical ones are
    both kept here (the importer skips identical examples and counts them). A record written
    otherwise (case, spacing) keeps its wording (`meta["_instruction"]`). The task's meta is
    the first record's `meta` plus `format` and `line`; a later record's task-level `meta`
    that differs is kept in `meta["also"]` (a list)."""
    tasks: dict[str, Task] = {}
    for seq, rec in enumerate(records):
        if rec.instance is not None:
            check_example(rec.instance, path, rec.line)
        key = normalize_instruction(rec.instruction)
        task = tasks.get(key)
        if task is None:
            task = Task(
                instruction=rec.instruction,
                is_classification=rec.is_classification,
                name=rec.name,
                origin=str(path),
                meta={**rec.meta, "format": fmt, "line": rec.line},
            )
            tasks[key] = task
        else:
            if task.is_classification is None:
                task.is_classification = rec.is_classification
            first = {k: v for k, v in task.meta.items() if k not in ("format", "line", "also")}
            if rec.meta and rec.meta != first:
                task.meta.setdefault("also", []).append({**rec.meta, "line": rec.line})
        inst = rec.instance
        if inst is None:
            continue
        if inst.seq is None:
            inst.seq = seq
        if rec.instruction != task.instruction:  # "Translate." and "translate. " group, and
            inst.meta["_instruction"] = rec.instruction  # each record keeps its own text
        task.instances.append(inst)
    return list(tasks.values())


def instruction_of(task: Task, inst: Instance) -> str:
    """The instruction text of one example: the task's, unless its record had the same
    instruction written differently (case, spacing: `meta["_instruction"]`)."""
    own = (inst.meta or {}).get("_instruction")
    if isinstance(own, str) and normalize_instruction(own) == normalize_instruction(
        task.instruction
    ):
        return own
    return task.instruction


def record_fields(d: dict[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """A record's fields the format has no place for (kept in `Instance.meta` under their own
    names), with `_record`: every key in file order, so writers can follow it."""
    known = set(known)
    extra = {k: v for k, v in d.items() if k not in known}
    if extra:
        extra["_record"] = list(d)
    return extra


# The workbench's meta keys a format with no place for them writes under WORKBENCH_KEY, never
# drops: content of the example, and how its chat file laid it out (so a chat that goes
# through Alpaca or Dolly comes back as it was).
CONTENT_META = (
    "_pending",
    "_assistant",
    "_user",
    "_dropped_turns",
    "_system",
    "_rejected",
    "_instruction_role",
    "_system_turn",
    "_system_empty",
    "_layout",
    "_style",
    "_input",
)
WORKBENCH_KEY = "_workbench"


def workbench_field(inst: Instance) -> dict[str, Any]:
    """`{WORKBENCH_KEY: {...}}` with the example's CONTENT_META keys, or {} when it has none."""
    kept = {k: v for k, v in (inst.meta or {}).items() if k in CONTENT_META}
    return {WORKBENCH_KEY: kept} if kept else {}


def take_workbench_field(meta: dict[str, Any]) -> None:
    """The inverse, on a record's kept fields: WORKBENCH_KEY's keys back into the meta."""
    kept = meta.get(WORKBENCH_KEY)
    if isinstance(kept, dict) and all(k in CONTENT_META for k in kept):
        del meta[WORKBENCH_KEY]
        meta.update(kept)
        order = meta.get("_record")
        if isinstance(order, list) and WORKBENCH_KEY in order:
            order.remove(WORKBENCH_KEY)
            if not any(not k.startswith("_") for k in meta):
                del meta["_record"]


def ordered_record(fields: dict[str, Any], inst: Instance) -> dict[str, Any]:
    """`fields` (the format's own) with the example's kept extras, in the file's key order
    where it is known."""
    meta = inst.meta or {}
    rec = dict(fields)
    for k, v in meta.items():
        if not k.startswith("_") and k not in rec:
            rec[k] = v
    order = meta.get("_record")
    if isinstance(order, list):
        pos = {k: i for i, k in enumerate(order)}
        rec = dict(sorted(rec.items(), key=lambda kv: pos.get(kv[0], len(pos))))
    return rec


# ------------------------------------------------------------------------------ tasks → records
def instance_extras(task: Task, inst: Instance) -> dict[str, Any]:
    """The older per-example extras view of an example: `system`, `history` (pairs when the
    turns are only that) and its other kept fields."""
    out: dict[str, Any] = {k: v for k, v in (inst.meta or {}).items() if not k.startswith("_")}
    if inst.system:
        out["system"] = inst.system
    if inst.history:
        pairs = turns_to_pairs(inst.history)
        out["history"] = pairs if pairs is not None else inst.history
    return out


def object_list(
    d: dict[str, Any], key: str, path: Path, line: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The objects of the list `d[key]`, each with its field name for messages (`key[i]`)."""
    items = d.get(key)
    if items is None:
        raise UserInputError("the field is missing", path=path, line=line, field=key)
    if not isinstance(items, list):
        raise UserInputError(
            f"expected a list, found {json_type(items)}", path=path, line=line, field=key
        )
    for i, item in enumerate(items):
        fname = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise UserInputError(
                f"expected an object, found {json_type(item)}", path=path, line=line, field=fname
            )
        yield fname, item


def iter_examples(tasks: Iterable[Task]) -> Iterator[tuple[Task, int, Instance, dict[str, Any]]]:
    """(task, instance index, instance, extras) for every instance in file order (`seq`; see
    store.examples.ordered_examples); a task without instances yields nothing (an instruction
    with no output is no training example)."""
    from ..store.examples import ordered_examples

    for task, i, inst in ordered_examples(list(tasks)):
        yield task, i, inst, instance_extras(task, inst)


def dump(obj: Any, **kwargs: Any) -> str:
    """One record as JSON text (UTF-8 as it is; `kwargs` go to json.dumps, e.g. `indent`).
    Never writes what JSON cannot hold: a NaN or infinite number (a weight a workspace got
    before imports checked them, say) is a UserInputError naming it."""
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, **kwargs)
    except ValueError as exc:
        where, number = non_finite(obj) or ("", float("nan"))
        raise UserInputError(
            f"a record holds a number JSON cannot write (NaN or infinity): "
            f"{where or 'the record'} = {number}",
            field="weight" if "weight" in where else None,
            hint="Fix it in the example editor (a weight is a number ≥ 0), then export again.",
        ) from exc


def join_instruction_input(instruction: str, input_: str) -> str:
    """One user turn from an instruction and its input (a blank line between, as Alpaca does)."""
    return f"{instruction}\n\n{input_}" if input_.strip() else instruction
