"""All measures of all sites in one pass: the geometry work, computed once and cacheable.

Scoring (:func:`gis.scoring.score.score_measures`) reads only this table, so a weight change
re-scores without touching geometry.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import METRIC_CRS
from gis.config.scoring import ScoringConfig
from gis.measures.carbon import co2_t_per_mwh
from gis.measures.climate import latitude_deg
from gis.measures.economics import energy_cost_usd_mwh
from gis.measures.interconnect import headroom_mw, line_vertices, nearest_line, nearest_substation
from gis.measures.land import within_states
from gis.measures.roads import road_distance_km
from gis.schema import Column, LayerSchema, register

__all__ = ["MEASURE_COLUMNS", "SITE_MEASURES", "measure_sites"]

SITE_MEASURES = register(
    LayerSchema(
        name="site_measures",
        description=(
            "What scoring reads: one row per candidate site (same order as the sites), measured once "
            "(EPSG:5070 metres inside; km, kV, MW, USD/MWh, t CO2/MWh out) and cacheable."
        ),
        geometry=None,
        key="site_id",
        columns=(
            Column("site_id", "str", "", "stable id '<category>:<source id>'"),
            Column("category", "str", "", "candidate category"),
            Column("setting", "str", "", "onshore or offshore for flare_gas; empty otherwise"),
            Column("offgrid", "bool", "", "limited by on-site fuel (flare gas, gensets), not by a line"),
            Column("capacity_mw", "float64", "MW", "asset nameplate"),
            Column("asset_mw", "float64", "MW", "mineable MW the asset alone allows (category model)"),
            Column(
                "mineable_mw",
                "float64",
                "MW",
                "asset_mw for off-grid sites, min(asset_mw, headroom_mw) otherwise (before shared interconnects)",
            ),
            Column("dist_tx_km", "float64", "km", "distance to the nearest transmission line (EPSG:5070)"),
            Column("tx_voltage_kv", "float64", "kV", "voltage of that line; NaN if unknown"),
            Column("dist_sub_km", "float64", "km", "distance to the nearest substation (or line endpoint)"),
            Column("sub_voltage_kv", "float64", "kV", "voltage of that substation; NaN if unknown"),
            Column("substation_id", "str", "", "id of that substation; empty if none"),
            Column(
                "headroom_mw", "float64", "MW", "interconnection headroom from the connection voltage class"
            ),
            Column("energy_cost_usd_mwh", "float64", "USD/MWh", "energy cost proxy (scenario table)"),
            Column(
                "co2_t_per_mwh",
                "float64",
                "t CO2/MWh",
                "emission factor of the energy used (flare gas: combustion, before the avoided-flaring credit)",
            ),
            Column("lat_deg", "float64", "deg", "latitude of the site (the cooling criterion's measure)"),
            Column("in_us", "bool", "", "the site lies inside a US state polygon (or no states layer)"),
            Column("dist_road_km", "float64", "km", "distance to the nearest road; NaN when roads are off"),
        ),
    )
)
"""The registered ``site_measures`` table (scoring's input); a criterion's ``measure`` names one
of its columns."""

MEASURE_COLUMNS = tuple(SITE_MEASURES.column_names)
"""Columns of the measures table (one row per site, same order as the sites)."""

MEASURES_ON_SITES = (
    "dist_tx_km",
    "tx_voltage_kv",
    "dist_sub_km",
    "headroom_mw",
    "energy_cost_usd_mwh",
    "co2_t_per_mwh",
)
"""The measures a scored site (and a grid cell) carries in its own table, beside its score."""


def measure_sites(
    sites: gpd.GeoDataFrame, layers: dict[str, pd.DataFrame], config: ScoringConfig
) -> pd.DataFrame:
    """Measure every site (EPSG:5070 metres inside, km / kV / MW / $/MWh / t/MWh out).

    ``headroom_mw`` comes from the plant's own interconnection voltage (EIA-860) when known,
    else from the nearest line's voltage. ``mineable_mw`` = ``asset_mw`` for off-grid sites,
    ``min(asset_mw, headroom_mw)`` for grid-connected ones (before shared-interconnect allocation).
    Layers ``transmission_lines``, ``substations`` and ``states`` are optional: a missing one
    gives NaN measures (scored as the criterion's ``missing`` value); so do sites in
    ``[scoring.grid] no_line_data_states`` (islands the line data does not cover).
    """
    points = gpd.GeoSeries(sites.geometry, crs=sites.crs).reset_index(drop=True)
    n = len(points)
    metric = points.to_crs(METRIC_CRS)  # once for both nearest queries (a no-op there)
    lines = layers.get("transmission_lines")
    if lines is not None and len(lines):
        dist_tx, tx_kv = nearest_line(metric, lines)
    else:
        dist_tx, tx_kv = np.full(n, np.nan), np.full(n, np.nan)
    subs = layers.get("substations")
    if (subs is None or len(subs) == 0) and lines is not None and len(lines):
        subs = line_vertices(lines)
    if subs is not None and len(subs):
        dist_sub, sub_kv, sub_id = nearest_substation(metric, subs)
    else:
        dist_sub, sub_kv, sub_id = np.full(n, np.nan), np.full(n, np.nan), np.full(n, "", dtype=object)
    # no line data on the islands (GridKit covers the mainland grid): the distance is unknown, not huge
    island = sites["state"].isin(config.grid.no_line_data_states).to_numpy()
    dist_tx, tx_kv = np.where(island, np.nan, dist_tx), np.where(island, np.nan, tx_kv)
    dist_sub, sub_kv = np.where(island, np.nan, dist_sub), np.where(island, np.nan, sub_kv)
    own_kv = sites["grid_voltage_kv"].to_numpy(dtype="float64")
    connection_kv = np.where(np.isnan(own_kv), tx_kv, own_kv)
    headroom = headroom_mw(connection_kv, config.grid)
    offgrid = sites["offgrid"].to_numpy(dtype=bool)
    asset = sites["asset_mw"].to_numpy(dtype="float64")
    mineable = np.where(offgrid, asset, np.minimum(asset, headroom))
    return pd.DataFrame(
        {
            "site_id": sites["site_id"].to_numpy(dtype=object),
            "category": sites["category"].to_numpy(dtype=object),
            "setting": sites["setting"].to_numpy(dtype=object),
            "offgrid": offgrid,
            "capacity_mw": sites["capacity_mw"].to_numpy(dtype="float64"),
            "asset_mw": asset,
            "mineable_mw": mineable,
            "dist_tx_km": dist_tx,
            "tx_voltage_kv": tx_kv,
            "dist_sub_km": dist_sub,
            "sub_voltage_kv": sub_kv,
            "substation_id": sub_id,
            "headroom_mw": headroom,
            "energy_cost_usd_mwh": energy_cost_usd_mwh(sites, config.costs),
            "co2_t_per_mwh": co2_t_per_mwh(sites, config.carbon, config.sites.flare_gas),
            "lat_deg": latitude_deg(points),
            "in_us": within_states(metric, layers.get("states")),
            "dist_road_km": road_distance_km(points, enabled=config.roads.enabled, roads=layers.get("roads")),
        },
        columns=list(MEASURE_COLUMNS),
    )
