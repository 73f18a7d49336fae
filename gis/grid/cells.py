"""Square national grid cells in EPSG:5070, generated with numpy and one rasterisation.

A cell is ``cell_km`` square, aligned on multiples of ``cell_km`` from the EPSG:5070 origin, so
its id ``g<cell_km>km:<ix>_<iy>`` (``ix = floor(x / cell)``, ``iy = floor(y / cell)``) is stable
across runs and scenarios. A cell belongs to the state polygon that contains its centre
(rasterisation without ``all_touched``: one value per cell, no double counting on borders).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import rasterio.features
from affine import Affine

from gis import METRIC_CRS
from gis.errors import GisError
from gis.rowlog import RowLog

__all__ = ["cell_ids", "square_cells"]


def cell_ids(ix: np.ndarray, iy: np.ndarray, *, cell_km: float) -> np.ndarray:
    """Stable text ids ``g<cell_km>km:<ix>_<iy>`` (vectorised)."""
    prefix = f"g{cell_km:g}km:"
    ix_text = pc.cast(pa.array(np.asarray(ix, dtype="int64")), pa.string())  # as str(int), in C++
    iy_text = pc.cast(pa.array(np.asarray(iy, dtype="int64")), pa.string())
    ids = pc.binary_join_element_wise(prefix, ix_text, "_", iy_text, "")
    return ids.to_numpy(zero_copy_only=False).astype(object)


def square_cells(
    states: pd.DataFrame,
    *,
    cell_km: float,
    exclude_states: list[str] | tuple[str, ...] = (),
    max_cells: int = 5_000_000,
    log: RowLog | None = None,
) -> pd.DataFrame:
    """Cells whose centre lies in a state polygon: ``cell_id, state, x_m, y_m, area_km2``.

    Parameters
    ----------
    states
        the ``states`` layer (any CRS; reprojected to EPSG:5070).
    cell_km
        side of a cell, km.
    exclude_states
        two-letter codes left out (EPSG:5070 is an Albers projection of the contiguous US).
    max_cells
        refuse (GisError) to build more cells than this; the raster of the bounding box is
        checked before it is allocated.

    Returns
    -------
    DataFrame
        one row per cell, ordered north to south then west to east; ``x_m``/``y_m`` are the
        centre in EPSG:5070 metres.
    """
    _check_grid_inputs(states, cell_km)
    kept = states.loc[~states["state"].isin(list(exclude_states))]
    if log is not None and len(kept) < len(states):
        log.note(f"grid: states left out by exclude_states: {', '.join(sorted(exclude_states))}")
    polygons = kept.geometry.to_crs(METRIC_CRS)
    cell = cell_km * 1000.0
    col0, row_top, width, height = _raster_window(polygons.total_bounds, cell_km, max_cells)
    transform = Affine(cell, 0.0, col0 * cell, 0.0, -cell, row_top * cell)
    codes = kept["state"].astype(str).to_numpy(dtype=object)
    dtype = "uint8" if len(codes) < 255 else "uint16"
    raster = rasterio.features.rasterize(
        zip(polygons.values, range(1, len(codes) + 1), strict=True),
        out_shape=(height, width),
        transform=transform,
        fill=0,
        dtype=dtype,
        all_touched=False,
    )
    rows, cols = np.nonzero(raster)
    if len(rows) > max_cells:
        raise GisError(
            f"{len(rows):,} cells of {cell_km:g} km exceed max_cells={max_cells:,}",
            field="scoring.national_grid.cell_km",
            fix="raise cell_km (or max_cells, if the machine has the memory)",
        )
    return _cells_frame(raster, rows, cols, codes, (col0, row_top), cell_km)


def _check_grid_inputs(states: pd.DataFrame, cell_km: float) -> None:
    """Refuse a non-positive cell size (km) or a missing or empty states layer.

    Parameters
    ----------
    states
        the ``states`` layer, or None.
    cell_km
        side of a cell, km.

    Raises
    ------
    GisError
        naming ``scoring.national_grid.cell_km`` or the ``states`` layer.
    """
    if not cell_km > 0:
        raise GisError(
            f"the cell size must be positive, got {cell_km}",
            field="scoring.national_grid.cell_km",
            fix="give a size in km, e.g. 5",
        )
    if states is None or len(states) == 0:
        raise GisError(
            "grid mode needs the states layer to place cells",
            field="states",
            fix="build the layers with `gis build` (the Census boundaries source)",
        )


def _raster_window(bounds: np.ndarray, cell_km: float, max_cells: int) -> tuple[int, int, int, int]:
    """The cell raster covering ``bounds``, in whole cells of the EPSG:5070 grid.

    Parameters
    ----------
    bounds
        ``minx, miny, maxx, maxy`` of the states, EPSG:5070 metres.
    cell_km
        side of a cell, km.
    max_cells
        the cell budget; a raster over 4 x ``max_cells`` is refused before it is allocated.

    Returns
    -------
    (int, int, int, int)
        first column and top row (cell indices from the origin), width and height (cells).

    Raises
    ------
    GisError
        when the raster is beyond the budget.
    """
    cell = cell_km * 1000.0
    minx, miny, maxx, maxy = bounds
    col0, row_top = math.floor(minx / cell), math.ceil(maxy / cell)
    width, height = math.ceil(maxx / cell) - col0, row_top - math.floor(miny / cell)
    if width * height > 4 * max_cells:
        raise GisError(
            f"{cell_km:g} km cells would need a {width:,} x {height:,} raster, beyond max_cells={max_cells:,}",
            field="scoring.national_grid.cell_km",
            fix="raise cell_km (or max_cells, if the machine has the memory)",
        )
    return col0, row_top, width, height


def _cells_frame(
    raster: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    codes: np.ndarray,
    origin: tuple[int, int],
    cell_km: float,
) -> pd.DataFrame:
    """The cells table from the rasterised states.

    Parameters
    ----------
    raster
        state number per raster cell (1-based into ``codes``; 0 outside).
    rows, cols
        the raster positions of the cells kept, north to south then west to east.
    codes
        the states' two-letter codes.
    origin
        first column and top row of the raster, cell indices of the EPSG:5070 grid.
    cell_km
        side of a cell, km.

    Returns
    -------
    DataFrame
        ``cell_id, state, x_m, y_m`` (centre, EPSG:5070 metres), ``area_km2`` (km2).
    """
    col0, row_top = origin
    cell = cell_km * 1000.0
    ix = col0 + cols.astype("int64")
    iy = row_top - 1 - rows.astype("int64")
    return pd.DataFrame(
        {
            "cell_id": pd.Series(cell_ids(ix, iy, cell_km=cell_km), dtype=object),
            "state": pd.Series(codes[raster[rows, cols].astype("int64") - 1], dtype=object),
            "x_m": (ix + 0.5) * cell,
            "y_m": (iy + 0.5) * cell,
            "area_km2": np.full(len(rows), cell_km * cell_km),
        }
    )
