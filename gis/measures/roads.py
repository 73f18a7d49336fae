"""Road access: distance to the nearest road through OpenStreetMap (``gis.layers.osm``).

Off by default (``[scoring.roads] enabled = false``): it needs the network or an OSM extract.
When disabled every site gets NaN, which the criterion scores as its neutral ``missing`` value.
The street networks are fetched in the layers stage, tile by tile (``tile_deg`` degrees, one street
graph each, since one graph cannot cover the country: :func:`gis.layers.osm.road_tiles`); this
measure only measures against them.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis.errors import GisError
from gis.layers.osm import ROAD_TILE_DEG, nearest_edge_km, tile_keys

__all__ = ["road_distance_km"]


def road_distance_km(
    points: gpd.GeoSeries,
    *,
    enabled: bool,
    roads: gpd.GeoDataFrame | None = None,
    tile_deg: float = ROAD_TILE_DEG,
    buffer_km: float = 10.0,
) -> NDArray[np.float64]:
    """Distance (km, EPSG:5070) to the nearest OSM road per point, or NaN for all when ``enabled``
    is False; NaN beyond ``buffer_km``.

    ``roads`` is the layers stage's ``roads`` layer (:func:`gis.layers.osm.road_tiles`): each point
    is measured against the street edges of its own ``tile_deg`` degree tile. Nothing is fetched here.

    Raises
    ------
    GisError
        when road distance is enabled but no ``roads`` layer was read.
    """
    if not enabled:
        return np.full(len(points), np.nan)
    if roads is None:
        raise GisError(
            "road distance is enabled but no roads layer was read",
            field="scoring.roads.enabled",
            fix="read it with gis.layers.osm.road_tiles (score_sites does), or set [scoring.roads] enabled = false",
        )
    lonlat = points.to_crs("EPSG:4326")
    out = np.full(len(lonlat), np.nan)
    keys = tile_keys(lonlat, tile_deg)
    tiles = roads["tile"].to_numpy(dtype=object)
    for key, rows in pd.Series(keys).groupby(keys, sort=True).indices.items():
        edges = roads.loc[tiles == key]
        if len(edges):
            out[rows] = nearest_edge_km(lonlat.iloc[rows], edges, buffer_km)
    return out
