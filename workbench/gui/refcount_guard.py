"""Keep PySide6 6.12 from deallocating `None`, `True` and `False` on Python 3.11.

The PySide6 6.12.0 wheels drop one reference to `None` on every call of a method that returns
nothing (`setText`, `insertRow`, ...) and one to `True` on every `Signal.emit()`: they are
built for Python 3.12+, where those objects are immortal (PEP 683) and reference counts on
them are ignored. On Python 3.11 the counts fall with every call, and an hour of work (or a
generation run streaming progress) reaches zero: "Fatal Python error: none_dealloc".

The guard measures the leak once and, only when there is one on a Python without immortal
objects, raises the three counts by 2**40, which is what PEP 683 does for them: they are never
freed while the interpreter lives anyway, so the only effect is that the leak can never reach
zero (2**40 dropped references is years of calls).
"""
from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 40
_applied = False


def _leaks() -> bool:
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        obj.setObjectName("probe")
    return sys.getrefcount(None) < before - 32


def install() -> bool:
    """Apply the guard if this PySide6 needs it; returns whether it was applied."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _applied
    if not _leaks():
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every object in CPython 3.11's layout.
        ctypes.c_ssize_t.from_address(id(obj)).value += HEADROOM
    _applied = True
    return True
