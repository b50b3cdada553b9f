"""Tables: TSV and CSV files with a column mapping, as FLAN ships its data (FLAN 2022's CoT
files `flan/v2/cot_data/*.tsv`: question, answer, rationale a row, tab-separated, no header).

Spec: `.tsv` = tab-separated, no quoting (FLAN's files put quotes in text as they are);
`.csv` = RFC 4180 (quotes, fields across lines). A first row whose cells are all known column
names (instruction, input, output, question, answer, rationale, prompt, response, context,
inputs, targets, …) is the header; otherwise the columns are named by `columns=a,b,c`, or, for a
three-column file without a header, FLAN CoT's `question,answer,rationale`, and for two
columns FLAN's `inputs,targets`.

Header guess (`header=auto`, `guess_header`): a first row of known names is the header; a first
row whose cells all look like names (short, no sentence end, distinct) and differ from the rows
below (a known name among them, a column of numbers under a word, or cells much longer below) is
taken for one too, and the import summary says so (`--option header=no` to import it as an
example); without one, a 2- or 3-column file gets FLAN's names and the summary says that too.

Mapping (options, each a column name or a template with `{column}` fields; a column whose name
has braces, or starts with a quote, is written as a JSON string in the braces: `{"{why}"}`, see
`field_ref`; `columns=` is one CSV row, so a name with a comma is quoted: `a,"b, c"`):
`instruction=` (default: instruction | question | prompt | inputs | input),
`input=` (default: input or context, when another column is the instruction),
`output=` (default: output | response | completion | targets | answer; with both a rationale
and an answer column, FLAN's CoT target `{rationale} So the answer is {answer}.`).
Columns not mapped verbatim to a field (unused, or used only in a template) are kept in the
example's meta under their own names, so nothing is lost.

Errors: a row with a different number of cells than the header, an empty instruction, an
unknown column in a mapping (file, line, field = the column).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..store.tasks import Instance, Task
from .common import decode_lines, read_bytes
from .compression import inner_suffix
from .reading import Example, group_examples
from .validation import reject

FORMAT = "tabular"
EXTENSIONS = (".tsv", ".csv")
OPTIONS: dict[str, tuple[str, ...] | None] = {
    "columns": None,
    "instruction": None,
    "input": None,
    "output": None,
    "header": ("auto", "yes", "no"),
    "delimiter": ("tab", "comma", "semicolon", "pipe"),
}
KNOWN = (
    "instruction",
    "input",
    "output",
    "question",
    "answer",
    "rationale",
    "prompt",
    "response",
    "context",
    "completion",
    "inputs",
    "targets",
    "category",
    "system",
    "id",
    "text",
    "label",
    "explanation",
    "source",
    "task",
    "query",
    "chosen",
    "rejected",
    "history",
    "target",
    "cot",
    "chain_of_thought",
    "options",
    "title",
)
FLAN_COT = ("question", "answer", "rationale")
FLAN_PAIR = ("inputs", "targets")
COT_TEMPLATE = "{rationale} So the answer is {answer}."
_DELIMS = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
# A template field: `{name}` (no braces in the name) or `{"json string"}` (any name).
_FIELD_RE = re.compile(r'\{(?:"((?:[^"\\]|\\.)*)"|([^{}]+))\}')
_NUMBER_RE = re.compile(r"[-+]?(\d[\d,]*)?(\.\d+)?(e[-+]?\d+)?%?", re.IGNORECASE)
_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def field_ref(name: str) -> str:
    """The template field naming column `name`: `{name}`, or `{"…"}` (a JSON string) when the
    name has braces or starts with a quote, which `{name}` cannot carry."""
    if "{" in name or "}" in name or name.startswith('"'):
        return "{" + json.dumps(name, ensure_ascii=False) + "}"
    return "{" + name + "}"


def _field_name(m: re.Match[str]) -> str:
    quoted, plain = m.group(1), m.group(2)
    return json.loads('"' + quoted + '"') if quoted is not None else plain


def template_fields(spec: str) -> list[str]:
    """The column names a template's `{…}` fields refer to, in order (see `field_ref`)."""
    return [_field_name(m) for m in _FIELD_RE.finditer(spec)]


def fill_template(spec: str, values: dict[str, str]) -> str:
    """`spec` with each field replaced by its column's value (KeyError for an unknown one)."""
    return _FIELD_RE.sub(lambda m: values[_field_name(m)], spec)


def columns_option(names: list[str]) -> str:
    """The `columns=` value for these names: one CSV row (names with commas quoted)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(names)
    return buf.getvalue()


def _parse_columns(value: str) -> list[str]:
    return [c.strip() for c in next(csv.reader([value], skipinitialspace=True), [])]


def names_text(names: list[str]) -> str:
    """Column names for a message, those with a comma or a quote in double quotes."""
    return ", ".join(
        json.dumps(n, ensure_ascii=False) if "," in n or '"' in n else n for n in names
    )


def _rows(
    text: str, delimiter: str, bad_lines: frozenset[int] = frozenset()
) -> list[tuple[int, list[str]]]:
    """(line, cells) for each non-blank row; a TSV row is one line, a CSV row may span lines.
    A row on or spanning one of `bad_lines` (lines rejected as not UTF-8, see
    common.decode_lines) is left out."""
    if delimiter == "\t":
        return [
            (n, raw.rstrip("\r").split("\t"))
            for n, raw in enumerate(text.split("\n"), start=1)
            if raw.strip() and n not in bad_lines
        ]
    out = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    for row in reader:
        spans_bad = any(n in bad_lines for n in range(line, reader.line_num + 1))
        if any(c.strip() for c in row) and not spans_bad:
            out.append((line, row))
        line = reader.line_num + 1
    return out


def _is_header(cells: list[str]) -> bool:
    names = [c.strip().lower() for c in cells]
    return all(n in KNOWN for n in names) and len(set(names)) == len(names)


def _name_like(cell: str) -> bool:
    s = cell.strip()
    return (
        0 < len(s) <= 40
        and "\n" not in s
        and not _NUMBER_RE.fullmatch(s)
        and s[-1] not in ".?!:;"
        and len(s.split()) <= 4
    )


def guess_header(rows: list[list[str]]) -> str:
    """Whether the first of these rows (a file's first rows, split) names the columns:
    "named" (all its cells are known column names: sure), "guessed" (its cells all look like
    names, are distinct, and differ from the rows below: a known name among them, a column of
    numbers under a word, or a column whose cells below are all 3+ words longer), or "none"."""
    if not rows:
        return "none"
    first = rows[0]
    if all(c.strip().lower() in KNOWN for c in first):
        return "named"  # even with a name twice: the reader then says which
    names = [c.strip() for c in first]
    if not all(_name_like(c) for c in names) or len({n.lower() for n in names}) != len(names):
        return "none"
    body = [r for r in rows[1:] if len(r) == len(first)]
    if not body:
        return "none"
    if any(n.lower() in KNOWN for n in names):
        return "guessed"
    for i, name in enumerate(names):
        cells = [r[i].strip() for r in body]
        if all(_NUMBER_RE.fullmatch(c) for c in cells if c) and any(cells):
            return "guessed"
        if all(len(c.split()) >= len(name.split()) + 3 for c in cells):
            return "guessed"
    return "none"


def _pick(names: list[str], *candidates: str) -> str | None:
    for c in candidates:
        if c in names:
            return c
    return None


def _mapping(names: list[str], options: dict[str, str], path: Path) -> dict[str, str | None]:
    m: dict[str, str | None] = {}
    m["instruction"] = options.get("instruction") or _pick(
        names, "instruction", "question", "prompt", "query", "inputs", "input", "text"
    )
    default_input = None
    if m["instruction"] != "input":
        default_input = _pick(names, "input", "context")
    m["input"] = options.get("input", default_input)
    out = options.get("output")
    if not out:
        if "rationale" in names and "answer" in names:
            out = COT_TEMPLATE
        else:
            out = _pick(names, "output", "response", "completion", "targets", "target", "answer")
    m["output"] = out
    for key in ("instruction", "output"):
        if not m[key]:
            raise UserInputError(
                f"no column for the {key} (columns: {names_text(names)})",
                path=path,
                line=1,
                field=key,
                hint=f"Name it with --option {key}=COLUMN (or a template like '{{question}}').",
            )
    for key, spec in m.items():
        if not spec:  # "" maps nothing to the field (input=: no input column)
            continue
        for col in [spec] if spec in names else template_fields(spec) or [spec]:
            if col not in names:
                raise UserInputError(
                    f"no column {col!r} (columns: {names_text(names)})",
                    path=path,
                    line=1,
                    field=key,
                    hint='A column whose name has braces is written {"{name}"} in a template.',
                )
    return m


def _value(spec: str | None, row: dict[str, str]) -> str:
    if not spec:
        return ""
    if spec in row:
        return row[spec]
    return fill_template(spec, row)


def read(path: Path, **options: str) -> list[Task]:
    bad: set[int] = set()
    text = decode_lines(read_bytes(path), path, bad)
    return read_text(text, path, bad_lines=frozenset(bad), **options)


def delimiter(path: Path, options: dict[str, str]) -> str:
    """The cell separator: `delimiter=` (tab, comma, semicolon, pipe), else by the suffix."""
    delim = options.get("delimiter")
    if delim:
        if delim not in _DELIMS:
            raise UserInputError(
                f"unknown delimiter {delim!r}",
                field="delimiter",
                hint="One of: " + ", ".join(_DELIMS) + ".",
            )
        return _DELIMS[delim]
    return "," if inner_suffix(path) == ".csv" else "\t"


def read_text(
    text: str, path: Path, *, bad_lines: frozenset[int] = frozenset(), **options: str
) -> list[Task]:
    """`read` on a table's text (the whole file, or its first rows for a preview: the mapping
    form checks its choice with this). Each task's meta gets `columns` (the mapping) and, when
    the header row was guessed (`header=auto`, first row not all known names), `header`:
    "guessed" (the first row was taken for names) or "none" (it was read as an example)."""
    sep = delimiter(path, options)
    rows = _rows(text, sep, bad_lines)
    if not rows:
        raise UserInputError("the file holds no rows", path=path, line=1)
    header = options.get("header", "auto")
    first_line, first = rows[0]
    guess = "none"
    if header == "auto" and not options.get("columns"):
        guess = guess_header([c for _, c in rows[:20]])
    choice = guess
    if options.get("columns"):
        names = _parse_columns(options["columns"])
        if header == "yes":
            rows = rows[1:]
    elif header == "yes" or guess != "none":
        names = [c.strip() for c in first]
        rows = rows[1:]
    elif len(first) == 3:
        names = list(FLAN_COT)
    elif len(first) == 2:
        names = list(FLAN_PAIR)
    else:
        raise UserInputError(
            f"{len(first)} columns and no header row to name them",
            path=path,
            line=first_line,
            hint="Name them with --option columns=a,b,c (e.g. "
            "question,answer,rationale), then map them with "
            "--option instruction=… output=….",
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserInputError(
            f"two columns have the same name: {names_text(twice)} (columns: {names_text(names)})",
            path=path,
            line=1,
            field="columns",
            hint="Name the columns apart with --option columns=a,b,c --option header=yes "
            "(the first row is then skipped).",
        )
    m = _mapping(names, options, path)
    verbatim = {spec for spec in m.values() if spec in names}
    examples: list[Example] = []
    for line, cells in rows:
        if len(cells) != len(names):
            reject(
                UserInputError(
                    f"{len(cells)} cells, expected {len(names)} ({', '.join(names)})",
                    path=path,
                    line=line,
                    field="columns",
                ),
                sep.join(cells),
            )
            continue
        row = dict(zip(names, cells))
        instruction = _value(m["instruction"], row)
        if not instruction.strip():
            reject(
                UserInputError(
                    "the instruction is empty", path=path, line=line, field=m["instruction"]
                ),
                row,
            )
            continue
        meta: dict[str, Any] = {k: v for k, v in row.items() if k not in verbatim}
        inst = Instance(input=_value(m["input"], row), output=_value(m["output"], row), meta=meta)
        examples.append(Example(line, instruction, inst))
    tasks = group_examples(examples, path, FORMAT)
    mapping = {k: v for k, v in m.items() if v}
    for t in tasks:
        t.meta["columns"] = mapping
        if header == "auto" and choice != "named" and not options.get("columns"):
            t.meta["header"] = choice  # a guess: the import summary says which
    return tasks


# --------------------------------------------------------------- inputs/targets records
PAIRS = "inputs-targets"
PAIR_OPTIONS: dict[str, tuple[str, ...] | None] = {
    "instruction": None,
    "input": None,
    "output": None,
}


def looks_like_pairs(obj: object) -> bool:
    """`{"inputs", "targets"}` records (xP3, FLAN collection exports, P3 renderings)."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("inputs"), str)
        and isinstance(obj.get("targets"), str)
    )


def _record_text(obj: dict, spec: str, path: Path, line: int, *, nonempty: bool = False) -> str:
    """The text a mapping names in a record: a field (text), or a template with `{field}`s."""
    from .reading import text_field

    if spec in obj or not _FIELD_RE.search(spec):
        return text_field(obj, spec, path, line, nonempty=nonempty)
    values = {k: text_field(obj, k, path, line) for k in template_fields(spec)}
    text = fill_template(spec, values)
    if nonempty and not text.strip():
        raise UserInputError("the field is empty", path=path, line=line, field=spec)
    return text


def pair_record(
    obj: Any,
    path: Path,
    line: int,
    ikey: str = "inputs",
    okey: str = "targets",
    input_key: str | None = None,
) -> Example:
    """One inputs/targets record as an example: `ikey` → instruction, `input_key` → input,
    `okey` → output, each a field name or a template with `{field}`s (as for tables). Fields
    not mapped verbatim are kept in its meta."""
    if not isinstance(obj, dict):
        raise UserInputError("expected a JSON object", path=path, line=line)
    instruction = _record_text(obj, ikey, path, line, nonempty=True)
    output = _record_text(obj, okey, path, line)
    input_ = _record_text(obj, input_key, path, line) if input_key else ""
    verbatim = {k for k in (ikey, okey, input_key) if k and k in obj}
    meta = {k: v for k, v in obj.items() if k not in verbatim}
    return Example(line, instruction, Instance(input=input_, output=output, meta=meta))


def read_pairs(path: Path, **options: str) -> list[Task]:
    """JSON Lines (or a JSON list) of `{"inputs", "targets", ...}`: inputs → instruction,
    targets → output (`instruction=`/`input=`/`output=` map other fields, or templates of
    them, so any records can be imported with a mapping); every other field (task, template,
    language, …) is kept in the example's meta."""
    from .reading import iter_records
    from .validation import parse_each

    ikey, okey = options.get("instruction", "inputs"), options.get("output", "targets")
    input_key = options.get("input") or None

    def parse(obj: Any, p: Path, line: int) -> Example:
        return pair_record(obj, p, line, ikey, okey, input_key)

    return group_examples(parse_each(iter_records(path), parse, path), path, PAIRS)
