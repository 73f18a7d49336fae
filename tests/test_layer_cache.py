"""The layer cache: a warm `gis run` reuses the layers built from unchanged sources."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

import gis.layers
from gis import pipeline
from gis.config.settings import DataOrigin
from gis.layers import build as build_module
from gis.layers import read_layers
from gis.layers.build import cached_frames_path, cached_layers_path, layers_cache_key
from gis.sources import Resolver

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "boundaries"
SOURCES = ("census_cb_2010_20m", "nrel_state_potential")


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch):
    """A two-source catalog (Census boundaries, NREL potential), their fixtures in a data folder,
    the boundaries builder alone, a private cache; counts the builds."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for name in SOURCES:
        shutil.copy(REPO / "layers" / f"{name}.toml", catalog / f"{name}.toml")
    data = tmp_path / "data"
    (data / "census_cb_2010_20m").mkdir(parents=True)
    (data / "nrel_coarse_resource").mkdir(parents=True)
    for name in ("gz_2010_us_040_00_20m.json", "gz_2010_us_050_00_20m.json"):
        shutil.copy(FIXTURES / name, data / "census_cb_2010_20m" / name)
    shutil.copy(
        FIXTURES / "renewable_energy_technical_potential_data.csv",
        data / "nrel_coarse_resource" / "renewable_energy_technical_potential_data.csv",
    )
    monkeypatch.setenv("GIS_CATALOG_DIR", str(catalog))
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(build_module, "BUILDERS", {"boundaries": build_module.BUILDERS["boundaries"]})
    calls = []
    real = gis.layers.build_layers

    def counting(resolver, **kwargs):
        calls.append(1)
        return real(resolver, **kwargs)

    monkeypatch.setattr(gis.layers, "build_layers", counting)
    (tmp_path / "out").mkdir()
    return data, tmp_path / "out", calls


QUIET = Console(quiet=True)


def _build(data: Path, out: Path, *, use_cache: bool, console: Console = QUIET) -> pipeline.BuiltLayers:
    resolver = Resolver(DataOrigin(data_dir=data), progress=False)
    return pipeline.layers_stage(resolver, out, console=console, use_cache=use_cache, keep_frames=True)


def _same_frames(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        left, right = a[name], b[name]
        assert list(left.columns) == list(right.columns), name
        assert [str(t) for t in left.dtypes] == [str(t) for t in right.dtypes], name
        for col in left.columns:
            if col == "geometry":
                assert left.geometry.geom_equals_exact(right.geometry, 0).all(), name
            else:
                assert left[col].equals(right[col]), (name, col)
                assert [type(v) for v in left[col]] == [type(v) for v in right[col]], (name, col)


def test_warm_run_skips_the_build_and_a_changed_source_rebuilds(setup) -> None:
    data, out, calls = setup
    cold = _build(data, out, use_cache=True)
    assert len(calls) == 1 and not cold.cached
    key = layers_cache_key(Resolver(DataOrigin(data_dir=data), progress=False))
    assert key is not None and cached_layers_path(key).is_file()
    # the frames a run goes on with are those it would read back from layers.gpkg
    _same_frames(cold.layers, read_layers(cold.path))

    cold.path.unlink()
    warm = _build(data, out, use_cache=True)  # warm: nothing changed
    assert len(calls) == 1 and warm.cached
    _same_frames(warm.layers, cold.layers)  # from the GeoParquet copy, the same frames
    _same_frames(read_layers(warm.path), cold.layers)

    csv = data / "nrel_coarse_resource" / "renewable_energy_technical_potential_data.csv"
    csv.write_text(csv.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # a source changed
    _build(data, out, use_cache=True)
    assert len(calls) == 2
    _build(data, out, use_cache=False)  # --no-layer-cache always builds
    assert len(calls) == 3


def test_a_damaged_frame_cache_is_a_miss(setup) -> None:
    data, out, calls = setup
    _build(data, out, use_cache=True)
    key = layers_cache_key(Resolver(DataOrigin(data_dir=data), progress=False))
    for part in cached_frames_path(key).glob("*.parquet"):
        part.write_bytes(b"not parquet")
    again = _build(data, out, use_cache=True)
    assert len(calls) == 2 and not again.cached


def test_catalog_change_changes_the_key(setup, monkeypatch) -> None:
    data, _, _ = setup
    before = layers_cache_key(Resolver(DataOrigin(data_dir=data), progress=False))
    toml = Path(build_module.os.environ["GIS_CATALOG_DIR"]) / "census_cb_2010_20m.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('vintage = "2010"', 'vintage = "2011"'))
    assert layers_cache_key(Resolver(DataOrigin(data_dir=data), progress=False)) != before
    monkeypatch.setattr(build_module, "__version__", "999.0")
    assert layers_cache_key(Resolver(DataOrigin(data_dir=data), progress=False)) != before


def test_missing_required_source_means_no_key(setup) -> None:
    data, _, _ = setup
    (data / "census_cb_2010_20m" / "gz_2010_us_040_00_20m.json").unlink()
    assert layers_cache_key(Resolver(DataOrigin(data_dir=data), progress=False)) is None


def test_unwritable_cache_degrades_to_no_cache_with_a_warning(setup, monkeypatch, tmp_path: Path) -> None:
    data, out, calls = setup
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GIS_CACHE_DIR", str(blocker))
    printed: list[str] = []
    console = Console(quiet=True)
    monkeypatch.setattr(console, "print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    _build(data, out, use_cache=True, console=console)
    _build(data, out, use_cache=True, console=console)
    assert len(calls) == 2  # built twice, no crash
    assert any("not writable" in p for p in printed)
    assert read_layers(out / "layers.gpkg")["states"] is not None


def test_a_background_write_finishes_before_the_file_is_used(setup) -> None:
    data, out, _ = setup
    resolver = Resolver(DataOrigin(data_dir=data), progress=False)
    built = pipeline.layers_stage(
        resolver, out, console=QUIET, use_cache=True, keep_frames=True, background=True
    )
    assert built.writing is not None and not built.cached
    path = built.finish()
    assert built.writing is None and path.is_file()
    _same_frames(built.layers, read_layers(path))
    key = layers_cache_key(resolver)
    assert cached_layers_path(key).is_file() and cached_frames_path(key).is_dir()
    assert built.finish() == path  # idempotent


def test_a_failing_background_write_raises_when_waited_for(setup, monkeypatch) -> None:
    data, out, _ = setup

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "_write", broken)

    def layers() -> pipeline.BuiltLayers:
        resolver = Resolver(DataOrigin(data_dir=data), progress=False)
        return pipeline.layers_stage(resolver, out, console=QUIET, use_cache=True, background=True)

    layers().finish(check=False)  # the clean-up path after another error: waits, does not raise
    with pytest.raises(OSError, match="No space"):
        layers().finish()


def test_cached_frames_are_read_when_first_used(setup) -> None:
    from gis.io import LazyFrames

    data, out, _ = setup
    cold = _build(data, out, use_cache=True)
    key = layers_cache_key(Resolver(DataOrigin(data_dir=data), progress=False))
    lazy = LazyFrames(cached_frames_path(key))
    assert set(lazy) == set(cold.layers) and lazy._frames == {}
    states = lazy["states"]
    assert set(lazy._frames) == {"states"} and lazy["states"] is states
    _same_frames({"states": states}, {"states": cold.layers["states"]})
    assert "counties" in lazy and "no such layer" not in lazy and set(lazy._frames) == {"states"}  # not read
    part = next(cached_frames_path(key).glob("counties.*.parquet"))
    part.write_bytes(part.read_bytes()[:-20])  # a truncated file fails on opening, not later
    with pytest.raises((OSError, ValueError)):
        LazyFrames(cached_frames_path(key))


def test_market_tables_serve_a_subset_of_their_layers_without_reading_them(setup) -> None:
    from gis.config.scenario import load_scenario
    from gis.energy.build import MarketTables
    from gis.io import FrameSubset, LazyFrames

    data, out, _ = setup
    _build(data, out, use_cache=True)
    key = layers_cache_key(Resolver(DataOrigin(data_dir=data), progress=False))
    lazy = LazyFrames(cached_frames_path(key))
    energy = load_scenario().energy
    markets = MarketTables(lazy, energy)
    names = ["market_prices", "market_mix", "curtailment_daily", "states", "no such layer"]
    wanted = FrameSubset(lazy, names)
    assert list(wanted) == [n for n in names if n in lazy] and "states" in wanted
    assert "no such layer" not in wanted
    assert markets.serves(wanted, energy) and lazy._frames == {}  # nothing read to know it
    assert not markets.serves(wanted, energy.model_copy(update={"reference_year": energy.reference_year + 1}))
    other = {n: lazy[n] for n in wanted}  # the same frames in another mapping: compared one by one
    assert markets.serves(other, energy)
    other["market_mix"] = pd.DataFrame({"node": ["x"]})  # another frame than the tables were made from
    assert not markets.serves(other, energy)


@pytest.mark.parametrize("forks", [True, False])
def test_a_build_does_later_work_while_it_waits_for_its_forked_builder(
    monkeypatch, tmp_path: Path, forks
) -> None:
    """``while_waiting`` runs in this process after its own themes, before the forked process's
    themes are collected, and only when a process was forked (nothing to wait for otherwise)."""
    import os

    parent, events = os.getpid(), []

    def themes_built(resolver, themes, built):
        if os.getpid() == parent:  # the forked process's events stay in it
            events.append(",".join(themes))
        return {t: build_module._Built({}, {}, [], {}) for t in themes}

    monkeypatch.setattr(build_module, "_build_themes", themes_built)
    monkeypatch.setattr("gis.forked.can_fork", lambda: forks)
    resolver = Resolver(DataOrigin(data_dir=tmp_path), progress=False)
    result = build_module.build_layers(
        resolver, themes=["boundaries", "plants", "markets"], while_waiting=lambda: events.append("waiting")
    )
    assert result.layers == {}
    if forks:  # markets built by the forked process
        assert events == ["boundaries", "plants", "waiting"]
    else:
        assert events == ["boundaries", "plants,markets"]


def test_frames_read_back_as_geopandas_reads_them_with_one_crs_per_text(tmp_path: Path) -> None:
    import geopandas as gpd
    from geopandas.testing import assert_geodataframe_equal
    from shapely.geometry import LineString, Point

    from gis.io import read_frames, write_frames

    plants = gpd.GeoDataFrame(
        {"name": ["Hoover", None], "capacity_mw": [2080.0, float("nan")], "units": [17, 2]},
        geometry=[Point(-114.7, 36.0), None],
        crs="EPSG:4326",
        index=pd.Index([7, 3], name="row"),
    )
    lines = gpd.GeoDataFrame({"kv": [345.0]}, geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4326")
    metric = gpd.GeoDataFrame({"kv": [500.0]}, geometry=[Point(1e6, 2e6)], crs="EPSG:5070")
    table = pd.DataFrame({"year": [2024, 2025]})
    folder = write_frames(
        tmp_path / "frames", {"plants": plants, "lines": lines, "metric": metric, "t": table}
    )
    got = read_frames(folder)
    for name in ("plants", "lines", "metric"):
        expected = gpd.read_parquet(folder / f"{name}.geo.parquet")  # what geopandas makes of the file
        for col in expected.columns:
            if isinstance(expected[col].dtype, pd.StringDtype):
                expected[col] = expected[col].astype(object).where(expected[col].notna(), None)
        assert_geodataframe_equal(got[name], expected)
        assert str(got[name].crs) == str(expected.crs) and got[name].geometry.name == "geometry"
    assert got["plants"].index.name == "row" and got["plants"]["name"].tolist() == ["Hoover", None]
    assert got["plants"].crs is got["lines"].crs  # the same PROJJSON text: parsed once in the process
    assert got["metric"].crs.to_epsg() == 5070 and got["t"]["year"].tolist() == [2024, 2025]
