"""The ``candidate_sites`` schema (sites.gpkg layer, sites_ranked.csv), registered in gis.schema.

Every column once, with dtype, unit and meaning, so the GeoPackage, the CSV, the map popups and
the estimates stage agree. ``s_<criterion>`` sub-score columns (0..1) follow the listed ones.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from gis.config.vocabulary import CATEGORIES, FUELS, OWNER_CLASSES
from gis.errors import GisError
from gis.io import gpkg_layer_names, read_gpkg_layer
from gis.schema import Column, LayerSchema, register

__all__ = ["CANDIDATE_SITES", "CSV_FLOAT_DIGITS", "DISPLAY_DIGITS", "read_candidate_sites"]


def _c(name: str, dtype: str, unit: str, description: str) -> Column:
    return Column(name, dtype, unit, description)


def _e(name: str, dtype: str, unit: str, description: str) -> Column:
    """A column of the energy stage (:mod:`gis.energy`): absent from grid cells, so optional."""
    return Column(name, dtype, unit, description, required=False)


CANDIDATE_SITES = register(
    LayerSchema(
        name="candidate_sites",
        description=(
            "Candidate mining sites, one per asset or cluster, best first: mineable MW after the "
            "category model, the grid-connection limit and shared-interconnect allocation; 0..1 "
            "score with one s_<criterion> sub-score per criterion; rank and rank stability."
        ),
        geometry=("Point",),
        key="site_id",
        extra_prefixes=("s_",),
        columns=(
            _c("site_id", "str", "", "stable id '<category>:<source id>', e.g. federal_hydro:6163"),
            _c("name", "str", "", "plant, installation or cluster name"),
            _c("category", "str", "", "one of " + ", ".join(CATEGORIES)),
            _c("setting", "str", "", "onshore or offshore for flare_gas; empty otherwise"),
            _c("owner", "str", "", "operator (EIA-860), service branch or well operator"),
            _c("owner_class", "str", "", "one of " + ", ".join(OWNER_CLASSES)),
            _c("state", "str", "", "two-letter state code; empty offshore"),
            _c("fuel", "str", "", "energy source of the asset: " + ", ".join(FUELS)),
            _c("capacity_mw", "float64", "MW", "asset nameplate (retired MW for coal, gas power for flares)"),
            _c("asset_mw", "float64", "MW", "mineable MW the asset alone allows (category model)"),
            _c(
                "mineable_mw",
                "float64",
                "MW",
                "MW available for mining after the category model, the grid limit and shared interconnects",
            ),
            _c("shared_cut_mw", "float64", "MW", "MW cut because a better site took a shared interconnect"),
            _c("score", "float64", "1", "weighted sum of the s_ sub-scores, 0..1; 0 when excluded"),
            _c("rank", "int64", "", "1 = best; ties broken by site_id"),
            _c("p_top_n", "float64", "1", "share of weight draws in which the site stays in the top N"),
            _c("dist_tx_km", "float64", "km", "distance to the nearest transmission line (EPSG:5070)"),
            _c("tx_voltage_kv", "float64", "kV", "voltage of that line; NaN if unknown"),
            _c("dist_sub_km", "float64", "km", "distance to the nearest substation (or line endpoint)"),
            _c("headroom_mw", "float64", "MW", "interconnection headroom from the connection voltage class"),
            _c("energy_cost_usd_mwh", "float64", "USD/MWh", "energy cost proxy (scenario table)"),
            _c(
                "co2_t_per_mwh",
                "float64",
                "t/MWh",
                "emission factor of the energy used (flare gas: combustion, before the avoided-flaring credit)",
            ),
            _c("flexible_load", "bool", "", "fit for demand response (rule in gis.scoring.flags)"),
            _c("ai_convertible", "bool", "", "fit for later AI/HPC conversion (rule in gis.scoring.flags)"),
            _c("excluded", "bool", "", "removed by a hard exclusion rule"),
            _c("exclusion_reason", "str", "", "why, '; '-joined; empty when kept"),
            _c("confidence", "str", "", "high, medium or low: how well the data supports mineable_mw"),
            _c("basis", "str", "", "how mineable_mw was derived, one sentence"),
            _c("offgrid", "bool", "", "limited by on-site fuel (flare gas, gensets), not by a line"),
            _c("interconnect_group", "str", "", "shared-interconnect group id; empty for off-grid sites"),
            _c("retirement_date", "str", "", "retirement month YYYY-MM (plants); empty if none"),
            _c("members", "int64", "", "plants, flares or wells merged into the site"),
            _e(
                "ledger",
                "str",
                "",
                "wasted (energy thrown away today) or bought (energy bought at market price)",
            ),
            _e(
                "node",
                "str",
                "",
                "market hub whose hourly prices the site buys at; 'region<-hub' for a proxy",
            ),
            _e(
                "price_basis",
                "str",
                "",
                "where the site's hourly prices come from: market, proxy, flat or off-grid",
            ),
            _e("price_year", "Int64", "", "year of the hourly prices used (the reference year when present)"),
            _e("wasted_peak_mw", "float64", "MW", "wasted energy available in the site's best hour"),
            _e(
                "wasted_mwh_per_year",
                "float64",
                "MWh/yr",
                "wasted energy a year (reference year, gaps weighted)",
            ),
            _e("wasted_hours_per_year", "float64", "h/yr", "hours a year with wasted energy"),
            _e("wasted_avg_mw", "float64", "MW", "wasted energy as an average over the year"),
            _e(
                "wasted_price_usd_mwh",
                "float64",
                "USD/MWh",
                "mean node price in the hours with wasted energy",
            ),
            _e("node_mean_price_usd_mwh", "float64", "USD/MWh", "mean hourly price at the node"),
            _e(
                "node_hours_le_surplus",
                "float64",
                "h/yr",
                "hours a year at or below the surplus price at the node",
            ),
            _e("node_price_p10_usd_mwh", "float64", "USD/MWh", "10th percentile of the node's hourly prices"),
            _e("node_price_p50_usd_mwh", "float64", "USD/MWh", "median of the node's hourly prices"),
            _e("node_price_p90_usd_mwh", "float64", "USD/MWh", "90th percentile of the node's hourly prices"),
            _e("balancing_authority", "str", "", "balancing authority (EIA-860 2019); empty if unknown"),
            _e("capacity_factor_max", "float64", "1", "capacity factor of the plant's best year 2013-2019"),
            _e(
                "annual_wasted_mwh",
                "float64",
                "MWh/yr",
                "plant-level curtailment from the user's table; NaN if none",
            ),
            _e(
                "no_surplus_reason",
                "str",
                "",
                "why a wasted-energy site has none (no prices, no history ...)",
            ),
        ),
    )
)
"""The registered ``candidate_sites`` schema."""

CSV_FLOAT_DIGITS: dict[str, int] = {
    "capacity_mw": 3,
    "asset_mw": 3,
    "mineable_mw": 3,
    "shared_cut_mw": 3,
    "score": 6,
    "p_top_n": 4,
    "dist_tx_km": 3,
    "tx_voltage_kv": 1,
    "dist_sub_km": 3,
    "headroom_mw": 1,
    "energy_cost_usd_mwh": 2,
    "co2_t_per_mwh": 4,
    "wasted_peak_mw": 3,
    "wasted_mwh_per_year": 1,
    "wasted_hours_per_year": 1,
    "wasted_avg_mw": 3,
    "wasted_price_usd_mwh": 2,
    "node_mean_price_usd_mwh": 2,
    "node_hours_le_surplus": 1,
    "node_price_p10_usd_mwh": 2,
    "node_price_p50_usd_mwh": 2,
    "node_price_p90_usd_mwh": 2,
    "fleet_mw": 3,
    "fleet_npv_usd": 0,
    "fleet_wasted_mwh_per_year": 1,
    "fleet_bought_mwh_per_year": 1,
    "hours_mined": 1,
    "hours_curtailed": 1,
    "btc_per_year": 3,
    "lat": 6,
    "lon": 6,
}
"""Decimals kept per float column in sites_ranked.csv (s_ columns: 6); deterministic text."""

DISPLAY_DIGITS: dict[str, int] = {
    "capacity_mw": 1,
    "asset_mw": 1,
    "mineable_mw": 1,
    "shared_cut_mw": 1,
    "score": 3,
    "p_top_n": 2,
    "dist_tx_km": 1,
    "tx_voltage_kv": 0,
    "dist_sub_km": 1,
    "headroom_mw": 0,
    "energy_cost_usd_mwh": 2,
    "co2_t_per_mwh": 3,
    "rank": 0,
    "members": 0,
    "lat": 4,
    "lon": 4,
}
"""Decimals shown per numeric column in sites_ranked.xlsx (the stored value keeps full precision;
s_ sub-scores: 3)."""


def read_candidate_sites(path: str | Path) -> gpd.GeoDataFrame:
    """The ``candidate_sites`` layer of ``sites.gpkg`` as written by ``gis score`` (EPSG:4326, unvalidated).

    Raises
    ------
    GisError
        when the file is absent, unreadable or lacks the layer, saying to run ``gis score``.
    """
    path = Path(path)
    fix = "run `gis score` first (or `gis run`), with the same --out"
    if not path.is_file():
        raise GisError("the scored sites do not exist", file=path, fix=fix)
    if CANDIDATE_SITES.name not in gpkg_layer_names(path, fix=fix):
        raise GisError(
            f"the GeoPackage has no layer {CANDIDATE_SITES.name}",
            file=path,
            field=CANDIDATE_SITES.name,
            fix=fix,
        )
    return read_gpkg_layer(path, CANDIDATE_SITES.name, fix=fix)
