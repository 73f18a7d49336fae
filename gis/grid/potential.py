"""Grid cells -> candidate rows: average MW of a co-located wind or solar plant per cell.

From the ``[scoring.national_grid]`` table (see :class:`gis.config.scoring.NationalGridConfig`)::

    solar_mw  = area_km2 x solar_land_fraction x solar_mw_per_km2          (nameplate, MW)
    solar_avg = solar_mw x ghi_kwh_m2_day x solar_performance_ratio / 24 h  (average MW)
    wind_mw   = area_km2 x wind_land_fraction x wind_mw_per_km2
    wind_avg  = wind_mw x capacity factor interpolated from the wind class

The chosen resource (``solar``, ``wind`` or the ``best`` of the two) gives ``capacity_mw`` and
``asset_mw``; a cell with no raster value, or below both thresholds, is not a candidate (counted).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from gis import METRIC_CRS
from gis.config.scoring import NationalGridConfig
from gis.grid.columns import GRID_CELLS
from gis.rowlog import RowLog
from gis.scoring.columns import CANDIDATE_SITES

__all__ = ["GRID_EXTRA_COLUMNS", "cell_sites"]

_TO_LONLAT = Transformer.from_crs(CRS(METRIC_CRS), CRS("EPSG:4326"), always_xy=True)
"""EPSG:5070 metres -> EPSG:4326 degrees, as geopandas builds it for ``to_crs``."""

GRID_EXTRA_COLUMNS = tuple(c.name for c in GRID_CELLS.columns if c not in CANDIDATE_SITES.columns)
"""Columns grid cells carry besides the candidate-site ones (from :data:`gis.grid.columns.GRID_CELLS`)."""


def _basis(
    fuel: np.ndarray,
    nameplate: np.ndarray,
    average: np.ndarray,
    share: np.ndarray,
    area: np.ndarray,
    reading: np.ndarray,
) -> np.ndarray:
    """One sentence per cell, formatted once per distinct combination (the raster has few values).

    Combinations are found from one integer key per cell (the codes of each input combined), not
    by hashing a million six-field tuples.
    """
    n = len(fuel)
    if n == 0:
        return np.asarray([], dtype=object)
    key = np.zeros(n, dtype="int64")
    for values in (fuel, nameplate, average, share, area, reading):
        codes, uniques = pd.factorize(values)
        key = key * (len(uniques) + 1) + (codes + 1)
        key, _ = pd.factorize(key)  # keep the key small: dense codes of the combinations so far
    codes, _ = pd.factorize(key)
    _, first = np.unique(codes, return_index=True)  # the first cell of each combination, by code
    text = [
        f"{avg:,.2f} MW average of a {mw:,.1f} MW {f} plant on {sh:g} % of the {a:,.1f} km2 cell ("
        + (f"wind class {r:.2f})" if f == "wind" else f"GHI {r:.2f} kWh/m2/day)")
        for f, mw, avg, sh, a, r in zip(
            fuel[first],
            nameplate[first],
            average[first],
            share[first],
            area[first],
            reading[first],
            strict=True,
        )
    ]
    return np.asarray(text, dtype=object)[codes]


def cell_sites(
    cells: pd.DataFrame, resource: pd.DataFrame, model: NationalGridConfig, log: RowLog
) -> gpd.GeoDataFrame:
    """Candidate rows (:data:`gis.sites.SITE_COLUMNS` + :data:`GRID_EXTRA_COLUMNS`, EPSG:4326 cell centres).

    ``cells`` come from :func:`gis.grid.cells.square_cells`; ``resource`` holds
    ``ghi_kwh_m2_day`` and ``wind_class`` per cell (same order).
    """
    log.read(len(cells))
    ghi = resource["ghi_kwh_m2_day"].to_numpy(dtype="float64")
    wind_class = resource["wind_class"].to_numpy(dtype="float64")
    area = cells["area_km2"].to_numpy(dtype="float64")
    solar_mw = area * model.solar_land_fraction * model.solar_mw_per_km2
    solar_avg = solar_mw * ghi * model.solar_performance_ratio / 24.0
    wind_mw = area * model.wind_land_fraction * model.wind_mw_per_km2
    wind_cf = np.interp(wind_class, model.wind_classes, model.wind_capacity_factors)
    wind_avg = wind_mw * wind_cf
    with np.errstate(invalid="ignore"):
        solar_ok = (ghi >= model.min_ghi_kwh_m2_day) & (model.resource in ("best", "solar"))
        wind_ok = (wind_class >= model.min_wind_class) & (model.resource in ("best", "wind"))
    use_wind = wind_ok & (~solar_ok | (np.nan_to_num(wind_avg) > np.nan_to_num(solar_avg)))
    frame = cells.assign(ghi_kwh_m2_day=ghi, wind_class=wind_class)
    no_value = np.isnan(ghi) & np.isnan(wind_class)
    frame = log.drop(frame, no_value, "grid: no resource value at the cell centre")
    below = ~(solar_ok | wind_ok) & ~no_value
    frame = log.drop(frame, below[~no_value], f"grid: {model.resource} resource below the thresholds")
    keep = ~no_value & ~below
    use_wind = use_wind[keep]
    fuel = np.where(use_wind, "wind", "solar")
    nameplate = np.where(use_wind, wind_mw[keep], solar_mw[keep])
    average = np.where(use_wind, wind_avg[keep], solar_avg[keep])
    share = np.where(use_wind, model.wind_land_fraction, model.solar_land_fraction) * 100.0
    reading = np.where(use_wind, frame["wind_class"].to_numpy(), frame["ghi_kwh_m2_day"].to_numpy())
    basis = _basis(fuel, nameplate, average, share, frame["area_km2"].to_numpy(), reading)
    category = np.where(use_wind, "stranded_wind", "stranded_solar").astype(object)
    # the transformation GeoSeries.to_crs applies, on the coordinate arrays themselves
    lon, lat = _TO_LONLAT.transform(frame["x_m"].to_numpy(), frame["y_m"].to_numpy())
    points = gpd.points_from_xy(lon, lat, crs="EPSG:4326")
    n = len(frame)
    columns = _site_columns(frame, category, fuel, nameplate, average, basis)
    sites = gpd.GeoDataFrame(columns, geometry=points, crs="EPSG:4326")
    cell_km = float(np.sqrt(frame["area_km2"].iloc[0])) if len(frame) else np.nan
    for col in GRID_EXTRA_COLUMNS:
        values = frame[col].to_numpy() if col != "cell_km" else np.full(n, cell_km)
        sites[col] = pd.Series(values, index=sites.index, dtype=object if values.dtype == object else None)
    return sites


def _site_columns(
    frame: pd.DataFrame,
    category: np.ndarray,
    fuel: np.ndarray,
    nameplate: np.ndarray,
    average: np.ndarray,
    basis: np.ndarray,
) -> dict[str, pd.Series]:
    """The :data:`gis.sites.SITE_COLUMNS` of the kept cells, as Series (object text kept object).

    Parameters
    ----------
    frame
        the kept cells (``cell_id``, ``state``).
    category, fuel
        ``stranded_wind`` / ``stranded_solar`` and ``wind`` / ``solar`` per cell.
    nameplate, average
        nameplate and average power per cell, MW.
    basis
        the text saying how each cell's power was found.

    Returns
    -------
    dict
        column name to Series (default RangeIndex), in :data:`gis.sites.SITE_COLUMNS` order.
    """
    n = len(frame)
    cell_id = frame["cell_id"].to_numpy(dtype=object)
    columns = {
        "site_id": category + ":" + cell_id,
        "name": "grid cell " + cell_id,
        "category": category,
        "setting": np.full(n, "", dtype=object),
        "owner": np.full(n, "", dtype=object),
        "owner_class": np.full(n, "", dtype=object),
        "state": frame["state"].to_numpy(dtype=object),
        "fuel": fuel.astype(object),
        "energy_fuel": fuel.astype(object),
        "capacity_mw": nameplate.astype("float64"),
        "asset_mw": average.astype("float64"),
        "offgrid": np.zeros(n, dtype=bool),
        "grid_voltage_kv": np.full(n, np.nan),
        "retirement_date": np.full(n, "", dtype=object),
        "members": np.ones(n, dtype="int64"),
        "confidence": np.full(n, "low", dtype=object),
        "basis": basis,
    }
    return {  # object text stays object (no per-value conversion to a string dtype and back)
        col: pd.Series(values, dtype=object if values.dtype == object else None)
        for col, values in columns.items()
    }
