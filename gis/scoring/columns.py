"""The ``candidate_sites`` schema (sites.gpkg layer, sites_ranked.csv), registered in gis.schema.

Every column once, with dtype, unit and meaning, so the GeoPackage, the CSV, the map popups and
the estimates stage agree. ``s_<criterion>`` sub-score columns (0..1) follow the listed ones.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd

from gis.config.vocabulary import CATEGORIES, FUELS, OWNER_CLASSES
from gis.errors import GisError
from gis.io import gpkg_layer_names, read_gpkg_layer
from gis.measures.measure import SITE_MEASURES
from gis.schema import Column, LayerSchema, register

__all__ = [
    "CANDIDATE_SITES",
    "CSV_FLOAT_DIGITS",
    "DISPLAY_DIGITS",
    "FLEET_SOURCE_KEYS",
    "SITES_RANKED",
    "SITE_FLEET_COLUMNS",
    "read_candidate_sites",
]


def _c(
    name: str,
    dtype: str,
    unit: str,
    description: str,
    title: str,
    digits: int | None = None,
    csv: int | None = None,
    *,
    required: bool = True,
) -> Column:
    return Column(name, dtype, unit, description, required, title=title, digits=digits, csv_digits=csv)


def _m(name: str, title: str, digits: int, csv: int) -> Column:
    """A column measured by :mod:`gis.measures` (unit and meaning from its ``site_measures`` schema)."""
    return replace(SITE_MEASURES.column(name), title=title, digits=digits, csv_digits=csv)


def _e(
    name: str,
    dtype: str,
    unit: str,
    description: str,
    title: str,
    digits: int | None = None,
    csv: int | None = None,
) -> Column:
    """A column of the energy stage (:mod:`gis.energy`): absent from grid cells, so optional."""
    return _c(name, dtype, unit, description, title, digits, csv, required=False)


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
            _c(
                "site_id", "str", "", "stable id '<category>:<source id>', e.g. federal_hydro:6163", "Site id"
            ),
            _c("name", "str", "", "plant, installation or cluster name", "Name"),
            _c("category", "str", "", "one of " + ", ".join(CATEGORIES), "Category"),
            _c("setting", "str", "", "onshore or offshore for flare_gas; empty otherwise", "Setting"),
            _c("owner", "str", "", "operator (EIA-860), service branch or well operator", "Owner / operator"),
            _c("owner_class", "str", "", "one of " + ", ".join(OWNER_CLASSES), "Owner class"),
            _c("state", "str", "", "two-letter state code; empty offshore", "State"),
            _c("fuel", "str", "", "energy source of the asset: " + ", ".join(FUELS), "Fuel"),
            _c(
                "capacity_mw",
                "float64",
                "MW",
                "asset nameplate (retired MW for coal, gas power for flares)",
                "Nameplate capacity",
                1,
                3,
            ),
            _c(
                "asset_mw",
                "float64",
                "MW",
                "mineable MW the asset alone allows (category model)",
                "Mineable power of the asset alone",
                1,
                3,
            ),
            _c(
                "mineable_mw",
                "float64",
                "MW",
                "MW available for mining after the category model, the grid limit and shared interconnects",
                "Mineable power",
                1,
                3,
            ),
            _c(
                "shared_cut_mw",
                "float64",
                "MW",
                "MW cut because a better site took a shared interconnect",
                "Cut by a shared interconnect",
                1,
                3,
            ),
            _c(
                "score",
                "float64",
                "1",
                "weighted sum of the s_ sub-scores, 0..1; 0 when excluded",
                "Score",
                3,
                6,
            ),
            _c("rank", "int64", "", "1 = best; ties broken by site_id", "Rank", 0),
            _c(
                "p_top_n",
                "float64",
                "1",
                "share of weight draws in which the site stays in the top N",
                "Stays in the top N under other weights",
                2,
                4,
            ),
            _m("dist_tx_km", "Distance to a transmission line", 1, 3),
            _m("tx_voltage_kv", "Voltage of that line", 0, 1),
            _m("dist_sub_km", "Distance to a substation", 1, 3),
            _m("headroom_mw", "Interconnection headroom", 0, 1),
            _m("energy_cost_usd_mwh", "Energy cost", 2, 2),
            _m("co2_t_per_mwh", "CO2 intensity of the energy", 3, 4),
            _c(
                "flexible_load",
                "bool",
                "",
                "fit for demand response (rule in gis.scoring.flags)",
                "Flexible load",
            ),
            _c(
                "ai_convertible",
                "bool",
                "",
                "fit for later AI/HPC conversion (rule in gis.scoring.flags)",
                "Could host AI compute instead",
            ),
            _c("excluded", "bool", "", "removed by a hard exclusion rule", "Excluded"),
            _c("exclusion_reason", "str", "", "why, '; '-joined; empty when kept", "Why excluded"),
            _c(
                "confidence",
                "str",
                "",
                "high, medium or low: how well the data supports mineable_mw",
                "Confidence",
            ),
            _c(
                "basis",
                "str",
                "",
                "how mineable_mw was derived, one sentence",
                "How the mineable power was counted",
            ),
            _c(
                "offgrid",
                "bool",
                "",
                "limited by on-site fuel (flare gas, gensets), not by a line",
                "Off-grid (own fuel, no line)",
            ),
            _c(
                "interconnect_group",
                "str",
                "",
                "shared-interconnect group id; empty for off-grid sites",
                "Shared interconnect group",
            ),
            _c(
                "retirement_date",
                "str",
                "",
                "retirement month YYYY-MM (plants); empty if none",
                "Retired",
            ),
            _c(
                "members",
                "int64",
                "",
                "plants, flares or wells merged into the site",
                "Flares in the cluster",
                0,
            ),
            _e(
                "ledger",
                "str",
                "",
                "wasted (energy thrown away today) or bought (energy bought at market price)",
                "Ledger",
            ),
            _e(
                "node",
                "str",
                "",
                "market hub whose hourly prices the site buys at; 'region<-hub' for a proxy",
                "Market node",
            ),
            _e(
                "price_basis",
                "str",
                "",
                "where the site's hourly prices come from: market, proxy, flat or off-grid",
                "Price basis",
            ),
            _e(
                "price_year",
                "Int64",
                "",
                "year of the hourly prices used (the reference year when present)",
                "Price year",
                0,
            ),
            _e(
                "wasted_peak_mw",
                "float64",
                "MW",
                "wasted energy available in the site's best hour",
                "Wasted power, peak",
                None,
                3,
            ),
            _e(
                "wasted_mwh_per_year",
                "float64",
                "MWh/yr",
                "wasted energy a year (reference year, gaps weighted)",
                "Wasted energy",
                None,
                1,
            ),
            _e(
                "wasted_hours_per_year",
                "float64",
                "h/yr",
                "hours a year with wasted energy",
                "Hours with wasted energy",
                None,
                1,
            ),
            _e(
                "wasted_avg_mw",
                "float64",
                "MW",
                "wasted energy as an average over the year",
                "Wasted power, average",
                None,
                3,
            ),
            _e(
                "wasted_price_usd_mwh",
                "float64",
                "USD/MWh",
                "mean node price in the hours with wasted energy",
                "Mean price in the wasted hours",
                None,
                2,
            ),
            _e(
                "node_mean_price_usd_mwh",
                "float64",
                "USD/MWh",
                "mean hourly price at the node",
                "Mean price at the node",
                None,
                2,
            ),
            _e(
                "node_hours_le_surplus",
                "float64",
                "h/yr",
                "hours a year at or below the surplus price at the node",
                "Hours at or below the surplus price at the node",
                None,
                1,
            ),
            _e(
                "node_price_p10_usd_mwh",
                "float64",
                "USD/MWh",
                "10th percentile of the node's hourly prices",
                "Node price, 10th percentile",
                None,
                2,
            ),
            _e(
                "node_price_p50_usd_mwh",
                "float64",
                "USD/MWh",
                "median of the node's hourly prices",
                "Node price, median",
                None,
                2,
            ),
            _e(
                "node_price_p90_usd_mwh",
                "float64",
                "USD/MWh",
                "90th percentile of the node's hourly prices",
                "Node price, 90th percentile",
                None,
                2,
            ),
            _e(
                "balancing_authority",
                "str",
                "",
                "balancing authority (EIA-860 2019); empty if unknown",
                "Balancing authority",
            ),
            _e(
                "capacity_factor_max",
                "float64",
                "1",
                "capacity factor of the plant's best year 2013-2019",
                "Capacity factor of the best year",
            ),
            _e(
                "annual_wasted_mwh",
                "float64",
                "MWh/yr",
                "plant-level curtailment from the user's table; NaN if none",
                "Curtailment from the user's table",
            ),
            _e(
                "no_surplus_reason",
                "str",
                "",
                "why a wasted-energy site has none (no prices, no history ...)",
                "Why no wasted energy",
            ),
        ),
    )
)
"""The registered ``candidate_sites`` schema (as ``gis score`` writes it); ``s_<criterion>``
sub-scores (0..1, CSV 6 decimals, spreadsheet 3) follow these columns."""

SITE_FLEET_COLUMNS: tuple[Column, ...] = (
    _c(
        "in_fleet",
        "bool",
        "",
        "in the national fleet that estimates.json adds up (the scenario's selection rule)",
        "In the national fleet",
    ),
    _c(
        "fleet_mode",
        "str",
        "",
        "how the fleet runs at the site (estimates.json fleet.sites.*.mode)",
        "Fleet mode",
    ),
    _c(
        "fleet_mw",
        "float64",
        "MW",
        "site power of the fleet built at the site (PUE included)",
        "Fleet size",
        None,
        3,
    ),
    _c(
        "fleet_npv_usd",
        "float64",
        "USD",
        "net present value of the site's fleet over the machines' life",
        "Fleet NPV over the machines' life",
        None,
        0,
    ),
    _c(
        "fleet_wasted_mwh_per_year",
        "float64",
        "MWh/yr",
        "wasted energy the site's fleet uses a year",
        "Wasted energy the fleet uses",
        None,
        1,
    ),
    _c(
        "fleet_bought_mwh_per_year",
        "float64",
        "MWh/yr",
        "energy the site's fleet buys a year",
        "Energy the fleet buys",
        None,
        1,
    ),
    _c("hours_mined", "float64", "h/yr", "hours a year the site's fleet mines", "Hours mined", None, 1),
    _c(
        "hours_curtailed",
        "float64",
        "h/yr",
        "hours a year the site's fleet stops because energy costs more than it earns",
        "Hours the fleet stops (price too high)",
        None,
        1,
    ),
    _c(
        "btc_per_year", "float64", "BTC/yr", "bitcoin the site's fleet mines a year", "Bitcoin mined", None, 3
    ),
)
"""Columns the outputs stage joins onto the sites from ``estimates.json`` ``fleet.sites``
(:func:`gis.outputs.inputs.join_fleet`): in sites.gpkg, sites_ranked.csv and .xlsx; a site outside
the fleet has False / '' / 0."""

FLEET_SOURCE_KEYS: dict[str, str] = {
    "in_fleet": "in_fleet",
    "fleet_mode": "mode",
    "fleet_mw": "fleet_mw",
    "fleet_npv_usd": "npv_usd",
    "fleet_wasted_mwh_per_year": "wasted_mwh_per_year",
    "fleet_bought_mwh_per_year": "bought_mwh_per_year",
    "hours_mined": "hours_mined",
    "hours_curtailed": "hours_curtailed",
    "btc_per_year": "btc_per_year",
}
"""Key of ``estimates.json`` ``fleet.sites[site_id]`` each fleet column is copied from."""

SITES_RANKED = register(
    LayerSchema(
        name="sites_ranked",
        description=(
            "The ranked list as the outputs stage writes it (sites_ranked.csv and .xlsx, and the "
            "candidate_sites layer of sites.gpkg): the candidate_sites columns, the s_<criterion> "
            "sub-scores, the fleet columns joined from estimates.json, and lat/lon (CSV and XLSX only)."
        ),
        geometry=("Point",),
        key="site_id",
        extra_prefixes=("s_",),
        columns=(
            *CANDIDATE_SITES.columns,
            *SITE_FLEET_COLUMNS,
            _c("lat", "float64", "deg", "latitude of the site, degrees (EPSG:4326)", "Latitude", 4, 6),
            _c("lon", "float64", "deg", "longitude of the site, degrees (EPSG:4326)", "Longitude", 4, 6),
        ),
    )
)
"""The registered ``sites_ranked`` table: ``candidate_sites`` plus the fleet columns and lat/lon."""

CSV_FLOAT_DIGITS: dict[str, int] = {
    c.name: c.csv_digits for c in SITES_RANKED.columns if c.csv_digits is not None and c.dtype == "float64"
}
"""Decimals kept per float column in sites_ranked.csv (s_ columns: 6); deterministic text. From
the registry (:attr:`gis.schema.Column.csv_digits`)."""

DISPLAY_DIGITS: dict[str, int] = {c.name: c.digits for c in SITES_RANKED.columns if c.digits is not None}
"""Decimals shown per numeric column in sites_ranked.xlsx (the stored value keeps full precision;
s_ sub-scores: 3). From the registry (:attr:`gis.schema.Column.digits`)."""


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
