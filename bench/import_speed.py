"""Import speed: a JSON list against the same records as JSON Lines, read in the same run.

    .venv/bin/python bench/import_speed.py [--records 25000]

Builds, in a temporary folder, LLaMA-Factory's alpaca_en_demo.json (../shared/data/datasets/
llama-factory) repeated to `--records` records, written three ways: an indented JSON list (as
the demo file is; 25,000 records ≈ 24 MB), a single-line (compact) JSON list, and JSON Lines.
Each is read with `importer.read_file(path, "alpaca")`: decoding, line numbering, per-record
checks and grouping into tasks, everything `workbench import` does before it writes to the
workspace. JSON Lines is the reference; the last line prints the ratio of the indented list's
time to it (≈ 1 when a record's line number costs nothing; it grew with the file's size when
each record's line was counted from the start of the file). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.core.formats import importer  # noqa: E402

DEMO = REPO / ".." / "shared" / "data" / "datasets" / "llama-factory" / "alpaca_en_demo.json"


def timed_read(path: Path) -> tuple[float, int]:
    """(seconds, examples read) for one read of `path` as Alpaca."""
    t0 = time.perf_counter()
    _fmt, tasks = importer.read_file(path, "alpaca")
    return time.perf_counter() - t0, sum(len(t.instances) for t in tasks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=25_000, help="records in each file")
    args = ap.parse_args()
    demo = json.loads(DEMO.resolve().read_text(encoding="utf-8"))
    records = [demo[i % len(demo)] for i in range(args.records)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            "JSON list, indented": folder / "list.json",
            "JSON list, one line": folder / "compact.json",
            "JSON Lines": folder / "lines.jsonl",
        }
        files["JSON list, indented"].write_text(
            json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        files["JSON list, one line"].write_text(
            json.dumps(records, ensure_ascii=False), encoding="utf-8"
        )
        files["JSON Lines"].write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
        )
        times = {}
        for name, path in files.items():
            secs, n = timed_read(path)
            times[name] = secs
            size = path.stat().st_size / 1e6
            print(f"{name:22s} {size:6.1f} MB  {n:6d} examples  {secs:7.2f} s")
    ref = times["JSON Lines"]
    print(
        f"JSON list / JSON Lines: indented {times['JSON list, indented'] / ref:.2f}x, "
        f"one line {times['JSON list, one line'] / ref:.2f}x ({args.records} records)"
    )


if __name__ == "__main__":
    main()
