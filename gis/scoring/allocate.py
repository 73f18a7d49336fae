"""Shared interconnects: sites that would use one connection must not count the same MW twice.

Grid-connected sites are grouped when they share a nearest substation within
``grid.shared_substation_km``, or lie within ``grid.colocated_km`` of each other (co-located
plants); groups are connected components of that graph (EPSG:5070 metres). A group can carry
the largest headroom among its members. It is handed out in score order, best first::

    allocated_i = clip(group_headroom - sum(allocated of better members), 0, mineable_i)

Off-grid sites (flare gas, military gensets) use no interconnect and keep their MW; one flare
cluster is already one site, and Gulf platforms near a flare were merged into it upstream.

The groups are geometry and the grid settings only, never weights: the scoring stage finds them
once with the measures (:data:`GROUP_COLUMN`, kept in the stage cache), and a weight change
hands the headroom out again in its new order without recomputing them (nor importing scipy,
which takes a new process about 0.7 s).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis import METRIC_CRS
from gis.config.scoring import InterconnectConfig

__all__ = ["GROUP_COLUMN", "allocate_shared", "interconnect_groups", "site_groups"]

GROUP_COLUMN = "interconnect_component"
"""Measures column holding :func:`interconnect_groups` (int64 label, -1 off-grid), added by
:func:`gis.scoring.api.measured_sites`."""


def interconnect_groups(
    points: gpd.GeoSeries, measures: pd.DataFrame, grid: InterconnectConfig
) -> NDArray[np.int64]:
    """Group label per site (-1 for off-grid sites); sites alone in a group get their own label.

    Labels are the connected components of the graph, numbered in the order of each one's first
    site (:func:`scipy.sparse.csgraph.connected_components`); ``points`` in any CRS (measured in
    EPSG:5070 metres).
    """
    n = len(measures)
    ongrid = ~measures["offgrid"].to_numpy(dtype=bool)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    sub = measures["substation_id"].astype(str).to_numpy(dtype=object)
    near = (
        ongrid
        & (measures["dist_sub_km"].to_numpy(dtype="float64") <= grid.shared_substation_km)
        & (sub != "")
    )
    idx = np.flatnonzero(near)
    if len(idx):
        codes = pd.factorize(pd.Series(sub[idx]))[0]
        leader = pd.Series(idx).groupby(codes).transform("min").to_numpy()
        rows.append(idx)
        cols.append(leader)
    on = np.flatnonzero(ongrid)
    if len(on) and grid.colocated_km > 0:
        metric = gpd.GeoSeries(points.values, crs=points.crs).to_crs(METRIC_CRS).iloc[on]
        a, b = metric.sindex.query(metric.values, predicate="dwithin", distance=grid.colocated_km * 1000.0)
        rows.append(on[a])
        cols.append(on[b])
    if rows:
        from scipy.sparse import coo_matrix  # imported here: a weight change reads kept groups
        from scipy.sparse.csgraph import connected_components

        r = np.concatenate(rows)
        c = np.concatenate(cols)
        graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
    else:
        labels = np.arange(n)
    return np.where(ongrid, labels, -1).astype("int64")


def site_groups(points: gpd.GeoSeries, measures: pd.DataFrame, grid: InterconnectConfig) -> NDArray[np.int64]:
    """The sites' groups: the measures' :data:`GROUP_COLUMN` when the scoring stage put it there,
    else :func:`interconnect_groups` (measures made by :func:`gis.measures.measure_sites` alone)."""
    if GROUP_COLUMN in measures.columns:
        return measures[GROUP_COLUMN].to_numpy(dtype="int64")
    return interconnect_groups(points, measures, grid)


def allocate_shared(
    mineable_mw: NDArray[np.float64],
    headroom_mw: NDArray[np.float64],
    groups: NDArray[np.int64],
    order: NDArray[np.int64],
) -> NDArray[np.float64]:
    """MW each site keeps after its group's headroom is handed out in ``order`` (best first).

    ``groups`` -1 means not shared (the site keeps its ``mineable_mw``).
    """
    mineable = np.asarray(mineable_mw, dtype="float64")
    frame = pd.DataFrame(
        {
            "mw": mineable[order],
            "headroom": np.asarray(headroom_mw, dtype="float64")[order],
            "group": groups[order],
        }
    )
    shared = frame["group"] >= 0
    cap = frame.groupby("group")["headroom"].transform("max")
    before = frame.groupby("group")["mw"].cumsum() - frame["mw"]
    # what better members took: their allocations, i.e. min(cumulative demand, cap)
    taken = np.minimum(before, cap)
    kept = np.clip(cap - taken, 0.0, frame["mw"])
    result_sorted = np.where(shared, kept, frame["mw"])
    out = np.empty_like(mineable)
    out[order] = result_sorted
    return out
