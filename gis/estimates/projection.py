"""The network's growth fitted to its history, to show beside the scenario's growth rate.

The year-by-year projection itself (subsidy by block height, network growth, BTC price path,
the fleet's BTC and cash flow) is part of :mod:`gis.estimates.fleet`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["network_growth_fit"]


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
