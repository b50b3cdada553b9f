"""One process at a time per run (QA: two processes resuming one run accepted the same
candidates twice). Real CLI processes on one workspace, with a scripted model whose first call
waits at a gate, so "while the first one runs" needs no timing: the second is refused (exit 2,
who holds the run), a `kill -9` leaves no stale lock, SIGTERM stops like Ctrl+C."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main as cli_main
from workbench.core.store import run_lock
from workbench.core.store.workspace import Workspace

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# The real CLI with a scripted model (distinct instructions, a label, one instance each). With a
# gate folder, the first model call writes `started` there and waits for `go`.
GATED_CLI = r"""
import random, sys, time
from pathlib import Path
from workbench.cli import cmd_selfinstruct, main
from workbench.core.llm.scripted import ScriptedBackend

gate = None if sys.argv[1] == "-" else Path(sys.argv[1])
rng = random.Random(0)
SYLL = ["ka", "lo", "mi", "ru", "te", "vo", "sa", "ne", "pi", "da", "zu", "fe", "go", "hy", "ba"]

def word():
    return "".join(rng.choice(SYLL) for _ in range(3))

def respond(prompt):
    global gate
    if gate is not None:
        (gate / "started").write_text("1")
        while not (gate / "go").exists():
            time.sleep(0.01)
        gate = None
    last = prompt.splitlines()[-1]
    if "classification" in last:
        return "No"
    if "Example" in prompt or "Input" in last or "instance" in prompt.lower()[-400:]:
        return f"Example 1\nInput: {word()} {word()}\nOutput: {word()} {word()} {word()}"
    return "\n".join(f"{i}. Explain the {word()} {word()} of {word()} {word()} {word()} "
                     f"using {word()} {word()}." for i in range(1, 5))

cmd_selfinstruct.open_model = lambda args: ScriptedBackend(respond)
sys.exit(main(sys.argv[2:]))
"""


def _cli(tmp_path: Path, ws: Path, *extra: str, gate: Path | None = None) -> subprocess.Popen:
    script = tmp_path / "gated_cli.py"
    script.write_text(GATED_CLI)
    if gate is not None:
        gate.mkdir(exist_ok=True)
    cmd = [
        sys.executable,
        str(script),
        str(gate) if gate else "-",
        "self-instruct",
        "--target",
        "3",
        "--seed",
        "2",
        "-w",
        str(ws),
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_started(p: subprocess.Popen, gate: Path) -> None:
    while not (gate / "started").exists():
        if p.poll() is not None:
            pytest.fail(f"the first run ended before its first call: {p.communicate()}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(0.02)


@pytest.fixture()
def ws_path(tmp_path: Path) -> Path:
    path = tmp_path / "conc.sqlite"
    assert cli_main(["init", str(path)]) == 0
    return path


def _generated(ws_path: Path) -> tuple[int, int, list[str]]:
    ws = Workspace.open(ws_path)
    try:
        rows = ws.query("SELECT instruction FROM tasks WHERE source = 'generated'")
        statuses = [r["status"] for r in ws.query("SELECT status FROM runs ORDER BY id")]
        assert ws.integrity_check() == "ok"
    finally:
        ws.close()
    texts = [r["instruction"] for r in rows]
    return len(texts), len(set(texts)), statuses


def test_second_process_is_refused_while_the_first_runs(tmp_path, ws_path):
    gate = tmp_path / "gate"
    first = _cli(tmp_path, ws_path, gate=gate)
    try:
        _wait_started(first, gate)
        second = _cli(tmp_path, ws_path, "--resume")
        out, err = second.communicate()
        assert second.returncode == 2, err
        assert f"run 1 is being continued by another process (pid {first.pid}, started " in err, err
        assert "wait for it to finish or stop it" in err
        # The window's check sees the same holder.
        assert run_lock.holder(ws_path, 1)["pid"] == first.pid
    finally:
        (gate / "go").write_text("1")
        out, err = first.communicate()
    assert first.returncode == 0, err
    assert "3/3" in err
    assert _generated(ws_path) == (3, 3, ["finished"])  # no task accepted twice
    assert run_lock.holder(ws_path, 1) is None


def test_resume_right_after_kill_9(tmp_path, ws_path):
    gate = tmp_path / "gate"
    first = _cli(tmp_path, ws_path, gate=gate)
    _wait_started(first, gate)
    first.kill()  # SIGKILL: no handler, no cleanup; the lock dies with the process
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    second = _cli(tmp_path, ws_path, "--resume")
    out, err = second.communicate()
    assert second.returncode == 0, err
    assert _generated(ws_path) == (3, 3, ["finished"])  # run 1 resumed, not a new run


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_sigterm_stops_like_ctrl_c(tmp_path, ws_path, signum):
    """Ctrl+C (SIGINT) and SIGTERM stop self-instruct with the message every resumable
    command prints (cli.common.STOPPED_RESUMABLE), exit 1, never the bare "Cancelled"."""
    gate = tmp_path / "gate"
    first = _cli(tmp_path, ws_path, gate=gate)
    _wait_started(first, gate)
    first.send_signal(signum)
    seen = []
    assert first.stderr is not None
    for line in first.stderr:  # the handler has run once it says so
        seen.append(line)
        if "stopping after the current step" in line:
            break
    (gate / "go").write_text("1")
    out, err = first.communicate()
    err = "".join(seen) + err
    assert first.returncode == 1, err
    assert "stopped by you; the work done so far is saved; resume with --resume" in err
    assert "error:" not in err  # a stop the person asked for is not an error
    assert "Cancelled" not in err
    assert _generated(ws_path)[2] == ["cancelled"]
    second = _cli(tmp_path, ws_path, "--resume")
    out, err = second.communicate()
    assert second.returncode == 0, err
    assert _generated(ws_path) == (3, 3, ["finished"])


HOLDER = r"""
import sys
from workbench.core.store import run_lock
lock = run_lock.acquire(sys.argv[1], 7)
print("held", flush=True)
sys.stdin.read()  # until killed
"""


def test_lock_held_by_a_child_then_freed_by_its_death(tmp_path):
    ws = tmp_path / "w.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ws)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(run_lock.RunBusy) as busy:
            run_lock.acquire(ws, 7)
        assert busy.value.exit_code == 2
        assert busy.value.holder["pid"] == child.pid
        assert f"run 7 is being continued by another process (pid {child.pid}" in str(busy.value)
        assert run_lock.holder(ws, 7)["pid"] == child.pid
        other = run_lock.acquire(ws, 8)  # one lock per run
        other.release()
    finally:
        child.kill()
        child.wait()
    assert run_lock.holder(ws, 7) is None
    with run_lock.acquire(ws, 7) as lock:
        assert lock.held
        with pytest.raises(run_lock.RunBusy):  # a second job of the same process too
            run_lock.acquire(ws, 7)
    assert not lock.held
    run_lock.acquire(ws, 7).release()


def test_window_banner_counts_tasks_and_refuses_a_held_run(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from workbench.core.selfinstruct.config import RUN_KIND, RunConfig
    from workbench.core.store.runs import create_run
    from workbench.core.store.tasks import Instance, Task, add_task
    from workbench.gui.main_window import MainWindow

    ws = Workspace.open(tmp_path / "ws.sqlite", create=True)
    add_task(ws, Task("Write a haiku about autumn.", [Instance("", "leaves")], source="seed"))
    run_id = create_run(ws, RUN_KIND, RunConfig(target=20).to_dict())  # left "running"
    with ws.transaction():
        for i in range(5):
            tid = add_task(
                ws,
                Task(f"Generated task {i}: say {i}.", [Instance("", str(i))], source="generated"),
            )
            ws.execute("UPDATE tasks SET run_id = ? WHERE id = ?", (run_id, tid))
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER.replace("7", str(run_id)), str(ws.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    w = MainWindow(ws)
    qtbot.addWidget(w)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        panel = w.generate
        panel.check_resumable()
        text = panel.banner_text.text()
        assert "at 5 of 20 accepted tasks" in text, text  # the database's count, not "?"
        assert "is being continued by another process" in text
        errors: list[str] = []
        panel.error.connect(errors.append)
        assert panel.resume_interrupted() is False  # refused before loading a model
        assert (
            errors
            and (f"run {run_id} is being continued by another process (pid {child.pid}, started ")
            in errors[0]
        )
        assert panel.job is None
        child.kill()
        child.wait()
        panel.check_resumable()  # the holder is gone: an interrupted run again
        assert "was interrupted at 5 of 20" in panel.banner_text.text()
    finally:
        child.kill()
        child.wait()
        w.shutdown()
