"""Climate / cooling: latitude as a proxy for air-cooling conditions (further north, cooler air).

A coarse proxy on purpose: no temperature grid is among the sources. The scenario's transform
decides how much a degree of latitude is worth.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray

__all__ = ["latitude_deg"]


def latitude_deg(points: gpd.GeoSeries) -> NDArray[np.float64]:
    """Absolute latitude of each point, degrees (EPSG:4326)."""
    return np.abs(points.to_crs("EPSG:4326").y.to_numpy(dtype="float64"))
