"""Nearest line / substation: the small-node search tree finds what the default one finds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gis import METRIC_CRS
from gis.measures.interconnect import NEAREST_NODE_CAPACITY, _nearest


def _default_tree_nearest(points: gpd.GeoSeries, targets: gpd.GeoSeries):
    """The same query through geopandas' spatial index (GEOS's default node capacity)."""
    (src, tgt), d = targets.sindex.nearest(points.values, return_all=True, return_distance=True)
    order = np.lexsort((tgt, src))
    src, tgt, d = src[order], tgt[order], d[order]
    first = np.r_[True, src[1:] != src[:-1]]
    index = np.full(len(points), -1)
    dist = np.full(len(points), np.nan)
    index[src[first]] = tgt[first]
    dist[src[first]] = d[first]
    return index, dist


def test_nearest_equals_the_default_tree_with_ties_to_the_lowest_index():
    assert NEAREST_NODE_CAPACITY < 10
    rng = np.random.default_rng(7)
    # segments sharing end points (a line network: a point nearest a shared vertex has ties),
    # duplicates, and points on, between and far from them
    a = rng.uniform(0, 50_000, (400, 2)).round(-2)
    b = a + rng.normal(0, 3_000, (400, 2)).round(-2)
    b[:-1:7] = a[1::7]  # shared vertices
    segments = [shapely.LineString([p, q]) for p, q in zip(a, b, strict=True)]
    segments += segments[:20]  # exact duplicates: equal distances, lowest index wins
    lines = gpd.GeoSeries(segments, crs=METRIC_CRS)
    points = gpd.GeoSeries(
        shapely.points(np.vstack([rng.uniform(-20_000, 70_000, (3_000, 2)), a[:50], b[:50]])), crs=METRIC_CRS
    )
    got = _nearest(points, lines)
    want = _default_tree_nearest(points, lines)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    duplicated = np.flatnonzero(got[0] >= 400)
    assert len(duplicated) == 0  # a duplicate never beats its original (lower index)
    subs = gpd.GeoSeries(shapely.points(np.vstack([a, a[:30]])), crs=METRIC_CRS)  # repeated places
    got, want = _nearest(points, subs), _default_tree_nearest(points, subs)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_nearest_without_points_or_targets():
    none = gpd.GeoSeries([], crs=METRIC_CRS)
    some = gpd.GeoSeries(shapely.points([[0.0, 0.0]]), crs=METRIC_CRS)
    index, dist = _nearest(some, none)
    assert index.tolist() == [-1] and np.isnan(dist).all()
    index, dist = _nearest(none, some)
    assert len(index) == 0 and len(dist) == 0
