"""The in-process engine: measures in chunks of ``chunk_rows`` sites (bounded memory)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gis.config.scoring import ScoringConfig
from gis.engine.base import MeasureFunc, metric_layers
from gis.measures import measure_sites

__all__ = ["LocalEngine"]


class LocalEngine:
    """Measure in this process, ``chunk_rows`` sites at a time (layers reprojected once).

    Parameters
    ----------
    chunk_rows
        sites per chunk; peak memory of the nearest-feature queries grows with it.
    """

    name = "local"

    def __init__(self, *, chunk_rows: int = 250_000) -> None:
        self.chunk_rows = max(1, int(chunk_rows))

    def measure(
        self,
        sites: gpd.GeoDataFrame,
        layers: dict[str, pd.DataFrame],
        config: ScoringConfig,
        *,
        func: MeasureFunc | None = None,
    ) -> pd.DataFrame:
        """Measures of ``sites`` (one row each, same order, RangeIndex)."""
        func = func or measure_sites
        sites = sites.reset_index(drop=True)
        metric = {**layers, **metric_layers(layers)}
        if len(sites) <= self.chunk_rows:
            return func(sites, metric, config).reset_index(drop=True)
        parts = [
            func(sites.iloc[start : start + self.chunk_rows], metric, config)
            for start in range(0, len(sites), self.chunk_rows)
        ]
        return pd.concat(parts, ignore_index=True)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
