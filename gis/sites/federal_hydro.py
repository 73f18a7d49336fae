"""Federal hydro: TVA, Army Corps (USACE) and Reclamation (USBR) dams from the ``plants`` layer.

The site is the dam; its wasted energy is spill only, found hour by hour in :mod:`gis.energy`
(hours when the dam's market price is at or below zero, a share of its wettest-year output
rate). A low capacity factor (a dry year, missing water) never raises it, so this module only
selects the dams and carries ``capacity_factor_max`` (best year 2013-2019, EIA-923 via GPPD).
Pumped storage is a net consumer of energy (it pumps at night to generate at peak), so it is
left out unless ``include_pumped_storage`` is set. ``asset_mw`` here is the nameplate; the
energy stage replaces it with the MW of spill available in a surplus hour.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.config.scoring import FederalHydroModel
from gis.rowlog import RowLog
from gis.sites._frame import empty_sites, plant_site_frame

__all__ = ["federal_hydro_sites"]


def federal_hydro_sites(plants: pd.DataFrame, model: FederalHydroModel, log: RowLog) -> gpd.GeoDataFrame:
    """Candidate sites of category ``federal_hydro`` (EPSG:4326 points, MW)."""
    fuels = ["hydro", "pumped_storage"]
    rows = plants.loc[plants["owner_class"].isin(model.owner_classes) & plants["fuel"].isin(fuels)]
    log.read(len(rows))
    if not model.include_pumped_storage:
        rows = log.drop(
            rows, rows["fuel"] == "pumped_storage", "federal_hydro: pumped storage (net consumer; scenario)"
        )
    rows = log.drop(rows, rows["status"] == "retired", "federal_hydro: plant retired")
    rows = log.drop(rows, ~(rows["capacity_mw"] > 0), "federal_hydro: no nameplate capacity")
    if rows.empty:
        log.note("federal_hydro: no federal hydro plants in the plants layer (check owner_class values)")
        return empty_sites()
    cap = rows["capacity_mw"].to_numpy(dtype="float64")
    cf_max = pd.to_numeric(rows.get("capacity_factor_max"), errors="coerce")
    cf_max = cf_max.to_numpy(dtype="float64") if cf_max is not None else np.full(len(rows), np.nan)
    return plant_site_frame(
        rows,
        "federal_hydro",
        confidence="medium",
        basis="federal dam, nameplate " + pd.Series(cap).round(0).map("{:,.0f} MW".format),
        capacity_factor_max=cf_max,
    )
