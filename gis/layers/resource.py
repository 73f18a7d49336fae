"""Solar (GHI) and wind power class on NREL's coarse 1-degree grid, and its raster form.

Layer ``resource_grid``: one polygon per 1-degree cell (EPSG:4326) with annual mean GHI
(kWh/m2/day) and the mean NREL 50 m wind power class (1-7), outer-joined on the cell key, so a
cell with only one of the two has NaN for the other.

Cell convention: the source keys ``(lng, lat)`` come from Python ``int()`` truncation toward
zero, so the key ``(lng=-96, lat=28)`` covers longitude (-97, -96] and latitude [28, 29): for
negative keys the cell extends one degree toward more negative values, for positive keys one
degree toward more positive values. ``cell_id`` names the cell's south-west corner
(``"-97_28"`` for that key).

:func:`resource_raster` writes the grid as a two-band GeoTIFF (band 1 GHI, band 2 wind class,
EPSG:4326, NaN nodata) and :func:`sample_raster` reads values at points through a rasterio
window, so grid-mode scoring reads the resource through rasterio.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import rasterio.transform
import rasterio.windows
import shapely
from affine import Affine

from gis import STORAGE_CRS
from gis.errors import GisError
from gis.io import atomic_path
from gis.rowlog import RowLog
from gis.sources import Fetched, Resolver

__all__ = ["BANDS", "build", "cell_polygons", "read_cell_values", "resource_raster", "sample_raster"]

BANDS = ("ghi_kwh_m2_day", "wind_class")
"""Raster band names, in band order (band 1, band 2)."""


def cell_polygons(lng: pd.Series, lat: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell boxes for truncation-toward-zero keys: (polygons, west edges, south edges), degrees."""
    lng = lng.to_numpy(dtype="float64")
    lat = lat.to_numpy(dtype="float64")
    west = np.where(lng < 0, lng - 1.0, lng)
    south = np.where(lat < 0, lat - 1.0, lat)
    return shapely.box(west, south, west + 1.0, south + 1.0), west, south


def read_cell_values(fetched: Fetched, *, value: str, log: RowLog) -> pd.DataFrame:
    """One NREL cell table as (lng, lat, <value>) with integer keys; bad rows counted in ``log``."""
    try:
        raw = pd.read_csv(fetched.path, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise GisError(
            f"cannot read the table ({exc})", file=fetched.path, fix="re-download the file"
        ) from exc
    log.read(len(raw))
    columns = fetched.source.columns
    wanted = {"lng": f"{value}_lng", "lat": f"{value}_lat", value: value}
    for canonical in wanted.values():
        if canonical not in columns or columns[canonical] not in raw.columns:
            raise GisError(
                f"the table lacks the column mapped to '{canonical}'",
                file=fetched.path,
                field=columns.get(canonical, canonical),
                fix="check the file against the [columns] table of layers/nrel_coarse_resource.toml",
            )
    frame = pd.DataFrame(
        {out: pd.to_numeric(raw[columns[src]], errors="coerce") for out, src in wanted.items()}
    )
    bad_key = frame["lng"].isna() | frame["lat"].isna() | (frame["lng"] % 1 != 0) | (frame["lat"] % 1 != 0)
    frame = log.drop(frame, bad_key, f"{value}: cell key not whole degrees")
    frame = log.drop(frame, frame[value].isna(), f"{value}: no value")
    frame = log.drop(frame, frame.duplicated(["lng", "lat"]), f"{value}: duplicate cell")
    return frame.astype({"lng": "int64", "lat": "int64"})


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``resource_grid`` (1-degree polygons, EPSG:4326)."""
    log = RowLog("resource_grid")
    ghi = read_cell_values(resolver.require("nrel_coarse_resource", "ghi"), value="ghi_kwh_m2_day", log=log)
    wind = read_cell_values(resolver.require("nrel_coarse_resource", "wind"), value="wind_class", log=log)
    bad_class = ~wind["wind_class"].between(1, 7)
    wind = log.drop(wind, bad_class, "wind_class: outside classes 1-7")
    cells = ghi.merge(wind, on=["lng", "lat"], how="outer").sort_values(["lat", "lng"], kind="stable")
    polygons, west, south = cell_polygons(cells["lng"], cells["lat"])
    cell_id = pd.Series(west.astype("int64")).astype(str) + "_" + pd.Series(south.astype("int64")).astype(str)
    log.note(
        f"{len(cells)} cells: {int(cells['ghi_kwh_m2_day'].notna().sum())} with GHI, "
        f"{int(cells['wind_class'].notna().sum())} with a wind class, "
        f"{int(cells[['ghi_kwh_m2_day', 'wind_class']].notna().all(axis=1).sum())} with both"
    )
    grid = gpd.GeoDataFrame(
        {
            "cell_id": cell_id.to_numpy(),
            "ghi_kwh_m2_day": cells["ghi_kwh_m2_day"].to_numpy(dtype="float64"),
            "wind_class": cells["wind_class"].to_numpy(dtype="float64"),
        },
        geometry=polygons,
        crs=STORAGE_CRS,
    )
    return {"resource_grid": (grid, log)}


def resource_raster(resource_grid: gpd.GeoDataFrame, *, res_deg: float = 0.25, path: str | Path) -> Path:
    """Write GHI (band 1, kWh/m2/day) and wind class (band 2) as a float32 GeoTIFF, EPSG:4326.

    Pixels are ``res_deg`` degrees square over the grid's bounds; a pixel takes the value of
    the cell containing its centre, NaN (the nodata value) outside every cell. Written
    atomically; returns ``path``.
    """
    if not res_deg > 0:
        raise GisError(
            "the raster resolution must be positive", field="res_deg", fix="pass e.g. res_deg=0.25"
        )
    grid = resource_grid.to_crs(STORAGE_CRS)
    west, south, east, north = grid.total_bounds
    width = int(np.ceil(round((east - west) / res_deg, 9)))
    height = int(np.ceil(round((north - south) / res_deg, 9)))
    transform = Affine(res_deg, 0.0, west, 0.0, -res_deg, north)
    bands = []
    for band in BANDS:
        has = grid[band].notna()
        shapes = zip(grid.geometry[has], grid.loc[has, band].astype("float32"), strict=True)
        bands.append(
            rasterio.features.rasterize(
                shapes, out_shape=(height, width), transform=transform, fill=np.nan, dtype="float32"
            )
        )
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": len(BANDS),
        "dtype": "float32",
        "crs": STORAGE_CRS,
        "transform": transform,
        "nodata": np.nan,
        "compress": "deflate",
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(np.stack(bands))
        for i, band in enumerate(BANDS, start=1):
            dst.set_band_description(i, band)
        dst.update_tags(units_1="kWh/m2/day", units_2="NREL 50 m wind power class")
    return Path(path)


def sample_raster(path: str | Path, points: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.DataFrame:
    """Band values at ``points`` (one column per band description), NaN outside the raster.

    Reads only the window covering the points, then indexes it with vectorised row/column
    lookups; points are reprojected to the raster's CRS first.
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise GisError(
            f"cannot open the raster ({exc})", file=path, fix="write it with resource_raster()"
        ) from exc
    with src:
        names = [d or f"band_{i}" for i, d in enumerate(src.descriptions, start=1)]
        out = pd.DataFrame(np.nan, index=geoms.index, columns=names, dtype="float64")
        if len(geoms) == 0:
            return out
        if geoms.crs is not None and src.crs is not None and geoms.crs != src.crs:
            geoms = geoms.to_crs(src.crs)
        xs, ys = geoms.x.to_numpy(), geoms.y.to_numpy()
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return out
        window = rasterio.windows.from_bounds(
            xs[ok].min(), ys[ok].min(), xs[ok].max(), ys[ok].max(), transform=src.transform
        )
        window = window.round_offsets(op="floor").round_lengths(op="ceil")
        full = rasterio.windows.Window(0, 0, src.width, src.height)
        try:
            window = window.intersection(full)
        except rasterio.errors.WindowError:
            return out
        window = rasterio.windows.Window(window.col_off, window.row_off, window.width + 1, window.height + 1)
        window = window.intersection(full)
        data = src.read(window=window, masked=True).astype("float64").filled(np.nan)
        rows, cols = rasterio.transform.rowcol(src.transform, xs[ok], ys[ok])
        rows = np.asarray(rows) - int(window.row_off)
        cols = np.asarray(cols) - int(window.col_off)
        inside = (rows >= 0) & (rows < data.shape[1]) & (cols >= 0) & (cols < data.shape[2])
        idx = np.flatnonzero(ok)[inside]
        values = data[:, rows[inside], cols[inside]].T
        out.iloc[idx, :] = values
    return out
