"""Stranded wind and solar: operating wind and solar plants in regions that curtail.

No curtailment time series is available, so each region's annual curtailed energy
(``[[scoring.sites.stranded.regions]]``, REFERENCE.md §5) is allocated to its plants::

    region_fuel_mwh  = twh_per_year x 1e6 x solar_share        (solar; 1 - solar_share for wind)
                       (or split by the region's wind and solar MW when solar_share is unset)
    plant_mwh        = region_fuel_mwh x capacity_mw / region_fuel_capacity_mw
    mineable_mw      = plant_mwh / 8760 h      (average MW of energy that is thrown away today)

A plant cannot throw away more than it can make: ``plant_mwh`` is capped at what it generates
in a year (``capacity_mw x 8760 h x capacity_factor``, or x 1 where the capacity factor is
unknown). The cap matters in regions with few plants of a fuel; capped plants are counted.

A plant belongs to a region by its balancing authority (EIA-860), else by its state.
``curtailment_table`` (CSV ``plant_id,curtailed_mwh_per_year``) overrides the allocation for the
plants it lists. Plants outside every region have no known curtailment and are not candidates
(counted in the row log).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.errors import GisError
from gis.rowlog import RowLog
from gis.scoring.config import StrandedModel
from gis.sites._frame import empty_sites, fmt_mw, site_frame

__all__ = ["read_curtailment_table", "stranded_sites"]

HOURS_PER_YEAR = 8760.0


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


def _regions(rows: pd.DataFrame, model: StrandedModel) -> pd.Series:
    """Region name per plant: by balancing authority first, then by state; "" when none."""
    region = pd.Series("", index=rows.index, dtype=object)
    ba = rows["balancing_authority"].fillna("").astype(str) if "balancing_authority" in rows else None
    for r in model.regions:
        if ba is not None and r.balancing_authorities:
            region = region.where((region != "") | ~ba.isin(r.balancing_authorities), r.name)
    for r in model.regions:
        if r.states:
            no_ba = ba.eq("") if ba is not None else True
            region = region.where((region != "") | ~(no_ba & rows["state"].isin(r.states)), r.name)
    return region


def _allocate(rows: pd.DataFrame, model: StrandedModel) -> np.ndarray:
    """Curtailed MWh/yr per plant from the regional figures (vectorised over plants)."""
    cap = rows["capacity_mw"].astype("float64")
    fuel_cap = cap.groupby([rows["region"], rows["fuel"]]).transform("sum")
    region_cap = cap.groupby(rows["region"]).transform("sum")
    table = pd.DataFrame(
        [(r.name, r.twh_per_year, np.nan if r.solar_share is None else r.solar_share) for r in model.regions],
        columns=["region", "twh", "solar_share"],
    ).set_index("region")
    twh = rows["region"].map(table["twh"]).to_numpy(dtype="float64")
    share = rows["region"].map(table["solar_share"]).to_numpy(dtype="float64")
    is_solar = (rows["fuel"] == "solar").to_numpy()
    fuel_share = np.where(is_solar, share, 1.0 - share)
    by_mw = (fuel_cap / region_cap).to_numpy(dtype="float64")
    fuel_share = np.where(np.isnan(share), by_mw, fuel_share)
    return twh * 1e6 * fuel_share * cap.to_numpy() / fuel_cap.to_numpy(dtype="float64")


def stranded_sites(plants: pd.DataFrame, model: StrandedModel, log: RowLog) -> gpd.GeoDataFrame:
    """Candidate sites of categories ``stranded_wind`` and ``stranded_solar`` (EPSG:4326 points, MW)."""
    rows = plants.loc[plants["fuel"].isin(["wind", "solar"])]
    log.read(len(rows))
    rows = log.drop(rows, rows["status"] == "retired", "stranded: plant retired")
    rows = log.drop(rows, ~(rows["capacity_mw"] >= model.min_capacity_mw), "stranded: below min_capacity_mw")
    rows = rows.copy()
    rows["region"] = _regions(rows, model)
    override = read_curtailment_table(model.curtailment_table) if model.curtailment_table else None
    listed = (
        rows["plant_id"].isin(override.index) if override is not None else pd.Series(False, index=rows.index)
    )
    rows = log.drop(rows, (rows["region"] == "") & ~listed, "stranded: outside every curtailment region")
    listed = listed.loc[rows.index]
    if rows.empty:
        log.note("stranded_wind/stranded_solar: no wind or solar plant lies in a curtailment region")
        return empty_sites()
    mwh = _allocate(rows, model)
    source = np.where(rows["region"] != "", "share of " + rows["region"].astype(str) + " curtailment", "")
    if override is not None:
        from_table = rows["plant_id"].map(override).to_numpy(dtype="float64")
        mwh = np.where(listed.to_numpy(), from_table, mwh)
        source = np.where(listed.to_numpy(), "user curtailment table", source)
    mwh = np.nan_to_num(mwh, nan=0.0)
    cf = (
        rows["capacity_factor"].astype("float64")
        if "capacity_factor" in rows
        else pd.Series(np.nan, rows.index)
    )
    producible = (
        rows["capacity_mw"].to_numpy(dtype="float64") * HOURS_PER_YEAR * cf.fillna(1.0).clip(0, 1).to_numpy()
    )
    capped = mwh > producible
    log.repair(int(capped.sum()), "stranded: curtailment share capped at the plant's own yearly generation")
    mwh = np.minimum(mwh, producible)
    basis = fmt_mw(mwh / 1000.0, 1) + " GWh/yr curtailed (" + pd.Series(source, dtype=object) + ") / 8760 h"
    return site_frame(
        rows.geometry,
        site_id=np.where(rows["fuel"] == "wind", "stranded_wind:", "stranded_solar:")
        + rows["plant_id"].astype("int64").astype(str).to_numpy(dtype=object),
        name=rows["name"],
        category=np.where(rows["fuel"] == "wind", "stranded_wind", "stranded_solar"),
        owner=rows["owner"],
        owner_class=rows["owner_class"],
        state=rows["state"],
        fuel=rows["fuel"],
        energy_fuel=rows["fuel"],
        capacity_mw=rows["capacity_mw"],
        asset_mw=mwh / HOURS_PER_YEAR,
        offgrid=False,
        grid_voltage_kv=rows["grid_voltage_kv"],
        retirement_date=rows["retirement_date"],
        members=1,
        confidence=np.where(listed.to_numpy(), "medium", "low"),
        basis=basis,
    )
