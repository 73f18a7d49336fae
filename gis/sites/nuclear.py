"""Nuclear surplus: operating nuclear plants' off-peak output from the ``plants`` layer.

Model (``[scoring.sites.nuclear_surplus]``)::

    mineable_mw = capacity_mw x offpeak_surplus_fraction x offpeak_hours_fraction

i.e. the average MW a plant could divert to mining in low-demand hours instead of selling
it at low or negative prices (a reactor runs flat out, ~91 % capacity factor, whatever the
demand). Both fractions are planning assumptions: confidence "low".
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gis.rowlog import RowLog
from gis.scoring.config import NuclearSurplusModel
from gis.sites._frame import empty_sites, fmt_mw, site_frame

__all__ = ["nuclear_surplus_sites"]


def nuclear_surplus_sites(plants: pd.DataFrame, model: NuclearSurplusModel, log: RowLog) -> gpd.GeoDataFrame:
    """Candidate sites of category ``nuclear_surplus`` (EPSG:4326 points, MW)."""
    rows = plants.loc[plants["fuel"] == "nuclear"]
    log.read(len(rows))
    rows = log.drop(rows, rows["status"] == "retired", "nuclear_surplus: plant retired")
    rows = log.drop(rows, ~(rows["capacity_mw"] > 0), "nuclear_surplus: no nameplate capacity")
    if rows.empty:
        log.note("nuclear_surplus: no operating nuclear plants in the plants layer")
        return empty_sites()
    cap = rows["capacity_mw"].to_numpy(dtype="float64")
    factor = model.offpeak_surplus_fraction * model.offpeak_hours_fraction
    basis = (
        fmt_mw(cap, 0)
        + f" MW x off-peak surplus fraction {model.offpeak_surplus_fraction:g}"
        + f" x off-peak share of hours {model.offpeak_hours_fraction:g}"
    )
    return site_frame(
        rows.geometry,
        site_id="nuclear_surplus:" + rows["plant_id"].astype("int64").astype(str),
        name=rows["name"],
        category="nuclear_surplus",
        owner=rows["owner"],
        owner_class=rows["owner_class"],
        state=rows["state"],
        fuel="nuclear",
        energy_fuel="nuclear",
        capacity_mw=cap,
        asset_mw=cap * factor,
        offgrid=False,
        grid_voltage_kv=rows["grid_voltage_kv"],
        retirement_date=rows["retirement_date"],
        members=1,
        confidence="low",
        basis=basis,
    )
