"""``gis compare`` on two runs of the tiny layers: the CSV's deltas against the two ranked lists."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from gis.cli import main
from gis.compare import national_deltas, scenario_differences
from gis.io import write_gpkg
from gis.outputs.assets import remote_asset_tags
from gis.outputs.explorer import write_run_scenario
from gis.scoring.api import score_command

_spec = importlib.util.spec_from_file_location(
    "tiny_layers", Path(__file__).parent / "fixtures" / "scoring" / "tiny_layers.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

SCENARIO_B = """name = "heavier-size"
[scoring.criteria.size]
weight = 0.45
[scoring.criteria.grid_distance]
weight = 0.0
[scoring.sites.federal_hydro]
include_pumped_storage = true
"""


def _run(out: Path, scenario: Path | None, estimates: dict) -> Path:
    write_gpkg(out / "layers.gpkg", {**tiny.tiny_layers(), **tiny.tiny_market_layers()})
    score_command(out=out, scenario_path=scenario, console=Console(quiet=True))
    (out / "estimates.json").write_text(json.dumps(estimates), encoding="utf-8")
    write_run_scenario(out, scenario)
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("compare")
    scenario_b = root / "b.toml"
    scenario_b.write_text(SCENARIO_B, encoding="utf-8")
    a = _run(root / "a", None, {"national": {"btc_per_year": 100.0, "mineable_gw": 1.5, "only_a": 3.0}})
    b = _run(
        root / "b",
        scenario_b,
        {
            "national": {"btc_per_year": 120.0, "mineable_gw": 1.5},
            "ledgers": {"wasted": {"gw": 1.0, "btc_per_year": 80.0}},
        },
    )
    target = root / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(target)]) == 0
    return a, b, target


def test_compare_csv_deltas_match_the_ranked_lists(pair) -> None:
    a, b, target = pair
    ranked_a = pd.read_csv(a / "sites_ranked.csv").set_index("site_id")
    ranked_b = pd.read_csv(b / "sites_ranked.csv").set_index("site_id")
    cmp = pd.read_csv(target / "compare.csv").set_index("site_id")
    assert set(cmp.index) == set(ranked_a.index) | set(ranked_b.index)
    gained = set(ranked_b.index) - set(ranked_a.index)
    assert gained and all(cmp.loc[s, "status"] == "gained" for s in gained)
    assert set(cmp.index[cmp["status"] == "lost"]) == set(ranked_a.index) - set(ranked_b.index)
    both = sorted(set(ranked_a.index) & set(ranked_b.index))
    for site in both:
        row = cmp.loc[site]
        assert row["rank_a"] == ranked_a.loc[site, "rank"] and row["rank_b"] == ranked_b.loc[site, "rank"]
        assert row["rank_change"] == ranked_a.loc[site, "rank"] - ranked_b.loc[site, "rank"]
        assert row["score_change"] == pytest.approx(
            ranked_b.loc[site, "score"] - ranked_a.loc[site, "score"], abs=2e-6
        )
        assert row["mineable_mw_change"] == pytest.approx(
            ranked_b.loc[site, "mineable_mw"] - ranked_a.loc[site, "mineable_mw"], abs=2e-4
        )
        expected = "moved" if row["rank_a"] != row["rank_b"] else "same"
        assert row["status"] == expected
    assert (cmp["status"] == "moved").any()
    assert cmp["fleet_change"].isna().all()  # neither run records a fleet


def test_compare_page_and_scenario_keys(pair) -> None:
    _, _, target = pair
    page = (target / "compare.html").read_text(encoding="utf-8")
    assert "scoring.criteria.size.weight" in page
    assert "scoring.sites.federal_hydro.include_pumped_storage" in page
    assert remote_asset_tags(page) == []  # Leaflet inlined: opens offline


def test_national_deltas_tolerate_missing_keys() -> None:
    deltas = national_deltas(
        {"national": {"x": 1.0, "only_a": 2.0}},
        {"national": {"x": 3.0}, "ledgers": {"wasted": {"gw": 1.0}}},
    ).set_index(["ledger", "metric"])
    assert deltas.loc[("national", "x"), "delta"] == 2.0
    assert np.isnan(deltas.loc[("national", "only_a"), "delta"])
    assert np.isnan(deltas.loc[("wasted", "gw"), "a"]) and deltas.loc[("wasted", "gw"), "b"] == 1.0


def test_scenario_differences_list_changed_and_absent_keys() -> None:
    diff = scenario_differences(
        {"a": {"b": 1, "c": 2}, "name": "x"}, {"a": {"b": 1, "c": 3, "d": 4}, "name": "y"}
    )
    assert diff["key"].tolist() == ["a.c", "a.d"]
    assert diff.set_index("key").loc["a.d", "a"] == json.dumps("(absent)")


def test_compare_sites_fleet_and_lost() -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from gis.compare import compare_sites

    def frame(ids, ranks, mw):
        return gpd.GeoDataFrame(
            {
                "site_id": ids,
                "name": ids,
                "category": "flare_gas",
                "state": "TX",
                "rank": ranks,
                "score": [1.0 - r / 10 for r in ranks],
                "mineable_mw": mw,
            },
            geometry=[Point(-100, 30 + k) for k in range(len(ids))],
            crs="EPSG:4326",
        )

    a = frame(["x", "y", "z"], [1, 2, 3], [5.0, 6.0, 7.0])
    b = frame(["y", "x", "w"], [1, 2, 3], [6.0, 4.0, 1.0])
    table = compare_sites(a, b, [True, True, False], [True, False, True]).set_index("site_id")
    assert table.loc["z", "status"] == "lost" and table.loc["w", "status"] == "gained"
    assert table.loc["y", "rank_change"] == 1 and table.loc["x", "rank_change"] == -1
    assert table.loc["x", "mineable_mw_change"] == -1.0
    assert table.loc["x", "fleet_change"] == "left" and table.loc["y", "fleet_change"] == ""
    assert table.loc["w", "fleet_change"] == "joined"
    assert table.index.tolist() == ["y", "x", "w", "z"]  # by rank in B, lost sites last
