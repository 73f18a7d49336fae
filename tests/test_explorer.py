"""The explorer: the exported rule re-ranks like the scoring stage, the grid interpolates like Python.

Browser tests drive Debian's chromium (headless, every non-file request aborted and counted):
for three random weight sets the page's ranks equal :func:`gis.scoring.score.score_measures`'s
for every site of a synthetic set of a few hundred sites (with ties); the BTC-price slider shows
the grid's national BTC/yr; a scenario exported from the page and scored again on the tiny layers
reproduces the page's ranks.
"""

from __future__ import annotations

import importlib.util
import math
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from gis.config.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from gis.config.vocabulary import CATEGORIES
from gis.errors import GisError
from gis.outputs.assets import remote_asset_tags
from gis.outputs.explorer import (
    CATEGORY_OFF_MIN_MW,
    explorer_data,
    interpolate_grid,
    read_run_scenario,
    render_explorer,
    scenario_grid,
)
from gis.scoring.score import score_measures

AXES = load_scenario().explorer.axes()

_spec = importlib.util.spec_from_file_location(
    "tiny_layers", Path(__file__).parent / "fixtures" / "scoring" / "tiny_layers.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)


def fake_model(p: dict) -> dict:
    """A made-up, non-linear national model (the real one is the estimate stage's)."""
    price, growth = p["btc_price_usd"], p["network_growth_per_year"]
    cap, eff = p["energy_price_cap_usd_mwh"], p["efficiency_j_th"]
    wasted_gw = 2.0 + cap / 40.0
    return {
        "wasted": {
            "gw": wasted_gw,
            "ehs": wasted_gw * 1e3 / eff,
            "btc_per_year": 5e4 * wasted_gw / eff / (1.0 + growth),
            "npv_usd": price * 1e3 * wasted_gw / (1.0 + growth) ** 2,
        },
        "bought": {
            "gw": cap / 10.0,
            "ehs": cap * 100.0 / eff,
            "btc_per_year": price / 1e3 * cap / eff,
            "npv_usd": math.sqrt(price) * cap,
        },
    }


# ---------------------------------------------------------------- grid and config (no browser)


def test_scenario_grid_holds_every_point_and_interpolates_multilinearly() -> None:
    grid = scenario_grid(fake_model, AXES)
    assert grid["axes"] == AXES
    cube = np.array(grid["ledgers"]["wasted"]["btc_per_year"], dtype=float)
    assert cube.shape == tuple(len(v) for v in AXES.values())
    point = {name: vals[1] for name, vals in AXES.items()}
    assert interpolate_grid(grid, "wasted", "btc_per_year", point) == pytest.approx(
        fake_model(point)["wasted"]["btc_per_year"], rel=1e-12
    )
    # halfway along one axis: the mean of the two neighbours; outside the axis: clamped
    mid = {**point, "btc_price_usd": (AXES["btc_price_usd"][1] + AXES["btc_price_usd"][2]) / 2}
    lo = fake_model(point)["wasted"]["npv_usd"]
    hi = fake_model({**point, "btc_price_usd": AXES["btc_price_usd"][2]})["wasted"]["npv_usd"]
    assert interpolate_grid(grid, "wasted", "npv_usd", mid) == pytest.approx((lo + hi) / 2, rel=1e-12)
    far = {**point, "btc_price_usd": 1e9}
    top = fake_model({**point, "btc_price_usd": AXES["btc_price_usd"][-1]})["wasted"]["npv_usd"]
    assert interpolate_grid(grid, "wasted", "npv_usd", far) == pytest.approx(top, rel=1e-12)


def test_scenario_grid_refuses_unsorted_axes_and_changing_metrics() -> None:
    with pytest.raises(GisError, match="strictly increasing"):
        scenario_grid(fake_model, {"btc_price_usd": [2.0, 1.0]})
    calls = iter(range(100))

    def flaky(p: dict) -> dict:
        return {"wasted": {"gw": 1.0}} if next(calls) == 0 else {"wasted": {"ehs": 1.0}}

    with pytest.raises(GisError, match="other ledgers or metrics"):
        scenario_grid(flaky, {"a": [0.0, 1.0]})


def test_explorer_table_in_the_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[explorer]\nbtc_price_usd = [3.0, 2.0]\n", encoding="utf-8")
    with pytest.raises(GisError, match=r"explorer\.btc_price_usd"):
        load_scenario(bad)
    assert tomllib.loads(DEFAULT_SCENARIO.read_text(encoding="utf-8"))["explorer"] == AXES


# ---------------------------------------------------------------- synthetic sites


def synthetic_sites(n: int = 400, seed: int = 3) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """A few hundred sites: measures (with NaNs, off-grid sites, exact ties) scored by Python."""
    rng = np.random.default_rng(seed)
    category = rng.choice(list(CATEGORIES), n)
    measures = pd.DataFrame(
        {
            "site_id": [f"{c}:{k:04d}" for c, k in zip(category, rng.permutation(n), strict=True)],
            "category": category,
            "offgrid": rng.random(n) < 0.2,
            "mineable_mw": np.where(rng.random(n) < 0.1, 0.01, rng.gamma(1.5, 40.0, n)),
            "capacity_mw": rng.gamma(2.0, 100.0, n),
            "dist_tx_km": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(15.0, n)),
            "tx_voltage_kv": rng.choice([69.0, 138.0, 345.0], n),
            "dist_sub_km": rng.exponential(12.0, n),
            "headroom_mw": rng.choice([20.0, 50.0, 200.0, 750.0], n),
            "energy_cost_usd_mwh": rng.choice([10.0, 15.0, 20.0, 35.0, 45.0, 260.0], n),
            "co2_t_per_mwh": rng.choice([0.0, 0.367, 0.721], n),
            "lat_deg": rng.uniform(25.0, 49.0, n),
            "in_us": (rng.random(n) > 0.05).astype(float),
            "dist_road_km": np.full(n, np.nan),
        }
    )
    # exact duplicates of sub-scores: ties broken by site_id
    measures.iloc[1::50, 3:] = measures.iloc[0, 3:].to_numpy()
    return measures


def _sites_frame(measures: pd.DataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    scored = score_measures(measures, scenario.scoring)
    rng = np.random.default_rng(0)
    frame = pd.concat([measures[["site_id", "category", "mineable_mw"]], scored], axis=1)
    frame["name"] = "Site " + frame["site_id"]
    frame["state"] = rng.choice(["TX", "KS", "CA", "ND"], len(frame))
    frame["ledger"] = np.where(frame["category"].isin(["retired_coal"]), "bought", "wasted")
    geometry = [
        Point(lon, lat)
        for lon, lat in zip(rng.uniform(-120, -75, len(frame)), measures["lat_deg"], strict=True)
    ]
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def test_explorer_data_matches_the_run(tmp_path: Path) -> None:
    scenario, raw, note = read_run_scenario(tmp_path)
    assert "absent" in note
    measures = synthetic_sites()
    sites = _sites_frame(measures, scenario)
    data = explorer_data(sites, scenario, raw, {"national": {}}, scenario_note=note)
    assert data["notes"] == []  # exclusions and scores recomputed from the export equal the run's
    assert data["grid"] is None
    excluded = set(np.flatnonzero(sites["excluded"].to_numpy()))
    assert set().union(*(set(r["hits"]) for r in data["exclusions"])) == excluded
    page = render_explorer(data)
    assert (
        remote_asset_tags(page) == []
        and "</script" not in page.split('id="explorer-data">')[1].split("</script>")[0]
    )


# ---------------------------------------------------------------- in the browser


class Page:
    """An explorer page with network blocked; blocked requests and errors recorded."""

    def __init__(self, browser, path: Path) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.route("**/*", self._route)
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("() => window.explorer && window.explorer.ready")

    def _route(self, route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def ranks(self) -> dict[str, int]:
        return self.page.evaluate("() => window.explorer.ranks()")

    def close(self) -> None:
        assert self.blocked == [] and self.errors == []
        self.page.close()


def _write_page(tmp_path: Path, sites, scenario, raw, estimates) -> Path:
    path = tmp_path / "explorer.html"
    path.write_text(render_explorer(explorer_data(sites, scenario, raw, estimates)), encoding="utf-8")
    return path


def _python_ranks(measures: pd.DataFrame, scenario: Scenario, weights, exclusions=None) -> dict[str, int]:
    dump = scenario.scoring.model_dump()
    for (name, crit), w in zip(dump["criteria"].items(), weights, strict=True):
        crit["weight"] = w
        assert name
    if exclusions is not None:
        dump["exclusions"] = exclusions
    config = type(scenario.scoring).model_validate(dump)
    scored = score_measures(measures, config)
    return dict(zip(measures["site_id"], scored["rank"].astype(int), strict=True))


@pytest.mark.browser
def test_ranks_equal_python_for_random_weights(browser, tmp_path: Path) -> None:
    scenario, raw, _ = read_run_scenario(tmp_path)
    measures = synthetic_sites()
    sites = _sites_frame(measures, scenario)
    grid = scenario_grid(fake_model, AXES)
    w = Page(browser, _write_page(tmp_path, sites, scenario, raw, {"national": {}, "explorer_grid": grid}))
    assert w.ranks() == dict(zip(sites["site_id"], sites["rank"].astype(int), strict=True))
    rng = np.random.default_rng(20261130)
    k = len(scenario.scoring.criteria)
    for trial in range(3):
        raw_weights = rng.dirichlet(np.ones(k)) * rng.uniform(0.5, 2.0)  # sliders need not sum to 1
        w.page.evaluate("(ws) => window.explorer.setWeights(ws)", [float(x) for x in raw_weights])
        used = w.page.evaluate("() => window.explorer.effectiveWeights()")
        assert sum(used) == pytest.approx(1.0, abs=1e-12)
        assert np.allclose(used, raw_weights / raw_weights.sum(), rtol=1e-12)
        exclusions = None
        if trial == 2:  # also switch off the second exclusion rule and the flare_gas category
            w.page.locator("#excl-1").uncheck()
            w.page.locator(
                f"#cat-{sorted(set(sites['category']), key=list(CATEGORIES).index).index('flare_gas')}"
            ).uncheck()
            rules = [r.model_dump() for r in scenario.scoring.exclusions[:1]]
            rules.append(
                {
                    "measure": "mineable_mw",
                    "min": CATEGORY_OFF_MIN_MW,
                    "categories": ["flare_gas"],
                    "reason": "off",
                }
            )
            exclusions = rules
        expected = _python_ranks(measures, scenario, used, exclusions)
        got = w.ranks()
        wrong = {s: (got[s], r) for s, r in expected.items() if got[s] != r}
        assert not wrong, (
            f"weight set {trial}: {len(wrong)} sites ranked differently, e.g. {list(wrong.items())[:5]}"
        )
    w.close()


@pytest.mark.browser
def test_btc_price_slider_shows_the_grid_value(browser, tmp_path: Path) -> None:
    scenario, raw, _ = read_run_scenario(tmp_path)
    sites = _sites_frame(synthetic_sites(60), scenario)
    grid = scenario_grid(fake_model, AXES)
    w = Page(browser, _write_page(tmp_path, sites, scenario, raw, {"national": {}, "explorer_grid": grid}))
    page = w.page
    cell = page.locator('td[data-ledger="wasted"][data-metric="btc_per_year"]')
    before = float(cell.get_attribute("data-value"))
    point = {name: float(page.locator(f"#axis-{name}").input_value()) for name in AXES}
    assert before == pytest.approx(interpolate_grid(grid, "wasted", "btc_per_year", point), rel=1e-12)
    for price in (AXES["btc_price_usd"][3], 95_000.0):
        page.evaluate(
            "(v) => { const el = document.getElementById('axis-btc_price_usd'); el.value = String(v); el.dispatchEvent(new Event('input')); }",
            price,
        )
        point["btc_price_usd"] = price
        for ledger in ("wasted", "bought"):
            for metric in ("btc_per_year", "npv_usd"):
                shown = page.locator(f'td[data-ledger="{ledger}"][data-metric="{metric}"]').get_attribute(
                    "data-value"
                )
                assert float(shown) == pytest.approx(interpolate_grid(grid, ledger, metric, point), rel=1e-12)
    at_grid = {**point, "btc_price_usd": AXES["btc_price_usd"][3]}
    page.evaluate(
        "(v) => { const el = document.getElementById('axis-btc_price_usd'); el.value = String(v); el.dispatchEvent(new Event('input')); }",
        AXES["btc_price_usd"][3],
    )
    npv = float(page.locator('td[data-ledger="wasted"][data-metric="npv_usd"]').get_attribute("data-value"))
    if all(at_grid[a] in AXES[a] for a in AXES):
        assert npv == pytest.approx(fake_model(at_grid)["wasted"]["npv_usd"], rel=1e-12)
    assert "grid: 50,000 · 70,000 · 87,500 · 110,000 · 140,000" in page.content()
    w.close()


@pytest.mark.browser
def test_no_grid_is_said_plainly_and_table_links_to_map(browser, tmp_path: Path) -> None:
    scenario, raw, _ = read_run_scenario(tmp_path)
    sites = _sites_frame(synthetic_sites(80), scenario)
    sites["in_fleet"] = np.arange(len(sites)) % 3 == 0
    w = Page(browser, _write_page(tmp_path, sites, scenario, raw, {"national": {}}))
    page = w.page
    page.locator("#f-fleet").select_option("1")
    assert set(page.locator("#sites tbody tr td:nth-child(7)").all_inner_texts()) == {"yes"}
    assert page.locator("#sites tbody tr").count() == int(sites["in_fleet"].sum())
    page.locator("#f-fleet").select_option("")
    assert "no explorer_grid" in page.locator("#no-grid").inner_text().replace("<code>", "")
    page.locator("#sites tbody tr").nth(2).click()
    assert page.locator(".leaflet-popup-content").count() == 1
    assert page.locator("#sites tbody tr.selected").count() == 1
    page.locator("#f-category").select_option("flare_gas")
    cats = page.locator("#sites tbody tr td:nth-child(4)").all_inner_texts()
    assert cats and set(cats) == {"flare_gas"}
    # a marker click highlights its row, clearing a filter that hid it
    other = sites.loc[sites["category"] != "flare_gas", "site_id"].iloc[-1]
    page.evaluate("(id) => window.explorer.marker(id).fire('click')", other)
    selected = page.locator("#sites tbody tr.selected")
    assert selected.count() == 1 and other in selected.inner_text()
    assert page.locator("#f-category").input_value() == ""
    page.screenshot(path=str(tmp_path / "explorer.png"))
    w.close()


@pytest.mark.browser
def test_exported_scenario_reproduces_the_page_ranks(browser, tmp_path: Path) -> None:
    from gis.scoring.api import score_sites

    layers = {**tiny.tiny_layers(), **tiny.tiny_market_layers()}
    scenario, raw, _ = read_run_scenario(tmp_path)
    sites = score_sites(layers, scenario)
    w = Page(browser, _write_page(tmp_path, sites, scenario, raw, {"national": {}}))
    rng = np.random.default_rng(7)
    weights = rng.dirichlet(np.ones(len(scenario.scoring.criteria)))
    w.page.evaluate("(ws) => window.explorer.setWeights(ws)", [float(x) for x in weights])
    w.page.locator("#cat-0").uncheck()
    page_ranks = w.ranks()
    toml_text = w.page.evaluate("() => window.explorer.toml()")
    w.close()
    exported = tmp_path / "exported.toml"
    exported.write_text(toml_text, encoding="utf-8")
    again = score_sites(layers, load_scenario(exported))
    assert dict(zip(again["site_id"], again["rank"].astype(int), strict=True)) == page_ranks
    first = next(c for c in CATEGORIES if c in set(sites["category"]))  # switch #cat-0
    assert again.loc[again["category"] == first, "excluded"].all()
    assert "switched off in the explorer" in toml_text


def test_fleet_membership_from_a_column_or_the_estimates() -> None:
    from gis.outputs.explorer import fleet_membership

    sites = pd.DataFrame({"site_id": ["a", "b", "c"]})
    assert fleet_membership(sites, {"fleet": {"site_ids": ["c", "a"]}})[0] == [True, False, True]
    assert fleet_membership(sites.assign(in_fleet=[False, True, False]), {})[0] == [False, True, False]
    unknown = sites.assign(in_fleet=pd.array([True, None, False], dtype="boolean"))
    assert fleet_membership(unknown, {})[0] == [True, None, False]
    assert fleet_membership(sites, {"national": {}})[0] is None


def test_the_scenario_note_names_the_file_where_the_outputs_land(tmp_path: Path) -> None:
    from gis.io import STAGING_PREFIX
    from gis.outputs.explorer import read_run_scenario, write_run_scenario

    staging = tmp_path / "out" / f"{STAGING_PREFIX}123-abc"  # the run writes its outputs here first
    staging.mkdir(parents=True)
    write_run_scenario(staging, None)
    _, _, note = read_run_scenario(staging)
    assert note == str(tmp_path / "out" / "scenario.toml")
    _, _, note = read_run_scenario(tmp_path / "out")  # gis report on outputs in place
    assert "absent" in note
