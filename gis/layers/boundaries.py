"""States and counties: Census cartographic boundaries, with NREL state technical potential.

Sources (``layers/census_cb_2010_20m.toml``, ``layers/nrel_state_potential.toml``):

- the mirror form is the Census 2010 1:20M GeoJSON (``GEO_ID, STATE, COUNTY, NAME, LSAD,
  CENSUSAREA`` in square miles);
- the official form is the Census zip holding a shapefile (NAD83), read in place through GDAL's
  ``/vsizip/``. Both the 2010 schema and the 2013+ schema (``STATEFP, COUNTYFP, GEOID, STUSPS,
  NAME, ALAND`` in square metres, e.g. ``cb_2018_us_state_20m.zip``) are understood.

Layers are stored in EPSG:4326; areas come from the Census attributes, not from the
generalised polygons. :func:`assign_state` is the shared point-in-state join other builders use.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gis import STORAGE_CRS
from gis.errors import GisError
from gis.rowlog import RowLog
from gis.sources import Fetched, Resolver
from gis.sources.archive import find_member, safe_members

__all__ = [
    "STATE_FIPS",
    "WEB_MERCATOR",
    "assign_state",
    "build",
    "counties_from_frame",
    "looks_like_web_mercator",
    "read_state_potential",
    "read_vector",
    "repair_geometries",
    "state_code",
    "states_from_frame",
]

CENSUS_SOURCE = "census_cb_2010_20m"
POTENTIAL_SOURCE = "nrel_state_potential"

SQ_MI_TO_KM2 = 2.589988110336
"""Square miles to square kilometres (international mile, exact)."""

STATE_FIPS: dict[str, tuple[str, str]] = {
    "01": ("AL", "Alabama"),
    "02": ("AK", "Alaska"),
    "04": ("AZ", "Arizona"),
    "05": ("AR", "Arkansas"),
    "06": ("CA", "California"),
    "08": ("CO", "Colorado"),
    "09": ("CT", "Connecticut"),
    "10": ("DE", "Delaware"),
    "11": ("DC", "District of Columbia"),
    "12": ("FL", "Florida"),
    "13": ("GA", "Georgia"),
    "15": ("HI", "Hawaii"),
    "16": ("ID", "Idaho"),
    "17": ("IL", "Illinois"),
    "18": ("IN", "Indiana"),
    "19": ("IA", "Iowa"),
    "20": ("KS", "Kansas"),
    "21": ("KY", "Kentucky"),
    "22": ("LA", "Louisiana"),
    "23": ("ME", "Maine"),
    "24": ("MD", "Maryland"),
    "25": ("MA", "Massachusetts"),
    "26": ("MI", "Michigan"),
    "27": ("MN", "Minnesota"),
    "28": ("MS", "Mississippi"),
    "29": ("MO", "Missouri"),
    "30": ("MT", "Montana"),
    "31": ("NE", "Nebraska"),
    "32": ("NV", "Nevada"),
    "33": ("NH", "New Hampshire"),
    "34": ("NJ", "New Jersey"),
    "35": ("NM", "New Mexico"),
    "36": ("NY", "New York"),
    "37": ("NC", "North Carolina"),
    "38": ("ND", "North Dakota"),
    "39": ("OH", "Ohio"),
    "40": ("OK", "Oklahoma"),
    "41": ("OR", "Oregon"),
    "42": ("PA", "Pennsylvania"),
    "44": ("RI", "Rhode Island"),
    "45": ("SC", "South Carolina"),
    "46": ("SD", "South Dakota"),
    "47": ("TN", "Tennessee"),
    "48": ("TX", "Texas"),
    "49": ("UT", "Utah"),
    "50": ("VT", "Vermont"),
    "51": ("VA", "Virginia"),
    "53": ("WA", "Washington"),
    "54": ("WV", "West Virginia"),
    "55": ("WI", "Wisconsin"),
    "56": ("WY", "Wyoming"),
    "60": ("AS", "American Samoa"),
    "66": ("GU", "Guam"),
    "69": ("MP", "Northern Mariana Islands"),
    "72": ("PR", "Puerto Rico"),
    "78": ("VI", "United States Virgin Islands"),
}
"""Census state FIPS code -> (USPS two-letter code, name): 50 states, DC, PR and the territories."""


_NAME_VARIANTS = {
    "virgin islands": "VI",
    "u.s. virgin islands": "VI",
    "commonwealth of the northern mariana islands": "MP",
}
"""Spellings of territory names other than the Census one, as MIRTA and EIA write them."""

_STATE_KEYS: dict[str, str] = (
    {name.lower(): code for code, name in STATE_FIPS.values()}
    | {code.lower(): code for code, _ in STATE_FIPS.values()}
    | _NAME_VARIANTS
)


def state_code(values: pd.Series) -> pd.Series:
    """Two-letter USPS codes from state / territory names or codes (any case, any spacing); ""
    for anything else. One table (:data:`STATE_FIPS`) serves every source that spells states out."""
    key = values.astype("string").str.strip().str.lower()
    return key.map(_STATE_KEYS).fillna("").astype(object)


# Census attribute names of the two cartographic-boundary schemas, by canonical meaning.
_STATE_SCHEMAS = {
    "2010": {"state_fips": "STATE", "name": "NAME", "area": "CENSUSAREA"},
    "2013+": {"state_fips": "STATEFP", "name": "NAME", "area": "ALAND"},
}
_COUNTY_SCHEMAS = {
    "2010": {"state_fips": "STATE", "county_fips": "COUNTY", "name": "NAME", "area": "CENSUSAREA"},
    "2013+": {"state_fips": "STATEFP", "county_fips": "COUNTYFP", "name": "NAME", "area": "ALAND"},
}
_AREA_TO_KM2 = {"CENSUSAREA": SQ_MI_TO_KM2, "ALAND": 1e-6}  # square miles / square metres -> km2
_CATALOG_ROLES = {
    "state_fips": "state_fips",
    "county_fips": "county_fips",
    "name": "name",
    "land_area_km2": "area",
}
"""Catalog ``[columns]`` key -> role in a boundary schema."""


def _with_catalog(
    schemas: Mapping[str, Mapping[str, str]], columns: Mapping[str, str] | None
) -> Mapping[str, Mapping[str, str]]:
    """``schemas`` with the catalog's mapping tried first, when it maps every field they need."""
    roles = next(iter(schemas.values())).keys()
    mapped = {role: columns[key] for key, role in _CATALOG_ROLES.items() if columns and key in columns}
    if not set(roles) <= set(mapped):
        return schemas
    return {"catalog": {role: mapped[role] for role in roles}, **schemas}


WEB_MERCATOR = "EPSG:3857"
"""The projected CRS recognised from its coordinates' range when a file declares none."""


def looks_like_web_mercator(bounds: Iterable[float]) -> bool:
    """True when ``bounds`` (minx, miny, maxx, maxy) in metres, read as EPSG:3857, lie over the US.

    Used when a file declares no CRS (or degrees) but holds coordinates beyond +-180 / +-90:
    inside the Web Mercator square (+-20,037,508 m) and, once converted, within longitude
    -180..-64 and latitude 17..72 (the study area), they are taken as EPSG:3857.
    """
    from pyproj import Transformer

    minx, miny, maxx, maxy = (float(v) for v in bounds)
    limit = 20_037_508.35
    if not all(abs(v) <= limit for v in (minx, miny, maxx, maxy)):
        return False
    to_deg = Transformer.from_crs(WEB_MERCATOR, STORAGE_CRS, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_deg.transform([minx, maxx], [miny, maxy])
    return lon0 >= -180 and lon1 <= -64 and lat0 >= 17 and lat1 <= 72


def read_vector(path: str | Path, *, member_glob: str = "*.shp") -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, ``.gz``, shapefile, or a zip holding one) as a GeoDataFrame.

    A zip is read in place through GDAL's ``/vsizip/`` (its first member matching
    ``member_glob``, names checked against zip-slip); a ``.gz`` through ``/vsigzip/``. The CRS is
    the file's own; a file without one (or a GeoJSON read as degrees by default) gets EPSG:4326
    when its coordinates are degrees, EPSG:3857 when they are Web Mercator metres over the US
    (:func:`looks_like_web_mercator`; reprojected and noted by :func:`repair_geometries`).

    Raises
    ------
    GisError
        when the file cannot be read or has no CRS and projected coordinates.
    """
    path = Path(path)
    if not path.is_file():
        raise GisError("the file does not exist", file=path, fix="fetch the source again (gis fetch)")
    if zipfile.is_zipfile(path):
        safe_members(path)
        gdal_path = f"/vsizip/{path.resolve().as_posix()}/{find_member(path, member_glob)}"
    elif path.suffix.lower() == ".gz":
        gdal_path = f"/vsigzip/{path.resolve().as_posix()}"
    else:
        gdal_path = str(path)
    try:
        frame = pyogrio.read_dataframe(gdal_path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GisError(
            f"cannot read the vector file ({exc})",
            file=path,
            fix="delete it from the cache or data directory and fetch it again",
        ) from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        raise GisError("the file has no geometry", file=path, field="geometry", fix="use the catalogued file")
    if len(frame):
        minx, miny, maxx, maxy = frame.total_bounds
        beyond_degrees = minx < -180 or maxx > 180 or miny < -90 or maxy > 90
    else:
        beyond_degrees = False
    if beyond_degrees and (frame.crs is None or frame.crs.is_geographic):
        # GDAL reads a GeoJSON without a crs member as EPSG:4326; the coordinates decide
        if looks_like_web_mercator(frame.total_bounds):
            frame = frame.set_crs(WEB_MERCATOR, allow_override=True)  # reprojected (and counted) later
            frame.attrs["crs_detected"] = WEB_MERCATOR
            return frame
        declared = "declares no CRS" if frame.crs is None else f"declares {frame.crs.to_string()} (degrees)"
        raise GisError(
            f"the file {declared} but its coordinates are not longitude/latitude degrees, nor Web Mercator "
            "metres over the US",
            file=path,
            field="crs",
            fix="declare the file's real CRS (a .prj or a GeoJSON crs member), or reproject it to EPSG:4326",
        )
    if frame.crs is None:
        frame = frame.set_crs(STORAGE_CRS)
    return frame


def repair_geometries(frame: gpd.GeoDataFrame, log: RowLog) -> gpd.GeoDataFrame:
    """Drop rows without geometry and repair invalid ones with ``make_valid``, counting both.

    The frame is returned in EPSG:4326 (reprojected if it came in another CRS).
    """
    detected = frame.attrs.get("crs_detected")
    frame = log.drop(frame, frame.geometry.isna() | frame.geometry.is_empty, "no geometry")
    if detected:
        log.repair(
            len(frame),
            f"coordinates in metres ({detected} detected from their range, no CRS declared) converted to degrees",
        )
    if frame.crs is not None and not frame.crs.equals(gpd.GeoSeries([], crs=STORAGE_CRS).crs):
        log.note(f"reprojected from {frame.crs.to_string()} to {STORAGE_CRS}")
        frame = frame.to_crs(STORAGE_CRS)
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        frame = frame.copy()
        frame.loc[invalid, frame.geometry.name] = shapely.make_valid(frame.geometry[invalid].values)
        log.repair(int(invalid.sum()), "invalid geometry repaired with make_valid")
    return frame


def _schema_of(frame: pd.DataFrame, schemas: Mapping[str, Mapping[str, str]], *, file: str) -> dict:
    if len(frame) == 0:
        raise GisError(
            "the boundary file holds no features",
            file=file,
            fix="delete it from the cache or data directory and fetch it again (gis fetch)",
        )
    for fields in schemas.values():
        if all(col in frame.columns for col in fields.values()):
            return dict(fields)
    first = next(iter(schemas.values()))
    missing = [c for c in first.values() if c not in frame.columns]
    raise GisError(
        f"the boundary file has none of the known column sets ({', '.join(schemas)}; lacks "
        f"{', '.join(missing)})",
        file=file,
        field=missing[0],
        fix="use a Census cartographic boundary file (gz_2010_us_*_20m or cb_20XX_us_*_20m), or map its "
        "columns under [columns] in layers/census_cb_2010_20m.toml",
    )


def _fips(series: pd.Series, width: int) -> pd.Series:
    text = series.astype("string").str.strip().fillna("")
    digits = text.str.fullmatch(r"\d+")
    return text.where(~digits, text.str.zfill(width)).astype(object)


def _land_area_km2(frame: pd.DataFrame, column: str, *, file: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.isna().all() and len(values):
        raise GisError(
            "the land-area column holds no numbers", file=file, field=column, fix="use the catalogued file"
        )
    if column not in _AREA_TO_KM2:
        raise GisError(
            f"the unit of the land-area column '{column}' is not known",
            file=file,
            field=column,
            fix="map land_area_km2 to CENSUSAREA (square miles) or ALAND (square metres) in the catalog",
        )
    return values * _AREA_TO_KM2[column]


def states_from_frame(
    frame: gpd.GeoDataFrame, *, file: str, log: RowLog, columns: Mapping[str, str] | None = None
) -> gpd.GeoDataFrame:
    """Canonical ``states`` (without potential columns) from a Census state boundary frame.

    Accepts the fields the catalog's ``[columns]`` maps (``columns``: ``state_fips``, ``name``,
    ``land_area_km2``), else the 2010 (``STATE``, ``CENSUSAREA`` in mi²) or 2013+ (``STATEFP``,
    ``ALAND`` in m²) schema; FIPS codes not in :data:`STATE_FIPS` are dropped and counted.
    EPSG:4326 out.
    """
    log.read(len(frame))
    fields = _schema_of(frame, _with_catalog(_STATE_SCHEMAS, columns), file=file)
    frame = frame.reset_index(drop=True)
    frame = repair_geometries(frame, log)
    fips = _fips(frame[fields["state_fips"]], 2)
    frame = log.drop(frame, ~fips.isin(list(STATE_FIPS)), "state FIPS code not in the state table")
    fips = fips.loc[frame.index]
    out = gpd.GeoDataFrame(
        {
            "state": fips.map(lambda f: STATE_FIPS[f][0]),
            "state_fips": fips,
            "name": frame[fields["name"]].astype("string").fillna("").astype(object),
            "land_area_km2": _land_area_km2(frame, fields["area"], file=file),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
        index=frame.index,
    )
    out = log.drop(out, out["state"].duplicated(), "duplicate state FIPS code")
    return out.sort_values("state_fips").reset_index(drop=True)


def counties_from_frame(
    frame: gpd.GeoDataFrame, *, file: str, log: RowLog, columns: Mapping[str, str] | None = None
) -> gpd.GeoDataFrame:
    """Canonical ``counties`` from a Census county boundary frame, EPSG:4326.

    Reads the fields the catalog's ``[columns]`` maps (``columns``), else the 2010 or 2013+ schema.
    """
    log.read(len(frame))
    fields = _schema_of(frame, _with_catalog(_COUNTY_SCHEMAS, columns), file=file)
    frame = frame.reset_index(drop=True)
    frame = repair_geometries(frame, log)
    state_fips = _fips(frame[fields["state_fips"]], 2)
    county_fips = _fips(frame[fields["county_fips"]], 3)
    bad = ~state_fips.isin(list(STATE_FIPS)) | ~county_fips.str.fullmatch(r"\d{3}").astype(bool)
    frame = log.drop(frame, bad, "state or county FIPS code not valid")
    state_fips, county_fips = state_fips.loc[frame.index], county_fips.loc[frame.index]
    out = gpd.GeoDataFrame(
        {
            "geoid": state_fips + county_fips,
            "state_fips": state_fips,
            "county_fips": county_fips,
            "name": frame[fields["name"]].astype("string").fillna("").astype(object),
            "state": state_fips.map(lambda f: STATE_FIPS[f][0]),
            "land_area_km2": _land_area_km2(frame, fields["area"], file=file),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
        index=frame.index,
    )
    out = log.drop(out, out["geoid"].duplicated(), "duplicate county GEOID")
    return out.sort_values("geoid").reset_index(drop=True)


def read_state_potential(
    path: str | Path, *, columns: Mapping[str, str], log: RowLog | None = None
) -> pd.DataFrame:
    """NREL state technical potential (Lopez et al. 2012) as ``state, pv_potential_gw, wind_potential_gw``.

    ``columns`` maps ``state_name``, ``pv_potential_gw`` and ``wind_potential_gw`` to the CSV
    headers (the catalog's ``[columns]``). Numbers carry thousands separators; ``NA`` is unknown.
    The national ``TOTAL`` row and names not in :data:`STATE_FIPS` are left out and counted.
    """
    log = log if log is not None else RowLog(POTENTIAL_SOURCE)
    try:
        table = pd.read_csv(path, thousands=",", na_values=["NA"], dtype=str, keep_default_na=True)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise GisError(
            f"cannot read the NREL potential table ({exc})", file=path, fix="fetch the file again"
        ) from exc
    missing = [c for c in columns.values() if c not in table.columns]
    if missing:
        raise GisError(
            "the NREL potential table lacks a catalogued column",
            file=path,
            field=missing[0],
            fix=f"check [columns] in layers/{POTENTIAL_SOURCE}.toml against the file's header",
        )
    names = table[columns["state_name"]].astype("string").str.strip().fillna("")
    by_name = {name.lower(): code for code, name in STATE_FIPS.values()}
    codes = names.str.lower().map(by_name)
    is_total = names.str.upper().isin(["TOTAL", "UNITED STATES", "US TOTAL"])
    if is_total.any():
        log.note(f"{POTENTIAL_SOURCE}: national total row left out of the state join")
    unknown = codes.isna() & ~is_total
    if unknown.any():
        log.note(
            f"{POTENTIAL_SOURCE}: {int(unknown.sum())} row(s) with an unknown state name left out: "
            + ", ".join(names[unknown].head(5))
        )
    out = pd.DataFrame({"state": codes})
    for canonical in ("pv_potential_gw", "wind_potential_gw"):
        raw = table[columns[canonical]].astype("string").str.replace(",", "", regex=False).str.strip()
        out[canonical] = pd.to_numeric(raw, errors="coerce").astype("float64")
    out = out.loc[codes.notna()].drop_duplicates("state")
    return out.reset_index(drop=True)


def _potential_columns(fetched: Fetched) -> dict[str, str]:
    wanted = ("state_name", "pv_potential_gw", "wind_potential_gw")
    missing = [k for k in wanted if k not in fetched.source.columns]
    if missing:
        raise GisError(
            "the catalog entry does not map a column the states layer needs",
            file=f"layers/{fetched.source.name}.toml",
            field=f"columns.{missing[0]}",
            fix='add e.g. pv_potential_gw = "Rural Utility-scale PV (GW)" under [columns]',
        )
    return {k: fetched.source.columns[k] for k in wanted}


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``states`` and ``counties`` (EPSG:4326) with their row logs."""
    states_log, counties_log = RowLog("states"), RowLog("counties")
    states_file = resolver.require(CENSUS_SOURCE, "states")
    counties_file = resolver.require(CENSUS_SOURCE, "counties")
    states = states_from_frame(
        read_vector(states_file.path),
        file=str(states_file.path),
        log=states_log,
        columns=states_file.source.columns,
    )
    counties = counties_from_frame(
        read_vector(counties_file.path),
        file=str(counties_file.path),
        log=counties_log,
        columns=counties_file.source.columns,
    )
    potential_file = resolver.get(POTENTIAL_SOURCE, "table")
    if potential_file is None:
        states_log.note(f"{POTENTIAL_SOURCE} not available: pv/wind potential left empty")
        states["pv_potential_gw"] = np.nan
        states["wind_potential_gw"] = np.nan
    else:
        potential = read_state_potential(
            potential_file.path, columns=_potential_columns(potential_file), log=states_log
        )
        states = states.merge(potential, on="state", how="left")
        lacking = states.loc[states["pv_potential_gw"].isna(), "state"].tolist()
        if lacking:
            states_log.note(f"no NREL potential for {', '.join(lacking)} (NaN)")
    return {"states": (states, states_log), "counties": (counties, counties_log)}


def assign_state(points: gpd.GeoDataFrame | gpd.GeoSeries, states: gpd.GeoDataFrame) -> pd.Series:
    """Two-letter state code of each point (``""`` outside every state), aligned with ``points``.

    A vectorised spatial-index query (``intersects``); a point on a shared border takes the
    state with the lowest FIPS code, so the answer is deterministic. Points are reprojected to
    the states' CRS when they differ.
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is not None and states.crs is not None and not geoms.crs.equals(states.crs):
        geoms = geoms.to_crs(states.crs)
    result = pd.Series("", index=geoms.index, dtype=object, name="state")
    if len(geoms) == 0 or len(states) == 0:
        return result
    order = states.sort_values("state_fips") if "state_fips" in states.columns else states
    # the tree on the points, queried with the few state outlines, each prepared once (a tree on the
    # states would test every point against an unprepared outline: ~10x slower); the same pairs
    state_idx, point_idx = shapely.STRtree(geoms.values).query(order.geometry.values, predicate="intersects")
    if len(point_idx) == 0:
        return result
    pairs = pd.DataFrame({"point": point_idx, "state": state_idx}).sort_values(["point", "state"])
    first = pairs.drop_duplicates("point")
    codes = order["state"].to_numpy(dtype=object)[first["state"].to_numpy()]
    result.iloc[first["point"].to_numpy()] = codes
    return result
