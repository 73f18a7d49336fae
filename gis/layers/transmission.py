"""Transmission lines and substations: HIFLD where available, else the GridKit OSM extract.

Sources, in order of preference (``layers/*.toml``):

1. ``hifld_transmission_lines`` / ``hifld_substations``: the national HIFLD layers, officially an
   ArcGIS FeatureServer paged into GeoJSON (:func:`gis.sources.arcgis.fetch_featureserver`), in a
   mirror a GeoJSON file. Both are ``optional``: the public data copy has no national HIFLD file,
   so the builder falls back and says so in the row log.
2. ``gridkit_north_america``: the GridKit high-voltage network derived from OpenStreetMap (March
   2016), links as EWKT lines with voltages in volts, vertices as points. Official form: the
   Zenodo zip holding both CSVs; mirror form: the two gzipped CSVs. It covers Canada and Mexico
   too, so lines and stations more than :data:`US_TOLERANCE_KM` from every US state are dropped.

The regional HIFLD extracts (``hifld_tx_samples/``: Wichita with the full schema, Indiana with a
reduced one) are deliberately *not* catalogued as a layer source: merging them with GridKit
nationally would count the same lines twice, and they cover two small regions. They remain
readable with :func:`lines_from_hifld` (the same code path as the national file), which is how
the tests check the official schema against real records.

Lengths are geodesic (WGS 84 ellipsoid); layers are stored in EPSG:4326.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pandas._libs.parsers import STR_NA_VALUES
from pyproj import Geod

from gis import METRIC_CRS, STORAGE_CRS
from gis.errors import GisError
from gis.layers._textcsv import read_text_csv
from gis.layers.boundaries import read_vector, repair_geometries
from gis.rowlog import RowLog
from gis.sources import Fetched, Resolver
from gis.sources.archive import find_member, open_member, read_gzip

__all__ = [
    "US_TOLERANCE_KM",
    "build",
    "geodesic_length_km",
    "keep_in_us",
    "lines_from_gridkit",
    "lines_from_hifld",
    "parse_voltage_kv",
    "read_gridkit_table",
    "substations_from_gridkit",
    "substations_from_hifld",
    "us_area",
    "volt_class",
]

HIFLD_LINES = "hifld_transmission_lines"
HIFLD_SUBSTATIONS = "hifld_substations"
GRIDKIT = "gridkit_north_america"

US_TOLERANCE_KM = 2.0
"""Features within this distance (EPSG:5070 km) of a state polygon count as in the US.

The 1:20M Census coastline and border are generalised, so some coastal substations fall just
outside them. On the GridKit vertices, 0 / 2 / 5 / 10 km keep 7,804 / 7,825 / 7,848 / 7,873
stations, the extra ones being about half US coastal, half Canadian or Mexican border stations
(Sarnia, Mexicali, Reynosa): 2 km is the compromise."""

GEOD = Geod(ellps="WGS84")

UNKNOWN_TEXT = {"", "NOT AVAILABLE", "UNKNOWN", "N/A", "NA", "NONE"}
NOT_IN_SERVICE = r"PROPOSED|INACTIVE|RETIRED|DECOMMISSION|ABANDON|UNDER CONST|REMOVED"
"""HIFLD ``STATUS`` values (regex) of lines and substations that cannot take a new load."""

MAX_PLAUSIBLE_KV = 1200.0
"""Voltages above this are tagging errors: the highest AC lines in North America run at 765 kV
and the highest in the world at 1,100 kV (HVDC) / 1,000 kV (AC)."""

VOLT_CLASSES = ("UNDER 100", "100-161", "220-287", "345", "500", "735 AND ABOVE")
_CLASS_UPPER_KV = (100.0, 190.0, 316.0, 422.0, 617.0)
"""Upper bounds of the derived classes: HIFLD's class limits, with voltages between two classes
(e.g. 200, 315, 400 kV) given to the nearer class (the midpoint between them)."""

GRIDKIT_SUBSTATION_KINDS = {
    "substation": "substation",
    "sub_station": "substation",
    "station": "station",
    "plant": "plant",
}
GRIDKIT_NODE_KINDS = {"joint", "merge"}
HIFLD_NOT_SUBSTATION_TYPES = {"RISER", "DEAD END"}
"""HIFLD substation ``TYPE`` values that mark a point on a line, not a place to connect."""

HIFLD_LINE_COLUMNS = {
    "line_id": "ID",
    "voltage_kv": "VOLTAGE",
    "volt_class": "VOLT_CLASS",
    "owner": "OWNER",
    "status": "STATUS",
}
"""Canonical -> HIFLD lines field, used where the catalog's ``[columns]`` does not map a name."""
HIFLD_SUBSTATION_COLUMNS = {
    "substation_id": "ID",
    "name": "NAME",
    "voltage_kv": "MAX_VOLT",
    "kind": "TYPE",
    "operator": "OWNER",
    "status": "STATUS",
}
"""Canonical -> HIFLD substations field, used where the catalog's ``[columns]`` does not map a name."""
GRIDKIT_COLUMNS = {
    "line_id": "l_id",
    "substation_id": "v_id",
    "voltage_kv": "voltage",
    "owner": "operator",
    "kind": "typ",
}
"""Canonical -> GridKit column (links and vertices), where the catalog does not map a name."""


def _mapping(defaults: Mapping[str, str], columns: Mapping[str, str] | None) -> dict[str, str]:
    """``defaults`` overridden by the catalog's ``[columns]`` (canonical -> source column)."""
    return {**defaults, **{k: v for k, v in (columns or {}).items() if k in defaults}}


# ---------------------------------------------------------------------------------------------
# small vectorised measures
# ---------------------------------------------------------------------------------------------


def parse_voltage_kv(values: pd.Series, *, unit: str = "V", log: RowLog | None = None) -> pd.Series:
    """Highest voltage in kV of each value; ``"345000;138000"`` -> 345.0 (``unit="V"``).

    Values may list several voltages separated by ``;`` (OSM / GridKit); text that is not a
    number, zero and negative codes (HIFLD ``-999999``) become NaN, and so do voltages above
    :data:`MAX_PLAUSIBLE_KV` (tagging errors such as ``1333000``), counted in ``log`` if given.
    ``unit`` is ``"V"`` or ``"kV"`` (the unit the source uses).
    """
    if unit not in {"V", "kV"}:
        raise ValueError(f"unit must be 'V' or 'kV', not {unit!r}")
    scale = 1000.0 if unit == "V" else 1.0
    text = values.astype("string").str.replace(",", ";", regex=False).reset_index(drop=True)
    parts = text.str.split(";").explode().str.strip()  # index: row position, for any input index
    numbers = pd.to_numeric(parts, errors="coerce").astype("float64")
    implausible = numbers / scale > MAX_PLAUSIBLE_KV
    if log is not None and implausible.any():
        rows = int(implausible.groupby(level=0).any().sum())
        log.repair(rows, f"voltage above {MAX_PLAUSIBLE_KV:,.0f} kV ignored (tagging error)")
    numbers = numbers.where((numbers > 0) & ~implausible)
    highest = numbers.groupby(level=0, sort=False).max().reindex(range(len(values)))
    return pd.Series((highest / scale).to_numpy(dtype="float64"), index=values.index, name="voltage_kv")


def volt_class(voltage_kv: pd.Series) -> pd.Series:
    """HIFLD voltage class of each voltage (kV); NaN -> ``"NOT AVAILABLE"``."""
    kv = pd.to_numeric(voltage_kv, errors="coerce").to_numpy(dtype="float64")
    conditions = [kv < upper for upper in _CLASS_UPPER_KV] + [kv >= _CLASS_UPPER_KV[-1]]
    classes = np.select(conditions, list(VOLT_CLASSES), default="NOT AVAILABLE")
    return pd.Series(classes, index=voltage_kv.index, dtype=object, name="volt_class")


def geodesic_length_km(geometry: gpd.GeoSeries) -> np.ndarray:
    """Geodesic length in km (WGS 84 ellipsoid) of each line of an EPSG:4326 GeoSeries.

    Vectorised: every segment of every part is measured in one ``Geod.inv`` call and summed
    per geometry; points and empty geometries measure 0.
    """
    if geometry.crs is not None and not geometry.crs.equals(gpd.GeoSeries([], crs=STORAGE_CRS).crs):
        geometry = geometry.to_crs(STORAGE_CRS)
    values = geometry.values
    if len(values) == 0:
        return np.zeros(0)
    parts, part_owner = shapely.get_parts(values, return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    same = coord_part[1:] == coord_part[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    _, _, metres = GEOD.inv(start[:, 0], start[:, 1], end[:, 0], end[:, 1])
    per_part = np.bincount(coord_part[1:][same], weights=metres, minlength=len(parts))
    per_geometry = np.bincount(part_owner, weights=per_part, minlength=len(values))
    return per_geometry / 1000.0


def keep_in_us(
    frame: gpd.GeoDataFrame,
    states: gpd.GeoDataFrame,
    *,
    log: RowLog,
    tolerance_km: float = US_TOLERANCE_KM,
    area: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Drop (and count) features that lie wholly more than ``tolerance_km`` from every state.

    Distances in EPSG:5070 metres (its scale error in Alaska and Hawaii is irrelevant at a
    tolerance of a few km). A line that crosses the border is kept whole. ``area``: the states
    grown by the tolerance (:func:`us_area` of the same states), when already computed.
    """
    if len(frame) == 0:
        return frame
    if states is None or len(states) == 0:
        raise GisError(
            "the states layer is empty, so lines cannot be limited to the US",
            field="states",
            fix="build the boundaries layers first (gis build builds them in order)",
        )
    if area is None:
        area = us_area(states, tolerance_km)
    # the tree on the features, queried with the few large state areas: each area is prepared once
    # (a tree on the areas would test every feature against an unprepared state outline: 26x slower)
    tree = shapely.STRtree(frame.geometry.to_crs(METRIC_CRS).values)
    _, hits = tree.query(area, predicate="intersects")
    inside = np.zeros(len(frame), dtype=bool)
    inside[np.unique(hits)] = True
    reason = f"outside the US (more than {tolerance_km:g} km from every state: Canada, Mexico, sea)"
    return log.drop(frame, pd.Series(~inside, index=frame.index), reason)


def us_area(states: gpd.GeoDataFrame, tolerance_km: float = US_TOLERANCE_KM) -> np.ndarray:
    """The state polygons grown by ``tolerance_km`` (EPSG:5070, metres) that :func:`keep_in_us` keeps."""
    return states.to_crs(METRIC_CRS).geometry.buffer(tolerance_km * 1000.0).values


# ---------------------------------------------------------------------------------------------
# shared cleaning
# ---------------------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: list[str], *, file: str, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GisError(
            f"the {what} file lacks column(s) {', '.join(missing)}",
            file=file,
            field=missing[0],
            fix=f"use the catalogued {what} file (see layers/*.toml), or check the download",
        )


def _require_rows(frame: pd.DataFrame, *, file: str, what: str) -> None:
    if len(frame) == 0:
        raise GisError(
            f"the {what} file holds no features",
            file=file,
            fix="delete it from the cache or data directory and fetch it again (gis fetch)",
        )


def _text(series: pd.Series | None, index: pd.Index) -> pd.Series:
    """Clean text: stripped, unknown markers (``NOT AVAILABLE``) -> ``""``."""
    if series is None:
        return pd.Series("", index=index, dtype=object)
    text = series.astype("string").str.strip().fillna("")
    return text.where(~text.str.upper().isin(UNKNOWN_TEXT), "").astype(object)


def _lines_only(frame: gpd.GeoDataFrame, log: RowLog) -> gpd.GeoDataFrame:
    """Keep line geometries; line parts of collections (from ``make_valid``) are kept as lines."""
    types = frame.geometry.geom_type
    mixed = types == "GeometryCollection"
    if mixed.any():
        frame = frame.copy()
        values = frame.geometry[mixed].values
        parts, owner = shapely.get_parts(values, return_index=True)
        parts, sub_owner = shapely.get_parts(parts, return_index=True)
        owner = owner[sub_owner]
        is_line = shapely.get_type_id(parts) == 1
        merged = np.full(len(values), None, dtype=object)
        if is_line.any():
            lines = shapely.multilinestrings(parts[is_line], indices=owner[is_line])
            merged[np.unique(owner[is_line])] = lines
        frame.loc[mixed, frame.geometry.name] = gpd.GeoSeries(merged, index=frame.index[mixed]).values
        frame = log.drop(frame, frame.geometry.isna(), "repaired geometry has no line left")
        types = frame.geometry.geom_type
    return log.drop(
        frame,
        ~types.isin(["LineString", "MultiLineString"]),
        "not a line (fewer than two distinct points, or a point/polygon)",
    )


def _drop_not_in_service(frame: pd.DataFrame, log: RowLog, column: str = "STATUS") -> pd.DataFrame:
    if column not in frame.columns:
        return frame
    status = frame[column].astype("string").str.upper().fillna("")
    off = status.str.contains(NOT_IN_SERVICE, regex=True)
    return log.drop(frame, off, "not in service (STATUS proposed, under construction, inactive or retired)")


def _hifld_ids(frame: pd.DataFrame, *, file: str, what: str, column: str = "ID") -> pd.Series:
    if column in frame.columns:
        ids = frame[column].astype("string").str.strip().fillna("")
        if "OBJECTID" in frame.columns:
            ids = ids.where(ids != "", frame["OBJECTID"].astype("string").fillna(""))
    elif "OBJECTID" in frame.columns:
        ids = frame["OBJECTID"].astype("string").fillna("")
    else:
        raise GisError(
            f"the HIFLD {what} file has neither {column} nor OBJECTID",
            file=file,
            field=column,
            fix=f"request outFields=* (or at least {column}, OBJECTID) from the feature service",
        )
    return ids.astype(object)


# ---------------------------------------------------------------------------------------------
# HIFLD
# ---------------------------------------------------------------------------------------------


def _hifld_rows(
    frame: gpd.GeoDataFrame, c: Mapping[str, str], id_column: str, *, file: str, what: str, log: RowLog
) -> gpd.GeoDataFrame:
    """HIFLD features checked (rows, the voltage field), read into ``log``, with a text ``_id`` (from
    ``id_column`` or ``OBJECTID``); rows without an id or with a repeated one dropped and counted,
    geometries repaired."""
    _require_rows(frame, file=file, what=f"HIFLD {what}")
    _require_columns(frame, [c["voltage_kv"]], file=file, what=f"HIFLD {what}")
    log.read(len(frame))
    frame = frame.reset_index(drop=True)
    frame = frame.assign(_id=_hifld_ids(frame, file=file, what=what, column=id_column))
    frame = log.drop(frame, frame["_id"] == "", "no ID or OBJECTID")
    frame = log.drop(frame, frame["_id"].duplicated(), "duplicate ID")
    return repair_geometries(frame, log)


def lines_from_hifld(
    frame: gpd.GeoDataFrame,
    *,
    file: str,
    log: RowLog,
    source: str = HIFLD_LINES,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Canonical ``transmission_lines`` from HIFLD "Electric Power Transmission Lines" features.

    Reads the full schema (``ID, STATUS, OWNER, VOLTAGE, VOLT_CLASS, ...``) and the reduced one
    (``OBJECTID, TYPE, VOLTAGE, VOLT_CLASS``). ``VOLTAGE`` is kV with ``-999999`` for unknown
    (-> NaN); lines not in service are dropped and counted. EPSG:4326 out, ``length_km`` geodesic.
    ``columns`` is the catalog's ``[columns]`` (canonical -> source field); the names it does not
    map are those of :data:`HIFLD_LINE_COLUMNS`.
    """
    c = _mapping(HIFLD_LINE_COLUMNS, columns)
    frame = _hifld_rows(frame, c, c["line_id"], file=file, what="transmission lines", log=log)
    frame = _lines_only(frame, log)
    frame = _drop_not_in_service(frame, log, c["status"])
    voltage = parse_voltage_kv(frame[c["voltage_kv"]], unit="kV", log=log)
    unknown = int(voltage.isna().sum())
    if unknown:
        log.note(
            f"{unknown} HIFLD lines have no voltage ({c['voltage_kv']} -999999 or empty): kept, voltage_kv NaN"
        )
    derived = volt_class(voltage)
    given = _text(frame.get(c["volt_class"]), frame.index)
    out = gpd.GeoDataFrame(
        {
            "line_id": "hifld:" + frame["_id"].astype(str),
            "voltage_kv": voltage,
            "volt_class": given.where(given != "", derived),
            "owner": _text(frame.get(c["owner"]), frame.index),
            "length_km": geodesic_length_km(frame.geometry),
            "source": source,
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
        index=frame.index,
    )
    return out.reset_index(drop=True)


def substations_from_hifld(
    frame: gpd.GeoDataFrame,
    *,
    file: str,
    log: RowLog,
    source: str = HIFLD_SUBSTATIONS,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Canonical ``substations`` from HIFLD "Electric Substations" features.

    Fields ``ID, NAME, TYPE, STATUS, MAX_VOLT`` (kV, ``-999999`` unknown). Risers and dead ends
    (points on a line) and stations not in service are dropped and counted. Polygon features,
    if any, are reduced to a point inside them. EPSG:4326 out. ``columns`` is the catalog's
    ``[columns]`` (canonical -> source field, e.g. ``voltage_kv = "MAX_VOLT"``); the names it
    does not map are those of :data:`HIFLD_SUBSTATION_COLUMNS`.
    """
    c = _mapping(HIFLD_SUBSTATION_COLUMNS, columns)
    frame = _hifld_rows(frame, c, c["substation_id"], file=file, what="substations", log=log)
    frame = _drop_not_in_service(frame, log, c["status"])
    kind = _text(frame.get(c["kind"]), frame.index).str.upper()
    frame = log.drop(frame, kind.isin(HIFLD_NOT_SUBSTATION_TYPES), "riser or dead end (a point on a line)")
    kind = kind.loc[frame.index]
    geometry = frame.geometry
    not_point = geometry.geom_type != "Point"
    if not_point.any():
        geometry = geometry.copy()
        geometry[not_point] = geometry[not_point].representative_point()
        log.repair(int(not_point.sum()), "non-point substation reduced to a point inside it")
    out = gpd.GeoDataFrame(
        {
            "substation_id": "hifld:" + frame["_id"].astype(str),
            "name": _text(frame.get(c["name"]), frame.index),
            "voltage_kv": parse_voltage_kv(frame[c["voltage_kv"]], unit="kV", log=log),
            "kind": kind.str.lower().where(kind != "", "substation"),
            "operator": _text(frame.get(c["operator"]), frame.index),
            "source": source,
        },
        geometry=geometry.values,
        crs=frame.crs,
        index=frame.index,
    )
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# GridKit
# ---------------------------------------------------------------------------------------------


def read_gridkit_table(fetched: Fetched | Path, table: str) -> pd.DataFrame:
    """The GridKit ``links`` or ``vertices`` table as text columns.

    Accepts the mirror form (``...-highvoltage-<table>.csv[.gz]``) and the official Zenodo zip
    holding both CSVs (member ``*<table>.csv``, plain or gzipped).
    """
    if table not in {"links", "vertices"}:
        raise ValueError("table must be 'links' or 'vertices'")
    path = Path(fetched.path if isinstance(fetched, Fetched) else fetched)
    try:
        if zipfile.is_zipfile(path):
            member = find_member(path, f"*{table}.csv*")
            compression = "gzip" if member.lower().endswith(".gz") else None
            with open_member(path, member) as fh:
                return pd.read_csv(fh, dtype=str, compression=compression)
        content = read_gzip(path) if path.suffix == ".gz" else None  # inflated once, when checked
        if content is not None or path.suffix != ".gz":
            frame = read_text_csv(content if content is not None else path, na_values=STR_NA_VALUES)
            if frame is not None:  # pyarrow read it as pandas would
                return frame
        return pd.read_csv(path if content is None else io.BytesIO(content), dtype=str)
    except (OSError, EOFError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise GisError(
            f"cannot read the GridKit {table} table ({exc})",
            file=path,
            fix="delete it from the cache or data directory and fetch it again (gis fetch)",
        ) from exc


def _gridkit_ids(frame: pd.DataFrame, column: str, log: RowLog) -> pd.DataFrame:
    ids = pd.to_numeric(frame[column], errors="coerce")
    frame = frame.assign(_id=ids)
    frame = log.drop(frame, ids.isna(), f"no numeric {column}")
    return log.drop(frame, frame["_id"].duplicated(), f"duplicate {column}")


def lines_from_gridkit(
    links: pd.DataFrame,
    *,
    file: str,
    log: RowLog,
    source: str = GRIDKIT,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Canonical ``transmission_lines`` from GridKit links (EWKT ``SRID=4326;LINESTRING(...)``).

    ``voltage`` is in volts, possibly several ``;``-separated (-> the highest, in kV);
    ``operator`` becomes ``owner``. Rows without a parsable line are dropped and counted.
    Not yet limited to the US (see :func:`keep_in_us`). EPSG:4326 out. ``columns`` is the
    catalog's ``[columns]``; the names it does not map are those of :data:`GRIDKIT_COLUMNS`.
    """
    c = _mapping(GRIDKIT_COLUMNS, columns)
    _require_rows(links, file=file, what="GridKit links")
    _require_columns(
        links, [c["line_id"], c["voltage_kv"], c["owner"], "wkt_srid_4326"], file=file, what="GridKit links"
    )
    log.read(len(links))
    links = _gridkit_ids(links.reset_index(drop=True), c["line_id"], log)
    wkt = links["wkt_srid_4326"].astype("string").str.strip().fillna("")
    srid = wkt.str.extract(r"^SRID=(\d+);", expand=False)
    foreign = srid.notna() & (srid != "4326")
    if foreign.any():
        raise GisError(
            f"{int(foreign.sum())} geometries are not in EPSG:4326 (e.g. SRID={srid[foreign].iloc[0]})",
            file=file,
            field="wkt_srid_4326",
            fix="the column must hold EWKT in EPSG:4326, as GridKit exports it; reproject the source",
        )
    body = wkt.str.replace(r"^SRID=\d+;", "", regex=True)
    geometry = shapely.from_wkt(body.replace("", None).to_numpy(dtype=object), on_invalid="ignore")
    frame = gpd.GeoDataFrame(links, geometry=geometry, crs=STORAGE_CRS)
    frame = log.drop(frame, frame.geometry.isna(), "geometry missing or not parsable WKT")
    frame = repair_geometries(frame, log)
    frame = _lines_only(frame, log)
    voltage = parse_voltage_kv(frame[c["voltage_kv"]], unit="V", log=log)
    out = gpd.GeoDataFrame(
        {
            "line_id": "gridkit:" + frame["_id"].astype("int64").astype(str),
            "voltage_kv": voltage,
            "volt_class": volt_class(voltage),
            "owner": _text(frame[c["owner"]], frame.index),
            "length_km": geodesic_length_km(frame.geometry),
            "source": source,
        },
        geometry=frame.geometry.values,
        crs=STORAGE_CRS,
        index=frame.index,
    )
    return out.reset_index(drop=True)


def _voltage_from_links(
    voltage: pd.Series, ids: pd.Series, links: pd.DataFrame, voltage_column: str, log: RowLog
) -> pd.Series:
    """Vertex voltages (kV) where missing filled with the highest voltage of the GridKit links that
    end at the vertex (``v_id_1`` / ``v_id_2``), each fill counted as a repair."""
    link_kv = parse_voltage_kv(links[voltage_column], unit="V")
    ends = pd.concat(
        [
            pd.DataFrame({"v": pd.to_numeric(links[end], errors="coerce"), "kv": link_kv})
            for end in ("v_id_1", "v_id_2")
        ]
    )
    highest = ends.dropna().groupby("v")["kv"].max()
    filled = ids.map(highest)
    fill = voltage.isna() & filled.notna()
    log.repair(int(fill.sum()), "voltage taken from the highest connected line")
    return voltage.where(~fill, filled)


def substations_from_gridkit(
    vertices: pd.DataFrame,
    *,
    file: str,
    log: RowLog,
    links: pd.DataFrame | None = None,
    source: str = GRIDKIT,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Canonical ``substations`` from GridKit vertices of type substation / sub_station / station / plant.

    Joints and merges are topological nodes, not substations: dropped and counted. When
    ``links`` is given, a vertex without a voltage takes the highest voltage of the links that
    end at it (counted as a repair). Coordinates from ``lon``/``lat`` (EPSG:4326). ``columns``
    is the catalog's ``[columns]``; the names it does not map are those of :data:`GRIDKIT_COLUMNS`.
    """
    c = _mapping(GRIDKIT_COLUMNS, columns)
    _require_rows(vertices, file=file, what="GridKit vertices")
    _require_columns(
        vertices,
        [c["substation_id"], "lon", "lat", c["kind"], c["voltage_kv"]],
        file=file,
        what="GridKit vertices",
    )
    log.read(len(vertices))
    frame = _gridkit_ids(vertices.reset_index(drop=True), c["substation_id"], log)
    typ = frame[c["kind"]].astype("string").str.strip().str.lower().fillna("")
    frame = log.drop(
        frame, typ.isin(GRIDKIT_NODE_KINDS), "joint or merge vertex (a line node, not a substation)"
    )
    typ = typ.loc[frame.index]
    frame = log.drop(frame, ~typ.isin(list(GRIDKIT_SUBSTATION_KINDS)), "unknown vertex type")
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    bad = lon.isna() | lat.isna() | (lon.abs() > 180) | (lat.abs() > 90)
    frame = log.drop(frame, bad, "no valid lon/lat")
    lon, lat = lon.loc[frame.index], lat.loc[frame.index]
    voltage = parse_voltage_kv(frame[c["voltage_kv"]], unit="V", log=log)
    if links is not None and {"v_id_1", "v_id_2", c["voltage_kv"]} <= set(links.columns):
        voltage = _voltage_from_links(voltage, frame["_id"], links, c["voltage_kv"], log)
    out = gpd.GeoDataFrame(
        {
            "substation_id": "gridkit:" + frame["_id"].astype("int64").astype(str),
            "name": _text(frame.get("name"), frame.index),
            "voltage_kv": voltage.astype("float64"),
            "kind": typ.loc[frame.index].map(GRIDKIT_SUBSTATION_KINDS),
            "operator": _text(frame.get(c["owner"]), frame.index),
            "source": source,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=STORAGE_CRS,
        index=frame.index,
    )
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------------------------


def _optional(resolver: Resolver, source: str, key: str, log: RowLog) -> Fetched | None:
    """The optional primary file, or None (with the reason noted) when it cannot be had."""
    try:
        got = resolver.get(source, key)
    except GisError as exc:  # offline, service retired, bad answer: the fallback decides
        log.note(f"{source} could not be fetched ({exc.problem})")
        return None
    if got is None:
        log.note(f"{source} not available from the {resolver.origin.describe()}")
    return got


def _states(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> gpd.GeoDataFrame:
    if "states" in built:
        return built["states"]
    from gis.layers.boundaries import build as build_boundaries

    return build_boundaries(resolver, built)["states"][0]


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``transmission_lines`` and ``substations`` (EPSG:4326) with their row logs.

    HIFLD national layers when available, else GridKit (noted in the log); either way limited
    to features within :data:`US_TOLERANCE_KM` of a US state (``built["states"]``).
    """
    states = _states(resolver, built)
    lines_log, subs_log = RowLog("transmission_lines"), RowLog("substations")
    gridkit_links: pd.DataFrame | None = None
    gridkit_links_path = ""

    def links() -> tuple[pd.DataFrame, str]:
        nonlocal gridkit_links, gridkit_links_path
        if gridkit_links is None:
            fetched = resolver.require(GRIDKIT, "links")
            gridkit_links, gridkit_links_path = read_gridkit_table(fetched, "links"), str(fetched.path)
        return gridkit_links, gridkit_links_path

    hifld_lines = _optional(resolver, HIFLD_LINES, "lines", lines_log)
    if hifld_lines is not None:
        lines = lines_from_hifld(
            read_vector(hifld_lines.path),
            file=str(hifld_lines.path),
            log=lines_log,
            columns=hifld_lines.source.columns,
        )
    else:
        lines_log.note("national fallback: GridKit 2016 OpenStreetMap high-voltage links")
        table, path = links()
        lines = lines_from_gridkit(table, file=path, log=lines_log, columns=resolver.source(GRIDKIT).columns)
    area = us_area(states) if states is not None and len(states) else None  # once, for lines and substations
    lines = keep_in_us(lines, states, log=lines_log, area=area)

    hifld_subs = _optional(resolver, HIFLD_SUBSTATIONS, "substations", subs_log)
    if hifld_subs is not None:
        subs = substations_from_hifld(
            read_vector(hifld_subs.path),
            file=str(hifld_subs.path),
            log=subs_log,
            columns=hifld_subs.source.columns,
        )
    else:
        subs_log.note(
            "national fallback: GridKit 2016 OpenStreetMap vertices (substations, stations, plants)"
        )
        fetched = resolver.require(GRIDKIT, "vertices")
        table, _ = links()
        subs = substations_from_gridkit(
            read_gridkit_table(fetched, "vertices"),
            file=str(fetched.path),
            log=subs_log,
            links=table,
            columns=fetched.source.columns,
        )
    subs = keep_in_us(subs, states, log=subs_log, area=area)
    return {
        "transmission_lines": (lines.reset_index(drop=True), lines_log),
        "substations": (subs.reset_index(drop=True), subs_log),
    }
