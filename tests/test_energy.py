"""The energy stage: surplus in time, on tiny hourly fixtures whose answers are computed by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from gis.config.energy import CategoryEnergy, CurtailmentRegion, EnergyConfig, NodeRule
from gis.config.scenario import load_scenario
from gis.energy.build import MarketTables, surplus_profiles
from gis.energy.markets import hub_prices, market_intensity, year_hours
from gis.energy.nodes import assign_nodes, hub_of
from gis.energy.solar import daylight_weights
from gis.rowlog import RowLog

YEAR = 2023  # 8,760 hours
HOURS = year_hours(YEAR)


def _prices(node: str, values: np.ndarray, keep: np.ndarray | None = None) -> pd.DataFrame:
    keep = np.ones(len(HOURS), dtype=bool) if keep is None else keep
    return pd.DataFrame(
        {
            "node": node,
            "market": node.split(":")[0],
            "kind": "rt",
            "hour_utc": HOURS[keep].strftime("%Y-%m-%dT%H:00Z"),
            "price_usd_mwh": values[keep],
            "intervals": 4,
            "intervals_expected": 4,
        }
    )


def _config(**categories: CategoryEnergy) -> EnergyConfig:
    return EnergyConfig(
        reference_year=YEAR,
        fallback_price_usd_mwh=45.0,
        nodes=[
            NodeRule(node="ERCOT:HB_WEST", balancing_authorities=["ERCO"]),
            NodeRule(node="MISO:MISSISSIPPI", balancing_authorities=["TVA"], proxy="Southeast (TVA)"),
        ],
        curtailment=[
            CurtailmentRegion(name="ERCOT", markets=["ERCOT"], twh_per_year=0.0876, solar_share=1.0)
        ],
        categories=categories,
        military_engine_hours=50.0,
        fallback_price_source="test",
        intensity=[],
        fuel_t_per_mwh={},
        published=[],
    )


def _sites(rows: list[dict]) -> gpd.GeoDataFrame:
    base = {
        "state": "TX",
        "offgrid": False,
        "capacity_mw": 100.0,
        "asset_mw": 100.0,
        "balancing_authority": "ERCO",
        "capacity_factor_max": np.nan,
        "annual_wasted_mwh": np.nan,
        "basis": "",
    }
    frame = pd.DataFrame([base | r for r in rows])
    geometry = [Point(lon, lat) for lon, lat in zip(frame.pop("lon"), frame.pop("lat"), strict=True)]
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def test_nodes_own_market_proxy_and_none():
    rules = _config().nodes
    frame = pd.DataFrame(
        {
            "balancing_authority": ["ERCO", "TVA", "HECO"],
            "state": ["TX", "TN", "HI"],
            "lon": [-101, -86, -157],
            "lat": [31, 35, 21],
        }
    )
    nodes = assign_nodes(frame, rules)
    assert nodes["node"].tolist() == ["ERCOT:HB_WEST", "Southeast (TVA)<-MISO:MISSISSIPPI", ""]
    assert hub_of(nodes["node"].iat[1]) == "MISO:MISSISSIPPI"
    assert nodes["proxy"].tolist() == ["", "Southeast (TVA)", ""]


def test_default_scenario_places_the_big_federal_and_market_regions():
    rules = load_scenario().energy.nodes
    frame = pd.DataFrame(
        {
            "balancing_authority": ["ERCO", "ERCO", "BPAT", "TVA", "CISO", "SWPP", "MISO", ""],
            "state": ["TX", "TX", "WA", "AL", "CA", "KS", "MN", "TX"],
            "lon": [-102.0, -101.5, -119.0, -87.6, -115.5, -98.0, -95.0, -97.3],
            "lat": [31.5, 35.2, 47.9, 34.8, 33.0, 38.5, 45.0, 32.8],
        }
    )
    assert assign_nodes(frame, rules)["node"].tolist() == [
        "ERCOT:HB_WEST",
        "ERCOT:HB_PAN",
        "Northwest (BPA, Mid-C)<-CAISO:NP15",
        "Southeast (TVA, Southern, Duke, Florida)<-MISO:MISSISSIPPI",
        "CAISO:SP15",
        "SPP:NORTH",
        "MISO:MINNESOTA",
        "ERCOT:HB_NORTH",
    ]


def test_hub_prices_keep_gaps_and_fall_back_to_the_nearest_year():
    values = np.where(HOURS.hour == 12, -1.0, 20.0)
    keep = np.ones(len(HOURS), dtype=bool)
    keep[:10] = False
    table = _prices("ERCOT:HB_WEST", values, keep)
    prices, years = hub_prices(table, ["ERCOT:HB_WEST", "CAISO:NP15"], year=YEAR, kind="rt")
    assert years == [YEAR, 0]
    assert np.isnan(prices[0, :10]).all() and np.isnan(prices[1]).all()
    assert np.nansum(prices[0] < 0) == 365
    # asked for 2024, the 2023 series is placed by (month, day, hour); 29 February stays unknown
    prices24, years24 = hub_prices(table, ["ERCOT:HB_WEST"], year=2024, kind="rt")
    assert years24 == [YEAR] and prices24.shape == (1, 8784)
    assert np.isnan(prices24[0, 59 * 24 : 60 * 24]).all()


def test_nuclear_and_hydro_surplus_only_in_hours_at_or_below_zero():
    # a week-like pattern: 3 hours a day at -5 $/MWh, the rest at 30; 10 hours missing in January
    values = np.where(np.isin(HOURS.hour, [2, 3, 4]), -5.0, 30.0)
    keep = np.ones(len(HOURS), dtype=bool)
    keep[101:111] = False  # 10 ordinary hours missing (day 5, 05-14 h)
    layers = {"market_prices": _prices("ERCOT:HB_WEST", values, keep)}
    config = _config(
        nuclear_surplus=CategoryEnergy(flexible_share=0.1, wasted_cost_usd_mwh=6.0),
        federal_hydro=CategoryEnergy(flexible_share=0.5),
    )
    sites = _sites(
        [
            {"site_id": "n", "category": "nuclear_surplus", "capacity_mw": 2000.0, "lon": -101, "lat": 31},
            {
                "site_id": "h",
                "category": "federal_hydro",
                "capacity_mw": 400.0,
                "capacity_factor_max": 0.5,
                "lon": -101,
                "lat": 31,
            },
            {"site_id": "dry", "category": "federal_hydro", "capacity_mw": 400.0, "lon": -101, "lat": 31},
            {
                "site_id": "tva",
                "category": "nuclear_surplus",
                "balancing_authority": "TVA",
                "state": "TN",
                "lon": -86,
                "lat": 35,
            },
        ]
    )
    profiles, summary = surplus_profiles(sites, layers, config, RowLog("t"))
    weight = 8760 / 8750
    hours_le0 = 3 * 365 * weight  # none of the missing hours was a surplus hour
    assert summary["wasted_hours_per_year"].tolist()[:2] == pytest.approx([hours_le0, hours_le0])
    # nuclear: 10 % of 2,000 MW in those hours; hydro: 400 MW x 0.5 (wettest year) x 0.5
    assert summary["wasted_peak_mw"].tolist()[:2] == pytest.approx([200.0, 100.0])
    assert summary["wasted_mwh_per_year"].tolist()[:2] == pytest.approx(
        [200.0 * hours_le0, 100.0 * hours_le0]
    )
    assert summary["wasted_price_usd_mwh"].iat[0] == pytest.approx(-5.0)
    # a dam without generation history, and a reactor priced only by a proxy, have no surplus
    assert summary["wasted_mwh_per_year"].tolist()[2:] == [0.0, 0.0]
    assert "generation history" in summary["no_surplus_reason"].iat[2]
    assert "no hourly prices" in summary["no_surplus_reason"].iat[3]
    assert summary["node"].iat[3] == "Southeast (TVA)<-MISO:MISSISSIPPI"
    assert summary["price_basis"].iat[3].startswith("proxy: Southeast (TVA)")
    assert profiles.hour_weight[profiles.node_ids.index("ERCOT:HB_WEST")] == pytest.approx(weight)
    assert (profiles.sites["ledger"] == "wasted").all()


FLARE_SITE = {
    "site_id": "f",
    "category": "flare_gas",
    "offgrid": True,
    "asset_mw": 4.0,
    "lon": -103,
    "lat": 32,
}
"""An offgrid flare of 4 MW in the Permian."""


def test_flare_is_constant_and_military_gensets_run_their_engine_hours():
    config = _config(flare_gas=CategoryEnergy(flexible_share=1.0, wasted_cost_usd_mwh=15.0))
    sites = _sites(
        [
            FLARE_SITE,
            {
                "site_id": "m",
                "category": "military_backup",
                "offgrid": True,
                "asset_mw": 5.0,
                "lon": -98,
                "lat": 29,
            },
        ]
    )
    profiles, summary = surplus_profiles(sites, {}, config, RowLog("t"))
    assert summary["wasted_mwh_per_year"].iat[0] == pytest.approx(4.0 * 8760)
    assert summary["wasted_hours_per_year"].tolist() == [8760.0, 0.0]  # military energy is bought diesel
    assert profiles.shapes[profiles.sites["shape"].iat[1]].sum() == 50
    assert profiles.sites["ledger"].tolist() == ["wasted", "bought"]
    assert profiles.sites["node"].tolist() == [-1, -1]  # off-grid: nothing to buy


def test_retired_coal_buys_at_its_node_or_the_flat_price():
    values = np.full(len(HOURS), 25.0)
    config = _config(retired_coal=CategoryEnergy(can_buy=True))
    sites = _sites(
        [
            {"site_id": "c", "category": "retired_coal", "asset_mw": 150.0, "lon": -101, "lat": 31},
            {
                "site_id": "hi",
                "category": "retired_coal",
                "balancing_authority": "HECO",
                "state": "HI",
                "lon": -157,
                "lat": 21,
            },
        ]
    )
    profiles, summary = surplus_profiles(
        sites, {"market_prices": _prices("ERCOT:HB_WEST", values)}, config, RowLog("t")
    )
    assert profiles.sites["can_buy"].tolist() == [True, True]
    assert profiles.sites["max_mw"].tolist() == [150.0, 100.0]
    nodes = [profiles.node_ids[j] for j in profiles.sites["node"]]
    assert nodes == ["ERCOT:HB_WEST", "flat price (no hourly data)"]
    assert np.all(profiles.price[profiles.sites["node"].iat[1]] == 45.0)
    assert summary["node_mean_price_usd_mwh"].tolist() == pytest.approx([25.0, 45.0])
    assert summary["wasted_mwh_per_year"].tolist() == [0.0, 0.0]


def test_solar_curtailment_is_placed_in_daylight_surplus_hours():
    # every hour of the day below zero: curtailed solar still only lands while the sun is up
    values = np.full(len(HOURS), -1.0)
    config = _config(stranded_solar=CategoryEnergy(flexible_share=1.0, wasted_cost_usd_mwh=10.0))
    sites = _sites(
        [
            {
                "site_id": "s",
                "category": "stranded_solar",
                "capacity_mw": 50.0,
                "capacity_factor_max": 0.25,
                "lon": -101,
                "lat": 31,
            }
        ]
    )
    profiles, summary = surplus_profiles(
        sites, {"market_prices": _prices("ERCOT:HB_WEST", values)}, config, RowLog("t")
    )
    shape = profiles.shapes[profiles.sites["shape"].iat[0]]
    light = daylight_weights(np.array([-100.5]), np.array([31.5]), HOURS)[0]
    assert np.array_equal(shape > 0, light > 0)  # 1-degree bin centre
    assert 4300 < (shape > 0).sum() < 4500  # about half the hours of a year have the sun up
    # the market's 87,600 MWh of solar curtailment all goes to the one plant (cap: 50 MW x 8,760 x 0.25)
    assert summary["wasted_mwh_per_year"].iat[0] == pytest.approx(87_600.0)
    assert summary["wasted_peak_mw"].iat[0] <= 50.0


def test_daylight_hours_at_the_equinox():
    day = pd.date_range("2023-03-20", periods=24, freq="h", tz="UTC")
    w = daylight_weights(np.array([0.0]), np.array([0.0]), day)[0]
    assert (w > 0).sum() == 12  # 06-18 h solar time on the equator, Greenwich meridian
    assert w.max() == pytest.approx(1.0, abs=0.01)


def test_market_intensity_from_fuel_mix_by_hand():
    mix = pd.DataFrame(
        {
            "market": "ERCOT",
            "region": "ERCOT",
            "hour_utc": HOURS[:2].strftime("%Y-%m-%dT%H:00Z"),
            "coal_mw": [100.0, 0.0],
            "gas_mw": [100.0, 0.0],
            "wind_mw": [200.0, 400.0],
            "total_mw": [400.0, 400.0],
        }
    )
    factors = {"coal": 1.0, "gas": 0.4, "wind": 0.0}
    values, how = market_intensity(mix, "ERCOT", year=YEAR, fuel_t_per_mwh=factors, fallback_t_per_mwh=0.367)
    assert values[:2] == pytest.approx([(100 * 1.0 + 100 * 0.4) / 400, 0.0])
    assert values[2:] == pytest.approx(np.full(len(HOURS) - 2, 0.175))  # unknown hours: the mean
    assert "fuel mix" in how
    flat, how = market_intensity(mix, "SPP", year=YEAR, fuel_t_per_mwh=factors, fallback_t_per_mwh=0.367)
    assert (flat == 0.367).all() and "regional average" in how


def test_surplus_table_and_published_comparison_by_hand():
    from gis.config.energy import PublishedFigure
    from gis.energy.summary import published_comparison, surplus_by_category

    sites = pd.DataFrame(
        {
            "category": ["stranded_solar", "stranded_wind", "nuclear_surplus", "nuclear_surplus"],
            "ledger": "wasted",
            "node": ["CAISO:SP15", "ERCOT:HB_WEST", "ERCOT:HB_SOUTH", "Southeast (TVA)<-MISO:MISSISSIPPI"],
            "wasted_peak_mw": [10.0, 50.0, 120.0, 0.0],
            "wasted_mwh_per_year": [20_000.0, 40_000.0, 12_000.0, 0.0],
            "wasted_hours_per_year": [2_000.0, 800.0, 100.0, 0.0],
            "wasted_avg_mw": [20_000 / 8760, 40_000 / 8760, 12_000 / 8760, 0.0],
            "no_surplus_reason": ["", "", "", "no hourly prices in its region: no evidence of surplus hours"],
        }
    )
    table = {r["category"]: r for r in surplus_by_category(sites)}
    assert table["stranded_solar"]["twh_per_year"] == pytest.approx(0.02)
    assert table["nuclear_surplus"]["sites_with_surplus"] == 1
    assert table["nuclear_surplus"]["no_surplus"] == {
        "no hourly prices in its region: no evidence of surplus hours": 1
    }
    assert table["nuclear_surplus"]["hours_per_year"] == pytest.approx(100.0)
    config = _config().model_copy(
        update={
            "published": [
                PublishedFigure(
                    label="caiso",
                    categories=["stranded_wind", "stranded_solar"],
                    scope="CAISO",
                    quantity="twh_per_year",
                    value=0.04,
                    source="s",
                ),
                PublishedFigure(
                    label="deal",
                    categories=["nuclear_surplus"],
                    quantity="peak_mw_per_site",
                    value=200.0,
                    source="s",
                ),
                PublishedFigure(
                    label="se",
                    categories=["nuclear_surplus"],
                    scope="Southeast",
                    quantity="avg_gw",
                    value=1.0,
                    source="s",
                ),
            ]
        }
    )
    rows = {r["label"]: r for r in published_comparison(sites, config)}
    assert rows["caiso"]["tool"] == pytest.approx(0.02) and rows["caiso"]["ratio"] == pytest.approx(0.5)
    assert rows["deal"]["tool"] == pytest.approx(120.0)
    assert rows["se"]["tool"] == 0.0


def test_market_tables_are_shared_only_with_the_same_frames_and_table():
    values = np.where(np.isin(HOURS.hour, [2, 3, 4]), -5.0, 30.0)
    layers = {"market_prices": _prices("ERCOT:HB_WEST", values)}
    config = _config(nuclear_surplus=CategoryEnergy(flexible_share=0.1, wasted_cost_usd_mwh=6.0))
    sites = _sites(
        [{"site_id": "n", "category": "nuclear_surplus", "capacity_mw": 2000.0, "lon": -101, "lat": 31}]
    )
    markets = MarketTables(layers, config)
    first, summary = surplus_profiles(sites, layers, config, RowLog("t"), markets=markets)
    # the estimate stage's call on the same frames (another dict) reuses the tables: the same arrays
    again, summary_again = surplus_profiles(sites, dict(layers), config, markets=markets)
    assert again.price is first.price and again.intensity is first.intensity
    pd.testing.assert_frame_equal(summary_again, summary)
    # other frames, or another [energy] table, are computed afresh (never a stale table)
    moved = {
        "market_prices": layers["market_prices"].assign(price_usd_mwh=lambda f: f["price_usd_mwh"] + 100)
    }
    fresh, _ = surplus_profiles(sites, moved, config, markets=markets)
    assert fresh.price is not first.price and np.nanmin(fresh.price) == pytest.approx(95.0)
    cheaper = config.model_copy(update={"fallback_price_usd_mwh": 1.0})
    assert not markets.serves(layers, cheaper) and markets.serves(dict(layers), config)
    alone, _ = surplus_profiles(sites, layers, config)
    np.testing.assert_array_equal(alone.price, first.price)


def _two_market_sites():
    values = np.where(np.isin(HOURS.hour, [2, 3, 4]), -5.0, 30.0)
    layers = {"market_prices": _prices("ERCOT:HB_WEST", values)}
    config = _config(
        nuclear_surplus=CategoryEnergy(flexible_share=0.1, wasted_cost_usd_mwh=6.0),
        flare_gas=CategoryEnergy(flexible_share=1.0, wasted_cost_usd_mwh=15.0),
    )
    sites = _sites(
        [
            {"site_id": "n", "category": "nuclear_surplus", "capacity_mw": 2000.0, "lon": -101, "lat": 31},
            FLARE_SITE,
        ]
    )
    return layers, config, sites


def test_profiles_do_not_depend_on_the_order_of_the_sites():
    layers, config, sites = _two_market_sites()
    first, summary = surplus_profiles(sites, layers, config)
    flipped, summary_flipped = surplus_profiles(sites.iloc[::-1], layers, config)
    assert flipped.shape_ids == first.shape_ids  # shapes numbered in site_id order, whatever the rank
    np.testing.assert_array_equal(flipped.shapes, first.shapes)
    pd.testing.assert_frame_equal(flipped.sites.iloc[::-1].reset_index(drop=True), first.sites)
    pd.testing.assert_frame_equal(summary_flipped.iloc[::-1].reset_index(drop=True), summary)


def test_profiles_are_kept_in_the_process_and_on_disk_by_their_inputs():
    from gis.energy.keep import ProfileStore

    layers, config, sites = _two_market_sites()
    markets = MarketTables(layers, config, ProfileStore("layers-key"))
    first, summary = surplus_profiles(sites, layers, config, markets=markets)
    again, _ = surplus_profiles(sites.iloc[::-1], layers, config, markets=markets)  # another rank
    assert again.shapes is first.shapes  # from the process
    disk = MarketTables(layers, config, ProfileStore("layers-key"))  # a new process: from disk
    read, summary_read = surplus_profiles(sites, layers, config, markets=disk)
    assert read.shapes is not first.shapes
    for name in ("price", "hour_weight", "intensity", "shapes"):
        np.testing.assert_array_equal(getattr(read, name), getattr(first, name))
    assert (read.year, read.node_ids, read.shape_ids) == (first.year, first.node_ids, first.shape_ids)
    assert read.hours.equals(first.hours)
    pd.testing.assert_frame_equal(read.sites, first.sites)
    pd.testing.assert_frame_equal(summary_read, summary)
    moved = sites.assign(asset_mw=sites["asset_mw"] * 2)  # other inputs: computed, not read
    other, _ = surplus_profiles(moved, layers, config, markets=disk)
    assert other.sites["wasted_mw"].tolist() != first.sites["wasted_mw"].tolist()
    logged, _ = surplus_profiles(sites, layers, config, RowLog("t"), markets=disk)
    assert logged.shapes is not read.shapes  # a caller wanting the notes gets them computed


def test_parse_hours_parses_each_distinct_label_once_with_the_same_result() -> None:
    from gis.energy import markets as energy_markets

    labels = pd.Series(["2024-03-10T07:00Z", "2023-12-31T23:00Z", "2024-03-10T07:00Z"] * 3, dtype=object)
    assert energy_markets.parse_hours(labels).equals(energy_markets._parse_each(labels))
    with_missing = pd.Series(["2024-03-10T07:00Z", None], dtype=object)
    try:
        expected = energy_markets._parse_each(with_missing)
    except ValueError:
        with pytest.raises(ValueError):
            energy_markets.parse_hours(with_missing)
    else:
        assert energy_markets.parse_hours(with_missing).equals(expected)
