"""Text that is safe in every output: terminal, CSV and spreadsheet.

Names and owners come from public tables anyone can edit upstream; a name may hold control
characters (``\\x1b[31m``, ``\\x07``), line breaks, or start with ``=`` so that a spreadsheet
would run it as a formula. Every writer passes its text through one of these functions:

* :func:`terminal_text` -- control characters shown as visible escapes (``\\x1b``), so nothing a
  data file holds can move the cursor, recolour or ring the terminal;
* :func:`csv_text` -- one line per field (line breaks and tabs become spaces, other control
  characters are removed) and the OWASP CSV-injection rule: a field starting with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return gets a leading apostrophe so a spreadsheet shows it as text;
* :func:`xlsx_text` -- characters XML 1.0 cannot hold removed (they make the XLSX writer fail)
  and the length capped to a spreadsheet cell's 32,767 characters;
* :func:`clip_text` -- a length cap with a visible ellipsis, for names in layers and outputs.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from rich.console import Console

__all__ = [
    "CSV_FORMULA_START",
    "NAME_MAX_CHARS",
    "XLSX_CELL_MAX_CHARS",
    "SafeConsole",
    "clip_text",
    "csv_frame",
    "csv_text",
    "has_control",
    "terminal_text",
    "xlsx_text",
]

NAME_MAX_CHARS = 200
"""Longest name or owner kept in a layer (characters); longer ones are clipped and counted."""

XLSX_CELL_MAX_CHARS = 32_767
"""The most characters a spreadsheet cell holds (Excel's limit)."""

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet evaluate a CSV cell (OWASP CSV injection)."""

# C0 controls, DEL, C1 controls; line feed is kept by terminal_text only.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_NO_LF = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\x85\u2028\u2029]+")
# XML 1.0 forbids these (openpyxl and XlsxWriter refuse or corrupt them).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def has_control(text: str) -> bool:
    """True when ``text`` holds a control character (C0, DEL or C1)."""
    return bool(_CONTROL.search(text))


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group(0)):02x}"


def terminal_text(text: object) -> str:
    """``text`` with every control character but the line feed shown as ``\\xNN``."""
    return _CONTROL_NO_LF.sub(_escape, str(text))


def csv_text(text: str) -> str:
    """One CSV field's text: on one line, no control characters, never evaluated as a formula."""
    text = _LINE_BREAKS.sub(" ", text)
    text = _CONTROL.sub("", text)
    if text.startswith(CSV_FORMULA_START):
        text = "'" + text
    return text


def xlsx_text(text: str) -> str:
    """One spreadsheet cell's text: characters XML cannot hold removed, at most 32,767 characters."""
    text = _XML_ILLEGAL.sub("", text)
    return clip_text(text, XLSX_CELL_MAX_CHARS)


def clip_text(text: str, limit: int = NAME_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) went through :func:`csv_text`."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[col] = series.map(lambda v: csv_text(v) if isinstance(v, str) else v)
    out.columns = [csv_text(str(c)) for c in out.columns]
    return out


class SafeConsole(Console):
    """A rich console whose printed strings go through :func:`terminal_text` first.

    Rich itself removes only a few control codes (bell, backspace, carriage return); an escape
    (``\\x1b``) from a data file would reach the terminal. ``aliases`` maps a path prefix to the
    one shown instead (a staging folder to the output folder it is swapped into).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases: dict[str, str] = {}

    def _clean(self, text: str) -> str:
        for real, shown in self.aliases.items():
            text = text.replace(real, shown)
        return terminal_text(text)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(self._clean(o) if isinstance(o, str) else o for o in objects), **kwargs)
