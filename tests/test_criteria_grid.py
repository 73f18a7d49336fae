"""Grid and land measures on hand-computed geometry (EPSG:5070 metres)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from gis import METRIC_CRS
from gis.config.scenario import load_scenario
from gis.errors import GisError
from gis.measures import (
    headroom_mw,
    line_vertices,
    measure_sites,
    nearest_line,
    nearest_substation,
    within_states,
)
from gis.sites import candidate_sites

_spec = importlib.util.spec_from_file_location(
    "tiny_layers", Path(__file__).parent / "fixtures" / "scoring" / "tiny_layers.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)
KM = 1000.0


def _pts(*xy):
    return gpd.GeoSeries([Point(x * KM, tiny.Y0 + y * KM) for x, y in xy], crs=METRIC_CRS).to_crs("EPSG:4326")


def test_point_ten_km_from_a_line():
    layers = tiny.tiny_layers()
    dist, kv = nearest_line(_pts((0, 10), (0, -3), (60, 0)), layers["transmission_lines"])
    # (60, 0) is 10 km beyond the line's end at x = 50 km
    assert dist == pytest.approx([10.0, 3.0, 10.0], abs=1e-6)
    assert kv.tolist() == [345.0, 345.0, 345.0]


def test_nearest_substation_six_eight_ten():
    layers = tiny.tiny_layers()
    dist, kv, ids = nearest_substation(_pts((0, 10)), layers["substations"])
    assert dist[0] == pytest.approx(10.0, abs=1e-6)
    assert kv[0] == 230.0 and ids[0] == "s:1"


def test_line_vertices_stand_in_for_missing_substations():
    layers = tiny.tiny_layers()
    vertices = line_vertices(layers["transmission_lines"])
    assert sorted(vertices["substation_id"]) == ["t:1:a", "t:1:b"]
    dist, _, ids = nearest_substation(_pts((45, 3)), vertices)
    assert ids[0] == "t:1:b" and dist[0] == pytest.approx(np.hypot(5, 3), abs=1e-6)


def test_headroom_by_voltage_class():
    grid = load_scenario().scoring.grid
    out = headroom_mw(np.array([np.nan, 12.0, 69.0, 138.0, 345.0, 765.0]), grid)
    assert out.tolist() == [50.0, 20.0, 50.0, 200.0, 750.0, 2500.0]


def test_within_states():
    layers = tiny.tiny_layers()
    inside = within_states(_pts((0, 0), (0, -250), (0, -151)), layers["states"], tolerance_km=2.0)
    assert inside.tolist() == [1.0, 0.0, 1.0]


def test_measure_sites_known_answers():
    layers = tiny.tiny_layers()
    config = load_scenario().scoring
    sites, _ = candidate_sites(layers, config)
    m = measure_sites(sites, layers, config).set_index("site_id")
    dam = m.loc["federal_hydro:101"]
    assert dam["dist_tx_km"] == pytest.approx(10.0, abs=1e-6)
    assert dam["dist_sub_km"] == pytest.approx(10.0, abs=1e-6)
    # before the energy stage the dam's asset is its 1,000 MW nameplate: the 345 kV class caps it
    assert dam["headroom_mw"] == 750.0 and dam["mineable_mw"] == pytest.approx(750.0)
    assert dam["energy_cost_usd_mwh"] == 35.0 and dam["co2_t_per_mwh"] == 0.0
    # the nuclear plant's own 500 kV connection sets its headroom
    assert m.loc["nuclear_surplus:102", "headroom_mw"] == 1500.0
    # wind: 300 MW nameplate under the 345 kV class headroom (750 MW): mineable = min(asset, headroom)
    wind = m.loc["stranded_wind:103"]
    assert wind["asset_mw"] == pytest.approx(300.0) and wind["headroom_mw"] == 750.0
    assert wind["mineable_mw"] == pytest.approx(min(wind["asset_mw"], wind["headroom_mw"]))
    # off-grid flare: limited by the gas only; flare CO2 = 53.06 x 3.412 / 0.35 / 1000
    flare = m.loc["flare_gas:vnf2017:1"]
    assert flare["offgrid"] and flare["mineable_mw"] == pytest.approx(flare["asset_mw"])
    assert flare["co2_t_per_mwh"] == pytest.approx(53.06 * 3.412 / 0.35 / 1000)
    assert m.loc["flare_gas:vnf2017:4", "in_us"] == 0.0 and dam["in_us"] == 1.0
    assert np.isnan(m["dist_road_km"]).all()  # roads off by default


def test_measures_without_grid_layers_are_nan():
    layers = tiny.tiny_layers()
    config = load_scenario().scoring
    sites, _ = candidate_sites(layers, config)
    bare = {k: v for k, v in layers.items() if k not in {"transmission_lines", "substations", "states"}}
    m = measure_sites(sites, bare, config)
    assert m["dist_tx_km"].isna().all() and m["in_us"].isna().all()
    assert (m.loc[~m["offgrid"], "headroom_mw"] <= 1500).all()


def test_line_geometry_helper_is_metric():
    line = gpd.GeoSeries([LineString([(0, 0), (1, 0)])], crs="EPSG:4326")
    assert (
        line_vertices(
            gpd.GeoDataFrame(
                {"line_id": ["x"], "voltage_kv": [np.nan]}, geometry=line.values, crs="EPSG:4326"
            )
        ).crs
        == "EPSG:4326"
    )


def test_grid_headroom_caps_a_large_asset_on_a_weak_line():
    layers = tiny.tiny_layers()
    lines = layers["transmission_lines"].copy()
    lines["voltage_kv"] = 69.0  # the only line becomes a 69 kV line: 50 MW of headroom
    layers["transmission_lines"] = lines
    plants = layers["plants"].copy()
    plants["grid_voltage_kv"] = np.nan  # no own interconnection voltage: the nearest line decides
    layers["plants"] = plants
    config = load_scenario().scoring
    sites, _ = candidate_sites(layers, config)
    m = measure_sites(sites, layers, config).set_index("site_id")
    ongrid = m.loc[~m["offgrid"].astype(bool)]
    assert (ongrid["mineable_mw"] <= ongrid["headroom_mw"] + 1e-9).all()
    big = ongrid.loc[ongrid["asset_mw"] > ongrid["headroom_mw"]]
    assert len(big) >= 1  # the case really binds somewhere
    assert big["mineable_mw"].tolist() == pytest.approx(big["headroom_mw"].tolist())


def test_road_networks_are_read_tile_by_tile_before_measuring(monkeypatch):
    import gis.layers.osm as osm
    from gis.layers.osm import road_tiles
    from gis.measures.roads import road_distance_km

    calls = []

    def fake_road_edges(points, **kwargs):
        calls.append(len(points))
        west, south, east, north = points.total_bounds
        assert east - west <= 2.0 and north - south <= 2.0  # never wider than one tile
        # one road 1 km east of the first point of the tile (EPSG:5070 metres)
        x, y = points.to_crs("EPSG:5070").geometry.iloc[0].coords[0]
        line = LineString([(x + 1000.0, y - 5000.0), (x + 1000.0, y + 5000.0)])
        return gpd.GeoDataFrame(geometry=[line], crs="EPSG:5070")

    monkeypatch.setattr(osm, "road_edges", fake_road_edges)
    pts = gpd.GeoSeries(
        [Point(-122.3, 47.6), Point(-122.1, 47.5), Point(-97.7, 30.3), Point(-80.2, 25.8)], crs="EPSG:4326"
    )
    roads = road_tiles(pts)
    assert sorted(calls) == [1, 1, 2]  # Seattle pair shares a tile; Austin and Miami alone
    assert sorted(roads["tile"].unique()) == sorted(set(osm.tile_keys(pts)))
    got = road_distance_km(pts, enabled=True, roads=roads)
    assert got[[0, 2, 3]] == pytest.approx([1.0, 1.0, 1.0])  # each measured against its own tile's road
    assert np.isnan(road_distance_km(pts, enabled=False)).all()
    with pytest.raises(GisError, match="no roads layer"):  # the measure never fetches
        road_distance_km(pts, enabled=True)
