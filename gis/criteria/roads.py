"""Road access: distance to the nearest road through OpenStreetMap (``gis.layers.osm``).

Off by default (``[scoring.roads] enabled = false``): it needs the network or an OSM extract.
When disabled every site gets NaN, which the criterion scores as its neutral ``missing`` value.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray

from gis.errors import GisError

__all__ = ["road_distance_km"]


def road_distance_km(points: gpd.GeoSeries, *, enabled: bool) -> NDArray[np.float64]:
    """Distance (km) to the nearest OSM road per point, or NaN for all when ``enabled`` is False."""
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
    return np.asarray(nearest_road_km(points.to_crs("EPSG:4326")), dtype="float64")
