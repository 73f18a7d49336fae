"""Hourly market arrays for one reference year: prices per hub, grid CO2 intensity per market.

Reads the canonical ``market_prices`` and ``market_mix`` layers (built from EIA's Wholesale
Electricity Market Portal, SOURCES.md §11) into dense (hubs, hours) arrays over the UTC hours of
the reference year (:func:`gis.layers.markets.year_hours`). Missing hours stay NaN: never zero. A hub with no data in the reference year
takes its nearest year's series, hour for hour by (month, day, hour), and says so.

Grid intensity (t CO2/MWh) of a market-hour, where its fuel mix is published::

    intensity_h = sum_f (MW_f,h x factor_f) / total MW_h

an average intensity (the marginal unit's would be higher in most hours); markets without a mix
take a cited regional figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis.layers.markets import FUEL_COLUMNS as MIX_FUEL_COLUMNS
from gis.layers.markets import year_hours

__all__ = ["FUEL_COLUMNS", "hub_prices", "market_intensity", "parse_hours", "year_hours"]

FUEL_COLUMNS = tuple(c for c in MIX_FUEL_COLUMNS if c != "total_mw")
"""The ``market_mix`` generation columns an intensity weighs (all but the total)."""


def parse_hours(values: pd.Series) -> pd.DatetimeIndex:
    """``YYYY-MM-DDTHH:00Z`` strings as a UTC DatetimeIndex (numpy's ISO parser: fast on millions).

    Each distinct label is parsed once (a year of hours repeats over every node).

    >>> list(parse_hours(pd.Series(["2024-01-01T05:00Z", "2024-01-01T05:00Z"])).hour)
    [5, 5]
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    if (codes < 0).any():  # a missing label: parsed value by value, as it always was
        return _parse_each(values)
    return _parse_each(pd.Series(uniques, dtype=object))[codes]


def _parse_each(values: pd.Series) -> pd.DatetimeIndex:
    text = np.asarray(values.astype(str).str.slice(0, 13), dtype="U13")
    return pd.DatetimeIndex(text.astype("datetime64[h]")).tz_localize("UTC")


def _month_day_hour(times: pd.DatetimeIndex) -> np.ndarray:
    """A (month, day, hour) key per time: month x 10,000 + day x 100 + hour."""
    return times.month.to_numpy() * 10_000 + times.day.to_numpy() * 100 + times.hour.to_numpy()


def _series_in_year(times: pd.DatetimeIndex, values: np.ndarray, hours: pd.DatetimeIndex) -> np.ndarray:
    """Values placed on ``hours`` by (month, day, hour); NaN where absent (e.g. 29 February)."""
    series = pd.Series(values, index=_month_day_hour(times))
    series = series[~series.index.duplicated()]
    return series.reindex(_month_day_hour(hours)).to_numpy(dtype="float64", copy=True)


def hub_prices(
    market_prices: pd.DataFrame, hubs: list[str], *, year: int, kind: str
) -> tuple[np.ndarray, list[int]]:
    """(hubs, hours) $/MWh over ``year_hours(year)``, NaN where unknown, and each hub's data year.

    A hub without any hour in ``year`` takes the year closest to it (ties: the later); a hub with
    no data at all gets NaN everywhere and data year 0.
    """
    hours = year_hours(year)
    out = np.full((len(hubs), len(hours)), np.nan)
    years = [0] * len(hubs)
    if market_prices is None or len(market_prices) == 0 or not hubs:
        return out, years
    rows = market_prices.loc[
        (market_prices["kind"] == kind) & market_prices["node"].isin(hubs),
        ["node", "hour_utc", "price_usd_mwh"],
    ]
    times = parse_hours(rows["hour_utc"])
    row_years = times.year.to_numpy()
    values = rows["price_usd_mwh"].to_numpy(dtype="float64")
    unique = list(dict.fromkeys(hubs))
    codes = pd.Categorical(rows["node"], categories=unique).codes  # one pass; no string compare per hub
    rows_of = {unique[c]: np.flatnonzero(codes == c) for c in np.unique(codes[codes >= 0])}
    for i, hub in enumerate(hubs):
        own = rows_of.get(hub)
        if own is None:
            continue
        available = sorted(set(row_years[own].tolist()))
        best = min(available, key=lambda y: (abs(y - year), -y))
        own = own[row_years[own] == best]
        out[i] = _series_in_year(times[own], values[own], hours)
        years[i] = int(best)
    return out, years


def market_intensity(
    market_mix: pd.DataFrame | None,
    market: str,
    *,
    year: int,
    fuel_t_per_mwh: dict[str, float],
    fallback_t_per_mwh: float,
) -> tuple[np.ndarray, str]:
    """Hourly t CO2/MWh of ``market`` over ``year_hours(year)`` and a sentence saying how.

    From the market's own fuel mix (region == market) in ``year`` or its nearest year; hours
    without a mix take the mean of the hours with one. No mix at all: ``fallback_t_per_mwh``.
    """
    hours = year_hours(year)
    if market_mix is None or len(market_mix) == 0:
        return np.full(len(hours), fallback_t_per_mwh), "no fuel mix data: regional average"
    rows = market_mix.loc[market_mix["region"] == market]
    if rows.empty:
        return np.full(len(hours), fallback_t_per_mwh), "no fuel mix for this market: regional average"
    times = parse_hours(rows["hour_utc"])
    available = sorted(set(times.year.tolist()))
    best = min(available, key=lambda y: (abs(y - year), -y))
    chosen = rows.loc[np.asarray(times.year == best)]
    emitted = np.zeros(len(chosen))
    for col in FUEL_COLUMNS:
        factor = fuel_t_per_mwh.get(col.removesuffix("_mw"), 0.0)
        if col in chosen and factor:
            emitted += np.nan_to_num(chosen[col].to_numpy(dtype="float64")) * factor
    total = (
        chosen["total_mw"].to_numpy(dtype="float64") if "total_mw" in chosen else np.full(len(chosen), np.nan)
    )
    if np.all(~np.isfinite(total)):
        total = np.nansum(
            np.column_stack([chosen[c].to_numpy(dtype="float64") for c in FUEL_COLUMNS if c in chosen]),
            axis=1,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = np.where(total > 0, emitted / total, np.nan)
    placed = _series_in_year(pd.DatetimeIndex(times[np.asarray(times.year == best)]), intensity, hours)
    known = np.isfinite(placed)
    if not known.any():
        return np.full(len(hours), fallback_t_per_mwh), "fuel mix unusable: regional average"
    placed[~known] = float(np.mean(placed[known]))
    how = f"hourly from the {market} fuel mix {best}" + (
        f" (reference year {year} absent)" if best != year else ""
    )
    return placed, how
