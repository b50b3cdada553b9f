"""A model as judge of step-1 candidates: would it catch what the rules cannot see?

    python bench/judge.py                                   # the default model, our labels
    python bench/judge.py --model PATH.gguf                 # a larger local model
    python bench/judge.py --server URL [--server-model M]   # a model behind a server
    python bench/judge.py --labels F1 F2 ... --keep-at 4

Issue 21: the instruction-shape rule (core/selfinstruct/validity.py) catches statements, titles,
replies and the like, but about half of the invalid tasks a 135M model's runs still keep are
nonsense in a task's form ("In how many ways can you make 10 fingers from 10 toes?"), which no
rule on the form of the text sees (docs/quality.md). A judge model is the way to catch those;
this bench measures one before anything is wired into a run.

What it does: for every row of the labelled files (docs/quality.md has the layout; by default
the shared labelled file and our held-out files in bench/data/) that the rules as they are now
keep — the candidates a judge would see — the model rates the normalised instruction from 1 to
5 with a fixed prompt in the manner of AlpaGasus (Chen et al. 2023, "AlpaGasus: Training a
Better Alpaca with Fewer Data", which rated Alpaca's triplets with ChatGPT and kept those rated
at least 4.5 of 5), here adapted to instructions alone. Greedy decoding, one call per row,
through the app's own backends (`open_backend`: a GGUF file in the worker process, or an
OpenAI-compatible server).

It prints each row (rating, label, `!` where a keep/drop at `--keep-at` disagrees with the
label), then per file and pooled over the held-out files: the ROC AUC of the rating (ties
count half; 0.5 is chance), and at `--keep-at`: valid kept before and after the judge, invalid
dropped and valid dropped. Its last line reads
`judge AUC A · kept valid X% -> Y% · valid dropped M%` (held-out pooled, or all rows when no
held-out file is given). Ratings the model did not give (no digit 1-5 in the reply) count as 1
and are counted on their own line.

Measured (docs/quality.md, "Generation: what was tried"): the default 135M model is near
chance as a judge. A judge worth wiring into runs should reach an AUC of about 0.9 here.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from quality import judge as rules_verdict  # noqa: E402

from workbench.core.llm.base import GenParams  # noqa: E402
from workbench.core.llm.factory import open_backend  # noqa: E402

SHARED_LABELS = REPO.parent / "shared/data/self_instruct/default_model_candidates_labelled.jsonl"

# The rubric of docs/quality.md in a judge's words; a rating, not Yes/No, so the bench can
# rank (AUC) and a cut-off can be chosen.
JUDGE_SYSTEM = "You review instruction-tuning data for a text-only AI assistant."
JUDGE_USER = (
    "Rate the instruction below from 1 to 5.\n"
    "5: a clear, sensible task that a text assistant can carry out (a command or a question, "
    "possibly with its input).\n"
    "3: a task, but vague or odd.\n"
    "1: not a task (a statement, an answer, a title, a reply to someone), nonsense, or an "
    "action in the physical world.\n\n"
    "Instruction: {instruction}\n\n"
    "Answer with the number only."
)
_DIGIT = re.compile(r"[1-5]")


def rating_of(reply: str) -> int | None:
    """The first digit 1-5 in the judge's reply; None when there is none."""
    m = _DIGIT.search(reply)
    return int(m.group()) if m else None


def auc(scores: list[float], labels: list[bool]) -> float | None:
    """ROC AUC of `scores` for the positive label (valid), ties counted half; None when a
    class is empty. Mann-Whitney U over all pairs: the rows are a few hundred."""
    pos = [s for s, v in zip(scores, labels, strict=True) if v]
    neg = [s for s, v in zip(scores, labels, strict=True) if not v]
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def rows_the_rules_keep(path: Path) -> list[dict[str, Any]]:
    """The file's rows that the rules as they are now keep, as the judge would see them:
    `text` (normalised), `valid` (the label of the normalised text), `split`."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        lang = row.get("lang", "en")
        if lang != "en":
            continue  # the rubric's prompt is English; the Chinese labels are few (10 kept)
        v = rules_verdict(row["instruction"], lang)
        if v["dropped"]:
            continue
        valid = row.get("normalised_valid", row["valid"])
        out.append({"text": v["text"], "valid": bool(valid), "split": row.get("split")})
    return out


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "n/a"


def summary(name: str, rated: list[dict[str, Any]], keep_at: int) -> dict[str, Any]:
    labels = [r["valid"] for r in rated]
    a = auc([float(r["rating"]) for r in rated], labels)
    kept = [r for r in rated if r["rating"] >= keep_at]
    valid = sum(labels)
    invalid = len(rated) - valid
    kept_valid = sum(r["valid"] for r in kept)
    figures = {
        "rows": len(rated),
        "auc": a,
        "before": _pct(valid, len(rated)),
        "after": _pct(kept_valid, len(kept)),
        "invalid_dropped": _pct(invalid - (len(kept) - kept_valid), invalid),
        "valid_dropped": _pct(valid - kept_valid, valid),
    }
    auc_text = "n/a" if a is None else f"{a:.2f}"
    print(
        f"{name}: {len(rated)} rows the rules keep · AUC {auc_text} · kept valid "
        f"{figures['before']} -> {figures['after']} ({len(kept)} kept at rating >= {keep_at})"
        f" · invalid dropped {figures['invalid_dropped']} · valid dropped "
        f"{figures['valid_dropped']}"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--labels", nargs="+", type=Path, help="labelled files (docs/quality.md)")
    p.add_argument("--model", default="default", help="GGUF file or 'default'")
    p.add_argument("--server", help="OpenAI-compatible server URL (instead of --model)")
    p.add_argument("--server-model", help="the server's model name (default: its first)")
    p.add_argument("--keep-at", type=int, default=4, help="keep a row rated at least this")
    p.add_argument("--limit", type=int, default=0, help="judge only the first N rows of a file")
    args = p.parse_args(argv)
    files = args.labels or [
        SHARED_LABELS,
        *sorted((REPO / "bench/data").glob("heldout_labels_seed[0-9]*.jsonl")),
    ]
    missing = [f for f in files if not f.is_file()]
    if missing:
        print(f"no such labelled file: {missing[0]}", file=sys.stderr)
        return 2
    backend = open_backend(args.model, server=args.server, server_model=args.server_model)
    params = GenParams(max_tokens=4, temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, seed=0)
    print(f"judge: {backend.name} {backend.model_id}")
    held_out: list[dict[str, Any]] = []
    everything: list[dict[str, Any]] = []
    unrated = 0
    try:
        for path in files:
            rows = rows_the_rules_keep(path)
            if args.limit:
                rows = rows[: args.limit]
            for r in rows:
                msgs = [
                    {"role": "system", "content": JUDGE_SYSTEM},
                    {"role": "user", "content": JUDGE_USER.format(instruction=r["text"])},
                ]
                rating = rating_of(backend.chat(msgs, params).text)
                if rating is None:
                    unrated += 1
                r["rating"] = rating or 1
                wrong = (r["rating"] >= args.keep_at) != r["valid"]
                label = "valid  " if r["valid"] else "invalid"
                print(f"{'!' if wrong else ' '} {r['rating']} {label} {r['text'][:100]}")
            summary(path.name, rows, args.keep_at)
            everything += rows
            if any(r["split"] == "held-out" for r in rows):
                held_out += rows
    finally:
        backend.close()
    print(f"replies with no rating 1-5 (counted as 1): {unrated} of {len(everything)}")
    pooled = held_out or everything
    f = summary("held-out pooled" if held_out else "all rows", pooled, args.keep_at)
    auc_text = "n/a" if f["auc"] is None else f"{f['auc']:.2f}"
    print(
        f"judge AUC {auc_text} · kept valid {f['before']} -> {f['after']} · "
        f"valid dropped {f['valid_dropped']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
