"""The desktop window (PySide6). Nothing in `workbench.core` imports this package."""
