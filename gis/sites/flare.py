"""Flare gas: VIIRS flares clustered into minable sites, onshore and offshore (Gulf platforms).

Model (``[scoring.sites.flare_gas]``)::

    capacity_mw = volume_bcm x 1e9 m3 x heating_value_mj_m3 x genset_efficiency / 31,536,000 s
    mineable_mw = capacity_mw x capture_fraction

(1 bcm/yr at 38 MJ/m3 and 35 % is ~422 MW.) Flares of every survey year are clustered together
with DBSCAN (``cluster_eps_km``, EPSG:5070 metres, ``min_samples`` 1), so a site seen in 2015 and
2017 is one site; its volume is the sum over the cluster's flares of its latest survey year.
With ``latest_survey_only`` (the default) a cluster must be seen in the latest survey: one seen
only in an older survey (2015) may have been captured or shut in since, so it is left out and
counted. Flare sites are off-grid: limited by the gas, not by a line, and the gas runs around
the clock (a constant hourly profile in :mod:`gis.energy`).

Offshore: BSEE wells (``offshore.well_statuses`` in ``offshore.regions``) are clustered within
``platform_eps_km`` into platforms of at least ``min_wells`` wells. A platform within
``flare_match_km`` of an offshore flare site is merged into it (the flare's gas is the
platform's gas; no double count). Other platforms have no evidence of flaring: they are left
out (counted) unless ``offshore.platforms_without_flare`` is set, when they get
``default_platform_mw`` and confidence "low".
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import METRIC_CRS, STORAGE_CRS
from gis.config.scoring import FlareGasModel
from gis.rowlog import RowLog
from gis.sites._frame import empty_sites, fmt_mw, site_frame

__all__ = ["bcm_to_mw", "cluster_points", "flare_gas_sites"]

SECONDS_PER_YEAR = 365.0 * 24 * 3600


def bcm_to_mw(volume_bcm: np.ndarray | float, *, heating_value_mj_m3: float, efficiency: float) -> np.ndarray:
    """Electric MW from a flared volume in bcm/yr: ``bcm x 1e9 x MJ/m3 x efficiency / s-per-year``."""
    return np.asarray(volume_bcm, dtype="float64") * 1e9 * heating_value_mj_m3 * efficiency / SECONDS_PER_YEAR


def cluster_points(points: gpd.GeoSeries, *, eps_km: float, min_samples: int = 1) -> np.ndarray:
    """DBSCAN labels of points within ``eps_km`` (chained) in EPSG:5070 metres; -1 for noise.

    With ``min_samples`` 1 (every point a core point) DBSCAN's clusters are the connected
    components of the graph joining points at most ``eps_km`` apart, numbered in the order of their
    first point: that is computed directly (:func:`_chained`), without importing scikit-learn
    (~2 s); other ``min_samples`` run scikit-learn's DBSCAN.

    >>> pts = gpd.GeoSeries.from_xy([0, 1500, 9000, 2900], [0, 0, 0, 0], crs=METRIC_CRS)
    >>> cluster_points(pts, eps_km=1.5).tolist()
    [0, 0, 1, 0]
    """
    if len(points) == 0:
        return np.zeros(0, dtype="int64")
    metric = points.to_crs(METRIC_CRS)
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    if min_samples <= 1:
        return _chained(xy, eps_km * 1000.0)
    from sklearn.cluster import DBSCAN  # only for noise-aware clustering

    labels = DBSCAN(eps=eps_km * 1000.0, min_samples=min_samples, algorithm="ball_tree").fit_predict(xy)
    return labels.astype("int64")


def _chained(xy: np.ndarray, eps_m: float) -> np.ndarray:
    """Labels of the connected components of the points ``xy`` (n, 2) joined when at most ``eps_m``
    apart, numbered 0, 1, ... in the order of each component's first point (DBSCAN's numbering)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(xy)
    pairs = cKDTree(xy).query_pairs(eps_m, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))  # each component's first point
    order = np.empty_like(first)
    order[np.argsort(first, kind="stable")] = np.arange(len(first))
    return order[labels].astype("int64")


def _flare_clusters(
    flares: pd.DataFrame, model: FlareGasModel, setting: str, log: RowLog
) -> gpd.GeoDataFrame:
    """One row per cluster of flares: latest-year volume, the lead flare's id, state and basin.

    A cluster where any survey saw a flare of a type outside ``flare_types`` (a refinery, a
    downstream plant) is dropped whole: the 2017 survey has no types, the 2015 survey does.
    """
    flares = flares.copy()
    flares["cluster"] = cluster_points(flares.geometry, eps_km=model.cluster_eps_km)
    foreign = (~flares["flare_type"].isin(model.flare_types)).groupby(flares["cluster"]).transform("any")
    flares = log.drop(
        flares, foreign, "flare_gas: flare in a cluster typed refinery/downstream in some survey"
    )
    latest = flares.groupby("cluster")["year"].transform("max")
    if model.latest_survey_only and len(flares):
        newest = int(flares["year"].max())
        flares = log.drop(
            flares,
            latest < newest,
            f"flare_gas: flare of a cluster not seen in the latest survey ({newest}); scenario latest_survey_only",
        )
        latest = latest.loc[flares.index]
    stale = flares["year"] != latest
    log.repair(int(stale.sum()), "flare_gas: older survey year of a flare cluster not counted (latest kept)")
    current = flares.loc[~stale].sort_values(
        ["cluster", "volume_bcm", "flare_id"], ascending=[True, False, True], kind="stable"
    )
    grouped = current.groupby("cluster", sort=True)
    out = grouped.agg(
        lead_id=("flare_id", "first"),
        state=("state", "first"),
        basin=("basin", "first"),
        year=("year", "first"),
        volume_bcm=("volume_bcm", "sum"),
        members=("flare_id", "size"),
    )
    metric = current.geometry.to_crs(METRIC_CRS)
    centre = pd.DataFrame({"x": metric.x.to_numpy(), "y": metric.y.to_numpy(), "cluster": current["cluster"]})
    xy = centre.groupby("cluster", sort=True)[["x", "y"]].mean()
    geometry = gpd.GeoSeries(gpd.points_from_xy(xy["x"], xy["y"]), crs=METRIC_CRS).to_crs(STORAGE_CRS)
    out = out.reset_index(drop=True)
    out["setting"] = setting
    return gpd.GeoDataFrame(out, geometry=geometry.values, crs=STORAGE_CRS)


def _platforms(wells: pd.DataFrame, model: FlareGasModel, log: RowLog) -> gpd.GeoDataFrame:
    """Clusters of completed offshore wells (platforms), EPSG:4326 centroids with well counts."""
    off = model.offshore
    log.read(len(wells))
    rows = log.drop(
        wells, ~wells["region"].isin(off.regions), "flare_gas: offshore well outside chosen regions"
    )
    rows = log.drop(
        rows, ~rows["status_code"].isin(off.well_statuses), "flare_gas: offshore well not producing"
    )
    if rows.empty:
        return gpd.GeoDataFrame({"members": [], "operator": []}, geometry=[], crs=STORAGE_CRS)
    labels = cluster_points(rows.geometry, eps_km=off.platform_eps_km)
    metric = rows.geometry.to_crs(METRIC_CRS)
    frame = pd.DataFrame(
        {
            "cluster": labels,
            "x": metric.x.to_numpy(),
            "y": metric.y.to_numpy(),
            "operator": rows["operator"].astype(str).to_numpy(dtype=object),
            "api": rows["api_well_number"].to_numpy(dtype="int64"),
        }
    ).sort_values(["cluster", "api"], kind="stable")
    grouped = frame.groupby("cluster", sort=True)
    out = grouped.agg(
        x=("x", "mean"),
        y=("y", "mean"),
        members=("api", "size"),
        operator=("operator", "first"),
        lead_api=("api", "first"),
    )
    small = out["members"] < off.min_wells
    if small.any():
        log.dropped["flare_gas: offshore well in a cluster below min_wells"] = log.dropped.get(
            "flare_gas: offshore well in a cluster below min_wells", 0
        ) + int(out.loc[small, "members"].sum())
    out = out.loc[~small].reset_index(drop=True)
    geometry = gpd.GeoSeries(gpd.points_from_xy(out["x"], out["y"]), crs=METRIC_CRS).to_crs(STORAGE_CRS)
    return gpd.GeoDataFrame(out.drop(columns=["x", "y"]), geometry=geometry.values, crs=STORAGE_CRS)


def _cluster_sites(clusters: gpd.GeoDataFrame, model: FlareGasModel) -> gpd.GeoDataFrame:
    capacity = bcm_to_mw(
        clusters["volume_bcm"],
        heating_value_mj_m3=model.heating_value_mj_m3,
        efficiency=model.genset_efficiency,
    )
    where = clusters["basin"].where(
        clusters["basin"] != "", clusters["state"].where(clusters["state"] != "", "Gulf")
    )
    name = (
        where.astype(str).to_numpy(dtype=object)
        + " "
        + clusters["setting"].astype(str).to_numpy(dtype=object)
        + " flare cluster ("
        + clusters["members"].astype(str).to_numpy(dtype=object)
        + " flares)"
    )
    basis = (
        fmt_mw(clusters["volume_bcm"].to_numpy() * 1000.0, 2)
        + " million m3/yr flared (VIIRS "
        + clusters["year"].astype(str).to_numpy(dtype=object)
        + f") x {model.heating_value_mj_m3:g} MJ/m3 x genset efficiency {model.genset_efficiency:g}"
        + f" x capture fraction {model.capture_fraction:g}"
    )
    return site_frame(
        clusters.geometry,
        site_id="flare_gas:" + clusters["lead_id"].astype(str),
        name=name,
        category="flare_gas",
        setting=clusters["setting"],
        owner="",
        owner_class="private",
        state=clusters["state"],
        fuel="gas",
        energy_fuel="flare_gas",
        capacity_mw=capacity,
        asset_mw=capacity * model.capture_fraction,
        offgrid=True,
        members=clusters["members"].to_numpy(dtype="int64"),
        confidence="medium",
        basis=basis,
    )


def flare_gas_sites(
    flare_sites: pd.DataFrame, offshore_wells: pd.DataFrame | None, model: FlareGasModel, log: RowLog
) -> gpd.GeoDataFrame:
    """Candidate sites of category ``flare_gas``, onshore and offshore (EPSG:4326 points, MW)."""
    log.read(len(flare_sites))
    rows = log.drop(flare_sites, ~(flare_sites["volume_bcm"] > 0), "flare_gas: no flared volume")
    rows = log.drop(rows, ~rows["setting"].isin(["onshore", "offshore"]), "flare_gas: setting unknown")
    parts = []
    for setting in ("onshore", "offshore"):
        chosen = rows.loc[rows["setting"] == setting]
        if len(chosen):
            clusters = _flare_clusters(chosen, model, setting, log)
            if len(clusters):
                parts.append(_cluster_sites(clusters, model))
    sites = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=STORAGE_CRS) if parts else empty_sites()
    if offshore_wells is None:
        log.note("flare_gas: no offshore_wells layer; offshore sites come from VIIRS flares only")
    else:
        platforms = _platforms(offshore_wells, model, log)
        sites = _merge_platforms(sites, platforms, model, log)
    if sites.empty:
        log.note("flare_gas: no upstream flares with volume and no offshore platforms")
    return sites


def _merge_platforms(
    sites: gpd.GeoDataFrame, platforms: gpd.GeoDataFrame, model: FlareGasModel, log: RowLog
) -> gpd.GeoDataFrame:
    """Platforms near an offshore flare site join it; the others become low-confidence sites."""
    if platforms.empty:
        return sites
    offshore = sites.loc[sites["setting"] == "offshore"]
    matched = np.zeros(len(platforms), dtype=bool)
    if len(offshore):
        left = platforms.to_crs(METRIC_CRS)
        right = offshore.to_crs(METRIC_CRS)
        idx_p, idx_s = right.sindex.nearest(
            left.geometry, max_distance=model.offshore.flare_match_km * 1000.0, return_all=False
        )
        matched[idx_p] = True
        wells = pd.Series(platforms["members"].to_numpy()[idx_p]).groupby(offshore.index[idx_s]).sum()
        sites = sites.copy()
        sites.loc[wells.index, "basis"] = (
            sites.loc[wells.index, "basis"]
            + "; serves "
            + wells.astype(str)
            + " producing wells nearby (BSEE)"
        )
    log.repair(int(matched.sum()), "flare_gas: offshore platform merged into a nearby VIIRS flare site")
    rest = platforms.loc[~matched].reset_index(drop=True)
    if rest.empty:
        return sites
    if not model.offshore.platforms_without_flare:
        log.dropped["flare_gas: offshore platform without a VIIRS flare nearby (no evidence of gas)"] = len(
            rest
        )
        return sites
    mw = model.offshore.default_platform_mw
    extra = site_frame(
        rest.geometry,
        site_id="flare_gas:bsee:" + rest["lead_api"].astype("int64").astype(str),
        name="Gulf platform (" + rest["members"].astype(str) + " producing wells, " + rest["operator"] + ")",
        category="flare_gas",
        setting="offshore",
        owner=rest["operator"],
        owner_class="private",
        state="",
        fuel="gas",
        energy_fuel="flare_gas",
        capacity_mw=mw / model.capture_fraction if model.capture_fraction > 0 else 0.0,
        asset_mw=mw if model.capture_fraction > 0 else 0.0,
        offgrid=True,
        members=rest["members"].to_numpy(dtype="int64"),
        confidence="low",
        basis=f"no VIIRS flare within {model.offshore.flare_match_km:g} km: scenario default {mw:g} MW per platform",
    )
    return gpd.GeoDataFrame(pd.concat([sites, extra], ignore_index=True), crs=STORAGE_CRS)
