"""Federal hydro: TVA, Army Corps (USACE) and Reclamation (USBR) dams from the ``plants`` layer.

Model (every factor in ``[scoring.sites.federal_hydro]``)::

    mineable_mw = capacity_mw x (1 - capacity_factor) x spill_offpeak_fraction

``capacity_factor`` is EIA-923 generation / nameplate (the plants layer); where unknown, the
scenario's ``default_capacity_factor`` is used and the site's confidence drops to "low".
Pumped storage is a net consumer of energy (it pumps at night to generate at peak), so it is
left out unless ``include_pumped_storage`` is set.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.rowlog import RowLog
from gis.scoring.config import FederalHydroModel
from gis.sites._frame import capacity_factor, empty_sites, fmt_mw, site_frame

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
    cf, unknown = capacity_factor(rows, default=model.default_capacity_factor)
    log.repair(int(unknown.sum()), "federal_hydro: capacity factor unknown, scenario default used")
    cap = rows["capacity_mw"].to_numpy(dtype="float64")
    asset = cap * (1.0 - cf) * model.spill_offpeak_fraction
    basis = (
        fmt_mw(cap, 0)
        + " MW x (1 - capacity factor "
        + fmt_mw(cf, 2)
        + np.where(unknown, " (scenario default)", " (EIA-923)")
        + f") x spill/off-peak fraction {model.spill_offpeak_fraction:g}"
    )
    return site_frame(
        rows.geometry,
        site_id="federal_hydro:" + rows["plant_id"].astype("int64").astype(str),
        name=rows["name"],
        category="federal_hydro",
        owner=rows["owner"],
        owner_class=rows["owner_class"],
        state=rows["state"],
        fuel=rows["fuel"],
        energy_fuel=rows["fuel"],
        capacity_mw=cap,
        asset_mw=asset,
        offgrid=False,
        grid_voltage_kv=rows["grid_voltage_kv"],
        retirement_date=rows["retirement_date"],
        members=1,
        confidence=np.where(unknown, "low", "medium"),
        basis=basis,
    )
