"""The import contract in ``pyproject.toml``: stages import only earlier stages.

``lint-imports`` (import-linter) runs in ``.ci/run``; this test shows the contract has teeth: the
same contract run on a copy of the package with one deliberate back-import (a layer builder importing
the outputs stage) fails and names the offending import.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports")

pytestmark = pytest.mark.skipif(
    LINT is None, reason="import-linter is not installed (pip install -e '.[dev]')"
)


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_package_keeps_the_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_back_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "gis", copy / "gis", ignore=shutil.ignore_patterns("__pycache__", "vendor"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    builder = copy / "gis" / "layers" / "markets.py"
    builder.write_text(builder.read_text(encoding="utf-8") + "\nfrom gis.outputs import api as _back\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "gis.layers is not allowed to import gis.outputs" in result.stdout
