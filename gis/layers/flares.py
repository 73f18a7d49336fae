"""Gas flare sites (VIIRS Nightfire surveys) and shale basins with flared gas (Flaring Monitor).

Layers
------
``flare_sites``
    One row per US flare site and survey year: EOG VNF 2017 (``BCM_2017``) and the EOG global
    flare survey 2015 (``flr_volume``). Volumes in bcm/yr; points in EPSG:4326. ``setting`` is
    ``offshore`` when the point lies in no US state polygon (Gulf platforms), else ``onshore``;
    ``basin`` is the EIA shale basin the point lies in (point-in-polygon).
``flare_basins``
    EIA Lower-48 shale plays (hex EWKB polygons, EPSG:4326) with the basin's VIIRS-modelled
    flared gas in 2020 from Flaring Monitor, converted from mmcf to bcm.

Both survey files are read in their mirror form (CSV) and their official form (EOG's annual
xlsx workbook, same columns); the catalog entry's ``columns`` table maps canonical names to
the survey's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import METRIC_CRS, STORAGE_CRS
from gis.errors import GisError
from gis.rowlog import RowLog
from gis.sources import Fetched, Resolver

__all__ = [
    "MMCF_TO_BCM",
    "assign_basin",
    "assign_state",
    "basin_flared_bcm",
    "build",
    "decode_ewkb",
    "read_flare_survey",
    "read_table",
]

MMCF_TO_BCM = 1e6 * 0.028316846592 / 1e9
"""bcm per mmcf: 1 mmcf = 10^6 ft3 x 0.028316846592 m3/ft3 = 28,316.85 m3 (NIST SP 811 ft3)."""

US_ISO = "USA"
BLANK_ROWS = "blank rows left by the Excel export"
OUTSIDE_US = "outside the US"
MAX_SITE_BCM = 10.0
"""Largest believable flared volume of one site (bcm/yr): all US flaring was 9.5 bcm in 2017 (VNF)."""
OVERLAP_SHARE = 0.5
"""Two plays of one basin whose polygons overlap by more than this share of the smaller one see
the same flares (e.g. Williston: Bakken lies inside Three Forks); their volumes are not added."""


@dataclass(frozen=True)
class _Survey:
    source: str
    year: int
    id_prefix: str
    detection_scale: float  # multiply the survey's detection frequency by this to get 0..1


SURVEYS = (
    _Survey("vnf_flares_2017", 2017, "vnf2017", 1.0),  # Detection_frequency_2017 is a 0..1 share
    _Survey("vnf_flares_2015", 2015, "vnf2015", 0.01),  # dtc_freq is a percentage
)

SURVEY_COLUMNS = (
    "site_key",
    "latitude",
    "longitude",
    "volume_bcm",
    "avg_temp_k",
    "detection_freq",
    "flare_type",
    "country_iso",
)
BASIN_COLUMNS = ("basin_id", "geometry_wkb", "basin", "shale_play")
STATS_COLUMNS = ("basin", "play", "product_type", "product_units")


# ---------------------------------------------------------------------------- reading


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (optionally gzipped, UTF-8 with or without BOM, else Windows-1252) or an xlsx."""
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith((".xlsx", ".xlsm", ".xls")):
            return pd.read_excel(path)
        try:
            return pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
        except UnicodeDecodeError:
            return pd.read_csv(path, encoding="cp1252", low_memory=False)
    except (OSError, EOFError, ValueError, pd.errors.ParserError) as exc:  # EOFError: truncated gzip
        raise GisError(
            f"cannot read the table ({exc})",
            file=path,
            fix="check that the file is the catalogued CSV/xlsx and not truncated",
        ) from exc


def rename_mapped(
    frame: pd.DataFrame, columns: Mapping[str, str], wanted: tuple[str, ...], *, file: str | Path
) -> pd.DataFrame:
    """Select and rename the source columns of ``wanted`` canonical names (catalog ``columns``).

    Raises GisError naming the file and the missing source column.
    """
    for canonical in wanted:
        if canonical not in columns:
            raise GisError(
                f"the catalog entry maps no source column to '{canonical}'",
                file=file,
                field=canonical,
                fix=f'add `{canonical} = "<source column>"` to the entry\'s [columns] table',
            )
        if columns[canonical] not in frame.columns:
            raise GisError(
                f"the column mapped to '{canonical}' is missing (columns: {', '.join(map(str, frame.columns[:12]))})",
                file=file,
                field=columns[canonical],
                fix="check the file against the catalog entry's [columns] table in layers/",
            )
    return frame[[columns[c] for c in wanted]].set_axis(list(wanted), axis=1)


def read_flare_survey(fetched: Fetched, *, log: RowLog) -> pd.DataFrame:
    """One VNF survey table (CSV or xlsx) with canonical column names, blank rows dropped.

    Blank rows (the 2017 CSV carries 11,367 of them after its 10,009 records) are counted in
    ``log`` as "blank rows left by the Excel export".
    """
    raw = read_table(fetched.path)
    log.read(len(raw))
    blank = raw.isna().all(axis=1)
    raw = log.drop(raw, blank, BLANK_ROWS)
    return rename_mapped(raw, fetched.source.columns, SURVEY_COLUMNS, file=fetched.path)


def _survey_sites(fetched: Fetched, survey: _Survey, log: RowLog) -> pd.DataFrame:
    frame = read_flare_survey(fetched, log=log)
    iso = frame["country_iso"].astype("string").str.strip().str.upper()
    frame = log.drop(frame, iso != US_ISO, OUTSIDE_US)
    numeric = {c: pd.to_numeric(frame[c], errors="coerce") for c in ("latitude", "longitude", "volume_bcm")}
    swapped = (numeric["latitude"] < 0) & (
        numeric["longitude"] > 0
    )  # no US site lies at S latitude, E longitude
    numeric["latitude"], numeric["longitude"] = (
        numeric["latitude"].where(~swapped, numeric["longitude"]),
        numeric["longitude"].where(~swapped, numeric["latitude"]),
    )
    log.repair(int(swapped.sum()), f"{survey.year}: latitude/longitude swapped")
    frame = frame.assign(**numeric)
    bad_xy = (
        frame["latitude"].isna()
        | frame["longitude"].isna()
        | ~frame["latitude"].between(-90, 90)
        | ~frame["longitude"].between(-180, 180)
    )
    frame = log.drop(frame, bad_xy, f"{survey.year}: no valid coordinates")
    frame = log.drop(frame, frame["volume_bcm"].isna(), f"{survey.year}: no flared volume")
    frame = log.drop(frame, frame["volume_bcm"] < 0, f"{survey.year}: negative flared volume")
    frame = log.drop(
        frame, frame["volume_bcm"] > MAX_SITE_BCM, f"{survey.year}: above {MAX_SITE_BCM:g} bcm/yr (absurd)"
    )
    key = frame["site_key"].astype("string").str.strip()
    as_number = pd.to_numeric(key, errors="coerce")
    whole = as_number.notna() & (as_number % 1 == 0)
    key = key.where(~whole, as_number.where(whole).round().astype("Int64").astype("string"))
    frame = frame.assign(flare_id=survey.id_prefix + ":" + key)
    frame = log.drop(frame, key.isna() | (key == ""), f"{survey.year}: no site id")
    frame = log.drop(frame, frame["flare_id"].duplicated(), f"{survey.year}: duplicate site id")
    return pd.DataFrame(
        {
            "flare_id": frame["flare_id"].astype(str),
            "year": survey.year,
            "volume_bcm": frame["volume_bcm"].astype("float64"),
            "avg_temp_k": pd.to_numeric(frame["avg_temp_k"], errors="coerce"),
            "detection_freq": pd.to_numeric(frame["detection_freq"], errors="coerce")
            * survey.detection_scale,
            "flare_type": frame["flare_type"].astype("string").str.strip().str.lower().fillna(""),
            "source": survey.source,
            "lon": frame["longitude"],
            "lat": frame["latitude"],
        }
    )


# ---------------------------------------------------------------------------- spatial joins


def _within_first(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, order: list[str]) -> pd.DataFrame:
    """For each point, the first polygon row (by ``order``) that contains it; one row per hit point."""
    hits = gpd.sjoin(points[["geometry"]], polygons, how="inner", predicate="within")
    hits = hits.reset_index(names="_point").sort_values(["_point", *order], kind="stable")
    return hits.drop_duplicates("_point").set_index("_point")


def assign_state(points: gpd.GeoSeries | gpd.GeoDataFrame, states: gpd.GeoDataFrame) -> pd.Series:
    """Two-letter ``state`` of the state polygon each point lies in ("" if none), by index.

    Uses ``gis.layers.boundaries.assign_state`` when it exists; otherwise a vectorised
    point-in-polygon join (both layers in EPSG:4326).
    """
    boundaries_assign_state: Callable[..., pd.Series] | None
    try:
        from gis.layers.boundaries import assign_state as boundaries_assign_state
    except ImportError:
        boundaries_assign_state = None
    if boundaries_assign_state is not None:
        return pd.Series(boundaries_assign_state(points, states), index=points.index).fillna("").astype(str)
    frame = points if isinstance(points, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=points)
    polys = states[["state", "geometry"]].to_crs(frame.crs)
    hit = _within_first(frame, polys, ["state"])
    return hit["state"].reindex(frame.index).fillna("").astype(str)


def _near_a_state(points: gpd.GeoDataFrame, states: gpd.GeoDataFrame, metres: float) -> np.ndarray:
    """Which points lie less than ``metres`` (EPSG:5070) from some state polygon.

    The distance to the nearest state, each state taken alone: the distance to their union
    without building the union (the states' tree gives the candidates within ``metres``).
    """
    at = points.to_crs(METRIC_CRS).geometry.values
    polygons = states.to_crs(METRIC_CRS).geometry.values
    point, state = shapely.STRtree(polygons).query(at, predicate="dwithin", distance=metres)
    nearest = np.full(len(at), np.inf)
    np.minimum.at(nearest, point, shapely.distance(at[point], polygons[state]))
    return nearest < metres


def assign_basin(points: gpd.GeoDataFrame, basins: gpd.GeoDataFrame) -> pd.Series:
    """Name of the shale basin each point lies in ("" if none), by index.

    Where plays of different basins overlap, the smallest containing play (area_km2) wins.
    """
    polys = basins[["basin", "area_km2", "basin_id", "geometry"]].to_crs(points.crs)
    hit = _within_first(points, polys, ["area_km2", "basin_id"])
    return hit["basin"].reindex(points.index).fillna("").astype(str)


# ---------------------------------------------------------------------------- basins


def decode_ewkb(values: pd.Series, *, file: str | Path, field: str = "geom") -> gpd.GeoSeries:
    """Decode hex (E)WKB strings into a GeoSeries in EPSG:4326 (the EWKB SRID, if any, is honoured)."""
    text = values.astype("string").str.strip()
    if text.isna().any() or (text == "").any():
        raise GisError(
            f"{int((text.isna() | (text == '')).sum())} rows have no geometry",
            file=file,
            field=field,
            fix="the column must hold hex EWKB for every row",
        )
    try:
        geoms = shapely.from_wkb(text.to_numpy(dtype=object))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise GisError(
            f"the geometry column is not valid hex WKB ({exc})",
            file=file,
            field=field,
            fix="re-download the file; it must hold hex-encoded (E)WKB polygons",
        ) from exc
    srids = set(np.unique(shapely.get_srid(geoms)).tolist()) - {0}
    if len(srids) > 1:
        raise GisError(f"mixed SRIDs {sorted(srids)} in one layer", file=file, field=field)
    crs = f"EPSG:{srids.pop()}" if srids else STORAGE_CRS
    return gpd.GeoSeries(geoms, index=values.index, crs=crs).to_crs(STORAGE_CRS)


@overload
def _norm(name: str) -> str: ...
@overload
def _norm(name: pd.Series) -> pd.Series: ...
def _norm(name: pd.Series | str) -> pd.Series | str:
    if isinstance(name, str):
        return re.sub(r"basin$", "", re.sub(r"[^a-z0-9]", "", name.lower()))
    return name.astype("string").fillna("").map(_norm)


def _match_stats_basin(stats_basin: str, plays: list[str], polys: pd.DataFrame) -> str | None:
    """The polygon ``basin`` a Flaring Monitor basin name stands for, or None.

    Same normalised name first (Permian, Williston); otherwise the polygon basin holding the
    stats' plays (Barnett -> Ft. Worth, Eagleford -> Western Gulf), and when a play name is in
    several basins (Niobrara) the one whose name starts like the stats basin (Denver Julesberg
    -> Denver Basin).
    """
    key = _norm(stats_basin)
    same = polys.loc[polys["basin_norm"] == key, "basin"].unique()
    if len(same) == 1:
        return str(same[0])
    play_keys = {_norm(p) for p in plays} - {"all", "other", ""}
    cands = polys.loc[polys["play_norm"].isin(play_keys), ["basin", "basin_norm"]].drop_duplicates()
    if cands["basin"].nunique() == 1:
        return str(cands["basin"].iloc[0])
    prefix = cands[[b.startswith(key) or key.startswith(b) for b in cands["basin_norm"]]]
    if prefix["basin"].nunique() == 1:
        return str(prefix["basin"].iloc[0])
    return None


def _overlap_share(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Intersection area over the smaller area (0 when either is empty)."""
    smaller = min(a.area, b.area)
    return a.intersection(b).area / smaller if smaller > 0 else 0.0


def _flared_rows(stats: pd.DataFrame, year: int, log: RowLog, file: str | Path) -> pd.DataFrame:
    """The flared-gas rows (mmcf) of ``stats`` with column ``mmcf``: the ``year``'s 12 months summed."""
    months = [c for c in stats.columns if re.fullmatch(rf"[a-z]{{3}}_{year}", str(c))]
    if len(months) != 12:
        raise GisError(
            f"expected 12 monthly columns for {year}, found {len(months)}",
            file=file,
            field=f"jan_{year}",
            fix="the basin statistics must have one column per month named like jan_2020",
        )
    kind = stats["product_type"].astype("string").str.strip().str.lower()
    units = stats["product_units"].astype("string").str.strip().str.lower()
    flared = stats.loc[(kind == "flared gas") & (units == "mmcf")].copy()
    if flared.empty:
        raise GisError(
            "no rows with product_type 'flared gas' in units 'mmcf'",
            file=file,
            field="product_type",
            fix="use Flaring Monitor's processed basin statistics",
        )
    values = flared[months].apply(pd.to_numeric, errors="coerce")
    missing_months = int(values.isna().sum().sum())
    if missing_months:
        log.note(f"{missing_months} empty monthly {year} values in the basin statistics counted as 0 mmcf")
    flared["mmcf"] = values.fillna(0.0).sum(axis=1)
    return flared


def _plays_mmcf(
    stats_basin: str, rows: pd.DataFrame, shapes: dict[str, shapely.Geometry], log: RowLog
) -> float:
    """A basin's flared mmcf/yr as the sum of its plays, a play inside a larger-volume play's polygon once.

    ``shapes`` maps each normalised play name to its polygons' union (EPSG:5070).
    """
    play = _norm(rows["play"])
    total = 0.0
    counted: list[str] = []
    for idx in rows.sort_values("mmcf", ascending=False).index:
        mine = shapes[play[idx]]
        if any(_overlap_share(mine, shapes[other]) > OVERLAP_SHARE for other in counted):
            log.note(
                f"{stats_basin}: play '{rows.at[idx, 'play']}' lies within a larger-volume play's "
                "polygon; its flares are already counted"
            )
            continue
        counted.append(play[idx])
        total += float(rows.at[idx, "mmcf"])
    return total


def _basin_mmcf(
    stats_basin: str,
    rows: pd.DataFrame,
    in_basin: pd.Series,
    polys: pd.DataFrame,
    metric: gpd.GeoSeries,
    log: RowLog,
) -> float:
    """A basin's flared mmcf/yr: its "All" row when present, else its plays (:func:`_plays_mmcf`)."""
    play = _norm(rows["play"])
    if (play == "all").any():
        total = float(rows.loc[play == "all", "mmcf"].sum())
        parts = float(rows.loc[play != "all", "mmcf"].sum())
        if parts and abs(parts - total) > 0.01 * total:
            log.note(f"{stats_basin}: 'All' ({total:.0f} mmcf) differs from its plays ({parts:.0f} mmcf)")
        return total
    shapes = {
        key: shapely.union_all(metric[in_basin & (polys["play_norm"] == key)].to_numpy()) for key in set(play)
    }
    return _plays_mmcf(stats_basin, rows, shapes, log)


def basin_flared_bcm(
    stats: pd.DataFrame, basins: gpd.GeoDataFrame, *, year: int = 2020, log: RowLog, file: str | Path = ""
) -> pd.Series:
    """Flared gas per polygon in bcm/yr: the year's 12 monthly mmcf values of its basin.

    ``stats`` has canonical columns (basin, play, product_type, product_units, mon_YYYY ...);
    rows with product_type "flared gas" in mmcf are used. A basin's total is its "All" row when
    present, else the sum over its plays, except that plays whose polygons overlap (by more than
    half of the smaller) see the same flares and count once (the largest). The basin total is
    repeated on every polygon of that basin: do not sum the column over polygons. NaN where
    the basin has no statistics (counted in ``log``).
    """
    flared = _flared_rows(stats, year, log, file)
    polys = pd.DataFrame(
        {
            "basin": basins["basin"].astype(str),
            "basin_norm": _norm(basins["basin"]),
            "play_norm": _norm(basins["shale_play"]),
        }
    )
    metric = basins.geometry.to_crs(METRIC_CRS)
    totals: dict[str, float] = {}
    for stats_basin, rows in flared.groupby("basin", sort=True):
        target = _match_stats_basin(str(stats_basin), rows["play"].astype(str).tolist(), polys)
        if target is None:
            log.note(f"basin statistics for '{stats_basin}' match no basin polygon; not used")
            continue
        total = _basin_mmcf(stats_basin, rows, polys["basin"] == target, polys, metric, log)
        totals[target] = total * MMCF_TO_BCM
    out = polys["basin"].map(totals).astype("float64")
    no_stats = sorted(set(polys.loc[out.isna(), "basin"]))
    if no_stats:
        log.note(
            f"{len(no_stats)} basins ({int(out.isna().sum())} polygons) have no {year} flaring statistics: "
            + ", ".join(no_stats)
        )
    return out


def build_flare_basins(resolver: Resolver) -> tuple[gpd.GeoDataFrame, RowLog]:
    """The ``flare_basins`` layer (EPSG:4326; area_km2 measured in EPSG:5070) and its row log."""
    log = RowLog("flare_basins")
    shapes = resolver.require("flaring_monitor", "basins")
    raw = read_table(shapes.path)
    log.read(len(raw))
    frame = rename_mapped(raw, shapes.source.columns, BASIN_COLUMNS, file=shapes.path)
    geoms = decode_ewkb(frame["geometry_wkb"], file=shapes.path, field=shapes.source.columns["geometry_wkb"])
    invalid = ~geoms.is_valid
    if invalid.any():
        geoms = geoms.where(~invalid, geoms[invalid].make_valid())
        log.repair(int(invalid.sum()), "invalid polygon made valid")
    basins = gpd.GeoDataFrame(
        {
            "basin_id": pd.to_numeric(frame["basin_id"], errors="coerce"),
            "basin": frame["basin"].astype("string").str.strip().fillna(""),
            "shale_play": frame["shale_play"].astype("string").str.strip().fillna(""),
        },
        geometry=geoms,
        crs=STORAGE_CRS,
    )
    basins = log.drop(basins, basins["basin_id"].isna(), "no polygon id")
    basins = log.drop(basins, basins["basin_id"].duplicated(), "duplicate polygon id")
    basins = basins.assign(area_km2=basins.to_crs(METRIC_CRS).area / 1e6)
    stats_file = resolver.require("flaring_monitor", "basin_stats")
    stats_raw = read_table(stats_file.path)
    ids = rename_mapped(stats_raw, stats_file.source.columns, STATS_COLUMNS, file=stats_file.path)
    stats = pd.concat(
        [ids, stats_raw.drop(columns=list(stats_file.source.columns.values()), errors="ignore")], axis=1
    )
    basins["flared_bcm_2020"] = basin_flared_bcm(stats, basins, year=2020, log=log, file=stats_file.path)
    basins["source"] = "flaring_monitor"
    return basins.reset_index(drop=True), log


# ---------------------------------------------------------------------------- build


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``flare_sites`` and ``flare_basins`` (EPSG:4326)."""
    basins, basin_log = build_flare_basins(resolver)
    log = RowLog("flare_sites")
    parts = [_survey_sites(resolver.require(s.source, "sites"), s, log) for s in SURVEYS]
    table = pd.concat(parts, ignore_index=True)
    sites = gpd.GeoDataFrame(
        table.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(table["lon"], table["lat"]),
        crs=STORAGE_CRS,
    )
    states = built.get("states")
    if states is None or len(states) == 0:
        log.note("no states layer: state left empty and setting 'unknown' (build boundaries first)")
        sites["state"] = ""
        sites["setting"] = "unknown"
    else:
        sites["state"] = assign_state(sites, states)
        sites["setting"] = np.where(sites["state"] == "", "offshore", "onshore")
        offshore = sites.loc[sites["setting"] == "offshore"]
        if len(offshore):
            near = _near_a_state(offshore, states, 2_000.0)
            log.note(
                f"{len(offshore)} sites lie in no state polygon and are marked offshore; "
                f"{int(near.sum())} of them within 2 km of a state boundary (coastline generalisation)"
            )
    sites["basin"] = assign_basin(sites, basins)
    for year, group in sites.groupby("year"):
        log.note(f"{year}: {len(group)} US sites, {group['volume_bcm'].sum():.3f} bcm/yr")
    return {"flare_sites": (sites, log), "flare_basins": (basins, basin_log)}
