"""Multi-year projection: the fleet's BTC year by year, stepping down at each halving.

Block heights by date come from a known (height, date) pair and the scenario's blocks a year;
the BTC a calendar year issues is the exact subsidy sum over its blocks plus mean fees, so a
year with a halving in it gets the part-year split. The network grows by a fixed rate a year
(0 keeps it flat); the fleet's own hashrate stays constant.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import ArrayLike

from gis.estimates import bitcoin

__all__ = ["network_growth_fit", "project"]


def project(
    *,
    hashrate_ehs: float,
    network_ehs: float,
    uptime: float,
    fees_btc_per_block: float,
    start_year: int,
    years: int,
    growth_per_year: float,
    base_year: int,
    anchor_height: int,
    anchor_date: dt.date,
    blocks_per_year: float,
) -> list[dict]:
    """One row per calendar year: year, height_start, blocks, block_subsidy_btc (at 1 January),
    halvings_in_year, network_ehs (network without the fleet, EH/s, grown from ``base_year``),
    issuance_btc (whole network: subsidy + fees), share_of_network (u.H / (N + u.H)), btc (the fleet's
    expected BTC)."""
    year = np.arange(start_year, start_year + years)
    heights = np.array(
        [
            bitcoin.height_at(
                dt.date(int(y), 1, 1),
                anchor_height=anchor_height,
                anchor_date=anchor_date,
                blocks_per_year=blocks_per_year,
            )
            for y in range(start_year, start_year + years + 1)
        ],
        dtype=np.int64,
    )
    if heights[0] < 0:
        raise ValueError("the projection starts before block 0; move start_year or the anchor")
    h0, h1 = heights[:-1], heights[1:]
    blocks = h1 - h0
    issuance = bitcoin.mined_supply_btc(h1) - bitcoin.mined_supply_btc(h0) + blocks * fees_btc_per_block
    network = network_ehs * (1.0 + growth_per_year) ** (year - base_year)
    share = bitcoin.share_of_network(uptime * hashrate_ehs, network)
    btc = issuance * share
    halvings = h1 // bitcoin.HALVING_INTERVAL_BLOCKS - h0 // bitcoin.HALVING_INTERVAL_BLOCKS
    subsidy = bitcoin.block_subsidy_btc(h0)
    return [
        {
            "year": int(year[i]),
            "height_start": int(h0[i]),
            "blocks": int(blocks[i]),
            "block_subsidy_btc": float(subsidy[i]),
            "halvings_in_year": int(halvings[i]),
            "network_ehs": float(network[i]),
            "issuance_btc": float(issuance[i]),
            "share_of_network": float(share[i]),
            "btc": float(btc[i]),
        }
        for i in range(years)
    ]


def network_growth_fit(dates: ArrayLike, hashrate_ehs: ArrayLike, *, years: float | None = None) -> dict:
    """Yearly network hashrate growth fitted to a history (e.g. the ``btc_network`` layer), to show
    beside the scenario's growth rate: least squares of ln(hashrate) on time, growth = e^slope - 1.

    Parameters
    ----------
    dates
        observation dates (anything ``numpy.datetime64`` accepts).
    hashrate_ehs
        network hashrate at those dates, EH/s (rows not > 0 are left out and counted).
    years
        fit only the last ``years`` years of the history (None: all of it).

    Returns
    -------
    dict with growth_per_year, first and last date used, points used and points left out.
    """
    t = np.asarray(dates, dtype="datetime64[D]").astype("int64").astype(float)
    h = np.asarray(hashrate_ehs, dtype=float)
    ok = np.isfinite(t) & np.isfinite(h) & (h > 0)
    if years is not None and ok.any():
        ok &= t >= t[ok].max() - years * 365.25
    if ok.sum() < 2:
        raise ValueError("need at least two dated hashrate values > 0 to fit a growth rate")
    slope = np.polyfit(t[ok] / 365.25, np.log(h[ok]), 1)[0]
    used = np.asarray(dates, dtype="datetime64[D]")[ok]
    return {
        "growth_per_year": float(np.exp(slope) - 1.0),
        "first": str(used.min()),
        "last": str(used.max()),
        "points": int(ok.sum()),
        "left_out": int((~ok).sum()),
    }
