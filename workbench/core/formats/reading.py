"""What the dataset readers (Natural Instructions, tables, transcripts, preference pairs,
instruction-only records, Hub folders) share: records read tolerantly (a bad JSON line is one
bad record, see validation.py), and examples grouped into tasks by instruction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from .common import (
    Record,
    decode_lines,
    decode_utf8,
    group_records,
    iter_json_array,
    json_syntax_error,
    json_type,
    read_bytes,
)
from .validation import check_text, reject, sound

# One definition of a record read and of the grouping (common.py); the dataset readers' names.
Example = Record
group_examples = group_records


def iter_records(path: Path, data: bytes | None = None) -> Iterator[tuple[int, Any]]:
    """(line, value) for each record of a JSON list or of JSON Lines (whichever the file holds,
    compressed or not). In JSON Lines a line that is not valid JSON is one bad record (see
    validation.reject); in a JSON list a syntax error ends the read (there is no next record
    to find)."""
    raw = read_bytes(path) if data is None else data
    if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        yield from iter_json_array(path, raw)
        return
    text = decode_lines(raw, path)
    last = text.count("\n", 0, len(text.rstrip())) + 1
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            reject(json_syntax_error(exc, path, line_no, last=line_no == last), line)
        except RecursionError:
            reject(UserInputError("nested too deeply to read", path=path, line=line_no), line)
        else:
            if sound(obj, path, line_no):
                yield line_no, obj


def load_json_document(path: Path, data: bytes | None = None) -> Any:
    """A whole JSON document (one object, say a Natural Instructions task file)."""
    text = decode_utf8(read_bytes(path) if data is None else data, path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise json_syntax_error(exc, path) from exc
    except RecursionError as exc:
        raise UserInputError("nested too deeply to read", path=path, line=1) from exc
    check_text(doc, path, 1)  # one document: its first line
    return doc


def text_field(
    d: dict,
    key: str,
    path: Path,
    line: int,
    *,
    required: bool = True,
    nonempty: bool = False,
    name: str | None = None,
) -> str:
    """`d[key]` as text; missing (when required), not text, or empty (with `nonempty`) is a
    UserInputError naming `name` (default `key`)."""
    fname = name or key
    value = d.get(key)
    if value is None:
        if required:
            raise UserInputError("the field is missing", path=path, line=line, field=fname)
        return ""
    if not isinstance(value, str):
        raise UserInputError(
            f"expected text, found {type_name(value)}", path=path, line=line, field=fname
        )
    if nonempty and not value.strip():
        raise UserInputError(
            "the field is empty",
            path=path,
            line=line,
            field=fname,
            hint="Fill it in, or import the other records with --skip-invalid.",
        )
    return value


type_name = json_type  # the readers' name for it
