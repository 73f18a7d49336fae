"""What every engine offers: ``measure(sites, layers, config, func=...)`` -> measures table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import geopandas as gpd
import pandas as pd

from gis import METRIC_CRS
from gis.config.scoring import ScoringConfig

__all__ = ["MEASURE_LAYERS", "Engine", "MeasureFunc", "metric_layers"]

MEASURE_LAYERS = ("transmission_lines", "substations", "states", "roads")
"""Layers the measures read (the others stay on the client)."""

MeasureFunc = Callable[[gpd.GeoDataFrame, dict[str, pd.DataFrame], ScoringConfig], pd.DataFrame]
"""A row-wise measure function such as :func:`gis.measures.measure_sites` (top-level, picklable)."""


class Engine(Protocol):
    """Runs a row-wise measure function over sites; the result has one row per site, in order."""

    name: str

    def measure(
        self,
        sites: gpd.GeoDataFrame,
        layers: dict[str, pd.DataFrame],
        config: ScoringConfig,
        *,
        func: MeasureFunc | None = None,
    ) -> pd.DataFrame: ...

    def close(self) -> None: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...


def metric_layers(layers: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The :data:`MEASURE_LAYERS` present in ``layers``, reprojected once to EPSG:5070 (metres).

    Reprojection is deterministic, so measuring against these gives the same numbers as
    measuring against the EPSG:4326 originals, without reprojecting them per chunk.
    """
    out = {}
    for name in MEASURE_LAYERS:
        frame = layers.get(name)
        if frame is None:
            continue
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and len(frame):
            frame = frame.to_crs(METRIC_CRS)
        out[name] = frame
    return out
