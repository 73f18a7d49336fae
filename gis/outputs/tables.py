"""The ranked list as a spreadsheet (``sites_ranked.xlsx``), written with XlsxWriter.

Sheets: ``all`` (every candidate site, best first), one per category present, ``summary``
(the national figures with units and P10/P50/P90 bands), ``assumptions`` (every assumption of
``estimates.json`` with value, unit and source) and ``columns`` (name, unit, meaning of every
column of the site sheets).

Site sheets: headers carry units (``mineable_mw (MW)``); numbers are stored at full precision
and shown with the decimals of :data:`gis.scoring.columns.DISPLAY_DIGITS` (thousands separated);
column widths follow the content; the header row and the ``site_id`` / ``name`` columns are
frozen; every sheet has an autofilter. ``in_fleet`` says whether the site is in the national
fleet that ``estimates.json`` adds up (the sites' own ``in_fleet`` column when present, else the
scenario's selection rule re-applied, checked against the count in ``estimates.json``).

Text: every string goes through :func:`_clean_text` (line breaks become spaces, control
characters removed, then :func:`gis.textsafe.xlsx_text`), and is
written as a string, never as a formula, number or link (``=HYPERLINK(...)`` stays text); the site
sheets' texts are shared strings, each distinct text stored once for the workbook.
Rows are streamed (XlsxWriter ``constant_memory``), so memory does not grow with the sheet.
The parts are deflated at level 1 by ISA-L (:class:`_Workbook`, :func:`deflater`): the national
spreadsheet's 47 MB of XML in 0.075 s, against 0.30 s with zlib at level 1 and 0.90 s at
XlsxWriter's level 6, for a file of 8.4 MB (8.9 MB and 6.7 MB).
"""

from __future__ import annotations

import math
import re
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.sharedstrings import SharedStringTable

from gis.config.vocabulary import CATEGORIES
from gis.io import atomic_path
from gis.outputs.labels import CATEGORY_LABELS, column_unit, header
from gis.schema import column_spec, key_spec
from gis.scoring.columns import DISPLAY_DIGITS
from gis.textsafe import XLSX_CELL_MAX_CHARS, xlsx_text

__all__ = ["fleet_mask", "ranked_table", "write_ranked_xlsx"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEWLINES = re.compile(r"[\r\n\t]+")
_UNCLEAN = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
"""Any character :func:`_clean_text` replaces or removes (line breaks, controls, XML-illegal)."""

UNIT_DIGITS = {"MW": 1, "GW": 2, "km": 1, "kV": 0, "USD/MWh": 2, "t/MWh": 3, "0..1": 3, "": 2}
"""Decimals shown for a numeric column by unit, when :data:`DISPLAY_DIGITS` has no entry."""

FROZEN_COLUMNS = ("site_id", "name")
"""Columns kept in view when scrolling right (the columns up to the last of these present)."""


def _clean_text(value: object) -> str:
    """Text safe for a cell: line breaks and tabs become one space, other control characters go,
    then :func:`gis.textsafe.xlsx_text` (XML 1.0 characters only, a cell's length cap)."""
    text = _NEWLINES.sub(" ", str(value))
    return xlsx_text(_CONTROL.sub("", text))


def ranked_table(sites: pd.DataFrame) -> pd.DataFrame:
    """Sites without geometry, best first, with ``lat`` and ``lon`` (degrees, EPSG:4326)."""
    table = pd.DataFrame(sites.drop(columns="geometry", errors="ignore"))
    if "geometry" in sites.columns:
        table["lat"] = np.round(sites.geometry.y.to_numpy(), 6)
        table["lon"] = np.round(sites.geometry.x.to_numpy(), 6)
    return table.sort_values(["rank", "site_id"], kind="stable").reset_index(drop=True)


def fleet_mask(
    sites: pd.DataFrame, estimates: dict | None, scenario_path: Path | None = None
) -> tuple[np.ndarray | None, str]:
    """Which sites are in the national fleet of ``estimates`` (same row order), and how it is known:
    the sites' ``in_fleet`` column (the outputs stage joins it) or ``estimates.json``'s
    ``fleet.site_ids``; (None, why) when neither is there. ``scenario_path`` is not needed."""
    del scenario_path
    if "in_fleet" in sites.columns:
        return sites["in_fleet"].fillna(False).to_numpy(dtype=bool), "the sites' in_fleet column"
    ids = ((estimates or {}).get("fleet") or {}).get("site_ids")
    if ids is None:
        return None, "no fleet in estimates.json"
    return sites["site_id"].astype(str).isin(set(map(str, ids))).to_numpy(), "estimates.json fleet.site_ids"


# ---------------------------------------------------------------- writing


class _Formats:
    """Cell formats of one workbook, made once (XlsxWriter formats belong to a workbook)."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.wb = wb
        self.header = wb.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top", "border": 1}
        )
        self.text = wb.add_format({})
        self.title = wb.add_format({"bold": True, "font_size": 13})
        self._numbers: dict[int, object] = {}

    def number(self, digits: int):
        if digits not in self._numbers:
            pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
            self._numbers[digits] = self.wb.add_format({"num_format": pattern})
        return self._numbers[digits]


def _digits(column: str) -> int:
    if column in DISPLAY_DIGITS:
        return DISPLAY_DIGITS[column]
    if column.startswith("s_"):
        return 3
    return UNIT_DIGITS.get(column_unit(column), 2)


def _kinds(table: pd.DataFrame) -> list[str]:
    kinds = []
    for col in table.columns:
        dtype = table[col].dtype
        if pd.api.types.is_bool_dtype(dtype):
            kinds.append("bool")
        elif pd.api.types.is_numeric_dtype(dtype):
            kinds.append("number")
        else:
            kinds.append("text")
    return kinds


def _text_lengths(table: pd.DataFrame, kinds: list[str]) -> dict[str, np.ndarray]:
    """The length (characters) of each text cell, per text column."""
    return {
        col: np.asarray(
            [len(v if isinstance(v, str) else str(v)) for v in table[col].tolist()], dtype="int64"
        )
        for col, kind in zip(table.columns, kinds, strict=True)
        if kind == "text"
    }


def _widths(
    table: pd.DataFrame, kinds: list[str], headers: list[str], lengths: dict[str, np.ndarray] | None = None
) -> list[float]:
    """Column widths (characters) from the content, header wrapped.

    Text: the 95th percentile of the lengths (a few very long names do not widen the column; the
    cell shows the rest on click), at most 40 for the frozen columns, 50 otherwise. Numbers: the
    largest value as shown (thousands separators, the column's decimals). ``lengths``: the text
    cells' lengths of ``table`` (:func:`_text_lengths`) when already known.
    """
    lengths = _text_lengths(table, kinds) if lengths is None else lengths
    widths = []
    for col, kind, head in zip(table.columns, kinds, headers, strict=True):
        values = table[col]
        if kind == "text":
            cell_lengths = pd.Series(lengths[col], dtype="int64")
            content = int(np.ceil(cell_lengths.quantile(0.95))) if len(values) else 0
            content = min(content, 38 if col in FROZEN_COLUMNS else 48)
        elif kind == "bool":
            content = 5
        else:
            finite = values.to_numpy(dtype="float64")
            finite = finite[np.isfinite(finite)]
            biggest = float(np.abs(finite).max()) if finite.size else 0.0
            digits = _digits(col)
            integer = len(f"{biggest:,.0f}")
            content = integer + (digits + 1 if digits else 0) + (1 if (finite < 0).any() else 0)
        longest_word = max((len(w) for w in head.split()), default=0)
        widths.append(float(min(max(content, min(longest_word, 16), 4) + 2, 60)))
    return widths


def _clean_column(values: pd.Series) -> pd.Series:
    """:func:`_clean_text` over a whole text column at once (missing values become "").

    A column without any character :func:`_clean_text` changes and no over-long cell (the usual
    case, found with one search over the joined text) is kept as it is."""
    if isinstance(values.dtype, pd.StringDtype):
        cells = values.fillna("").tolist()
    else:
        cells = [v if isinstance(v, str) else str(v) for v in values.astype(object).where(values.notna(), "")]
    if _UNCLEAN.search("".join(cells)) or max(map(len, cells), default=0) > XLSX_CELL_MAX_CHARS:
        cells = [_clean_text(v) for v in cells]
    return pd.Series(cells, index=values.index, dtype=object)


def _text_cells(values: pd.Series) -> list[str]:
    """Cell texts of an already cleaned column (:func:`_clean_column`)."""
    return values.astype(object).where(values.notna(), "").tolist()


def _write_rows_api(ws, table: pd.DataFrame, kinds: list[str], formats: list) -> None:
    """Data rows through XlsxWriter's cell API, one call per cell, row by row (constant_memory)."""
    columns = []
    for col, kind in zip(table.columns, kinds, strict=True):
        values = table[col]
        if kind == "text":
            columns.append([v or None for v in _text_cells(values)])
        elif kind == "bool":
            columns.append(values.to_numpy(dtype=bool).tolist())
        else:
            columns.append(
                [v if math.isfinite(v) else None for v in values.to_numpy(dtype="float64").tolist()]
            )
    writers = [
        ws.write_string if k == "text" else ws.write_boolean if k == "bool" else ws.write_number
        for k in kinds
    ]
    for i, row in enumerate(zip(*columns, strict=True), start=1):
        for j, value in enumerate(row):
            if value is not None:
                writers[j](i, j, value, formats[j])


def _can_stream_xml(ws) -> bool:
    """True when the worksheet streams rows to a file XlsxWriter copies verbatim (constant_memory)."""
    return (
        getattr(ws, "constant_memory", False)
        and hasattr(ws, "_write_single_row")
        and hasattr(ws, "_check_dimensions")
        and getattr(ws, "previous_row", None) == 0
        and getattr(ws, "row_data_fh", None) is not None
    )


ROW_MARK = "\x00"
"""Stands for the row number in a row's cell XML (:func:`_row_templates`): a control character,
which no cell's text keeps (:func:`_clean_text` removes them) and no number or style holds."""


def _cell_tails(
    table: pd.DataFrame, kinds: list[str], formats: list, strings: SharedStringTable
) -> tuple[list[np.ndarray], np.ndarray]:
    """Each cell's sheet XML with :data:`ROW_MARK` for its row number, per column ('' for an
    empty cell), and each row's number of text cells.

    A cell is ``'<c r="' + column letter + ROW_MARK + tail``: text as an index into the workbook's
    shared strings (``strings``, where each distinct text is added once; XlsxWriter writes the
    table and escapes it), numbers as the shortest text that reads back the same float with the
    column's style, booleans. Built once for the whole table (the category sheets take their rows
    from it), and once per distinct value of a column.
    """
    from xlsxwriter.utility import xl_col_to_name

    tails = []
    texts_per_row = np.zeros(len(table), dtype=np.int64)
    for j, (col, kind) in enumerate(zip(table.columns, kinds, strict=True)):
        values = table[col]
        if kind == "text":
            codes, uniques = pd.factorize(
                np.asarray(_text_cells(values), dtype=object), use_na_sentinel=False
            )
            text = [f'" t="s"><v>{_string_index(strings, v)}</v></c>' if v else "" for v in uniques.tolist()]
            texts_per_row += (np.asarray([t != "" for t in text], dtype=bool)[codes]).astype(np.int64)
        elif kind == "bool":
            codes = values.to_numpy(dtype=bool).astype(np.intp)
            text = ['" t="b"><v>0</v></c>', '" t="b"><v>1</v></c>']
        else:
            style = f' s="{formats[j]._get_xf_index()}"' if formats[j] is not None else ""
            if pd.api.types.is_integer_dtype(values.dtype) and not values.isna().any():
                codes, uniques = pd.factorize(values.to_numpy(dtype="int64"))
                text = [f'"{style}><v>{v}</v></c>' for v in uniques.tolist()]
            else:  # by bit pattern: -0.0 keeps its sign
                numbers = values.to_numpy(dtype="float64", na_value=np.nan)
                codes, uniques = pd.factorize(numbers.view(np.int64))
                text = [
                    f'"{style}><v>{v!r}</v></c>' if math.isfinite(v) else ""
                    for v in np.asarray(uniques, dtype=np.int64).view(np.float64).tolist()
                ]
        start = f'<c r="{xl_col_to_name(j)}{ROW_MARK}'
        tails.append(np.asarray([*(start + t if t else "" for t in text), ""], dtype=object)[codes])
    return tails, texts_per_row


def _string_index(strings: SharedStringTable, text: str) -> int:
    """``text``'s index in the shared strings, added when new; the table's count of references is
    left as it was (each sheet adds the text cells it writes, :func:`_write_sites_sheet`)."""
    index = strings._get_shared_string_index(text)
    strings.count -= 1
    return int(index)


def _row_templates(tails: list[np.ndarray]) -> np.ndarray:
    """Each table row's cells as one text, :data:`ROW_MARK` standing for its row number."""
    return np.asarray(
        ["".join(cells) for cells in zip(*(t.tolist() for t in tails), strict=True)], dtype=object
    )


def _stream_rows_xml(ws, templates: np.ndarray, columns: int, rows: np.ndarray | None) -> None:
    """Data rows as sheet XML, streamed into XlsxWriter's row file.

    XlsxWriter's per-cell path costs about 10 us a cell; this writes the same ``<c>`` elements
    (:func:`_cell_tails`, joined per row by :func:`_row_templates`; ``rows``: the table rows of
    this sheet, all when None) where ``constant_memory`` mode keeps the rows it has written, then
    sets the sheet dimensions. The header row (row 0) must have been flushed through the normal
    path first.
    """
    chosen = (templates if rows is None else templates[rows]).tolist()
    refs = [str(i) for i in range(2, len(chosen) + 2)]
    ws.row_data_fh.writelines(
        f'<row r="{r}">' + cells.replace(ROW_MARK, r) + "</row>"
        for r, cells in zip(refs, chosen, strict=True)
    )
    ws._check_dimensions(len(chosen), columns - 1)
    ws.previous_row = len(chosen) + 1


def _write_sites_sheet(
    wb: xlsxwriter.Workbook,
    fmt: _Formats,
    title: str,
    table: pd.DataFrame,
    kinds: list[str],
    headers,
    *,
    whole: pd.DataFrame,
    rows: np.ndarray | None,
    cache: dict,
) -> None:
    """One site sheet: ``table`` is ``whole.iloc[rows]`` (all of it when ``rows`` is None); the
    cells' XML and text lengths are built once for ``whole`` and kept in ``cache`` for the next
    sheets."""
    ws = wb.add_worksheet(title)
    if "lengths" not in cache:
        cache["lengths"] = _text_lengths(whole, kinds)
    lengths = {c: v if rows is None else v[rows] for c, v in cache["lengths"].items()}
    widths = _widths(table, kinds, headers, lengths)
    formats = [
        fmt.number(_digits(c)) if k == "number" else None for c, k in zip(table.columns, kinds, strict=True)
    ]
    for j, width in enumerate(widths):
        ws.set_column(j, j, width, formats[j])
    ws.set_row(0, 30 if max(len(h) for h in headers) > 16 else None)
    for j, head in enumerate(headers):
        ws.write_string(0, j, head, fmt.header)
    if len(table) and _can_stream_xml(ws):
        ws._write_single_row(1)  # flush the header row (its style id comes first); the next row is 1
        if "rows" not in cache:
            tails, cache["texts"] = _cell_tails(whole, kinds, formats, wb.str_table)
            cache["rows"] = _row_templates(tails)
        _stream_rows_xml(ws, cache["rows"], len(headers), rows)
        texts = cache["texts"] if rows is None else cache["texts"][rows]
        wb.str_table.count += int(texts.sum())  # the shared-string references this sheet holds
    else:
        _write_rows_api(ws, table, kinds, formats)
    frozen = [i for i, c in enumerate(table.columns) if c in FROZEN_COLUMNS]
    ws.freeze_panes(1, (max(frozen) + 1) if frozen else 0)
    ws.autofilter(0, 0, max(len(table), 1), len(headers) - 1)


def _national_key(name: str) -> tuple[str, str]:
    """Unit and meaning of a ``national`` figure of estimates.json, from the key registry."""
    key = key_spec(f"national.{name}")
    if key is None:
        return "", ""
    return ("0..1" if key.unit == "1" else key.unit), key.meaning


def _write_rows(ws, fmt: _Formats, headers: list[str], rows: list[list[object]], widths: list[float]) -> None:
    """A plain table: bold header, frozen first row and column, autofilter, numbers formatted."""
    for j, width in enumerate(widths):
        ws.set_column(j, j, width)
    for j, head in enumerate(headers):
        ws.write_string(0, j, head, fmt.header)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool | np.bool_):
                ws.write_boolean(i, j, bool(value))
            elif isinstance(value, int | float | np.integer | np.floating):
                v = float(value)
                if math.isfinite(v):
                    size = abs(v)
                    digits = (
                        0 if v.is_integer() or size >= 1000 else 1 if size >= 10 else 2 if size >= 1 else 4
                    )
                    ws.write_number(i, j, v, fmt.number(digits))
            else:
                ws.write_string(i, j, _clean_text(value))
    ws.freeze_panes(1, 1)
    ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)


def _summary_sheet(wb, fmt: _Formats, estimates: dict, fleet_note: str) -> None:
    national = estimates.get("national", {})
    bands = estimates.get("bands", {})
    rows = []
    for name, value in national.items():
        band = bands.get(name, {})
        unit, meaning = _national_key(name)
        rows.append([name, value, unit, band.get("p10"), band.get("p50"), band.get("p90"), meaning])
    selection = estimates.get("selection", {})
    for key in ("rule", "value", "sites_selected", "sites_considered", "eligible_gw"):
        if key in selection:
            unit = {"eligible_gw": "GW", "sites_selected": "sites", "sites_considered": "sites"}.get(key, "")
            rows.append(
                [f"selection.{key}", selection[key], unit, None, None, None, "how the fleet was chosen"]
            )
    rows.append(
        ["in_fleet column", fleet_note, "", None, None, None, "how the site sheets' in_fleet is known"]
    )
    headers = ["figure", "value", "unit", "P10", "P50", "P90", "meaning"]
    ws = wb.add_worksheet("summary")
    _write_rows(ws, fmt, headers, rows, [36, 18, 12, 16, 16, 16, 70])


def _assumptions_sheet(wb, fmt: _Formats, estimates: dict) -> None:
    rows = []
    for name, item in (estimates.get("assumptions") or {}).items():
        if isinstance(item, dict) and "value" in item:
            value = item["value"]
            if isinstance(value, dict | list):
                value = _compact(value)
            rows.append([name, value, item.get("unit", ""), item.get("source", ""), item.get("meaning", "")])
        elif isinstance(item, dict):  # e.g. formulas: one row each
            for key, text in item.items():
                rows.append([f"{name}.{key}", _compact(text), "", "", ""])
        else:
            rows.append([name, _compact(item), "", "", ""])
    ws = wb.add_worksheet("assumptions")
    _write_rows(ws, fmt, ["assumption", "value", "unit", "source", "meaning"], rows, [40, 28, 14, 80, 60])


def _compact(value: object) -> object:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(_compact(v)) for v in value)
    return value


def _columns_sheet(wb, fmt: _Formats, table: pd.DataFrame, headers: list[str]) -> None:
    rows = []
    for col, head in zip(table.columns, headers, strict=True):
        spec = column_spec(col, "sites_ranked")
        if spec is not None:
            meaning = spec.description
        elif col.startswith("s_"):
            meaning = f"sub-score of the criterion {col[2:]}, 0..1 (1 = best)"
        else:
            meaning = ""
        rows.append([col, column_unit(col, layer="sites_ranked"), meaning, head])
    ws = wb.add_worksheet("columns")
    _write_rows(ws, fmt, ["column", "unit", "meaning", "header in the site sheets"], rows, [24, 10, 90, 30])


def write_ranked_xlsx(
    target: str | Path,
    sites: pd.DataFrame,
    *,
    estimates: dict | None = None,
    scenario_path: Path | None = None,
) -> Path:
    """Write the ranked list atomically: "all", one sheet per category present, then the
    "summary", "assumptions" and "columns" sheets (the first two only with ``estimates``).

    Parameters
    ----------
    target
        the ``.xlsx`` file.
    sites
        the ``candidate_sites`` layer (EPSG:4326 points; ``in_fleet`` used when present).
    estimates
        the content of ``estimates.json`` (national figures, bands, selection, assumptions).
    scenario_path
        the scenario the estimates used (default: the packaged one), to mark the fleet.
    """
    table, fleet_note = _xlsx_table(sites, estimates, scenario_path)
    headers = [header(c) if c != "in_fleet" else c for c in table.columns]
    kinds = _kinds(table)
    for col, kind in zip(list(table.columns), kinds, strict=True):
        if kind == "text":  # cleaned once here, not once per sheet
            table[col] = _clean_column(table[col])
    with atomic_path(target) as tmp:
        wb = _Workbook(
            str(tmp),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        fmt = _Formats(wb)
        cache: dict = {}
        _write_sites_sheet(wb, fmt, "all", table, kinds, headers, whole=table, rows=None, cache=cache)
        for category, rows in _category_rows(table):
            part = table.iloc[rows].reset_index(drop=True)
            name = CATEGORY_LABELS[category][:31]
            _write_sites_sheet(wb, fmt, name, part, kinds, headers, whole=table, rows=rows, cache=cache)
        if estimates:
            _summary_sheet(wb, fmt, estimates, fleet_note)
            _assumptions_sheet(wb, fmt, estimates)
        _columns_sheet(wb, fmt, table, headers)
        wb.close()
    return Path(target)


ZIP_LEVEL = 1
"""Deflate level of the spreadsheet's parts (XlsxWriter has no setting: it zips at zlib's default, 6)."""

_ZIP_LOCK = threading.Lock()


def deflater(level: int = ZIP_LEVEL):
    """A raw-deflate compressor (what a zip member holds) at ``level``: ISA-L's (python-isal, levels
    0-3) when it is installed, else zlib's. On the national sheets (47 MB of XML) ISA-L at level 1
    takes 0.075 s against zlib's 0.30 s, and gives 8.4 MB against 8.9 MB; any reader inflates
    either."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency; a platform without its wheel
        return zlib.compressobj(level, zlib.DEFLATED, -15)
    return isal_zlib.compressobj(min(level, isal_zlib.ISAL_BEST_COMPRESSION), isal_zlib.DEFLATED, -15)


class _FastZipFile(zipfile.ZipFile):
    """A ZipFile whose members are deflated at :data:`ZIP_LEVEL` unless told otherwise, by
    :func:`deflater` (zipfile's own writer, its compressor swapped for the member)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("compresslevel", ZIP_LEVEL)
        super().__init__(*args, **kwargs)

    def _open_to_write(self, zinfo: zipfile.ZipInfo, force_zip64: bool = False):
        # zipfile's writer of one member (CPython 3.6+; not in its type stubs)
        member = super()._open_to_write(zinfo, force_zip64)  # type: ignore[misc]
        if zinfo.compress_type == zipfile.ZIP_DEFLATED and getattr(member, "_compressor", None) is not None:
            level = getattr(zinfo, "_compresslevel", None)
            member._compressor = deflater(ZIP_LEVEL if level is None else level)
        return member


class _Workbook(xlsxwriter.Workbook):
    """XlsxWriter's workbook, its parts zipped at :data:`ZIP_LEVEL`.

    XlsxWriter opens the zip with the ``ZipFile`` name of its ``workbook`` module and offers no
    compression level; while this workbook is stored, that name is :class:`_FastZipFile` (under a
    lock, put back after; a version without the name zips as it always did).
    """

    def _store_workbook(self) -> None:
        import xlsxwriter.workbook as module

        with _ZIP_LOCK:
            original = getattr(module, "ZipFile", None)
            if original is not zipfile.ZipFile:
                super()._store_workbook()
                return
            module.ZipFile = _FastZipFile
            try:
                super()._store_workbook()
            finally:
                module.ZipFile = original


def _xlsx_table(
    sites: pd.DataFrame, estimates: dict | None, scenario_path: Path | None
) -> tuple[pd.DataFrame, str]:
    """The ranked table of the spreadsheet, with ``in_fleet`` recomputed right after ``rank``.

    Parameters
    ----------
    sites
        the ``candidate_sites`` layer (EPSG:4326 points).
    estimates
        the content of ``estimates.json``, or None (then no ``in_fleet`` column).
    scenario_path
        the scenario the estimates used (default: the packaged one).

    Returns
    -------
    (pandas.DataFrame, str)
        the table and the fleet note of :func:`fleet_mask`.
    """
    table = ranked_table(sites)
    mask, fleet_note = fleet_mask(table, estimates, scenario_path)
    if "in_fleet" in table.columns:
        table = table.drop(columns="in_fleet")
    if mask is not None:
        position = table.columns.get_loc("rank") + 1 if "rank" in table.columns else len(table.columns)
        table.insert(position, "in_fleet", mask)
    return table, fleet_note


def _category_rows(table: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """``(category, row positions)`` of each category present, in :data:`CATEGORIES` order.

    Parameters
    ----------
    table
        the ranked table (no ``category`` column: no categories).

    Returns
    -------
    list of (str, numpy.ndarray)
        the category and the int positions of its rows in ``table`` (never empty).
    """
    if "category" not in table.columns:
        return []
    found = []
    for category in CATEGORIES:
        rows = np.flatnonzero((table["category"] == category).to_numpy(dtype=bool))
        if len(rows):
            found.append((category, rows))
    return found
