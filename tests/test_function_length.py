"""No function in gis/ is longer than MAX_LINES lines.

A function's length is ``end_lineno - lineno + 1`` (docstring included), counted with ``ast``;
nested functions and methods count on their own, named by their qualified name. A longer
function is split into named steps.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_LINES = 60

PACKAGE = Path(__file__).resolve().parent.parent / "gis"


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
    too_long = sorted(
        f"{path}:{name} ({n} lines)" for (path, name), n in function_lengths().items() if n > MAX_LINES
    )
    assert not too_long, f"functions longer than {MAX_LINES} lines: split them into named steps: {too_long}"


def test_the_length_rule_sees_a_long_function() -> None:
    source = "def f():\n" + "    x = 1\n" * MAX_LINES + "    return x\n"
    found: dict[str, int] = {}
    _lengths(ast.parse(source), "", found)
    assert found == {"f": MAX_LINES + 2}
