"""Grid mode end to end: states + resource raster -> cells -> measures -> scores -> files.

:func:`score_grid` is pure apart from the resource raster it may write into ``workdir``;
:func:`grid_command` does the I/O for ``gis score --grid``: writes ``OUT/grid_cells.gpkg``
(layer ``grid_cells``) and ``OUT/grid_cells_ranked.csv``, best first. Cells use the same
measures (:func:`gis.measures.measure_sites`), criteria, weights, exclusions and flags as the
asset sites; each cell keeps its own connection (no shared-interconnect allocation), and cells
are never added to the national estimates.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from gis import STORAGE_CRS, __version__
from gis.config.scoring import ScoringConfig
from gis.engine import Engine, LocalEngine, metric_layers
from gis.grid.cells import square_cells
from gis.grid.columns import GRID_CELLS, GRID_CSV_FLOAT_DIGITS
from gis.grid.potential import cell_sites
from gis.grid.resource import resource_raster_for, sample_points
from gis.io import write_csv, write_gpkg
from gis.measures import measure_sites
from gis.rowlog import RowLog
from gis.schema import validate
from gis.scoring.flags import site_flags
from gis.scoring.score import score_measures
from gis.scoring.stability import p_top_n
from gis.timing import stage

if TYPE_CHECKING:
    from gis.config.scenario import Scenario

__all__ = ["GRID_LAYERS", "grid_command", "measure_cells", "score_grid", "score_grid_with_log"]

GRID_LAYERS = ("transmission_lines", "substations", "states", "resource_grid")
"""Layers grid mode reads from layers.gpkg (those present)."""

STREAM_ROWS = 125_000
"""Cells per streamed chunk at most (``chunk_rows`` when smaller): the chunk's temporaries, not
the number of cells, set the memory above the result's own."""

STABILITY_ELEMENTS = 4_000_000
"""Scores (cells x weight draws) the rank-stability draws hold at once (32 MB)."""

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
    """:func:`gis.measures.measure_sites` for grid cells; ``in_us`` is 1 by construction.

    Cells are generated from the state polygons (centre inside), so the point-in-state test
    is skipped rather than repeated for every cell.
    """
    measures = measure_sites(cells, {k: v for k, v in layers.items() if k != "states"}, config)
    measures["in_us"] = 1.0
    return measures


def _config(scenario_or_config: Scenario | ScoringConfig) -> ScoringConfig:
    return scenario_or_config if isinstance(scenario_or_config, ScoringConfig) else scenario_or_config.scoring


def grid_cells_and_resource(
    layers: dict[str, pd.DataFrame], config: ScoringConfig, *, workdir: Path, log: RowLog
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every cell (:func:`square_cells`) and its resource reading (same order), before candidates."""
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
    return cells, resource


def grid_candidates(
    layers: dict[str, pd.DataFrame], config: ScoringConfig, *, workdir: Path, log: RowLog
) -> gpd.GeoDataFrame:
    """Cells with a usable resource as candidate rows (EPSG:4326 centres), before measuring."""
    cells, resource = grid_cells_and_resource(layers, config, workdir=workdir, log=log)
    return cell_sites(cells, resource, config.national_grid, log)


def _scored_chunk(
    cells: pd.DataFrame,
    resource: pd.DataFrame,
    layers: dict[str, pd.DataFrame],
    config: ScoringConfig,
    engine: Engine,
    log: RowLog,
    timings: dict[str, float],
    *,
    keep_empty: bool = False,
) -> pd.DataFrame | None:
    """One chunk of cells: candidates, measures, sub-scores, score, exclusions and flags (no rank)."""
    t0 = time.perf_counter()
    sites = cell_sites(cells, resource, config.national_grid, log)
    timings["cells_s"] += time.perf_counter() - t0
    if len(sites) == 0 and not keep_empty:
        return None
    t0 = time.perf_counter()
    measures = engine.measure(sites, layers, config, func=measure_cells)
    timings["measure_s"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    scored = score_measures(measures, config)
    frame = sites.drop(columns=["energy_fuel", "grid_voltage_kv"])
    del sites
    for col in MEASURED:
        frame[col] = measures[col].to_numpy()
    frame["shared_cut_mw"] = 0.0
    frame["interconnect_group"] = ""
    for col in scored.columns:
        if col != "rank":
            frame[col] = scored[col].to_numpy()
    frame = pd.concat([frame, site_flags(frame, config.flags)], axis=1)
    frame["rank"] = np.zeros(len(frame), dtype="int64")  # placeholders: both need every cell
    frame["p_top_n"] = 0.0
    # checked a chunk at a time (the full frame is never copied for it); cell ids are unique by
    # construction, so unique within each chunk is unique overall
    frame = validate(gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS), GRID_CELLS)
    timings["score_s"] += time.perf_counter() - t0
    return frame


_UNIQUE_TEXT = {"site_id", "name", "cell_id"}
"""Text columns with a value per cell; the others repeat a handful of values."""


def _shared_text(columns: dict[str, Any]) -> dict[str, Any]:
    """Repeated text values as one shared object each (a million cells hold a few distinct
    categories, states, reasons and sentences: about 0.6 KB a cell saved)."""
    for col, values in columns.items():
        if col in _UNIQUE_TEXT or not pd.api.types.is_object_dtype(getattr(values, "dtype", None)):
            continue
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
        if len(uniques) * 4 < max(len(values), 1) and (codes >= 0).all():
            columns[col] = pd.array(np.asarray(uniques, dtype=object)[codes], dtype=object)
    return columns


def _release_memory() -> None:
    """Hand the chunk's freed temporaries back to the system (glibc keeps them otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _columns_of(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """The frame as independent column arrays (copies), so the frame itself can be freed."""
    return {col: frame[col].array.copy() for col in frame.columns}


def _concat(arrays: list) -> Any:
    """One column from its parts (numpy or pandas extension arrays, e.g. geometry)."""
    if len(arrays) == 1:
        return arrays[0]
    return type(arrays[0])._concat_same_type(arrays)


def _frame_of(columns: dict[str, Any]) -> gpd.GeoDataFrame:
    """A grid-cells GeoDataFrame over the given column arrays, without copying or consolidating."""
    series = {
        col: pd.Series(values, dtype=getattr(values, "dtype", None), copy=False)
        for col, values in columns.items()
    }  # the arrays' own dtypes: object text stays object (no string inference)
    frame = pd.DataFrame(series, copy=False)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS, copy=False)


def score_grid_with_log(
    layers: dict[str, pd.DataFrame],
    scenario_or_config: Scenario | ScoringConfig,
    *,
    engine: Engine | None = None,
    workdir: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, RowLog, dict[str, float]]:
    """Like :func:`score_grid`, also returning the row log and seconds per step.

    Cells stream through candidates, measures and scores ``chunk_rows`` at a time
    (``[scoring.national_grid]``), so only one chunk's intermediate tables exist at once; the
    rank and the rank stability then run over all cells (score and sub-scores only).
    """
    config = _config(scenario_or_config)
    chunk = min(config.national_grid.chunk_rows, STREAM_ROWS)
    engine = engine or LocalEngine(chunk_rows=chunk)
    layers = {**layers, **metric_layers(layers)}  # reprojected once, not once per chunk
    log = RowLog("grid_cells")
    timings = {"cells_s": 0.0, "measure_s": 0.0, "score_s": 0.0, "stability_s": 0.0}
    t0 = time.perf_counter()
    with stage("grid_cells"), tempfile.TemporaryDirectory(prefix="gis-grid-") as tmp:
        cells, resource = grid_cells_and_resource(layers, config, workdir=Path(workdir or tmp), log=log)
    timings["cells_s"] += time.perf_counter() - t0
    parts = []
    for start in range(0, max(len(cells), 1), chunk):
        with stage("grid_chunk"):
            part = _scored_chunk(
                cells.iloc[start : start + chunk],
                resource.iloc[start : start + chunk],
                layers,
                config,
                engine,
                log,
                timings,
            )
            if part is not None:
                parts.append(_shared_text(_columns_of(part)))
                del part
            _release_memory()
    del cells, resource
    t0 = time.perf_counter()
    if parts:
        names = list(parts[0])
        merged: dict[str, Any] = {}
        for col in names:  # one column at a time: the parts shrink as the whole grows
            merged[col] = _concat([p.pop(col) for p in parts])
        del parts
        frame = _frame_of(merged)
        del merged
    else:
        frame = _scored_chunk(
            pd.DataFrame(columns=["cell_id", "state", "x_m", "y_m", "area_km2"]),
            pd.DataFrame({"ghi_kwh_m2_day": [], "wind_class": []}),
            layers,
            config,
            engine,
            log,
            dict.fromkeys(timings, 0.0),
            keep_empty=True,
        )
    score = frame["score"].to_numpy(dtype="float64")
    # best first, ties by site_id: the order of gis.scoring.score.rank_order, with the ids as
    # sorted integer codes rather than a fixed-width text array (150 MB for a million cells)
    id_codes, _ = pd.factorize(frame["site_id"].to_numpy(dtype=object), sort=True)
    order = np.lexsort((id_codes, -score))
    del id_codes
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(1, len(order) + 1)
    frame["rank"] = rank
    timings["score_s"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    subs = frame[[c for c in frame.columns if c.startswith("s_")]].to_numpy(dtype="float64")
    weights = np.array([c.weight for c in config.criteria.values()])
    p = np.zeros(len(frame))
    with stage("grid_stability"):
        subs = subs[order]
        p[order] = p_top_n(
            subs,
            weights,
            frame["excluded"].to_numpy()[order],
            config.stability,
            max_elements=STABILITY_ELEMENTS,
        )
    del subs
    frame["p_top_n"] = p
    timings["stability_s"] = time.perf_counter() - t0
    columns: dict[str, Any] = {}
    for col in list(frame.columns):  # reordered a column at a time, dropping the unordered one
        columns[col] = frame[col].array.take(order)
        del frame[col]
    del frame
    result = _frame_of(columns)
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
        a :class:`gis.config.scenario.Scenario` or its :class:`ScoringConfig`; ``national_grid``
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
