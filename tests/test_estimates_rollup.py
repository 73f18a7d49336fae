"""estimate() on synthetic candidate sites (the scoring stage's contract): selection, sums, bands."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gis.errors import GisError
from gis.estimates import bitcoin, uncertainty
from gis.estimates.api import estimate, latest_difficulty, network_from_layer
from gis.estimates.config import EstimatesConfig
from gis.schema import CATEGORIES

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "estimates" / "sites_ranked.csv"


def candidate_sites() -> gpd.GeoDataFrame:
    """The hand-written sites in the candidate_sites layout (EPSG:4326 points)."""
    frame = pd.read_csv(
        FIXTURE, keep_default_na=False, na_values={"energy_cost_usd_mwh": [""], "co2_t_per_mwh": [""]}
    )
    for col in ("flexible_load", "ai_convertible", "excluded"):
        frame[col] = frame[col].astype(str).map({"True": True, "False": False}).astype(bool)
    points = gpd.points_from_xy(frame.pop("lon"), frame.pop("lat"))
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")


def config(**selection: object) -> EstimatesConfig:
    """The default estimates config with a fixed score-threshold selection (the formula tests'
    sites must not depend on the default rule)."""
    data = EstimatesConfig().model_dump()
    data["selection"].update({"rule": "score_threshold", **selection})
    return EstimatesConfig.model_validate(data)


@pytest.fixture(scope="module")
def result() -> dict:
    return estimate(candidate_sites(), config(score_threshold=0.5))


def test_selection_counts_every_site_left_out(result: dict) -> None:
    sel = result["selection"]
    assert sel["rule"] == "score_threshold" and sel["value"] == 0.5
    assert sel["sites_considered"] == 11
    assert sel["sites_selected"] == 8 == result["national"]["sites"]
    log = sel["row_log"]
    assert log["dropped"] == {
        "excluded by scoring": 1,
        "no positive mineable_mw": 1,
        "score below threshold": 1,
    }
    assert log["rows_kept"] == 8
    # one site without an energy cost, one without a CO2 factor: defaults used and counted
    assert log["repaired"] == {
        "CO2 factor from the scenario's fuel table (site had none)": 1,
        "energy cost from the scenario default (site had none)": 1,
    }


def test_national_figures_follow_the_formula(result: dict) -> None:
    n = result["national"]
    c = EstimatesConfig()
    mw = 162 + 600 + 110 + 42 + 54 + 75 + 12 + 18
    assert n["mineable_gw"] == pytest.approx(mw / 1e3)
    assert n["it_gw"] == pytest.approx(mw / 1e3 / 1.10)
    assert n["machines"] == pytest.approx(mw * 1e6 / 1.10 / 3500)
    assert n["hashrate_ehs"] == pytest.approx(mw * 1e6 / 1.10 / 17.5 / 1e6)
    assert n["block_subsidy_btc"] == 3.125 and n["network_ehs"] == 1070.3
    u_h = 0.95 * n["hashrate_ehs"]  # uptime inside the dilution: u.H / (N + u.H)
    expected = 52_560 * (3.125 + 0.036) * u_h / (1070.3 + u_h)
    assert n["btc_per_year"] == pytest.approx(expected)
    assert n["btc_per_year"] < n["naive_btc_per_year"]
    assert n["share_of_network"] == pytest.approx(u_h / (1070.3 + u_h))
    assert n["revenue_usd_per_year"] == pytest.approx(n["btc_per_year"] * c.market.btc_price_usd)
    assert n["asic_capex_usd"] == pytest.approx(n["hashrate_ehs"] * 1e6 * 17.5)
    assert n["site_capex_usd"] == pytest.approx(mw * 400_000)
    margin = n["revenue_usd_per_year"] - n["energy_cost_usd_per_year"]
    assert n["payback_years"] == pytest.approx((n["asic_capex_usd"] + n["site_capex_usd"]) / margin)
    assert n["share_of_remaining_supply_per_year"] == pytest.approx(
        n["btc_per_year"] / n["remaining_supply_btc"]
    )
    assert n["over_half_network"] is False


def test_energy_cost_uses_site_proxy_or_the_default(result: dict) -> None:
    costs = {
        162: 28.0,
        600: 33.0,
        110: 22.0,
        42: 5.0,
        54: 31.0,
        75: 38.0,
        12: 95.0,
        18: 4.0,
    }
    expected = sum(mw * 8760 * 0.95 * cost for mw, cost in costs.items())
    assert result["national"]["energy_cost_usd_per_year"] == pytest.approx(expected)


def test_carbon_credits_avoided_flaring(result: dict) -> None:
    n = result["national"]
    flare = result["by_category"]["flare_gas"]
    assert n["co2_avoided_mt_per_year"] > 0
    assert flare["co2_mt_per_year"] < 0  # generator CO2e is less than the flare's it replaces
    assert result["by_category"]["federal_hydro"]["co2_mt_per_year"] == 0.0
    coal_t = 600 * 8760 * 0.95 * 1.048
    oil_t = 12 * 8760 * 0.95 * 1.080  # military site without a factor: oil from the fuel table
    assert result["by_category"]["retired_coal"]["co2_mt_per_year"] == pytest.approx(coal_t / 1e6)
    assert result["by_category"]["military_backup"]["co2_mt_per_year"] == pytest.approx(oil_t / 1e6)
    assert n["co2_mt_per_year"] == pytest.approx(n["co2_gross_mt_per_year"] - n["co2_avoided_mt_per_year"])


@pytest.mark.parametrize("group", ["by_category", "by_state", "by_owner_class"])
@pytest.mark.parametrize(
    "metric", ["sites", "mineable_gw", "hashrate_ehs", "btc_per_year", "co2_mt_per_year"]
)
def test_roll_ups_sum_to_national(result: dict, group: str, metric: str) -> None:
    total = sum(g[metric] for g in result[group].values())
    assert total == pytest.approx(result["national"][metric], rel=1e-12, abs=1e-12)


def test_groups_are_keyed_and_ordered(result: dict) -> None:
    assert set(result["by_category"]) <= set(CATEGORIES)
    assert "offshore" in result["by_state"] and "CA" not in result["by_state"]
    gws = [g["mineable_gw"] for g in result["by_state"].values()]
    assert gws == sorted(gws, reverse=True)
    assert result["by_owner_class"]["federal_usace"]["sites"] == 1


def test_target_gw_takes_the_best_sites_until_the_target() -> None:
    out = estimate(candidate_sites(), config(rule="target_gw", target_gw=0.8))
    # ranks 1..3 give 162 + 600 + 110 = 872 MW: the third crosses 800 MW
    assert out["selection"]["sites_selected"] == 3
    assert out["national"]["mineable_gw"] == pytest.approx(0.872)
    assert out["selection"]["row_log"]["dropped"]["beyond the target GW"] == 6
    everything = estimate(candidate_sites(), config(rule="target_gw", target_gw=50.0))
    assert everything["selection"]["sites_selected"] == 9  # every eligible site, below threshold included
    assert "exceeds" in everything["selection"]["row_log"]["notes"][0]


def test_bands_are_ordered_seeded_and_bracket_the_base(result: dict) -> None:
    for metric in ("mineable_gw", "hashrate_ehs", "btc_per_year", "share_of_network", "revenue_usd_per_year"):
        band = result["bands"][metric]
        assert band["p10"] <= band["p50"] <= band["p90"], metric
        assert band["p10"] < band["p90"], metric
    assert result["bands"]["btc_per_year"]["p10"] < result["national"]["btc_per_year"]
    assert result["national"]["btc_per_year"] < result["bands"]["btc_per_year"]["p90"]
    again = estimate(candidate_sites(), config(score_threshold=0.5))
    assert again["bands"] == result["bands"]
    data = config(score_threshold=0.5).model_dump()
    data["uncertainty"]["seed"] = 7
    other = estimate(candidate_sites(), EstimatesConfig.model_validate(data))
    assert other["bands"]["btc_per_year"] != result["bands"]["btc_per_year"]


def test_kernel_at_base_inputs_equals_the_site_roll_up(result: dict) -> None:
    from gis.estimates import rollup
    from gis.estimates.asics import asic_model

    c = config(score_threshold=0.5)
    chosen = rollup.select_sites(rollup.check_sites(candidate_sites()), c.selection)
    figures = rollup.site_figures(
        chosen.sites, c, asic=asic_model(c.asic_model), network_ehs=1070.3, subsidy_btc=3.125
    )
    summary = uncertainty.summarise(figures, uptime=c.uptime)
    base = uncertainty.fleet_totals(
        summary,
        uncertainty.base_inputs(c),
        efficiency_j_th=17.5,
        network_ehs=1070.3,
        subsidy_btc=3.125,
        blocks_per_year=52_560,
    )
    n = result["national"]
    for key in (
        "mineable_gw",
        "hashrate_ehs",
        "btc_per_year",
        "share_of_network",
        "revenue_usd_per_year",
        "energy_cost_usd_per_year",
        "co2_mt_per_year",
    ):
        assert float(base[key][0]) == pytest.approx(n[key], rel=1e-12), key


def test_sensitivity_is_sorted_and_moves_the_right_way(result: dict) -> None:
    rows = result["sensitivity"]
    swings = [r["swing_btc"] for r in rows]
    assert swings == sorted(swings, reverse=True)
    by = {r["input"]: r for r in rows}
    from gis.estimates.uncertainty import FLEET_ONLY_INPUTS

    assert set(by) == set(EstimatesConfig().uncertainty.ranges) - FLEET_ONLY_INPUTS
    assert by["network_ehs_scale"]["btc_at_low"] > by["network_ehs_scale"]["btc_at_high"]
    assert by["capacity_scale"]["btc_at_low"] < by["capacity_scale"]["btc_at_high"]
    assert by["pue"]["btc_at_low"] > by["pue"]["btc_at_high"]
    assert by["btc_price_usd"]["swing_btc"] == 0.0  # price moves dollars, not bitcoin
    assert by["energy_cost_scale"]["swing_btc"] == 0.0
    assert by["btc_price_usd"]["margin_usd_at_high"] > by["btc_price_usd"]["margin_usd_at_low"]
    assert by["energy_cost_scale"]["margin_usd_at_high"] < by["energy_cost_scale"]["margin_usd_at_low"]
    zero_btc = [r["input"] for r in rows if r["swing_btc"] == 0.0]
    margins = [by[name]["swing_margin_usd"] for name in zero_btc]
    assert margins == sorted(margins, reverse=True)


def test_deterministic_and_json_safe(result: dict) -> None:
    again = estimate(candidate_sites(), config(score_threshold=0.5))
    text = json.dumps(result, allow_nan=False, sort_keys=False)
    assert text == json.dumps(again, allow_nan=False, sort_keys=False)
    for key in (
        "scenario",
        "tool_version",
        "selection",
        "national",
        "bands",
        "by_category",
        "by_state",
        "by_owner_class",
        "projection",
        "sensitivity",
        "seed_claim_check",
        "assumptions",
    ):
        assert key in result
    assert [r["year"] for r in result["projection"]][:3] == [2026, 2027, 2028]


NATIONAL_KEYS = (
    "sites", "mineable_gw", "it_gw", "machines", "hashrate_ehs", "network_ehs", "share_of_network",
    "btc_per_year", "btc_per_day", "revenue_usd_per_year", "energy_cost_usd_per_year", "asic_capex_usd",
    "site_capex_usd", "payback_years", "hashprice_usd_per_ph_day", "co2_mt_per_year", "co2_avoided_mt_per_year",
    "share_of_remaining_supply_per_year", "over_half_network",
)  # fmt: skip


def test_output_has_the_pinned_contract_keys(result: dict) -> None:
    assert set(NATIONAL_KEYS) <= set(result["national"])
    assert {"rule", "value", "sites_selected"} <= set(result["selection"])
    assert {"mineable_gw", "hashrate_ehs", "btc_per_year", "share_of_network", "revenue_usd_per_year"} <= set(
        result["bands"]
    )
    for group in ("by_category", "by_state", "by_owner_class"):
        for entry in result[group].values():
            assert {"sites", "mineable_gw", "hashrate_ehs", "btc_per_year", "co2_mt_per_year"} <= set(entry)
    assert {"year", "block_subsidy_btc", "network_ehs", "btc"} <= set(result["projection"][0])
    assert {"input", "low", "high", "btc_at_low", "btc_at_high", "swing_btc"} <= set(result["sensitivity"][0])


def test_projection_starts_at_the_national_figure(result: dict) -> None:
    first = result["projection"][0]
    n = result["national"]
    # 2026 has exactly 52,560 blocks at 3.125 BTC, like the national figure's year
    assert first["btc"] == pytest.approx(n["btc_per_year"])
    assert result["projection"][3]["btc"] < 0.51 * first["btc"]  # 2029, after the 2028 halving


def test_seed_claim_check_is_recomputed(result: dict) -> None:
    check = result["seed_claim_check"]
    five, twenty = check["cases"]
    assert five["claimed_hashrate_ehs"] == 33.0 and five["hashrate_ehs"] == pytest.approx(1000 / 3)
    assert five["btc_per_year"] == pytest.approx(39_014.25, abs=0.01)
    assert twenty["over_half_network"] is True and not five["over_half_network"]
    assert twenty["naive_btc_per_year"] > bitcoin.network_issuance_btc_per_year(3.125)
    assert "333.3" in check["verdict"]


def test_assumptions_name_every_input(result: dict) -> None:
    a = result["assumptions"]
    for key in (
        "pue",
        "uptime",
        "network.hashrate_ehs",
        "network.fees_btc_per_block",
        "market.btc_price_usd",
        "market.asic_usd_per_th",
        "market.site_capex_usd_per_mw",
        "carbon.methane_gwp100",
        "asic",
        "block_subsidy_btc",
        "uncertainty.ranges.network_ehs_scale",
        "formulas",
    ):
        assert key in a, key
    assert a["asic"]["value"]["efficiency_j_th"] == 17.5


def test_network_from_data() -> None:
    c = EstimatesConfig().model_dump()
    c["network"]["hashrate_ehs"] = "from_data"
    cfg = EstimatesConfig.model_validate(c)
    with pytest.raises(GisError, match="no btc_network data"):
        estimate(candidate_sites(), cfg)
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
    out = estimate(candidate_sites(), cfg, network=network)
    assert out["national"]["network_ehs"] == pytest.approx(1059.4, abs=0.1)
    assert "2025-12-27" in out["assumptions"]["network.hashrate_ehs"]["source"]
    assert latest_difficulty(layer)["implied_hashrate_ehs"] == pytest.approx(network["implied_hashrate_ehs"])
    assert latest_difficulty(layer.iloc[::-1])["difficulty_date"] == "2025-12-27"
    with pytest.raises(GisError, match="no difficulty"):
        latest_difficulty(layer.assign(difficulty=np.nan))


def test_missing_column_and_unknown_category_are_clear_errors() -> None:
    with pytest.raises(GisError) as err:
        estimate(candidate_sites().drop(columns="mineable_mw"), EstimatesConfig())
    assert err.value.field == "mineable_mw" and "gis score" in err.value.message
    bad = candidate_sites()
    bad.loc[0, "category"] = "geothermal_dream"
    with pytest.raises(GisError) as err:
        estimate(bad, EstimatesConfig())
    assert err.value.field == "category"


def test_no_selected_sites_gives_zeros_not_nan() -> None:
    out = estimate(candidate_sites(), config(score_threshold=0.99))
    n = out["national"]
    assert n["sites"] == 0 and n["btc_per_year"] == 0.0 and n["payback_years"] is None
    assert out["by_category"] == {}
    json.dumps(out, allow_nan=False)


@pytest.mark.realdata
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


def test_max_margin_keeps_cheap_energy_until_the_fleet_margin_peaks() -> None:
    from gis.estimates.rollup import max_margin_cut
    from gis.rowlog import RowLog

    figures = _margin_figures([200.0, 10.0, 20.0, 60.0])  # listed in rank order, not by cost

    def revenue(fleet_ehs):  # concave, like the diluted share: 1e10 USD x H / (1000 + H)
        return 1e10 * np.asarray(fleet_ehs) / (1000.0 + np.asarray(fleet_ehs))

    log = RowLog("sel")
    keep = max_margin_cut(figures, fleet_revenue_usd=revenue, log=log)
    # by hand: 5 EH/s per site; margins after 1, 2, 3, 4 sites (cheapest first: 10, 20, 60, 200 $/MWh)
    ehs = np.arange(1, 5) * 5.0
    cost = np.cumsum([100 * 8760 * c for c in (10.0, 20.0, 60.0, 200.0)])
    margins = revenue(ehs) - cost
    assert int(np.argmax(margins)) == 1  # adding the 60 $/MWh site would lower the fleet margin
    assert keep.tolist() == [False, True, True, False]
    assert log.dropped == {"beyond the margin-maximising fleet": 2}


def test_max_margin_selects_nothing_when_no_fleet_pays() -> None:
    from gis.estimates.rollup import max_margin_cut
    from gis.rowlog import RowLog

    log = RowLog("sel")
    keep = max_margin_cut(
        _margin_figures([500.0, 900.0]), fleet_revenue_usd=lambda h: 0.0 * np.asarray(h), log=log
    )
    assert not keep.any() and any("none selected" in n for n in log.notes)
