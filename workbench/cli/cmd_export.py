"""`workbench export --format F --out PATH [--only not-dropped|including-dropped|verified]
[--run ID] [--tag T] [--lossy] [--option KEY=VALUE ...]`: write instruction files from the
workspace. A format that cannot hold some examples' fields refuses with the counts unless
`--lossy` (see workbench/core/formats/lossy.py).
`--cot-pairs RUN` writes a CoT run's preference pairs instead (a path that reached the gold
answer chosen, a wrong one rejected, with their SELF-CHECK confidences; formats trl, sharegpt,
openai-chat, alpaca); a run with no question that has both is refused, with the counts.

`--only` defaults to not-dropped: every task except those the decision in force drops (an
Inspect threshold applied, a person's override). The old names stay: kept = not-dropped,
all = including-dropped."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import UserInputError
from ..core.formats.exporter import ONLY, ONLY_ALIASES, ONLY_DEFAULT
from ..core.formats.lossy import describe
from ..core.formats.registry import export_formats, export_spec
from .common import ProgressPrinter, cancel_on_sigint, command, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "export", "write the workspace's tasks to an instruction file", run)
    p.add_argument(
        "--format", "-f", required=True, metavar="F", help="one of: " + ", ".join(export_formats())
    )
    p.add_argument(
        "--out",
        "-o",
        required=True,
        type=Path,
        metavar="PATH",
        help="the file to write (a folder for --format hf)",
    )
    p.add_argument(
        "--only",
        choices=(*ONLY, *ONLY_ALIASES),
        default=ONLY_DEFAULT,
        metavar="|".join(ONLY),
        help="not-dropped (default): every task except those Inspect dropped; "
        "including-dropped: every task; verified: tasks marked verified "
        "(kept and all: the old names of the first two)",
    )
    p.add_argument(
        "--run",
        type=int,
        default=None,
        metavar="ID",
        help="only this SELF-INSTRUCT or replay run's tasks (for selfcheck-traces: this "
        "sampling or SELF-CHECK import run's solutions); another id is refused (exit 2)",
    )
    p.add_argument("--tag", default=None, metavar="T", help="only tasks with this tag")
    p.add_argument(
        "--cot-pairs",
        type=int,
        default=None,
        metavar="RUN",
        help="write CoT run RUN's preference pairs (correct path chosen, wrong "
        "path rejected, with confidences): --format trl|sharegpt|openai-chat|"
        "alpaca",
    )
    p.add_argument(
        "--lossy",
        "--drop-unsupported",
        action="store_true",
        help="write examples whose fields the format cannot hold (history, rejected "
        "answers, KTO labels, tools, ...) without them, and report what was left "
        "out; without it such an export is refused with the counts",
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="format option, e.g. user_turn=combined (openai-chat), "
        "templates=fixed or seed=N (selfinstruct-finetune), layout=jsonl",
    )


def parse_options(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"expected KEY=VALUE, found {item!r}", field="option")
        out[key.strip()] = value.strip()
    return out


def run(args: argparse.Namespace) -> dict:
    from ..core.formats.exporter import export, run_problem, without_examples_note

    options = parse_options(args.option)
    if getattr(args, "cot_pairs", None) is not None:
        from ..core.errors import plural
        from ..core.formats.cot_pairs import export_cot_pairs, no_such_run
        from ..core.store.runs import get_run

        with open_workspace(args, read_only_ok=True) as ws:
            run = get_run(ws, args.cot_pairs)
            if run is None or run["kind"] != "cot":
                err = no_such_run(ws, args.cot_pairs)
                raise UserInputError(f"--cot-pairs {args.cot_pairs}: {err}")
            pairs = export_cot_pairs(ws, args.cot_pairs, args.format, args.out, **options)
        pairs["_human"] = (
            f"wrote {plural(pairs['count'], 'preference pair')} from "
            f"{plural(pairs['questions'], 'question')} of CoT run {args.cot_pairs} ({pairs['format']}) to "
            f"{pairs['path']}"
        )
        return pairs
    with open_workspace(args, read_only_ok=True) as ws, cancel_on_sigint() as token:
        export_spec(args.format)  # an unknown format is named before the run
        if args.run is not None and (problem := run_problem(ws, args.run, args.format)) is not None:
            raise UserInputError(f"--run {args.run}: {problem}")
        result = export(
            ws,
            args.format,
            args.out,
            only=args.only,
            run_id=args.run,
            tag=args.tag,
            progress=ProgressPrinter(),
            cancel=token,
            lossy=args.lossy,
            **options,
        ).to_dict()
    result["_human"] = f"wrote {result['count']} records ({result['format']}) to {result['path']}"
    if result["left_out"]:
        result["_human"] += "; left out: " + describe(result["left_out"])
    if result.get("without_examples"):  # instructions only: no record to write for them
        result["_human"] += "; " + without_examples_note(result["without_examples"])
    return result
