"""Write docs/columns.md from the column and key registry (gis.schema and the modules registering in it).

Usage: ``python scripts/columns_doc.py [--check]``; ``--check`` writes nothing and exits 1 when the
file is out of date (the test suite runs the same comparison).
"""

from __future__ import annotations

import sys
from pathlib import Path

from gis.outputs.columns import COLUMNS_DOC, columns_markdown

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) ``docs/columns.md``; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    target = Path(__file__).resolve().parent.parent / COLUMNS_DOC
    text = columns_markdown()
    if "--check" in argv:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print(f"{COLUMNS_DOC} is out of date: run `python scripts/columns_doc.py`", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
