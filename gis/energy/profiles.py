"""Hourly energy available to each candidate site in a reference year: the contract between the
energy stage (which builds it from market data) and the fleet economics (which dispatches on it).

Two kinds of energy reach a site, kept in two ledgers:

- ``wasted``: energy thrown away today (flared gas, curtailed wind and solar, hydro spill and
  nuclear output in hours whose market price is at or below zero). In hour ``h`` a site has
  ``wasted_mw x shapes[shape, h]`` MW of it, at ``wasted_cost_usd_mwh``.
- ``bought``: grid energy bought at the site's market node, ``price[node, h]`` $/MWh, up to the
  fleet's size, where ``can_buy`` is true (retired coal and military sites buy everything;
  other grid sites only with the scenario's grid top-up).

Hours are the UTC hour beginnings of one calendar year. Market data has gaps (missing hours are
missing, never zero, SOURCES.md §11): for a site with a node, only hours where that node's price
is known count, and each counts ``hour_weight[node]`` (= hours in the year / known hours), so sums
are full-year figures. A site without a node (off-grid flare gas) counts every hour once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PROFILE_SITE_COLUMNS", "SurplusProfiles"]

PROFILE_SITE_COLUMNS: dict[str, str] = {
    "site_id": "str",
    "category": "str",
    "ledger": "str",
    "node": "int64",
    "shape": "int64",
    "wasted_mw": "float64",
    "wasted_cost_usd_mwh": "float64",
    "wasted_co2_t_per_mwh": "float64",
    "avoided_co2_t_per_mwh": "float64",
    "max_mw": "float64",
    "can_buy": "bool",
    "spur_km": "float64",
}
"""Per-site columns of :attr:`SurplusProfiles.sites` (one row per candidate site, same order):

- ``ledger``: "wasted" (the site exists because energy is thrown away there) or "bought"
  (the site's energy is bought: retired coal interconnections, military gensets);
- ``node``: row of ``price`` / ``intensity`` / ``hour_weight`` (-1: no buy price, cannot buy);
- ``shape``: row of ``shapes`` (-1: no wasted energy);
- ``wasted_mw``: MW of wasted energy when the shape is 1;
- ``wasted_cost_usd_mwh``: what using the wasted energy costs (genset O&M, diesel, a floor);
- ``wasted_co2_t_per_mwh``: t CO2e per MWh of wasted energy used (0 for curtailed clean energy;
  a genset's exhaust for flare gas); ``avoided_co2_t_per_mwh``: t CO2e per MWh avoided by using it
  (the flare it replaces: methane not released);
- ``max_mw``: the largest fleet (site MW, PUE included) the site can host (grid headroom,
  interconnection, genset size);
- ``can_buy``: the fleet may draw grid energy at ``price[node]``;
- ``spur_km``: km of new line a buying fleet must build (0 behind the meter or already connected).
"""


@dataclass(frozen=True)
class SurplusProfiles:
    """Hourly wasted energy and buy prices for a set of candidate sites (one reference year).

    Attributes
    ----------
    year
        the reference calendar year.
    hours
        UTC hour beginnings of ``year`` (8,760 or 8,784), tz-aware.
    node_ids
        market node of each row of ``price`` (e.g. "ERCOT:HB_WEST"); a proxy node reads
        "TVA<-MISO:MISSISSIPPI" (a named neighbour's prices, low confidence).
    price
        (nodes, hours) $/MWh a site at that node pays for grid energy; NaN where unknown.
    hour_weight
        (nodes,) weight of each known hour: hours in the year / known hours.
    intensity
        (nodes, hours) t CO2 per MWh of grid energy at that node and hour (hourly where the
        market's fuel mix is published, else a cited regional average, constant).
    shape_ids
        what each row of ``shapes`` is, e.g. "nuclear:ERCOT:HB_HOUSTON" or "flare:constant".
    shapes
        (shapes, hours) share 0..1 of a site's ``wasted_mw`` available in each hour.
    sites
        one row per site, columns :data:`PROFILE_SITE_COLUMNS`.
    """

    year: int
    hours: pd.DatetimeIndex
    node_ids: list[str]
    price: np.ndarray
    hour_weight: np.ndarray
    intensity: np.ndarray
    shape_ids: list[str]
    shapes: np.ndarray
    sites: pd.DataFrame

    def __post_init__(self) -> None:
        n, t = len(self.node_ids), len(self.hours)
        if self.price.shape != (n, t) or self.intensity.shape != (n, t) or self.hour_weight.shape != (n,):
            raise ValueError("price / intensity / hour_weight do not match node_ids x hours")
        if self.shapes.shape != (len(self.shape_ids), t):
            raise ValueError("shapes do not match shape_ids x hours")
        missing = [c for c in PROFILE_SITE_COLUMNS if c not in self.sites.columns]
        if missing:
            raise ValueError(f"profile sites lack columns {missing}")
