"""Instruction quality: how well the step-1 rules sort valid from invalid candidates.

    python bench/quality.py --labels FILE            # a labelled file (layout below)
    python bench/quality.py --labels FILE --run 7    # + a fresh chat run of the default model
    python bench/quality.py --run 7 --server URL [--server-model NAME]   # a model on a server
    python bench/quality.py --run 7 --workspace W    # the run's candidates only (kept in W)

A labelled file is JSON lines with at least `instruction` (as the model wrote it) and `valid`
(true/false: "does this, as written — ignoring surrounding quotes and list numbering — describe
a task a model could perform?", docs/quality.md); optional `normalised_valid` labels the text
once normalised (a date stamp stripped: see "repaired" below), `decision` is the run's; other
`lang` ("en", "zh") overrides `--lang` for the row; other fields (reason, split, seed,
candidate, run) are informative.
Several files may follow `--labels`: each is reported on its own, marked *in-sample* (the
shared file: the rule was written reading it) or *held-out* (rows with `"split": "held-out"`,
as in bench/data/heldout_labels_seed*.jsonl: labelled by hand after the rule was written),
then a summary line per file and one for all held-out files pooled. For a file that records
the run's decisions, the share of the run's kept tasks that are valid by the labels is printed,
and the share among those the rules as they are now would still keep.
`--labels-out FILE` writes a fresh run's candidates in that layout, with the rule's guess in
`valid`, for a person to correct and feed back.

For the labelled file, each candidate is normalised and judged by the step-1 rules as a run
judges it (filters.instruction_reason after validity.normalise; ROUGE-L is not a rule about the
text alone and is left out). An invalid candidate counts as caught when the rules drop it, or
when normalisation *repairs* it — strips a date stamp, which the rubric does not ignore, and
leaves text that passes:
"repaired counts as dropped-then-fixed". Precision and recall are those of catching invalid
candidates; the reference's rules on the raw text are printed beside them for comparison. The
last line reads `invalid dropped N% · valid dropped M%`.

For a fresh run (`--run SEED`: `workbench init` and `workbench self-instruct --preset chat
--target 30 --seed SEED` in a temporary workspace, exactly as a user would; the model options
are the CLI's own, `--model PATH` or `--server URL [--server-model NAME] [--api-key K]
[--concurrency K]`, handed to it as given, so the CLI opens the backend), every candidate is
printed with its decision, and the kept ones with the rule's verdict, so a person can check
the labels; the rule's share of valid kept tasks is printed. With the rule on (the default)
that share is 100% by construction — what it shows is what a person's labels then say; run with
`--compat reference` (the paper's behaviour, rule off) for the before figure.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.cli.common import add_model_args  # noqa: E402
from workbench.core.selfinstruct.filters import (  # noqa: E402
    InstructionRules,
    instruction_reason,
)
from workbench.core.selfinstruct.validity import normalise, shape  # noqa: E402


def judge(raw: str, lang: str = "en") -> dict[str, Any]:
    """The step-1 rules' verdict on one candidate as the model wrote it."""
    rules = InstructionRules.for_lang(lang)
    n = normalise(raw, lang)
    reason = instruction_reason(n.text, rules)
    reference = instruction_reason(raw.strip(), InstructionRules.for_lang(lang, compat="reference"))
    return {
        "text": n.text,
        "changes": n.changes,
        "reason": None if reason is None else str(reason),
        "kind": shape(n.text, lang).kind,
        "dropped": reason is not None,
        # The rubric ignores quotes and numbering, not date stamps: only a stripped date can
        # repair an item that was invalid as written.
        "repaired": reason is None and "date" in n.changes,
        "reference_dropped": reference is not None,
    }


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "n/a"


def _split(rows: list[dict[str, Any]]) -> str:
    """The rows' `split` field ("held-out", "in-sample", "experiment": a run with other
    generation settings); unstated: in-sample (the shared file, which the rule was written
    reading, has none)."""
    splits = {r.get("split") for r in rows} - {None}
    return splits.pop() if len(splits) == 1 else "in-sample"


def report_labels(path: Path, lang: str) -> dict[str, Any]:
    """Print every labelled candidate with the rules' verdict; returns the counts (`split`,
    `tp` `fn` `fp` `tn`: invalid caught / missed, valid dropped / kept; `kept`,
    `kept_valid`, `still_kept`, `still_kept_valid`: the run's kept rows)."""
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    split = _split(rows)
    note = {
        "held-out": "held-out: a run labelled before the rule's changes it is measured on",
        "experiment": "experiment: a run with other generation settings",
    }.get(split, "in-sample: the rule was written reading this file")
    print(f"== labelled candidates ({note}): {path} ({len(rows)})")
    print("label   verdict   reason or kind       text (normalised; kinds: validity.py)")
    tp = fn = fp = tn = repaired = ref_tp = ref_fp = 0
    kept_valid = kept = still_kept = still_kept_valid = 0
    for r in rows:
        v = judge(r["instruction"], r.get("lang", lang))
        # A file may label the normalised text too (`normalised_valid`): then only an item
        # that normalisation made valid counts as repaired.
        v["repaired"] = v["repaired"] and r.get("normalised_valid", True)
        caught = v["dropped"] or v["repaired"]
        if r["valid"]:
            fp += v["dropped"]
            tn += not v["dropped"]
            ref_fp += v["reference_dropped"]
        else:
            tp += caught
            fn += not caught
            repaired += v["repaired"]
            ref_tp += v["reference_dropped"]
        if r.get("decision") == "kept":
            kept += 1
            kept_valid += bool(r["valid"])
            still_kept += not v["dropped"]
            still_kept_valid += bool(r["valid"]) and not v["dropped"]
        verdict = "dropped" if v["dropped"] else ("repaired" if v["repaired"] else "kept")
        wrong = (r["valid"] and v["dropped"]) or (not r["valid"] and not caught)
        label = "valid" if r["valid"] else "invalid"
        why = v["kind"] if v["reason"] in (None, "not-an-instruction") else v["reason"]
        print(f"{'!' if wrong else ' '}{label:<7} {verdict:<9} {why:<20} {v['text'][:100]}")
    invalid, valid = tp + fn, tn + fp
    print(f"invalid {invalid}, valid {valid}; '!' marks a disagreement with the label")
    print(
        f"precision {_pct(tp, tp + fp)} · recall {_pct(tp, invalid)} "
        f"(catching invalid candidates; the reference's rules on the raw text: "
        f"invalid dropped {_pct(ref_tp, invalid)}, valid dropped {_pct(ref_fp, valid)})"
    )
    if kept:
        # The run's kept tasks by the labels, and those the rules as they are now still keep
        # (an estimate: with other rules the run would have drawn other candidates too).
        print(
            f"kept by the run: {kept_valid}/{kept} valid ({_pct(kept_valid, kept)}); "
            f"of those the rules now keep: {still_kept_valid}/{still_kept} valid "
            f"({_pct(still_kept_valid, still_kept)})"
        )
    print(
        f"repaired counts as dropped-then-fixed: {repaired} invalid candidate(s) repaired by "
        "normalisation into text that passes are counted as dropped"
    )
    return dict(
        split=split,
        tp=tp,
        fn=fn,
        fp=fp,
        tn=tn,
        kept=kept,
        kept_valid=kept_valid,
        still_kept=still_kept,
        still_kept_valid=still_kept_valid,
    )


def figures_line(c: dict[str, Any]) -> str:
    return (
        f"invalid dropped {_pct(c['tp'], c['tp'] + c['fn'])} · "
        f"valid dropped {_pct(c['fp'], c['fp'] + c['tn'])}"
    )


def model_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The CLI's model options (`add_model_args`: --model, --server, --server-model, --api-key,
    --concurrency...) that `args` sets away from their defaults, as `workbench self-instruct`
    arguments: a repeated --server stays repeated."""
    group = next(g for g in parser._action_groups if g.title == "model")
    out: list[str] = []
    for action in group._group_actions:
        value = getattr(args, action.dest)
        if value is None or value == action.default:
            continue
        for v in value if isinstance(value, list) else [value]:
            out += [action.option_strings[0], str(v)]
    return out


def _shown(cmd: list[str]) -> str:
    """The command line to print, the API key left out."""
    return " ".join("***" if i and cmd[i - 1] == "--api-key" else c for i, c in enumerate(cmd))


def fresh_run(
    seed: int,
    target: int,
    preset: str,
    compat: str | None,
    workspace: Path | None,
    model: list[str],
) -> Path:
    """`workbench init` + `workbench self-instruct` as a user runs them, with the CLI's model
    options `model` (`model_options`; [] for the default model); returns the workspace."""
    ws = workspace or Path(tempfile.mkdtemp(prefix="quality-")) / "run.sqlite"
    cli = [sys.executable, "-m", "workbench"]
    if not ws.exists():
        subprocess.run([*cli, "init", str(ws)], check=True, stdout=subprocess.DEVNULL)
    cmd = [
        *cli,
        "self-instruct",
        "-w",
        str(ws),
        "--preset",
        preset,
        "--target",
        str(target),
        "--seed",
        str(seed),
        *model,
        "--json",
    ]
    if compat:
        cmd += ["--compat", compat]
    print(f"== fresh run: {_shown(cmd[2:])}", flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return ws


def report_run(ws: Path, lang: str, labels_out: Path | None) -> None:
    con = sqlite3.connect(ws)
    con.row_factory = sqlite3.Row
    run = con.execute(
        "SELECT id, config FROM runs WHERE kind = 'self-instruct' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if run is None:
        raise SystemExit(f"{ws}: no self-instruct run")
    cfg = json.loads(run["config"] or "{}")
    cands = con.execute(
        "SELECT instruction, decision, reason, meta FROM candidates WHERE run_id = ? ORDER BY id",
        (run["id"],),
    ).fetchall()
    model = cfg.get("model") or {}
    print(
        f"== run {run['id']} in {ws}: {model.get('backend')} {model.get('model')}, preset "
        f"{cfg.get('preset')}, seed {cfg.get('seed')}, target {cfg.get('target')}, compat "
        f"{cfg.get('compat')}; {len(cands)} candidates"
    )
    out = []
    for c in cands:
        meta = json.loads(c["meta"] or "{}")
        raw = meta.get("raw", c["instruction"])
        v = judge(raw, lang)
        out.append(
            {
                "instruction": raw,
                "decision": c["decision"],
                "reason": c["reason"],
                "valid": not v["dropped"],
            }
        )
        note = "" if raw == c["instruction"] else f"   (model wrote: {raw[:60]!r})"
        print(f"  {c['decision']:<8} {(c['reason'] or ''):<20} {c['instruction'][:110]}{note}")
    kept = [c for c in cands if c["decision"] == "kept"]
    print(f"-- kept ({len(kept)}), with the rule's verdict:")
    ok = 0
    for i, c in enumerate(kept, 1):
        v = judge(c["instruction"], lang)
        ok += not v["dropped"]
        print(
            f"  {i:>2}. [{'valid' if not v['dropped'] else 'INVALID:' + (v['reason'] or '')}] "
            f"{c['instruction']}"
        )
    print(f"kept tasks the rule calls valid: {ok}/{len(kept)} ({_pct(ok, len(kept))})")
    if labels_out:
        labels_out.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8"
        )
        print(f"candidates written to {labels_out} (valid = the rule's guess: correct by hand)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--labels",
        type=Path,
        nargs="+",
        help="labelled candidates files (JSON lines; rows with split 'held-out' are reported "
        "as held-out, the others as in-sample)",
    )
    p.add_argument("--run", type=int, metavar="SEED", help="a fresh run with this seed")
    p.add_argument("--target", type=int, default=30)
    p.add_argument("--preset", default="chat")
    p.add_argument("--compat", choices=("reference",), default=None)
    add_model_args(p)  # the CLI's own: --model PATH, or --server URL [--server-model NAME]...
    p.add_argument("--workspace", type=Path, help="run in (or only read) this workspace")
    p.add_argument("--labels-out", type=Path, help="write the run's candidates here")
    p.add_argument("--lang", default="en", choices=("en", "zh"))
    args = p.parse_args(argv)
    if not args.labels and args.run is None and not args.workspace:
        p.error("give --labels FILE, --run SEED or --workspace W")
    if args.run is not None:
        model = model_options(p, args)
        try:
            ws = fresh_run(args.run, args.target, args.preset, args.compat, args.workspace, model)
        except subprocess.CalledProcessError as e:
            # The CLI has said why on stderr (a folder given as --workspace, a bad model ...).
            print(
                f"the fresh run failed (exit {e.returncode}); see the message above",
                file=sys.stderr,
            )
            return 2
        report_run(ws, args.lang, args.labels_out)
    elif args.workspace:
        report_run(args.workspace, args.lang, args.labels_out)
    if args.labels:
        counts = [(path, report_labels(path, args.lang)) for path in args.labels]
        if len(counts) > 1:
            print("== summary (kept: the run's kept tasks valid by the labels -> of those the")
            print("   rules now keep; held-out files never shaped the rule, in-sample ones did)")
            for path, c in counts:
                kept = (
                    f"; kept {_pct(c['kept_valid'], c['kept'])} -> "
                    f"{_pct(c['still_kept_valid'], c['still_kept'])} valid"
                    if c["kept"]
                    else ""
                )
                print(f"  {c['split']:<9} {path.name}: {figures_line(c)}{kept}")
            held = [c for _, c in counts if c["split"] == "held-out"]
            if held:
                pooled = {k: sum(c[k] for c in held) for k in held[0] if k != "split"}
                print(
                    f"held-out, all {len(held)} files: {figures_line(pooled)}; kept "
                    f"{_pct(pooled['kept_valid'], pooled['kept'])} -> "
                    f"{_pct(pooled['still_kept_valid'], pooled['still_kept'])} valid"
                )
        else:
            print(figures_line(counts[0][1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
