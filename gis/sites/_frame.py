"""The frame every category module returns: one row per candidate site, EPSG:4326 points."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import STORAGE_CRS

__all__ = ["SITE_COLUMNS", "capacity_factor", "empty_sites", "fmt_mw", "site_frame"]

SITE_COLUMNS: dict[str, str] = {
    "site_id": "str",
    "name": "str",
    "category": "str",
    "setting": "str",
    "owner": "str",
    "owner_class": "str",
    "state": "str",
    "fuel": "str",
    "energy_fuel": "str",
    "capacity_mw": "float64",
    "asset_mw": "float64",
    "offgrid": "bool",
    "grid_voltage_kv": "float64",
    "retirement_date": "str",
    "members": "int64",
    "confidence": "str",
    "basis": "str",
    "balancing_authority": "str",
    "capacity_factor_max": "float64",
    "annual_wasted_mwh": "float64",
}
"""Columns of a category module's output (``asset_mw``: mineable MW the asset alone allows,
before the grid limit and shared-interconnect allocation; ``energy_fuel``: key of the emission
factor; ``members``: plants, flares or wells merged into the site; ``balancing_authority``
(EIA-860) and ``capacity_factor_max`` (best year 2013-2019) feed the energy stage;
``annual_wasted_mwh``: curtailed MWh a year allocated to a stranded plant, placed in hours by
:mod:`gis.energy`)."""


def site_frame(geometry: gpd.GeoSeries | gpd.array.GeometryArray, **columns: Any) -> gpd.GeoDataFrame:
    """Assemble a site frame from columns (Series, arrays or scalars) and point geometries.

    Missing columns take their empty value ("" / NaN / 0 / False); geometry is in EPSG:4326.
    """
    geoms = gpd.GeoSeries(geometry)
    if geoms.crs is None:
        geoms = geoms.set_crs(STORAGE_CRS)
    geoms = geoms.to_crs(STORAGE_CRS).reset_index(drop=True)
    n = len(geoms)
    data: dict[str, Any] = {}
    for name, dtype in SITE_COLUMNS.items():
        value = columns.pop(name, None)
        if value is None:
            value = {"str": "", "float64": np.nan, "int64": 0, "bool": False}[dtype]
        if isinstance(value, pd.Series):
            value = value.to_numpy()
        if dtype == "str":
            series = pd.Series(value, index=range(n)) if np.ndim(value) else pd.Series([value] * n)
            data[name] = series.fillna("").astype(str).to_numpy(dtype=object)
        else:
            arr = np.broadcast_to(np.asarray(value), (n,)) if n else np.asarray([], dtype=dtype)
            data[name] = arr.astype(dtype)
    if columns:
        raise TypeError(f"unknown site columns {sorted(columns)}")
    return gpd.GeoDataFrame(data, geometry=geoms.values, crs=STORAGE_CRS)


def plant_site_frame(rows: gpd.GeoDataFrame, category: str, /, **columns: Any) -> gpd.GeoDataFrame:
    """A site frame of one site per EIA plant of ``rows`` (``plants`` layer rows, EPSG:4326 points).

    The plant's id, name, owner, owner class, state, fuel, nameplate (``capacity_mw`` and
    ``asset_mw``, MW), voltage (kV), retirement date and balancing authority fill the columns;
    ``columns`` (as in :func:`site_frame`) override them.
    """
    cap = rows["capacity_mw"].to_numpy(dtype="float64")
    filled: dict[str, Any] = {
        "site_id": category + ":" + rows["plant_id"].astype("int64").astype(str),
        "name": rows["name"],
        "category": category,
        "owner": rows["owner"],
        "owner_class": rows["owner_class"],
        "state": rows["state"],
        "fuel": rows["fuel"],
        "energy_fuel": rows["fuel"],
        "capacity_mw": cap,
        "asset_mw": cap,
        "offgrid": False,
        "grid_voltage_kv": rows["grid_voltage_kv"],
        "retirement_date": rows["retirement_date"],
        "members": 1,
        "balancing_authority": rows.get("balancing_authority", ""),
    }
    filled.update(columns)
    return site_frame(rows.geometry, **filled)


def empty_sites() -> gpd.GeoDataFrame:
    """A site frame with no rows."""
    return site_frame(gpd.GeoSeries([], crs=STORAGE_CRS))


def fmt_mw(values: pd.Series | np.ndarray, digits: int = 1) -> pd.Series:
    """Numbers as text with ``digits`` decimals, vectorised (for ``basis`` sentences)."""
    series = pd.Series(np.asarray(values, dtype="float64"))
    return series.round(digits).map(lambda v: f"{v:,.{digits}f}")


def capacity_factor(plants: pd.DataFrame, *, default: float) -> tuple[np.ndarray, np.ndarray]:
    """The plants' capacity factor clipped to [0, 1] and a mask of rows where ``default`` was used."""
    cf = pd.to_numeric(plants["capacity_factor"], errors="coerce").to_numpy(dtype="float64")
    unknown = ~np.isfinite(cf)
    return np.clip(np.where(unknown, default, cf), 0.0, 1.0), unknown
