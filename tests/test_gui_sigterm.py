"""`workbench gui` ends on SIGTERM like a closed window: exit 0, WAL checkpointed, file intact."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def _seed_count(path: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return con.execute("SELECT count(*) FROM tasks").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_sigterm_closes_window_cleanly(tmp_path: Path) -> None:
    ws = tmp_path / "w.iwb"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "gui", "-w", str(ws)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # The handlers are installed before the workspace is created, so seeds on disk mean
        # a SIGTERM from here on is handled.
        while _seed_count(ws) < 175:
            assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out.decode()
    wal = Path(f"{ws}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    con = sqlite3.connect(ws)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
