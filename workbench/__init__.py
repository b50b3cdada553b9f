"""Instruction Workbench."""

__version__ = "0.1.0"
