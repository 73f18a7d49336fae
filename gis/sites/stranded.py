"""Stranded wind and solar: operating wind and solar plants, whose curtailed energy is wasted.

This module selects the plants (operating, at least ``min_capacity_mw``) and carries what the
energy stage needs; :mod:`gis.energy.stranded` allocates each market's curtailed energy to its
plants and places it in the hours it happens. ``curtailment_table`` (CSV
``plant_id,curtailed_mwh_per_year``) gives plant-level curtailment for the plants it lists
(``annual_wasted_mwh``), overriding the market allocation. ``asset_mw`` here is the nameplate.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.config.scoring import StrandedModel
from gis.errors import GisError
from gis.rowlog import RowLog
from gis.sites._frame import empty_sites, plant_site_frame

__all__ = ["stranded_sites"]


def stranded_sites(
    plants: pd.DataFrame, model: StrandedModel, log: RowLog, curtailment: pd.Series | None = None
) -> gpd.GeoDataFrame:
    """Candidate sites of categories ``stranded_wind`` and ``stranded_solar`` (EPSG:4326 points, MW).

    ``curtailment``: the user's plant-level table ``model.curtailment_table`` as read by
    :func:`gis.layers.curtailment.read_curtailment_table` (MWh/yr by EIA plant id), or None.
    """
    rows = plants.loc[plants["fuel"].isin(["wind", "solar"])]
    log.read(len(rows))
    rows = log.drop(rows, rows["status"] == "retired", "stranded: plant retired")
    rows = log.drop(rows, ~(rows["capacity_mw"] >= model.min_capacity_mw), "stranded: below min_capacity_mw")
    if rows.empty:
        log.note("stranded_wind/stranded_solar: no operating wind or solar plant")
        return empty_sites()
    if model.curtailment_table and curtailment is None:
        raise GisError(
            "the scenario names a curtailment table that was not read",
            field="scoring.sites.stranded.curtailment_table",
            fix="read it with gis.layers.curtailment.read_curtailment_table and pass it as curtailment=",
        )
    listed = (
        rows["plant_id"].map(curtailment).to_numpy(dtype="float64") if curtailment is not None else np.nan
    )
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
