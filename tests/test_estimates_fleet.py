"""Fleet economics: revenue per MWh, hourly dispatch, NPV sizing, one dilution, bands, CO2, seed
claims. Every fixture is a tiny hand-made profile set in the contract's layout (no real data)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gis.config.estimates import EstimatesConfig, Range
from gis.energy.profiles import SurplusProfiles
from gis.errors import GisError
from gis.estimates import bitcoin
from gis.estimates.calculator import seed_claims_corrected
from gis.estimates.fleet import (
    MWH_PER_TH_DAY_PER_J_TH,
    fleet_economics,
    hashprice_usd_per_th_day,
    irr,
    monte_carlo,
    payback_years,
    revenue_usd_per_mwh,
    schedule,
    synthetic_profiles,
    years_to_btc,
)

S21_J_TH = 17.5
PUE = 1.10


def _config(**fleet) -> EstimatesConfig:
    """Default scenario with zero growth unless given, and the given fleet settings."""
    data = EstimatesConfig().model_dump()
    data["fleet"].update({"btc_price_growth_per_year": 0.0})
    growth = fleet.get("network_growth_per_year", 0.0)
    data["network"]["growth_per_year"] = growth
    ranges = data["uncertainty"]["ranges"]
    if "network_growth_per_year" in ranges:  # keep the band centred on the growth the test chose
        ranges["network_growth_per_year"].update(
            {"low": growth - 0.13, "mode": growth, "high": growth + 0.13}
        )
    data["fleet"].update({k: v for k, v in fleet.items() if k in data["fleet"]})
    if "rule" in fleet:
        data["selection"]["rule"] = fleet["rule"]
    for k in ("asic_usd_per_th", "site_capex_usd_per_mwh", "btc_price_usd", "site_capex_usd_per_mw"):
        if k in fleet:
            data["market"][k] = fleet[k]
    for k in ("hashrate_ehs", "fees_btc_per_block"):
        if k in fleet:
            data["network"][k] = fleet[k]
    if "start_year" in fleet:
        data["projection"]["start_year"] = fleet["start_year"]
    return EstimatesConfig.model_validate(data)


def _profiles(
    *, hours: int, price: list[list[float]], shapes: list[list[float]], sites: list[dict], year: int = 2025
) -> SurplusProfiles:
    """A profile set; a price or shape row of one value is repeated over the hours. Nodes count
    each known hour 8,760 / known hours times; sites without a node count every hour once, so
    their fixtures span a whole year."""
    idx = pd.date_range(f"{year}-01-01", periods=hours, freq="h", tz="UTC")
    p = np.array([np.broadcast_to(np.asarray(r, dtype=float), (hours,)) for r in price])
    shapes = [np.broadcast_to(np.asarray(r, dtype=float), (hours,)) for r in shapes]
    known = np.isfinite(p).sum(1)
    rows = []
    for i, s in enumerate(sites):
        rows.append(
            {
                "site_id": f"S{i}",
                "category": s.get("category", "flare_gas"),
                "ledger": s.get("ledger", "wasted"),
                "node": s.get("node", -1),
                "shape": s.get("shape", 0),
                "wasted_mw": s.get("wasted_mw", 0.0),
                "wasted_cost_usd_mwh": s.get("cost", 0.0),
                "wasted_co2_t_per_mwh": s.get("co2", 0.0),
                "avoided_co2_t_per_mwh": s.get("avoided", 0.0),
                "max_mw": s.get("max_mw", s.get("wasted_mw", 0.0)),
                "can_buy": s.get("can_buy", False),
                "spur_km": s.get("spur_km", 0.0),
            }
        )
    return SurplusProfiles(
        year=year,
        hours=idx,
        node_ids=[f"N{i}" for i in range(len(p))],
        price=p,
        hour_weight=8_760 / np.maximum(known, 1),
        intensity=np.full(p.shape, 0.4),
        shape_ids=[f"shape{i}" for i in range(len(shapes))],
        shapes=np.array(shapes, dtype=float),
        sites=pd.DataFrame(rows),
    )


def _btc_price_for_revenue(r_usd_mwh: float, *, config: EstimatesConfig, network_ehs: float) -> float:
    """BTC price at which the first year's revenue per MWh is ``r_usd_mwh`` with no fleet."""
    sched = schedule(config)
    issuance = float(sched.issuance(np.array([config.network.fees_btc_per_block]))[0, 0])
    return r_usd_mwh * S21_J_TH * MWH_PER_TH_DAY_PER_J_TH * PUE * network_ehs * 1e6 * 365 / issuance


# ------------------------------------------------------------------------------------- revenue


def test_revenue_per_mwh_by_hand() -> None:
    # $37.2 / PH / day = $0.0372 / TH / day; an S21 TH/s uses 17.5 x 2.4e-5 MWh a day, x 1.1 PUE
    r = float(revenue_usd_per_mwh(0.0372, S21_J_TH, PUE))
    assert pytest.approx(2.4e-5) == MWH_PER_TH_DAY_PER_J_TH
    assert r == pytest.approx(0.0372 / (17.5 * 2.4e-5) / 1.1)
    assert r == pytest.approx(80.5, abs=0.05)


def test_hashprice_includes_the_fleets_own_hashrate() -> None:
    issuance = 52_560 * (3.125 + 0.036)
    alone = float(hashprice_usd_per_th_day(issuance, 87_500.0, 1_070.0))
    joined = float(hashprice_usd_per_th_day(issuance, 87_500.0, 1_070.0, 107.0))
    assert alone == pytest.approx(issuance / 365 * 87_500 / 1_070e6)
    assert alone * 1e3 == pytest.approx(37.2, abs=0.1)  # $/PH/day, REFERENCE.md section 1
    assert joined == pytest.approx(alone * 1_070 / 1_177)


# ------------------------------------------------------------------------------------ dispatch


def _two_hour_case():
    """Free machines earning $50/MWh; a node priced $10 then $100; a 10 MW site allowed to buy,
    half its MW wasted in hour 1 and none in hour 2."""
    base = _config(asic_usd_per_th=0.0, site_capex_usd_per_mw=0.0, asic_life_years=1, hashrate_ehs=1e6)
    price = _btc_price_for_revenue(50.0, config=base, network_ehs=1e6)
    config = _config(
        asic_usd_per_th=0.0,
        site_capex_usd_per_mw=0.0,
        asic_life_years=1,
        hashrate_ehs=1e6,
        btc_price_usd=price,
    )
    profiles = _profiles(
        hours=2,
        price=[[10.0, 100.0]],
        shapes=[[0.5, 0.0]],
        sites=[{"node": 0, "shape": 0, "wasted_mw": 10.0, "max_mw": 10.0, "can_buy": True}],
    )
    return profiles, config


def test_two_hour_dispatch_by_hand() -> None:
    """Two hours, a node priced $10 then $100, revenue $50/MWh, free machines: a 10 MW wasted site
    with half its MW wasted in hour 1 and none in hour 2, allowed to buy.

    Hour 1: 5 MW wasted + 5 MW bought at $10 (< $50); hour 2: nothing wasted, $100 > $50, the
    whole 10 MW stands idle (given back). Per two-hour year: 5 MWh wasted, 5 MWh bought for $50,
    1 hour mined, 1 hour curtailed, 10 MWh curtailed. The profile counts each hour 8,760 / 2
    times, so yearly figures are those x 4,380."""
    profiles, config = _two_hour_case()
    out = fleet_economics(profiles, None, config)
    site = out.sites.iloc[0]
    w = 8_760 / 2
    assert out.national["revenue_usd_per_mwh_year_one"] == pytest.approx(50.0, rel=1e-5)
    assert site["in_fleet"] and site["mode"] == "buys"
    assert site["fleet_mw"] == pytest.approx(10.0)
    assert site["wasted_mwh_per_year"] == pytest.approx(5.0 * w)
    assert site["bought_mwh_per_year"] == pytest.approx(5.0 * w)
    assert site["energy_cost_usd"] == pytest.approx(50.0 * w)
    assert site["hours_mined"] == pytest.approx(1.0 * w)
    assert site["hours_curtailed"] == pytest.approx(1.0 * w)
    assert site["mwh_curtailed"] == pytest.approx(10.0 * w)
    # CO2 by consequence: bought MWh x the node's intensity in the hour bought (0.4 t/MWh)
    assert site["co2_t"] == pytest.approx(5.0 * w * 0.4)


def test_two_hour_dispatch_without_grid_topup() -> None:
    """Same site, grid top-up off: only the wasted 5 MW of hour 1 are worth machines."""
    profiles, config = _two_hour_case()
    site = fleet_economics(profiles, None, config, grid_topup=False).sites.iloc[0]
    w = 8_760 / 2
    assert site["mode"] == "wasted"
    assert site["fleet_mw"] == pytest.approx(5.0)
    assert site["wasted_mwh_per_year"] == pytest.approx(5.0 * w)
    assert site["bought_mwh_per_year"] == 0.0


def test_more_machines_use_fewer_hours_and_capex_limits_the_size() -> None:
    """A shape of 1.0 in 1/4 of the hours and 0.5 in the rest: the first half of the wasted MW
    runs all year, the second half a quarter of it. With capex between those two earnings, the
    NPV-optimal fleet is half the wasted MW."""
    config = _config(asic_life_years=3, discount_rate=0.0)
    shape = np.tile([1.0, 0.5, 0.5, 0.5], 2_190)
    profiles = _profiles(hours=8_760, price=[[np.nan]], shapes=[shape], sites=[{"wasted_mw": 100.0}])
    out = fleet_economics(profiles, None, config)
    earned = sum(row["revenue_usd_per_mwh"] for row in out.projection) * 8_760  # a full-time MW, 3 years
    k = 17.5 * 1e6 / (PUE * S21_J_TH) + 400_000.0  # ASICs + site, USD per MW
    assert earned > k > earned / 4  # the full-time MW pays, the quarter-time MW does not
    assert out.sites.iloc[0]["fleet_mw"] == pytest.approx(50.0)
    assert out.sites.iloc[0]["hours_mined"] == pytest.approx(8_760)
    assert out.sites.iloc[0]["wasted_mwh_per_year"] == pytest.approx(50.0 * 8_760)


# ------------------------------------------------------------------------------------ the NPV


def _flat_flare_npv_by_hand(config: EstimatesConfig, mw: float) -> float:
    """NPV of a flat ``mw`` MW flare fleet over a 3-year life, everything by hand."""
    n = config.network
    start = config.projection.start_year
    heights = [
        bitcoin.height_at(
            dt.date(y, 1, 1),
            anchor_height=n.anchor_height,
            anchor_date=n.anchor_date,
            blocks_per_year=n.blocks_per_year,
        )
        for y in range(start, start + 4)
    ]
    halving = 1_050_000
    fleet_ehs = mw / (PUE * S21_J_TH)  # EH/s running all year: MW / (PUE x J/TH)
    k = config.market.asic_usd_per_th * 1e6 / (PUE * S21_J_TH) + config.market.site_capex_usd_per_mw
    npv = -mw * k
    for t in range(3):
        h0, h1 = heights[t], heights[t + 1]
        before = max(0, min(h1, halving) - h0)
        after = (h1 - h0) - before
        issuance = before * 3.125 + after * 1.5625 + (h1 - h0) * n.fees_btc_per_block
        btc = issuance * fleet_ehs / (n.hashrate_ehs + fleet_ehs)
        npv += btc * config.market.btc_price_usd / 1.1 ** (t + 1)
    return npv


def test_three_year_npv_across_the_2028_halving_by_hand() -> None:
    config = _config(asic_life_years=3, start_year=2027, btc_price_usd=150_000.0)
    sched = schedule(config)
    assert list(sched.years) == [2027, 2028, 2029] and list(sched.halvings) == [0, 1, 0]
    profiles = _profiles(hours=8_760, price=[[np.nan]], shapes=[[1.0]], sites=[{"wasted_mw": 100.0}])
    out = fleet_economics(profiles, None, config)
    assert out.sites.iloc[0]["fleet_mw"] == pytest.approx(100.0)
    assert out.national["npv_usd"] == pytest.approx(_flat_flare_npv_by_hand(config, 100.0), rel=1e-9)
    by_year = [row["btc"] for row in out.projection]
    assert by_year[0] > by_year[1] > by_year[2]  # the halving mid-2028, then a full halved year
    assert by_year[2] == pytest.approx(by_year[0] / 2 * (1.5625 + 0.036) / (3.125 + 0.036) * 2, rel=1e-6)


def test_cash_flow_helpers() -> None:
    assert payback_years(np.array([-100.0, 60.0, 60.0])) == pytest.approx(1 + 40 / 60)
    assert payback_years(np.array([-100.0, 30.0, 30.0])) is None
    assert irr(np.array([-100.0, 110.0])) == pytest.approx(0.10, abs=1e-9)
    assert years_to_btc(np.array([100.0, 50.0]), 125.0) == pytest.approx(1.5)
    assert years_to_btc(np.array([100.0, 50.0]), 250.0) == pytest.approx(4.0)  # the last rate continues
    assert years_to_btc(np.array([0.0]), 1.0) is None


# ------------------------------------------------------------------------------ one dilution


def _brute_force_equilibrium(config: EstimatesConfig, sites: list[dict]) -> float:
    """The fleet's EH/s where the sites' best response to the hashprice crosses the hashrate
    priced at, by scanning the hashrate (one-year life, flat sites: a site is all in or out)."""
    sched = schedule(config)
    issuance = float(sched.issuance(np.array([config.network.fees_btc_per_block]))[0, 0])
    k = config.market.asic_usd_per_th * 1e6 / (PUE * S21_J_TH) + config.market.site_capex_usd_per_mw
    n = config.network.hashrate_ehs
    grid = np.linspace(0.0, sum(s["wasted_mw"] for s in sites) / (PUE * S21_J_TH), 200_001)
    hp = issuance / 365 * config.market.btc_price_usd / ((n + grid) * 1e6)
    r = hp / (S21_J_TH * MWH_PER_TH_DAY_PER_J_TH * PUE)
    response = np.zeros_like(grid)
    for s in sites:
        npv_per_mw = (r - s["cost"]) * 8_760 / (1 + config.fleet.discount_rate) - k
        response += np.where(npv_per_mw > 0, s["wasted_mw"] / (PUE * S21_J_TH), 0.0)
    cross = np.nonzero(response <= grid)[0][0]
    return float(grid[cross])


def test_fixed_point_against_brute_force() -> None:
    """Three flat sites big enough to move the hashprice: the solved fleet's hashrate is where
    the brute-force response crosses it (the marginal site enters pro rata)."""
    config = _config(asic_life_years=1, hashrate_ehs=100.0)
    sites = [
        {"wasted_mw": 2_000.0, "cost": 0.0},
        {"wasted_mw": 2_000.0, "cost": 10.0},
        {"wasted_mw": 2_000.0, "cost": 20.0},
    ]
    profiles = _profiles(hours=8_760, price=[[np.nan]], shapes=[[1.0]], sites=sites)
    out = fleet_economics(profiles, None, config)
    expected = _brute_force_equilibrium(config, sites)
    assert expected > 0
    assert out.national["hashrate_average_ehs"] == pytest.approx(expected, rel=5e-3)
    # the share of network has the fleet's average hashrate inside: X / (N + X)
    x = out.national["hashrate_average_ehs"]
    assert out.national["share_of_network_year_one"] == pytest.approx(x / (100.0 + x))
    # every site in the fleet earns at least its cost of capital; a site out would not
    assert (out.sites.loc[out.sites["in_fleet"], "npv_usd"] >= -1e-6).all()


def test_equal_sites_enter_by_rank_not_by_float_noise() -> None:
    """Ten identical sites, room for a few: the best-ranked enter, whatever their order."""
    config = _config(asic_life_years=1, hashrate_ehs=100.0)
    sites = [{"wasted_mw": 1_000.0 + 1e-9 * i} for i in range(10)]
    profiles = _profiles(hours=8_760, price=[[np.nan]], shapes=[[1.0]], sites=sites)
    rank = np.array([9, 3, 0, 7, 1, 8, 2, 6, 5, 4], dtype=float)
    table = pd.DataFrame({"score": np.ones(10), "rank": rank})
    out = fleet_economics(profiles, table, config)
    chosen = out.sites["in_fleet"].to_numpy()
    assert 0 < chosen.sum() < 10
    assert rank[chosen].max() < rank[~chosen].min()


def test_target_gw_rule_takes_the_best_ranked() -> None:
    config = _config(asic_life_years=3, rule="target_gw", btc_price_usd=150_000.0)
    data = config.model_dump()
    data["selection"]["target_gw"] = 0.25
    config = EstimatesConfig.model_validate(data)
    sites = [{"wasted_mw": 100.0} for _ in range(5)]
    profiles = _profiles(hours=8_760, price=[[np.nan]], shapes=[[1.0]], sites=sites)
    table = pd.DataFrame({"score": np.ones(5), "rank": [4.0, 0.0, 3.0, 1.0, 2.0]})
    out = fleet_economics(profiles, table, config)
    assert out.sites["in_fleet"].tolist() == [False, True, False, True, True]


def test_unprofitable_sites_are_left_out() -> None:
    config = _config(asic_life_years=1)
    profiles = _profiles(
        hours=8_760, price=[[np.nan]], shapes=[[1.0]], sites=[{"wasted_mw": 10.0, "cost": 500.0}]
    )
    out = fleet_economics(profiles, None, config)
    assert not out.sites["in_fleet"].any()
    assert out.national["payback"] == "no fleet"


# ------------------------------------------------------------------------------------- CO2


def test_flare_co2_counts_the_methane_destroyed() -> None:
    config = _config(asic_life_years=3, btc_price_usd=150_000.0)
    profiles = _profiles(
        hours=8_760,
        price=[[np.nan]],
        shapes=[[1.0]],
        sites=[{"wasted_mw": 10.0, "co2": 0.5, "avoided": 1.2}],
    )
    site = fleet_economics(profiles, None, config).sites.iloc[0]
    assert site["co2_t"] == pytest.approx(10.0 * 8_760 * (0.5 - 1.2))


# ------------------------------------------------------------------------------ supply curve


def test_supply_curve_grows_with_the_price_cap() -> None:
    profiles = _profiles(
        hours=4,
        price=[[-5.0, 20.0, 40.0, 80.0]],
        shapes=[[0.0, 0.0, 0.0, 0.0]],
        sites=[
            {
                "node": 0,
                "shape": -1,
                "max_mw": 100.0,
                "can_buy": True,
                "ledger": "bought",
                "category": "retired_coal",
            }
        ],
    )
    out = fleet_economics(profiles, None, _config(), price_caps=np.array([0.0, 30.0, 100.0]))
    gw = [row["bought_gw_average"] for row in out.supply_curve]
    assert gw == pytest.approx([0.1 / 4, 0.1 * 2 / 4, 0.1])


# -------------------------------------------------------------------------------- the bands


def test_monte_carlo_brackets_the_central_case() -> None:
    profiles = synthetic_profiles(300, n_shapes=12, n_nodes=4, seed=3)
    data = EstimatesConfig().model_dump()  # every central value at its range's mode
    data["market"]["btc_price_usd"] = 160_000.0  # the range is relative: it moves along
    config = EstimatesConfig.model_validate(data)
    result = fleet_economics(profiles, None, config)
    mc = monte_carlo(result, config, draws=200)
    for metric in ("installed_gw", "btc_per_year", "hashrate_average_ehs"):
        band = mc["bands"][metric]
        assert band["p10"] <= band["central"] <= band["p90"], metric
        assert band["p10"] < band["p90"], metric
    rows = {row["input"]: row for row in mc["sensitivity"]}
    # BTC price and energy price move the fleet through re-selection, not only the margin
    assert rows["btc_price_usd"]["installed_gw_at_high"] > rows["btc_price_usd"]["installed_gw_at_low"]
    assert (
        rows["energy_cost_scale"]["installed_gw_at_low"] >= rows["energy_cost_scale"]["installed_gw_at_high"]
    )
    assert mc == monte_carlo(result, config, draws=200)  # seeded


def test_default_ranges_lie_around_their_central_values() -> None:
    config = EstimatesConfig()
    central = {
        "pue": config.pue,
        "fees_btc_per_block": config.network.fees_btc_per_block,
        "network_growth_per_year": config.network.growth_per_year,
        "btc_price_growth_per_year": config.fleet.btc_price_growth_per_year,
    }
    for name, r in config.uncertainty.ranges.items():
        c = 1.0 if (r.relative or name.endswith("_scale")) else central.get(name, r.mode)
        assert r.mode == pytest.approx(c), name
        assert r.low < c < r.high, name


def test_relative_range_moves_with_the_central_value() -> None:
    r = Range(low=0.75, mode=1.0, high=1.3, relative=True)
    moved = r.scaled(100_000.0)
    assert (moved.low, moved.mode, moved.high) == (75_000.0, 100_000.0, 130_000.0)
    with pytest.raises(ValueError, match="bracket 1"):
        Range(low=1.1, mode=1.2, high=1.3, relative=True)
    data = EstimatesConfig().model_dump()
    data["network"]["fees_btc_per_block"] = 0.2  # outside its absolute range
    with pytest.raises(ValueError, match="outside its uncertainty range"):
        EstimatesConfig.model_validate(data)


# ------------------------------------------------------------------------------- bad inputs


def test_misaligned_site_table_is_refused() -> None:
    profiles = _profiles(hours=8_760, price=[[np.nan]], shapes=[[1.0]], sites=[{"wasted_mw": 1.0}])
    with pytest.raises(GisError, match="aligned"):
        fleet_economics(profiles, pd.DataFrame({"rank": [0.0, 1.0]}), _config())


def test_unknown_category_is_refused() -> None:
    profiles = _profiles(
        hours=8_760, price=[[np.nan]], shapes=[[1.0]], sites=[{"wasted_mw": 1.0, "category": "volcano"}]
    )
    with pytest.raises(GisError, match="categor"):
        fleet_economics(profiles, None, _config())


# ------------------------------------------------------------------------------- seed claims


def test_seed_claims_with_uptime_inside_the_dilution() -> None:
    out = seed_claims_corrected(wasted_fleet_ehs=50.0, fleet_btc_by_year=[10_000.0, 8_000.0])
    five = out["gw_cases"][0]
    assert five["hashrate_installed_ehs"] == pytest.approx(5e3 / (1.1 * 17.5))
    u_h = 0.95 * five["hashrate_installed_ehs"]
    assert five["share_of_network"] == pytest.approx(u_h / (1_070 + u_h))
    half = out["network_share"][0]
    assert half["hashrate_average_ehs"] == pytest.approx(1_070.0)
    assert half["gw_average"] == pytest.approx(1_070 * 17.5 * 1.1 / 1e3)
    assert out["network_share"][2]["hashrate_average_ehs"] == pytest.approx(99 * 1_070)
    assert out["wasted_ledger"]["share_of_network"] == pytest.approx(50 / 1_120)
    assert out["years_to_reserve"]["years"] == pytest.approx(2 + 182_000 / 8_000)


def test_ledgers_split_btc_by_energy_share() -> None:
    profiles = synthetic_profiles(300, n_shapes=12, n_nodes=4, seed=3)
    data = EstimatesConfig().model_dump()
    data["market"]["btc_price_usd"] = 160_000.0
    out = fleet_economics(profiles, None, EstimatesConfig.model_validate(data))
    n, led = out.national, out.ledgers
    assert led["wasted"]["btc_per_year"] + led["bought"]["btc_per_year"] == pytest.approx(n["btc_per_year"])
    assert led["wasted"]["average_gw"] + led["bought"]["average_gw"] == pytest.approx(n["average_gw"])
    assert led["bought"]["btc_per_year"] > 0 and led["wasted"]["btc_per_year"] > 0
    assert out.sites["btc_per_year"].sum() == pytest.approx(n["btc_per_year"])
    assert out.sites["fleet_mw"].sum() / 1e3 == pytest.approx(n["installed_gw"])
    cum = out.projection[-1]["cumulative_cash_usd"]
    assert cum == pytest.approx(-n["capex_usd"] + sum(row["margin_usd"] for row in out.projection))


def test_network_growth_fit_recovers_a_known_rate() -> None:
    from gis.estimates.projection import network_growth_fit

    dates = np.arange("2023-01-01", "2025-01-01", 7, dtype="datetime64[D]")
    years = (dates - dates[0]).astype(float) / 365.25
    fit = network_growth_fit(dates, 500.0 * 1.345**years)
    assert fit["growth_per_year"] == pytest.approx(0.345, rel=1e-9)
    assert fit["left_out"] == 0
    h = 500.0 * 1.345**years
    h[0] = np.nan
    assert network_growth_fit(dates, h)["left_out"] == 1


def _leaves(x, path=""):
    """Every number of a nested dict / list result, by its path."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, f"{path}/{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, x


def _agree(got: dict, want: dict, rel: float) -> None:
    """Every number of ``got`` within ``rel`` of ``want``'s; everything else equal."""
    got_leaves = dict(_leaves(got))
    for path, value in _leaves(want):
        if isinstance(value, float):
            assert got_leaves[path] == pytest.approx(value, rel=rel, abs=1e-9), path
        else:
            assert got_leaves[path] == value, path


@pytest.mark.parametrize("btc_price_usd", [90_000.0, 110_000.0, 160_000.0])
def test_monte_carlo_does_not_depend_on_how_the_draws_are_chunked(monkeypatch, btc_price_usd: float) -> None:
    """A draw's solve never sees another draw: chunks of 37 (not dividing the draws), 100 and all
    300 at once give the bands, shares and sensitivity of the default chunk but for the last
    digits (numpy adds rows of other lengths in another order), where about half the draws build
    a fleet, where most do and where every draw does (buying sites in play); one draw at a time
    within 1e-9 (the classes valued per chunk differ, so do the sums the bisection steps on)."""
    monkeypatch.setenv("GIS_PROCESSES", "1")
    profiles = synthetic_profiles(150, n_shapes=8, n_nodes=3, seed=11)
    data = EstimatesConfig().model_dump()
    data["market"]["btc_price_usd"] = btc_price_usd
    config = EstimatesConfig.model_validate(data)
    result = fleet_economics(profiles, None, config)
    default = monte_carlo(result, config, draws=300)
    assert default["share_with_a_fleet"] > 0.3 and default["bands"]["installed_gw"]["p90"] > 0
    for chunk in (37, 100, 300):
        _agree(monte_carlo(result, config, draws=300, chunk=chunk), default, rel=1e-13)
    _agree(monte_carlo(result, config, draws=300, chunk=1), default, rel=1e-9)


def test_monte_carlo_in_forked_processes_gives_the_same_bits(monkeypatch) -> None:
    import multiprocessing

    from gis.estimates import fleet

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform: the Monte Carlo runs in one process")
    profiles = synthetic_profiles(200, n_shapes=8, n_nodes=3, seed=5)
    data = EstimatesConfig().model_dump()
    data["market"]["btc_price_usd"] = 160_000.0
    config = EstimatesConfig.model_validate(data)
    result = fleet_economics(profiles, None, config)
    monkeypatch.setenv("GIS_PROCESSES", "1")
    alone = monte_carlo(result, config, draws=500, chunk=100)
    forks = []
    real = fleet._in_processes
    monkeypatch.setattr(fleet, "_in_processes", lambda *a: forks.append(len(a[-1])) or real(*a))
    monkeypatch.setattr(fleet, "MIN_DRAWS_PER_PROCESS", 100)
    monkeypatch.setenv("GIS_PROCESSES", "3")
    shared = monte_carlo(result, config, draws=500, chunk=100)
    assert forks and forks[0] == 3  # the draws were shared by three processes
    assert shared == alone  # every band, share and sensitivity row to the bit
    monkeypatch.setenv("GIS_PROCESSES", "none")
    with pytest.raises(GisError, match="GIS_PROCESSES"):
        monte_carlo(result, config, draws=500)
