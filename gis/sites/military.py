"""Military backup: DoD installations (MIRTA) and military-operated plants.

Installations (``[scoring.sites.military_backup]``)::

    mineable_mw = backup_mw_by_component[component] x (joint_base_multiplier if joint base)
                  x usable_fraction

No national inventory of DoD backup generation exists (REFERENCE.md §3: backup is building-level
diesel and UPS), so ``backup_mw_by_component`` is an explicit assumption: confidence "low".
These gensets sit behind the installation's meter: the site is off-grid (limited by the
gensets, not by a line). Military-operated plants in ``plants``::

    mineable_mw = capacity_mw x (1 - capacity_factor) x plant_availability_fraction
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.config.scoring import MilitaryBackupModel
from gis.rowlog import RowLog
from gis.sites._frame import capacity_factor, empty_sites, fmt_mw, plant_site_frame, site_frame

__all__ = ["military_backup_sites"]


def _installations(sites: pd.DataFrame, model: MilitaryBackupModel, log: RowLog) -> gpd.GeoDataFrame:
    log.read(len(sites))
    rows = log.drop(
        sites,
        ~sites["site_status"].isin(model.site_statuses),
        "military_backup: installation not active (status not chosen in scenario)",
    )
    table = pd.Series(model.backup_mw_by_component, dtype="float64")
    backup = rows["component"].map(table)
    rows = log.drop(
        rows, backup.isna(), "military_backup: component has no backup MW in backup_mw_by_component"
    )
    if rows.empty:
        return empty_sites()
    backup = rows["component"].map(table).to_numpy(dtype="float64")
    joint = rows["joint_base"].to_numpy(dtype=bool)
    multiplier = np.where(joint, model.joint_base_multiplier, 1.0)
    capacity = backup * multiplier
    basis = (
        "assumed backup "
        + fmt_mw(backup, 1)
        + " MW for a "
        + rows["component"].astype(str).to_numpy(dtype=object)
        + " installation"
        + np.where(joint, f" x joint-base multiplier {model.joint_base_multiplier:g}", "")
        + f" x usable fraction {model.usable_fraction:g}"
    )
    return site_frame(
        rows.geometry,
        site_id="military_backup:mirta:" + rows["site_id"].astype("int64").astype(str),
        name=rows["name"],
        category="military_backup",
        owner=rows["branch"],
        owner_class="military",
        state=rows["state"],
        fuel="oil",
        energy_fuel=model.energy_fuel,
        capacity_mw=capacity,
        asset_mw=capacity * model.usable_fraction,
        offgrid=True,
        members=1,
        confidence="low",
        basis=basis,
    )


def _plants(plants: pd.DataFrame, model: MilitaryBackupModel, log: RowLog) -> gpd.GeoDataFrame:
    rows = plants.loc[plants["owner_class"] == "military"]
    log.read(len(rows))
    rows = log.drop(rows, rows["status"] == "retired", "military_backup: military plant retired")
    rows = log.drop(rows, ~(rows["capacity_mw"] > 0), "military_backup: military plant without capacity")
    if rows.empty:
        return empty_sites()
    cf, unknown = capacity_factor(rows, default=model.default_capacity_factor)
    log.repair(int(unknown.sum()), "military_backup: capacity factor unknown, scenario default used")
    cap = rows["capacity_mw"].to_numpy(dtype="float64")
    basis = (
        fmt_mw(cap, 1)
        + " MW military-operated plant x (1 - capacity factor "
        + fmt_mw(cf, 2)
        + f") x availability {model.plant_availability_fraction:g}"
    )
    return plant_site_frame(
        rows,
        "military_backup",
        site_id="military_backup:plant:" + rows["plant_id"].astype("int64").astype(str),
        owner_class="military",
        capacity_mw=cap,
        asset_mw=cap * (1.0 - cf) * model.plant_availability_fraction,
        confidence="low",
        basis=basis,
    )


def military_backup_sites(
    military_sites: pd.DataFrame, plants: pd.DataFrame, model: MilitaryBackupModel, log: RowLog
) -> gpd.GeoDataFrame:
    """Candidate sites of category ``military_backup`` (EPSG:4326 points, MW)."""
    parts = [_installations(military_sites, model, log)]
    if model.include_military_plants:
        parts.append(_plants(plants, model, log))
    parts = [p for p in parts if len(p)]
    if not parts:
        log.note("military_backup: no active installations and no military-operated plants")
        return empty_sites()
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
