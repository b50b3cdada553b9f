"""The desktop window (PySide6). Nothing in `workbench.core` imports this package."""
from .refcount_guard import install as _install_refcount_guard

_install_refcount_guard()
