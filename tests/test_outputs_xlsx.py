"""sites_ranked.xlsx as a planner meets it: formats by unit, widths, frozen panes, fleet, extra sheets."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point

from gis.outputs import tables
from gis.outputs.tables import write_ranked_xlsx

ESTIMATES = {
    "selection": {"rule": "score_threshold", "value": 0.5, "sites_selected": 2},
    "national": {"mineable_gw": 0.25, "btc_per_year": 1234.5, "capex_usd": 5.5e7},
    "bands": {"btc_per_year": {"p10": 1000.0, "p50": 1200.0, "p90": 1400.0}},
    "assumptions": {
        "pue": {"value": 1.1, "unit": "1", "meaning": "site / IT power", "source": "d-central.tech"},
        "market.btc_price_usd": {"value": 87000.0, "unit": "USD/BTC", "meaning": "price", "source": "x"},
        "formulas": {"machines": "IT power / ASIC power"},
    },
}


def _sites(n: int = 5) -> gpd.GeoDataFrame:
    names = ["Grand Coulee", "line\nbreak\x07 bell", '=HYPERLINK("http://x","y")', "  padded ", "A" * 90]
    return gpd.GeoDataFrame(
        {
            "site_id": [f"federal_hydro:{i}" for i in range(n)],
            "name": names[:n],
            "category": ["federal_hydro"] * 3 + ["flare_gas"] * (n - 3),
            "mineable_mw": [1234.5678, 10.0, np.nan, 0.5, 2.0][:n],
            "score": [0.91712601, 0.5, 0.4, 0.3, 0.2][:n],
            "rank": list(range(1, n + 1)),
            "excluded": [False] * n,
            "in_fleet": [True, True, False, False, False][:n],
        },
        geometry=[Point(-119.0 + i, 47.9) for i in range(n)],
        crs="EPSG:4326",
    )


@pytest.fixture()
def book(tmp_path: Path):
    return load_workbook(write_ranked_xlsx(tmp_path / "s.xlsx", _sites(), estimates=ESTIMATES))


def test_sheets_and_panes(book) -> None:
    assert book.sheetnames == ["all", "Federal hydro", "Flare gas", "summary", "assumptions", "columns"]
    ws = book["all"]
    assert ws.freeze_panes == "C2"  # header row and site_id + name stay in view
    assert ws.auto_filter.ref == "A1:J6"
    assert book["Flare gas"].max_row == 3


def test_numbers_formatted_by_unit_and_stored_in_full(book) -> None:
    ws = book["all"]
    headers = [c.value for c in ws[1]]
    mw = ws.cell(row=2, column=headers.index("mineable_mw (MW)") + 1)
    score = ws.cell(row=2, column=headers.index("score (0..1)") + 1)
    assert mw.value == pytest.approx(1234.5678) and mw.number_format == "#,##0.0"
    assert score.value == pytest.approx(0.91712601) and score.number_format == "#,##0.000"
    assert ws.cell(row=4, column=headers.index("mineable_mw (MW)") + 1).value is None  # NaN left empty
    assert headers.index("in_fleet") == headers.index("rank") + 1
    fleet = [ws.cell(row=r, column=headers.index("in_fleet") + 1).value for r in range(2, 7)]
    assert fleet == [True, True, False, False, False]


def test_text_is_clean_and_never_a_formula(book) -> None:
    ws = book["all"]
    names = [ws.cell(row=r, column=2).value for r in range(2, 7)]
    assert names[1] == "line break bell"  # line break and bell removed
    assert book["all"]["B4"].data_type == "s" and names[2].startswith("=HYPERLINK")
    assert names[3] == "  padded "  # whitespace kept


def test_widths_follow_content(book) -> None:
    ws = book["all"]
    widths = {c: ws.column_dimensions[c].width for c in "ABCDE"}
    assert widths["A"] >= len("federal_hydro:0")
    assert widths["B"] <= 42  # a 90-character name does not make the frozen column huge
    assert ws.column_dimensions["F"].width < 12  # rank: a short number under a wrapped header


def test_summary_assumptions_columns(book) -> None:
    summary = {r[0]: r for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["btc_per_year"][1:6] == (1234.5, "BTC/yr", 1000.0, 1200.0, 1400.0)
    assert summary["capex_usd"][2] == "USD" and "capital cost" in summary["capex_usd"][6]
    assumptions = {r[0]: r for r in book["assumptions"].iter_rows(min_row=2, values_only=True)}
    assert assumptions["pue"][1:4] == (1.1, "1", "d-central.tech")
    assert assumptions["formulas.machines"][1] == "IT power / ASIC power"
    columns = {r[0]: r for r in book["columns"].iter_rows(min_row=2, values_only=True)}
    assert columns["mineable_mw"][1] == "MW" and "mining" in columns["mineable_mw"][2]
    assert columns["lat"][1] == "deg"


def test_streamed_rows_equal_cell_api_rows(tmp_path: Path, monkeypatch) -> None:
    fast = load_workbook(write_ranked_xlsx(tmp_path / "fast.xlsx", _sites()))
    monkeypatch.setattr(tables, "_can_stream_xml", lambda ws: False)
    slow = load_workbook(write_ranked_xlsx(tmp_path / "slow.xlsx", _sites()))
    for name in fast.sheetnames:
        a = [[(c.value, c.number_format) for c in row] for row in fast[name].iter_rows()]
        b = [[(c.value, c.number_format) for c in row] for row in slow[name].iter_rows()]
        assert a == b, name


def test_fleet_unknown_without_estimates_or_column(tmp_path: Path) -> None:
    sites = _sites().drop(columns="in_fleet")
    mask, why = tables.fleet_mask(sites, None)
    assert mask is None and "estimates" in why
    book = load_workbook(write_ranked_xlsx(tmp_path / "s.xlsx", sites))
    assert "in_fleet" not in [c.value for c in book["all"][1]]
    assert book.sheetnames[-1] == "columns" and "summary" not in book.sheetnames


def test_fleet_from_the_estimates_site_ids() -> None:
    sites = _sites().drop(columns="in_fleet")
    first = str(sites["site_id"].iloc[0])
    mask, why = tables.fleet_mask(sites, {"fleet": {"site_ids": [first]}})
    assert mask.tolist() == [True] + [False] * (len(sites) - 1) and "site_ids" in why


def test_parts_are_zipped_fast_and_hold_what_xlsxwriter_writes(tmp_path: Path, monkeypatch) -> None:
    import zipfile

    import xlsxwriter.workbook

    levels: list[int | None] = []
    original_write = zipfile.ZipFile.write

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        levels.append(self.compresslevel)
        return original_write(self, filename, arcname, compress_type, compresslevel)

    monkeypatch.setattr(zipfile.ZipFile, "write", write)
    deflated: list[int] = []
    real_deflater = tables.deflater

    def counted(level: int = tables.ZIP_LEVEL):
        deflated.append(level)
        return real_deflater(level)

    monkeypatch.setattr(tables, "deflater", counted)
    fast = write_ranked_xlsx(tmp_path / "fast.xlsx", _sites(), estimates=ESTIMATES)
    assert levels and set(levels) == {tables.ZIP_LEVEL}
    with zipfile.ZipFile(fast) as book:  # every part deflated by the fast deflater, and whole
        assert len(deflated) == len(book.namelist()) and set(deflated) == {tables.ZIP_LEVEL}
        assert {info.compress_type for info in book.infolist()} == {zipfile.ZIP_DEFLATED}
        assert book.testzip() is None
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile  # put back
    monkeypatch.setattr(tables, "_Workbook", xlsxwriter.Workbook)  # XlsxWriter's own zipping
    plain = write_ranked_xlsx(tmp_path / "plain.xlsx", _sites(), estimates=ESTIMATES)
    with zipfile.ZipFile(fast) as a, zipfile.ZipFile(plain) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if name != "docProps/core.xml":  # its creation time
                assert a.read(name) == b.read(name), name


def test_the_deflater_is_isa_l_at_the_zip_level() -> None:
    import zlib

    from isal import isal_zlib

    deflater = tables.deflater()
    assert type(deflater) is type(isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15))
    text = b"<row><c><v>1</v></c></row>" * 1000
    assert zlib.decompress(deflater.compress(text) + deflater.flush(), -15) == text  # raw deflate
