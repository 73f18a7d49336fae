"""Surplus by category, next to published figures for the same quantities.

Reads the energy stage's columns of ``candidate_sites`` (``wasted_*``, ``node``) and the
scenario's ``[[energy.published]]`` table; says where the tool and the reference differ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis.config.energy import EnergyConfig
from gis.config.vocabulary import CATEGORIES

__all__ = ["published_comparison", "surplus_by_category"]


def surplus_by_category(sites: pd.DataFrame) -> list[dict]:
    """Per category: sites, sites with wasted energy, peak and average GW, TWh a year and the
    energy-weighted hours a year (all candidate sites, before selection)."""
    rows = []
    for category in CATEGORIES:
        part = sites.loc[sites["category"] == category]
        mwh = part["wasted_mwh_per_year"].fillna(0.0).to_numpy(dtype="float64")
        hours = part["wasted_hours_per_year"].fillna(0.0).to_numpy(dtype="float64")
        rows.append(
            {
                "category": category,
                "ledger": str(part["ledger"].iloc[0]) if len(part) else "",
                "sites": len(part),
                "sites_with_surplus": int((mwh > 0).sum()),
                "peak_gw": float(part["wasted_peak_mw"].fillna(0.0).sum()) / 1e3,
                "avg_gw": float(part["wasted_avg_mw"].fillna(0.0).sum()) / 1e3,
                "twh_per_year": float(mwh.sum()) / 1e6,
                "hours_per_year": float((hours * mwh).sum() / mwh.sum()) if mwh.sum() > 0 else 0.0,
                "no_surplus": _reasons(part),
            }
        )
    return rows


def _reasons(part: pd.DataFrame) -> dict[str, int]:
    if "no_surplus_reason" not in part:
        return {}
    reasons = part["no_surplus_reason"].fillna("").astype(str)
    return {str(k): int(v) for k, v in reasons[reasons != ""].value_counts().sort_index().items()}


def published_comparison(sites: pd.DataFrame, config: EnergyConfig) -> list[dict]:
    """Each ``[[energy.published]]`` figure beside the tool's value for the same quantity and scope."""
    out = []
    # the node's market and its first hop, split once per distinct node (a few hundred for 10^4 sites)
    codes, nodes = pd.factorize(sites["node"].fillna("").astype(str).to_numpy(), use_na_sentinel=False)
    hops = pd.Series(nodes, dtype=object).str.split("<-")
    market, first = hops.str[-1].str.split(":").str[0], hops.str[0]
    for fig in config.published:
        part = sites["category"].isin(fig.categories)
        if fig.scope:
            markets = fig.scope.split("|")
            part &= (market.isin(markets) | first.str.startswith(fig.scope)).to_numpy(dtype=bool)[codes]
        mwh = sites.loc[part, "wasted_mwh_per_year"].fillna(0.0)
        if fig.quantity == "twh_per_year":
            tool = float(mwh.sum()) / 1e6
        elif fig.quantity == "avg_gw":
            tool = float(sites.loc[part, "wasted_avg_mw"].fillna(0.0).sum()) / 1e3
        else:
            peaks = sites.loc[part & (sites["wasted_mwh_per_year"] > 0), "wasted_peak_mw"]
            tool = float(np.median(peaks)) if len(peaks) else 0.0
        out.append(
            {
                "label": fig.label,
                "quantity": fig.quantity,
                "tool": tool,
                "published": fig.value,
                "published_low": fig.low,
                "published_high": fig.high,
                "ratio": tool / fig.value if fig.value else None,
                "source": fig.source,
            }
        )
    return out
