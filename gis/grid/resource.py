"""Resource values at cell centres through rasterio windowed reads (one window per tile).

Points are binned by raster tile (``tile_px`` pixels square); each non-empty tile is read once
as a window and indexed with vectorised row/column arrays, so a national raster never has to
fit in memory and a million points cost a handful of reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rasterio.windows
from pyproj import Transformer

from gis import METRIC_CRS
from gis.errors import GisError
from gis.layers.resource import BANDS, resource_raster

__all__ = ["resource_raster_for", "sample_points"]


def resource_raster_for(
    layers: dict[str, pd.DataFrame], *, raster: str = "", res_deg: float = 0.25, workdir: Path
) -> Path:
    """The resource GeoTIFF: the scenario's ``raster`` when set, else one written from ``resource_grid``."""
    if raster:
        path = Path(raster).expanduser()
        if not path.is_file():
            raise GisError(
                "the resource raster does not exist",
                file=path,
                field="scoring.national_grid.raster",
                fix="give a GeoTIFF with bands ghi_kwh_m2_day and wind_class, or leave raster empty",
            )
        return path
    grid = layers.get("resource_grid")
    if grid is None or len(grid) == 0:
        raise GisError(
            "grid mode needs the resource_grid layer (or a resource raster)",
            field="resource_grid",
            fix="build the layers with `gis build`, or set [scoring.national_grid] raster",
        )
    return resource_raster(grid, res_deg=res_deg, path=Path(workdir) / f"resource_{res_deg:g}deg.tif")


def sample_points(
    path: str | Path, x: np.ndarray, y: np.ndarray, *, crs: str = METRIC_CRS, tile_px: int = 512
) -> pd.DataFrame:
    """Band values at points ``(x, y)`` given in ``crs``; one column per band, NaN outside / nodata.

    Columns are named by the band descriptions (``ghi_kwh_m2_day``, ``wind_class`` for the
    resource raster); a raster lacking those bands fails with a GisError naming the band.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise GisError(
            f"cannot open the raster ({exc})",
            file=path,
            field="scoring.national_grid.raster",
            fix="give a GeoTIFF readable by rasterio",
        ) from exc
    with src:
        names = [d or f"band_{i}" for i, d in enumerate(src.descriptions, start=1)]
        missing = [b for b in BANDS if b not in names]
        if missing:
            raise GisError(
                f"the raster has no band described as '{missing[0]}' (bands: {names})",
                file=path,
                field=missing[0],
                fix="set the band descriptions, or write the raster with gis.layers.resource.resource_raster",
            )
        out = np.full((len(x), len(names)), np.nan)
        if len(x) == 0:
            return pd.DataFrame(out, columns=names)
        if src.crs is not None:
            x, y = Transformer.from_crs(crs, src.crs, always_xy=True).transform(x, y)
        col_f, row_f = ~src.transform @ (np.asarray(x), np.asarray(y))
        with np.errstate(invalid="ignore"):
            rows = np.floor(row_f)
            cols = np.floor(col_f)
        inside = np.isfinite(rows) & np.isfinite(cols)
        inside &= (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        idx = np.flatnonzero(inside)
        rows = rows[idx].astype("int64")
        cols = cols[idx].astype("int64")
        tile = (rows // tile_px) * (src.width // tile_px + 1) + cols // tile_px
        order = np.argsort(tile, kind="stable")
        tiles, starts = np.unique(tile[order], return_index=True)
        bounds = np.r_[starts, len(order)]
        per_row = src.width // tile_px + 1
        for k, key in enumerate(tiles):
            pick = order[bounds[k] : bounds[k + 1]]
            r0, c0 = int(key // per_row) * tile_px, int(key % per_row) * tile_px
            window = rasterio.windows.Window(
                c0, r0, min(tile_px, src.width - c0), min(tile_px, src.height - r0)
            )
            data = src.read(window=window, masked=True).astype("float64").filled(np.nan)
            out[idx[pick]] = data[:, rows[pick] - r0, cols[pick] - c0].T
    return pd.DataFrame(out, columns=names)
