"""The whole run in memory: layers -> sites -> estimates -> outputs, every output written once.

``gis run`` is :func:`run_pipeline`: each stage hands its frames to the next (the built or cached
layers, the scored sites, the estimates), and the files are written at the end by the outputs
stage (``layers.gpkg`` as soon as it is built, since it is also the layer cache's source). The stage
commands (``gis build``, ``gis score``, ``gis estimate``, ``gis report``) are thin wrappers over the
same stage functions: they read their inputs from OUT, call, and write theirs.

A warm run (sources, catalog and builders unchanged) takes the layers from the cache
(``$GIS_CACHE_DIR/layers/<key>``: the GeoPackage copied to OUT and the frames read from GeoParquet)
and does not parse a raw source.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from rich.console import Console
from rich.table import Table

from gis.config.scenario import Scenario
from gis.energy.build import MarketTables
from gis.layers import read_layers
from gis.sources import Resolver
from gis.timing import stage

__all__ = [
    "BuiltLayers",
    "estimate_and_write",
    "layers_stage",
    "outputs_stage",
    "print_build",
    "run_pipeline",
    "score_stage",
]


@dataclass
class BuiltLayers:
    """The layers stage's result: ``path`` (``layers.gpkg`` in OUT) and, when asked for, the frames
    (EPSG:4326, as :func:`gis.layers.read_layers` would read them from ``path``; else empty)."""

    path: Path
    layers: dict[str, pd.DataFrame]
    cached: bool


def print_build(result, console: Console) -> None:
    """The layers built: rows read, kept and dropped (and why) per layer, notes and warnings."""
    table = Table(title="Layers built")
    for col in ("layer", "read", "kept", "dropped", "why dropped / repaired"):
        table.add_column(col, overflow="fold")
    for name, log in result.logs.items():
        why = "; ".join(f"{k}: {v:,}" for k, v in log.dropped.items())
        rep = "; ".join(f"repaired {k}: {v:,}" for k, v in log.repaired.items())
        table.add_row(
            name,
            f"{log.rows_read:,}",
            f"{log.rows_kept:,}",
            f"{log.rows_dropped:,}",
            "; ".join(x for x in (why, rep) if x),
        )
    console.print(table)
    for log in result.logs.values():
        for note in log.notes:
            console.print(f"[cyan]{log.name}:[/] {note}")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")


def layers_stage(
    resolver: Resolver,
    out: Path,
    *,
    console: Console,
    use_cache: bool = False,
    keep_frames: bool = False,
    spinner: bool = True,
) -> BuiltLayers:
    """Build the layers into ``out/layers.gpkg``; with ``use_cache``, reuse an unchanged build.

    The cache (:func:`gis.layers.build.layers_cache_key`) is keyed by the tool version, the
    builders' code, the catalog and every source file's path, size and mtime; an unwritable cache
    only warns. ``keep_frames``: also return the frames, from memory after a build or from the
    cache's GeoParquet copy (never by reading the GeoPackage back).
    """
    from gis.io import as_written
    from gis.layers import build_layers, write_layers
    from gis.layers.build import layers_cache_key, restore_cached_layers, store_cached_layers
    from gis.layers.plants import federal_summary

    target = out / "layers.gpkg"
    key = layers_cache_key(resolver) if use_cache else None
    if key is not None:
        with stage("build_cached"):
            cached = restore_cached_layers(key, target, with_frames=keep_frames)
        if cached is not None:
            print_build(cached, console)
            console.print(
                f"Sources unchanged since the last build: layers reused from the cache (key {key[:12]})"
            )
            console.print(f"Wrote {target}")
            return BuiltLayers(target, cached.layers if keep_frames else {}, cached=True)
    console.print(f"Building layers from {resolver.origin.describe()} ...")
    with stage("build"):
        if spinner:
            with console.status("building layers"):
                result = build_layers(resolver)
        else:
            result = build_layers(resolver)
    print_build(result, console)
    if "plants" in result.layers:
        console.print(federal_summary(result.layers["plants"]))
    with stage("write_layers"):
        target = write_layers(result, resolver, target)
        result.layers = {name: as_written(frame) for name, frame in result.layers.items()}
        if use_cache:
            key = key or layers_cache_key(resolver)  # first run on a mirror: files are local now
            problem = store_cached_layers(key, target, frames=result.layers) if key is not None else None
            if problem:
                console.print(f"[yellow]warning:[/] {problem}")
    console.print(f"Wrote {target}")
    return BuiltLayers(target, result.layers if keep_frames else {}, cached=False)


def run_pipeline(
    *,
    out: Path,
    scenario: Scenario,
    scenario_path: Path | None,
    console: Console,
    resolver: Resolver | None,
    use_cache: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
    grid_stage: Callable[..., dict[str, Path]] | None = None,
    step: Callable[[str], Callable[[], None]] = lambda name: lambda: None,
    spinner: bool = True,
) -> list[Path]:
    """Every stage in order, in memory; the files each writes into ``out`` (a staging folder).

    Parameters
    ----------
    out
        the folder to write into (``gis run`` passes a staging folder swapped in on success).
    scenario, scenario_path
        the validated scenario and the file it came from (None: the packaged default).
    resolver
        where the sources come from; None to read ``out/layers.gpkg`` (``--layers``).
    grid_stage
        :func:`gis.grid.grid_command` to also score the national grid cells, or None.
    step
        called with each stage's name as it starts; returns the callback for its end (progress bars).
    """
    if resolver is not None:
        with _step(step, "build layers", "layers"):
            layers = layers_stage(
                resolver, out, console=console, use_cache=use_cache, keep_frames=True, spinner=spinner
            ).layers
    else:
        layers = read_layers(out / "layers.gpkg")
    markets = MarketTables(layers, scenario.energy)  # hourly market tables, built once for both stages
    with _step(step, "score sites", "score"):
        sites, metadata, grid_files = score_stage(
            layers,
            scenario,
            out=out,
            console=console,
            engine=engine,
            scheduler=scheduler,
            grid_stage=grid_stage,
            markets=markets,
        )
    with _step(step, "estimate", "estimate"):
        estimates, path = estimate_and_write(
            sites, layers, scenario, out=out, console=console, markets=markets
        )
    with _step(step, "write outputs", "outputs"):
        written = [out / "layers.gpkg", *grid_files, path]
        written += outputs_stage(
            sites, estimates, layers, metadata, out=out, scenario_path=scenario_path, console=console
        )
    return written


@contextlib.contextmanager
def _step(step: Callable[[str], Callable[[], None]], name: str, timed: str) -> Iterator[None]:
    """A stage of the run: its progress bar (``step``) and its timing row (``timed``)."""
    done = step(name)
    with stage(timed):
        yield
    done()


def score_stage(
    layers: dict[str, pd.DataFrame],
    scenario: Scenario,
    *,
    out: Path,
    console: Console,
    engine: str = "local",
    scheduler: str | None = None,
    grid_stage: Callable[..., dict[str, Path]] | None = None,
    markets: MarketTables | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, str], list[Path]]:
    """Score the candidate sites on the layers (measures on ``engine``, cached); the sites (EPSG:4326,
    best first), the metadata their file will carry, and the grid-cell files ``grid_stage`` wrote."""
    from gis.scoring.api import (
        LAYER_NAMES,
        measures_engine,
        print_sites,
        score_sites_with_log,
        sites_metadata,
    )

    written: list[Path] = []
    with measures_engine(engine, scheduler, scenario) as runner:
        wanted = {n: layers[n] for n in LAYER_NAMES if n in layers}
        sites, log = score_sites_with_log(wanted, scenario, engine=runner, markets=markets)
        print_sites(sites, log, console)
        if grid_stage is not None:
            written += grid_stage(out=out, scenario=scenario, engine=runner, console=console).values()
    return sites, sites_metadata(scenario, log), written


def estimate_and_write(
    sites: gpd.GeoDataFrame,
    layers: dict[str, pd.DataFrame],
    scenario: Scenario,
    *,
    out: Path,
    console: Console,
    markets: MarketTables | None = None,
) -> tuple[dict, Path]:
    """The estimates of the scored sites (:func:`gis.estimates.api.estimate_stage`), written to
    ``out/estimates.json``; the payload and the file."""
    from gis.estimates import rollup
    from gis.estimates.api import ESTIMATE_LAYERS, estimate_stage
    from gis.io import write_json

    rollup.check_sites(sites, source=f"{out / 'sites.gpkg'}:candidate_sites")
    wanted = {n: layers[n] for n in ESTIMATE_LAYERS if n in layers}
    estimates = estimate_stage(sites, wanted, scenario, console=console, markets=markets)
    path = write_json(out / "estimates.json", estimates)
    console.print(f"Wrote {path}")
    return estimates, path


def outputs_stage(
    sites: gpd.GeoDataFrame,
    estimates: dict,
    layers: dict[str, pd.DataFrame],
    metadata: dict[str, str],
    *,
    out: Path,
    scenario_path: Path | None,
    console: Console,
) -> list[Path]:
    """Every output from the frames in memory: maps, sites.gpkg, CSV, XLSX, explorer, report."""
    from gis.outputs.api import map_layer_names, outputs_command
    from gis.outputs.inputs import stage_outputs

    inputs = stage_outputs(
        out,
        sites=sites,
        estimates=estimates,
        layers=layers,
        sites_metadata=metadata,
        layer_names=map_layer_names(),
    )
    return outputs_command(out=out, scenario_path=scenario_path, console=console, inputs=inputs)
