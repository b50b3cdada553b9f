"""The CLI's progress line: bar, count, ETA from this session's pace (a resumed job starts with
work done), and a command's own figures (self-instruct: candidates, acceptance, tokens/s)."""

from __future__ import annotations

import io

from workbench.cli import common
from workbench.cli.cmd_selfinstruct import FIELDS
from workbench.core.jobs import Progress


def test_progress_line_shows_figures_and_a_resumed_jobs_eta(monkeypatch):
    clock = iter([100.0, 110.0, 130.0])
    monkeypatch.setattr(common.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    p = common.ProgressPrinter(out, min_interval=0, fields=FIELDS)
    data = {"candidates": 1234, "examined": 40, "acceptance_rate": 0.5, "tokens_per_s": 3.456}
    p(Progress("self-instruct", done=5, total=10, message="resuming", data=data))  # t=100
    p(Progress("self-instruct", done=6, total=10, message="step 3: accepted", data=data))  # t=110
    p(Progress("self-instruct", done=10, total=10, message="finished", data={}))  # t=130
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("self-instruct  [############............] 5/10")
    assert "ETA" not in lines[0]  # no pace yet
    # 1 task in 10 s this session, 4 to go: 40 s (not 4 x 110/6 from the run's start).
    assert "ETA   40s" in lines[1]
    # The rate is of the candidates decided so far (40), not of all 1,234: it says so.
    assert "1,234 candidates  40 examined  50% of examined accepted  3.5 tok/s" in lines[1]
    assert "step 3: accepted" in lines[1]
    assert lines[2].endswith("10/10  finished")
