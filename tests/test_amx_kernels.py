"""The kernel rule: AMX detection from a faked CPU report, the setting, the memory of crashes, and
the fallback of a worker that dies from a signal on its first decode."""

from __future__ import annotations

import logging
import signal

import pytest

from workbench.core.errors import UserInputError
from workbench.core.llm import kernels
from workbench.core.llm.kernels import active_features, cpu_flags, extra_bufts_for, has_amx

SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu vme sse sse2 avx avx2 avx512f amx_bf16 avx512_fp16 amx_tile amx_int8 arch_lbr
"""
EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f
"""


def test_amx_is_read_from_the_cpu_flags():
    assert has_amx(SAPPHIRE_RAPIDS)
    assert not has_amx(EPYC)
    assert not has_amx("")  # no /proc/cpuinfo (macOS, Windows)
    assert has_amx("flags : sse amx_tile\n")  # either flag is enough
    assert not has_amx("model name : amx_int8 in a name is not a flag\nflags : sse\n")
    assert "avx2" in cpu_flags(EPYC)
    assert kernels.cpu_model_name(EPYC) == "AMD EPYC 7B13"


def test_the_rule_turns_extra_buffers_off_on_amx_unless_chosen():
    assert extra_bufts_for("auto", amx=True, crashed_before=False)[0] is False
    assert extra_bufts_for(None, amx=True, crashed_before=False)[0] is False
    assert extra_bufts_for("auto", amx=False, crashed_before=False)[0] is True
    assert extra_bufts_for("auto", amx=False, crashed_before=True)[0] is False
    assert extra_bufts_for("on", amx=True, crashed_before=True)[0] is True
    assert extra_bufts_for("off", amx=False, crashed_before=False)[0] is False
    assert "AMX" in extra_bufts_for("auto", amx=True, crashed_before=False)[1]
    with pytest.raises(UserInputError, match="extra_bufts"):
        extra_bufts_for("maybe", amx=False, crashed_before=False)


def test_llama_cpp_feature_report_is_parsed():
    info = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | AMX_INT8 = 0 | REPACK = 1 |"
    assert active_features(info) == ["SSE3", "SSSE3", "AVX", "AVX2", "REPACK"]


def test_a_crash_is_remembered_per_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    assert not kernels.crashed_before(model)
    kernels.remember_crash(model, "signal 11")
    assert kernels.crashed_before(model)
    model.write_bytes(b"GGUF" + bytes(65))  # another file at the same path: relearned
    assert not kernels.crashed_before(model)


@pytest.mark.model
def test_amx_cpu_loads_with_extra_buffers_off(default_model_path, tmp_path, monkeypatch):
    from workbench.core.llm.base import GenParams
    from workbench.core.llm.worker import WorkerBackend

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    b = WorkerBackend(default_model_path, cpuinfo=SAPPHIRE_RAPIDS)
    try:
        assert b.amx and b.extra_bufts is False and "AMX" in b.kernels
        assert (
            b.complete(
                "The capital of France is", GenParams(max_tokens=3, temperature=0.0)
            ).completion_tokens
            > 0
        )
    finally:
        b.close()
    b = WorkerBackend(default_model_path, cpuinfo=SAPPHIRE_RAPIDS, extra_bufts="on")
    assert b.extra_bufts is True
    b.close()


@pytest.mark.model
def test_a_worker_killed_by_a_signal_on_its_first_decode_restarts_with_safe_kernels(
    default_model_path, tmp_path, monkeypatch, caplog
):
    """The AMX crash reproduced on any CPU: the worker sends itself SIGSEGV on its first decode
    while extra buffer types are on (a test-only hook)."""
    from workbench.core.llm.base import GenParams
    from workbench.core.llm.worker import CRASH_HOOK_ENV, WorkerBackend

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(CRASH_HOOK_ENV, str(int(signal.SIGSEGV)))
    caplog.set_level(logging.WARNING, logger="workbench.llm")
    b = WorkerBackend(default_model_path, cpuinfo=EPYC)
    try:
        assert b.extra_bufts is True
        first = b.pid
        r = b.complete("The capital of France is", GenParams(max_tokens=4, temperature=0.0))
        assert r.completion_tokens > 0  # the retried call answered
        assert b.pid != first and b.extra_bufts is False and b.restarts == 1
        assert any(
            "first decode" in rec.getMessage() and "SIGSEGV" in rec.getMessage()
            for rec in caplog.records
        )
        assert kernels.crashed_before(default_model_path)  # remembered for this file
    finally:
        b.close()
    b = WorkerBackend(default_model_path, cpuinfo=EPYC)  # the next load of this file: safe
    assert b.extra_bufts is False and "crashed" in b.kernels
    b.close()
    # A person's explicit "on" is never overridden: the crash is reported, not retried.
    from workbench.core.errors import ModelProcessDied

    b = WorkerBackend(default_model_path, cpuinfo=EPYC, extra_bufts="on")
    try:
        with pytest.raises(ModelProcessDied, match="signal 11"):
            b.complete("Hi", GenParams(max_tokens=2))
    finally:
        b.close()


@pytest.mark.gui
def test_models_panel_shows_the_cpu_and_saves_the_setting(seeded_window, qtbot):
    pytest.importorskip("pytestqt")
    from workbench.gui.model_choice import backend_kwargs

    w = seeded_window
    w.nav.setCurrentRow(w.stack.indexOf(w.models))
    qtbot.waitUntil(lambda: "llama.cpp features" in w.models.cpu_note.text(), timeout=20_000)
    assert "AMX: no" in w.models.cpu_note.text() or "AMX: yes" in w.models.cpu_note.text()
    combo = w.models.extra_bufts
    combo.setCurrentIndex(combo.findData("off"))
    assert w.ws.get_setting("llm")["extra_bufts"] == "off"
    assert backend_kwargs(w.ws, "default")["extra_bufts"] == "off"
    assert "off (chosen)" in w.models.cpu_note.text()
    # A notice of the runtime (the worker restarted with safe kernels), from a job's thread,
    # reaches the status bar.
    import threading

    t = threading.Thread(
        target=lambda: logging.getLogger("workbench.llm").warning(
            "restarted with llama.cpp's extra buffer types off (safe kernels)"
        )
    )
    t.start()
    t.join()
    qtbot.waitUntil(lambda: "safe kernels" in w.statusBar().currentMessage(), timeout=10_000)


@pytest.mark.model
def test_in_process_loads_follow_the_rule_on_an_amx_cpu(default_model_path, monkeypatch):
    """The embedding context of subset selection is loaded in-process: no AMX repacking."""
    from workbench.core.llm import llamacpp
    from workbench.core.selection.embed import GGUFEmbedder

    monkeypatch.setattr(kernels, "cpuinfo_text", lambda: SAPPHIRE_RAPIDS)
    assert kernels.load_extra_bufts(default_model_path) is False
    seen: list[bool | None] = []
    real = llamacpp.model_params

    def spy(extra_bufts):
        seen.append(extra_bufts)
        return real(extra_bufts)

    monkeypatch.setattr(llamacpp, "model_params", spy)
    e = GGUFEmbedder(default_model_path)
    try:
        assert e.embed(["a cat"]).shape[0] == 1
    finally:
        e.close()
    assert seen == [False]
