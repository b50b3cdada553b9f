"""The column-mapping form of the import: which column (or JSON field) is the instruction, the
input, the output and the rationale, with the first rows to see them by.

Shown for TSV/CSV files (FLAN's CoT tables) and for JSON records whose fields no format knows.
It only chooses the reader options; the core reads the file (workbench/core/formats/tabular.py:
`tabular` for tables with `columns=`, `header=`, `instruction=`, `input=`, `output=`;
`inputs-targets` with `instruction=`, `input=`, `output=` for JSON records), the same options
as `workbench import --option KEY=VALUE`. A rationale column makes the output FLAN's CoT target
(`tabular.COT_TEMPLATE`: "{rationale} So the answer is {answer}."); the columns stay in each
example's meta under their own names, so nothing is lost.

The form never offers a mapping the import then refuses: each choice is read by the core's own
reader (`tabular.read_text` on the first rows, `tabular.pair_record` on the first records) and
its error is shown under the fields with Import disabled; the first example shown is the one
the core made. Then the whole file (up to `FULL_CHECK_BYTES`) is read by the import itself in
preview (`whole_file_check`: `import_file(..., preview=True)` into a scratch workspace), in a
worker (`workers.JobThread`, started by the window's `start_job`) while the form stays usable
and says "Checking the whole of NAME…"; Import stays disabled until the check of the mapping
now chosen has passed. If some records are bad, the form shows how many and the first few (line,
field) and offers "Import the valid records (reject N)" (`skip_invalid`, as the window's banner
does) instead of a plain Import that would fail. A larger file is checked only by its first
rows and the form says so. One check runs at a time: a mapping changed while one runs is
checked when it ends (the core's reader cannot be interrupted), and a result is shown only for
the mapping it was made with (results are kept per mapping while the form is open). A header
row is ticked when `tabular.guess_header` takes the first row for names (as the command line's
auto-detection does). Two columns of one name are told apart as
`name`, `name_2` (passed as `columns=`). A JSON field holding an object or a list cannot be the
instruction, input or output (the core says so; the field stays in each example's meta when
another is chosen). Column names with braces or commas are written as the core's mapping syntax
needs (`tabular.field_ref`, `tabular.columns_option`).
"""

from __future__ import annotations

import json
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import UserInputError
from ..core.formats import tabular
from ..core.formats.common import decode_utf8, read_bytes
from ..core.formats.compression import inner_suffix
from ..core.formats.reading import iter_records
from ..core.formats.validation import rejected_path
from .theme import status_color
from .undo_commands import _short as short
from .workers import JobContext, JobThread

PREVIEW_ROWS = 5
# Files up to this size are read whole by the core (a preview import into a scratch workspace,
# in a worker) before Import is offered; larger ones only by their first rows (the form says
# so). The core's reader holds the whole file (about 15x its size in memory) and cannot be
# interrupted: 32 MB take about 20 s on one core, within the 30 s the window waits for its
# jobs when it closes (`JobThread.stop`). Measured: 33 MB of 125-byte CSV rows, 16.7 s and
# 460 MB peak; 10 MB of CSV or JSONL, 6.7 s and 155 MB (many short rows take longer per MB).
FULL_CHECK_BYTES = 32 << 20
# The worker's name (MainWindow lists it with the background jobs: it touches no workspace).
CHECK_JOB = "import-check"
# Checks of forms opened without a window (tests, the screenshot script), held until they end.
_HELD: set[JobThread] = set()


def _start_held(thread: JobThread) -> bool:
    """`MainWindow.start_job`'s holding, for a form without a window: the worker is kept
    until it ends (never destroyed while it runs, whenever the form goes), then deleted."""

    def ended() -> None:
        _HELD.discard(thread)
        thread.deleteLater()

    _HELD.add(thread)
    thread.finished.connect(ended)
    thread.start()
    return True


# Enough of a table to show its first rows without splitting a whole large file.
_PREVIEW_BYTES = 1 << 16
FIELDS = ("instruction", "input", "output", "rationale")
NONE = "(none)"


def is_table(path: Path) -> bool:
    """A TSV/CSV file (compressed or not): imported through a column mapping."""
    return inner_suffix(path) in tabular.EXTENSIONS


@dataclass
class Preview:
    """The first rows of a file as the mapping form shows them.

    `kind` "table" (TSV/CSV) or "records" (JSON); `cells` the first rows as read, before any
    header is taken out (tables) or each record's values as text (records); `first_is_header`
    whether the core takes the first row for names (`tabular.guess_header`: `guess`);
    `width` the number of columns of the first row; `text` the table's first rows as text and
    `records` the first (line, record) pairs, for the core's reader to check a mapping on."""

    path: Path
    kind: str
    cells: list[list[str]]
    first_is_header: bool = False
    keys: list[str] = field(default_factory=list)
    width: int = 0
    guess: str = "none"
    text: str = ""
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def names(self, header: bool) -> list[str]:
        """Column names: the first row's when it is a header; else FLAN's for 3 and 2 columns
        (as the core names them), `column_1`, … otherwise. Records: their field names."""
        if self.kind == "records":
            return list(self.keys)
        if header and self.cells:
            return unique_names([c.strip() for c in self.cells[0]])
        if self.width == 3:
            return list(tabular.FLAN_COT)
        if self.width == 2:
            return list(tabular.FLAN_PAIR)
        return [f"column_{i + 1}" for i in range(self.width)]

    def rows(self, header: bool) -> list[dict[str, str]]:
        names = self.names(header)
        body = self.cells[1:] if header and self.kind == "table" else self.cells
        return [dict(zip(names, r)) for r in body[:PREVIEW_ROWS] if len(r) == len(names)]


def preview(path: Path) -> Preview:
    """The first rows of a table (split by the core's own row reader) or of JSON records.
    UserInputError for a file that cannot be read (named, with the line)."""
    if is_table(path):
        text = decode_utf8(read_bytes(path), path)
        cut = len(text) > _PREVIEW_BYTES
        sep = "," if inner_suffix(path) == ".csv" else "\t"
        rows = tabular._rows(text[:_PREVIEW_BYTES], sep)
        if cut and len(rows) > 1:
            rows = rows[:-1]  # the cut may end inside the last row
        if not rows:
            raise UserInputError("the file holds no rows", path=path, line=1)
        head = text[:_PREVIEW_BYTES]
        if len(rows) > PREVIEW_ROWS + 1:  # the text of the rows shown, for the core to read
            head = "\n".join(head.split("\n")[: rows[PREVIEW_ROWS + 1][0] - 1])
        cells = [r for _, r in rows[: PREVIEW_ROWS + 1]]
        guess = tabular.guess_header(cells)
        return Preview(
            path,
            "table",
            cells,
            first_is_header=guess != "none",
            width=len(cells[0]),
            guess=guess,
            text=head,
        )
    records: list[tuple[int, dict[str, Any]]] = []
    for line, obj in iter_records(path):
        if isinstance(obj, dict):
            records.append((line, obj))
        if len(records) >= PREVIEW_ROWS:
            break
    if not records:
        raise UserInputError("no JSON records (objects) to map", path=path, line=1)
    keys: list[str] = []
    for _, r in records:
        keys += [k for k in r if k not in keys]
    cells = [[_cell(r.get(k)) for k in keys] for _, r in records]
    return Preview(path, "records", cells, keys=keys, width=len(keys), records=records)


def unique_names(names: list[str]) -> list[str]:
    """Header names told apart: a name seen before gets `_2`, `_3`, … (as the form passes them
    in `columns=`; the core refuses a header with a name twice)."""
    out: list[str] = []
    for name in names:
        new, n = name, 1
        while new in out or (new != name and new in names):
            n += 1
            new = f"{name}_{n}"
        out.append(new)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def default_mapping(names: list[str]) -> dict[str, str | None]:
    """The core's own choice for these columns (tabular's defaults), split into the form's four
    fields; None where it picks nothing."""
    try:
        m = tabular._mapping(names, {}, Path("-"))
    except UserInputError:  # no output column among them: still pick the instruction
        ins = tabular._pick(names, "instruction", "question", "prompt", "query", "inputs", "text")
        m = {"instruction": ins, "input": None, "output": None}
    out: dict[str, str | None] = {k: m.get(k) for k in ("instruction", "input", "output")}
    out["rationale"] = None
    if out["output"] == tabular.COT_TEMPLATE:
        out["output"], out["rationale"] = "answer", "rationale"
    return out


def output_spec(output: str, rationale: str | None) -> str:
    """The reader's `output=`: the column, or with a rationale FLAN's CoT template."""
    if not rationale:
        return output
    return tabular.COT_TEMPLATE.replace("{rationale}", tabular.field_ref(rationale)).replace(
        "{answer}", tabular.field_ref(output)
    )


def whole_file_check(
    path: Path, fmt: str, options: dict[str, str], scratch: Path
) -> tuple[int, str]:
    """The import's own preview of the whole of `path` with these reader options, into a new
    scratch workspace at `scratch` (a path where no file is; closed, not removed, at the end):
    (bad records, their first few as "line N: field: message"), (-2, the core's error) when
    the file as a whole cannot be read, or (0, "") when every record reads. Runs in a worker:
    it touches no widget."""
    from ..core.formats.importer import import_file
    from ..core.formats.validation import InvalidRecords
    from ..core.store.workspace import Workspace

    ws = Workspace.create(scratch)
    try:
        import_file(ws, path, fmt, options=options, preview=True)
    except InvalidRecords as exc:
        first = [f"{p.where() or 'the file'}: {p.message}" for p in exc.problems.items[:3]]
        return exc.total, "; ".join(first)
    except UserInputError as exc:  # not a record's fault: no valid records to offer
        return -2, str(exc)
    finally:
        ws.close()
    return 0, ""


class ImportMappingDialog(QDialog):
    """Map the columns of `path` to instruction / input / output / rationale; `fmt()` and
    `options()` are what `MainWindow.import_path` is given when the dialog is accepted.
    `reason` (optional) says why it is shown (e.g. the detection's message for JSON records).

    `start_job` is the window's `MainWindow.start_job`: it starts the whole-file check's
    worker and holds it until it ends (and stops it when the window closes), so closing the
    form never waits for a check nor destroys a running one; the check's result is then
    dropped. Without it (a form on its own) the worker is held the same way here."""

    def __init__(
        self,
        path: Path,
        reason: str = "",
        parent: QWidget | None = None,
        start_job: Callable[[JobThread], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path
        self.pv = preview(path)
        self.file_bytes = path.stat().st_size
        self._start_job = start_job or _start_held
        # Whole-file check results by mapping ((format, options) → (bad, detail)), the
        # worker now running (one at a time) and the mapping it checks.
        self._results: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[int, str]] = {}
        self._check: JobThread | None = None
        self._check_for: tuple[str, tuple[tuple[str, str], ...]] | None = None
        self._closed = False
        # Whether the mapping now chosen waits for its whole-file check (Import disabled).
        self.checking = False
        self.setWindowTitle(f"Import {path.name}: map the columns")
        self.setMinimumWidth(720)
        if self.pv.kind == "records":
            what = "JSON records whose fields no format knows: say which field is which."
        elif self.pv.first_is_header:
            what = f"A table of {self.pv.width} columns; the first row names them" + (
                " (a guess: untick it if the first row is an example)."
                if self.pv.guess == "guessed"
                else "."
            )
        elif self.pv.width in (2, 3):
            layout = "CoT files" if self.pv.width == 3 else "inputs/targets files"
            what = (
                f"A table of {self.pv.width} columns without a header row: named as FLAN's "
                f"{layout} are ({', '.join(self.pv.names(False))})."
            )
        else:
            what = f"A table of {self.pv.width} columns without a header row."
        self.about = QLabel((reason + "\n" if reason else "") + what)
        self.about.setWordWrap(True)
        self.header = QCheckBox("The first row names the columns")
        self.header.setChecked(self.pv.first_is_header)
        self.header.setVisible(self.pv.kind == "table")
        self.header.setToolTip(
            "Unticked, a 3-column table is named question, answer, rationale and a 2-column "
            "one inputs, targets (FLAN's layouts); others column_1, column_2, …"
        )
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        if self.pv.width <= 6:
            self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.combos: dict[str, QComboBox] = {}
        form = QFormLayout()
        tips = {
            "instruction": "The task's instruction (required). Examples sharing one form a task.",
            "input": "The example's input (optional).",
            "output": "The answer (required); with a rationale, the final answer.",
            "rationale": "A chain of thought: the output becomes FLAN's CoT target "
            "'{rationale} So the answer is {answer}.' (optional).",
        }
        for name in FIELDS:
            combo = QComboBox()
            combo.setToolTip(tips[name])
            self.combos[name] = combo
            form.addRow("&" + name.capitalize(), combo)
            combo.currentIndexChanged.connect(self._update)
        self.sample = QLabel()
        self.sample.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.busy = QProgressBar()  # shown while the whole file is checked (no known end)
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(8)
        self.busy.hide()
        self.command = QLabel()
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command.setToolTip("The same import from the command line.")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.import_btn = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_btn.setText("Import")
        # Shown when the whole file has bad records: imports the others (skip_invalid).
        self.skip_invalid = False
        self.skip_btn = self.buttons.addButton(
            "Import the valid records", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.skip_btn.hide()
        self.skip_btn.clicked.connect(self._accept_valid)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.about)
        lay.addWidget(self.header)
        lay.addWidget(QLabel(f"First rows of {path.name}:"))
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addWidget(self.sample)
        lay.addWidget(self.message)
        lay.addWidget(self.busy)
        lay.addWidget(self.command)
        lay.addWidget(self.buttons)
        self.header.toggled.connect(self._columns_changed)
        self._columns_changed()

    # ------------------------------------------------------------------ state
    def names(self) -> list[str]:
        return self.pv.names(self.header.isChecked())

    def mapping(self) -> dict[str, str | None]:
        """field → column name (None: not mapped)."""
        return {
            k: (c.currentText() if c.currentIndex() > 0 else None) for k, c in self.combos.items()
        }

    def fmt(self) -> str:
        return tabular.FORMAT if self.pv.kind == "table" else tabular.PAIRS

    def options(self) -> dict[str, str]:
        """The reader options for the chosen mapping (as `--option KEY=VALUE` would give)."""
        m = self.mapping()
        opts: dict[str, str] = {
            "instruction": m["instruction"] or "",
            "input": m["input"] or "",
            "output": output_spec(m["output"] or "", m["rationale"]),
        }
        if self.pv.kind == "table":
            header = self.header.isChecked()
            opts["header"] = "yes" if header else "no"
            if not header or self.names() != [c.strip() for c in self.pv.cells[0]]:
                opts["columns"] = tabular.columns_option(self.names())
        return opts

    def check(self) -> tuple[Any, str]:
        """The core's reading of the first rows with the chosen mapping: (first example as
        (instruction, input, output), "") or (None, the core's error)."""
        opts = self.options()
        try:
            if self.pv.kind == "table":
                tasks = tabular.read_text(self.pv.text, self.path, **opts)
                if not tasks or not tasks[0].instances:
                    return None, "No example in the first rows."
                inst = tasks[0].instances[0]
                return (tasks[0].instruction, inst.input, inst.output), ""
            first = None
            for line, obj in self.pv.records:
                ex = tabular.pair_record(
                    obj, self.path, line, opts["instruction"], opts["output"], opts["input"] or None
                )
                inst = ex.instance
                if first is None and inst is not None:
                    first = (ex.instruction, inst.input, inst.output)
            return first, ""
        except UserInputError as exc:
            return None, str(exc)

    def _key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.fmt(), tuple(sorted(self.options().items()))

    def check_whole(self) -> tuple[int, str] | None:
        """The whole-file check of the mapping now chosen (see `whole_file_check`): its result,
        (-1, note) when the file is too large to check here, (-3, message) when the check
        itself failed, or None while it runs (started here when it is not yet)."""
        if self.file_bytes > FULL_CHECK_BYTES:
            return -1, (
                f"Checked the first rows only ({self.file_bytes / 1e6:.0f} MB file); the import "
                "reads the rest and lists any bad record."
            )
        key = self._key()
        if key in self._results:
            return self._results[key]
        if self._check is None:  # else it starts when the running one ends (_check_ended)
            self._start_check(key)
        return None

    def _start_check(self, key: tuple[str, tuple[tuple[str, str], ...]]) -> None:
        path, fmt, options = self.path, self.fmt(), self.options()
        scratch = Path(tempfile.mkdtemp(prefix="workbench-check-")) / "check.sqlite"

        def job(ctx: JobContext) -> Any:
            try:
                ctx.cancel.check()  # the form closed before the check started
                return whole_file_check(path, fmt, options, ctx.workspace_path)
            finally:
                shutil.rmtree(ctx.workspace_path.parent, ignore_errors=True)

        thread = JobThread(CHECK_JOB, scratch, job)  # no parent: see `start_job`
        thread.succeeded.connect(self._check_succeeded)
        thread.failed.connect(self._check_failed)
        thread.finished.connect(self._check_ended)
        self._check, self._check_for = thread, key
        if not self._start_job(thread):  # never for this job; said in case it changes
            self._check = None
            shutil.rmtree(scratch.parent, ignore_errors=True)
            self._results[key] = (-3, "the window did not start it")

    def _check_succeeded(self, result: tuple[int, str]) -> None:
        if self._check_for is not None:
            self._results[self._check_for] = result

    def _check_failed(self, message: str) -> None:
        if self._check_for is not None:  # kept: the same mapping is not checked again
            self._results[self._check_for] = (-3, message)

    def _check_ended(self) -> None:
        """The running check ended: show its result if its mapping is still the one chosen,
        else check the mapping now chosen."""
        self._check, self._check_for = None, None
        if not self._closed:
            self._update()

    def done(self, result: int) -> None:
        """Close the form (Import, Cancel, Escape, the close button). A running check is told
        to stop and its result dropped; the window holds it until it ends (see `start_job`)."""
        self._closed = True
        thread, self._check = self._check, None
        if thread is not None:
            thread.succeeded.disconnect(self._check_succeeded)
            thread.failed.disconnect(self._check_failed)
            thread.finished.disconnect(self._check_ended)
            thread.token.cancel()
        super().done(result)

    # ------------------------------------------------------------------ view
    def _columns_changed(self) -> None:
        names = self.names()
        rows = self.pv.rows(self.header.isChecked())
        self.table.clear()
        self.table.setColumnCount(len(names))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(names)
        for r, row in enumerate(rows):
            for c, name in enumerate(names):
                text = row.get(name, "")
                item = QTableWidgetItem(short(text, 80))
                item.setToolTip(text[:2000])
                self.table.setItem(r, c, item)
        default = default_mapping(names)
        for key, combo in self.combos.items():
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(NONE)
            combo.addItems(names)
            want = default.get(key)
            combo.setCurrentIndex(names.index(want) + 1 if want in names else 0)
            combo.blockSignals(False)
        self._update()

    def _update(self) -> None:
        m = self.mapping()
        problems = [f"Choose the {k} column." for k in ("instruction", "output") if not m[k]]
        if m["rationale"] and m["rationale"] == m["output"]:
            problems.append("The rationale and the output are the same column.")
        example = None
        if not problems:
            example, error = self.check()
            if error:
                problems.append("The import would stop here: " + error)
        bad, detail, checking = 0, "", False
        if not problems:
            state = self.check_whole()
            checking = state is None
            bad, detail = state or (0, "")
            if bad > 0:
                problems.append(
                    f"{bad:,} record{'s' if bad != 1 else ''} of {self.path.name} cannot be "
                    f"imported with this mapping ({detail}). Fix the file, choose other "
                    f"columns, or import the valid records (the rejected are written to "
                    f"{rejected_path(self.path).name} with their reasons)."
                )
            elif bad == -2:
                problems.append("The import would stop here: " + detail)
            elif bad == -3:
                problems.append(f"The whole file could not be checked: {detail}")
        notes = []
        if not problems and bad == -1:
            notes.append(detail)
        if checking:
            notes.append(
                f"Checking the whole of {self.path.name} with this mapping… Import is offered "
                "when every record reads."
            )
        if self.pv.kind == "table" and self.header.isChecked():
            raw = [c.strip() for c in self.pv.cells[0]]
            twice = sorted({n for n in raw if raw.count(n) > 1})
            if twice:
                notes.append(
                    f"Two columns are named {', '.join(map(repr, twice))}: they are told apart "
                    f"here as {tabular.names_text(self.names())} (the import is given these "
                    "names); choose which is which."
                )
        self.checking = checking
        self.import_btn.setEnabled(not problems and not checking)
        self.busy.setVisible(checking)
        self.skip_btn.setVisible(bad > 0 and example is not None)
        self.skip_btn.setText(f"Import the valid records (reject {max(bad, 0):,})")
        color = status_color("warning")
        self.message.setText(" ".join(notes + problems))
        self.message.setVisible(bool(notes or problems))
        self.message.setStyleSheet(f"color: {color};" if (notes or problems) and color else "")
        self.command.setText(
            ""
            if problems and not self.skip_btn.isVisibleTo(self)
            else f"Command line: workbench import {shlex.quote(str(self.path))} --format "
            + self.fmt()
            + "".join(f" --option {shlex.quote(f'{k}={v}')}" for k, v in self.options().items())
            + (" --skip-invalid" if problems else "")
        )
        if example is None or (problems and not bad > 0):
            self.sample.setText("")
            return
        instruction, input_, output = example
        self.sample.setText(
            "First example → instruction: "
            + short(instruction, 90)
            + (f" · input: {short(input_, 60)}" if m["input"] else "")
            + f" · output: {short(output, 120)}"
        )

    def _accept_valid(self) -> None:
        """Accept with `skip_invalid`: the valid records are imported, the bad rejected."""
        self.skip_invalid = True
        self.accept()
