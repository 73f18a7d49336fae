"""Engines: chunked local measures, the measures cache, engine selection, and dask == local."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gis.config.scenario import load_scenario
from gis.engine import CachedEngine, DaskEngine, LocalEngine, get_engine, measures_key
from gis.errors import GisError
from gis.grid import measure_cells, score_grid
from gis.measures import measure_sites
from gis.scoring.api import score_sites, score_sites_with_log
from gis.sites import candidate_sites

_spec = importlib.util.spec_from_file_location(
    "scale_synthetic", Path(__file__).parent / "fixtures" / "scale" / "synthetic.py"
)
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)

CONFIG = load_scenario().scoring


@pytest.fixture(scope="module")
def layers() -> dict:
    return synthetic.synthetic_layers(plants=400, lines=40, substations=60)


@pytest.fixture(scope="module")
def sites(layers):
    return candidate_sites(layers, CONFIG)[0]


def test_local_engine_in_chunks_equals_one_pass(layers, sites):
    assert len(sites) > 300
    expected = measure_sites(sites, layers, CONFIG)
    got = LocalEngine(chunk_rows=37).measure(sites, layers, CONFIG)
    pd.testing.assert_frame_equal(got, expected)


def test_cache_hits_after_a_weight_change_and_misses_after_a_grid_change(layers, sites, tmp_path: Path):
    engine = CachedEngine(LocalEngine(), cache_dir=tmp_path)
    first = engine.measure(sites, layers, CONFIG)
    reweighted = CONFIG.model_copy(
        update={
            "criteria": {
                **CONFIG.criteria,
                "size": CONFIG.criteria["size"].model_copy(update={"weight": 0.3}),
            }
        }
    )
    assert measures_key(sites, layers, reweighted) == measures_key(sites, layers, CONFIG)
    fresh = CachedEngine(LocalEngine(), cache_dir=tmp_path)  # a new process: read from disk
    second = fresh.measure(sites, layers, reweighted)
    assert (fresh.hits, fresh.misses) == (1, 0)
    pd.testing.assert_frame_equal(second, first)
    assert engine.measure(sites, layers, CONFIG) is not first  # callers may modify their copy
    assert engine.hits == 1
    tighter = CONFIG.model_copy(
        update={"grid": CONFIG.grid.model_copy(update={"unknown_voltage_headroom_mw": 1.0})}
    )
    assert measures_key(sites, layers, tighter) != measures_key(sites, layers, CONFIG)
    moved = sites.copy()
    moved.loc[0, "geometry"] = moved.geometry.iloc[1]
    assert measures_key(moved, layers, CONFIG) != measures_key(sites, layers, CONFIG)
    assert measures_key(sites, layers, CONFIG, func=measure_cells) != measures_key(sites, layers, CONFIG)
    assert len(list(tmp_path.glob("measures-*.parquet"))) == 1


def test_engine_selection_refuses_bad_options(tmp_path: Path):
    with pytest.raises(GisError) as err:
        get_engine("spark")
    assert err.value.field == "--engine"
    with pytest.raises(GisError) as err:
        get_engine("local", scheduler="tcp://127.0.0.1:8786")
    assert err.value.field == "--scheduler"
    assert isinstance(get_engine("local", cache_dir=tmp_path), CachedEngine)
    with pytest.raises(GisError):
        DaskEngine(partitions=0)


def test_unreachable_scheduler_is_a_user_error(sites, layers):
    engine = DaskEngine(scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0)
    with pytest.raises(GisError) as err:
        engine.measure(sites, layers, CONFIG)
    assert err.value.field == "--scheduler"
    cached = CachedEngine(DaskEngine(scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0))
    with pytest.raises(GisError), cached:  # fails on entry, even when every measure would be cached
        pass


@pytest.fixture(scope="module")
def cluster_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_engine_scores_sites_exactly_as_the_local_engine(layers, cluster_client):
    local, local_log = score_sites_with_log(layers, CONFIG)
    with DaskEngine(client=cluster_client, partitions=7) as engine:
        remote, remote_log = score_sites_with_log(layers, CONFIG, engine=engine)
    assert len(local) > 300 and local["score"].nunique() > 100
    assert list(remote["site_id"]) == list(local["site_id"])
    np.testing.assert_array_equal(remote["rank"], local["rank"])
    subs = [c for c in local.columns if c.startswith("s_")] + ["score", "p_top_n", "mineable_mw"]
    np.testing.assert_allclose(remote[subs], local[subs], rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(remote.drop(columns="geometry"), local.drop(columns="geometry"))
    assert remote_log.as_dict() == local_log.as_dict()


def test_dask_engine_scores_grid_cells_exactly_as_the_local_engine(layers, cluster_client, tmp_path: Path):
    config = CONFIG.model_copy(
        update={"national_grid": CONFIG.national_grid.model_copy(update={"cell_km": 10.0})}
    )
    local = score_grid(layers, config, workdir=tmp_path)
    with DaskEngine(client=cluster_client, partitions=5) as engine:
        remote = score_grid(layers, config, engine=engine, workdir=tmp_path)
    assert len(local) == 900
    pd.testing.assert_frame_equal(remote.drop(columns="geometry"), local.drop(columns="geometry"))
    assert cluster_client.status == "running"  # an engine given a client leaves it open


def test_score_sites_takes_any_engine(layers):
    with get_engine("local", chunk_rows=50) as engine:
        chunked = score_sites(layers, CONFIG, engine=engine)
    pd.testing.assert_frame_equal(chunked, score_sites(layers, CONFIG))


def test_disk_cache_keeps_only_the_most_recent_files(layers, sites, tmp_path: Path):
    engine = CachedEngine(LocalEngine(), cache_dir=tmp_path, disk_items=2)
    for mw in (10.0, 20.0, 30.0):
        grid = CONFIG.grid.model_copy(update={"unknown_voltage_headroom_mw": mw})
        engine.measure(sites.head(20), layers, CONFIG.model_copy(update={"grid": grid}))
    assert len(list(tmp_path.glob("measures-*.parquet"))) == 2


def _measure_module(folder: Path, value: float):
    """A measure function in its own file (as a user's plugin would be), returning ``value``."""
    import importlib
    import sys

    path = folder / "user_measure.py"
    path.write_text(
        "import pandas as pd\n\n\n"
        "def measure(sites, layers, config):\n"
        f"    return pd.DataFrame({{'x': [{value!r}] * len(sites)}})\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(folder))
    try:
        if "user_measure" in sys.modules:
            return importlib.reload(sys.modules["user_measure"])
        return importlib.import_module("user_measure")
    finally:
        sys.path.remove(str(folder))


def test_changed_measure_code_or_version_is_recomputed(layers, sites, tmp_path: Path, monkeypatch):
    code = tmp_path / "code"
    code.mkdir()
    first = _measure_module(code, 1.0)
    got = CachedEngine(LocalEngine(), cache_dir=tmp_path / "cache").measure(
        sites, layers, CONFIG, func=first.measure
    )
    assert (got["x"] == 1.0).all()
    changed = _measure_module(code, 2.0)  # the same function name, new code
    fresh = CachedEngine(LocalEngine(), cache_dir=tmp_path / "cache")
    got = fresh.measure(sites, layers, CONFIG, func=changed.measure)
    assert (got["x"] == 2.0).all() and (fresh.hits, fresh.misses) == (0, 1)
    key = measures_key(sites, layers, CONFIG)
    monkeypatch.setattr("gis.engine.cache.__version__", "999.0")
    assert measures_key(sites, layers, CONFIG) != key


def _constant(sites, layers, config, *, value: float) -> pd.DataFrame:
    return pd.DataFrame({"x": [value] * len(sites)})


def test_measures_of_one_name_in_one_file_and_bound_arguments_are_told_apart(layers, sites, tmp_path: Path):
    import functools

    head = sites.head(5)
    engine = CachedEngine(LocalEngine(), cache_dir=tmp_path)
    one = lambda s, lay, c: _constant(s, lay, c, value=1.0)  # noqa: E731 - two lambdas, one qualname
    two = lambda s, lay, c: _constant(s, lay, c, value=2.0)  # noqa: E731
    assert one.__qualname__ == two.__qualname__
    assert (engine.measure(head, layers, CONFIG, func=one)["x"] == 1.0).all()
    assert (engine.measure(head, layers, CONFIG, func=two)["x"] == 2.0).all()
    three = functools.partial(_constant, value=3.0)
    four = functools.partial(_constant, value=4.0)
    assert (engine.measure(head, layers, CONFIG, func=three)["x"] == 3.0).all()
    assert (engine.measure(head, layers, CONFIG, func=four)["x"] == 4.0).all()
    assert (engine.hits, engine.misses) == (0, 4)
    again = CachedEngine(LocalEngine(), cache_dir=tmp_path)  # a new process: same keys, read from disk
    assert (
        again.measure(head, layers, CONFIG, func=functools.partial(_constant, value=4.0))["x"] == 4.0
    ).all()
    assert (again.hits, again.misses) == (1, 0)
