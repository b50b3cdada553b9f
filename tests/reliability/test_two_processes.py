"""(2) Two processes on one workspace: safe sharing through WAL and a 10 s busy timeout.

The behaviour we promise (docs/reliability.md): any number of processes may open one workspace
(a CLI run beside the GUI, two CLI imports); writers take turns one transaction at a time,
readers never block writers, and no "database is locked" error reaches the user while another
process holds the write lock for less than the busy timeout. Verified here with real processes:
two CLI imports of overlapping files, two writers committing small units of work, and a reader,
all started at the same moment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from workbench.core.store.workspace import Workspace

N_BIG = 400  # tasks per CLI import (one transaction each)
N_SMALL = 120  # single-task transactions per writer process

WRITER = r"""
import sys, time
from pathlib import Path
from workbench.core.store.workspace import Workspace
from workbench.core.formats.importer import add_tasks
from workbench.core.store.tasks import Task, Instance
ws_path, go, tag, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ws = Workspace.open(ws_path)
while not go.exists():
    time.sleep(0.005)
for i in range(n):
    task = Task(f"Writer {tag} task number {i}: say {i} twice.", [Instance("", f"{i} {i}")])
    r = add_tasks(ws, [task])
    assert r.imported == 1, r
print("done", tag)
"""

READER = r"""
import sys, time
from pathlib import Path
from workbench.core.store.workspace import Workspace
ws_path, go, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
ws = Workspace.open(ws_path)
while not go.exists():
    time.sleep(0.005)
reads, last = 0, 0
while not stop.exists():
    n = ws.scalar("SELECT count(*) FROM tasks")
    assert n >= last, (n, last)  # committed data never disappears
    orphans = ws.scalar("SELECT count(*) FROM instances i LEFT JOIN tasks t ON t.id = i.task_id "
                        "WHERE t.id IS NULL")
    assert orphans == 0  # a reader never sees half a unit of work
    last, reads = n, reads + 1
print("reads", reads)
"""

GATED_CLI = r"""
import sys, time
from pathlib import Path
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.005)
from workbench.cli import main
sys.argv = ["workbench", *sys.argv[2:]]
sys.exit(main())
"""


def _seed_file(path: Path, start: int, stop: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(start, stop):
            fh.write(
                json.dumps(
                    {
                        "id": f"t{i}",
                        "name": f"t{i}",
                        "instruction": f"Shared task {i}: add {i} and 1.",
                        "instances": [{"input": "", "output": str(i + 1)}],
                        "is_classification": False,
                    }
                )
                + "\n"
            )
    return path


def test_two_cli_imports_two_writers_and_a_reader(tmp_path):
    ws_path = tmp_path / "shared ws.sqlite"
    Workspace.create(ws_path).close()
    go, stop = tmp_path / "go", tmp_path / "stop"
    # Two imports that overlap by half: each shared instruction must end up there once.
    a = _seed_file(tmp_path / "a.jsonl", 0, N_BIG)
    b = _seed_file(tmp_path / "b.jsonl", N_BIG // 2, N_BIG + N_BIG // 2)
    py = sys.executable
    procs = {
        "import-a": subprocess.Popen(
            [
                py,
                "-c",
                GATED_CLI,
                str(go),
                "import",
                str(a),
                "--workspace",
                str(ws_path),
                "--format",
                "selfinstruct-seed",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "import-b": subprocess.Popen(
            [
                py,
                "-c",
                GATED_CLI,
                str(go),
                "import",
                str(b),
                "--workspace",
                str(ws_path),
                "--format",
                "selfinstruct-seed",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "writer-1": subprocess.Popen(
            [py, "-c", WRITER, str(ws_path), str(go), "1", str(N_SMALL)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "writer-2": subprocess.Popen(
            [py, "-c", WRITER, str(ws_path), str(go), "2", str(N_SMALL)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    }
    reader = subprocess.Popen(
        [py, "-c", READER, str(ws_path), str(go), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)  # let every process import and open the workspace, then start them together
    go.touch()
    results = {}
    for name, p in procs.items():
        out, err = p.communicate()
        results[name] = (p.returncode, out, err)
    stop.touch()
    r_out, r_err = reader.communicate()
    r_rc = reader.returncode
    for name, (rc, _out, err) in results.items():
        assert rc == 0, (name, err)
        assert "locked" not in err.lower() and "Traceback" not in err, (name, err)
    assert r_rc == 0, r_err
    assert int(r_out.split()[-1]) > 0

    imported = [json.loads(results[n][1])["imported"] for n in ("import-a", "import-b")]
    assert sum(imported) == N_BIG + N_BIG // 2  # the overlap imported once, by whichever was first
    ws = Workspace.open(ws_path)
    try:
        assert ws.integrity_check() == "ok"
        total = N_BIG + N_BIG // 2 + 2 * N_SMALL
        assert ws.scalar("SELECT count(*) FROM tasks") == total  # no lost writes
        assert ws.scalar("SELECT count(DISTINCT norm) FROM tasks") == total  # no duplicates
        assert ws.scalar("SELECT count(*) FROM instances") == total
    finally:
        ws.close()
