"""Land measures: is a site on US soil (a state polygon), and which exclusions apply.

Offshore sites lie outside every state polygon by nature; exclusion rules in the scenario
decide which categories may be offshore (by default only flare_gas).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis import METRIC_CRS

__all__ = ["within_states"]


def within_states(
    points: gpd.GeoSeries, states: pd.DataFrame | None, *, tolerance_km: float = 2.0
) -> NDArray[np.float64]:
    """1.0 where a point lies in (or within ``tolerance_km`` of) a state polygon, else 0.0.

    The tolerance absorbs coastline generalisation of the 1:20M Census boundaries (a dam or plant
    on a shore or river border). NaN for every point when no states layer is given.
    """
    if states is None or len(states) == 0:
        return np.full(len(points), np.nan)
    pts = points.to_crs(METRIC_CRS)
    polys = gpd.GeoSeries(states.geometry, crs=states.crs).to_crs(METRIC_CRS).reset_index(drop=True)
    inside = np.zeros(len(pts), dtype=bool)
    src, _ = polys.sindex.query(pts.values, predicate="dwithin", distance=tolerance_km * 1000.0)
    inside[np.unique(src)] = True
    return inside.astype("float64")
