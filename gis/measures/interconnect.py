"""Interconnection measures: nearest transmission line and substation, and interconnection headroom.

All distances are measured in EPSG:5070 (gis.METRIC_CRS) metres with a spatial index (a shapely
STRtree, ``query_nearest`` with every tie) and returned in kilometres.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gis import METRIC_CRS
from gis.config.scoring import InterconnectConfig

__all__ = ["headroom_mw", "line_vertices", "nearest_line", "nearest_substation"]


NEAREST_NODE_CAPACITY = 2
"""Children per node of the STRtree the nearest queries search (GEOS's default is 10).

Smaller nodes have tighter envelopes, so the search computes fewer exact distances (a query
takes 2-3 times less for a million grid cells against ~19,000 line segments). The tree's shape
changes only which nodes are searched: the nearest distance and every feature at that distance
(``all_matches``) are the same for any capacity."""


def _nearest(points: gpd.GeoSeries, targets: gpd.GeoSeries) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Index into ``targets`` of the nearest feature to each point, and its distance in metres.

    Both inputs must be in the same metric CRS. Ties go to the lowest target index.
    """
    n = len(points)
    index = np.full(n, -1, dtype="int64")
    dist = np.full(n, np.nan)
    if n == 0 or len(targets) == 0:
        return index, dist
    tree = shapely.STRtree(targets.values, node_capacity=NEAREST_NODE_CAPACITY)
    (src, tgt), d = tree.query_nearest(points.values, all_matches=True, return_distance=True)
    order = np.lexsort((tgt, src))
    src, tgt, d = src[order], tgt[order], d[order]
    first = np.r_[True, src[1:] != src[:-1]]
    index[src[first]] = tgt[first]
    dist[src[first]] = d[first]
    return index, dist


def nearest_line(
    points: gpd.GeoSeries, lines: pd.DataFrame
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Distance (km) to the nearest transmission line and that line's voltage (kV, NaN if unknown)."""
    pts = points.to_crs(METRIC_CRS)
    tgt = gpd.GeoSeries(lines.geometry, crs=lines.crs).to_crs(METRIC_CRS).reset_index(drop=True)
    index, dist = _nearest(pts, tgt)
    voltage = lines["voltage_kv"].to_numpy(dtype="float64")
    kv = np.where(index >= 0, voltage[np.maximum(index, 0)] if len(voltage) else np.nan, np.nan)
    return dist / 1000.0, kv


def line_vertices(lines: pd.DataFrame) -> gpd.GeoDataFrame:
    """Line endpoints as stand-in substations (where no substation layer exists), EPSG:4326.

    Columns follow the substations layer: substation_id ``<line_id>:a|b``, voltage_kv of the line.
    """
    geoms = gpd.GeoSeries(lines.geometry, crs=lines.crs).reset_index(drop=True)
    parts = shapely.get_parts(geoms.values)
    owner = shapely.get_parts(geoms.values, return_index=True)[1]
    start = shapely.get_point(parts, 0)
    end = shapely.get_point(parts, -1)
    ids = lines["line_id"].astype(str).to_numpy(dtype=object)[owner]
    kv = lines["voltage_kv"].to_numpy(dtype="float64")[owner]
    frame = pd.DataFrame(
        {
            "substation_id": np.concatenate([ids + ":a", ids + ":b"])
            if len(ids)
            else np.array([], dtype=object),
            "voltage_kv": np.concatenate([kv, kv]),
        }
    )
    geometry: np.ndarray | list[object] = np.concatenate([start, end]) if len(ids) else []
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=lines.crs).values, crs=lines.crs)
    return out.drop_duplicates(subset="substation_id").reset_index(drop=True)


def nearest_substation(
    points: gpd.GeoSeries, substations: pd.DataFrame
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.object_]]:
    """Distance (km) to the nearest substation, its voltage (kV) and its id ("" when none)."""
    pts = points.to_crs(METRIC_CRS)
    tgt = gpd.GeoSeries(substations.geometry, crs=substations.crs).to_crs(METRIC_CRS).reset_index(drop=True)
    index, dist = _nearest(pts, tgt)
    found = index >= 0
    kv = np.full(len(pts), np.nan)
    ids = np.full(len(pts), "", dtype=object)
    if found.any():
        kv[found] = substations["voltage_kv"].to_numpy(dtype="float64")[index[found]]
        ids[found] = substations["substation_id"].astype(str).to_numpy(dtype=object)[index[found]]
    return dist / 1000.0, kv, ids


def headroom_mw(voltage_kv: NDArray[np.float64] | pd.Series, grid: InterconnectConfig) -> NDArray[np.float64]:
    """Interconnection headroom (MW) of a connection at ``voltage_kv`` from the scenario's voltage steps.

    A voltage below the first step takes the first step's MW; NaN takes ``unknown_voltage_headroom_mw``.
    """
    kv = np.asarray(voltage_kv, dtype="float64")
    steps_kv = np.array([s.min_kv for s in grid.headroom_by_voltage])
    steps_mw = np.array([s.headroom_mw for s in grid.headroom_by_voltage])
    index = np.clip(np.searchsorted(steps_kv, np.nan_to_num(kv, nan=0.0), side="right") - 1, 0, None)
    return np.where(np.isnan(kv), grid.unknown_voltage_headroom_mw, steps_mw[index])
