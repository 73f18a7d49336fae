"""`gis run` end to end on a tiny data directory written by the test, every output opened.

The data directory is laid out like the mirror from the hand-written fixtures the layer tests
already use (boundaries, plants, grid, flares, offshore, military, resource, bitcoin, markets).
The market fixtures cover a few quarters only, so the run reads a copy of the catalog without
the required market files the fixtures do not have (``GIS_CATALOG_DIR``); optional files stay
catalogued and are reported missing, as on a user's machine.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import test_layers_boundaries as boundaries_fixtures
import test_layers_flares as flares_fixtures
import test_layers_markets as markets_fixtures
import test_layers_misc as misc_fixtures
import test_layers_plants as plants_fixtures
import test_layers_transmission as grid_fixtures
from openpyxl import load_workbook

from gis import __version__
from gis.cli import main
from gis.config.catalog import load_catalog

REPO = Path(__file__).resolve().parent.parent
OUTPUTS = {
    "estimates.json",
    "explorer.html",
    "layers.gpkg",
    "map.html",
    "map_offline.html",
    "report.html",
    "scenario.toml",
    "sites.gpkg",
    "sites_ranked.csv",
    "sites_ranked.xlsx",
}
SOURCE_LAYERS = {
    "states",
    "counties",
    "plants",
    "transmission_lines",
    "substations",
    "flare_sites",
    "flare_basins",
    "offshore_wells",
    "military_sites",
    "resource_grid",
    "btc_network",
    "asic_models",
    "market_prices",
    "market_mix",
}


def tiny_data_dir(root: Path) -> tuple[Path, Path]:
    """``(data directory, catalog folder)``: every source in the mirror layout, from fixtures."""
    data = root / "data"
    boundaries_fixtures.mirror_layout(data)
    for source, (name, _) in plants_fixtures.LAYOUT.items():
        (data / source).mkdir(parents=True, exist_ok=True)
        shutil.copy(plants_fixtures.FIXTURES / name, data / source / name)
    grid_fixtures.gridkit_mirror(data)
    flares_fixtures.make_data_dir(data)
    misc_fixtures.make_data_dir(data)
    markets, _ = markets_fixtures._data_dir(root / "markets")
    shutil.copytree(markets, data, dirs_exist_ok=True)

    catalog = root / "catalog"
    catalog.mkdir()
    for toml in sorted((REPO / "layers").glob("*.toml")):
        head, *blocks = re.split(
            r"(?m)^(?=\[\[files\]\]\s*$|\[columns\]\s*$)", toml.read_text(encoding="utf-8")
        )
        kept = []
        for block in blocks:
            path = re.search(r'(?m)^path\s*=\s*"([^"]+)"', block)
            optional = re.search(r"(?m)^optional\s*=\s*true", block)
            if block.startswith("[[files]]") and path and not optional and not (data / path[1]).exists():
                continue  # a market file the fixtures do not have
            kept.append(block)
        (catalog / toml.name).write_text(head + "".join(kept), encoding="utf-8")
    required = [
        (name, f.path) for name, s in load_catalog(catalog).items() for f in s.files if not f.optional
    ]
    assert all((data / path).is_file() for _, path in required)
    assert {name for name, _ in required} >= {"eia_wm_ercot", "census_cb_2010_20m", "vnf_flares_2017"}
    return data, catalog


@pytest.fixture(scope="module")
def run_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of one ``gis run`` on the tiny data directory (cold caches)."""
    root = tmp_path_factory.mktemp("run")
    data, catalog = tiny_data_dir(root)
    out = root / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIS_CACHE_DIR", str(root / "cache"))
        mp.setenv("GIS_CATALOG_DIR", str(catalog))
        mp.delenv("GIS_DATA_MIRROR", raising=False)
        mp.delenv("GIS_DATA_DIR", raising=False)
        assert main(["run", "--data-dir", str(data), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def ranked(run_out: Path) -> pd.DataFrame:
    return pd.read_csv(run_out / "sites_ranked.csv")


def test_every_output_is_written_and_nothing_else(run_out: Path) -> None:
    assert {p.name for p in run_out.iterdir()} == OUTPUTS
    assert all((run_out / name).stat().st_size > 0 for name in OUTPUTS)


def test_ranked_csv(ranked: pd.DataFrame) -> None:
    assert len(ranked) >= 10
    assert ranked["site_id"].is_unique
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))  # sorted by rank, no gaps
    kept = ranked.loc[~ranked["excluded"]]
    assert len(kept) >= 1 and kept["score"].is_monotonic_decreasing
    assert ranked.loc[ranked["excluded"], "exclusion_reason"].notna().all()  # every exclusion says why
    assert {"flare_gas", "federal_hydro", "retired_coal", "military_backup"} <= set(ranked["category"])
    assert ranked[["lat", "lon", "mineable_mw"]].notna().all().all()
    assert ranked["lat"].between(-90, 90).all() and ranked["lon"].between(-180, 180).all()


def test_sites_geopackage_matches_the_csv(run_out: Path, ranked: pd.DataFrame) -> None:
    layers = dict(pyogrio.list_layers(run_out / "sites.gpkg"))
    assert {"candidate_sites", "state_summary", "category_summary", "layer_styles"} <= set(layers)
    sites = gpd.read_file(run_out / "sites.gpkg", layer="candidate_sites")
    assert sites.crs.to_epsg() == 4326
    assert set(sites.geom_type) == {"Point"}
    sites = sites.set_index("site_id").loc[ranked["site_id"]]  # the same sites, every one
    assert len(sites) == len(ranked)
    np.testing.assert_allclose(sites.geometry.y, ranked["lat"], atol=1e-4)
    np.testing.assert_allclose(sites.geometry.x, ranked["lon"], atol=1e-4)
    np.testing.assert_allclose(sites["score"], ranked["score"], atol=1e-6)  # the csv keeps 6 decimals


def test_layers_geopackage_holds_every_source_layer(run_out: Path) -> None:
    layers = dict(pyogrio.list_layers(run_out / "layers.gpkg"))
    assert set(layers) >= SOURCE_LAYERS
    for name in SOURCE_LAYERS:
        info = pyogrio.read_info(run_out / "layers.gpkg", layer=name)
        assert info["features"] > 0, name
        if layers[name] is not None:
            assert gpd.read_file(run_out / "layers.gpkg", layer=name, rows=1).crs.to_epsg() == 4326, name
    substations = gpd.read_file(run_out / "layers.gpkg", layer="substations")
    assert substations["substation_id"].str.startswith("gridkit:").all()  # the GridKit fallback


def test_workbook(run_out: Path, ranked: pd.DataFrame) -> None:
    book = load_workbook(run_out / "sites_ranked.xlsx", read_only=True)
    assert {"all", "summary", "assumptions", "columns"} <= set(book.sheetnames)
    rows = list(book["all"].iter_rows(values_only=True))
    assert rows[0][0] == "site_id"
    assert [r[0] for r in rows[1:]] == ranked["site_id"].tolist()
    per_category = [s for s in book.sheetnames if s not in {"all", "summary", "assumptions", "columns"}]
    assert sum(book[s].max_row - 1 for s in per_category) == len(ranked)  # each site on one category sheet
    figures = [r[0] for r in book["summary"].iter_rows(values_only=True)]
    assert len(figures) > 5 and figures[0] == "figure"


def test_estimates_json(run_out: Path, ranked: pd.DataFrame) -> None:
    estimates = json.loads((run_out / "estimates.json").read_text(encoding="utf-8"))
    assert estimates["tool_version"] == __version__
    assert {"national", "by_category", "assumptions", "scenario"} <= set(estimates)
    national = estimates["national"]
    assert national["sites_in_fleet"] == int(ranked["in_fleet"].sum())
    assert national["btc_per_year"] == pytest.approx(ranked["btc_per_year"].sum(), abs=1e-6)
    assert national["installed_gw"] >= 0 and national["capex_usd"] >= 0


class _Page(HTMLParser):
    """Tags, external script/stylesheet addresses and the text of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        address = values.get("src") if tag == "script" else values.get("href") if tag == "link" else None
        if address and re.match(r"(https?:)?//", address):
            self.external.append(address)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.mark.parametrize("name", ["map.html", "map_offline.html", "report.html", "explorer.html"])
def test_html_pages_parse(run_out: Path, ranked: pd.DataFrame, name: str) -> None:
    page = parse(run_out / name)
    assert page.tags.count("html") == 1 and page.tags.count("body") == 1
    text = "".join(page.text)
    top = ranked.iloc[0]
    if name == "report.html":
        assert "title" in page.tags and top["name"] in text  # the best site is named in the report
    else:
        assert top["site_id"] in text  # the map data carries the sites
    if name in {"map_offline.html", "report.html", "explorer.html"}:
        assert page.external == [], page.external[:3]  # self-contained: opens without a network
