"""The files users open besides the map: sites.gpkg (styled), sites_ranked.xlsx, report.html,
and the commands that write them."""

from __future__ import annotations

import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from fixtures.outputs.synthetic import HOSTILE_NAME, HOSTILE_OWNER, make_out_dir
from openpyxl import load_workbook
from rich.console import Console

from gis.errors import GisError
from gis.outputs.api import map_command, outputs_command
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
    assert names == ["map.html", "map_offline.html", "report.html", "sites.gpkg", "sites_ranked.xlsx"]
    assert all(p.stat().st_size > 0 for p in paths)
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
    assert categories["sites"].sum() == estimates["national"]["sites"]


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
    assert 'attr="score"' in sites_qml and "graduatedSymbol" in sites_qml
    meta = pyogrio.read_info(gpkg, layer="candidate_sites")["dataset_metadata"]
    assert meta["tool"].startswith("gis-btc-sites")
    assert json.loads(meta["sources"])[0]["licence"] == "CC BY 4.0"
    assert meta["scenario"] == "default <b>test</b>"
    assert json.loads(meta["national"])["mineable_gw"] > 0


def test_xlsx_headers_sheets_freeze_filter(written) -> None:
    out, _ = written
    wb = load_workbook(out / "sites_ranked.xlsx")
    assert wb.sheetnames[0] == "all"
    assert {"Federal hydro", "Flare gas", "Retired coal"} <= set(wb.sheetnames)
    ws = wb["all"]
    headers = [c.value for c in ws[1]]
    assert "mineable_mw (MW)" in headers and "dist_tx_km (km)" in headers and "score (0..1)" in headers
    assert "lat" in headers and "lon" in headers
    assert ws.freeze_panes == "C2"  # header row and the site_id / name columns
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
    assert page.count("data:image/png;base64,") == 5
    assert "src='http" not in page and 'src="http' not in page
    for section in ("National figures", "Top 25 sites", "seed's claim", "Sources and licences", "p90"):
        assert section in page
    assert "Global Power Plant Database" in page


def test_fmt_numbers() -> None:
    assert fmt(1234567.8) == "1,234,568"
    assert fmt(12.345) == "12.35"
    assert fmt(0.1875, percent=True) == "18.75 %"
    assert fmt(None) == "n/a" and fmt(float("nan")) == "n/a"
    assert fmt(7) == "7" and fmt(True) == "yes"
    assert fmt("<b>") == "&lt;b&gt;"


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
