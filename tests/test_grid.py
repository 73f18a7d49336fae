"""Grid mode: cells, windowed resource sampling, cell potential, chunked stability, scoring, CLI."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import box

from gis import METRIC_CRS
from gis.cli import main
from gis.config.scenario import load_scenario
from gis.config.scoring import StabilityConfig
from gis.config.settings import cache_dir
from gis.errors import GisError
from gis.grid import (
    sample_points,
    score_grid,
    score_grid_with_log,
    square_cells,
)
from gis.grid.potential import cell_sites
from gis.io import write_gpkg
from gis.layers.resource import resource_raster, sample_raster
from gis.measures import measure_sites
from gis.rowlog import RowLog
from gis.schema import LAYER_SCHEMAS, validate
from gis.scoring.score import score_measures
from gis.scoring.stability import draw_weights, p_top_n

_spec = importlib.util.spec_from_file_location(
    "scale_synthetic", Path(__file__).parent / "fixtures" / "scale" / "synthetic.py"
)
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)

SCENARIO = load_scenario()


def _p_top_n_scoring_everything(subs, weights, excluded, config):
    """The oracle: score every row in every draw, take each draw's top N (ties by row order)."""
    eligible = ~excluded
    m = int(eligible.sum())
    scores = subs[eligible] @ draw_weights(weights, config).T - np.arange(m)[:, None] * 1e-12
    top = min(config.top_n, m)
    best = np.argpartition(-scores, top - 1, axis=0)[:top]
    out = np.zeros(len(subs))
    out[eligible] = np.bincount(best.ravel(), minlength=m) / config.draws
    return out


def _config(**grid):
    config = SCENARIO.scoring
    return config.model_copy(update={"national_grid": config.national_grid.model_copy(update=grid)})


def _states(*boxes_m: tuple[str, tuple[float, float, float, float]]) -> gpd.GeoDataFrame:
    rows = {
        "state": [s for s, _ in boxes_m],
        "state_fips": [f"{i:02d}" for i in range(len(boxes_m))],
        "name": [s for s, _ in boxes_m],
        "land_area_km2": [1.0] * len(boxes_m),
    }
    geoms = gpd.GeoSeries([box(*b) for _, b in boxes_m], crs=METRIC_CRS).to_crs("EPSG:4326")
    return validate(gpd.GeoDataFrame(rows, geometry=geoms.values, crs="EPSG:4326"), LAYER_SCHEMAS["states"])


# ---------------------------------------------------------------- cells


def test_square_cells_cover_an_aligned_state_exactly_once_with_stable_ids():
    states = _states(("KS", (0.0, 1_500_000.0, 50_000.0, 1_530_000.0)), ("AK", (-2e6, 3e6, -1.9e6, 3.1e6)))
    log = RowLog("grid")
    cells = square_cells(states, cell_km=10.0, exclude_states=["AK"], log=log)
    assert len(cells) == 5 * 3  # 50 km x 30 km in 10 km cells; the excluded state adds none
    assert set(cells["state"]) == {"KS"}
    assert cells["cell_id"].is_unique
    assert set(cells["x_m"]) == {5_000.0, 15_000.0, 25_000.0, 35_000.0, 45_000.0}
    assert set(cells["y_m"]) == {1_505_000.0, 1_515_000.0, 1_525_000.0}
    assert "g10km:0_150" in set(cells["cell_id"])  # ix = floor(5 km / 10 km), iy = floor(1505 km / 10 km)
    assert np.allclose(cells["area_km2"], 100.0)
    assert any("AK" in note for note in log.notes)
    again = square_cells(states, cell_km=10.0, exclude_states=["AK"])
    pd.testing.assert_frame_equal(cells, again)


def test_square_cells_assign_each_border_cell_to_one_state():
    states = _states(("AA", (0.0, 0.0, 25_000.0, 20_000.0)), ("BB", (25_000.0, 0.0, 50_000.0, 20_000.0)))
    cells = square_cells(states, cell_km=10.0)
    assert cells["cell_id"].is_unique
    assert len(cells) == 10  # 5 columns x 2 rows, the border column (centre 25 km) counted once
    assert (cells.loc[cells["x_m"] < 25_000, "state"] == "AA").all()
    assert (cells.loc[cells["x_m"] > 25_000, "state"] == "BB").all()


def test_square_cells_refuse_more_cells_than_allowed():
    states = _states(("KS", (0.0, 0.0, 100_000.0, 100_000.0)))
    with pytest.raises(GisError) as err:
        square_cells(states, cell_km=1.0, max_cells=500)
    assert err.value.field == "scoring.national_grid.cell_km"
    with pytest.raises(GisError):
        square_cells(states, cell_km=0.0)


# ---------------------------------------------------------------- resource sampling


def test_windowed_sampling_matches_the_whole_window_sampler(tmp_path: Path):
    raster = resource_raster(synthetic.resource_grid(), res_deg=0.25, path=tmp_path / "r.tif")
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-101, -90, 500), rng.uniform(33, 42, 500)  # some fall outside the raster
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    metric = points.to_crs(METRIC_CRS)
    tiled = sample_points(raster, metric.x.to_numpy(), metric.y.to_numpy(), tile_px=3)  # many windows
    whole = sample_raster(raster, points)
    np.testing.assert_allclose(tiled.to_numpy(), whole.to_numpy(), rtol=0, atol=1e-6, equal_nan=True)
    assert tiled.isna().any().any() and tiled.notna().any().any()


def test_sampling_names_a_missing_band(tmp_path: Path):
    path = tmp_path / "one_band.tif"
    profile = {"driver": "GTiff", "height": 2, "width": 2, "count": 1, "dtype": "float32", "crs": "EPSG:4326",
               "transform": rasterio.transform.from_origin(-100, 40, 1, 1)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones((1, 2, 2), dtype="float32"))
        dst.set_band_description(1, "ghi_kwh_m2_day")
    with pytest.raises(GisError) as err:
        sample_points(path, np.array([0.0]), np.array([1.5e6]))
    assert err.value.field == "wind_class"


# ---------------------------------------------------------------- potential


def test_cell_potential_follows_the_scenario_formula_and_counts_drops():
    model = _config().national_grid  # default table: 2 % solar at 31 MW/km2, 10 % wind at 3 MW/km2
    cells = pd.DataFrame(
        {"cell_id": ["a", "b", "c", "d"], "state": "KS", "x_m": [0.0, 5e3, 1e4, 1.5e4],
         "y_m": 1.5e6, "area_km2": 25.0}
    )  # fmt: skip
    resource = pd.DataFrame(
        {"ghi_kwh_m2_day": [5.0, 3.0, np.nan, 3.5], "wind_class": [4.0, 6.0, np.nan, 2.0]}
    )
    log = RowLog("grid")
    sites = cell_sites(cells, resource, model, log)
    assert list(sites["cell_id"]) == ["a", "b"]
    solar = 25 * 0.02 * 31.0 * 5.0 * 0.8 / 24  # 2.583 MW beats wind 25 x 0.1 x 3 x 0.33 = 2.475 MW
    wind = 25 * 0.1 * 3.0 * 0.42
    assert sites.loc[0, "category"] == "stranded_solar" and sites.loc[0, "asset_mw"] == pytest.approx(solar)
    assert sites.loc[0, "capacity_mw"] == pytest.approx(15.5)
    assert sites.loc[1, "category"] == "stranded_wind" and sites.loc[1, "asset_mw"] == pytest.approx(wind)
    assert sites.loc[1, "site_id"] == "stranded_wind:b"
    assert "GHI 5.00" in sites.loc[0, "basis"] and "wind class 6.00" in sites.loc[1, "basis"]
    assert log.dropped == {
        "grid: no resource value at the cell centre": 1,
        "grid: best resource below the thresholds": 1,
    }
    solar_only = cell_sites(cells, resource, model.model_copy(update={"resource": "solar"}), RowLog("g"))
    assert set(solar_only["category"]) == {"stranded_solar"} and list(solar_only["cell_id"]) == ["a"]


# ---------------------------------------------------------------- stability


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("max_elements", [50, 5_000, 20_000_000])
def test_chunked_stability_equals_the_all_draws_version(seed: int, max_elements: int):
    rng = np.random.default_rng(seed)
    subs = rng.random((600, 5))
    subs[100:110] = subs[50]  # exact ties, broken by row order in both
    excluded = rng.random(600) < 0.1
    weights = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    config = StabilityConfig(draws=200, top_n=20, seed=seed)
    expected = _p_top_n_scoring_everything(subs, weights, excluded, config)
    got = p_top_n(subs, weights, excluded, config, max_elements=max_elements)
    np.testing.assert_array_equal(got, expected)
    assert got[excluded].sum() == 0 and got.sum() == pytest.approx(20)


@pytest.mark.parametrize("seed", [0, 1])
def test_stability_with_narrow_sub_score_columns_equals_scoring_everything(seed: int):
    rng = np.random.default_rng(seed)
    subs = rng.random((800, 5))
    subs[:, 1] = 0.5  # one value for every row
    subs[:, 2] = 0.2 + 0.1 * subs[:, 2]  # a narrow range
    subs[:, 4] = 0.9 + 0.1 * subs[:, 4]
    excluded = rng.random(800) < 0.1
    weights = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    config = StabilityConfig(draws=300, top_n=15, seed=seed)
    expected = _p_top_n_scoring_everything(subs, weights, excluded, config)
    for max_elements in (60, 20_000_000):
        np.testing.assert_array_equal(
            p_top_n(subs, weights, excluded, config, max_elements=max_elements), expected
        )


def test_lift_bounds_every_row_and_is_reached_by_the_extreme_one():
    from gis.scoring.stability import _lift

    rng = np.random.default_rng(4)
    low, high = np.array([0.0, 0.5, 0.2, 1.0]), np.array([1.0, 0.5, 0.3, 1.0])
    rows = low + (high - low) * rng.random((2_000, 4))
    delta = rng.normal(0, 0.1, (50, 4))
    lift = _lift(delta, low, high)
    assert (rows @ delta.T <= lift + 1e-12).all()
    extreme = np.where(delta > 0, high, low)  # per draw, the row that gains the most
    np.testing.assert_allclose((extreme * delta).sum(axis=1), lift)


def test_chunked_stability_when_everyone_is_in_the_top():
    subs = np.random.default_rng(0).random((5, 3))
    got = p_top_n(subs, np.array([0.5, 0.3, 0.2]), np.array([0, 0, 1, 0, 0], bool), StabilityConfig(top_n=10))
    np.testing.assert_array_equal(got, [1, 1, 0, 1, 1])


def test_draw_batches_hold_every_draw_once_within_the_budget():
    from gis.scoring.stability import _draw_batches

    reach = np.array([30, 5, 5, 100, 0, 12, 30, 7])
    batches = _draw_batches(reach, 40)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(reach)))
    for batch in batches:  # a batch over the budget is one draw alone
        assert reach[batch].max() * len(batch) <= 40 or len(batch) == 1
    assert [reach[b].tolist() for b in batches] == [[0, 5, 5, 7], [12], [30], [30], [100]]


# ---------------------------------------------------------------- scoring


def test_grid_cells_are_scored_with_the_site_measures_and_criteria(tmp_path: Path):
    layers = synthetic.synthetic_layers()
    config = _config(cell_km=10.0)
    cells, log, timings = score_grid_with_log(layers, config, workdir=tmp_path)
    assert len(cells) == 900 and log.rows_read == 900  # 300 km square on 10 km multiples
    assert list(cells["rank"]) == list(range(1, 901))
    assert cells["score"].is_monotonic_decreasing
    assert cells["site_id"].is_unique and set(cells["state"]) == {"KS"}
    assert set(timings) == {"cells_s", "measure_s", "measure_wait_s", "score_s", "stability_s"}
    # the same measures and scoring code as asset sites, on the same points
    points = cells.drop(columns=[c for c in cells.columns if c.startswith("s_")])
    frame = points.assign(energy_fuel=points["fuel"], grid_voltage_kv=np.nan, asset_mw=cells["asset_mw"])
    measures = measure_sites(frame, layers, config)
    np.testing.assert_allclose(cells["dist_tx_km"], measures["dist_tx_km"], rtol=0, atol=1e-9)
    assert (measures["in_us"] == 1.0).all()
    again = score_measures(measures, config)
    for col in [c for c in cells.columns if c.startswith("s_")] + ["score"]:
        np.testing.assert_allclose(cells[col], again[col], rtol=0, atol=1e-12)
    assert cells["p_top_n"].between(0, 1).all() and cells["p_top_n"].sum() == pytest.approx(50)
    assert (cells["shared_cut_mw"] == 0).all() and (cells["interconnect_group"] == "").all()


def test_grid_mode_needs_states_and_a_resource(tmp_path: Path):
    layers = synthetic.synthetic_layers()
    with pytest.raises(GisError) as err:
        score_grid({k: v for k, v in layers.items() if k != "resource_grid"}, _config(cell_km=50.0))
    assert err.value.field == "resource_grid"
    with pytest.raises(GisError) as err:
        score_grid(layers, _config(cell_km=50.0, raster=str(tmp_path / "absent.tif")))
    assert err.value.field == "scoring.national_grid.raster"
    with pytest.raises(GisError) as err:
        score_grid({k: v for k, v in layers.items() if k != "states"}, _config(cell_km=50.0))
    assert err.value.field == "states"


def test_gis_score_grid_writes_its_own_layer_and_ranked_csv(tmp_path: Path):
    layers = synthetic.synthetic_layers(plants=60)
    write_gpkg(tmp_path / "layers.gpkg", layers)
    scenario = tmp_path / "coarse.toml"
    text = Path(SCENARIO_PATH()).read_text(encoding="utf-8").replace("cell_km = 5.0", "cell_km = 20.0")
    scenario.write_text(text, encoding="utf-8")
    assert main(["score", "--out", str(tmp_path), "--scenario", str(scenario), "--grid"]) == 0
    cells = gpd.read_file(tmp_path / "grid_cells.gpkg", layer="grid_cells")
    csv = pd.read_csv(tmp_path / "grid_cells_ranked.csv")
    # x from -150 to 150 km: 15 columns; y from 1,350 to 1,650 km: centres 1,370..1,630 km, 14 rows
    assert len(cells) == len(csv) == 15 * 14
    assert list(csv["rank"]) == list(range(1, len(csv) + 1))
    assert list(csv["site_id"]) == list(cells["site_id"])
    assert {"lat", "lon", "cell_id", "s_grid_distance", "score"} <= set(csv.columns)
    sites = gpd.read_file(tmp_path / "sites.gpkg", layer="candidate_sites")
    assert not sites["site_id"].str.contains(":g20km:").any()  # cells never enter candidate_sites
    assert list(
        (cache_dir() / "measures").glob("measures-*.parquet")
    )  # the next weight change skips geometry
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "coarse.toml",
        "grid_cells.gpkg",
        "grid_cells_ranked.csv",
        "layers.gpkg",
        "sites.gpkg",
        "sites_ranked.csv",
    ]


def SCENARIO_PATH() -> Path:
    from gis.config.scenario import DEFAULT_SCENARIO

    return DEFAULT_SCENARIO


def _scenario_with(**grid):
    return SCENARIO.model_copy(update={"scoring": _config(**grid)})


def test_streamed_grid_files_do_not_depend_on_the_chunk_size(tmp_path: Path):
    from gis.grid import write_grid

    layers = synthetic.synthetic_layers(plants=60)
    whole = score_grid(layers, _config(cell_km=20.0, chunk_rows=1_000_000))
    outputs = []
    for chunk_rows, rows in ((1_000_000, None), (17, 5), (64, 1_000)):
        out = tmp_path / f"c{chunk_rows}-{rows}"
        paths, log, timings, _ = write_grid(
            out, layers, _scenario_with(cell_km=20.0, chunk_rows=chunk_rows), rows=rows
        )
        steps = {"cells_s", "measure_s", "score_s", "stability_s", "write_s"}
        overlap = {"measure_wait_s", "gpkg_wait_s", "gpkg_child_cpu_s", "gpkg_child_peak_gb"}
        assert steps <= set(timings) <= steps | overlap
        assert log.rows_read == 15 * 14
        cells = gpd.read_file(paths["grid_gpkg"], layer="grid_cells")
        outputs.append((cells, paths["grid_csv"].read_bytes()))
        # the scored frame in memory, chunked the same way, equals the unchunked one
        chunked = score_grid(layers, _config(cell_km=20.0, chunk_rows=chunk_rows))
        pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    first_cells, first_csv = outputs[0]
    assert list(first_cells["rank"]) == list(range(1, len(whole) + 1))
    assert list(first_cells["site_id"]) == list(whole["site_id"])
    for cells, csv in outputs[1:]:
        pd.testing.assert_frame_equal(cells, first_cells, check_exact=True)
        assert csv == first_csv
    csv = pd.read_csv(tmp_path / "c17-5" / "grid_cells_ranked.csv")
    assert list(csv["site_id"]) == list(whole["site_id"]) and len(csv) == len(whole)
    assert not list(tmp_path.glob("*/.grid_cells*"))  # no temporary file left behind


def test_streamed_grid_files_with_no_candidate_cell(tmp_path: Path):
    from gis.grid import write_grid

    layers = synthetic.synthetic_layers(plants=60)
    paths, log, _, _ = write_grid(
        tmp_path, layers, _scenario_with(cell_km=20.0, min_ghi_kwh_m2_day=99.0, min_wind_class=99.0)
    )
    assert len(gpd.read_file(paths["grid_gpkg"], layer="grid_cells")) == 0
    assert pd.read_csv(paths["grid_csv"]).empty and sum(log.dropped.values()) == 15 * 14


def test_streamed_csv_text_is_what_pandas_writes():
    import pyarrow as pa

    from gis.grid.files import csv_bytes, csv_header

    frame = pd.DataFrame(
        {
            "text": pd.Series(["a,b", 'say "hi"', None, "", "x"], dtype=object),
            "float": [1e-5, np.nan, -0.0, 1e20, 0.1],
            "zero": [0.0, -0.0, 0.0, np.nan, 2.5],
            "rounded": [1.23456, -0.00004, 1e-4, 123456.7891, -2.0004],
            "maybe": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "flag": [True, False, True, True, False],
            "count": np.arange(5),
            "str": pd.Series(["u", None, "v", "w,", "z"], dtype="str"),
            "same": pd.Series(["k"] * 5, dtype=object),
            "none": [np.nan] * 5,
        }
    )
    digits = {"zero": 1, "rounded": 3}
    columns = {c: pa.array(frame[c].array if c in ("maybe", "str") else frame[c].to_numpy()) for c in frame}
    columns["same"] = columns["same"].dictionary_encode()
    columns["str"] = columns["str"].dictionary_encode()
    expected = frame.round(digits).to_csv(index=False, lineterminator="\n")
    assert csv_header(list(frame.columns)) + bytes(csv_bytes(columns, digits)) == expected.encode()
    empty = {c: v.slice(0, 0) for c, v in columns.items()}
    assert bytes(csv_bytes(empty, digits)) == b""


def test_csv_floats_are_written_as_python_writes_them():
    from gis.grid.files import float_words

    edges = [0.0, -0.0, 1.0, 2.5, -0.5, 0.1, 1e-4, 9.9995e-5, 5e-5, -5e-5, 1e-5, 1e15, 1e16, 2.0**51]
    odd = [1e300, np.inf, -np.inf, np.nan, 5e-324, 123.456789, -98765.4321, 0.125, 1 / 3, 2 / 3, 1e-7]
    # where Arrow's text turns to an exponent (1e10) and Python's (1e16), whole numbers around them
    big = [1e10, np.nextafter(1e10, 0), 9_999_999_999.5, -9_999_999_999.0, 123_456_789.0, 2.5e9, 1e9 + 0.25]
    rng = np.random.default_rng(5)
    spread = 10 ** rng.uniform(-5, 11, 2_000) * rng.choice([-1, 1], 2_000)
    values = np.concatenate([edges, odd, big, rng.normal(0, 1e3, 2_000), spread])
    for digits in (None, 0, 1, 2, 3, 4, 6):
        expected = (values if digits is None else np.round(values, digits)).astype(str)
        expected[np.isnan(values)] = ""
        assert float_words(values, digits).to_pylist() == expected.tolist(), digits
        repeated = np.tile(values[:25], 10)  # few distinct values: each formatted once
        assert float_words(repeated, digits).to_pylist() == np.tile(expected[:25], 10).tolist(), digits


def test_point_wkb_is_what_shapely_writes():
    import shapely

    from gis.grid.files import point_wkb

    x, y = np.array([-119.5, 0.0, 179.999999, -0.0]), np.array([46.25, -90.0, 1e-9, 12.0])
    assert point_wkb(x, y).to_pylist() == list(shapely.to_wkb(shapely.points(x, y)))
    assert point_wkb(x[:0], y[:0]).to_pylist() == []


def test_streamed_csv_makes_the_same_text_safe_as_csv_text():
    from gis.grid.files import text_field
    from gis.textsafe import csv_text

    values = np.array(
        [
            "ok",
            "=1+1",
            "-3",
            "+x",
            "@a",
            "a\tb",
            "line\nbreak",
            "x\u2028y",
            "c\x85",
            "a, b",
            "ünï",
            "",
            "a-b",
            "\x7f",
        ],
        dtype=object,
    )
    for value in values:
        safe = csv_text(value)
        quoted = '"' + safe.replace('"', '""') + '"' if any(c in safe for c in ',"\r\n') else safe
        assert text_field(value) == quoted, value
    assert text_field(None) == ""


def test_chunk_scores_are_score_measures_without_the_rank(tmp_path: Path):
    from gis.grid.api import _chunk_scores, grid_candidates, measure_cells

    layers = synthetic.synthetic_layers(plants=60)
    config = _config(cell_km=20.0)
    sites = grid_candidates(layers, config, workdir=tmp_path, log=RowLog("grid_cells"))
    measures = measure_cells(sites, layers, config)
    measures.loc[measures.index[::3], "in_us"] = 0.0  # off US soil: the first rule excludes them
    want = score_measures(measures, config).drop(columns="rank")
    got = _chunk_scores(measures, config)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert len(got) > 10 and got["excluded"].any() and not got["excluded"].all()


def test_rank_order_sorts_ties_by_id_as_sorting_every_cell_does():
    import pyarrow as pa
    import pyarrow.compute as pc

    from gis.grid.api import _rank_order

    rng = np.random.default_rng(3)
    for n, levels in ((1, 1), (7, 2), (500, 5), (2_000, 1_000), (3_000, 10**9)):
        score = rng.integers(0, levels, n) / max(levels - 1, 1)
        score[rng.random(n) < 0.1] = 0.0
        score[rng.random(n) < 0.05] = -0.0  # equal to 0.0: a tie broken by id
        ids = np.array(
            [f"stranded_{'wind' if i % 3 else 'solar'}:g2.5km:{i * 7919 % n}_{i}" for i in range(n)]
        )
        rng.shuffle(ids)
        site_id = pa.chunked_array([pa.array(ids[: n // 2]), pa.array(ids[n // 2 :])])
        codes = pc.rank(site_id, sort_keys="ascending", tiebreaker="dense").to_numpy()
        want = np.lexsort((codes, -score))
        assert np.array_equal(_rank_order(score, site_id), want)
        assert np.array_equal(want, np.lexsort((ids.astype(str), -score)))  # Python's text order


def test_collector_paused_restores_the_collector_as_it_was():
    import gc

    from gis.grid.api import _collector_paused

    was = gc.isenabled()
    try:
        for enabled in (True, False):
            gc.enable() if enabled else gc.disable()
            with _collector_paused():
                assert not gc.isenabled()
            assert gc.isenabled() is enabled
            with pytest.raises(RuntimeError), _collector_paused():
                raise RuntimeError("left by an error")
            assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_two_chunks_are_measured_at_once_only_in_this_process():
    from gis.engine import LocalEngine
    from gis.grid.api import MEASURE_WORKERS, _measure_workers

    class Elsewhere:  # any engine but the in-process one: a cluster spreads a chunk itself
        def measure(self, *args, **kwargs):
            raise AssertionError("not called")

    assert _measure_workers(LocalEngine(chunk_rows=10)) == MEASURE_WORKERS == 2
    assert _measure_workers(Elsewhere()) == 1


def test_empty_number_columns_are_the_ones_validate_would_add(tmp_path: Path, monkeypatch):
    import gis.grid.api as grid_api

    layers = synthetic.synthetic_layers(plants=30)
    config = _config(cell_km=20.0)
    sites = grid_api.grid_candidates(layers, config, workdir=tmp_path, log=RowLog("grid_cells"))
    measures = grid_api.measure_cells(sites, layers, config)
    frame = grid_api._finished_chunk(sites, measures, config, {"score_s": 0.0})
    added = grid_api._empty_numbers({c: frame[c] for c in ("capacity_mw", "score")}, frame.index)
    assert {"wasted_mwh_per_year", "price_year"} <= set(added) and not {"capacity_mw", "score"} & set(added)
    assert str(frame["price_year"].dtype) == "Int64" and frame["wasted_mwh_per_year"].isna().all()
    monkeypatch.setattr(grid_api, "_empty_numbers", lambda columns, index: {})  # validate adds them
    by_validate = grid_api._finished_chunk(sites, measures, config, {"score_s": 0.0})
    pd.testing.assert_frame_equal(frame, by_validate, check_exact=True)


def test_one_pattern_finds_the_text_a_csv_field_changes():
    import pyarrow as pa
    import pyarrow.compute as pc

    from gis.grid.files import _CHANGED, text_field

    texts = ["plain", "=SUM(A1)", "+1", "-x", "@me", "a,b", 'say "hi"', "two\nlines", "cr\r", "tab\tin"]
    texts += ["nel\x85", "ls\u2028", "é and ü", "", "1-2", "a=b", "stranded_wind:g2.5km:-12_40"]
    found = pc.match_substring_regex(pa.array(texts), _CHANGED).to_pylist()
    assert found == [text_field(t) != t for t in texts]
