"""The ``plants`` and ``plant_status`` layers: US power plants, one row per EIA plant code, and
the EIA-860M (Dec 2025) status rows joined to them. Stored in EPSG:4326, measured in EPSG:5070.

Which source wins, field by field (``plants``):

====================================  ========================================================
field                                 source (first that has it)
====================================  ========================================================
plant set                             EIA Atlas (Nov 2023, operable plants ≥ 1 MW), plus WRI
                                      GPPD plants (2019) absent from the Atlas
name, owner, capacity_mw, location    EIA Atlas; else GPPD
summer_capacity_mw, technology        EIA Atlas only (NaN / empty for GPPD-only plants)
fuel                                  EIA Atlas ``PrimSource`` (biomass split by technology);
                                      else GPPD ``primary_fuel``
state                                 EIA Atlas; else EIA-860 2019; else the ``states`` layer
                                      polygon the point lies in (when already built)
generation_gwh, generation_year       GPPD: latest year 2013-2019 with EIA-923 generation
capacity_factor                       generation / (GPPD 2019 capacity × 8.76), only when the
                                      generation year is GPPD's capacity year (2019): the Atlas
                                      2023 capacity may include units built later
commissioning_year                    GPPD
grid_voltage_kv                       EIA-860 2019: highest of its three voltage columns
balancing_authority, nerc_region      EIA-860 2019
status, retirement_date               EIA-860M rows joined in ``plant_status`` (precedence in
                                      :mod:`gis.layers._plants_status`); a plant without one is
                                      ``operating`` if in the Atlas, ``retired`` if GPPD-only
                                      (a 2019 plant of ≥ 1 MW no longer listed as operable in
                                      Nov 2023)
owner_class                           rules on the operator name (:mod:`gis.layers._plants_owner`)
====================================  ========================================================

GPPD-only plants below 1 MW are left out (counted): the Atlas omits plants below 1 MW, so their
absence says nothing about their status. EIA-860M rows that join no plant (mostly plants retired
before 2019) stay in ``plant_status`` with ``join_method = "none"``: the scoring stage reads
retired coal from there.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from rich.table import Table

from gis import STORAGE_CRS
from gis.config.vocabulary import PLANT_STATUSES
from gis.errors import GisError
from gis.layers._plants_fuel import fuel_from_atlas, fuel_from_gppd, fuel_from_technology
from gis.layers._plants_owner import OWNER_RULES, classify_owner, explain_owner
from gis.layers._plants_readers import (
    max_voltage_kv,
    read_atlas,
    read_eia860,
    read_eia860m,
    read_gppd,
)
from gis.layers._plants_status import join_status, normalise_plant_name, status_by_plant
from gis.layers.boundaries import state_code
from gis.rowlog import RowLog
from gis.schema import PLANT_STATUS, PLANTS
from gis.sources import Resolver
from gis.textsafe import NAME_MAX_CHARS, clip_text

__all__ = [
    "FEDERAL_CLASSES",
    "OWNER_RULES",
    "build",
    "capacity_factor",
    "classify_owner",
    "explain_owner",
    "federal_summary",
    "normalise_plant_name",
]

ATLAS = "eia_atlas_power_plants"
GPPD = "gppd_usa"
EIA860 = "eia860_plant_2019"
EIA860M = "eia860m_plants_dec2025"

US_LAT_RANGE = (17.0, 72.0)
"""Latitudes (deg) of the study area: Puerto Rico and Hawaii to Alaska's north coast."""
US_LON_RANGE = (-180.0, -64.0)
"""Longitudes (deg) of the study area: the Aleutians to Maine and the Virgin Islands."""
MAX_PLANT_MW = 10_000.0
"""Largest believable nameplate of one plant (MW); the largest US plant, Grand Coulee, has 6,809."""
MIN_GPPD_ONLY_MW = 1.0
"""GPPD-only plants below this (MW) are left out: the Atlas lists operable plants from 1 MW."""
HOURS_PER_YEAR_THOUSANDS = 8.76
"""GWh per MW-year (8,760 h / 1,000)."""
CF_TOLERANCE = 1.05
"""Capacity factors above this are absurd (set to NaN); between 1 and this they are clipped to 1."""

FEDERAL_CLASSES = ("federal_tva", "federal_usace", "federal_usbr", "federal_other", "military")
"""The owner classes :func:`federal_summary` reports."""


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``plants`` and ``plant_status`` from the four catalogued plant sources.

    ``built`` may hold ``states`` (polygons with a two-letter ``state``), used only to give a
    state to GPPD-only plants that EIA-860 2019 does not place.
    """
    log = RowLog("plants")
    status_log = RowLog("plant_status")

    atlas_file = resolver.require(ATLAS, "plants")
    atlas = _atlas_plants(read_atlas(atlas_file), log, where=atlas_file.path)
    gppd = _gppd_plants(read_gppd(resolver.require(GPPD, "table")), log)
    eia860 = _eia860_plants(read_eia860(resolver.require(EIA860, "plant")), log)
    plants = _merge(atlas, gppd, eia860, log, states=built.get("states"))

    status_file = resolver.require(EIA860M, "plants")
    status = _status_rows(read_eia860m(status_file, status_log), status_log, where=status_file.path)
    joined = join_status(status, plants)
    plants = _apply_status(plants, joined, log, status_log)
    plants = plants.sort_values("plant_id", kind="stable").reset_index(drop=True)
    plants["owner_class"] = classify_owner(plants["owner"])
    for col in ("name", "owner"):  # a name is a label, not a document: capped, counted
        long = plants[col].astype(str).str.len() > NAME_MAX_CHARS
        if long.any():
            plants.loc[long, col] = plants.loc[long, col].astype(str).map(clip_text)
            log.repair(int(long.sum()), f"{col} longer than {NAME_MAX_CHARS} characters clipped")

    plant_status = gpd.GeoDataFrame(
        joined[PLANT_STATUS.column_names], geometry=joined.geometry, crs=STORAGE_CRS
    )
    plant_frame = gpd.GeoDataFrame(plants[PLANTS.column_names], geometry=plants.geometry, crs=STORAGE_CRS)
    return {"plants": (plant_frame, log), "plant_status": (plant_status, status_log)}


# --- per-source cleaning ----------------------------------------------------------------------


def _atlas_plants(rows: pd.DataFrame, log: RowLog, *, where: object = None) -> pd.DataFrame:
    log.read(len(rows))
    rows = rows.copy()
    rows["plant_id"] = pd.to_numeric(rows["plant_id"], errors="coerce")
    rows = log.drop(rows, rows["plant_id"].isna(), "atlas: no plant code")
    _note_conflicts(rows, log, label="atlas")
    rows = log.drop(rows, rows["plant_id"].duplicated(), "atlas: duplicate plant code")
    rows["capacity_mw"] = pd.to_numeric(rows["capacity_mw"], errors="coerce")
    rows = _clean_capacity(rows, log, label="atlas")
    rows = _clean_points(rows, log, label="atlas", where=where)
    return pd.DataFrame(
        {
            "plant_id": rows["plant_id"].astype("int64"),
            "name": _text(rows["name"]),
            "owner": _text(rows["owner"]),
            "state": state_code(rows["state"]),
            "fuel": fuel_from_atlas(rows["prim_source"], rows["technology"]),
            "technology": _text(rows["technology"]).str.rstrip(";").str.strip(),
            "capacity_mw": rows["capacity_mw"].astype("float64"),
            "summer_capacity_mw": pd.to_numeric(rows["summer_capacity_mw"], errors="coerce"),
            "longitude": rows["longitude"],
            "latitude": rows["latitude"],
        }
    ).reset_index(drop=True)


def _gppd_plants(rows: pd.DataFrame, log: RowLog) -> pd.DataFrame:
    """GPPD rows keyed by plant code, with the latest generation and its year."""
    rows = rows.copy()
    code = _text(rows["plant_ref"]).str.extract(r"^USA(\d{7})$", expand=False)
    rows["plant_id"] = pd.to_numeric(code, errors="coerce")
    bad = rows["plant_id"].isna() | rows["plant_id"].duplicated()
    if bad.any():  # these rows can neither merge nor stand alone
        log.read(int(bad.sum()))
        log.drop(
            rows,
            rows["plant_id"].isna(),
            "gppd: gppd_idnr is not USA + a 7-digit EIA plant code (WRI-assigned id)",
        )
        _note_conflicts(rows.loc[rows["plant_id"].notna()], log, label="gppd")
        log.drop(rows, rows["plant_id"].notna() & rows["plant_id"].duplicated(), "gppd: duplicate plant code")
        rows = rows.loc[~bad]
    years = sorted(int(c.rsplit("_", 1)[1]) for c in rows.columns if c.startswith("generation_gwh_"))
    gen = pd.concat([pd.to_numeric(rows[f"generation_gwh_{y}"], errors="coerce") for y in years], axis=1)
    gen.columns = years
    has = gen.notna().to_numpy()
    last = np.where(has.any(axis=1), has.shape[1] - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    values = gen.to_numpy(dtype="float64")
    latest = np.where(last >= 0, values[np.arange(len(values)), np.clip(last, 0, None)], np.nan)
    year = pd.array(np.where(last >= 0, np.asarray(years)[np.clip(last, 0, None)], 0), dtype="Int64")
    year[last < 0] = pd.NA
    wettest = gen.max(axis=1, skipna=True).to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "plant_id": rows["plant_id"].astype("int64").to_numpy(),
            "name": _text(rows["name"]).to_numpy(),
            "owner": _text(rows["owner"]).to_numpy(),
            "fuel": fuel_from_gppd(rows["primary_fuel"]).to_numpy(),
            "capacity_mw": pd.to_numeric(rows["capacity_mw"], errors="coerce").to_numpy(),
            "capacity_year": pd.to_numeric(rows["capacity_year"], errors="coerce").to_numpy(),
            "commissioning_year": pd.to_numeric(rows["commissioning_year"], errors="coerce").to_numpy(),
            "generation_gwh": latest,
            "generation_year": year,
            "generation_max_gwh": wettest,
            "longitude": pd.to_numeric(rows["longitude"], errors="coerce").to_numpy(),
            "latitude": pd.to_numeric(rows["latitude"], errors="coerce").to_numpy(),
        }
    )


def _eia860_plants(rows: pd.DataFrame, log: RowLog) -> pd.DataFrame:
    ids = pd.to_numeric(rows["plant_id"], errors="coerce")
    bad = ids.isna() | ids.duplicated()
    if bad.any():
        log.note(f"EIA-860 2019: {int(bad.sum())} rows without a plant code or duplicated, not used")
    rows = rows.loc[~bad]
    return pd.DataFrame(
        {
            "plant_id": ids[~bad].astype("int64").to_numpy(),
            "state_860": state_code(rows["state"]).to_numpy(),
            "grid_voltage_kv": max_voltage_kv(
                rows, ["grid_voltage_1_kv", "grid_voltage_2_kv", "grid_voltage_3_kv"]
            ).to_numpy(),
            "balancing_authority": _text(rows["balancing_authority"]).to_numpy(),
            "nerc_region": _text(rows["nerc_region"]).to_numpy(),
        }
    )


# --- merge ------------------------------------------------------------------------------------


_PLANT_COLUMNS = [
    "plant_id", "name", "owner", "state", "fuel", "technology", "capacity_mw",
    "summer_capacity_mw", "longitude", "latitude", "sources",
]  # fmt: skip
"""Columns the Atlas rows and the GPPD-only rows share before the joins (MW, degrees EPSG:4326)."""

_GPPD_JOINED = [
    "capacity_mw", "capacity_year", "generation_gwh", "generation_year", "generation_max_gwh",
    "commissioning_year",
]  # fmt: skip
"""GPPD columns joined onto every plant (``capacity_mw`` as ``gppd_capacity_mw``; GWh, years)."""


def _gppd_only(atlas: pd.DataFrame, gppd: pd.DataFrame, log: RowLog) -> pd.DataFrame:
    """GPPD plants not in the Atlas, at least :data:`MIN_GPPD_ONLY_MW` MW with a valid point."""
    in_atlas = gppd["plant_id"].isin(atlas["plant_id"])
    log.note(f"GPPD: {int(in_atlas.sum()):,} plants merged into Atlas rows (generation, commissioning year)")
    extra = gppd.loc[~in_atlas].copy()
    log.read(len(extra))
    extra = _clean_capacity(extra, log, label="gppd-only")
    extra = log.drop(
        extra,
        extra["capacity_mw"] < MIN_GPPD_ONLY_MW,
        f"gppd-only: below {MIN_GPPD_ONLY_MW:g} MW (not in the Atlas by its threshold, status unknown)",
    )
    extra = _clean_points(extra, log, label="gppd-only")
    return extra.assign(state="", technology="", summer_capacity_mw=np.nan, sources=GPPD)


def _join_gppd(plants: pd.DataFrame, gppd: pd.DataFrame, log: RowLog) -> pd.DataFrame:
    """``plants`` with GPPD generation (GWh), capacity factor and wettest-year capacity factor (0-1)."""
    generation = gppd.set_index("plant_id")[_GPPD_JOINED].rename(columns={"capacity_mw": "gppd_capacity_mw"})
    plants = plants.join(generation, on="plant_id")
    from_gppd = plants["plant_id"].isin(gppd["plant_id"]) & plants["sources"].eq(ATLAS)
    plants.loc[from_gppd, "sources"] = plants.loc[from_gppd, "sources"] + ";" + GPPD
    plants["capacity_factor"] = capacity_factor(
        plants["generation_gwh"],
        plants["gppd_capacity_mw"],
        generation_year=plants["generation_year"],
        capacity_year=plants["capacity_year"],
        log=log,
    )
    cap = pd.to_numeric(plants["gppd_capacity_mw"], errors="coerce")
    wet = plants["generation_max_gwh"] / (cap * HOURS_PER_YEAR_THOUSANDS)
    plants["capacity_factor_max"] = wet.where((cap > 0) & (wet >= 0)).clip(upper=1.0)
    return plants


def _join_eia860(plants: pd.DataFrame, eia860: pd.DataFrame, log: RowLog) -> pd.DataFrame:
    """``plants`` with EIA-860 2019 voltage (kV), balancing authority, NERC region and state where missing."""
    plants = plants.join(eia860.set_index("plant_id"), on="plant_id")
    from_860 = plants["state_860"].notna()
    plants.loc[from_860, "sources"] = plants.loc[from_860, "sources"] + ";" + EIA860
    log.note(
        f"EIA-860 2019: grid voltage for {int(plants['grid_voltage_kv'].notna().sum()):,} plants; "
        f"{int((~eia860['plant_id'].isin(plants['plant_id'])).sum()):,} of its plants are in neither Atlas nor GPPD"
    )
    for col in ("balancing_authority", "nerc_region"):
        plants[col] = plants[col].fillna("").astype(object)
    no_state = plants["state"].eq("")
    plants.loc[no_state, "state"] = plants.loc[no_state, "state_860"].fillna("")
    return plants


def _merge(
    atlas: pd.DataFrame,
    gppd: pd.DataFrame,
    eia860: pd.DataFrame,
    log: RowLog,
    *,
    states: pd.DataFrame | None,
) -> gpd.GeoDataFrame:
    """Atlas plants plus GPPD-only plants, joined to GPPD generation and EIA-860 (EPSG:4326 points)."""
    extra = _gppd_only(atlas, gppd, log)
    base = atlas.assign(sources=ATLAS)
    plants = pd.concat([base[_PLANT_COLUMNS], extra[_PLANT_COLUMNS]], ignore_index=True)
    plants = _join_gppd(plants, gppd, log)
    plants = _join_eia860(plants, eia860, log)
    geometry = gpd.points_from_xy(plants["longitude"], plants["latitude"], crs=STORAGE_CRS)
    plants = gpd.GeoDataFrame(plants.drop(columns=["longitude", "latitude"]), geometry=geometry)
    return _fill_state_from_polygons(plants, states, log)


def capacity_factor(
    generation_gwh: pd.Series,
    capacity_mw: pd.Series,
    *,
    generation_year: pd.Series,
    capacity_year: pd.Series,
    log: RowLog | None = None,
) -> pd.Series:
    """Capacity factor (1) = generation_gwh / (capacity_mw × 8.76), NaN unless the generation year
    equals the capacity's year and capacity is positive.

    Values between 1 and :data:`CF_TOLERANCE` are clipped to 1; negative values (pumped storage
    is a net consumer) and values above the tolerance are set to NaN; both counted in ``log``.
    """
    gen = pd.to_numeric(generation_gwh, errors="coerce").astype("float64")
    cap = pd.to_numeric(capacity_mw, errors="coerce").astype("float64")
    same_year = (
        pd.to_numeric(generation_year, errors="coerce").astype("float64")
        == pd.to_numeric(capacity_year, errors="coerce").astype("float64")
    ).fillna(False)
    usable = same_year & (cap > 0) & gen.notna()
    cf = (gen / (cap * HOURS_PER_YEAR_THOUSANDS)).where(usable)
    absurd = (cf < 0) | (cf > CF_TOLERANCE)
    slightly_over = (cf > 1.0) & ~absurd
    if log is not None:
        log.repair(int(absurd.sum()), "capacity factor negative or above 1.05, set to NaN")
        log.repair(int(slightly_over.sum()), "capacity factor between 1 and 1.05, clipped to 1")
    return cf.mask(absurd).mask(slightly_over, 1.0)


def _fill_state_from_polygons(
    plants: gpd.GeoDataFrame, states: pd.DataFrame | None, log: RowLog
) -> gpd.GeoDataFrame:
    missing = plants["state"].eq("")
    if missing.any() and isinstance(states, gpd.GeoDataFrame) and "state" in states.columns:
        hits = gpd.sjoin(plants.loc[missing, ["geometry"]], states[["state", "geometry"]].to_crs(STORAGE_CRS))
        hits = hits[~hits.index.duplicated()]
        plants.loc[hits.index, "state"] = hits["state"].astype(str)
        log.note(f"{len(hits):,} plants took their state from the states layer")
    still = int(plants["state"].eq("").sum())
    if still:
        log.note(f"{still:,} plants have no state (not in the Atlas or EIA-860 2019)")
    return plants


# --- status -----------------------------------------------------------------------------------


def _status_rows(rows: pd.DataFrame, log: RowLog, *, where: object = None) -> gpd.GeoDataFrame:
    rows = rows.copy()
    rows["status_id"] = np.arange(len(rows), dtype="int64")
    rows["status"] = _text(rows["status"]).str.lower()
    rows = log.drop(
        rows, ~rows["status"].isin(PLANT_STATUSES), "status not one of " + "/".join(PLANT_STATUSES)
    )
    rows["capacity_mw"] = pd.to_numeric(rows["capacity_mw"], errors="coerce")
    rows = _clean_capacity(rows, log, label="860m")
    rows = _clean_points(rows, log, label="860m", where=where)
    date = _text(rows["retirement_date"])
    geometry = gpd.points_from_xy(rows["longitude"], rows["latitude"], crs=STORAGE_CRS)
    return gpd.GeoDataFrame(
        {
            "status_id": rows["status_id"].to_numpy(),
            "name": _text(rows["name"]).to_numpy(),
            "state": state_code(rows["state"]).to_numpy(),
            "technology": _text(rows["technology"]).to_numpy(),
            "fuel": fuel_from_technology(rows["technology"]).to_numpy(),
            "status": rows["status"].to_numpy(),
            "capacity_mw": rows["capacity_mw"].to_numpy(dtype="float64"),
            "retirement_date": date.where(date.str.fullmatch(r"\d{4}-\d{2}"), "").to_numpy(),
            "owner": _text(rows["owner"]).to_numpy(),
            "utility_id": pd.to_numeric(rows["utility_id"], errors="coerce").astype("Int64").to_numpy(),
            "plant_id": pd.to_numeric(rows["plant_id"], errors="coerce").astype("Int64").to_numpy(),
        },
        geometry=geometry,
    )


def _apply_status(
    plants: gpd.GeoDataFrame, joined: gpd.GeoDataFrame, log: RowLog, status_log: RowLog
) -> gpd.GeoDataFrame:
    counts = joined["join_method"].value_counts()
    status_log.note("joined to plants: " + ", ".join(f"{m} {int(counts.get(m, 0)):,}" for m in _METHODS))
    unjoined = joined["join_method"].eq("none")
    retired_coal = unjoined & joined["fuel"].eq("coal") & joined["status"].isin(["retired", "retooled"])
    status_log.note(
        f"{int(unjoined.sum()):,} rows match no plant (kept, plant_id empty); "
        f"{int(retired_coal.sum()):,} of them retired/retooled coal"
    )
    per_plant = status_by_plant(joined)
    plants = plants.join(per_plant.rename(columns=lambda c: f"new_{c}"), on="plant_id")
    has = plants["new_status"].notna()
    default = np.where(plants["sources"].str.startswith(ATLAS), "operating", "retired")
    plants["status"] = plants["new_status"].where(has, pd.Series(default, index=plants.index))
    plants["retirement_date"] = plants["new_retirement_date"].where(has, "").fillna("")
    plants.loc[has, "sources"] = plants.loc[has, "sources"] + ";" + EIA860M
    gppd_only_retired = int((~has & plants["status"].eq("retired")).sum())
    log.note(
        f"status from EIA-860M for {int(has.sum()):,} plants; {gppd_only_retired:,} GPPD-only plants "
        "without an EIA-860M row marked retired (absent from the Nov 2023 Atlas)"
    )
    return plants.drop(columns=["new_status", "new_retirement_date"])


_METHODS = ("plant_id", "exact_name", "fuzzy_name", "nearest", "none")


# --- shared cleaning --------------------------------------------------------------------------


def _text(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), "").astype(str).str.strip().astype(object)


def _clean_capacity(rows: pd.DataFrame, log: RowLog, *, label: str) -> pd.DataFrame:
    cap = pd.to_numeric(rows["capacity_mw"], errors="coerce")
    rows = log.drop(rows, cap.isna(), f"{label}: no capacity")
    cap = cap.loc[rows.index]
    rows = log.drop(rows, cap <= 0, f"{label}: zero or negative capacity")
    cap = cap.loc[rows.index]
    rows = log.drop(rows, cap > MAX_PLANT_MW, f"{label}: capacity above {MAX_PLANT_MW:,.0f} MW (absurd)")
    return rows.assign(capacity_mw=cap.loc[rows.index].astype("float64"))


def _note_conflicts(rows: pd.DataFrame, log: RowLog, *, label: str, limit: int = 5) -> None:
    """Note plant codes whose rows disagree on capacity or name, with both values and the rule.

    The rule: the first row in file order is kept; the others are dropped (counted as
    ``<label>: duplicate plant code``). A disagreement is never resolved silently.
    """
    dup = rows["plant_id"].duplicated(keep=False)
    if not dup.any():
        return
    group = rows.loc[dup]
    cap = pd.to_numeric(group["capacity_mw"], errors="coerce") if "capacity_mw" in group else None
    conflicts = []
    for plant_id, part in group.groupby("plant_id", sort=True):
        differ = []
        if cap is not None:
            values = cap.loc[part.index]
            if values.nunique(dropna=False) > 1:
                differ.append("capacity_mw " + " vs ".join(f"{v:,.1f}" for v in values))
        if "name" in part and _text(part["name"]).nunique() > 1:
            differ.append("name " + " vs ".join(repr(clip_text(str(v), 60)) for v in _text(part["name"])))
        if differ:
            conflicts.append(f"plant {int(plant_id)}: " + "; ".join(differ))
    if conflicts:
        shown = "; ".join(conflicts[:limit]) + (
            f"; and {len(conflicts) - limit:,} more" if len(conflicts) > limit else ""
        )
        log.note(
            f"{label}: {len(conflicts):,} plant codes have rows that disagree; the first row in file order "
            f"is kept and the others dropped as duplicates: {shown}"
        )


WHOLESALE_DROP_SHARE = 0.5
"""A source losing more than this share of its rows to one coordinate problem is refused."""


def _metres_to_degrees(
    lat: pd.Series, lon: pd.Series, log: RowLog, label: str
) -> tuple[pd.Series, pd.Series]:
    """Coordinates in metres (EPSG:3857, Web Mercator) read as degrees, detected from their range.

    A file that does not declare its CRS (a GeoJSON without ``crs`` member, a CSV) is taken as
    degrees; when most of its points lie beyond +-180 / +-90 yet inside the Web Mercator square
    (+-20,037,508 m), and lie in the study area once converted, they are converted and counted.
    """
    known = lat.notna() & lon.notna()
    if not known.any():
        return lat, lon
    beyond = known & ((lon.abs() > 180) | (lat.abs() > 90))
    if beyond.sum() <= WHOLESALE_DROP_SHARE * known.sum():
        return lat, lon
    from pyproj import Transformer

    limit = 20_037_508.35
    metric = beyond & lon.abs().le(limit) & lat.abs().le(limit)
    to_deg = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    x, y = to_deg.transform(lon[metric].to_numpy(dtype="float64"), lat[metric].to_numpy(dtype="float64"))
    new_lon, new_lat = pd.Series(x, index=lon[metric].index), pd.Series(y, index=lat[metric].index)
    fits = new_lat.between(*US_LAT_RANGE) & new_lon.between(*US_LON_RANGE)
    if fits.sum() <= WHOLESALE_DROP_SHARE * known.sum():
        return lat, lon  # not Web Mercator either: the wholesale check below refuses the file
    log.repair(
        int(metric.sum()),
        f"{label}: coordinates in metres (EPSG:3857 detected from their range, no CRS declared) converted to degrees",
    )
    return lat.where(~metric, new_lat), lon.where(~metric, new_lon)


def _clean_points(rows: pd.DataFrame, log: RowLog, *, label: str, where: object = None) -> pd.DataFrame:
    """Drop rows without usable coordinates; repair swapped lat/lon and a lost longitude sign.

    Coordinates in Web Mercator metres are detected and converted (:func:`_metres_to_degrees`).
    More than :data:`WHOLESALE_DROP_SHARE` of the rows lost to one coordinate problem is a
    GisError naming ``where`` (the source file), not a silent loss.
    """
    lat = pd.to_numeric(rows["latitude"], errors="coerce")
    lon = pd.to_numeric(rows["longitude"], errors="coerce")
    lat, lon = _metres_to_degrees(lat, lon, log, label)
    swapped = (lat < 0) & (lon > 0)
    lat, lon = lat.where(~swapped, lon), lon.where(~swapped, lat)
    log.repair(int(swapped.sum()), f"{label}: latitude/longitude swapped")
    lat_ok = lat.between(*US_LAT_RANGE)
    flipped = lat_ok & (lon > 0) & (-lon).between(*US_LON_RANGE)
    lon = lon.where(~flipped, -lon)
    log.repair(int(flipped.sum()), f"{label}: longitude sign restored")
    rows = rows.assign(latitude=lat, longitude=lon)
    total = len(rows)
    missing = lat.isna() | lon.isna()
    inside = lat.between(*US_LAT_RANGE) & lon.between(*US_LON_RANGE)
    for mask, problem in ((missing, "have no coordinates"), (~missing & ~inside, "lie outside the US")):
        if total >= 2 and mask.sum() > WHOLESALE_DROP_SHARE * total:
            raise GisError(
                f"{int(mask.sum()):,} of {total:,} rows {problem} (lat 17..72, lon -180..-64): the whole "
                "source would be lost; its coordinates are probably in another CRS or another column",
                file=str(where or label),
                field="latitude/longitude",
                fix="give the coordinates in degrees (EPSG:4326, longitude negative in the US) or in "
                "Web Mercator metres, or correct [columns] in the source's layers/*.toml entry",
            )
    rows = log.drop(rows, missing, f"{label}: no coordinates")
    inside = rows["latitude"].between(*US_LAT_RANGE) & rows["longitude"].between(*US_LON_RANGE)
    return log.drop(rows, ~inside, f"{label}: outside the US (lat 17..72, lon -180..-64)")


# --- report -----------------------------------------------------------------------------------

_SUMMARY_FUELS = (("hydro", ("hydro", "pumped_storage")), ("nuclear", ("nuclear",)), ("coal", ("coal",)))


def federal_summary(plants: pd.DataFrame) -> Table:
    """Nameplate MW and plant counts of federal and military operators, split by fuel.

    Retired plants are counted apart (``retired``, MW); the other columns cover plants that
    are operating, retiring or retooled (``hydro`` includes pumped storage).
    """
    table = Table(title="Federal and military power plants (nameplate MW by fuel, EIA operator)")
    table.add_column("owner class", no_wrap=True)
    for col in ("plants", "MW", "hydro", "nuclear", "coal", "other", "retired"):
        table.add_column(col, justify="right", no_wrap=True)
    frame = pd.DataFrame(plants)
    live = frame.loc[~frame["status"].eq("retired")]
    total = np.zeros(6)
    for cls in FEDERAL_CLASSES:
        mine = live.loc[live["owner_class"].eq(cls)]
        by_fuel = [mine.loc[mine["fuel"].isin(fuels), "capacity_mw"].sum() for _, fuels in _SUMMARY_FUELS]
        mw = mine["capacity_mw"].sum()
        retired = frame.loc[frame["owner_class"].eq(cls) & frame["status"].eq("retired"), "capacity_mw"].sum()
        row = np.array([len(mine), mw, *by_fuel, mw - sum(by_fuel)])
        total += row
        table.add_row(cls, *(f"{v:,.0f}" for v in row), f"{retired:,.0f}")
    table.add_row("federal + military", *(f"{v:,.0f}" for v in total), "", style="bold")
    return table
