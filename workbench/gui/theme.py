"""Light and dark palettes on the Fusion style, following the system's colour scheme.

Fusion draws the same on every platform, so one pair of palettes gives a consistent look; the
scheme follows `QStyleHints.colorScheme` and switches live when the system changes it.
`WORKBENCH_THEME=light|dark` forces one (screenshots, people who prefer one).
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from ..core.paths import resources_dir

_LIGHT = {
    "window": "#f4f5f7",
    "text": "#1d2127",
    "base": "#ffffff",
    "alt": "#f0f2f5",
    "button": "#eceef2",
    "highlight": "#2f6fde",
    "hl_text": "#ffffff",
    "mid": "#c9ced6",
    "disabled": "#9aa0a8",
    "link": "#2358b8",
    "tooltip": "#ffffe1",
}
_DARK = {
    "window": "#202329",
    "text": "#e3e6eb",
    "base": "#16181d",
    "alt": "#1c1f25",
    "button": "#2b2f36",
    "highlight": "#3d7cf0",
    "hl_text": "#ffffff",
    "mid": "#3b4049",
    "disabled": "#6b717b",
    "link": "#7aa7ff",
    "tooltip": "#2b2f36",
}


def _palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, key in [
        (role.Window, "window"),
        (role.WindowText, "text"),
        (role.Base, "base"),
        (role.AlternateBase, "alt"),
        (role.Text, "text"),
        (role.Button, "button"),
        (role.ButtonText, "text"),
        (role.Highlight, "highlight"),
        (role.HighlightedText, "hl_text"),
        (role.Mid, "mid"),
        (role.Link, "link"),
        (role.ToolTipBase, "tooltip"),
        (role.ToolTipText, "text"),
        (role.PlaceholderText, "disabled"),
    ]:
        p.setColor(r, QColor(c[key]))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor(c["disabled"]))
    return p


def is_dark() -> bool:
    forced = os.environ.get("WORKBENCH_THEME", "").lower()
    if forced in ("light", "dark"):
        return forced == "dark"
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication) -> None:
    """Set the style and the palette now, and again whenever the system scheme changes."""
    app.setStyle("Fusion")
    _apply(app)
    if not app.property("workbenchThemeFollows"):
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: _apply(app))
        app.setProperty("workbenchThemeFollows", True)


def _apply(app: QApplication) -> None:
    dark = is_dark()
    app.setPalette(_palette(_DARK if dark else _LIGHT))
    qss = resources_dir() / "style" / "app.qss"
    if qss.is_file():
        colors = _DARK if dark else _LIGHT
        text = qss.read_text(encoding="utf-8")
        for key, value in colors.items():
            text = text.replace("@" + key, value)
        text = text.replace("@banner_bg", "#3a3320" if dark else "#fff5d6")
        text = text.replace("@error_bg", "#4a2326" if dark else "#fde3e3")
        app.setStyleSheet(text)


def status_color(kind: str) -> str:
    """Colours for decisions and validation messages, readable on both palettes."""
    dark = is_dark()
    return {
        "kept": "#5cc46a" if dark else "#1e7b34",
        "dropped": "#e0787a" if dark else "#b3261e",
        "warning": "#e6b450" if dark else "#8a5a00",
        "error": "#ff8a80" if dark else "#b3261e",
        "pending": "#9aa0a8" if dark else "#5f6670",
    }.get(kind, "")
