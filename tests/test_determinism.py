"""Same inputs and scenario, byte-identical ``sites_ranked.csv`` and ``estimates.json``.

Runs ``gis score`` and ``gis estimate`` twice on the same tiny layers (and once on the same
layers with every table's rows shuffled, which only stable sorts with tie-breakers survive),
then once on the real data when it is present. Each run of a pair has its own empty
``GIS_CACHE_DIR``, so the second computes every measure again instead of reading the first's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from fixtures.scoring.tiny_layers import tiny_layers
from rich.console import Console

from gis.estimates.api import estimate_command
from gis.io import write_gpkg
from gis.scoring.api import score_command

OUTPUTS = ("sites_ranked.csv", "estimates.json")
QUIET = Console(quiet=True)


def run_stages(out: Path, cache: Path | None = None) -> dict[str, bytes]:
    """``gis score`` then ``gis estimate`` (default scenario) in ``out``; the two files' bytes.

    ``cache``: a new, empty ``GIS_CACHE_DIR`` for this run (a cold cache); it must hold measures
    afterwards, which shows the run computed them rather than reading another run's.
    """
    if cache is not None:
        assert not cache.exists()
        os.environ["GIS_CACHE_DIR"] = str(cache)  # restored by the autouse fixture in conftest
    score_command(out=out, scenario_path=None, console=QUIET)
    if cache is not None:
        assert list((cache / "measures").glob("measures-*.parquet")), "the run did not measure"
    estimate_command(out=out, scenario_path=None, as_json=False, network_ehs=None, console=QUIET)
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def shuffled(layers: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """Every layer with its rows in another order (and a fresh index)."""
    return {
        name: frame.sample(frac=1.0, random_state=seed + i).reset_index(drop=True)
        for i, (name, frame) in enumerate(layers.items())
    }


def test_score_and_estimate_are_byte_identical_across_runs_with_cold_caches(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write_gpkg(first / "layers.gpkg", tiny_layers())
    second.mkdir()
    shutil.copy(first / "layers.gpkg", second / "layers.gpkg")
    a, b = run_stages(first, tmp_path / "cache-a"), run_stages(second, tmp_path / "cache-b")
    for name in OUTPUTS:
        assert a[name] == b[name], name
    assert len(pd.read_csv(first / "sites_ranked.csv")) > 3  # a real ranking, not an empty file


def test_row_order_of_the_layers_does_not_change_the_outputs(tmp_path: Path) -> None:
    layers = tiny_layers()
    write_gpkg(tmp_path / "a" / "layers.gpkg", layers)
    write_gpkg(tmp_path / "b" / "layers.gpkg", shuffled(layers, seed=11))
    a, b = run_stages(tmp_path / "a", tmp_path / "cache-a"), run_stages(tmp_path / "b", tmp_path / "cache-b")
    for name in OUTPUTS:
        assert a[name] == b[name], name


def test_rerun_in_place_rewrites_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_gpkg(out / "layers.gpkg", tiny_layers())
    before = run_stages(out)
    assert run_stages(out) == before
    assert sorted(p.name for p in out.iterdir()) == [
        "estimates.json",
        "layers.gpkg",
        "sites.gpkg",
        "sites_ranked.csv",
    ]


@pytest.mark.realdata
def test_real_data_outputs_are_byte_identical(real_data_dir: Path, tmp_path: Path) -> None:
    from gis.config.settings import DataOrigin
    from gis.layers import build_layers, write_layers
    from gis.sources import Resolver

    resolver = Resolver(DataOrigin(data_dir=real_data_dir), progress=False)
    themes = ["boundaries", "plants", "transmission", "flares", "offshore", "military"]
    t0 = time.perf_counter()
    result = build_layers(resolver, themes=themes)
    write_layers(result, resolver, tmp_path / "a" / "layers.gpkg")
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "layers.gpkg", tmp_path / "b" / "layers.gpkg")
    a, b = run_stages(tmp_path / "a", tmp_path / "cache-a"), run_stages(tmp_path / "b", tmp_path / "cache-b")
    digests = {name: hashlib.sha256(a[name]).hexdigest()[:12] for name in OUTPUTS}
    for name in OUTPUTS:
        assert a[name] == b[name], (name, digests)
    print(f"real data: build + 2 x (score, estimate) in {time.perf_counter() - t0:.0f} s; {digests}")
