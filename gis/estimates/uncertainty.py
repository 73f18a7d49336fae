"""Bands and sensitivity: a seeded Monte Carlo over the uncertain inputs, vectorised over draws.

The fleet is summarised per category (MW, energy cost and CO2 at full uptime); every draw scales
those sums, so a national figure for thousands of draws is a few array operations. The same
function with every input at its base value gives the national figures, which keeps bands,
sensitivity and the roll-up on one formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gis.estimates import bitcoin
from gis.estimates.config import UNCERTAIN_INPUTS, EstimatesConfig, Range
from gis.schema import CATEGORIES

__all__ = [
    "BAND_METRICS",
    "FLEET_ONLY_INPUTS",
    "FleetSummary",
    "bands",
    "draw_inputs",
    "fleet_totals",
    "sensitivity",
    "summarise",
]

FLEET_ONLY_INPUTS = frozenset({"capex_scale", "network_growth_per_year", "btc_price_growth_per_year"})
"""Inputs only the fleet economics (gis.estimates.fleet) uses; this flat-fleet model ignores them."""

BAND_METRICS = (
    "mineable_gw",
    "hashrate_ehs",
    "btc_per_year",
    "share_of_network",
    "revenue_usd_per_year",
    "energy_cost_usd_per_year",
    "co2_mt_per_year",
)
"""Metrics given with P10 / P50 / P90."""


@dataclass(frozen=True)
class FleetSummary:
    """Per-category sums of the selected sites, in :data:`gis.schema.CATEGORIES` order:
    site MW, energy cost (USD a year) and net CO2e (t a year), both at uptime 1."""

    mw: np.ndarray
    energy_cost_usd_full: np.ndarray
    co2_net_t_full: np.ndarray


def summarise(figures: pd.DataFrame, *, uptime: float) -> FleetSummary:
    """Sum per-site figures (see :func:`gis.estimates.rollup.site_figures`) by category."""
    g = figures.groupby("category")[["mineable_mw", "energy_cost_usd_per_year", "co2_net_t_per_year"]].sum()
    g = g.reindex(list(CATEGORIES), fill_value=0.0)
    return FleetSummary(
        mw=g["mineable_mw"].to_numpy(dtype=float),
        energy_cost_usd_full=g["energy_cost_usd_per_year"].to_numpy(dtype=float) / uptime,
        co2_net_t_full=g["co2_net_t_per_year"].to_numpy(dtype=float) / uptime,
    )


def base_inputs(config: EstimatesConfig) -> dict[str, np.ndarray]:
    """Every uncertain input at its base value, as arrays of one draw."""
    return {
        "capacity_scale": np.ones((1, len(CATEGORIES))),
        "efficiency_scale": np.ones(1),
        "pue": np.full(1, config.pue),
        "uptime": np.full(1, config.uptime),
        "network_ehs_scale": np.ones(1),
        "btc_price_usd": np.full(1, config.market.btc_price_usd),
        "fees_btc_per_block": np.full(1, config.network.fees_btc_per_block),
        "energy_cost_scale": np.ones(1),
        "capex_scale": np.ones(1),
        "network_growth_per_year": np.full(1, config.fleet.network_growth_per_year),
        "btc_price_growth_per_year": np.full(1, config.fleet.btc_price_growth_per_year),
    }


def _draw(rng: np.random.Generator, r: Range, size: tuple[int, ...]) -> np.ndarray:
    if r.high == r.low:
        return np.full(size, r.low)
    if r.dist == "uniform":
        return rng.uniform(r.low, r.high, size)
    return rng.triangular(r.low, r.mode, r.high, size)


def draw_inputs(config: EstimatesConfig) -> dict[str, np.ndarray]:
    """Seeded draws of every uncertain input (inputs without a range stay at their base value).

    Inputs are drawn in a fixed order, ``capacity_scale`` once per category of
    :data:`gis.schema.CATEGORIES` whether or not it is selected, so the same seed gives the same
    draws for any set of sites.
    """
    u = config.uncertainty
    rng = np.random.default_rng(u.seed)
    base = base_inputs(config)
    out: dict[str, np.ndarray] = {}
    for name in sorted(UNCERTAIN_INPUTS):
        r = u.ranges.get(name)
        if r is not None:
            r = r.scaled(float(base[name].flat[0]))
        size = (u.draws, len(CATEGORIES)) if name == "capacity_scale" else (u.draws,)
        out[name] = _draw(rng, r, size) if r is not None else np.broadcast_to(base[name], size).copy()
    return out


def fleet_totals(
    summary: FleetSummary,
    inputs: dict[str, np.ndarray],
    *,
    efficiency_j_th: float,
    network_ehs: float,
    subsidy_btc: float,
    blocks_per_year: float,
) -> dict[str, np.ndarray]:
    """National figures for each draw of ``inputs`` (arrays over draws; ``capacity_scale`` is
    draws x categories): mineable_gw, hashrate_ehs (IT W / J/TH), btc_per_year (with the
    H / (H_net + H) dilution), share_of_network, revenue and energy cost (USD/yr), co2_mt_per_year."""
    scale = inputs["capacity_scale"]
    mw = scale @ summary.mw
    ehs = (
        bitcoin.hashrate_ths(
            bitcoin.it_power_w(mw * 1e6, inputs["pue"]), efficiency_j_th * inputs["efficiency_scale"]
        )
        / 1e6
    )
    net = network_ehs * inputs["network_ehs_scale"]
    btc = bitcoin.expected_btc_per_year(
        ehs,
        net,
        subsidy_btc=subsidy_btc,
        fees_btc_per_block=inputs["fees_btc_per_block"],
        uptime=inputs["uptime"],
        blocks_per_year=blocks_per_year,
    )
    return {
        "mineable_gw": mw / 1e3,
        "hashrate_ehs": ehs,
        "btc_per_year": btc,
        "share_of_network": bitcoin.share_of_network(ehs * inputs["uptime"], net),
        "revenue_usd_per_year": btc * inputs["btc_price_usd"],
        "energy_cost_usd_per_year": (scale @ summary.energy_cost_usd_full)
        * inputs["uptime"]
        * inputs["energy_cost_scale"],
        "co2_mt_per_year": (scale @ summary.co2_net_t_full) * inputs["uptime"] / 1e6,
    }


def bands(totals: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """P10 / P50 / P90 (linear interpolation) of each of :data:`BAND_METRICS`."""
    out = {}
    for name in BAND_METRICS:
        p10, p50, p90 = np.percentile(totals[name], [10, 50, 90])
        out[name] = {"p10": float(p10), "p50": float(p50), "p90": float(p90)}
    return out


def sensitivity(
    summary: FleetSummary,
    config: EstimatesConfig,
    *,
    efficiency_j_th: float,
    network_ehs: float,
    subsidy_btc: float,
) -> list[dict]:
    """One-at-a-time swings: each ranged input at its low and high, the others at base; BTC a year
    and the yearly margin (revenue - energy cost, USD) at each end. Sorted by the swing in BTC a
    year, largest first (the tornado chart's rows), then by the margin swing (price and energy
    cost move dollars, not bitcoin)."""
    rows = []
    for name in sorted(config.uncertainty.ranges):
        if name in FLEET_ONLY_INPUTS:
            continue
        r = config.uncertainty.ranges[name].scaled(float(base_inputs(config)[name].flat[0]))
        btc, margin = {}, {}
        for end, value in (("low", r.low), ("high", r.high)):
            x = base_inputs(config)
            x[name] = np.full_like(x[name], value)
            totals = fleet_totals(
                summary,
                x,
                efficiency_j_th=efficiency_j_th,
                network_ehs=network_ehs,
                subsidy_btc=subsidy_btc,
                blocks_per_year=config.network.blocks_per_year,
            )
            btc[end] = float(totals["btc_per_year"][0])
            margin[end] = float(totals["revenue_usd_per_year"][0] - totals["energy_cost_usd_per_year"][0])
        rows.append(
            {
                "input": name,
                "meaning": UNCERTAIN_INPUTS[name],
                "low": r.low,
                "high": r.high,
                "btc_at_low": btc["low"],
                "btc_at_high": btc["high"],
                "swing_btc": abs(btc["high"] - btc["low"]),
                "margin_usd_at_low": margin["low"],
                "margin_usd_at_high": margin["high"],
                "swing_margin_usd": abs(margin["high"] - margin["low"]),
            }
        )
    rows.sort(key=lambda row: (-row["swing_btc"], -row["swing_margin_usd"], row["input"]))
    return rows
