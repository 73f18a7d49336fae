"""Nuclear surplus: operating nuclear plants from the ``plants`` layer.

A reactor runs flat out (~91 % capacity factor) and sells what it makes: its unused capacity
is not surplus. Its wasted energy is found hour by hour in :mod:`gis.energy`: in hours when the
plant's market price is at or below zero, a flexible share of its nameplate (the size of real
co-location deals) could go to a miner instead of being sold at a loss. No market evidence, no
surplus. ``asset_mw`` here is the nameplate; the energy stage replaces it.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gis.config.scoring import NuclearSurplusModel
from gis.rowlog import RowLog
from gis.sites._frame import empty_sites, plant_site_frame

__all__ = ["nuclear_surplus_sites"]


def nuclear_surplus_sites(plants: pd.DataFrame, model: NuclearSurplusModel, log: RowLog) -> gpd.GeoDataFrame:
    """Candidate sites of category ``nuclear_surplus`` (EPSG:4326 points, MW)."""
    del model  # the category's numbers live in [energy.categories.nuclear_surplus]
    rows = plants.loc[plants["fuel"] == "nuclear"]
    log.read(len(rows))
    rows = log.drop(rows, rows["status"] == "retired", "nuclear_surplus: plant retired")
    rows = log.drop(rows, ~(rows["capacity_mw"] > 0), "nuclear_surplus: no nameplate capacity")
    if rows.empty:
        log.note("nuclear_surplus: no operating nuclear plants in the plants layer")
        return empty_sites()
    cap = rows["capacity_mw"].to_numpy(dtype="float64")
    return plant_site_frame(
        rows,
        "nuclear_surplus",
        confidence="medium",
        basis="operating reactor, nameplate " + pd.Series(cap).round(0).map("{:,.0f} MW".format),
    )
