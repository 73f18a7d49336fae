"""estimate() end to end on the tiny layers: the economic fleet, its ledgers, bands and contract."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gis.config.scenario import load_scenario
from gis.config.vocabulary import CATEGORIES
from gis.errors import GisError
from gis.estimates.api import estimate, latest_difficulty, network_from_layer, profiles_for_sites
from gis.scoring.api import score_sites

_spec = importlib.util.spec_from_file_location(
    "tiny_layers", Path(__file__).parent / "fixtures" / "scoring" / "tiny_layers.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

AXES = {
    "btc_price_usd": [100_000.0, 200_000.0],
    "network_growth_per_year": [0.0, 0.1],
    "energy_price_cap_usd_mwh": [0.0, 1_000.0],
    "efficiency_j_th": [17.5],
}


def _config(scenario, *, btc: float = 200_000.0, draws: int = 200):
    """The default estimates with a BTC price at which the tiny flare pays, a flat network and few draws."""
    data = scenario.estimates.model_dump()
    data["market"]["btc_price_usd"] = btc
    data["network"]["growth_per_year"] = 0.0
    data["uncertainty"]["draws"] = draws
    data["uncertainty"]["ranges"]["network_growth_per_year"].update({"low": -0.13, "mode": 0.0, "high": 0.13})
    return type(scenario.estimates).model_validate(data)


@pytest.fixture(scope="module")
def run():
    scenario = load_scenario()
    layers = tiny.tiny_layers()
    sites = score_sites(layers, scenario)
    profiles, surplus = profiles_for_sites(sites, layers, scenario.energy)
    config = _config(scenario)
    out = estimate(sites, config, profiles=profiles, surplus=surplus, explorer_axes=AXES)
    return scenario, sites, profiles, surplus, config, out


def test_output_has_the_pinned_contract_keys(run) -> None:
    *_, out = run
    for key in ("national", "by_category", "by_state", "assumptions", "ledgers", "bands", "projection"):
        assert key in out, key
    for key in ("mineable_gw", "hashrate_ehs", "btc_per_year", "share_of_network", "npv_usd", "payback"):
        assert key in out["national"], key
    json.dumps(out, allow_nan=False)


def test_the_flare_pays_at_a_high_price_and_the_ledgers_add_up(run) -> None:
    *_, out = run
    n = out["national"]
    assert "flare_gas:vnf2017:1" in out["fleet"]["site_ids"]
    assert n["sites"] == len(out["fleet"]["site_ids"]) > 0 and n["npv_usd"] > 0
    led = out["ledgers"]
    assert led["wasted"]["btc_per_year"] + led["bought"]["btc_per_year"] == pytest.approx(n["btc_per_year"])
    assert led["wasted"]["average_gw"] + led["bought"]["average_gw"] == pytest.approx(n["average_gw"])
    by_cat = out["by_category"]
    assert sum(g["btc_per_year"] for g in by_cat.values()) == pytest.approx(n["btc_per_year"])
    assert sum(g["mineable_gw"] for g in by_cat.values()) == pytest.approx(n["installed_gw"])
    site = out["fleet"]["sites"]["flare_gas:vnf2017:1"]
    assert site["in_fleet"] and site["hours_mined"] > 0 and site["btc_per_year"] > 0


def test_every_category_is_listed_with_a_reason_when_it_adds_nothing(run) -> None:
    *_, out = run
    rows = {r["category"]: r for r in out["categories"]}
    assert list(rows) == list(CATEGORIES)
    for row in rows.values():
        assert (row["in_fleet"] > 0) != bool(row["why_none"]), row
    # military gensets: 50 h/yr of diesel at $260/MWh never beat the revenue per MWh
    assert rows["military_backup"]["in_fleet"] == 0 and rows["military_backup"]["why_none"]


def test_surplus_table_is_passed_through_with_published_figures(run) -> None:
    *_, surplus, _, out = run
    assert out["surplus"]["by_category"] == surplus["by_category"]
    assert {r["label"] for r in out["surplus"]["published"]} >= {"CAISO curtailed wind + solar, 2024"}
    assert out["national"]["wasted_energy_potential_gw"] == pytest.approx(
        sum(r["avg_gw"] for r in surplus["by_category"])
    )


def test_bands_are_ordered_and_the_sensitivity_moves_the_fleet(run) -> None:
    *_, out = run
    for metric in ("installed_gw", "btc_per_year", "npv_usd"):
        band = out["bands"][metric]
        assert band["p10"] <= band["p50"] <= band["p90"], metric
    rows = {r["input"]: r for r in out["sensitivity"]}
    assert rows["btc_price_usd"]["installed_gw_at_high"] >= rows["btc_price_usd"]["installed_gw_at_low"]
    assert 0.0 <= out["uncertainty"]["share_with_a_fleet"] <= 1.0


def test_explorer_grid_matches_the_national_figures_at_the_central_point(run) -> None:
    *_, out = run
    grid = out["explorer_grid"]
    assert grid["axes"] == AXES
    fleet = np.array(grid["ledgers"]["fleet"]["gw"])
    assert fleet.shape == (2, 2, 2, 1)
    # (200 k$, flat network, no effective cap, 17.5 J/TH) are the central inputs
    assert fleet[1, 0, 1, 0] == pytest.approx(out["national"]["installed_gw"], rel=0.02)
    # a cap at 0 $/MWh leaves only energy that costs nothing: no flare genset ($15/MWh O&M)
    assert fleet[1, 0, 0, 0] <= fleet[1, 0, 1, 0]
    btc = np.array(grid["ledgers"]["fleet"]["btc_per_year"])
    assert btc[1, 0, 1, 0] >= btc[0, 0, 1, 0]  # a higher BTC price never mines less


def test_estimate_is_deterministic(run) -> None:
    _scenario, sites, profiles, surplus, config, out = run
    again = estimate(sites, config, profiles=profiles, surplus=surplus, explorer_axes=AXES)
    assert json.dumps(again, sort_keys=True) == json.dumps(out, sort_keys=True)


def test_no_fleet_at_a_low_price_gives_zeros_not_nan(run) -> None:
    scenario, sites, profiles, surplus, _, _ = run
    out = estimate(sites, _config(scenario, btc=20_000.0), profiles=profiles, surplus=surplus)
    n = out["national"]
    assert n["sites"] == 0 and n["btc_per_year"] == 0.0 and n["payback"] == "no fleet"
    assert out["by_category"] == {} and all(r["why_none"] for r in out["categories"])
    json.dumps(out, allow_nan=False)


def test_missing_column_unknown_category_and_misaligned_profiles_are_clear_errors(run) -> None:
    _scenario, sites, profiles, _, config, _ = run
    with pytest.raises(GisError) as err:
        estimate(sites.drop(columns="mineable_mw"), config, profiles=profiles)
    assert err.value.field == "mineable_mw" and "gis score" in err.value.message
    bad = sites.copy()
    bad.loc[0, "category"] = "geothermal_dream"
    with pytest.raises(GisError) as err:
        estimate(bad, config, profiles=profiles)
    assert err.value.field == "category"
    with pytest.raises(GisError, match="row for row"):
        estimate(sites.iloc[::-1].reset_index(drop=True), config, profiles=profiles)


def test_network_from_data(run) -> None:
    _scenario, sites, profiles, _, config, _ = run
    data = config.model_dump()
    data["network"]["hashrate_ehs"] = "from_data"
    cfg = type(config).model_validate(data)
    with pytest.raises(GisError, match="no btc_network data"):
        estimate(sites, cfg, profiles=profiles)
    layer = pd.DataFrame(
        {
            "date": ["2025-12-25", "2025-12-26", "2025-12-27"],
            "hashrate_ehs": [1050.0, 1061.0, 1066.0],
            "difficulty": [146.4e12, 148.0e12, 148.0e12],
            "source": ["test"] * 3,
        }
    )
    network = network_from_layer(layer)
    assert network["date"] == "2025-12-27"
    assert network["implied_hashrate_ehs"] == pytest.approx(1059.4, abs=0.1)
    out = estimate(sites, cfg, profiles=profiles, network=network)
    assert out["national"]["network_ehs"] == pytest.approx(1059.4, abs=0.1)
    assert "2025-12-27" in out["assumptions"]["network.hashrate_ehs"]["source"]
    assert latest_difficulty(layer)["implied_hashrate_ehs"] == pytest.approx(network["implied_hashrate_ehs"])
    assert latest_difficulty(layer.iloc[::-1])["difficulty_date"] == "2025-12-27"
    with pytest.raises(GisError, match="no difficulty"):
        latest_difficulty(layer.assign(difficulty=np.nan))


def test_network_from_the_real_difficulty_series(real_data_dir: Path) -> None:
    folder = real_data_dir / "blockchain_com_btc_2020_2025"
    diff = pd.read_csv(folder / "difficulty.csv")
    rate = pd.read_csv(folder / "hashrate.csv")
    layer = pd.DataFrame(
        {
            "date": diff["Date"].astype(str),
            "hashrate_ehs": rate["hash-rate"].to_numpy() / 1e6,  # TH/s -> EH/s
            "difficulty": diff["difficulty"].to_numpy(),
            "source": "blockchain_com_btc_2020_2025",
        }
    )
    network = network_from_layer(layer)
    assert network["date"] == "2025-04-08"
    # difficulty 121.5 T -> 870 EH/s; Blockchain.com's smoothed estimate that day: 924 EH/s
    assert network["implied_hashrate_ehs"] == pytest.approx(870.0, rel=0.01)
    assert network["implied_hashrate_ehs"] == pytest.approx(network["hashrate_ehs"], rel=0.1)


def _margin_figures(usd_mwh: list[float], mw: float = 100.0, ths_per_mw: float = 5.0e4) -> pd.DataFrame:
    n = len(usd_mwh)
    return pd.DataFrame(
        {
            "mineable_mw": [mw] * n,
            "hashrate_ths": [mw * ths_per_mw] * n,
            "energy_cost_usd_per_year": [mw * 8760 * c for c in usd_mwh],
        }
    )
