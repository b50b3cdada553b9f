"""`workbench import PATH [--format F] [--option KEY=VALUE ...] [--split NAME] [--skip-invalid]
[--rejected-out FILE] [--compat reference|fixed] [--dedup-rouge T] [--dry-run]`: a file
(plain or .gz/.bz2/.zst), a dataset folder (Hugging Face Hub layout), a reference
Self-Instruct run folder, or any other folder as a collection of files (each detected on its
own, a summary line per file; docs/formats.md "Folders of files") into the workspace.

Every bad record is reported at once (up to 50 listed, with the total; with --json in
`problems` of the error object). Nothing is imported then, unless --skip-invalid: the valid
records are imported and the rejected ones written with their reasons to
`<name>.rejected.jsonl` beside the input (or --rejected-out)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ..core.errors import UserInputError
from ..core.formats.importer import import_file
from ..core.formats.registry import import_formats
from ..core.store.workspace import Workspace
from .common import command, open_workspace, workspace_path


def register(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub,
        "import",
        "import tasks from a file, a dataset folder or a folder of files (formats detected)",
        run,
    )
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument(
        "--format",
        "-f",
        default=None,
        metavar="F",
        help="one of: " + ", ".join(import_formats()) + " (default: detected)",
    )
    p.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a reader option, e.g. for tabular files columns=question,answer,"
        "rationale or output='{rationale} So the answer is {answer}.'; for "
        "dataset folders rows=FORMAT (docs/formats.md)",
    )
    p.add_argument(
        "--split",
        default=None,
        metavar="NAME",
        help="the split of a dataset folder with several (the error lists them)",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid records; write the rejected ones with their reasons "
        "to NAME.rejected.jsonl beside the input",
    )
    p.add_argument(
        "--rejected-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="where --skip-invalid writes the rejected records",
    )
    p.add_argument(
        "--compat",
        choices=("reference", "fixed"),
        default=None,
        help="for a reference run folder: replay with the reference's behaviour "
        "or with its known bugs fixed",
    )
    p.add_argument(
        "--dedup-rouge",
        type=float,
        default=None,
        metavar="T",
        help="also skip tasks whose ROUGE-L against the workspace is above T",
    )
    p.add_argument("--dry-run", action="store_true", help="count only; write nothing")
    add_tokenizer_arg(p)


def add_tokenizer_arg(p: argparse.ArgumentParser) -> None:
    from ..core.similarity import TOKENIZERS

    p.add_argument(
        "--tokenizer",
        choices=sorted(TOKENIZERS),
        default=None,
        help="switch the workspace's ROUGE-L tokenizer (recorded; 'unicode' sees "
        "Chinese, Japanese, Korean, Thai and words with combining marks)",
    )


def warn_unseen(ws: Workspace, result: dict[str, Any]) -> None:
    """Warn (stderr, and `rouge_unseen` in the result) when ROUGE-L cannot see some tasks."""
    from ..core.similarity import tokenizer_coverage

    coverage = tokenizer_coverage(ws)
    if coverage.unseen:
        result["rouge_unseen"] = coverage.to_dict()
        print(f"warning: {coverage.message()}", file=sys.stderr)


def parse_options(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings as a dict (the value may hold '=')."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"expected KEY=VALUE, found {pair!r}", field="option")
        out[key.strip()] = value
    return out


def reasoning_file_error(exc: UserInputError, path: Path, fmt: str | None) -> UserInputError:
    """`exc` itself, or, when no instruction format matched a file that holds reasoning traces
    (ProcessBench, MR-GSM8K, selfcheck-traces), an error that says so and names
    `workbench self-check --traces FILE`."""
    from ..core.selfcheck.importers import reasoning_layout

    if fmt is not None or "could not be recognised" not in exc.message or not path.is_file():
        return exc
    layout = reasoning_layout(path)
    if layout in (None, "gsm8k"):  # GSM8K questions: the core's message names `cot` already
        return exc
    return UserInputError(
        f"the format could not be recognised: the file holds reasoning traces ({layout} "
        "layout), not instruction data",
        path=exc.path,
        line=exc.line,
        record=exc.record,
        hint=f"Check them with `workbench self-check --traces {path}` (docs/selfcheck.md; in "
        "the window: Reasoning › Import traces). To import it as instructions anyway, name a "
        "format with --format.",
    )


def run(args: argparse.Namespace) -> dict:
    options = parse_options(args.option)
    if args.split is not None:
        options["split"] = args.split
    if args.tokenizer and args.dry_run:
        raise UserInputError(
            "--tokenizer switches the workspace's tokenizer, which --dry-run must not do",
            field="tokenizer",
            hint="Run the dry run without --tokenizer, or the import without --dry-run.",
        )
    with ExitStack() as stack:
        if args.dry_run and not workspace_path(args).exists():
            # --dry-run writes nothing, not even the workspace: a new one has no tasks to
            # compare with, so an empty scratch workspace gives the same counts.
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="preview-")))
            ws = stack.enter_context(Workspace.open(scratch / "preview.sqlite", create=True))
        else:
            ws = stack.enter_context(open_workspace(args, create=True))
        if args.tokenizer:
            from ..core.similarity import set_workspace_tokenizer

            set_workspace_tokenizer(ws, args.tokenizer)
        try:
            res = import_file(
                ws,
                args.path,
                args.format,
                compat=args.compat,
                dedup_threshold=args.dedup_rouge,
                preview=args.dry_run,
                options=options or None,
                skip_invalid=args.skip_invalid,
                rejected_out=args.rejected_out,
            )
        except UserInputError as exc:
            better = reasoning_file_error(exc, args.path, args.format)
            if better is exc:
                raise
            raise better from exc
        result = res.to_dict()
        warn_unseen(ws, result)
    summary = getattr(res, "summary", None)
    if callable(summary):
        result["_human"] = summary()
    return result
