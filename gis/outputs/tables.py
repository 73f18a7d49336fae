"""The ranked list as a spreadsheet (``sites_ranked.xlsx``): an "all" sheet plus one per category.

Headers carry units (``mineable_mw (MW)``), the header row is frozen and filterable. Text that
a spreadsheet would run as a formula (starting with ``=``) is stored as plain text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from gis.io import atomic_path
from gis.outputs.labels import CATEGORY_LABELS, header
from gis.schema import CATEGORIES
from gis.textsafe import xlsx_text

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def ranked_table(sites: pd.DataFrame) -> pd.DataFrame:
    """Sites without geometry, best first, with ``lat`` and ``lon`` (degrees, EPSG:4326)."""
    table = pd.DataFrame(sites.drop(columns="geometry", errors="ignore"))
    if "geometry" in sites.columns:
        table["lat"] = np.round(sites.geometry.y.to_numpy(), 6)
        table["lon"] = np.round(sites.geometry.x.to_numpy(), 6)
    return table.sort_values(["rank", "site_id"], kind="stable").reset_index(drop=True)


def _cell_value(value: object) -> object:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return xlsx_text(value)
    return value


def _fill_sheet(ws, table: pd.DataFrame, headers: list[str]) -> None:
    ws.append(headers)
    for cell in ws[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    for row in table.itertuples(index=False, name=None):
        ws.append([_cell_value(v) for v in row])
    for column in ws.iter_cols(min_row=2):
        for cell in column:
            if cell.data_type == "f":  # text such as "=HYPERLINK(...)" stays text
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(table) + 1, 1)}"
    for i, name in enumerate(headers, start=1):
        width = min(max(len(name), 8) + 2, 48)
        ws.column_dimensions[get_column_letter(i)].width = width


def write_ranked_xlsx(target: str | Path, sites: pd.DataFrame) -> Path:
    """Write the ranked list atomically: sheet "all", then one sheet per category present."""
    table = ranked_table(sites)
    headers = [header(c) for c in table.columns]
    wb = Workbook()
    ws = wb.active
    ws.title = "all"
    _fill_sheet(ws, table, headers)
    for category in CATEGORIES:
        part = table.loc[table["category"] == category]
        if part.empty:
            continue
        _fill_sheet(wb.create_sheet(CATEGORY_LABELS[category][:31]), part, headers)
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return Path(target)
