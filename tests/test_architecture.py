"""The import contracts of pyproject.toml ([tool.importlinter]) hold, so `make test` catches an
upward import or a cycle as `make lint` does; and each contract really breaks on the import it
exists to forbid (checked on a copy of the package with one line added).

The floors are drawn in docs/architecture.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the `workbench` package under `root`, with `root`'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold():
    res = lint_imports(REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


@pytest.mark.parametrize(
    "module, line, contract",
    [
        ("core/errors.py", "import PySide6.QtCore", "The core never imports Qt"),
        ("core/store/workspace.py", "from ...gui import theme", "The CLI and the window sit above"),
        ("gui/theme.py", "from ..cli import common", "The CLI and the window sit above"),
        # store is a floor below the methods: it may not reach up into SELF-INSTRUCT
        ("core/store/workspace.py", "from ..selfinstruct import run", "The core's floors"),
        # the methods may not import the formats (they sit above them)
        ("core/selfcheck/export.py", "from ..formats import common", "The core's floors"),
        # inspect and cot are independent siblings on one floor
        ("core/cot/job.py", "from ..inspect import stats", "The core's floors"),
        ("core/inspect/decisions.py", "from . import refilter", "No import cycle"),
    ],
)
def test_each_contract_breaks_on_what_it_forbids(tmp_path, module, line, contract):
    shutil.copytree(
        REPO / "workbench", tmp_path / "workbench", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "workbench" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    res = lint_imports(tmp_path)
    assert res.returncode != 0, res.stdout
    broken = [ln for ln in res.stdout.splitlines() if ln.endswith(" BROKEN")]
    assert any(ln.startswith(contract) for ln in broken), res.stdout
