"""The files users open besides the map: sites.gpkg (styled), sites_ranked.xlsx, report.html,
and the commands that write them."""

from __future__ import annotations

import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from fixtures.outputs.synthetic import HOSTILE_NAME, HOSTILE_OWNER, make_out_dir
from openpyxl import load_workbook
from rich.console import Console

from gis.config.vocabulary import CATEGORIES
from gis.errors import GisError
from gis.outputs.api import map_command, outputs_command
from gis.outputs.labels import CATEGORY_LABELS
from gis.outputs.report import fmt

QUIET = Console(quiet=True)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = make_out_dir(tmp_path_factory.mktemp("out"))
    paths = outputs_command(out=out, scenario_path=None, console=QUIET)
    return out, paths


def test_outputs_command_writes_every_file(written) -> None:
    out, paths = written
    names = sorted(p.name for p in paths)
    # explorer.html needs the scenario's sub-scores, which the synthetic sites lack (a warning says so)
    assert names == [
        "map.html",
        "map_offline.html",
        "report.html",
        "scenario.toml",
        "sites.gpkg",
        "sites_ranked.csv",
        "sites_ranked.xlsx",
    ]
    assert all(p.stat().st_size > 0 for p in paths)
    ranked = pd.read_csv(out / "sites_ranked.csv")
    assert {"in_fleet", "fleet_mw", "btc_per_year"} <= set(ranked.columns)  # the fleet rows joined on
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_gpkg_layers_crs_units_and_counts(written) -> None:
    out, _ = written
    gpkg = out / "sites.gpkg"
    layers = {name: geom for name, geom in pyogrio.list_layers(gpkg)}
    for name in (
        "candidate_sites",
        "state_summary",
        "category_summary",
        "layer_styles",
        "plants",
        "transmission_lines",
        "substations",
        "flare_sites",
        "states",
    ):
        assert name in layers
    ranked = pd.read_csv(out / "sites_ranked.csv")
    sites = pyogrio.read_dataframe(gpkg, layer="candidate_sites")
    assert len(sites) == len(ranked)
    assert sites.crs.to_epsg() == 4326
    assert {"mineable_mw", "capacity_mw", "dist_tx_km", "score", "rank", "s_dist_tx"} <= set(sites.columns)
    states = pyogrio.read_dataframe(gpkg, layer="state_summary")
    assert {"state", "mineable_gw", "hashrate_ehs", "btc_per_year", "sites"} <= set(states.columns)
    estimates = json.loads((out / "estimates.json").read_text())
    tx = states.set_index("state").loc["TX"]
    assert tx["mineable_gw"] == pytest.approx(estimates["by_state"]["TX"]["mineable_gw"])
    categories = pyogrio.read_dataframe(gpkg, layer="category_summary", read_geometry=False)
    assert categories["sites"].sum() == estimates["national"]["sites_in_fleet"]
    assert set(categories["category"]) == set(CATEGORIES)  # every category, 0 where none in the fleet
    assert {"average_gw", "npv_usd", "co2_mt_per_year"} <= set(categories.columns)
    # the fleet rows of estimates.json are joined onto the sites the GeoPackage carries
    assert {"in_fleet", "fleet_mw", "hours_mined", "btc_per_year", "ledger", "node"} <= set(sites.columns)
    fleet = estimates["fleet"]["sites"]
    assert int(sites["in_fleet"].sum()) == len(fleet) > 0
    first = sites.set_index("site_id").loc[next(iter(fleet))]
    assert first["fleet_mw"] == pytest.approx(fleet[next(iter(fleet))]["fleet_mw"])
    assert (sites.loc[~sites["in_fleet"].astype(bool), "fleet_mw"] == 0).all()


def test_gpkg_styles_and_provenance(written) -> None:
    out, _ = written
    gpkg = out / "sites.gpkg"
    with sqlite3.connect(gpkg) as con:
        rows = con.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
        contents = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    styled = {r[0] for r in rows}
    assert {"candidate_sites", "state_summary", "transmission_lines", "plants", "states"} <= styled
    assert "layer_styles" in contents
    for _table, column, qml, default in rows:
        assert column == "geom" and default == 1
        root = ET.fromstring(qml.split("\n", 1)[1])
        assert root.tag == "qgis" and root.find("renderer-v2") is not None
    sites_qml = next(r[2] for r in rows if r[0] == "candidate_sites")
    renderer = ET.fromstring(sites_qml.split("\n", 1)[1]).find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol" and '"score"' in renderer.get("attr")
    assert "excluded (not counted)" in sites_qml
    plants_qml = next(r[2] for r in rows if r[0] == "plants")
    assert "categorizedSymbol" in plants_qml and 'attr="owner_class"' in plants_qml
    meta = pyogrio.read_info(gpkg, layer="candidate_sites")["dataset_metadata"]
    assert meta["tool"].startswith("gis-btc-sites")
    assert json.loads(meta["sources"])[0]["licence"] == "CC BY 4.0"
    assert meta["scenario"] == "default <b>test</b>"
    assert json.loads(meta["national"])["installed_gw"] > 0


def test_gpkg_version_metadata_and_data_columns(written) -> None:
    """GeoPackage 1.2 (opens without warning in GDAL 3.6 / QGIS 3.22), valid DATETIMEs,
    descriptions that describe, units right, field titles from the column registry."""
    import re

    out, _ = written
    with sqlite3.connect(out / "sites.gpkg") as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10200
        times = [r[0] for r in con.execute("SELECT update_time FROM layer_styles")]
        contents = con.execute("SELECT table_name, identifier, description FROM gpkg_contents").fetchall()
        columns = {
            (t, c): (title, desc)
            for t, c, title, desc in con.execute(
                "SELECT table_name, column_name, title, description FROM gpkg_data_columns"
            )
        }
        extensions = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_schema'"
            )
        }
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t) for t in times)
    for table, _ident, description in contents:
        assert description and description != table, table
    assert {"gpkg_data_columns", "gpkg_data_column_constraints"} <= extensions
    assert columns[("state_summary", "btc_per_year")][0] == "Bitcoin mined (BTC/yr)"
    assert columns[("state_summary", "co2_mt_per_year")][0] == "CO2 emitted (Mt CO2/yr)"
    assert columns[("candidate_sites", "mineable_mw")][0] == "Mineable power (MW)"
    assert "grid limit" in columns[("candidate_sites", "mineable_mw")][1]


def test_graduated_classes_cover_the_maximum() -> None:
    from gis.outputs.styles import classes

    top = 1.9004624
    breaks, _ = classes(["#000000", "#111111", "#222222"], 0.0, top)
    assert breaks[0] <= 0.0 and breaks[-1] >= top


def test_xlsx_headers_sheets_freeze_filter(written) -> None:
    out, _ = written
    wb = load_workbook(out / "sites_ranked.xlsx")
    assert wb.sheetnames[0] == "all"
    assert {"Federal hydro", "Flare gas", "Retired coal"} <= set(wb.sheetnames)
    ws = wb["all"]
    headers = [c.value for c in ws[1]]
    assert "mineable_mw (MW)" in headers and "dist_tx_km (km)" in headers and "score (0..1)" in headers
    assert "lat (deg)" in headers and "lon (deg)" in headers
    assert ws.freeze_panes == "C2"  # header row and the site_id / name columns
    # the fleet rows joined by the outputs stage reach the spreadsheet
    assert any(str(h).startswith("in_fleet") for h in headers)
    assert any(str(h).startswith("fleet_mw") for h in headers)
    assert ws.auto_filter.ref.startswith("A1:")
    ranked = pd.read_csv(out / "sites_ranked.csv")
    assert ws.max_row - 1 == len(ranked)
    names = [ws.cell(row=r, column=headers.index("name") + 1).value for r in range(2, ws.max_row + 1)]
    assert names[0] == HOSTILE_NAME  # best first, stored as plain text
    flare = wb["Flare gas"]
    assert flare.max_row - 1 == int((ranked["category"] == "flare_gas").sum())


def test_xlsx_formula_text_stays_text(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from gis.outputs.tables import write_ranked_xlsx

    sites = gpd.GeoDataFrame(
        {"site_id": ["a"], "name": ['=HYPERLINK("http://x","y")'], "category": ["flare_gas"], "rank": [1]},
        geometry=[Point(-100, 32)],
        crs="EPSG:4326",
    )
    wb = load_workbook(write_ranked_xlsx(tmp_path / "x.xlsx", sites))
    cell = wb["all"]["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_report_is_self_contained_and_escaped(written) -> None:
    out, _ = written
    page = (out / "report.html").read_text()
    assert HOSTILE_NAME not in page and HOSTILE_OWNER not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    # supply curve, cash flow, price-duration, tornado; fleet GW by category and state; scores
    assert page.count("data:image/png;base64,") == 6
    assert page.count("data:image/svg+xml;base64,") == 1  # the score histogram
    assert "src='http" not in page and 'src="http' not in page
    for section in (
        "National figures",
        "Top 25 sites",
        "The seed&#39;s claims, checked",
        "The finding",
        "Supply curve",
        "Cash flow over the machines&#39; life",
        "Market prices: price-duration curves",
        "Sources and licences",
        "P90",
    ):
        assert section in page
    assert "Global Power Plant Database" in page
    assert '<table class="kv">' not in page.split("Other figures")[0]  # no raw nested dump


def test_report_lists_every_category_and_unknown_figures(tmp_path: Path) -> None:
    """A category adding 0 GW is listed with its reason; a key the report does not know is shown."""
    import geopandas as gpd

    from gis.outputs.report import build_report, category_rows

    out = make_out_dir(tmp_path / "out")
    sites = gpd.read_file(out / "sites.gpkg", layer="candidate_sites")
    estimates = json.loads((out / "estimates.json").read_text())
    rows = {r["label"]: r for r in category_rows(sites, estimates)}
    assert set(rows) >= set(CATEGORY_LABELS.values())
    for label, row in rows.items():
        if row["gw"] in ("0", "0.00"):
            assert row["why"], label
    estimates["wasted"] = {"btc_per_year": 1234.5, "hours_mined": 2000}
    estimates["national"]["fleet_npv_usd"] = 2.5e9
    page = build_report(sites=sites, estimates=estimates, sources=[])
    assert "Other figures" in page and "wasted.btc_per_year" in page and "1,234 BTC/yr" in page
    assert "fleet npv usd" in page and "$2.50 B" in page


def _report_inputs(tmp_path: Path):
    import geopandas as gpd

    from gis.outputs.inputs import join_fleet, read_market_prices

    out = make_out_dir(tmp_path / "out")
    estimates = json.loads((out / "estimates.json").read_text())
    sites = join_fleet(gpd.read_file(out / "sites.gpkg", layer="candidate_sites"), estimates)
    return sites, estimates, read_market_prices(out / "layers.gpkg")


def test_report_shows_ledgers_categories_surplus_and_charts(tmp_path: Path) -> None:
    """The headline per ledger with P10-P90, every category with how it was counted and why it
    adds nothing, the surplus table beside published figures, the supply-curve, cash-flow and
    price-duration charts."""
    from gis.outputs.report import build_report

    sites, estimates, prices = _report_inputs(tmp_path)
    page = build_report(sites=sites, estimates=estimates, sources=[], market_prices=prices)
    assert "Wasted ledger: energy the country owns or wastes (headline)" in page
    assert "Bought ledger: energy bought at market price" in page
    assert "P10–P90" in page and "41.4 %" in page and "41.2 %" in page
    assert "Wasted energy found: a potential" in page
    # every category with its reason, surplus meaning and what was left out
    for label in CATEGORY_LABELS.values():
        assert label in page, label
    assert "pays back its machines over their life at the central inputs" in page
    assert "Surplus here is" in page and "spill only" in page and "40 CFR 63.6640(f)" in page
    assert "no hourly prices in its region: no evidence of surplus hours" in page
    # surplus beside the published figures
    assert "Beside published figures" in page and "ERCOT curtailed wind + solar, 2024" in page
    assert "0.90" in page and "(range 50.00 – 300.0)" in page
    for alt in (
        "supply curve: bought ledger",
        "cash flow: margin by year",
        "price-duration curves",
        "tornado",
    ):
        assert f'alt="{alt}' in page, alt
    assert "ERCOT West" in page and "PJM Western Hub" in page and "no prices for this hub" in page
    assert "IRR 23.0 %" in page and "payback 2.7 years" in page
    assert "99.0 % of the network" in page and "A reserve of 200,000 BTC" in page
    # the old model's words are gone
    for old in ("max_margin", "eligible GW", "uptime-based"):
        assert old not in page


def test_price_curves_are_kept_by_the_layers_key(tmp_path: Path, monkeypatch) -> None:
    """The report's price curves of one layers key are made once: a second run (a weight change)
    reads no price, and gets the same curves and rows; another key makes them again."""
    from gis.outputs.report import kept_price_curves, price_curves, reference_year

    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path / "cache"))
    _, estimates, prices = _report_inputs(tmp_path)
    year = reference_year(estimates)
    reads = []

    def read():
        reads.append(1)
        return prices

    made, rows = price_curves(prices, year)
    assert made  # the fixture has hubs with prices
    for key in ("layers-a", "layers-a", "layers-b"):
        curves, kept_rows = kept_price_curves(read, year, key)
        assert kept_rows == rows and list(curves) == list(made)
        for label, values in made.items():
            assert curves[label].dtype == np.float64 and np.array_equal(curves[label], values)
    assert len(reads) == 2  # layers-a once, layers-b once
    assert kept_price_curves(read, year, None)[1] == rows and len(reads) == 3  # no key: made each time


def test_report_says_plainly_when_the_fleet_is_empty(tmp_path: Path) -> None:
    """An empty economic fleet at the central inputs is a finding, said in words, with the share
    of draws that build one; payback reads 'no fleet to pay back', not a number."""
    from gis.outputs.report import build_report

    sites, estimates, _ = _report_inputs(tmp_path)
    n = estimates["national"]
    n.update(sites_in_fleet=0, installed_gw=0.0, npv_usd=0.0, irr=None, payback_years=None, capex_usd=0.0)
    estimates["fleet"] = {"site_ids": [], "sites": {}}
    estimates["by_category"] = estimates["by_state"] = estimates["by_owner_class"] = {}
    for p in estimates["projection"]:
        p.update(margin_usd=0.0, cumulative_cash_usd=0.0, btc=0.0)
    page = build_report(sites=sites, estimates=estimates, sources=[], market_prices=None)
    assert "the economic fleet is empty" in page and "not a missing figure" in page
    assert "41.4 % build a fleet" in page and "no fleet to pay back" in page
    assert "No hourly market prices were available" in page
    assert "No site is in the fleet at the central inputs" in page


def test_join_fleet_marks_members_and_refuses_strangers() -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from gis.outputs.inputs import join_fleet

    sites = gpd.GeoDataFrame({"site_id": ["a", "b"]}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:4326")
    row = {"in_fleet": True, "mode": "wasted", "fleet_mw": 12.5, "hours_mined": 4000.0, "btc_per_year": 3.0}
    out = join_fleet(sites, {"fleet": {"site_ids": ["a"], "sites": {"a": row}}})
    assert out["in_fleet"].tolist() == [True, False]
    assert out["fleet_mw"].tolist() == [12.5, 0.0] and out["btc_per_year"].tolist() == [3.0, 0.0]
    assert out["fleet_mode"].tolist() == ["wasted", ""]
    assert join_fleet(sites, {})["in_fleet"].tolist() == [False, False]
    with pytest.raises(GisError, match=r"fleet\.sites"):
        join_fleet(sites, {"fleet": {"site_ids": ["zz"], "sites": {}}})


def test_sources_say_which_was_used() -> None:
    from gis.outputs.report import source_rows

    sources = [
        {"source": "hifld_transmission_lines"},
        {"source": "gridkit_north_america", "origin": "mirror"},
    ]
    notes = {
        "transmission_lines": [
            "hifld_transmission_lines not available from the local directory /data",
            "national fallback: GridKit 2016 OpenStreetMap high-voltage links",
        ]
    }
    rows = {r["source"]: r for r in source_rows(sources, notes)}
    assert rows["hifld_transmission_lines"]["used"].startswith("not available")
    assert "GridKit" in rows["hifld_transmission_lines"]["used"]
    assert rows["gridkit_north_america"]["used"] == "read from the mirror"


def test_fmt_by_unit() -> None:
    assert fmt(2026, "year") == "2026"
    assert fmt(20260101, "plain") == "20260101"
    assert fmt(3.125, "BTC/block") == "3.125" and fmt(0.78125, "BTC/block") == "0.78125"
    assert fmt(4.7735e9, "USD/yr") == "$4.77 B a year" and fmt(1.99e6, "USD") == "$1.99 M"
    assert fmt(0.3456, "share") == "34.6 %"
    assert fmt(1234567.8, "count") == "1,234,568"
    assert fmt(12.345) == "12.35"
    assert fmt(None) == "n/a" and fmt(float("nan")) == "n/a"
    assert fmt(True) == "yes"


@pytest.mark.parametrize(
    ("missing", "command"),
    [("layers.gpkg", "gis build"), ("sites.gpkg", "gis score"), ("estimates.json", "gis estimate")],
)
def test_missing_input_names_the_command(tmp_path: Path, missing: str, command: str) -> None:
    out = make_out_dir(tmp_path / "out")
    (out / missing).unlink()
    with pytest.raises(GisError, match=command) as info:
        map_command(out=out, offline=False, console=QUIET)
    assert missing in info.value.message


def test_sites_without_required_column(tmp_path: Path) -> None:
    out = make_out_dir(tmp_path / "out")
    sites = pyogrio.read_dataframe(out / "sites.gpkg", layer="candidate_sites").drop(columns="mineable_mw")
    pyogrio.write_dataframe(sites, out / "sites.gpkg", layer="candidate_sites")
    with pytest.raises(GisError, match="mineable_mw"):
        map_command(out=out, offline=False, console=QUIET)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_output_keeps_old_map(tmp_path: Path) -> None:
    out = make_out_dir(tmp_path / "out")
    old = map_command(out=out, offline=False, console=QUIET).read_bytes()
    out.chmod(0o555)
    try:
        with pytest.raises(GisError, match="not writable"):
            map_command(out=out, offline=True, console=QUIET)
    finally:
        out.chmod(0o755)
    assert (out / "map.html").read_bytes() == old


def test_failed_render_leaves_old_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = make_out_dir(tmp_path / "out")
    old = map_command(out=out, offline=False, console=QUIET).read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("killed while rendering")

    monkeypatch.setattr("gis.outputs.map.render_map_html", broken)
    with pytest.raises(RuntimeError):
        map_command(out=out, offline=True, console=QUIET)
    assert (out / "map.html").read_bytes() == old
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_graduated_layers_draw_their_best_features_on_top() -> None:
    import xml.etree.ElementTree as ET

    from gis.outputs.styles import Style, qml

    column = 'if("excluded", -1, "score")'
    style = Style("marker", column=column, breaks=(0.0, 0.5, 1.0), colours=("#d7191c", "#1a9641"))
    renderer = ET.fromstring(qml(style)).find("renderer-v2")
    assert renderer is not None and renderer.get("enableorderby") == "1"
    (clause,) = renderer.iter("orderByClause")  # lowest class first: excluded sites drawn under
    assert clause.text == column and clause.get("asc") == "1"
