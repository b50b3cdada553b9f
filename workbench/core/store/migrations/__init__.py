"""Ordered schema migrations: one module per version, `vNNN_<what>.py`, each a list `STATEMENTS`.

Module vN takes a workspace from version N-1 to N. Each runs in one transaction together with the
`PRAGMA user_version` bump, so a crash leaves the file at the old version. Statements run one by
one through `execute` (never `executescript`, which commits on its own); a data migration is a
function in the list, called with the connection inside the same transaction. Never edit a
released migration; add the next number. Numbers are taken by features in this order:
v1 core, v2 self-check traces, v3 CoT and selections, v4 inspector decision sets and overrides,
v5 the decision in force (views over candidates, decision sets and overrides).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sqlite3
from collections.abc import Callable

# One step of a migration: SQL, or a data migration run on the same connection.
Step = str | Callable[[sqlite3.Connection], None]


def _load() -> list[list[Step]]:
    found: dict[int, list[Step]] = {}
    for info in pkgutil.iter_modules(__path__):
        m = re.fullmatch(r"v(\d{3})_\w+", info.name)
        if not m:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        version = int(m.group(1))
        if version in found:
            raise RuntimeError(f"two migrations claim schema version {version}")
        found[version] = list(module.STATEMENTS)
    versions = sorted(found)
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"schema migrations are not contiguous: {versions}")
    return [found[v] for v in versions]


MIGRATIONS: list[list[Step]] = _load()


def latest_version() -> int:
    return len(MIGRATIONS)
