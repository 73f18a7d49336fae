"""Flare clustering: the chained components equal scikit-learn's DBSCAN with min_samples 1, labels
and their numbering included, on made-up points with duplicates, chains and lone points."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from gis import METRIC_CRS
from gis.sites.flare import cluster_points


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chained_clusters_equal_dbscan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 200_000, (40, 2))
    xy = np.vstack(
        [
            centres[rng.integers(0, 40, 600)] + rng.normal(0, 1500, (600, 2)),  # clumps
            rng.uniform(0, 200_000, (300, 2)),  # lone points
            np.repeat(rng.uniform(0, 200_000, (5, 2)), 4, axis=0),  # exact duplicates
            np.column_stack([np.arange(20) * 1999.0, np.zeros(20)]),  # a chain 1,999 m apart
        ]
    )
    xy = xy[rng.permutation(len(xy))]
    points = gpd.GeoSeries.from_xy(xy[:, 0], xy[:, 1], crs=METRIC_CRS)
    expected = DBSCAN(eps=2000.0, min_samples=1).fit_predict(xy)
    assert np.array_equal(cluster_points(points, eps_km=2.0), expected)


def test_noise_aware_clustering_still_runs_dbscan() -> None:
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [50_000.0, 0.0]])
    points = gpd.GeoSeries.from_xy(xy[:, 0], xy[:, 1], crs=METRIC_CRS)
    assert cluster_points(points, eps_km=1.0, min_samples=2).tolist() == [0, 0, -1]


def test_no_points_no_labels() -> None:
    assert cluster_points(gpd.GeoSeries([], crs=METRIC_CRS), eps_km=1.0).tolist() == []
