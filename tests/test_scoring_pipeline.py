"""Scoring: sub-scores and rank, shared-interconnect allocation, rank stability, flags, files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from shapely.geometry import Point

from gis import METRIC_CRS
from gis.config.scenario import load_scenario
from gis.config.scoring import StabilityConfig
from gis.config.vocabulary import CATEGORIES
from gis.io import write_gpkg
from gis.schema import SCHEMA_REGISTRY
from gis.scoring.allocate import GROUP_COLUMN, allocate_shared, interconnect_groups, site_groups
from gis.scoring.api import measured_sites, ranked_sites, score_command, score_sites
from gis.scoring.score import score_measures
from gis.scoring.stability import draw_weights, p_top_n

_spec = importlib.util.spec_from_file_location(
    "tiny_layers", Path(__file__).parent / "fixtures" / "scoring" / "tiny_layers.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

CONFIG = load_scenario().scoring


def _measures(**overrides) -> pd.DataFrame:
    base = {
        "site_id": ["a", "b"],
        "category": ["federal_hydro", "federal_hydro"],
        "setting": ["", ""],
        "offgrid": [False, False],
        "capacity_mw": [100.0, 100.0],
        "asset_mw": [50.0, 50.0],
        "mineable_mw": [50.0, 50.0],
        "dist_tx_km": [5.0, 5.0],
        "tx_voltage_kv": [230.0, 230.0],
        "dist_sub_km": [5.0, 5.0],
        "sub_voltage_kv": [230.0, 230.0],
        "substation_id": ["s", "s"],
        "headroom_mw": [400.0, 400.0],
        "energy_cost_usd_mwh": [35.0, 35.0],
        "co2_t_per_mwh": [0.0, 0.0],
        "lat_deg": [40.0, 40.0],
        "in_us": [1.0, 1.0],
        "dist_road_km": [np.nan, np.nan],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_score_is_the_weighted_sum_of_subscores_and_ties_break_by_site_id():
    scored = score_measures(_measures(site_id=["b", "a"]), CONFIG)
    weights = np.array([c.weight for c in CONFIG.criteria.values()])
    subs = scored[[f"s_{n}" for n in CONFIG.criteria]].to_numpy()
    assert scored["score"].to_numpy() == pytest.approx(subs @ weights)
    # inverse(5 km, half 10) = 2/3; road distance NaN -> neutral 0.5
    assert scored["s_grid_distance"].iloc[0] == pytest.approx(10 / 15)
    assert scored["s_road_access"].iloc[0] == 0.5
    assert scored["rank"].tolist() == [2, 1]


def test_exclusion_sets_score_zero_and_ranks_last():
    scored = score_measures(_measures(in_us=[0.0, 1.0]), CONFIG)
    assert scored["excluded"].tolist() == [True, False]
    assert scored["score"].iloc[0] == 0.0 and scored["rank"].tolist() == [2, 1]
    assert "outside the US" in scored["exclusion_reason"].iloc[0]
    assert scored["exclusion_reason"].iloc[1] == ""


def test_offgrid_sites_score_grid_criteria_as_configured():
    scored = score_measures(_measures(offgrid=[True, False], dist_tx_km=[500.0, 500.0]), CONFIG)
    assert scored["s_grid_distance"].iloc[0] == CONFIG.criteria["grid_distance"].offgrid
    assert scored["s_grid_distance"].iloc[1] == pytest.approx(10 / 510)


@settings(max_examples=60, deadline=None)
@given(
    mw=st.floats(min_value=0, max_value=5000),
    more=st.floats(min_value=0, max_value=5000),
    dist=st.floats(min_value=0, max_value=500),
    closer=st.floats(min_value=0, max_value=1),
)
def test_more_mw_or_a_closer_line_never_lowers_the_score(mw, more, dist, closer):
    base = score_measures(_measures(mineable_mw=[mw, mw], dist_tx_km=[dist, dist]), CONFIG)["score"]
    bigger = score_measures(_measures(mineable_mw=[mw, mw + more], dist_tx_km=[dist, dist]), CONFIG)["score"]
    nearer = score_measures(_measures(mineable_mw=[mw, mw], dist_tx_km=[dist, dist * closer]), CONFIG)[
        "score"
    ]
    assert bigger.iloc[1] >= base.iloc[1]
    assert nearer.iloc[1] >= base.iloc[1]
    assert base.min() >= 0.0 and base.max() <= 1.0


def test_two_sites_sharing_a_substation_do_not_double_count():
    pts = gpd.GeoSeries([Point(0, 1.5e6), Point(3000, 1.5e6), Point(50_000, 1.5e6)], crs=METRIC_CRS)
    m = _measures(
        site_id=["a", "b", "c"],
        category=["federal_hydro"] * 3,
        setting=[""] * 3,
        offgrid=[False, False, False],
        substation_id=["s", "s", "t"],
        dist_sub_km=[2.0, 1.0, 1.0],
        mineable_mw=[300.0, 250.0, 100.0],
        headroom_mw=[400.0, 200.0, 150.0],
        **{k: [v[0]] * 3 for k, v in _measures().items() if k not in {
            "site_id", "category", "setting", "offgrid", "substation_id", "dist_sub_km", "mineable_mw", "headroom_mw"}},
    )  # fmt: skip
    groups = interconnect_groups(pts, m, CONFIG.grid)
    assert groups[0] == groups[1] != groups[2]
    order = np.array([1, 0, 2])  # b scores best
    kept = allocate_shared(m["mineable_mw"].to_numpy(), m["headroom_mw"].to_numpy(), groups, order)
    # group headroom = max(400, 200) = 400: b takes 250 first, a keeps the remaining 150
    assert kept.tolist() == [150.0, 250.0, 100.0]
    assert kept[:2].sum() <= 400.0


def test_offgrid_sites_are_never_shared():
    pts = gpd.GeoSeries([Point(0, 1.5e6), Point(10, 1.5e6)], crs=METRIC_CRS)
    groups = interconnect_groups(pts, _measures(offgrid=[True, True]), CONFIG.grid)
    assert groups.tolist() == [-1, -1]
    kept = allocate_shared(np.array([5.0, 7.0]), np.array([1.0, 1.0]), groups, np.array([0, 1]))
    assert kept.tolist() == [5.0, 7.0]


def test_groups_are_kept_with_the_measures_and_give_the_same_ranking():
    """measured_sites finds the shared-interconnect groups once (weights never change them);
    ranked_sites reads them, and ranks as it does when it must find them itself."""
    layers = tiny.tiny_layers()
    sites, measures, log = measured_sites(layers, CONFIG)
    points = gpd.GeoSeries(sites.geometry, crs=sites.crs)
    kept = measures[GROUP_COLUMN].to_numpy()
    assert kept.dtype == np.int64
    assert np.array_equal(kept, interconnect_groups(points, measures, CONFIG.grid))
    assert (kept[measures["offgrid"].to_numpy()] == -1).all()
    with_groups = ranked_sites(sites, measures, CONFIG, log)
    without = ranked_sites(sites, measures.drop(columns=GROUP_COLUMN), CONFIG, log)
    pd.testing.assert_frame_equal(with_groups, without)
    # the kept labels are used as they are: other labels, other allocation
    alone = measures.assign(**{GROUP_COLUMN: np.where(kept >= 0, np.arange(len(kept)), -1)})
    assert site_groups(points, alone, CONFIG.grid).tolist() == alone[GROUP_COLUMN].tolist()


def test_a_weight_change_imports_no_scipy(tmp_path):
    """Scoring kept measures (a new process's weight change) leaves scipy unimported: it takes a
    new process about 0.7 s, more than the re-scoring itself."""
    script = (
        "import sys, pickle\n"
        "from gis.config.scenario import load_scenario\n"
        "from gis.scoring.api import ranked_sites\n"
        f"sites, measures, log = pickle.load(open({str(tmp_path / 'kept.pickle')!r}, 'rb'))\n"
        "ranked_sites(sites, measures, load_scenario().scoring, log)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
    )
    import pickle
    import subprocess
    import sys

    (tmp_path / "kept.pickle").write_bytes(pickle.dumps(measured_sites(tiny.tiny_layers(), CONFIG)))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_stability_is_seeded_bounded_and_counts_the_top():
    rng = np.random.default_rng(1)
    subs = rng.random((200, 4))
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    excluded = np.zeros(200, dtype=bool)
    excluded[:5] = True
    config = StabilityConfig(draws=1000, top_n=10, seed=7, concentration=50)
    p1 = p_top_n(subs, weights, excluded, config)
    p2 = p_top_n(subs, weights, excluded, config)
    assert np.array_equal(p1, p2)
    assert ((p1 >= 0) & (p1 <= 1)).all() and (p1[:5] == 0).all()
    assert p1.sum() == pytest.approx(10.0)  # each draw has exactly top_n members
    draws = draw_weights(np.array([0.5, 0.5, 0.0]), config)
    assert np.allclose(draws.sum(axis=1), 1.0) and (draws[:, 2] == 0).all()
    dominant = subs.copy()
    dominant[42] = 1.0
    assert p_top_n(dominant, weights, excluded, config)[42] == 1.0


def test_score_sites_on_tiny_layers():
    sites = score_sites(tiny.tiny_layers(), load_scenario())
    assert list(sites.columns[: len(SCHEMA_REGISTRY["candidate_sites"].columns)]) == [
        c.name for c in SCHEMA_REGISTRY["candidate_sites"].columns
    ]
    assert {f"s_{n}" for n in CONFIG.criteria} <= set(sites.columns)
    assert set(sites["category"]) == set(CATEGORIES)
    assert sites["rank"].tolist() == list(range(1, len(sites) + 1))
    assert sites["score"].between(0, 1).all() and sites["p_top_n"].between(0, 1).all()
    assert sites["score"].is_monotonic_decreasing
    by_id = sites.set_index("site_id")
    # ERCOT's 10.5 TWh split by MW gives the wind plant 7.9 TWh, capped at what it makes
    # (300 MW x 8,760 h x 0.35 = 919,800 MWh); placed in HB_PAN's 1,098 surplus hours that would be
    # 838 MW, so its hourly curtailment is capped at the 300 MW nameplate: 300 x 1,098 MWh a year
    wind = by_id.loc["stranded_wind:103"]
    assert wind["mineable_mw"] == pytest.approx(300.0)
    assert wind["wasted_mwh_per_year"] == pytest.approx(300.0 * 1098, rel=1e-9)
    assert wind["wasted_hours_per_year"] == pytest.approx(1098.0, rel=1e-9)
    assert wind["node"] == "ERCOT:HB_PAN" and wind["ledger"] == "wasted"
    assert by_id.loc["nuclear_surplus:102", "ai_convertible"]  # 100 MW on 500 kV, 2 km from the line
    assert not by_id.loc["flare_gas:vnf2017:4", "excluded"]  # offshore allowed for flare gas
    assert sites.crs == "EPSG:4326"


def test_score_command_writes_identical_files(tmp_path):
    out = tmp_path / "out"
    write_gpkg(out / "layers.gpkg", tiny.tiny_layers())
    console = Console(file=open(tmp_path / "console.txt", "w"), width=200)  # noqa: SIM115
    first = score_command(out=out, scenario_path=None, console=console)
    csv1 = first["sites_csv"].read_bytes()
    second = score_command(out=out, scenario_path=None, console=console)
    console.file.close()
    assert second["sites_csv"].read_bytes() == csv1
    ranked = pd.read_csv(first["sites_csv"])
    assert {"lat", "lon", "site_id", "mineable_mw", "rank"} <= set(ranked.columns)
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    gpkg = gpd.read_file(first["sites_gpkg"], layer="candidate_sites")
    assert len(gpkg) == len(ranked) and gpkg.crs == "EPSG:4326"
    text = (tmp_path / "console.txt").read_text()
    assert "Candidate sites by category" in text and "wasted GW (avg)" in text and "Top 10 sites" in text
