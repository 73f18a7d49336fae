"""The dask engine: sites partitioned with dask-geopandas, measured on a dask cluster.

``scheduler`` is the address of a running scheduler (``tcp://host:8786``); without one a
:class:`distributed.LocalCluster` of worker processes is started (and closed by :meth:`close`).
The layers the measures need are reprojected to EPSG:5070 once and broadcast to the workers;
each partition is measured with the same function as the local engine, and the partitions come
back in order, so the measures are identical to the in-process ones.
"""

from __future__ import annotations

import itertools
import math
import os
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.config.scoring import ScoringConfig
from gis.engine.base import MeasureFunc, metric_layers
from gis.errors import GisError
from gis.measures import measure_sites

if TYPE_CHECKING:
    from distributed import LocalCluster

__all__ = ["DaskEngine"]


class DaskEngine:
    """Measure partitions of the sites on a dask cluster.

    Parameters
    ----------
    scheduler
        address of an existing scheduler; None starts a LocalCluster.
    partitions
        number of partitions; default: enough for ``chunk_rows`` rows each and at least two
        per worker.
    chunk_rows
        largest partition, rows.
    workers
        worker processes of the LocalCluster (default: CPU count, at most 8).
    client
        an existing ``distributed.Client`` to use instead (left open by :meth:`close`).
    connect_timeout_s
        how long to wait for ``scheduler``, seconds.
    """

    name = "dask"

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        partitions: int | None = None,
        chunk_rows: int = 250_000,
        workers: int | None = None,
        client=None,
        connect_timeout_s: float = 20.0,
    ) -> None:
        if partitions is not None and partitions < 1:
            raise GisError(
                f"the number of partitions must be at least 1, got {partitions}",
                field="--partitions",
                fix="pass a positive whole number",
            )
        self.scheduler = scheduler
        self.partitions = partitions
        self.chunk_rows = max(1, int(chunk_rows))
        self.workers = workers or min(os.cpu_count() or 2, 8)
        self._client = client
        self._owns_client = client is None
        self._cluster: LocalCluster | None = None
        self.connect_timeout_s = connect_timeout_s

    @property
    def client(self):
        """The dask client, connected on first use."""
        if self._client is None:
            from distributed import Client, LocalCluster

            if self.scheduler:
                try:
                    self._client = Client(self.scheduler, timeout=f"{self.connect_timeout_s}s")
                except (OSError, TimeoutError) as exc:
                    raise GisError(
                        f"cannot reach the dask scheduler ({exc})",
                        file=self.scheduler,
                        field="--scheduler",
                        fix="start one with `dask scheduler` (and `dask worker ADDRESS`), or check the address",
                    ) from exc
            else:
                self._cluster = LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None
                )
                self._client = Client(self._cluster)
        return self._client

    def _npartitions(self, n: int) -> int:
        if self.partitions is not None:
            return max(1, min(self.partitions, n))
        workers = max(1, len(self.client.scheduler_info().get("workers", {})) or self.workers)
        return max(1, min(n, max(2 * workers, math.ceil(n / self.chunk_rows))))

    def measure(
        self,
        sites: gpd.GeoDataFrame,
        layers: dict[str, pd.DataFrame],
        config: ScoringConfig,
        *,
        func: MeasureFunc | None = None,
    ) -> pd.DataFrame:
        """Measures of ``sites`` (one row each, same order, RangeIndex), computed on the cluster."""
        import dask.dataframe as dd
        import dask_geopandas

        func = func or measure_sites
        sites = sites.reset_index(drop=True)
        needed = metric_layers(layers)
        if len(sites) == 0:
            return func(sites, needed, config)
        client = self.client
        bounds = np.linspace(0, len(sites), self._npartitions(len(sites)) + 1).astype(int)
        # partitions are scattered to the workers, not embedded in the task graph
        parts = client.scatter([sites.iloc[a:b] for a, b in itertools.pairwise(bounds)])
        frame = dask_geopandas.from_dask_dataframe(
            dd.from_delayed(parts, meta=sites.iloc[:0], divisions=(*bounds[:-1].tolist(), len(sites) - 1))
        )
        [shared] = client.scatter([needed], broadcast=True)
        meta = func(sites.iloc[:0], needed, config)
        measured = frame.map_partitions(func, shared, config, meta=meta, align_dataframes=False)
        result = client.compute(measured).result()
        return pd.DataFrame(result).reset_index(drop=True)

    def close(self) -> None:
        """Close the client (and the LocalCluster this engine started)."""
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskEngine:
        if self.scheduler:
            _ = self.client  # an unreachable scheduler fails now, not after the cached steps
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
