"""Can Qt's platform plugin load here? Checked before any Qt class is touched.

Qt 6.5+ loads its X11 platform plugin (`libqxcb.so`) only when system libraries that pip cannot
install are present (libxcb-cursor0, libxcb-icccm4, libxkbcommon-x11-0, ...). Without them Qt
prints its generic "no Qt platform plugin could be initialized" and aborts the process with a core
dump — a well-known PySide6 complaint on fresh Debian/Ubuntu desktops and in containers. This
module asks the dynamic linker (`ldd`) which libraries the plugin and Qt's GUI library cannot
find, and turns that into a message naming them and the command that installs them.

It imports no Qt module (importing one would not abort, but it would load what we are checking).
Linux only: elsewhere (macOS, Windows) the wheels carry what the plugin needs and the check passes.

`python -m workbench.gui.qt_check [--install]` prints the verdict; exit 0 when the window can
start, 1 when libraries are missing (with `--install`, as root with apt-get, it installs them).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# soname -> (Debian/Ubuntu, Fedora, Arch) package. The list covers what the xcb plugin, the
# XCB QPA library and QtGui link against; an unknown soname is still named in the message.
PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": (
        "libxcb-render-util0",
        "xcb-util-renderutil",
        "xcb-util-renderutil",
    ),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libSM.so.6": ("libsm6", "libSM", "libsm"),
    "libICE.so.6": ("libice6", "libICE", "libice"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client", "wayland"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor", "wayland"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl", "wayland"),
}

# Platforms that need no display server and no X11/Wayland libraries.
HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb"}


@dataclass
class QtCheck:
    """The verdict. `missing` are sonames the linker could not find (empty when all is well)."""

    platform: str
    ok: bool
    missing: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # the files handed to ldd
    note: str = ""

    def message(self) -> str:
        if self.ok:
            return f"Qt platform plugin '{self.platform}': ok" + (
                f" ({self.note})" if self.note else ""
            )
        if not self.missing:
            return f"Qt platform plugin '{self.platform}' cannot start: {self.note}"
        apt = _packages(self.missing, 0)
        dnf = _packages(self.missing, 1)
        pacman = _packages(self.missing, 2)
        lines = [
            f"The window cannot start: Qt's '{self.platform}' platform plugin needs system "
            f"libraries that are not installed: {', '.join(self.missing)}.",
            "Install them with your system's package manager, then try again:",
            f"  Debian/Ubuntu:  sudo apt-get install -y {' '.join(apt)}",
            f"  Fedora:         sudo dnf install -y {' '.join(dnf)}",
            f"  Arch:           sudo pacman -S --needed {' '.join(pacman)}",
            "Everything else works without a window: see `workbench --help`.",
        ]
        return "\n".join(lines)


def _packages(missing: list[str], column: int) -> list[str]:
    out: list[str] = []
    for so in missing:
        pkg = PACKAGES.get(so, (so,) * 3)[column]
        if pkg not in out:
            out.append(pkg)
    return out


def qt_root() -> Path | None:
    """PySide6's folder holding `Qt/plugins` and `Qt/lib` (None when PySide6 is not installed)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def chosen_platform(env: dict[str, str] | None = None) -> str:
    """The platform plugin Qt will try first: QT_QPA_PLATFORM, else wayland in a Wayland
    session (Qt 6's own rule), else xcb."""
    env = dict(os.environ) if env is None else env
    explicit = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if explicit:
        return explicit
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def parse_ldd(text: str) -> list[str]:
    """Sonames that `ldd` reports as 'not found', in order, without repeats."""
    out: list[str] = []
    for m in re.finditer(r"^\s*(\S+)\s*=>\s*not found", text, re.MULTILINE):
        if m.group(1) not in out:
            out.append(m.group(1))
    return out


def check(env: dict[str, str] | None = None, root: Path | None = None) -> QtCheck:
    """Check that the platform plugin Qt will use can load. Never raises for a missing library;
    returns ok=True where it cannot tell (not Linux, no ldd), since Qt may still start there."""
    env = dict(os.environ) if env is None else env
    platform = chosen_platform(env)
    if not sys.platform.startswith("linux"):
        return QtCheck(platform, True, note="not Linux: nothing to check")
    root = root or qt_root()
    if root is None:
        return QtCheck(platform, False, note="PySide6 is not installed (run `make setup`)")
    plugin_dir = root / "Qt" / "plugins" / "platforms"
    plugin = plugin_dir / f"libq{platform}.so"
    if platform == "wayland":
        plugin = plugin_dir / "libqwayland-egl.so"
        if not plugin.exists():
            plugin = plugin_dir / "libqwayland-generic.so"
    if not plugin.exists():
        known = sorted(p.name[4:-3] for p in plugin_dir.glob("libq*.so"))
        return QtCheck(
            platform,
            False,
            note=f"this PySide6 has no '{platform}' plugin (it has: {', '.join(known)})",
        )
    files = [plugin] + sorted((root / "Qt" / "lib").glob("libQt6Gui.so*"))[:1]
    if platform == "xcb":
        files += sorted((root / "Qt" / "lib").glob("libQt6XcbQpa.so*"))[:1]
    ldd = shutil.which("ldd")
    if ldd is None:
        return QtCheck(platform, True, note="ldd is not available: not checked")
    missing: list[str] = []
    for f in files:
        proc = subprocess.run([ldd, str(f)], capture_output=True, text=True, check=False)
        for so in parse_ldd(proc.stdout + proc.stderr):
            if so not in missing and not so.startswith("libQt6") and not so.startswith("libpyside"):
                missing.append(so)
    result = QtCheck(platform, not missing, missing, [str(f) for f in files])
    if result.ok and platform not in HEADLESS_PLATFORMS:
        display = env.get("WAYLAND_DISPLAY") if platform == "wayland" else env.get("DISPLAY")
        if not display:
            result = QtCheck(
                platform,
                False,
                [],
                result.checked,
                note="no display (DISPLAY is not set). Run it on a desktop, or "
                "set QT_QPA_PLATFORM=offscreen for a window nobody sees",
            )
    return result


def install_missing(result: QtCheck) -> bool:
    """As root on a Debian-like system (containers, CI), install the missing libraries with
    apt-get. False where that is not possible; the caller then shows `result.message()`."""
    if not result.missing or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    pkgs = _packages(result.missing, 0)
    print(f"qt-check: installing {' '.join(pkgs)} with apt-get", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *pkgs], check=False, env=env
    )
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m workbench.gui.qt_check",
        description="Check that Qt's platform plugin can load.",
    )
    ap.add_argument(
        "--install", action="store_true", help="as root with apt-get, install missing libraries"
    )
    args = ap.parse_args(argv)
    result = check()
    if not result.ok and args.install and install_missing(result):
        result = check()
    print(result.message(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
