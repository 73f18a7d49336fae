"""Money: revenue, energy cost, capex and payback (US dollars; power in MW, energy in MWh)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "HOURS_PER_YEAR",
    "asic_capex_usd",
    "energy_cost_usd_per_year",
    "energy_mwh_per_year",
    "payback_years",
    "site_capex_usd",
]

HOURS_PER_YEAR = 8_760
"""Hours in the 365-day year that blocks-per-year (52,560) also assumes."""


def energy_mwh_per_year(site_mw: ArrayLike, *, uptime: ArrayLike) -> np.ndarray:
    """MWh a year drawn by ``site_mw`` MW of site power running ``uptime`` (0..1) of the year."""
    return np.asarray(site_mw, dtype=float) * HOURS_PER_YEAR * np.asarray(uptime, dtype=float)


def energy_cost_usd_per_year(site_mw: ArrayLike, cost_usd_mwh: ArrayLike, *, uptime: ArrayLike) -> np.ndarray:
    """USD a year for the energy of ``site_mw`` MW at ``cost_usd_mwh`` USD/MWh."""
    return energy_mwh_per_year(site_mw, uptime=uptime) * np.asarray(cost_usd_mwh, dtype=float)


def asic_capex_usd(hashrate_ths: ArrayLike, usd_per_th: ArrayLike) -> np.ndarray:
    """USD to buy machines for ``hashrate_ths`` TH/s at ``usd_per_th`` USD per TH/s."""
    return np.asarray(hashrate_ths, dtype=float) * np.asarray(usd_per_th, dtype=float)


def site_capex_usd(site_mw: ArrayLike, usd_per_mw: ArrayLike) -> np.ndarray:
    """USD to build halls, transformers and cooling for ``site_mw`` MW at ``usd_per_mw`` USD/MW."""
    return np.asarray(site_mw, dtype=float) * np.asarray(usd_per_mw, dtype=float)


def payback_years(capex_usd: float, revenue_usd_per_year: float, cost_usd_per_year: float) -> float | None:
    """Years to earn back ``capex_usd`` from the yearly margin; None when the margin is not positive."""
    margin = float(revenue_usd_per_year) - float(cost_usd_per_year)
    if not margin > 0 or not math.isfinite(margin):
        return None
    return float(capex_usd) / margin
