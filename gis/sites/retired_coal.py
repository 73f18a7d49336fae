"""Retired coal: retired, retiring and retooled coal plants from ``plant_status`` (EIA-860M).

Model (``[scoring.sites.retired_coal]``)::

    mineable_mw = capacity_mw (MW retired or retiring) x interconnect_reuse_fraction

where a retooled plant's MW retired = its EIA-860M row MW x ``retooled_retired_share``.

A restart is rarely realistic; the asset is the grid connection the plant leaves behind, so the
energy is bought from the grid (``energy_fuel``, default the grid-average emission factor).
Several EIA-860M rows of one plant (e.g. a retired and a retooled row) become one site with the
largest row's MW (the rows may describe overlapping generators: no sum, no double count) and
the latest retirement month. Retooled plants (some units retired, others running) are "low"
confidence: the EIA-860M extract gives a plant total, not the retired units' MW. The plant's own interconnection voltage comes from
the joined ``plants`` row (EIA-860 2019) when the join succeeded.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.config.scoring import RetiredCoalModel
from gis.rowlog import RowLog
from gis.sites._frame import empty_sites, fmt_mw, site_frame

__all__ = ["retired_coal_sites"]


def _chosen_rows(plant_status: pd.DataFrame, model: RetiredCoalModel, log: RowLog) -> pd.DataFrame:
    """The EIA-860M coal rows the scenario chooses (status, MW > 0, retirement month in range)."""
    rows = plant_status.loc[(plant_status["fuel"] == "coal") & (plant_status["status"] != "operating")]
    log.read(len(rows))
    rows = log.drop(rows, ~rows["status"].isin(model.statuses), "retired_coal: status not chosen in scenario")
    rows = log.drop(rows, ~(rows["capacity_mw"] > 0), "retired_coal: no MW retired")
    date = rows["retirement_date"].astype(str)
    # a retooled plant's date is when its coal units retired: the same rule as a retired plant
    retired = rows["status"].isin(["retired", "retooled"])
    rows = log.drop(
        rows,
        retired & (date != "") & (date < model.retired_since),
        f"retired_coal: retired before {model.retired_since}",
    )
    date = rows["retirement_date"].astype(str)
    later = (rows["status"] == "retiring") & ((date > model.retiring_by) | (date == ""))
    later |= (rows["status"] == "retooled") & (date > model.retiring_by)
    return log.drop(rows, later, f"retired_coal: retirement planned after {model.retiring_by} or undated")


def _merge_rows(
    rows: pd.DataFrame, model: RetiredCoalModel, log: RowLog
) -> tuple[pd.DataFrame, gpd.GeoSeries]:
    """One row per plant (largest MW retired, latest month) and its point (EPSG:4326).

    A retooled row's MW are scaled by ``retooled_retired_share``; rows without a plant id are
    keyed by their ``status_id``.
    """
    rows = rows.copy()
    retooled = rows["status"] == "retooled"
    rows["capacity_mw"] = rows["capacity_mw"].where(
        ~retooled, rows["capacity_mw"] * model.retooled_retired_share
    )
    log.repair(int(retooled.sum()), "retired_coal: retooled plant total scaled by retooled_retired_share")
    plant_id = pd.to_numeric(rows["plant_id"], errors="coerce").astype("Int64")
    rows["key"] = np.where(
        plant_id.notna(), plant_id.astype(str), "s" + rows["status_id"].astype("int64").astype(str)
    )
    rows = rows.sort_values(["key", "capacity_mw"], ascending=[True, False], kind="stable")
    grouped = rows.groupby("key", sort=True)
    merged = grouped.agg(
        name=("name", "first"),
        state=("state", "first"),
        owner=("owner", "first"),
        status=("status", lambda s: ";".join(sorted(set(s)))),
        capacity_mw=("capacity_mw", "max"),
        retirement_date=("retirement_date", "max"),
        plant_id=("plant_id", "first"),
        members=("status_id", "size"),
    )
    log.repair(
        int(len(rows) - len(merged)), "retired_coal: EIA-860M rows of one plant merged (largest MW kept)"
    )
    return merged, gpd.GeoSeries(grouped["geometry"].first(), crs=rows.crs)


def _plant_column(pid: pd.Series, plants: pd.DataFrame, column: str) -> pd.Series:
    """``plants[column]`` of each plant id in ``pid`` (NaN where not joined or ``plants`` is empty)."""
    return pid.map(plants.set_index("plant_id")[column]) if len(plants) else pid * np.nan


def _other_category(pid: pd.Series, plants: pd.DataFrame, log: RowLog) -> np.ndarray:
    """Mask of plants that are an operating nuclear or hydro site (one category per plant).

    H B Robinson retired its coal unit and runs its reactor: it is a nuclear site.
    """
    if not len(plants):
        return np.zeros(len(pid), dtype=bool)
    fuel = _plant_column(pid, plants, "fuel")
    status = _plant_column(pid, plants, "status")
    other = (fuel.isin(["nuclear", "hydro"]) & (status != "retired")).to_numpy()
    if other.any():
        reason = "retired_coal: plant is an operating nuclear or hydro site (one category per plant)"
        log.dropped[reason] = log.dropped.get(reason, 0) + int(other.sum())
    return other


def _basis(merged: pd.DataFrame, cap: np.ndarray, model: RetiredCoalModel) -> pd.Series:
    """The ``basis`` sentence of each plant: MW retired (MW), status, month and reuse fraction."""
    return (
        fmt_mw(cap, 0)
        + " MW coal ("
        + merged["status"].to_numpy(dtype=object)
        + ", "
        + merged["retirement_date"].replace("", "date unknown").to_numpy(dtype=object)
        + f") x grid-connection reuse fraction {model.interconnect_reuse_fraction:g}"
    )


def retired_coal_sites(
    plant_status: pd.DataFrame, plants: pd.DataFrame, model: RetiredCoalModel, log: RowLog
) -> gpd.GeoDataFrame:
    """Candidate sites of category ``retired_coal`` (EPSG:4326 points, MW)."""
    rows = _chosen_rows(plant_status, model, log)
    if rows.empty:
        log.note("retired_coal: no retired or retiring coal plants in plant_status (EIA-860M)")
        return empty_sites()
    merged, geometry = _merge_rows(rows, model, log)
    pid = pd.to_numeric(merged["plant_id"], errors="coerce")
    voltage = plants.set_index("plant_id")["grid_voltage_kv"] if len(plants) else pd.Series(dtype=float)
    kv = pid.map(voltage).to_numpy(dtype="float64")
    owner_class = _plant_column(pid, plants, "owner_class")
    log.repair(
        int(owner_class.isna().sum()), "retired_coal: not joined to plants, owner_class set to private"
    )
    if len(plants):
        keep = ~_other_category(pid, plants, log)
        merged, geometry, pid, kv = merged.loc[keep], geometry.loc[keep], pid.loc[keep], kv[keep]
        owner_class = owner_class.loc[keep]
    if merged.empty:
        log.note("retired_coal: every retired coal plant is another category's site")
        return empty_sites()
    ba = _plant_column(pid, plants, "balancing_authority")
    cap = merged["capacity_mw"].to_numpy(dtype="float64")
    return site_frame(
        geometry,
        site_id="retired_coal:" + merged.index.to_series().astype(str),
        name=merged["name"],
        category="retired_coal",
        owner=merged["owner"],
        owner_class=owner_class.astype(object).where(owner_class.notna(), "private"),
        state=merged["state"],
        fuel="coal",
        energy_fuel=model.energy_fuel,
        capacity_mw=cap,
        asset_mw=cap * model.interconnect_reuse_fraction,
        offgrid=False,
        grid_voltage_kv=kv,
        retirement_date=merged["retirement_date"],
        members=merged["members"].to_numpy(dtype="int64"),
        confidence=np.where(merged["status"].str.contains("retooled"), "low", "medium"),
        basis=_basis(merged, cap, model),
        balancing_authority=ba.astype(object).where(ba.notna(), "").to_numpy(dtype=object),
    )
