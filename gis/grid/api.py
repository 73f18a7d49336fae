"""Grid mode end to end: states + resource raster -> cells -> measures -> scores -> files.

:func:`score_grid` is pure apart from the resource raster it may write into ``workdir``;
:func:`write_grid` streams ``OUT/grid_cells.gpkg`` (layer ``grid_cells``) and
``OUT/grid_cells_ranked.csv``, best first, for ``gis score --grid`` (:func:`grid_command`)::

    pass 1   cells chunk by chunk (chunk_rows): candidates, measures, sub-scores, flags
             -> a compact Arrow column store (points as lon/lat floats, repeated text once)
    rank     score (one product over every cell), order, rank stability (all cells)
    pass 2   the store best first, chunk by chunk -> appended to the GeoPackage and the CSV

Cells use the same measures (:func:`gis.measures.measure_sites`), criteria, weights, exclusions
and flags as the asset sites; each cell keeps its own connection (no shared-interconnect
allocation), and cells are never added to the national estimates.
"""

from __future__ import annotations

import contextlib
import gc
import json
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from gis import STORAGE_CRS, __version__
from gis.config.scoring import ScoringConfig
from gis.engine import Engine, LocalEngine, metric_layers
from gis.grid.cells import square_cells
from gis.grid.columns import GRID_CELLS, GRID_CSV_FLOAT_DIGITS
from gis.grid.files import csv_bytes, csv_header, point_wkb
from gis.grid.gpkg import GpkgChild, GpkgStream
from gis.grid.potential import cell_sites
from gis.grid.resource import resource_raster_for, sample_points
from gis.io import GPKG_VERSION, atomic_path
from gis.measures import MEASURES_ON_SITES, measure_sites
from gis.rowlog import RowLog
from gis.schema import validate
from gis.scoring.flags import site_flags
from gis.scoring.score import exclusions, subscores
from gis.scoring.stability import p_top_n
from gis.timing import record, stage

if TYPE_CHECKING:
    from gis.config.scenario import Scenario

__all__ = [
    "GRID_LAYERS",
    "grid_command",
    "measure_cells",
    "score_grid",
    "score_grid_with_log",
    "write_grid",
]

GRID_LAYERS = ("transmission_lines", "substations", "states", "resource_grid")
"""Layers grid mode reads from layers.gpkg (those present)."""

STREAM_ROWS = 125_000
"""Cells per streamed chunk at most (``chunk_rows`` when smaller): the chunk's temporaries, not
the number of cells, set the memory above the result's own."""

STABILITY_ELEMENTS = 4_000_000
"""Scores (cells x weight draws) the rank-stability draws hold at once (32 MB)."""

MEASURED = (*MEASURES_ON_SITES, "mineable_mw")


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
    return _finished_chunk(sites, measures, config, timings)


def _finished_chunk(
    sites: gpd.GeoDataFrame, measures: pd.DataFrame, config: ScoringConfig, timings: dict[str, float]
) -> gpd.GeoDataFrame:
    """A chunk's candidate rows and measures -> its ``grid_cells`` rows (sub-scores, score,
    exclusions, flags; rank and rank stability left as placeholders), checked against the schema.

    Parameters
    ----------
    sites
        the chunk's candidate rows (:func:`gis.grid.potential.cell_sites`, EPSG:4326 points).
    measures
        their measures (:func:`measure_cells`, same order).
    config
        criteria, weights, exclusions and flags.
    timings
        seconds per step; ``score_s`` is added to.

    Returns
    -------
    geopandas.GeoDataFrame
        the ``grid_cells`` rows, EPSG:4326.
    """
    t0 = time.perf_counter()
    scored = _chunk_scores(measures, config)
    n = len(sites)
    index = pd.RangeIndex(n)

    def column(values: np.ndarray) -> pd.Series:
        # object text stays object: no per-value round trip through a string dtype
        return pd.Series(values, index=index, dtype=object if values.dtype == object else None)

    # the frame is built once from its columns (not column by column, nor concatenated)
    columns = {
        c: column(sites[c].to_numpy())
        for c in sites.columns
        if c not in ("energy_fuel", "grid_voltage_kv", "geometry")
    }
    geometry = sites.geometry.values
    del sites
    columns |= {col: column(measures[col].to_numpy()) for col in MEASURED}
    columns["shared_cut_mw"] = column(np.zeros(n))
    columns["interconnect_group"] = column(np.full(n, "", dtype=object))
    columns |= {col: column(scored[col].to_numpy()) for col in scored.columns}
    flags = site_flags(pd.DataFrame(columns, index=index, copy=False), config.flags)
    columns |= {col: column(flags[col].to_numpy()) for col in flags.columns}
    columns["rank"] = column(np.zeros(n, dtype="int64"))  # placeholders: both need every cell
    columns["p_top_n"] = column(np.zeros(n))
    columns |= _empty_numbers(columns, index)
    frame = gpd.GeoDataFrame(columns, index=index, geometry=geometry, crs=STORAGE_CRS, copy=False)
    # checked a chunk at a time (the full frame is never copied for it); cell ids are unique by
    # construction, so unique within each chunk is unique overall
    frame = validate(frame, GRID_CELLS)
    timings["score_s"] += time.perf_counter() - t0
    return frame


def _empty_numbers(columns: dict[str, pd.Series], index: pd.RangeIndex) -> dict[str, pd.Series]:
    """The ``grid_cells`` number columns that ``columns`` lacks, all missing, as
    :func:`gis.schema.validate` adds them (float64 NaN; ``Int64`` NA).

    Grid cells have no surplus, price or ledger figures. Added here, whole, they spare
    :func:`gis.schema.validate` inserting a dozen columns one by one into each chunk's frame
    (about a third of its time per chunk); text columns are still added by it.

    Parameters
    ----------
    columns
        the chunk's columns so far.
    index
        the chunk's index.

    Returns
    -------
    dict
        name -> Series, for the missing ``float64`` and ``Int64`` columns of the schema.
    """
    out = {}
    for col in GRID_CELLS.columns:
        if col.name in columns or col.dtype not in ("float64", "Int64"):
            continue
        values = pd.Series(np.full(len(index), np.nan), index=index)
        out[col.name] = values if col.dtype == "float64" else values.astype("Int64")
    return out


def _chunk_scores(measures: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """:func:`gis.scoring.score.score_measures` of a chunk without its ``rank`` column.

    The sub-scores, ``score`` (0..1, 0 when excluded), ``excluded`` and ``exclusion_reason``,
    computed as that function computes them (its own building blocks). A chunk's rank would be
    thrown away (cells are ranked all at once), and ordering a chunk's text ids cost about as
    much as scoring it.
    """
    subs = subscores(measures, config)
    weights = np.array([c.weight for c in config.criteria.values()])
    score = np.clip(subs.to_numpy(dtype="float64") @ weights, 0.0, 1.0) if len(subs) else np.zeros(0)
    excluded, reasons = exclusions(measures, config)
    out = subs.copy()
    out["score"] = np.where(excluded, 0.0, score)
    out["excluded"] = excluded
    out["exclusion_reason"] = reasons
    return out


_REPEATED_TEXT_SHARE = 4
"""A text column whose distinct values are fewer than one in this many rows is stored once per value."""


class _CellStore:
    """Scored cells, chunk by chunk, as compact Arrow columns (no geometry objects, no pandas frames).

    A cell's point is kept as its EPSG:4326 ``lon``/``lat`` floats (the point is rebuilt from them
    exactly); text repeated across cells (categories, states, reasons, sentences) is stored once
    per value. Only the score, the sub-scores, the exclusion and the ids are pulled out whole, for
    the rank and the rank stability, which need every cell.
    """

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []
        self.dtypes: dict[str, object] = {}
        self.columns: list[str] = []
        self.write_types: dict[str, pa.DataType] = {}  # as pa.Table.from_pandas gives the frame

    def add(self, frame: gpd.GeoDataFrame) -> None:
        """Append one scored chunk (``grid_cells`` columns, EPSG:4326 points)."""
        if not self.columns:
            self.columns = list(frame.columns)
            self.dtypes = {c: frame[c].dtype for c in frame.columns if c != "geometry"}
            schema = pa.Schema.from_pandas(
                pd.DataFrame(frame.drop(columns="geometry").iloc[:0]), preserve_index=False
            )
            self.write_types = {  # an all-missing column is written as text (as pyogrio does)
                f.name: pa.string() if pa.types.is_null(f.type) else f.type for f in schema
            }
        arrays, names = [], []
        for col, dtype in self.dtypes.items():
            values = frame[col]
            if isinstance(dtype, pd.StringDtype | pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype):
                # Arrow-backed text: its own buffers, not one Python string per cell
                array = pa.array(values.array).cast(pa.string())
                if col not in _UNIQUE_TEXT:
                    array = array.dictionary_encode()
            elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
                array = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
                if col not in _UNIQUE_TEXT:
                    array = array.dictionary_encode()
            elif isinstance(dtype, pd.api.extensions.ExtensionDtype):
                array = pa.array(values.array, from_pandas=True)
            else:
                array = pa.array(values.to_numpy(), from_pandas=False)  # NaN stays NaN
            arrays.append(array)
            names.append(col)
        points = frame.geometry.values
        arrays += [pa.array(shapely.get_x(points)), pa.array(shapely.get_y(points))]
        names += [_LON, _LAT]
        self.parts.append(pa.Table.from_arrays(arrays, names=names))

    def __len__(self) -> int:
        return sum(part.num_rows for part in self.parts)

    def table(self) -> pa.Table:
        """Every chunk as one table (dictionaries unified), the chunks released.

        Each column is made one contiguous array, a column at a time (its chunks freed as it
        goes): the rows are then taken best first from contiguous arrays, which costs about half
        as much as taking them across chunks.
        """
        table = pa.concat_tables(self.parts).unify_dictionaries()
        self.parts = []
        for i, name in enumerate(table.column_names):
            table = table.set_column(i, name, table.column(i).combine_chunks())
        return table

    def frame(self, table: pa.Table, rows: np.ndarray, extra: dict[str, np.ndarray]) -> gpd.GeoDataFrame:
        """Rows ``rows`` of ``table`` as a grid-cells GeoDataFrame, ``extra`` columns replaced."""
        part = table.take(pa.array(rows, type=pa.int64()))
        data = {}
        for col in self.columns:
            if col == "geometry":
                continue
            if col in extra:
                data[col] = pd.Series(extra[col], dtype=self.dtypes[col])
                continue
            column = part.column(col)
            dtype = self.dtypes[col]
            if pa.types.is_dictionary(column.type):
                column = column.cast(pa.string())
            if pd.api.types.is_object_dtype(dtype):
                data[col] = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
            elif isinstance(dtype, pd.api.extensions.ExtensionDtype):
                data[col] = pd.Series(column.to_pandas(), dtype=dtype)
            else:
                data[col] = pd.Series(column.to_numpy(), dtype=dtype)
        geometry = gpd.points_from_xy(
            part.column(_LON).to_numpy(), part.column(_LAT).to_numpy(), crs=STORAGE_CRS
        )
        frame = gpd.GeoDataFrame(pd.DataFrame(data), geometry=geometry, crs=STORAGE_CRS)
        return frame[self.columns]


_UNIQUE_TEXT = {"site_id", "name", "cell_id"}
"""Text columns with a value per cell; the others repeat a handful of values."""

_LON, _LAT = "__lon", "__lat"


class _Ranked:
    """Every scored cell in a :class:`_CellStore`, with its rank and rank stability."""

    def __init__(
        self, store: _CellStore, table: pa.Table, order: np.ndarray, p: np.ndarray, score: np.ndarray
    ) -> None:
        self.store = store
        self.table = table
        self.order = order
        self.p = p  # p_top_n per stored row
        self.score = score  # score per stored row (all cells at once: see _whole_score)

    def __len__(self) -> int:
        return len(self.order)

    def arrow_chunks(self, rows: int) -> Iterator[tuple[pa.Table, np.ndarray, np.ndarray]]:
        """The cells best first, ``rows`` at a time: the stored columns of each slice (rank,
        p_top_n and score filled in, text still dictionary-encoded) and its EPSG:4326 lon, lat."""
        rows = max(1, int(rows))
        replaced = {"rank": None, "p_top_n": self.p, "score": self.score}
        for start in range(0, len(self.order), rows):
            pick = self.order[start : start + rows]
            part = self.table.take(pa.array(pick, type=pa.int64())).combine_chunks()
            for col, values in replaced.items():
                if values is None:
                    array = pa.array(np.arange(start + 1, start + len(pick) + 1, dtype="int64"))
                else:
                    array = pa.array(values[pick])
                part = part.set_column(part.schema.get_field_index(col), col, array)
            lon = part.column(_LON).to_numpy()
            lat = part.column(_LAT).to_numpy()
            yield part.drop_columns([_LON, _LAT]), lon, lat

    def chunks(self, rows: int) -> Iterator[gpd.GeoDataFrame]:
        """The cells best first, ``rows`` at a time (the ``grid_cells`` frame of each slice)."""
        rows = max(1, int(rows))
        for start in range(0, len(self.order), rows):
            pick = self.order[start : start + rows]
            yield self.store.frame(
                self.table,
                pick,
                {
                    "rank": np.arange(start + 1, start + len(pick) + 1, dtype="int64"),
                    "p_top_n": self.p[pick],
                    "score": self.score[pick],
                },
            )


def _empty_chunk(layers: dict[str, pd.DataFrame], config: ScoringConfig, engine: Engine, log: RowLog):
    """The zero-row ``grid_cells`` frame (no cell is a candidate)."""
    return _scored_chunk(
        pd.DataFrame(columns=["cell_id", "state", "x_m", "y_m", "area_km2"]),
        pd.DataFrame({"ghi_kwh_m2_day": [], "wind_class": []}),
        layers,
        config,
        engine,
        log,
        dict.fromkeys(("cells_s", "measure_s", "score_s"), 0.0),
        keep_empty=True,
    )


def _whole_score(
    table: pa.Table, sub_columns: list[str], config: ScoringConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Score (0..1, 0 when excluded) of every stored cell at once, and the sub-scores (cells x criteria).

    :func:`gis.scoring.score.score_measures` scores each chunk too, but a matrix product rounds a
    row's last bit by where the row falls in it: scoring every cell in one product, as an unchunked
    run does, keeps the scores (and so the ranks) the same for every ``chunk_rows``.
    """
    subs = pd.DataFrame({c: table.column(c).to_numpy() for c in sub_columns}).to_numpy(dtype="float64")
    weights = np.array([c.weight for c in config.criteria.values()])
    score = np.clip(subs @ weights, 0.0, 1.0) if len(subs) else np.zeros(0)
    return np.where(table.column("excluded").to_numpy(), 0.0, score), subs


def _rank_order(score: np.ndarray, site_id: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Best first, ties by site_id: the order of :func:`gis.scoring.score.rank_order`.

    The cells are sorted by score, and only the runs of equal scores are then ordered by id
    (Arrow compares UTF-8 bytes, which orders as the code points Python compares): the order of
    sorting every cell by (score, id), without ordering a million ids when few scores tie.
    """
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    tied = np.r_[False, ranked[1:] == ranked[:-1]]  # equal to the cell before (-0.0 == 0.0)
    if not tied.any():
        return order
    in_run = np.flatnonzero(tied | np.r_[tied[1:], False])
    run = np.cumsum(~tied)[in_run]  # one number per run of equal scores, increasing
    ids = site_id.take(pa.array(order[in_run], type=pa.int64()))
    by_id = pc.sort_indices(
        pa.table({"run": run, "id": ids}), sort_keys=[("run", "ascending"), ("id", "ascending")]
    )
    order[in_run] = order[in_run][by_id.to_numpy()]
    return order


def _ranked_cells(
    layers: dict[str, pd.DataFrame],
    config: ScoringConfig,
    *,
    engine: Engine | None,
    workdir: str | Path | None,
    log: RowLog,
    timings: dict[str, float],
) -> _Ranked | None:
    """Pass one: cells chunk by chunk into a :class:`_CellStore`; then rank and rank stability."""
    chunk = min(config.national_grid.chunk_rows, STREAM_ROWS)
    engine = engine or LocalEngine(chunk_rows=chunk)
    layers = {**layers, **metric_layers(layers)}  # reprojected once, not once per chunk
    t0 = time.perf_counter()
    with stage("grid_cells"), tempfile.TemporaryDirectory(prefix="gis-grid-") as tmp:
        cells, resource = grid_cells_and_resource(layers, config, workdir=Path(workdir or tmp), log=log)
    timings["cells_s"] += time.perf_counter() - t0
    store = _CellStore()
    _measure_and_store(cells, resource, chunk, layers, config, engine, log, timings, store)
    del cells, resource
    if not store.parts:
        return None
    t0 = time.perf_counter()
    table = store.table()
    score, subs = _whole_score(table, [c for c in store.columns if c.startswith("s_")], config)
    order = _rank_order(score, table.column("site_id"))
    timings["score_s"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    subs = subs[order]
    weights = np.array([c.weight for c in config.criteria.values()])
    p = np.zeros(len(order))
    # one BLAS thread: the products are small (cells x a few criteria), and on a busy machine the
    # threads of a multi-threaded BLAS spin waiting for each other (OpenBLAS splits a product by
    # rows and columns of the result, so each element is summed the same way: files unchanged)
    with stage("grid_stability"), threadpool_limits(limits=1, user_api="blas"):
        p[order] = p_top_n(
            subs,
            weights,
            table.column("excluded").to_numpy()[order],
            config.stability,
            max_elements=STABILITY_ELEMENTS,
        )
    del subs
    timings["stability_s"] = time.perf_counter() - t0
    return _Ranked(store, table, order, p, score)


def _timed_measure(
    engine: Engine,
    sites: gpd.GeoDataFrame,
    layers: dict[str, pd.DataFrame],
    config: ScoringConfig,
    timings: dict[str, float],
) -> pd.DataFrame:
    """:func:`measure_cells` of ``sites`` on ``engine``, its seconds added to ``measure_s`` and
    recorded as a ``grid_measure`` timing row (it runs beside ``grid_chunk``, on the worker)."""
    t0 = time.perf_counter()
    try:
        return engine.measure(sites, layers, config, func=measure_cells)
    finally:
        seconds = time.perf_counter() - t0
        with _TIMINGS_LOCK:  # two workers may finish at once
            timings["measure_s"] += seconds
            record("grid_measure", t0, seconds)


_TIMINGS_LOCK = threading.Lock()


def _measure_and_store(
    cells: pd.DataFrame,
    resource: pd.DataFrame,
    chunk: int,
    layers: dict[str, pd.DataFrame],
    config: ScoringConfig,
    engine: Engine,
    log: RowLog,
    timings: dict[str, float],
    store: _CellStore,
) -> None:
    """Pass one, ``chunk`` cells at a time, with the measures of the next chunks running on worker
    threads while this one scores, checks and stores the chunk before them.

    The measures are nearest-feature queries in GEOS, which release the GIL, so on two cores
    they overlap the scoring rather than follow it; on an in-process engine two chunks are
    measured at once (:func:`_measure_workers`), so the cores stay busy when this thread's
    share of the work is the smaller. Chunks are stored in their order, whatever order their
    measures end in: the result is the one-thread result, row for row. ``measure_s`` counts
    the workers' seconds (overlapped, added up), ``measure_wait_s`` the seconds this thread
    waited for them.
    """
    timings.setdefault("measure_wait_s", 0.0)

    def finish(sites: gpd.GeoDataFrame, future: Future[pd.DataFrame]) -> None:
        t0 = time.perf_counter()
        measures = future.result()
        timings["measure_wait_s"] += time.perf_counter() - t0
        store.add(_finished_chunk(sites, measures, config, timings))
        _release_memory()

    workers = _measure_workers(engine)
    pending: deque[tuple[gpd.GeoDataFrame, Future[pd.DataFrame]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gis-grid-measure") as pool:
        try:
            for start in range(0, max(len(cells), 1), chunk):
                with stage("grid_chunk"):
                    t0 = time.perf_counter()
                    sites = cell_sites(
                        cells.iloc[start : start + chunk],
                        resource.iloc[start : start + chunk],
                        config.national_grid,
                        log,
                    )
                    timings["cells_s"] += time.perf_counter() - t0
                    if len(sites):
                        future = pool.submit(_timed_measure, engine, sites, layers, config, timings)
                        pending.append((sites, future))
                    del sites
                    if len(pending) > workers:
                        finish(*pending.popleft())
            while pending:
                with stage("grid_chunk"):
                    finish(*pending.popleft())
        finally:
            for _, future in pending:
                future.cancel()
            pending.clear()


MEASURE_WORKERS = 2
"""Chunks measured at once on an in-process engine: the nearest-feature queries release the
GIL, so two chunks' queries and this thread's scoring share the machine's cores."""


def _measure_workers(engine: Engine) -> int:
    """Threads measuring chunks at once: :data:`MEASURE_WORKERS` on a :class:`LocalEngine`
    (GEOS queries, thread-safe), one on any other engine (a cluster spreads a chunk itself)."""
    return MEASURE_WORKERS if isinstance(engine, LocalEngine) else 1


def _release_memory() -> None:
    """Hand the chunk's freed temporaries back to the system (glibc keeps them otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (restored on leaving, as it was).

    Grid mode makes a shapely point per cell (about three per cell across the chunk's steps),
    and each counts towards the collector's thresholds: at a million cells the collector ran
    thousands of times, traversing every tracked object, for about 3.7 CPU seconds of 38 at
    2.5 km, finding next to nothing. Its reference counting still frees every chunk's objects
    as they go; the few reference cycles left are collected once the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def score_grid_with_log(
    layers: dict[str, pd.DataFrame],
    scenario_or_config: Scenario | ScoringConfig,
    *,
    engine: Engine | None = None,
    workdir: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, RowLog, dict[str, float]]:
    """Like :func:`score_grid`, also returning the row log and seconds per step.

    Cells stream through candidates, measures and scores ``chunk_rows`` at a time
    (``[scoring.national_grid]``) into a compact column store; the rank and the rank stability
    then run over all cells (score and sub-scores only). This returns every cell as one frame;
    :func:`write_grid` writes them without ever holding that frame.
    """
    config = _config(scenario_or_config)
    log = RowLog("grid_cells")
    timings = {"cells_s": 0.0, "measure_s": 0.0, "score_s": 0.0, "stability_s": 0.0}
    engine = engine or LocalEngine(chunk_rows=min(config.national_grid.chunk_rows, STREAM_ROWS))
    with _collector_paused():
        ranked = _ranked_cells(layers, config, engine=engine, workdir=workdir, log=log, timings=timings)
    if ranked is None:
        return _empty_chunk({**layers, **metric_layers(layers)}, config, engine, log), log, timings
    frame = pd.concat(list(ranked.chunks(len(ranked))), ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS), log, timings


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


class _Summary:
    """Per-category cells, excluded cells, mean and best score, added up chunk by chunk."""

    def __init__(self) -> None:
        self.rows: dict[str, list[float]] = {}

    def add(self, cells: pd.DataFrame) -> None:
        groups = cells.groupby("category", sort=True)
        sums = groups.agg(
            cells=("score", "size"),
            excluded=("excluded", "sum"),
            total=("score", "sum"),
            best=("score", "max"),
        )
        for category, row in sums.iterrows():
            seen = self.rows.setdefault(str(category), [0, 0, 0.0, -np.inf])
            seen[0] += int(row["cells"])
            seen[1] += int(row["excluded"])
            seen[2] += float(row["total"])
            seen[3] = max(seen[3], float(row["best"]))

    def add_arrow(self, category: pa.Array, score: pa.Array, excluded: pa.Array) -> None:
        """:meth:`add` for a slice held as Arrow columns (category text, score, excluded flag)."""
        self.add(
            pd.DataFrame(
                {
                    "category": category.cast(pa.string()).to_numpy(zero_copy_only=False),
                    "score": score.to_numpy(),
                    "excluded": excluded.to_numpy(zero_copy_only=False),
                }
            )
        )

    def table(self, seconds: float) -> Table:
        table = Table(title=f"Grid cells ({seconds:.1f} s)")
        for col in ("category", "cells", "excluded", "mean score", "best score"):
            table.add_column(col, justify="left" if col == "category" else "right")
        for category in sorted(self.rows):
            cells, excluded, total, best = self.rows[category]
            table.add_row(category, f"{cells:,}", f"{excluded:,}", f"{total / cells:.3f}", f"{best:.3f}")
        return table


def write_grid(
    out: str | Path,
    layers: dict[str, pd.DataFrame],
    scenario: Scenario,
    *,
    engine: Engine | None = None,
    rows: int | None = None,
) -> tuple[dict[str, Path], RowLog, dict[str, float], _Summary]:
    """Score the grid and write ``OUT/grid_cells.gpkg`` and ``OUT/grid_cells_ranked.csv``, streamed.

    Cells are scored ``chunk_rows`` at a time into a compact column store (no geometry objects),
    ranked, then written best first ``rows`` cells at a time (default ``chunk_rows``): appended to
    the GeoPackage layer (EPSG:4326 points) and the CSV, so the whole grid is never one frame.
    Both files appear atomically: on an error the previous ones are left as they were.

    Returns
    -------
    the two paths (``grid_gpkg``, ``grid_csv``), the row log, seconds per step (``cells_s``,
    ``measure_s``, ``score_s``, ``stability_s``, ``write_s``; the measures run on a second thread
    and the GeoPackage insert on a child process, so ``measure_wait_s`` and ``gpkg_wait_s`` say how
    long this thread waited for them, ``gpkg_child_cpu_s`` and ``gpkg_child_peak_gb`` what the
    child used: CPU seconds and peak memory, GB) and the per-category summary.
    """
    config = scenario.scoring
    out = Path(out)
    rows = rows or min(config.national_grid.chunk_rows, STREAM_ROWS)
    log = RowLog("grid_cells")
    timings = {"cells_s": 0.0, "measure_s": 0.0, "score_s": 0.0, "stability_s": 0.0, "write_s": 0.0}
    engine = engine or LocalEngine(chunk_rows=min(config.national_grid.chunk_rows, STREAM_ROWS))
    try:  # the GeoPackage's writer starts now, so its start-up overlaps the scoring
        process: GpkgChild | None = GpkgChild()
    except OSError:  # no child process can be started here: GDAL will insert in this process
        process = None
    try:
        with _collector_paused():
            ranked = _ranked_cells(layers, config, engine=engine, workdir=None, log=log, timings=timings)
            summary = _Summary()
            t0 = time.perf_counter()
            paths = _write_files(out, ranked, rows, scenario, layers, engine, log, summary, timings, process)
            timings["write_s"] = time.perf_counter() - t0
    finally:
        if process is not None:
            process.stop()  # ended already when it wrote the layer
    return paths, log, timings, summary


def _write_files(
    out: Path,
    ranked: _Ranked | None,
    rows: int,
    scenario: Scenario,
    layers: dict[str, pd.DataFrame],
    engine: Engine,
    log: RowLog,
    summary: _Summary,
    timings: dict[str, float],
    process: GpkgChild | None,
) -> dict[str, Path]:
    """Write ``OUT/grid_cells.gpkg`` and ``OUT/grid_cells_ranked.csv`` atomically (the layer empty
    when no cell is a candidate); ``process`` inserts the GeoPackage (None: this process)."""
    import pyogrio

    metadata = _grid_metadata(scenario, log)
    gpkg, csv = out / "grid_cells.gpkg", out / "grid_cells_ranked.csv"
    with (
        stage("grid_write"),
        atomic_path(gpkg) as gpkg_tmp,
        atomic_path(csv) as csv_tmp,
        open(csv_tmp, "wb") as csv_file,
    ):
        if ranked is None:
            config = scenario.scoring
            empty = _empty_chunk({**layers, **metric_layers(layers)}, config, engine, log)
            pyogrio.write_dataframe(
                empty, gpkg_tmp, layer="grid_cells", driver="GPKG", use_arrow=True, **_first_write(metadata)
            )
            csv_file.write(csv_header([*empty.columns.drop("geometry"), "lat", "lon"]))
        else:
            _write_ranked(ranked, rows, gpkg_tmp, csv_file, metadata, summary, timings, process)
    return {"grid_gpkg": gpkg, "grid_csv": csv}


def _first_write(metadata: dict[str, str]) -> dict[str, object]:
    """Options of the GeoPackage's first write: its version and the layer's metadata."""
    return {"dataset_options": {"VERSION": GPKG_VERSION}, "layer_metadata": metadata}


_CSV_DIGITS_PREFIXED = {"s_": 6}
"""Decimals of the sub-score columns (``s_<criterion>``) in grid_cells_ranked.csv."""


def _write_ranked(
    ranked: _Ranked,
    rows: int,
    gpkg: Path,
    csv_file: BinaryIO,
    metadata: dict[str, str],
    summary: _Summary,
    timings: dict[str, float],
    process: GpkgChild | None,
) -> None:
    """Write the ranked cells, ``rows`` at a time, to the GeoPackage layer and the CSV.

    Each slice goes from the Arrow store to both files without a pandas frame: the GeoPackage gets
    the table ``pyogrio.write_dataframe`` would build from the slice's ``grid_cells`` frame (text
    decoded to the types pandas gives, points as WKB), the CSV gets
    :func:`gis.grid.files.csv_bytes` (what ``to_csv`` writes for the rounded frame). The slices
    reach GDAL as one stream of record batches (one layer creation and one spatial index built at
    the end, not an append per slice), inserted by a child process
    (:class:`gis.grid.gpkg.GpkgStream`) while this one writes the slice's CSV and builds the next
    slice: GDAL's insert holds the GIL, so on one process the two would run one after the other.
    Where no child process could be started (``process`` None), GDAL inserts in this process, the
    same batches.
    """
    store = ranked.store
    names = [c for c in store.columns if c != "geometry"]
    digits = {c: d for c in names for p, d in _CSV_DIGITS_PREFIXED.items() if c.startswith(p)}
    digits |= {c: d for c, d in GRID_CSV_FLOAT_DIGITS.items() if c in names or c in ("lat", "lon")}
    schema = pa.schema(
        [pa.field(c, pa.binary() if c == "geometry" else store.write_types[c]) for c in store.columns]
    )
    csv_file.write(csv_header([*names, "lat", "lon"]))
    slices = _slices(ranked, rows, schema, csv_file, digits, summary)
    options: dict[str, Any] = {
        "layer": "grid_cells",
        "geometry_name": "geometry",
        "geometry_type": "Point",
        "crs": STORAGE_CRS,
        **_first_write(metadata),
    }
    if process is None:  # no child process could be started: GDAL inserts in this process
        import pyogrio

        batches = (batch for table in slices for batch in table.to_batches())
        pyogrio.write_arrow(
            pa.RecordBatchReader.from_batches(schema, batches), gpkg, driver="GPKG", **options
        )
        return
    with GpkgStream(gpkg, schema, process=process, **options) as layer:
        for table in slices:
            layer.write(table)  # inserted by the child while the slice's CSV is made
    timings["gpkg_wait_s"] = layer.wait_s
    timings |= {f"gpkg_child_{k}": v for k, v in layer.child.items()}


def _slices(
    ranked: _Ranked,
    rows: int,
    schema: pa.Schema,
    csv_file: BinaryIO,
    digits: dict[str, int],
    summary: _Summary,
) -> Iterator[pa.Table]:
    """The GeoPackage table of each slice of ``rows`` ranked cells, best first; once a slice's
    table is taken, its CSV rows are written to ``csv_file`` and it is added to ``summary``.

    Parameters
    ----------
    ranked
        the ranked cells.
    rows
        cells per slice.
    schema
        the layer's Arrow schema (``store.columns``; WKB geometry).
    csv_file
        the CSV, its header written.
    digits
        decimals per float column of the CSV.
    summary
        the per-category summary, added to.

    Yields
    ------
    pyarrow.Table
        the slice's rows for the GeoPackage (EPSG:4326 points as WKB).
    """
    store = ranked.store
    names = [c for c in store.columns if c != "geometry"]
    for part, lon, lat in ranked.arrow_chunks(rows):
        arrays = [
            point_wkb(lon, lat) if c == "geometry" else part.column(c).cast(schema.field(c).type)
            for c in store.columns
        ]
        yield pa.Table.from_arrays(arrays, schema=schema)
        del arrays
        columns = {c: part.column(c) for c in names} | {"lat": pa.array(lat), "lon": pa.array(lon)}
        csv_file.write(csv_bytes(columns, digits))
        summary.add_arrow(part.column("category"), part.column("score"), part.column("excluded"))
        del columns, part
        _release_memory()


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
    paths, log, _, summary = write_grid(out, layers, scenario, engine=engine)
    console.print(summary.table(time.perf_counter() - t0))
    for reason, count in log.dropped.items():
        console.print(f"[cyan]left out:[/] {reason}: {count:,}")
    for note in log.notes:
        console.print(f"[cyan]note:[/] {note}")
    console.print(
        f"Wrote {paths['grid_gpkg']} and {paths['grid_csv']} (grid cells are not added to the national estimates)"
    )
    return paths


def _grid_metadata(scenario: Scenario, log: RowLog) -> dict[str, str]:
    """The ``grid_cells`` layer's metadata: tool version, scenario, row log, schema, grid settings.

    Parameters
    ----------
    scenario
        the run's scenario (``scoring.national_grid``: cell size in km, thresholds).
    log
        the row log so far (read and dropped rows).

    Returns
    -------
    dict
        text values (JSON for the log, schema and settings).
    """
    config = scenario.scoring
    return {
        "tool": f"gis-btc-sites {__version__}",
        "scenario": scenario.name,
        "row_log": json.dumps(log.as_dict()),
        "schema": json.dumps(GRID_CELLS.description),
        "national_grid": config.national_grid.model_dump_json(),
    }
