"""Road access: distance to the nearest road through OpenStreetMap (``gis.layers.osm``).

Off by default (``[scoring.roads] enabled = false``): it needs the network or an OSM extract.
When disabled every site gets NaN, which the criterion scores as its neutral ``missing`` value.
A national set of sites is queried tile by tile (``tile_deg`` degrees, one street graph each),
since one graph cannot cover the country.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis.errors import GisError

__all__ = ["road_distance_km"]


def road_distance_km(points: gpd.GeoSeries, *, enabled: bool, tile_deg: float = 2.0) -> NDArray[np.float64]:
    """Distance (km) to the nearest OSM road per point, or NaN for all when ``enabled`` is False.

    Points are grouped into ``tile_deg`` x ``tile_deg`` degree tiles (EPSG:4326) and each tile is
    one street-network query; the loop runs over tiles (network requests), not over points.
    """
    if not enabled:
        return np.full(len(points), np.nan)
    try:
        from gis.layers.osm import nearest_road_km
    except ImportError as exc:
        raise GisError(
            "road distance is enabled but the OpenStreetMap road module is not available",
            field="scoring.roads.enabled",
            fix="set [scoring.roads] enabled = false, or install the OSM support",
        ) from exc
    lonlat = points.to_crs("EPSG:4326")
    out = np.full(len(lonlat), np.nan)
    if len(lonlat) == 0:
        return out
    tiles = pd.Series(
        list(
            zip(
                np.floor(lonlat.x.to_numpy() / tile_deg),
                np.floor(lonlat.y.to_numpy() / tile_deg),
                strict=True,
            )
        )
    )
    for rows in tiles.groupby(tiles, sort=True).indices.values():
        out[rows] = np.asarray(nearest_road_km(lonlat.iloc[rows]), dtype="float64")
    return out
