"""No function in gis/ is longer than MAX_LINES lines, except the few still being split.

A function's length is ``end_lineno - lineno + 1`` (docstring included), counted with ``ast``;
nested functions and methods count on their own, named by their qualified name. The
allow-list names each long function with its length today: a listed function may only get
shorter, and once it is at most MAX_LINES (or gone) its entry must be removed.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_LINES = 60

PACKAGE = Path(__file__).resolve().parent.parent / "gis"

ALLOWED: dict[tuple[str, str], int] = {
    ("gis/grid/cells.py", "square_cells"): 83,
    ("gis/grid/potential.py", "cell_sites"): 64,
}
"""Functions longer than MAX_LINES still being split, with their length today (lines)."""


def _lengths(node: ast.AST, prefix: str, out: dict[str, int]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                out[name] = max(out.get(name, 0), child.end_lineno - child.lineno + 1)
            _lengths(child, f"{name}.", out)
        else:
            _lengths(child, prefix, out)


def function_lengths() -> dict[tuple[str, str], int]:
    """``{(path relative to the repository, qualified name): lines}`` of every function in gis/."""
    found: dict[tuple[str, str], int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        per_file: dict[str, int] = {}
        _lengths(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), "", per_file)
        rel = path.relative_to(PACKAGE.parent).as_posix()
        found.update({(rel, name): n for name, n in per_file.items()})
    return found


def test_no_function_is_longer_than_the_limit() -> None:
    lengths = function_lengths()
    too_long = {
        f"{path}:{name} ({n} lines)"
        for (path, name), n in lengths.items()
        if n > MAX_LINES and n > ALLOWED.get((path, name), MAX_LINES)
    }
    assert not too_long, (
        f"functions longer than {MAX_LINES} lines (or longer than their allow-list entry): "
        f"split them into named steps: {sorted(too_long)}"
    )


def test_allow_list_only_shrinks() -> None:
    lengths = function_lengths()
    stale = sorted(f"{path}:{name}" for (path, name) in ALLOWED if lengths.get((path, name), 0) <= MAX_LINES)
    assert not stale, f"now at most {MAX_LINES} lines or gone: remove from ALLOWED: {stale}"
    shorter = sorted(
        f"{path}:{name} {n} -> {lengths[(path, name)]}"
        for (path, name), n in ALLOWED.items()
        if lengths[(path, name)] < n
    )
    assert not shorter, f"shorter now: lower their ALLOWED length: {shorter}"


def test_the_length_rule_sees_a_long_function() -> None:
    source = "def f():\n" + "    x = 1\n" * MAX_LINES + "    return x\n"
    found: dict[str, int] = {}
    _lengths(ast.parse(source), "", found)
    assert found == {"f": MAX_LINES + 2}
