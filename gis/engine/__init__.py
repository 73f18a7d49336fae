"""Engines that run the geometry work (the measures) of many sites or grid cells.

::

    local     in this process, in chunks of ``chunk_rows`` rows (:class:`LocalEngine`)
    dask      partitions with dask-geopandas, measured on a dask cluster (:class:`DaskEngine`):
              an existing scheduler (``scheduler="tcp://host:8786"``) or a LocalCluster
    cache     wraps either: measures kept on disk by a hash of their inputs (:class:`CachedEngine`)

Measures are row-wise (each site's distances depend on that site only), so every engine
returns the same table; ranking and the stability Monte Carlo stay global and run in-process
on the assembled measures (:mod:`gis.scoring`).
"""

from gis.engine.base import MEASURE_LAYERS, Engine, MeasureFunc, metric_layers
from gis.engine.cache import CachedEngine, measures_key
from gis.engine.cluster import DaskEngine
from gis.engine.local import LocalEngine
from gis.engine.select import ENGINES, get_engine

__all__ = [
    "ENGINES",
    "MEASURE_LAYERS",
    "CachedEngine",
    "DaskEngine",
    "Engine",
    "LocalEngine",
    "MeasureFunc",
    "get_engine",
    "measures_key",
    "metric_layers",
]
