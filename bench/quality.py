"""Instruction quality: how well the step-1 rules sort valid from invalid candidates.

    python bench/quality.py --labels FILE            # a labelled file (layout below)
    python bench/quality.py --labels FILE --run 7    # + a fresh chat run of the default model
    python bench/quality.py --run 7 --workspace W    # the run's candidates only (kept in W)

A labelled file is JSON lines with at least `instruction` (as the model wrote it) and `valid`
(true/false: "does this, as written — ignoring surrounding quotes and list numbering — describe
a task a model could perform?", docs/quality.md); other fields (decision, reason) are ignored.
`--labels-out FILE` writes a fresh run's candidates in that layout, with the rule's guess in
`valid`, for a person to correct and feed back.

For the labelled file, each candidate is normalised and judged by the step-1 rules as a run
judges it (filters.instruction_reason after validity.normalise; ROUGE-L is not a rule about the
text alone and is left out). An invalid candidate counts as caught when the rules drop it, or
when normalisation *repairs* it — changes it (a date stamp stripped, say) into text that passes:
"repaired counts as dropped-then-fixed". Precision and recall are those of catching invalid
candidates; the reference's rules on the raw text are printed beside them for comparison. The
last line reads `invalid dropped N% · valid dropped M%`.

For a fresh run (`--run SEED`: `workbench init` and `workbench self-instruct --preset chat
--target 30 --seed SEED` in a temporary workspace, exactly as a user would), every candidate is
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
        "repaired": reason is None and n.changed,
        "reference_dropped": reference is not None,
    }


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "n/a"


def report_labels(path: Path, lang: str) -> str:
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    print(f"== labelled candidates: {path} ({len(rows)})")
    print("label   verdict   reason or kind       text (normalised; kinds: validity.py)")
    tp = fn = fp = tn = repaired = ref_tp = ref_fp = 0
    for r in rows:
        v = judge(r["instruction"], lang)
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
    print(
        f"repaired counts as dropped-then-fixed: {repaired} invalid candidate(s) repaired by "
        "normalisation into text that passes are counted as dropped"
    )
    return f"invalid dropped {_pct(tp, invalid)} · valid dropped {_pct(fp, valid)}"


def fresh_run(
    seed: int, target: int, preset: str, compat: str | None, workspace: Path | None, model: str
) -> Path:
    """`workbench init` + `workbench self-instruct` as a user runs them; returns the workspace."""
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
        "--model",
        model,
        "--json",
    ]
    if compat:
        cmd += ["--compat", compat]
    print(f"== fresh run: {' '.join(cmd[2:])}", flush=True)
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
    print(
        f"== run {run['id']} in {ws}: preset {cfg.get('preset')}, seed {cfg.get('seed')}, "
        f"target {cfg.get('target')}, compat {cfg.get('compat')}; {len(cands)} candidates"
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
    p.add_argument("--labels", type=Path, help="a labelled candidates file (JSON lines)")
    p.add_argument("--run", type=int, metavar="SEED", help="a fresh run with this seed")
    p.add_argument("--target", type=int, default=30)
    p.add_argument("--preset", default="chat")
    p.add_argument("--compat", choices=("reference",), default=None)
    p.add_argument("--model", default="default")
    p.add_argument("--workspace", type=Path, help="run in (or only read) this workspace")
    p.add_argument("--labels-out", type=Path, help="write the run's candidates here")
    p.add_argument("--lang", default="en", choices=("en", "zh"))
    args = p.parse_args(argv)
    if not args.labels and args.run is None and not args.workspace:
        p.error("give --labels FILE, --run SEED or --workspace W")
    if args.run is not None:
        ws = fresh_run(args.run, args.target, args.preset, args.compat, args.workspace, args.model)
        report_run(ws, args.lang, args.labels_out)
    elif args.workspace:
        report_run(args.workspace, args.lang, args.labels_out)
    if args.labels:
        print(report_labels(args.labels, args.lang))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
