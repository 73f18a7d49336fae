"""Grid mode end to end: states + resource raster -> cells -> measures -> scores -> files.

:func:`score_grid` is pure apart from the resource raster it may write into ``workdir``;
:func:`grid_command` does the I/O for ``gis score --grid``: writes ``OUT/grid_cells.gpkg``
(layer ``grid_cells``) and ``OUT/grid_cells_ranked.csv``, best first. Cells use the same
measures (:func:`gis.criteria.measure_sites`), criteria, weights, exclusions and flags as the
asset sites; each cell keeps its own connection (no shared-interconnect allocation), and cells
are never added to the national estimates.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from gis import STORAGE_CRS, __version__
from gis.criteria import measure_sites
from gis.engine import Engine, LocalEngine
from gis.grid.cells import square_cells
from gis.grid.columns import GRID_CELLS, GRID_CSV_FLOAT_DIGITS
from gis.grid.potential import cell_sites
from gis.grid.resource import resource_raster_for, sample_points
from gis.io import write_csv, write_gpkg
from gis.rowlog import RowLog
from gis.schema import validate
from gis.scoring.config import ScoringConfig
from gis.scoring.flags import site_flags
from gis.scoring.score import score_measures
from gis.scoring.stability import p_top_n

if TYPE_CHECKING:
    from gis.scenario import Scenario

__all__ = ["GRID_LAYERS", "grid_command", "measure_cells", "score_grid", "score_grid_with_log"]

GRID_LAYERS = ("transmission_lines", "substations", "states", "resource_grid")
"""Layers grid mode reads from layers.gpkg (those present)."""

MEASURED = (
    "dist_tx_km",
    "tx_voltage_kv",
    "dist_sub_km",
    "headroom_mw",
    "energy_cost_usd_mwh",
    "co2_t_per_mwh",
    "mineable_mw",
)


def measure_cells(
    cells: gpd.GeoDataFrame, layers: dict[str, pd.DataFrame], config: ScoringConfig
) -> pd.DataFrame:
    """:func:`gis.criteria.measure_sites` for grid cells; ``in_us`` is 1 by construction.

    Cells are generated from the state polygons (centre inside), so the point-in-state test
    is skipped rather than repeated for every cell.
    """
    measures = measure_sites(cells, {k: v for k, v in layers.items() if k != "states"}, config)
    measures["in_us"] = 1.0
    return measures


def _config(scenario_or_config: Scenario | ScoringConfig) -> ScoringConfig:
    return scenario_or_config if isinstance(scenario_or_config, ScoringConfig) else scenario_or_config.scoring


def grid_candidates(
    layers: dict[str, pd.DataFrame], config: ScoringConfig, *, workdir: Path, log: RowLog
) -> gpd.GeoDataFrame:
    """Cells with a usable resource as candidate rows (EPSG:4326 centres), before measuring."""
    model = config.national_grid
    cells = square_cells(
        layers.get("states"),
        cell_km=model.cell_km,
        exclude_states=model.exclude_states,
        max_cells=model.max_cells,
        log=log,
    )
    raster = resource_raster_for(layers, raster=model.raster, res_deg=model.raster_res_deg, workdir=workdir)
    resource = sample_points(raster, cells["x_m"].to_numpy(), cells["y_m"].to_numpy())
    return cell_sites(cells, resource, model, log)


def score_grid_with_log(
    layers: dict[str, pd.DataFrame],
    scenario_or_config: Scenario | ScoringConfig,
    *,
    engine: Engine | None = None,
    workdir: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, RowLog, dict[str, float]]:
    """Like :func:`score_grid`, also returning the row log and seconds per step."""
    config = _config(scenario_or_config)
    engine = engine or LocalEngine(chunk_rows=config.national_grid.chunk_rows)
    log = RowLog("grid_cells")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gis-grid-") as tmp:
        sites = grid_candidates(layers, config, workdir=Path(workdir or tmp), log=log)
    timings["cells_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    measures = engine.measure(sites, layers, config, func=measure_cells)
    timings["measure_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    scored = score_measures(measures, config)
    timings["score_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = sites.drop(columns=["energy_fuel", "grid_voltage_kv"])
    for col in MEASURED:
        frame[col] = measures[col].to_numpy()
    frame["shared_cut_mw"] = 0.0
    frame["interconnect_group"] = ""
    for col in scored.columns:
        frame[col] = scored[col].to_numpy()
    frame = pd.concat([frame, site_flags(frame, config.flags)], axis=1)
    order = np.argsort(scored["rank"].to_numpy(), kind="stable")
    subs = scored[[c for c in scored.columns if c.startswith("s_")]].to_numpy(dtype="float64")
    weights = np.array([c.weight for c in config.criteria.values()])
    p = np.zeros(len(frame))
    p[order] = p_top_n(subs[order], weights, scored["excluded"].to_numpy()[order], config.stability)
    frame["p_top_n"] = p
    timings["stability_s"] = time.perf_counter() - t0
    frame = frame.iloc[order].reset_index(drop=True)
    result = validate(gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS), GRID_CELLS)
    return result, log, timings


def score_grid(
    layers: dict[str, pd.DataFrame],
    scenario_or_config: Scenario | ScoringConfig,
    *,
    engine: Engine | None = None,
    workdir: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """National grid cells scored for stranded wind/solar, best first (``grid_cells`` schema).

    Parameters
    ----------
    layers
        canonical layers: states (required), resource_grid (unless the scenario names a
        raster), transmission_lines and substations (optional, as for the sites).
    scenario_or_config
        a :class:`gis.scenario.Scenario` or its :class:`ScoringConfig`; ``national_grid``
        gives the cell size, resource and thresholds.
    engine
        where the measures run (default: in-process, ``chunk_rows`` cells at a time).
    workdir
        folder for the resource raster written from ``resource_grid`` (default: a temporary one).
    """
    return score_grid_with_log(layers, scenario_or_config, engine=engine, workdir=workdir)[0]


def ranked_grid_csv_frame(cells: gpd.GeoDataFrame) -> pd.DataFrame:
    """The CSV form: same rows and columns without geometry, plus lat/lon, floats rounded."""
    frame = pd.DataFrame(cells.drop(columns="geometry"))
    frame["lat"] = cells.geometry.y.to_numpy()
    frame["lon"] = cells.geometry.x.to_numpy()
    digits = {c: 6 for c in frame.columns if c.startswith("s_")} | GRID_CSV_FLOAT_DIGITS
    return frame.round({c: d for c, d in digits.items() if c in frame.columns})


def _summary(cells: gpd.GeoDataFrame, seconds: float) -> Table:
    table = Table(title=f"Grid cells ({seconds:.1f} s)")
    for col in ("category", "cells", "excluded", "mean score", "best score"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for category, rows in cells.groupby("category", sort=True):
        table.add_row(
            str(category),
            f"{len(rows):,}",
            f"{int(rows['excluded'].sum()):,}",
            f"{rows['score'].mean():.3f}",
            f"{rows['score'].max():.3f}",
        )
    return table


def grid_command(
    *, out: Path, scenario: Scenario, engine: Engine | None = None, console: Console
) -> dict[str, Path]:
    """``gis score --grid``: read OUT/layers.gpkg, write OUT/grid_cells.gpkg and OUT/grid_cells_ranked.csv."""
    import pyogrio

    from gis.layers import read_layers

    out = Path(out)
    source = out / "layers.gpkg"
    available = {row[0] for row in pyogrio.list_layers(source)} if source.is_file() else set()
    layers = read_layers(source, names=[n for n in GRID_LAYERS if n in available] or None)
    t0 = time.perf_counter()
    cells, log, _ = score_grid_with_log(layers, scenario, engine=engine)
    metadata = {
        "tool": f"gis-btc-sites {__version__}",
        "scenario": scenario.name,
        "row_log": json.dumps(log.as_dict()),
        "schema": json.dumps(GRID_CELLS.description),
        "national_grid": scenario.scoring.national_grid.model_dump_json(),
    }
    gpkg = write_gpkg(out / "grid_cells.gpkg", {"grid_cells": cells}, layer_metadata={"grid_cells": metadata})
    csv = write_csv(out / "grid_cells_ranked.csv", ranked_grid_csv_frame(cells))
    console.print(_summary(cells, time.perf_counter() - t0))
    for reason, count in log.dropped.items():
        console.print(f"[cyan]left out:[/] {reason}: {count:,}")
    for note in log.notes:
        console.print(f"[cyan]note:[/] {note}")
    console.print(f"Wrote {gpkg} and {csv} (grid cells are not added to the national estimates)")
    return {"grid_gpkg": gpkg, "grid_csv": csv}
