"""The energy stage: which energy is really spare at each candidate site, in which hours, at what price.

Modules::

    config     the [energy] scenario tables (reference year, market nodes, per-category model)
    nodes      market node of each site (balancing authority, state, location; proxies named)
    markets    hourly price and grid-intensity arrays for the reference year
    solar      daylight weights (pvlib solar position), where curtailed solar can happen
    build      surplus_profiles: the hourly wasted energy and buy prices of every site
    profiles   SurplusProfiles, the contract with the fleet economics
    summary    surplus by category beside published figures
"""

from gis.config.energy import EnergyConfig
from gis.energy.build import SUMMARY_COLUMNS, WASTED_CATEGORIES, describe_surplus, surplus_profiles
from gis.energy.markets import hub_prices, market_intensity, year_hours
from gis.energy.nodes import assign_nodes, hub_of
from gis.energy.profiles import PROFILE_SITE_COLUMNS, SurplusProfiles
from gis.energy.solar import daylight_weights
from gis.energy.summary import published_comparison, surplus_by_category

__all__ = [
    "PROFILE_SITE_COLUMNS",
    "SUMMARY_COLUMNS",
    "WASTED_CATEGORIES",
    "EnergyConfig",
    "SurplusProfiles",
    "assign_nodes",
    "daylight_weights",
    "describe_surplus",
    "hub_of",
    "hub_prices",
    "market_intensity",
    "published_comparison",
    "surplus_by_category",
    "surplus_profiles",
    "year_hours",
]
