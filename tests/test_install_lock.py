"""The install is locked (issue 16 item 3): `make setup` gives exactly requirements.lock, and the
llama.cpp it built is the portable one the Makefile asks for."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import install_lock

ROOT = Path(__file__).resolve().parent.parent


def test_environment_equals_the_lock():
    diffs = install_lock.differences()
    assert diffs == [], "\n".join(map(str, diffs))


def test_lock_pins_every_direct_dependency_exactly():
    lock = install_lock.read_lock()
    for name in (
        "llama-cpp-python",
        "pyside6-essentials",
        "sqlite-utils",
        "rouge-score",
        "platformdirs",
        "rapidfuzz",
        "gguf",
        "pytest",
        "pytest-qt",
        "hypothesis",
        "datasets",
        "math-verify",
        "httpx",
        "ruff",
        "mypy",
        "import-linter",
    ):
        assert name in lock, f"{name} is not locked"


def test_markers_choose_one_version_per_package(tmp_path: Path):
    lock = tmp_path / "r.lock"
    lock.write_text(
        "numpy==1.0.0 ; python_full_version < '3.0'\n"
        "numpy==2.0.0 ; python_full_version >= '3.0'\n"
        "    # via something\n"
        "Foo_Bar[extra]==3.1\n"
    )
    assert install_lock.read_lock(lock) == {"numpy": "2.0.0", "foo-bar": "3.1"}
    lock.write_text("numpy>=1\n")
    with pytest.raises(ValueError, match=r"r.lock:1"):
        install_lock.read_lock(lock)


def test_differences_name_each_kind():
    diffs = install_lock.differences(
        {"a": "1", "b": "2", "pip": "1"}, {"a": "1", "b": "3", "c": "4", "pip": "9"}
    )
    assert [str(d) for d in diffs] == [
        "b: locked 2, installed 3",
        "c==4 is installed but not in the lock",
    ]


def test_llama_cpp_is_the_portable_build():
    """The Makefile builds with GGML_NATIVE=OFF and no AVX-512/AMX on x86-64: a wheel that runs
    on every CPU of the machine kind, whatever CPU built it (issue 16)."""
    import platform

    if platform.machine() != "x86_64":
        pytest.skip("the flags are chosen for x86-64")
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AVX2 = 1" in info, info
    for feature in ("AVX512 = 1", "AMX_INT8 = 1"):
        assert feature not in info, info
    assert "GGML_NATIVE=OFF" in (ROOT / "Makefile").read_text()
