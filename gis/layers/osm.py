"""Live OpenStreetMap queries through osmnx: regional power features and distance to roads.

For a user with network access who wants fresher or finer detail than the national layers in
one region: :func:`osm_power_features` returns OSM ``power=line|substation|plant`` features in
the canonical ``transmission_lines`` / ``substations`` schemas (plus :data:`OSM_PLANTS`), and
:func:`nearest_road_km` measures each point's distance to the nearest road of an OSM street
network. Neither is part of ``gis build`` (which must work offline); without network both raise
:class:`~gis.errors.DataUnavailableError` and the caller decides what to do.

Results are stored in EPSG:4326; distances are measured in EPSG:5070 metres. osmnx's HTTP
cache is kept in the tool's cache directory (``$GIS_CACHE_DIR/osmnx``).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import METRIC_CRS, STORAGE_CRS
from gis.config.settings import cache_dir
from gis.config.vocabulary import FUELS
from gis.errors import DataUnavailableError, GisError
from gis.layers.transmission import geodesic_length_km, parse_voltage_kv, volt_class
from gis.rowlog import RowLog
from gis.schema import Column, LayerSchema, register, validate

__all__ = [
    "OSM_PLANTS",
    "POWER_TAGS",
    "ROAD_TILE_DEG",
    "nearest_edge_km",
    "nearest_road_km",
    "normalise_osm_power",
    "osm_power_features",
    "road_edges",
    "road_tiles",
    "tile_keys",
]

SOURCE = "osm"
POWER_TAGS: dict[str, bool | str | list[str]] = {"power": ["line", "substation", "plant"]}
"""The OSM tags queried by :func:`osm_power_features`."""

OSM_PLANTS = register(
    LayerSchema(
        name="osm_plants",
        description="Power plants mapped in OpenStreetMap (power=plant), from a live regional query.",
        geometry=("Point",),
        key="plant_id",
        columns=(
            Column("plant_id", "str", "", "OSM element, e.g. osm:way/123"),
            Column("name", "str", "", "name; empty if unknown"),
            Column("operator", "str", "", "operator; empty if unknown"),
            Column("fuel", "str", "", "primary energy source (plant:source): " + ", ".join(FUELS)),
            Column("capacity_mw", "float64", "MW", "plant:output:electricity; NaN if untagged"),
            Column("source", "str", "", "always 'osm'"),
        ),
    )
)
"""Schema of the plants returned by :func:`osm_power_features` (a point inside each plant)."""

_FUEL_TAGS = {
    "coal": "coal",
    "gas": "gas",
    "oil": "oil",
    "diesel": "oil",
    "nuclear": "nuclear",
    "hydro": "hydro",
    "wind": "wind",
    "solar": "solar",
    "geothermal": "geothermal",
    "biomass": "biomass",
    "biofuel": "biomass",
    "biogas": "biomass",
    "waste": "waste",
    "battery": "storage",
}
_POWER_UNITS_MW = {"w": 1e-6, "kw": 1e-3, "kwp": 1e-3, "mw": 1.0, "mwp": 1.0, "gw": 1e3, "gwp": 1e3}
MAX_SPAN_KM = 300.0
"""Largest extent (km) of one road-network query: a wider street graph takes minutes to download."""


def _tag(features: pd.DataFrame, name: str) -> pd.Series:
    if name not in features.columns:
        return pd.Series("", index=features.index, dtype=object)
    return features[name].astype("string").str.strip().fillna("").astype(object)


def _osm_ids(features: pd.DataFrame) -> pd.Series:
    index = features.index
    if isinstance(index, pd.MultiIndex) and index.nlevels == 2:
        element = index.get_level_values(0).astype(str)
        osm_id = index.get_level_values(1).astype(str)
        ids = "osm:" + pd.Index(element) + "/" + pd.Index(osm_id)
    else:
        ids = "osm:" + index.astype(str)
    return pd.Series(np.asarray(ids, dtype=object), index=index)


def _capacity_mw(values: pd.Series) -> pd.Series:
    """``"500 MW"``, ``"1.2 GW"``, ``"800 kW"``, ``"45"`` (MW, the OSM default unit) -> MW; else NaN."""
    parts = values.astype("string").str.strip().str.lower().str.extract(r"^([\d.]+)\s*([a-z]*)$")
    number = pd.to_numeric(parts[0], errors="coerce")
    unit = parts[1].fillna("").replace("", "mw")
    return (number * unit.map(_POWER_UNITS_MW)).astype("float64")


def _fuel(values: pd.Series) -> pd.Series:
    first = values.astype("string").str.lower().str.split(";").str[0].str.strip().fillna("")
    return first.map(_FUEL_TAGS).fillna("other").astype(object)


def _points(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    not_point = geometry.geom_type != "Point"
    if not not_point.any():
        return geometry
    out = geometry.copy()
    out[not_point] = geometry[not_point].representative_point()
    return out


def _take(
    features: gpd.GeoDataFrame, power: pd.Series, ids: pd.Series, kind: str, log: RowLog
) -> gpd.GeoDataFrame:
    """The features tagged ``power=kind`` with a geometry, each OSM element once (EPSG:4326)."""
    has_geometry = features.geometry.notna() & ~features.geometry.is_empty
    rows = features.loc[power == kind]
    log.read(len(rows))
    rows = log.drop(rows, ~has_geometry.loc[rows.index], "no geometry")
    return log.drop(rows, ids.loc[rows.index].duplicated(), "duplicate OSM element")


def _osm_lines(rows: gpd.GeoDataFrame, ids: pd.Series, log: RowLog) -> gpd.GeoDataFrame:
    """``transmission_lines`` rows from ``power=line`` features (kV, km, EPSG:4326 lines)."""
    rows = log.drop(
        rows,
        ~rows.geometry.geom_type.isin(["LineString", "MultiLineString"]),
        "power=line not mapped as a line",
    )
    voltage = parse_voltage_kv(_tag(rows, "voltage"), unit="V", log=log)
    return gpd.GeoDataFrame(
        {
            "line_id": ids.loc[rows.index],
            "voltage_kv": voltage,
            "volt_class": volt_class(voltage),
            "owner": _tag(rows, "operator"),
            "length_km": geodesic_length_km(rows.geometry),
            "source": SOURCE,
        },
        geometry=rows.geometry.values,
        crs=STORAGE_CRS,
        index=rows.index,
    )


def _osm_substations(rows: gpd.GeoDataFrame, ids: pd.Series, log: RowLog) -> gpd.GeoDataFrame:
    """``substations`` rows from ``power=substation`` features (kV, EPSG:4326 points)."""
    return gpd.GeoDataFrame(
        {
            "substation_id": ids.loc[rows.index],
            "name": _tag(rows, "name"),
            "voltage_kv": parse_voltage_kv(_tag(rows, "voltage"), unit="V", log=log),
            "kind": "substation",
            "operator": _tag(rows, "operator"),
            "source": SOURCE,
        },
        geometry=_points(rows.geometry).values,
        crs=STORAGE_CRS,
        index=rows.index,
    )


def _osm_plants(rows: gpd.GeoDataFrame, ids: pd.Series) -> gpd.GeoDataFrame:
    """:data:`OSM_PLANTS` rows from ``power=plant`` features (MW, EPSG:4326 points)."""
    return gpd.GeoDataFrame(
        {
            "plant_id": ids.loc[rows.index],
            "name": _tag(rows, "name"),
            "operator": _tag(rows, "operator"),
            "fuel": _fuel(_tag(rows, "plant:source")),
            "capacity_mw": _capacity_mw(_tag(rows, "plant:output:electricity")),
            "source": SOURCE,
        },
        geometry=_points(rows.geometry).values,
        crs=STORAGE_CRS,
        index=rows.index,
    )


def normalise_osm_power(features: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Canonical frames from osmnx features tagged ``power=line|substation|plant``.

    ``features`` is what ``osmnx.features`` returns: index ``(element, id)``, one column per
    tag, geometry in EPSG:4326. The ``voltage`` tag (volts, ``;``-separated) becomes the highest
    ``voltage_kv``; substations and plants mapped as areas become a point inside them. Returns
    ``transmission_lines``, ``substations`` (validated against :mod:`gis.schema`) and ``plants``
    (:data:`OSM_PLANTS`); each frame's ``attrs["row_log"]`` says what was left out and why.
    """
    if features.crs is not None and not features.crs.equals(gpd.GeoSeries([], crs=STORAGE_CRS).crs):
        features = features.to_crs(STORAGE_CRS)
    power = _tag(features, "power").str.lower()
    ids = _osm_ids(features)
    logs = {name: RowLog(f"osm {name}") for name in ("transmission_lines", "substations", "plants")}
    lines_log, subs_log, plants_log = logs["transmission_lines"], logs["substations"], logs["plants"]
    lines = _osm_lines(_take(features, power, ids, "line", lines_log), ids, lines_log)
    subs = _osm_substations(_take(features, power, ids, "substation", subs_log), ids, subs_log)
    plants = _osm_plants(_take(features, power, ids, "plant", plants_log), ids)
    other = ~power.isin(["line", "substation", "plant"])
    if other.any():
        lines_log.note(f"{int(other.sum())} OSM features with other power tags ignored")
    out = {
        "transmission_lines": validate(lines, "transmission_lines", source="OpenStreetMap"),
        "substations": validate(subs, "substations", source="OpenStreetMap"),
        "plants": validate(plants, OSM_PLANTS, source="OpenStreetMap"),
    }
    for name, frame in out.items():
        frame.attrs["row_log"] = logs[name].as_dict()
    return out


def _check_bbox(bbox: tuple) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise GisError(
            "bbox must be four numbers", field="bbox", fix="pass (west, south, east, north) in degrees"
        ) from exc
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise GisError(
            f"bbox {bbox} is not (west, south, east, north) in degrees",
            field="bbox",
            fix="pass (west, south, east, north) with west < east and south < north, EPSG:4326",
        )
    return west, south, east, north


def _use_tool_cache() -> None:
    import osmnx as ox  # imported when a query is made: osmnx adds ~2 s to every start-up

    ox.settings.cache_folder = str(cache_dir() / "osmnx")


def _offline(exc: Exception, what: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"cannot query OpenStreetMap for {what} ({type(exc).__name__}: {exc})",
        file="https://overpass-api.de",
        fix="check the network connection (the Overpass API must be reachable), or use the offline layers",
    )


def osm_power_features(
    *, place: str | None = None, bbox: tuple[float, float, float, float] | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """OSM power lines, substations and plants in a place or bounding box, normalised.

    Parameters
    ----------
    place
        a place name osmnx can geocode (e.g. ``"Wichita, Kansas, USA"``), or
    bbox
        ``(west, south, east, north)`` in degrees (EPSG:4326).

    Returns
    -------
    ``{"transmission_lines", "substations", "plants"}`` as in :func:`normalise_osm_power`;
    empty frames when the area has no such features.

    Raises
    ------
    DataUnavailableError
        when OpenStreetMap cannot be reached.
    GisError
        for a bad bbox or a place that cannot be geocoded.
    """
    import osmnx as ox
    import requests

    if (place is None) == (bbox is None):
        raise GisError(
            "give exactly one of place or bbox", field="place/bbox", fix="pass place=... or bbox=..."
        )
    _use_tool_cache()
    what = f"place {place!r}" if place is not None else f"bbox {bbox}"
    try:
        if place is not None:
            features = ox.features.features_from_place(place, tags=POWER_TAGS)
        else:
            assert bbox is not None  # exactly one of place and bbox (checked above)
            features = ox.features.features_from_bbox(_check_bbox(bbox), tags=POWER_TAGS)
    except ox._errors.InsufficientResponseError as exc:
        if "no matching features" not in str(exc).lower():
            raise GisError(
                f"OpenStreetMap found nothing for {what} ({exc})",
                field="place" if place is not None else "bbox",
                fix="check the place name (try 'City, State, USA') or pass a bbox",
            ) from exc
        features = gpd.GeoDataFrame(
            {"power": pd.Series([], dtype=object)},
            geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
            index=pd.MultiIndex.from_arrays([[], []], names=["element", "id"]),
        )
    except (requests.exceptions.RequestException, ox._errors.ResponseStatusCodeError) as exc:
        raise _offline(exc, what) from exc
    return normalise_osm_power(features)


def _query_bbox(
    lonlat: gpd.GeoSeries, buffer_km: float, max_span_km: float
) -> tuple[float, float, float, float]:
    """The points' bounding box widened by ``buffer_km`` (degrees, EPSG:4326).

    Raises
    ------
    GisError
        when the points span more than ``max_span_km``.
    """
    west, south, east, north = lonlat.total_bounds
    km_per_deg_lat = 111.32
    km_per_deg_lon = km_per_deg_lat * math.cos(math.radians(max(abs(south), abs(north))))
    span_km = max((east - west) * km_per_deg_lon, (north - south) * km_per_deg_lat)
    if span_km > max_span_km:
        raise GisError(
            f"the points span {span_km:,.0f} km, more than one street-network query should cover",
            field="points",
            fix=f"query region by region (at most {max_span_km:g} km across), e.g. one state at a time",
        )
    pad_lat = buffer_km / km_per_deg_lat
    pad_lon = buffer_km / max(km_per_deg_lon, 1e-6)
    return (
        max(west - pad_lon, -180.0),
        max(south - pad_lat, -90.0),
        min(east + pad_lon, 180.0),
        min(north + pad_lat, 90.0),
    )


def nearest_edge_km(lonlat: gpd.GeoSeries, edges: gpd.GeoDataFrame, buffer_km: float) -> np.ndarray:
    """Distance (km, EPSG:5070) from each point to its nearest edge; NaN beyond ``buffer_km``."""
    (point_pos, _), metres = edges.sindex.nearest(
        lonlat.to_crs(METRIC_CRS).values, return_all=False, return_distance=True
    )
    km = np.full(len(lonlat), np.nan)
    km[point_pos] = metres / 1000.0
    km[km > buffer_km] = np.nan
    return km


def road_edges(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    network_type: str = "drive",
    buffer_km: float = 10.0,
    max_span_km: float = MAX_SPAN_KM,
) -> gpd.GeoDataFrame:
    """The OSM street edges (EPSG:5070 lines) of the points' bounding box widened by ``buffer_km``.

    One street graph is downloaded (osmnx's ``network_type``: ``drive``, ``all``, ...); an area
    without any road gives no edges.

    Raises
    ------
    DataUnavailableError
        when OpenStreetMap cannot be reached (the caller decides whether to fall back).
    GisError
        for points spread more than ``max_span_km``, or without a CRS.
    """
    import osmnx as ox
    import requests

    geometry = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geometry.crs is None:
        raise GisError("the points have no CRS", field="crs", fix="set their CRS (EPSG:4326 for lon/lat)")
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=METRIC_CRS))
    if len(geometry) == 0:
        return empty
    bbox = _query_bbox(geometry.to_crs(STORAGE_CRS), buffer_km, max_span_km)
    _use_tool_cache()
    try:
        graph = ox.graph.graph_from_bbox(
            bbox, network_type=network_type, retain_all=True, truncate_by_edge=True
        )
    except ox._errors.InsufficientResponseError:
        return empty  # no road at all within the box
    except (requests.exceptions.RequestException, ox._errors.ResponseStatusCodeError) as exc:
        raise _offline(exc, f"the {network_type} network around {len(geometry)} points") from exc
    return ox.convert.graph_to_gdfs(graph, nodes=False)[["geometry"]].to_crs(METRIC_CRS)


def nearest_road_km(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    network_type: str = "drive",
    buffer_km: float = 10.0,
    max_span_km: float = MAX_SPAN_KM,
) -> pd.Series:
    """Distance in km (EPSG:5070) from each point to the nearest road of the OSM street network.

    The edges of :func:`road_edges` (one download for the points' box widened by ``buffer_km``);
    points with no road within ``buffer_km`` get NaN (a road beyond the box could be nearer than
    the one found). Points that span more than ``max_span_km`` must be queried region by region.
    """
    geometry = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    edges = road_edges(points, network_type=network_type, buffer_km=buffer_km, max_span_km=max_span_km)
    result = pd.Series(np.nan, index=geometry.index, dtype="float64", name="road_km")
    if len(edges):
        result[:] = nearest_edge_km(geometry.to_crs(STORAGE_CRS), edges, buffer_km)
    return result


ROAD_TILE_DEG = 2.0
"""Side of the degree tiles (EPSG:4326) road networks are fetched by: one street graph a tile."""


def tile_keys(lonlat: gpd.GeoSeries, tile_deg: float = ROAD_TILE_DEG) -> np.ndarray:
    """The ``tile_deg`` x ``tile_deg`` degree tile of each point (EPSG:4326) as text ``"x:y"``."""
    x = np.floor(lonlat.x.to_numpy() / tile_deg).astype("int64")
    y = np.floor(lonlat.y.to_numpy() / tile_deg).astype("int64")
    return np.array([f"{a}:{b}" for a, b in zip(x, y, strict=True)], dtype=object)


def road_tiles(
    points: gpd.GeoSeries, *, tile_deg: float = ROAD_TILE_DEG, buffer_km: float = 10.0
) -> gpd.GeoDataFrame:
    """The ``roads`` layer for a set of sites: per degree tile holding sites, the street edges of
    that tile's sites' box (:func:`road_edges`), the tile's key in ``tile`` (EPSG:5070 lines).

    Read in the layers stage, before the measures, which only measure against it. The loop runs
    over tiles (one network request each), not over points.
    """
    lonlat = points.to_crs(STORAGE_CRS)
    keys = tile_keys(lonlat, tile_deg)
    parts = []
    for key, rows in pd.Series(keys).groupby(keys, sort=True).indices.items():
        edges = road_edges(lonlat.iloc[rows], buffer_km=buffer_km)
        parts.append(edges.assign(tile=key)[["tile", "geometry"]])
    if not parts:
        return gpd.GeoDataFrame(
            {"tile": pd.Series([], dtype=object)}, geometry=gpd.GeoSeries([], crs=METRIC_CRS)
        )
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=METRIC_CRS)
