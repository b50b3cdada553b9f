"""Shared pieces of the format tests: records or examples once each, and an example as the
tuple of fields a round trip must keep.

A plain module beside the tests (tests/ is on sys.path when pytest collects them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from workbench.core.formats.common import join_instruction_input
from workbench.core.store.tasks import Instance

T = TypeVar("T")


def unique(items: list[T]) -> list[T]:
    """The items once each (compared as sorted JSON), first occurrences in order."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = json.dumps(item, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def example_view(
    instruction: str, inst: Instance, *, joined: bool, keep_meta: Callable[[str], bool]
) -> tuple[Any, ...]:
    """Every field of an example as a tuple, its meta keys those `keep_meta` keeps; `joined`:
    the input joined to the instruction, as a format without an input field gives it back."""
    input_ = inst.input
    if joined:
        instruction, input_ = join_instruction_input(instruction, input_), ""
    meta = {k: v for k, v in inst.meta.items() if keep_meta(k)}
    return (
        instruction,
        input_,
        inst.output,
        inst.system,
        inst.history,
        inst.kind,
        inst.rejected,
        inst.label,
        inst.weight,
        inst.tools,
        meta,
    )


def count_tasks(path: Any) -> int:
    """The number of tasks in the workspace file `path`, read with plain sqlite3."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        conn.close()
