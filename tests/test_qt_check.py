"""The check that runs before Qt starts (issue 16 item 4): a platform plugin whose system
libraries are missing is named with the packages that bring them, instead of Qt's abort."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.gui import qt_check

LDD_SAMPLE = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
"""


def test_parse_ldd_lists_each_missing_library_once_in_order():
    assert qt_check.parse_ldd(LDD_SAMPLE) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    assert qt_check.parse_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_chosen_platform_follows_qt_rules():
    assert qt_check.chosen_platform({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    assert qt_check.chosen_platform({"QT_QPA_PLATFORM": "wayland;xcb"}) == "wayland"
    assert qt_check.chosen_platform({"WAYLAND_DISPLAY": "wayland-0"}) == "wayland"
    assert qt_check.chosen_platform({"DISPLAY": ":0"}) == "xcb"


def test_message_names_libraries_and_install_commands():
    verdict = qt_check.QtCheck(
        "xcb", False, ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0", "libfoo.so.9"]
    )
    msg = verdict.message()
    assert "libxcb-cursor.so.0" in msg and "libfoo.so.9" in msg
    assert "sudo apt-get install -y libxcb-cursor0 libxkbcommon-x11-0 libfoo.so.9" in msg
    assert "sudo dnf install -y xcb-util-cursor libxkbcommon-x11" in msg
    assert "pacman" in msg


def test_offscreen_plugin_loads_here():
    verdict = qt_check.check({"QT_QPA_PLATFORM": "offscreen"})
    assert verdict.ok, verdict.message()
    assert any("libqoffscreen.so" in f for f in verdict.checked)


def test_no_display_is_said_in_words():
    verdict = qt_check.check({"QT_QPA_PLATFORM": "xcb"})
    assert not verdict.ok
    assert "DISPLAY" in verdict.message() or verdict.missing


def _cc() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a plugin with a missing dependency")
    return cc


def test_a_plugin_with_a_missing_library_is_reported(tmp_path: Path):
    """A real ELF plugin linked against a library that is then removed: ldd says 'not found' and
    the check names it, as it does for libxcb-cursor.so.0 on a fresh desktop (a made-up soname,
    since this machine may have the real one)."""
    cc = _cc()
    dep_dir = tmp_path / "deps"
    dep_dir.mkdir()
    (tmp_path / "dep.c").write_text("int dep_fn(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text(
        "int dep_fn(void);\nint plugin_fn(void) { return dep_fn(); }\n"
    )
    subprocess.run(
        [
            cc,
            "-shared",
            "-fPIC",
            "-Wl,-soname,libxcb-wbtest.so.0",
            "-o",
            str(dep_dir / "libxcb-wbtest.so.0"),
            str(tmp_path / "dep.c"),
        ],
        check=True,
    )
    root = tmp_path / "PySide6"
    platforms = root / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    (root / "Qt" / "lib").mkdir()
    subprocess.run(
        [
            cc,
            "-shared",
            "-fPIC",
            "-o",
            str(platforms / "libqxcb.so"),
            str(tmp_path / "plugin.c"),
            f"-L{dep_dir}",
            "-l:libxcb-wbtest.so.0",
        ],
        check=True,
    )
    shutil.rmtree(dep_dir)
    verdict = qt_check.check({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, root=root)
    assert not verdict.ok
    assert verdict.missing == ["libxcb-wbtest.so.0"]
    assert "libxcb-wbtest.so.0" in verdict.message()


def test_unknown_platform_lists_the_plugins_there():
    verdict = qt_check.check({"QT_QPA_PLATFORM": "nosuchplatform"})
    assert not verdict.ok
    assert "offscreen" in verdict.message()


def test_workbench_gui_refuses_in_words_instead_of_aborting(tmp_path: Path):
    """`workbench gui` with no display: exit 2 and a sentence, never Qt's abort (-6/134)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "gui", "--workspace", str(tmp_path / "w.sqlite")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "cannot start" in proc.stderr
    assert not (tmp_path / "w.sqlite").exists()  # refused before anything was created
