"""Stranded wind and solar: operating wind and solar plants, whose curtailed energy is wasted.

This module selects the plants (operating, at least ``min_capacity_mw``) and carries what the
energy stage needs; :mod:`gis.energy.stranded` allocates each market's curtailed energy to its
plants and places it in the hours it happens. ``curtailment_table`` (CSV
``plant_id,curtailed_mwh_per_year``) gives plant-level curtailment for the plants it lists
(``annual_wasted_mwh``), overriding the market allocation. ``asset_mw`` here is the nameplate.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.config.scoring import StrandedModel
from gis.errors import GisError
from gis.rowlog import RowLog
from gis.sites._frame import empty_sites, plant_site_frame

__all__ = ["read_curtailment_table", "stranded_sites"]


def read_curtailment_table(path: str | Path) -> pd.Series:
    """A user's plant-level curtailment, MWh/yr by EIA plant id, from CSV ``plant_id,curtailed_mwh_per_year``."""
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise GisError(
            f"cannot read the curtailment table ({exc})",
            file=path,
            field="scoring.sites.stranded.curtailment_table",
            fix="give a CSV with columns plant_id,curtailed_mwh_per_year",
        ) from exc
    for col in ("plant_id", "curtailed_mwh_per_year"):
        if col not in table.columns:
            raise GisError(
                "the curtailment table lacks a column",
                file=path,
                field=col,
                fix="give a CSV with columns plant_id,curtailed_mwh_per_year",
            )
    values = pd.to_numeric(table["curtailed_mwh_per_year"], errors="coerce")
    ids = pd.to_numeric(table["plant_id"], errors="coerce")
    bad = values.isna() | ids.isna() | (values < 0) | ids.duplicated()
    if bad.any():
        raise GisError(
            f"{int(bad.sum())} rows have a missing, negative or duplicate value",
            file=path,
            field="curtailed_mwh_per_year",
            fix="one row per plant_id, MWh per year >= 0",
        )
    return pd.Series(values.to_numpy(dtype="float64"), index=ids.astype("int64").to_numpy())


def stranded_sites(plants: pd.DataFrame, model: StrandedModel, log: RowLog) -> gpd.GeoDataFrame:
    """Candidate sites of categories ``stranded_wind`` and ``stranded_solar`` (EPSG:4326 points, MW)."""
    rows = plants.loc[plants["fuel"].isin(["wind", "solar"])]
    log.read(len(rows))
    rows = log.drop(rows, rows["status"] == "retired", "stranded: plant retired")
    rows = log.drop(rows, ~(rows["capacity_mw"] >= model.min_capacity_mw), "stranded: below min_capacity_mw")
    if rows.empty:
        log.note("stranded_wind/stranded_solar: no operating wind or solar plant")
        return empty_sites()
    override = read_curtailment_table(model.curtailment_table) if model.curtailment_table else None
    listed = rows["plant_id"].map(override).to_numpy(dtype="float64") if override is not None else np.nan
    cf = pd.to_numeric(rows["capacity_factor"], errors="coerce") if "capacity_factor" in rows else np.nan
    return plant_site_frame(
        rows,
        "stranded",
        site_id=np.where(rows["fuel"] == "wind", "stranded_wind:", "stranded_solar:")
        + rows["plant_id"].astype("int64").astype(str).to_numpy(dtype=object),
        category=np.where(rows["fuel"] == "wind", "stranded_wind", "stranded_solar"),
        capacity_mw=rows["capacity_mw"],
        asset_mw=rows["capacity_mw"],
        confidence="low",
        basis="",
        capacity_factor_max=cf,
        annual_wasted_mwh=listed,
    )
