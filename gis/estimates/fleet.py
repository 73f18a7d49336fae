"""Fleet economics over the machines' life: hourly dispatch, a fleet sized per site on NPV, one
dilution for the whole fleet, honest bands.

Works on the energy stage's contract :class:`gis.energy.profiles.SurplusProfiles` (one reference
year of hourly wasted energy and buy prices per site). Money in US dollars, power in MW of site
power (PUE included), energy in MWh of site energy, hashrate in EH/s (1e18 H/s).

Revenue per MWh
---------------
In year ``y`` of the machines' life the network issues ``I_y`` BTC (subsidy by block height, with
the 2028 and 2032 halvings, plus mean fees), BTC trades at ``p_y`` and the network without the fleet
runs ``N_y`` EH/s. With the fleet's average hashrate ``X_y`` (EH/s, its hours mined included) the
hashprice and the revenue per MWh of site energy are::

    hashprice_y = I_y / 365 x p_y / ((N_y + X_y) x 1e6)            USD per TH/s per day
    R_y         = hashprice_y / (J/TH x 2.4e-5 MWh) / PUE           USD per MWh of site energy

(1 TH/s for a day at ``e`` J/TH uses ``e x 86,400 J = e x 2.4e-5 MWh``.) S21 at 17.5 J/TH, PUE 1.1,
hashprice $37.2/PH/day: R = 0.0372 / (17.5 x 2.4e-5) / 1.1 = $80.5/MWh. A fleet using ``E`` MWh a
year has an average hashrate ``E / (8,760 x PUE x J/TH)`` EH/s and earns ``I_y x x_i / (N_y + X_y)``
BTC: every machine's reward is diluted by the whole fleet (one dilution, shared pro rata), and the
fleet's share of the network is ``X / (N + X)`` with its hours mined inside ``X``.

Dispatch
--------
In hour ``h`` a site with a fleet of ``C`` MW uses ``min(C, wasted_mw x shape_h)`` MW of wasted energy
when its cost is below ``R_y``; where it can buy, it tops the rest up with grid energy at
``price_h`` when ``price_h < R_y``; otherwise it stands idle (curtails: the flexible load the policy
debate counts, given back to the grid in the hours it would have bought). Hours count as the
contract says: at a node, only hours with a known price, each ``hour_weight``; without a node,
every hour once. Wasted energy goes first whenever it pays, even in an hour when the grid is
cheaper than the site's own wasted energy (a simplification; wasted costs are low). Machines
that stand idle in an hour are counted as curtailed only where the fleet buys (``mwh_curtailed``:
the MW of a buying fleet left idle because the price is at or above the revenue per MWh).

Fleet size
----------
The ``k``-th MW of a site runs only in hours where the wasted MW exceeds ``k`` (or buying pays),
so more machines use fewer hours each. Sizes lie on a grid ``wasted_mw x j / levels`` (plus the
site's ``max_mw`` and, for a buying site, everything up to ``max_mw``); the value of each slab of
the grid is exact: its wasted MWh are ``sum_h w_h clip(s_h - e_j, 0, de)`` and its bought value
``F(R) = sum_h w_h b_hj max(R - price_h, 0)``, tabulated once per (shape, node) pair on a revenue
grid (exact at grid points, linear between) from price histograms, so an evaluation costs
O(1) and sites sharing a shape and node share the tables. NPV of a size ``C``::

    NPV = -C x (ASIC $/TH x TH/MW + site $/MW) - spur_km x $/km [if it buys]
          + sum_{t=1..L} margin_t / (1 + r)^t

(end-of-year cash flows, no salvage value). Each site takes the size that maximises its NPV
given the hashprice.

One dilution
------------
The national fleet and the hashprice are solved together: the fleet wanted at a hashprice
shrinks as the fleet's own hashrate ``X`` grows, so a bracket on ``X`` (bisection, with a
false-position step every other step) closes on the hashrate at which the sites that pay build
exactly ``X``. Sites alike (same shape, node and cost) switch together, so at the solution the
marginal sites enter in part: the best-ranked of them (rank, then row order: stable, never float
noise) until the fleet's hashrate is the one it was priced at. Every machine's reward is diluted
by the whole fleet, shared pro rata.

CO2 by consequence: wasted energy counts ``wasted_co2 - avoided_co2`` per MWh (a flare's methane
destroyed is a reduction); bought energy the node's hourly grid intensity in the hours bought.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from gis.config.asics import asic_model
from gis.config.estimates import UNCERTAIN_INPUTS, EstimatesConfig
from gis.config.vocabulary import CATEGORIES
from gis.energy.profiles import SurplusProfiles
from gis.errors import GisError
from gis.estimates import bitcoin

__all__ = [
    "HOURS_PER_YEAR",
    "MWH_PER_TH_DAY_PER_J_TH",
    "FleetResult",
    "Schedule",
    "Tables",
    "bench_fleet",
    "build_tables",
    "evaluate_points",
    "fleet_economics",
    "fleet_tables",
    "hashprice_usd_per_th_day",
    "irr",
    "monte_carlo",
    "payback_years",
    "revenue_usd_per_mwh",
    "schedule",
    "synthetic_profiles",
    "years_to_btc",
]

HOURS_PER_YEAR = 8_760.0
"""Hours of the 365-day year that blocks a year (52,560) also assumes."""
MWH_PER_TH_DAY_PER_J_TH = 86_400 / 3.6e9
"""MWh one TH/s uses in a day per J/TH of efficiency: 86,400 s / 3.6e9 J per MWh = 2.4e-5."""


# ----------------------------------------------------------------------------------------- money


def hashprice_usd_per_th_day(issuance_btc_per_year, btc_price_usd, network_ehs, fleet_ehs=0.0):
    """USD per TH/s per day: issuance / 365 x price / ((network + fleet EH/s) x 1e6 TH/s per EH/s)."""
    return (
        np.asarray(issuance_btc_per_year, dtype=float)
        / 365.0
        * np.asarray(btc_price_usd, dtype=float)
        / ((np.asarray(network_ehs, dtype=float) + np.asarray(fleet_ehs, dtype=float)) * 1e6)
    )


def revenue_usd_per_mwh(hashprice_usd_th_day, efficiency_j_th, pue):
    """USD per MWh of site energy: hashprice / (J/TH x 2.4e-5 MWh) / PUE."""
    return (
        np.asarray(hashprice_usd_th_day, dtype=float)
        / (np.asarray(efficiency_j_th, dtype=float) * MWH_PER_TH_DAY_PER_J_TH)
        / np.asarray(pue, dtype=float)
    )


def irr(cash_flows: np.ndarray) -> float | None:
    """Internal rate of return (1/yr) of yearly cash flows (index 0 = now), by bisection on
    -0.99..10; None when the NPV does not change sign in that interval."""
    cf = np.asarray(cash_flows, dtype=float)
    t = np.arange(len(cf))

    def npv(r: float) -> float:
        return float(np.sum(cf / (1.0 + r) ** t))

    lo, hi = -0.99, 10.0
    f_lo, f_hi = npv(lo), npv(hi)
    if not (np.isfinite(f_lo) and np.isfinite(f_hi)) or f_lo * f_hi > 0:
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        f_mid = npv(mid)
        if f_lo * f_mid <= 0:
            hi = mid
        else:
            lo, f_lo = mid, f_mid
    return 0.5 * (lo + hi)


def payback_years(cash_flows: np.ndarray) -> float | None:
    """Years until the cumulative cash flow (index 0 = capex now, then one margin a year) turns
    non-negative, linear within the year; None: not within the machines' life."""
    cum = np.cumsum(np.asarray(cash_flows, dtype=float))
    if cum[0] >= 0:
        return 0.0
    for t in range(1, len(cum)):
        if cum[t] >= 0:
            step = cum[t] - cum[t - 1]
            return float(t - 1 + (-cum[t - 1]) / step)
    return None


def years_to_btc(btc_by_year: npt.ArrayLike, target_btc: float) -> float | None:
    """Years (fractional) a fleet mining ``btc_by_year`` needs to add ``target_btc``; beyond the
    rows given, the last year's rate continues. None when it never gets there."""
    b = np.asarray(btc_by_year, dtype=float)
    cum = np.cumsum(b)
    hit = np.nonzero(cum >= target_btc)[0]
    if len(hit):
        t = int(hit[0])
        before = cum[t - 1] if t else 0.0
        return float(t + (target_btc - before) / b[t])
    if len(b) == 0 or not b[-1] > 0:
        return None
    return float(len(b) + (target_btc - cum[-1]) / b[-1])


# -------------------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class Schedule:
    """The years of the machines' life: calendar ``years``, ``blocks`` a year, ``subsidy_btc``
    (exact subsidy sum over the year's blocks), ``block_subsidy_btc`` on 1 January, ``halvings``
    in the year and the discount factor ``discount`` (end of year t+1)."""

    years: np.ndarray
    blocks: np.ndarray
    subsidy_btc: np.ndarray
    block_subsidy_btc: np.ndarray
    halvings: np.ndarray
    discount: np.ndarray

    def issuance(self, fees_btc_per_block: np.ndarray) -> np.ndarray:
        """(draws, years) BTC the network issues a year: subsidy + blocks x fees."""
        fees = np.asarray(fees_btc_per_block, dtype=float).reshape(-1, 1)
        return self.subsidy_btc[None, :] + self.blocks[None, :] * fees


def schedule(config: EstimatesConfig) -> Schedule:
    """Block heights on 1 January of each year of the machines' life (from the scenario's anchor
    block and block rate), their subsidy and discount factors."""
    n = config.network
    start = config.projection.start_year
    life = config.fleet.asic_life_years
    heights = np.array(
        [
            bitcoin.height_at(
                dt.date(y, 1, 1),
                anchor_height=n.anchor_height,
                anchor_date=n.anchor_date,
                blocks_per_year=n.blocks_per_year,
            )
            for y in range(start, start + life + 1)
        ],
        dtype=np.int64,
    )
    if heights[0] < 0:
        raise GisError(
            "the machines' life starts before block 0",
            field="estimates.projection.start_year",
            fix="start at or after 2009",
        )
    h0, h1 = heights[:-1], heights[1:]
    return Schedule(
        years=np.arange(start, start + life),
        blocks=(h1 - h0).astype(float),
        subsidy_btc=bitcoin.mined_supply_btc(h1) - bitcoin.mined_supply_btc(h0),
        block_subsidy_btc=bitcoin.block_subsidy_btc(h0),
        halvings=h1 // bitcoin.HALVING_INTERVAL_BLOCKS - h0 // bitcoin.HALVING_INTERVAL_BLOCKS,
        discount=(1.0 + config.fleet.discount_rate) ** -np.arange(1.0, life + 1.0),
    )


# ---------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Tables:
    """Per (shape, node) pair and fleet-size slab, the energy a site can use, tabulated once.

    ``levels`` slabs of width ``1 / levels`` of a site's ``wasted_mw``; ``grid`` the revenue grid
    ($/MWh). Per pair ``p`` and slab ``j`` (per unit of wasted MW, a full year):
    ``E[p, j]`` wasted MWh; ``W[p, j, k]`` / ``PW[p, j, k]`` / ``IW[p, j, k]`` MWh, cost (USD) and
    t CO2 of the grid energy the slab buys in hours with price < grid[k]; ``B[p, j]`` MWh it
    could buy at any price. Per node ``n`` and MW: ``Wn`` / ``PWn`` / ``IWn`` likewise for a MW
    that buys in every hour, ``hours_n`` the hours counted. Per pair: ``hours_wasted`` (hours
    with wasted energy), ``Z[p, k]`` hours without wasted energy and price < grid[k],
    ``hours[p]`` the hours counted.
    """

    levels: int
    grid: np.ndarray
    pair_shape: np.ndarray
    pair_node: np.ndarray
    E: np.ndarray
    W: np.ndarray
    PW: np.ndarray
    IW: np.ndarray
    B: np.ndarray
    Z: np.ndarray
    hours_wasted: np.ndarray
    hours: np.ndarray
    Wn: np.ndarray
    PWn: np.ndarray
    IWn: np.ndarray
    hours_n: np.ndarray

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.levels + 1)


def build_tables(
    profiles: SurplusProfiles,
    *,
    levels: int,
    price_step: float,
    price_max: float,
    buys: np.ndarray | None = None,
) -> tuple[Tables, np.ndarray]:
    """The tables of every (shape, node) pair the sites use, and each site's pair index.

    One pass per pair over the hours, vectorised over hours and slabs (no loop over sites).
    ``price_step`` / ``price_max``: the revenue grid (USD/MWh); ``levels``: slabs per wasted MW.
    ``buys`` (sites,) the sites that may buy: a pair none of whose sites may buy gets zero
    buying tables (``W``, ``PW``, ``IW``, ``B``, ``Z``: only a buying site reads them); None:
    every pair with a node has them.
    """
    pairs, site_pair = _site_pairs(profiles)
    grid = np.arange(0.0, price_max + price_step / 2, price_step)
    hours = _HourPrices.of(profiles, grid)
    Wn, PWn, IWn = _node_tables(hours, len(grid))
    buying = (
        None
        if buys is None
        else np.bincount(site_pair[np.asarray(buys, dtype=bool)], minlength=len(pairs)) > 0
    )
    per_pair = _pair_tables(profiles, pairs, hours, levels, len(grid), buying)
    tables = Tables(
        levels=levels,
        grid=grid,
        pair_shape=pairs[:, 0],
        pair_node=pairs[:, 1],
        Wn=Wn,
        PWn=PWn,
        IWn=IWn,
        hours_n=hours.weight.sum(axis=1),
        **per_pair,
    )
    return tables, site_pair


def _site_pairs(profiles: SurplusProfiles) -> tuple[np.ndarray, np.ndarray]:
    """(P, 2) the distinct (shape, node) row pairs of the sites (-1: none) and each site's pair."""
    sites = profiles.sites
    node = sites["node"].to_numpy(dtype=np.int64)
    shape = sites["shape"].to_numpy(dtype=np.int64)
    n_nodes = profiles.price.shape[0]
    if (
        np.any(node >= n_nodes)
        or np.any(node < -1)
        or np.any(shape >= len(profiles.shape_ids))
        or np.any(shape < -1)
    ):
        raise GisError(
            "a site's node or shape indexes no row of the profiles",
            field="profiles.sites.node / shape",
            fix="build the profiles with node and shape rows for every site (-1 for none)",
        )
    pairs, site_pair = np.unique(np.stack([shape, node], axis=1), axis=0, return_inverse=True)
    return pairs, site_pair.ravel()


@dataclass(frozen=True)
class _HourPrices:
    """Per node and hour (N, H): ``weight`` the hours an hour counts for (0 without a price),
    ``index`` the first revenue-grid point above its price (the hour counts for that point and
    those above), ``price`` USD/MWh (0 without a price) and ``intensity`` t CO2 per MWh (0 unknown)."""

    weight: np.ndarray
    index: np.ndarray
    price: np.ndarray
    intensity: np.ndarray

    @classmethod
    def of(cls, profiles: SurplusProfiles, grid: np.ndarray) -> _HourPrices:
        known = np.isfinite(profiles.price)
        return cls(
            weight=np.where(known, profiles.hour_weight[:, None], 0.0),
            index=np.searchsorted(grid, np.where(known, profiles.price, np.inf), side="right"),
            price=np.where(known, profiles.price, 0.0),
            intensity=np.nan_to_num(profiles.intensity, nan=0.0),
        )


def _below_grid(index: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Sums of ``weights`` (rows, H) over the hours priced below each of the ``k`` grid points,
    (rows, k), from each hour's grid ``index`` (rows, H) (a histogram, then a running sum)."""
    return _running_below(_grid_bins(index, k), weights, k)


def _grid_bins(index: np.ndarray, k: int) -> np.ndarray:
    """The histogram bin of each (row, hour) of a grid ``index`` (rows, H): row x (k + 1) + index,
    flat; computed once for every set of weights read on the same hours."""
    return (np.arange(index.shape[0])[:, None] * (k + 1) + index).ravel()


def _running_below(bins: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """:func:`_below_grid` from the hours' :func:`_grid_bins` ``bins``: (rows, k) sums of
    ``weights`` (rows, H) over the hours priced below each grid point."""
    rows = weights.shape[0]
    h = np.bincount(bins, weights=weights.ravel(), minlength=rows * (k + 1)).reshape(rows, k + 1)
    return np.cumsum(h, axis=1)[:, :k]


def _node_tables(hours: _HourPrices, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node (N, k), for a MW buying every hour priced below each grid point: MWh, cost
    (USD) and t CO2."""
    if not hours.weight.shape[0]:
        return np.zeros((0, k)), np.zeros((0, k)), np.zeros((0, k))
    w = hours.weight
    energy, cost, co2 = (_below_grid(hours.index, x, k) for x in (w, w * hours.price, w * hours.intensity))
    return energy, cost, co2


def _pair_tables(
    profiles: SurplusProfiles,
    pairs: np.ndarray,
    hours: _HourPrices,
    J: int,
    k: int,
    buying: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The per-pair arrays of :class:`Tables` (``E``, ``W``, ``PW``, ``IW``, ``B``, ``Z``,
    ``hours_wasted``, ``hours``): a loop over (shape, node) pairs, not sites; a shape's slabs
    (J, H) are cut once for all its nodes. ``buying`` (P,): the pairs that get the buying
    tables (None: every pair with a node)."""
    n_hours = profiles.price.shape[1]
    e = np.linspace(0.0, 1.0, J + 1)
    de = np.diff(e)
    P = len(pairs)
    out: dict[str, np.ndarray] = {n: np.zeros((P, J)) for n in ("E", "B")}
    out.update({n: np.zeros((P, J, k)) for n in ("W", "PW", "IW")})
    out.update(Z=np.zeros((P, k)), hours_wasted=np.zeros(P), hours=np.zeros(P))
    cut_for = None
    for p, (s_i, n_i) in enumerate(pairs):
        if s_i != cut_for:  # pairs are sorted by shape: its nodes follow one another
            s = profiles.shapes[s_i] if s_i >= 0 else np.zeros(n_hours)
            s = np.clip(np.nan_to_num(s, nan=0.0), 0.0, 1.0)
            a = np.clip(s[None, :] - e[:-1, None], 0.0, de[:, None])  # (J, H) wasted MW per unit
            cut_for = s_i
        wt = hours.weight[n_i] if n_i >= 0 else np.ones(n_hours)
        out["E"][p] = a @ wt
        out["hours_wasted"][p] = wt[s > 0].sum()
        out["hours"][p] = wt.sum()
        if n_i >= 0 and (buying is None or buying[p]):
            bw = (de[:, None] - a) * wt[None, :]  # (J, H) MWh a slab could buy
            bins = _grid_bins(np.broadcast_to(hours.index[n_i], bw.shape), k)  # once for the three sums
            out["W"][p] = _running_below(bins, bw, k)
            out["PW"][p] = _running_below(bins, bw * hours.price[n_i], k)
            out["IW"][p] = _running_below(bins, bw * hours.intensity[n_i], k)
            out["B"][p] = bw.sum(axis=1)
            out["Z"][p] = _below_grid(hours.index[n_i][None, :], (wt * (s <= 0))[None, :], k)[0]
    return out


def _read_table(base: np.ndarray, step: np.ndarray, i: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``base[i] + f x step[i]``: rows ``i`` of a table and of its step to the next row, read at
    the fraction ``f`` (broadcast against the rows read). Takes the rows into one new array and
    works in it (no temporaries)."""
    out = np.take(step, i, axis=0)
    np.multiply(out, f, out=out)
    np.add(out, np.take(base, i, axis=0), out=out)
    return out


def _lerp_index(grid: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index i and weight f so that value(x) = T[i] (1 - f) + T[i + 1] f on the uniform ``grid``
    (clamped at both ends)."""
    step = grid[1] - grid[0] if len(grid) > 1 else 1.0
    pos = (np.asarray(x, dtype=float) - grid[0]) / step
    i = np.clip(np.floor(pos), 0, len(grid) - 2).astype(np.int64)
    f = np.clip(pos - i, 0.0, 1.0)
    return i, f


# --------------------------------------------------------------------------------------- solving


@dataclass
class _Inputs:
    """Per draw (arrays over draws D): everything uncertain."""

    btc_price_usd: np.ndarray
    btc_growth: np.ndarray
    network_ehs: np.ndarray
    network_growth: np.ndarray
    fees: np.ndarray
    efficiency_j_th: np.ndarray
    pue: np.ndarray
    price_scale: np.ndarray
    capex_scale: np.ndarray
    capacity_scale: np.ndarray  # (D, categories)
    price_cap: np.ndarray | None = None  # (D,) USD/MWh: energy used or bought only at or below it

    @property
    def draws(self) -> int:
        return len(self.btc_price_usd)

    def take(self, sl: slice) -> _Inputs:
        cut: dict[str, Any] = {k: (v[sl] if v is not None else None) for k, v in self.__dict__.items()}
        return _Inputs(**cut)

    def threshold(self, Rp: np.ndarray) -> np.ndarray:
        """The price below which energy is bought, in units of the draw's price scale: the revenue
        per MWh, or the draw's price cap when lower."""
        if self.price_cap is None:
            return Rp
        cap = self.price_cap / self.price_scale
        return np.minimum(Rp, cap.reshape((-1,) + (1,) * (Rp.ndim - 1)))


@dataclass
class _Sites:
    """Static per-site arrays and the classes (pair, wasted cost, can buy) they fall in."""

    pair: np.ndarray
    klass: np.ndarray
    category: np.ndarray
    wasted_mw: np.ndarray
    max_mw: np.ndarray
    spur_km: np.ndarray
    can_buy: np.ndarray
    node: np.ndarray
    wasted_cost: np.ndarray
    co2_net: np.ndarray
    rank: np.ndarray
    score: np.ndarray
    eligible: np.ndarray
    class_pair: np.ndarray
    class_cost: np.ndarray
    class_buy: np.ndarray


def _site_arrays(
    profiles: SurplusProfiles, sites: pd.DataFrame | None, site_pair: np.ndarray, grid_topup: bool | None
) -> _Sites:
    """The static per-site arrays of ``profiles.sites`` (MW, USD/MWh, km, t CO2 per MWh), their
    ranking from ``sites`` (None: row order, all eligible) and the classes (pair, wasted cost,
    can buy) they fall in."""
    ps = profiles.sites
    node = ps["node"].to_numpy(dtype=np.int64)
    can_buy = _can_buy(ps, grid_topup)
    category = _site_categories(ps)
    wmw, max_mw = _site_sizes(ps)
    cost = np.nan_to_num(ps["wasted_cost_usd_mwh"].to_numpy(dtype=float), nan=0.0)
    keys = np.stack([site_pair.astype(float), cost, can_buy.astype(float)], axis=1)
    uniq, klass = np.unique(keys, axis=0, return_inverse=True)
    co2 = np.nan_to_num(ps["wasted_co2_t_per_mwh"].to_numpy(dtype=float)) - np.nan_to_num(
        ps["avoided_co2_t_per_mwh"].to_numpy(dtype=float)
    )
    rank, score, eligible = _site_ranking(sites, len(ps))
    return _Sites(
        pair=site_pair,
        klass=klass.ravel(),
        category=category,
        wasted_mw=wmw,
        max_mw=max_mw,
        spur_km=np.nan_to_num(ps["spur_km"].to_numpy(dtype=float), nan=0.0),
        can_buy=can_buy,
        node=node,
        wasted_cost=cost,
        co2_net=co2,
        rank=rank,
        score=score,
        eligible=eligible,
        class_pair=uniq[:, 0].astype(np.int64),
        class_cost=uniq[:, 1],
        class_buy=uniq[:, 2] > 0.5,
    )


def _can_buy(ps: pd.DataFrame, grid_topup: bool | None) -> np.ndarray:
    """(S,) the profile sites that may buy grid energy: ``can_buy`` with a market node (only
    the bought ledger's with ``grid_topup`` False, every site with a node with True)."""
    node = ps["node"].to_numpy(dtype=np.int64)
    can_buy = ps["can_buy"].to_numpy(dtype=bool) & (node >= 0)
    if grid_topup is False:
        can_buy &= ps["ledger"].to_numpy() == "bought"
    elif grid_topup is True:
        can_buy = node >= 0
    return can_buy


def _site_categories(ps: pd.DataFrame) -> np.ndarray:
    """Each profile site's index in :data:`gis.schema.CATEGORIES`."""
    cat = ps["category"].astype(str).to_numpy()
    unknown = sorted(set(cat) - set(CATEGORIES))
    if unknown:
        raise GisError(
            f"profile sites have unknown categories {unknown}",
            field="profiles.sites.category",
            fix=f"use one of {list(CATEGORIES)}",
        )
    return np.array([CATEGORIES.index(c) for c in cat], dtype=np.int64) if len(cat) else np.zeros(0, np.int64)


def _site_sizes(ps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each profile site's wasted MW (0 without a shape) and largest fleet (MW)."""
    wmw = ps["wasted_mw"].to_numpy(dtype=float)
    wmw = np.where(ps["shape"].to_numpy() >= 0, np.nan_to_num(wmw, nan=0.0), 0.0)
    max_mw = ps["max_mw"].to_numpy(dtype=float)
    bad = ~np.isfinite(max_mw) | (max_mw < 0) | (wmw < 0)
    if bad.any():
        raise GisError(
            f"{int(bad.sum())} profile site(s) have a negative or missing max_mw / wasted_mw",
            field="profiles.sites.max_mw",
            fix="give every site its largest fleet in MW (>= 0)",
        )
    return wmw, max_mw


def _site_ranking(sites: pd.DataFrame | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank (lower is better), score and eligibility of the ``n`` sites from the ranking frame."""
    if sites is None:
        return np.arange(n, dtype=float), np.ones(n), np.ones(n, dtype=bool)
    if len(sites) != n:
        raise GisError(
            f"sites has {len(sites)} rows, the profiles {n}",
            field="sites",
            fix="pass the site table aligned row by row with profiles.sites",
        )
    rank = sites["rank"].to_numpy(dtype=float) if "rank" in sites else np.arange(n, dtype=float)
    score = sites["score"].to_numpy(dtype=float) if "score" in sites else np.ones(n)
    eligible = np.ones(n, dtype=bool)
    if "excluded" in sites:
        eligible &= ~sites["excluded"].fillna(False).to_numpy(dtype=bool)
    return rank, score, eligible


@dataclass
class _Solution:
    """A chunk of draws solved: national arrays per draw (D) and year (Y), at the equilibrium."""

    X: np.ndarray  # (D, Y) fleet average EH/s
    R: np.ndarray  # (D, Y) USD per MWh of site energy
    hashprice: np.ndarray  # (D, Y) USD per TH/s per day
    issuance: np.ndarray  # (D, Y) BTC
    network: np.ndarray  # (D, Y) EH/s without the fleet
    price: np.ndarray  # (D, Y) USD/BTC
    wasted_mwh: np.ndarray  # (D, Y)
    bought_mwh: np.ndarray  # (D, Y)
    energy_cost: np.ndarray  # (D, Y) USD
    capex: np.ndarray  # (D,) USD
    installed_mw: np.ndarray  # (D,)
    theta: np.ndarray  # (D,) share of the marginal sites in the fleet
    residual: float  # largest relative gap between the fleet's hashrate and the one it was priced at
    X_lo: np.ndarray  # (D, Y) the bracket's low end: the fleet priced here is in
    X_hi: np.ndarray  # (D, Y) the bracket's high end: the marginal sites priced here are out


_AGG = ("wasted", "bought", "cost", "capex", "mw")


@dataclass(frozen=True)
class _Classes:
    """The classes a response values (a subset when the others cannot enter the fleet).

    ``ids`` (Qv,) indices into the model's classes; ``cost`` their wasted-energy cost (USD/MWh);
    ``cumE`` (Qv, levels + 1) wasted MWh a year per unit wasted MW of a fleet filled to each
    level; ``local`` (Q,) each model class's row in ``ids`` (-1: not valued); ``bc`` the rows of
    the model's buying classes, in the model's ``bc`` order; ``full``: every class, in order;
    ``simple`` the rows of the classes that hold simple sites.
    """

    ids: np.ndarray
    cost: np.ndarray
    cumE: np.ndarray
    local: np.ndarray
    bc: np.ndarray
    full: bool
    simple: np.ndarray


class _Model:
    """The tables, the site arrays and the scenario's fixed numbers, solved for draws of inputs.

    Sites fall in static sets: "simple" sites (cannot buy, the site can host its whole wasted MW,
    rule not target_gw) decide per class, so a class's simple sites are one sum per category;
    the others decide one by one (vectorised over draws and sites). Once a chunk of draws has
    been priced at no fleet (the highest revenue), the classes that cannot enter in any of its
    draws are left out of the dense (draws, classes, levels) arrays: their sums are exact zeros.
    Where the sites deciding one by one have no wasted MW (buying plants), the work whose result
    is multiplied by their zero wasted MW is left out too (the slabs of mode B, the running best
    of every level, the level sums): each shortcut gives the same bits as the long way.
    """

    def __init__(self, tables: Tables, sites: _Sites, config: EstimatesConfig, sched: Schedule):
        self.t, self.s, self.c, self.sched = tables, sites, config, sched
        self.J = J = tables.levels
        s, t = sites, tables
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.where(s.wasted_mw > 0, s.max_mw / s.wasted_mw, np.inf)
        self.pos_cap = np.minimum(lam * J, J)
        self.jf = np.floor(self.pos_cap).astype(np.int64)
        self.frac = self.pos_cap - self.jf
        elig = s.eligible.copy()
        if config.selection.rule == "score_threshold":
            elig &= s.score >= config.selection.score_threshold
        self.elig = elig
        simple = (
            elig & ~s.can_buy & (self.jf >= J) & (s.wasted_mw > 0) & (config.selection.rule != "target_gw")
        )
        self.simple = simple
        self.cx = np.nonzero(elig & ~simple & ((s.wasted_mw > 0) | s.can_buy))[0]
        Q = len(s.class_pair)
        self.Q = Q
        self.w_simple = np.zeros((len(CATEGORIES), Q))
        np.add.at(self.w_simple, (s.category[simple], s.klass[simple]), s.wasted_mw[simple])
        self.simple_class = self.w_simple.any(axis=0)
        self.E_q = t.E[s.class_pair]  # (Q, J)
        self.cumE_q = np.concatenate([np.zeros((Q, 1)), np.cumsum(self.E_q, axis=1)], axis=1)
        self.bc = np.nonzero(s.class_buy)[0]
        self.levels_e = np.linspace(0.0, 1.0, J + 1)
        self._buy_tables()
        self.all_classes = self.classes(np.arange(Q))
        self._simple_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._sites_cache: tuple[_Inputs, np.ndarray, dict] | None = None

    def _buy_tables(self) -> None:
        """Revenue-grid tables of the buying classes, laid out grid first (K, Pb, levels + 1) so
        a draw-year gathers contiguous rows, in float32 (half the memory traffic)."""
        s, t = self.s, self.t
        pairs_b, inv = np.unique(s.class_pair[self.bc], return_inverse=True)
        self.inv = inv.ravel()
        self.node_b = t.pair_node[s.class_pair[self.bc]]
        self.pos_in_bc = np.full(self.Q, -1, dtype=np.int64)
        self.pos_in_bc[self.bc] = np.arange(len(self.bc))
        g = t.grid[None, None, :]
        cum_b = np.stack([g * t.W[pairs_b] - t.PW[pairs_b], t.W[pairs_b], t.PW[pairs_b]], axis=0)
        cum_b = np.concatenate(
            [np.zeros((3, len(pairs_b), 1, len(t.grid))), np.cumsum(cum_b, axis=2)], axis=2
        )
        # per buying class (K, Qb, J+1) and its step to the next grid point: T[i] + f (T[i+1] - T[i])
        # (contiguous after picking the classes: a draw-year's rows are one block of memory)
        tabs = [
            np.ascontiguousarray(np.ascontiguousarray(c.transpose(2, 0, 1), dtype=np.float32)[:, self.inv])
            for c in cum_b
        ]
        self.Gb, self.Wb, self.Pb = ((c, c[1:] - c[:-1]) for c in tabs)
        self.WPn = np.ascontiguousarray(np.stack([t.Wn, t.PWn], axis=0).transpose(2, 0, 1))

    def classes(self, ids: np.ndarray) -> _Classes:
        """The :class:`_Classes` view of the model classes ``ids`` (sorted; every buying class in)."""
        ids = np.asarray(ids, dtype=np.int64)
        local = np.full(self.Q, -1, dtype=np.int64)
        local[ids] = np.arange(len(ids))
        bc = local[self.bc]
        if np.any(bc < 0):
            raise ValueError("a class view must hold every buying class")
        full = len(ids) == self.Q
        simple = np.nonzero(np.asarray(self.simple_class)[ids])[0]
        return _Classes(ids, self.s.class_cost[ids], self.cumE_q[ids], local, bc, full, simple)

    def live_classes(self, v_top: dict, active: np.ndarray) -> _Classes:
        """The classes that can enter the fleet once the chunk is priced at no fleet (``v_top``,
        valued over every class): simple classes with a positive best NPV in some draw (the NPV
        only falls as the fleet grows), the buying classes and those of the ``active`` sites."""
        live = self.simple_class & (v_top["topA"] > 0).any(axis=0)
        live[self.bc] = True
        live[self.s.klass[active]] = True
        return self.classes(np.nonzero(live)[0])

    # ------------------------------------------------------------------ values per class
    def capex_per_mw(self, inp: _Inputs) -> np.ndarray:
        """(D,) USD per MW of site power: ASICs (TH per MW at the draw's PUE and J/TH) and site."""
        m = self.c.market
        th_per_mw = 1e6 / (inp.pue * inp.efficiency_j_th)
        return inp.capex_scale * (m.asic_usd_per_th * th_per_mw + m.site_capex_usd_per_mw)

    def _used(self, inp: _Inputs, Rp: np.ndarray, cv: _Classes) -> np.ndarray:
        """(D, classes of ``cv``, Y) whether each class uses its wasted energy: cost below the
        revenue ``Rp`` (USD/MWh in units of the draw's price scale) and at or below the draw's
        price cap."""
        cost = cv.cost[None, :, None]
        used = cost < Rp[:, None, :]
        if inp.price_cap is not None:
            used &= cost <= (inp.price_cap / inp.price_scale)[:, None, None]
        return used

    def values(
        self,
        inp: _Inputs,
        R: np.ndarray,
        cv: _Classes | None = None,
        *,
        slabs: bool = True,
        levels: bool = True,
    ) -> dict:
        """NPV per unit wasted MW of a fleet filled to each level (D, classes of ``cv``, levels +
        1), mode A (wasted only) and B (also buys, buying classes only), their running best, the
        NPV of a MW buying every cheap hour per node, and the hourly sums the energy needs.

        ``slabs`` False leaves mode B out (``cumB`` and the buying classes' slab tables): right
        when no site being chosen both may buy and has wasted MW (a buying site without wasted
        energy only buys its whole size, :meth:`_choose_buying`, and fills no slab). ``levels``
        False keeps of mode A's running best only its last level (``arg_topA``, ``topA``: each
        class's best level, all a simple class needs): right when no site being chosen has
        wasted MW (only those pick a level capped below the top)."""
        cv = self.all_classes if cv is None else cv
        Rp = R / inp.price_scale[:, None]  # revenue in units of the draw's price scale
        T = inp.threshold(Rp)  # buy only below this (the revenue, or a lower price cap)
        disc = self.sched.discount[None, :] * inp.price_scale[:, None]  # (D, Y)
        used = self._used(inp, Rp, cv)  # (D, Qv, Y)
        margin_w = np.where(used, Rp[:, None, :] - cv.cost[None, :, None], 0.0)
        a = np.einsum("dqy,dy->dq", margin_w, disc)
        k_mw = self.capex_per_mw(inp)
        i, f = _lerp_index(self.t.grid, T)  # (D, Y)
        f4 = f[:, :, None, None]
        wpn = np.take(self.WPn, i, axis=0) * (1 - f4) + np.take(self.WPn, i + 1, axis=0) * f4  # (D, Y, 2, N)
        Wn, PWn = wpn[:, :, 0], wpn[:, :, 1]
        Gn = Rp[:, :, None] * Wn - PWn
        g_ext = np.einsum("dyn,dy->dn", Gn, disc) - k_mw[:, None]
        cumA, argA, pmaxA, arg_top, top = self._mode_a(a, k_mw, cv, levels)
        out = {
            "used": used,
            "cumA": cumA,
            "argA": argA,
            "pmaxA": pmaxA,
            "arg_topA": arg_top,
            "topA": top,
            "Wn": Wn,
            "PWn": PWn,
            "g_ext": g_ext,
            "k_mw": k_mw,
        }
        if len(self.bc) and slabs:
            out.update(self._values_buying(inp, cv, out, Rp, T, disc, Gn, i, f))
        return out

    def _mode_a(self, a: np.ndarray, k_mw: np.ndarray, cv: _Classes, levels: bool) -> tuple:
        """Mode A's NPV per unit wasted MW filled to each level (D, Qv, levels + 1) from the
        discounted margin per MWh ``a`` (D, Qv) and the capex per MW ``k_mw`` (D,), its running
        best (index and value) and its best level (D, Qv) each; with ``levels`` False only the
        best level of the classes holding simple sites (the rest None, or 0 at the others)."""
        e = self.levels_e
        if levels:
            cumA = a[:, :, None] * cv.cumE[None, :, :] - k_mw[:, None, None] * e[None, None, :]
            argA, pmaxA = _prefix_max(cumA)
            return cumA, argA, pmaxA, argA[:, :, -1], pmaxA[:, :, -1]
        sub = cv.simple  # only the classes holding simple sites use mode A: their best level alone
        cum_s = a[:, sub, None] * cv.cumE[sub][None, :, :] - k_mw[:, None, None] * e[None, None, :]
        arg_top, top = np.zeros(a.shape, dtype=np.intp), np.zeros(a.shape)
        arg_top[:, sub], top[:, sub] = _top_level(cum_s)
        return None, None, None, arg_top, top

    def _values_buying(self, inp, cv, out, Rp, T, disc, Gn, i, f) -> dict:
        """Mode B of the buying classes: the wasted-only NPV (USD per unit wasted MW) plus what
        each level's slab earns buying the hours below the threshold ``T`` (USD/MWh, draw-years),
        and the gathered bought-MWh tables (float32, (D, Y, Qb, levels + 1))."""
        e = self.levels_e
        f4 = f[:, :, None, None].astype(np.float32)

        def at(table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            return _read_table(table[0], table[1], i, f4)  # (D, Y, Qb, J+1)

        read: dict[str, np.ndarray] = {}

        def wc() -> np.ndarray:  # read once, when asked
            if "W" not in read:
                read["W"] = at(self.Wb)
            return read["W"]

        u = out["used"][:, cv.bc, :].transpose(0, 2, 1)  # (D, Y, Qb)
        gb = at(self.Gb)  # sum over hours below T of (T - price): add (R - T) per such hour
        if inp.price_cap is not None:
            gb = gb + ((Rp - T)[:, :, None, None]).astype(np.float32) * wc()
        gq = np.einsum("dyqj,dyq->dqj", gb, (u * disc[:, :, None]).astype(np.float32))
        gfull = np.einsum("dyq,dyq->dq", Gn[:, :, self.node_b], (~u) * disc[:, :, None])
        cumB = out["cumA"][:, cv.bc, :] + gq + gfull[:, :, None] * e[None, None, :]
        argB, pmaxB = _prefix_max(cumB)
        return {
            "cumB": cumB,
            "argB": argB,
            "pmaxB": pmaxB,
            "Wc": wc,
            "PWc": (lambda: at(self.Pb)),
            "u_b": u,
        }

    # ------------------------------------------------------------------ choices per site
    def _sites_of(self, inp: _Inputs, idx: np.ndarray) -> dict:
        """What the choice of the sites ``idx`` needs that no revenue changes, (D, n) or (n,):
        class ``q``, wasted and largest MW at the draws' capacity scales, cap level, and for
        the sites that may buy (``b``, positions in ``idx``) their buying class ``qb``, MW beyond
        the wasted MW ``ext`` and spur cost ``sp`` (USD). Kept for the last draws and sites asked
        (the steps of a solve share them)."""
        cached = self._sites_cache
        if cached is not None and cached[0] is inp and cached[1] is idx:
            return cached[2]
        s = self.s
        q = s.klass[idx]
        cs = inp.capacity_scale[:, s.category[idx]]  # (D, n)
        st = {"q": q, "wm": s.wasted_mw[idx][None, :] * cs, "max_mw": s.max_mw[idx][None, :] * cs}
        st.update(jf=self.jf[idx], frac=self.frac[idx], pos_cap=self.pos_cap[idx])
        b = np.nonzero(s.can_buy[idx] & s.class_buy[q])[0] if len(self.bc) else np.zeros(0, np.int64)
        st["b"] = b
        if len(b):
            wmb = st["wm"][:, b]
            st.update(qb=self.pos_in_bc[q[b]], wmb=wmb, node_b=np.maximum(s.node[idx][b], 0))
            st["ext"] = np.maximum(st["max_mw"][:, b] - wmb, 0.0)
            st["sp"] = self.c.fleet.spur_usd_per_km * s.spur_km[idx][b][None, :] * inp.capex_scale[:, None]
        self._sites_cache = (inp, idx, st)
        return st

    def _fills_slabs(self, idx: np.ndarray) -> bool:
        """Whether any of the sites ``idx`` may buy and has wasted MW (so fills the buying
        classes' slabs: :meth:`values` needs its mode B)."""
        s = self.s
        return bool(np.any(s.can_buy[idx] & s.class_buy[s.klass[idx]] & (s.wasted_mw[idx] > 0)))

    def choose(
        self, inp: _Inputs, v: dict, idx: np.ndarray, cv: _Classes | None = None, *, money: bool = True
    ) -> dict:
        """NPV-optimal fleet of the sites ``idx`` (D, len(idx)): mode (0 none, 1 wasted only, 2
        buys), level position 0..levels, MW beyond the wasted MW, MW, NPV and capex (USD).
        ``v`` holds the values of the classes ``cv`` (default: every class). ``money`` False
        leaves out MW, NPV and capex (a bracket step needs the energy alone) unless the rule
        selects by MW."""
        s = self.s
        J = self.J
        cv = self.all_classes if cv is None else cv
        st = self._sites_of(inp, idx)
        wm = st["wm"]
        q, jf, frac, pos_cap = st["q"], st["jf"], st["frac"], st["pos_cap"]
        has_w = wm > 0
        if has_w.any():
            valA, posA = _best(v["cumA"], v["argA"], v["pmaxA"], cv.local[q], jf, frac, pos_cap, J, inp.draws)
            valA = np.where(has_w, valA * wm, 0.0)
            posA = np.where(has_w, posA, 0.0)
        else:  # no wasted MW: nothing to run on wasted energy alone
            valA, posA = np.zeros(wm.shape), np.zeros(wm.shape)
        valB, posB, extB, spur = self._choose_buying(v, st)
        a_better = (valA > 0) & (valA >= valB)
        b_better = (valB > 0) & (valB > valA)
        mode = np.where(a_better, 1, np.where(b_better, 2, 0)).astype(np.int8)
        pos = np.where(a_better, posA, np.where(b_better, posB, 0.0))
        ext = np.where(b_better, extB, 0.0)
        if not (money or self.c.selection.rule == "target_gw"):
            return {"idx": idx, "wm": wm, "mode": mode, "pos": pos, "ext": ext}
        npv = np.where(a_better, valA, np.where(b_better, valB, 0.0))
        mw = wm * pos / J + ext
        capex = mw * v["k_mw"][:, None] + np.where(mode == 2, spur, 0.0)
        keep = mode > 0
        if self.c.selection.rule == "target_gw":
            order = np.lexsort((np.arange(len(idx)), s.rank[idx]))
            m = np.where(keep, mw, 0.0)[:, order]
            before = np.cumsum(m, axis=1) - m
            sel = keep[:, order] & (before < self.c.selection.target_gw * 1e3)
            keep = np.zeros_like(keep)
            keep[:, order] = sel
            z = ~keep
            mode, npv = np.where(z, 0, mode).astype(np.int8), np.where(z, 0.0, npv)
            pos, ext = np.where(z, 0.0, pos), np.where(z, 0.0, ext)
        z = ~keep  # (other rules: the sites with mode 0, whose mode, npv, pos and ext are 0 already)
        return {
            "idx": idx,
            "wm": wm,
            "mode": mode,
            "npv": npv,
            "pos": pos,
            "ext": ext,
            "mw": np.where(z, 0.0, mw),
            "capex": np.where(z, 0.0, capex),
        }

    def _choose_buying(self, v: dict, st: dict):
        """Mode B of the sites that may buy (``st`` from :meth:`_sites_of`), (D, n) each: NPV
        (USD, -inf where the site does not buy or builds nothing), level position, MW beyond the
        wasted MW (buying every cheap hour) and the spur line's cost (USD)."""
        J = self.J
        wm, b = st["wm"], st["b"]
        if not len(b):
            return np.full(wm.shape, -np.inf), np.zeros(wm.shape), np.zeros(wm.shape), np.zeros(wm.shape)
        qb, wmb, ext, sp = st["qb"], st["wmb"], st["ext"], st["sp"]
        g = v["g_ext"][:, st["node_b"]]
        has_w = wmb > 0
        if has_w.any():
            vb, pb = _best(
                v["cumB"],
                v["argB"],
                v["pmaxB"],
                qb,
                st["jf"][b],
                st["frac"][b],
                st["pos_cap"][b],
                J,
                wm.shape[0],
            )
            full = v["cumB"][:, :, J][:, qb]
            vb = np.where(has_w, vb * wmb, 0.0)
            pb = np.where(has_w, pb, 0.0)
            val_ext = np.where(has_w, full * wmb, 0.0) + ext * g
            use_ext = (ext > 0) & (g > 0) & (val_ext > vb)
            vb = np.where(use_ext, val_ext, vb)
            pb = np.where(use_ext, float(J), pb)
            eb = np.where(use_ext, ext, 0.0)
            vb = np.where((pb > 0) | (eb > 0), vb - sp, -np.inf)
        else:  # no wasted MW: a buying site fills no slab (value 0, level 0), it can only buy its whole size
            val_ext = 0.0 + ext * g  # the zero the slabs add (as a sum: -0.0 becomes 0.0)
            use_ext = (ext > 0) & (g > 0) & (val_ext > 0.0)
            vb = np.where(use_ext, val_ext - sp, -np.inf)  # builds something only where it buys
            pb = np.where(use_ext, float(J), 0.0)
            eb = np.where(use_ext, ext, 0.0)
        if len(b) == wm.shape[1]:  # every site may buy (b is then every position, in order)
            return vb, pb, eb, sp
        valB = np.full(wm.shape, -np.inf)
        posB, extB, spur = np.zeros(wm.shape), np.zeros(wm.shape), np.zeros(wm.shape)
        valB[:, b], posB[:, b], extB[:, b], spur[:, b] = vb, pb, eb, sp
        return valB, posB, extB, spur

    # ------------------------------------------------------------------ national sums
    def aggregate(
        self,
        inp: _Inputs,
        v: dict,
        ch: dict | None,
        simple: bool,
        cost: bool = True,
        cv: _Classes | None = None,
    ) -> dict:
        """Per draw: wasted and bought MWh (D, Y) and, with ``cost``, energy cost (D, Y, USD),
        capex (D, USD) and MW (D,) (else None), of the sites in ``ch`` plus (``simple``) the
        simple sites decided per class (``v`` valued on the classes ``cv``)."""
        cv = self.all_classes if cv is None else cv
        D = inp.draws
        simple = simple and bool(self.simple.any())
        levels = self._level_mw(inp, ch, cv)
        if levels is None:  # no site of ch fills a level: each class holds its simple sites alone
            m, mE = self._simple_alone(inp, v, cv) if simple else (None, np.zeros((D, len(cv.ids))))
            MB = None
        else:
            MA, MB = levels
            m = self._add_simple(inp, v, cv, MA) if simple else None
            S = MA + MB
            S *= cv.cumE[None]
            mE = S.sum(2)  # (D, Qv) wasted MWh a year per class
        n_nodes = v["Wn"].shape[2]
        EXT = np.zeros((D, n_nodes))
        if ch is not None and ch["idx"].size and n_nodes:
            ii = (np.arange(D)[:, None] * n_nodes + np.maximum(self.s.node[ch["idx"]], 0)[None, :]).ravel()
            EXT += np.bincount(ii, weights=ch["ext"].ravel(), minlength=D * n_nodes).reshape(D, n_nodes)
        wasted, cost_w = self._class_sums(v, cv, mE, cost)
        out = {"wasted": wasted, "cost": None, "capex": None, "mw": None}
        bought = np.einsum("dn,dyn->dy", EXT, v["Wn"])
        cost_b = np.einsum("dn,dyn->dy", EXT, v["PWn"]) if cost else None
        if len(self.bc):
            MBb = MB[:, cv.bc, :] if MB is not None else None
            if MBb is not None and MBb.any():
                bought, cost_b = self._add_bought(v, MBb, bought, cost_b, cost)
            else:  # no buying slab filled: its grid MWh and cost are exact zeros, added as such
                bought = bought + 0.0
                if cost_b is not None:
                    cost_b = cost_b + 0.0
        out["bought"] = bought
        if cost:
            assert cost_w is not None and cost_b is not None  # both summed with cost
            out["cost"] = (cost_w + cost_b) * inp.price_scale[:, None]
            out["capex"], out["mw"] = self._capex_mw(D, v, ch, m)
        return out

    def _class_sums(
        self, v: dict, cv: _Classes, mE: np.ndarray, cost: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(D, Y) wasted MWh and (with ``cost``, else None) their cost (USD in units of the draw's
        price scale) summed over the classes, from each class's wasted MWh a year ``mE`` (D, Qv)
        in the years it uses them. Summed over every model class (zero outside ``cv``), the
        order of the sums fixed; where no draw has more than one class with energy the sum is
        that one product (exact in any order), taken over ``cv`` alone."""
        if np.count_nonzero(mE, axis=1).max(initial=0) <= 1:
            used = v["used"].astype(float)
            cost_w = np.einsum("dq,dqy->dy", mE * cv.cost[None, :], used) if cost else None
            return np.einsum("dq,dqy->dy", mE, used), cost_w
        mE = _widen(mE, cv, self.Q)
        used = _widen_used(v["used"], cv, self.Q)  # (D, Q, Y) as floats, for the sums over classes
        cost_w = np.einsum("dq,dqy->dy", mE * self.s.class_cost[None, :], used) if cost else None
        return np.einsum("dq,dqy->dy", mE, used), cost_w

    @staticmethod
    def _capex_mw(D: int, v: dict, ch: dict | None, m: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(D,) capex (USD) and MW of the simple sites (``m`` MW, None: none) and the sites in ``ch``."""
        capex = np.zeros(D)
        mw = np.zeros(D)
        if m is not None:
            mw += m
            capex += m * v["k_mw"]
        if ch is not None and ch["idx"].size:
            mw += ch["mw"].sum(1)
            capex += ch["capex"].sum(1)
        return capex, mw

    def _level_mw(self, inp: _Inputs, ch: dict | None, cv: _Classes) -> tuple[np.ndarray, np.ndarray] | None:
        """(D, Qv, levels + 1) each: the wasted MW of the sites in ``ch`` filled to each level of
        their class, wasted only (A) and buying (B), a site between two levels split linearly;
        None when every level holds zero (no site of ``ch`` in the fleet has wasted MW)."""
        J, D = self.J, inp.draws
        Qv = len(cv.ids)
        if ch is None or not ch["idx"].size:
            return None
        w = np.where(ch["mode"] > 0, ch["wm"], 0.0)
        if not w.any():
            return None
        q = cv.local[self.s.klass[ch["idx"]]]
        pos = ch["pos"]
        lo = np.minimum(np.floor(pos).astype(np.int64), J)
        fr = pos - lo
        hi = np.minimum(lo + 1, J)
        base = np.arange(D)[:, None] * (Qv * (J + 1)) + q[None, :] * (J + 1)
        block = D * Qv * (J + 1)
        off = np.where(ch["mode"] == 2, block, 0) + base
        ii = np.concatenate([(off + lo).ravel(), (off + hi).ravel()])
        ww = np.concatenate([(w * (1 - fr)).ravel(), (w * fr).ravel()])
        both = np.bincount(ii, weights=ww, minlength=2 * block)
        return both[:block].reshape(D, Qv, J + 1), both[block:].reshape(D, Qv, J + 1)

    def _add_simple(self, inp: _Inputs, v: dict, cv: _Classes, MA: np.ndarray) -> np.ndarray:
        """Add the simple sites' wasted MW (each class at its best level, where that pays) to
        ``MA`` (D, Qv, levels + 1) in place; return their MW (D,)."""
        J = self.J
        arg, w = v["arg_topA"], self._simple_at_best(inp, v, cv)
        D, Qv = w.shape
        flat = (np.arange(D * Qv) * (J + 1)).reshape(D, Qv) + arg
        MA.reshape(-1)[flat.ravel()] += w.ravel()
        return _widen(w * arg / J, cv, self.Q).sum(1)

    def _simple_alone(self, inp: _Inputs, v: dict, cv: _Classes) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_add_simple` where no other site fills a level: the simple sites' MW (D,) and
        their wasted MWh a year per class (D, Qv), each class's MW times its energy at its best
        level (the one level it fills, so its sum over levels, exactly)."""
        arg, w = v["arg_topA"], self._simple_at_best(inp, v, cv)
        energy = w * cv.cumE[np.arange(len(cv.ids))[None, :], arg]
        return _widen(w * arg / self.J, cv, self.Q).sum(1), energy

    def _simple_at_best(self, inp: _Inputs, v: dict, cv: _Classes) -> np.ndarray:
        """(D, Qv) wasted MW of the simple sites of the classes ``cv`` whose best level pays, else 0."""
        w = self._simple_mw(inp)  # (D, Q) wasted MW of simple sites
        if not cv.full:
            w = w[:, cv.ids]
        return np.where(v["topA"] > 0, w, 0.0)

    def _simple_mw(self, inp: _Inputs) -> np.ndarray:
        """(D, Q) wasted MW of the simple sites per class at the draws' capacity scales, kept
        for the last draws asked (the steps of a solve share them)."""
        cached = self._simple_cache
        if cached is None or cached[0] is not inp.capacity_scale:
            cached = (inp.capacity_scale, inp.capacity_scale @ self.w_simple)
            self._simple_cache = cached
        return cached[1]

    def _add_bought(self, v: dict, MBb: np.ndarray, bought, cost_b, cost: bool):
        """Add the buying classes' grid MWh and cost (D, Y) of the level MW ``MBb`` (D, Qb,
        levels + 1): the slabs' cheap hours where wasted energy is used, the full levels'
        where it is not."""
        u = v["u_b"]  # (D, Y, Qb)
        m32 = MBb.astype(np.float32)
        bought = bought + (np.einsum("dyqj,dqj->dyq", v["Wc"](), m32) * u).sum(2)
        if cost:
            cost_b = cost_b + (np.einsum("dyqj,dqj->dyq", v["PWc"](), m32) * u).sum(2)
        lev = MBb @ self.levels_e  # (D, Qb) MW at the full slabs when wasted energy is not used
        bought = bought + np.einsum("dq,dyq->dy", lev, v["Wn"][:, :, self.node_b] * ~u)
        if cost:
            cost_b = cost_b + np.einsum("dq,dyq->dy", lev, v["PWn"][:, :, self.node_b] * ~u)
        return bought, cost_b

    def market(self, inp: _Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(D, Y) issuance (BTC), BTC price (USD) and network without the fleet (EH/s)."""
        Y = len(self.sched.years)
        t = np.arange(Y)[None, :]
        issuance = self.sched.issuance(inp.fees)
        price = inp.btc_price_usd[:, None] * (1.0 + inp.btc_growth[:, None]) ** t
        network = inp.network_ehs[:, None] * (1.0 + inp.network_growth[:, None]) ** t
        return issuance, price, network

    def revenue(self, inp: _Inputs, X: np.ndarray, market: tuple) -> tuple[np.ndarray, np.ndarray]:
        """(D, Y) hashprice (USD per TH/s per day) and revenue (USD/MWh) at fleet hashrate ``X``."""
        issuance, price, network = market
        hp = hashprice_usd_per_th_day(issuance, price, network, X)
        return hp, revenue_usd_per_mwh(hp, inp.efficiency_j_th[:, None], inp.pue[:, None])

    def response(
        self,
        inp: _Inputs,
        X: np.ndarray,
        market: tuple,
        *,
        per_site: bool = False,
        cost: bool = True,
        idx: np.ndarray | None = None,
        cv: _Classes | None = None,
    ):
        """The fleet every site chooses when priced at the fleet hashrate ``X`` (D, Y), valuing
        the classes ``cv`` (default: every class; a subset must hold every class that can enter)."""
        _, R = self.revenue(inp, X, market)
        if idx is None:
            idx = np.nonzero(self.elig)[0] if per_site else self.cx
        levels = bool(np.any(self.s.wasted_mw[idx] > 0))
        v = self.values(inp, R, cv, slabs=self._fills_slabs(idx), levels=levels)
        ch = self.choose(inp, v, idx, cv, money=cost or per_site)
        agg = self.aggregate(inp, v, ch, simple=not per_site, cost=cost, cv=cv)
        agg["X"] = (agg["wasted"] + agg["bought"]) / (
            HOURS_PER_YEAR * inp.pue[:, None] * inp.efficiency_j_th[:, None]
        )
        return agg, ch, v, R

    def _bracket(self, inp, mk, prof, top, active, n_steps, cv=None):
        """Bisection / false position on the fleet's mean hashrate priced with the year profile
        ``prof``: the bracket [lo, hi] where the response is above, then below, what it is priced at."""
        D = inp.draws
        lo = np.zeros(D)
        hi = top["X"].mean(1)  # no fleet ever wants more than the one priced at zero fleet
        g_lo = hi - lo  # response - priced-at, at lo = 0: the whole top fleet
        g_hi = np.zeros(D)  # at hi: the top fleet priced at itself wants at most itself
        for step in range(n_steps):
            # odd steps: false position on the response gap (fast where the response is smooth);
            # even steps: bisection (the bracket at least halves every two steps)
            mid = 0.5 * (lo + hi)
            if step % 2:
                denom = g_lo - g_hi
                fp = np.divide(lo * -g_hi + hi * g_lo, denom, out=mid.copy(), where=denom > 0)
                mid = np.clip(fp, lo + 0.01 * (hi - lo), hi - 0.01 * (hi - lo))
            r = self.response(inp, mid[:, None] * prof, mk, cost=False, idx=active, cv=cv)[0]
            gap = r["X"].mean(1) - mid
            up = gap >= 0  # the fleet priced at mid wants more: the equilibrium is above
            lo, g_lo = np.where(up, mid, lo), np.where(up, gap, g_lo)
            hi, g_hi = np.where(up, hi, mid), np.where(up, g_hi, gap)
        return lo, hi, prof

    def _close(self, inp, mk, lo, hi, prof, active, cv) -> tuple[dict, np.ndarray, np.ndarray]:
        """The fleet at the bracket [lo, hi] (EH/s, mean over the years): the marginal sites (in
        at lo, out at hi) enter pro rata. Returns the national sums, the target mean hashrate
        (false position on the two ends' responses, in the bracket) and ``theta`` (D,)."""
        A = self.response(inp, lo[:, None] * prof, mk, idx=active, cv=cv)[0]  # the larger fleet
        B = self.response(inp, hi[:, None] * prof, mk, idx=active, cv=cv)[0]  # the smaller fleet
        xa, xb = A["X"].mean(1), B["X"].mean(1)
        ga, gb = xa - lo, xb - hi  # >= 0 at lo, <= 0 at hi
        den = ga - gb
        target = np.divide(lo * -gb + hi * ga, den, out=0.5 * (lo + hi), where=den > 1e-12)
        target = np.clip(target, lo, hi)
        gap = xa - xb
        theta = np.clip(np.divide(target - xb, gap, out=np.ones_like(gap), where=gap > 1e-12), 0.0, 1.0)
        agg = {k: B[k] + _b(theta, B[k]) * (A[k] - B[k]) for k in _AGG}
        return agg, target, theta

    def solve(self, inp: _Inputs, X0: np.ndarray | None = None, *, steps: int | None = None) -> _Solution:
        """The fleet and the hashprice solved together, per draw, by bisection on the fleet's mean
        hashrate ``x`` (the fleet is priced at ``x`` times its year profile): the response of the
        sites falls as ``x`` rises, so the bracket [lo, hi] with response(lo) >= lo and
        response(hi) <= hi closes on the equilibrium; there the marginal sites (in the fleet at lo,
        out at hi) enter pro rata (``theta``) so that the fleet's hashrate is the one it is priced
        at. Odd steps take the false-position point instead of the midpoint. ``X0`` is unused
        (kept for callers); ``steps`` defaults to ``fleet.iterations``."""
        D = inp.draws
        Y = len(self.sched.years)
        mk = self.market(inp)
        n_steps = self.c.fleet.iterations if steps is None else steps
        top, ch_top, v_top, _ = self.response(inp, np.zeros((D, Y)), mk, cost=False)
        # a site out of the fleet at the highest revenue (no fleet yet) stays out at any other
        active = self.cx[(ch_top["mode"] > 0).any(axis=0)]
        cv = self.live_classes(v_top, active)
        prof = _profile(top["X"], np.ones((D, Y)))
        # the bracket works on the mean hashrate with a year profile; the realised profile of the
        # mixed fleet then prices the next round, until the two agree (a buying fleet mines less
        # after a halving, so its profile is not the one the first round assumed)
        for _round in range(PROFILE_ROUNDS):
            lo, hi, prof = self._bracket(inp, mk, prof, top, active, n_steps, cv)
            agg, target, theta = self._close(inp, mk, lo, hi, prof, active, cv)
            X_eq = (agg["wasted"] + agg["bought"]) / (
                HOURS_PER_YEAR * inp.pue[:, None] * inp.efficiency_j_th[:, None]
            )
            new_prof = _profile(X_eq, prof)
            if np.max(np.abs(new_prof - prof)) < 1e-3:
                break
            prof = new_prof
        return self._solution(inp, mk, agg, X_eq, target, theta, lo[:, None] * prof, hi[:, None] * prof)

    def _solution(self, inp, mk, agg, X_eq, target, theta, X_lo, X_hi) -> _Solution:
        """The :class:`_Solution` of the equilibrium fleet ``X_eq`` (D, Y) EH/s."""
        hp, R = self.revenue(inp, X_eq, mk)
        m = X_eq.mean(1)
        residual = float(np.max(np.abs(m - target) / np.maximum(m + target, 1e-9))) if inp.draws else 0.0
        return _Solution(
            X=X_eq,
            R=R,
            hashprice=hp,
            issuance=mk[0],
            network=mk[2],
            price=mk[1],
            wasted_mwh=agg["wasted"],
            bought_mwh=agg["bought"],
            energy_cost=agg["cost"],
            capex=agg["capex"],
            installed_mw=agg["mw"],
            theta=theta,
            residual=residual,
            X_lo=X_lo,
            X_hi=X_hi,
        )


def _widen(x: np.ndarray, cv: _Classes, Q: int) -> np.ndarray:
    """(D, Q) from (D, Qv) values of the classes ``cv``, zero for the classes left out."""
    if cv.full:
        return x
    out = np.zeros((x.shape[0], Q))
    out[:, cv.ids] = x
    return out


def _widen_used(used: np.ndarray, cv: _Classes, Q: int) -> np.ndarray:
    """(D, Q, Y) floats from (D, Qv, Y) flags of the classes ``cv``, zero for the classes left out
    (their wasted MWh are zero, so the products summed are the same either way)."""
    if cv.full:
        return used.astype(float)
    out = np.zeros((used.shape[0], Q, used.shape[2]))
    out[:, cv.ids] = used
    return out


def _b(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``a`` (D,) shaped to broadcast against ``like`` (D,) or (D, Y)."""
    return a[:, None] if like.ndim == 2 else a


PROFILE_ROUNDS = 2
"""Rounds of the year profile's fixed point in :meth:`_Model.solve` (it stops early once the profile
moves by less than 0.1 %). One round left buying fleets priced at a profile unlike the one they mine
(national NPV 0.40 against the sites' 0.73 $B at BTC $140 k, and fleets with negative NPV in the
explorer grid); two agree with four to 0.01 % on the real data's bands and NPVs (checked)."""


def _profile(X: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Year profile of a fleet hashrate (mean 1), the previous one where the fleet is empty."""
    m = X.mean(1, keepdims=True)
    return np.where(m > 0, X / np.where(m > 0, m, 1.0), previous)


def _best(cum, arg, pmax, qq, jf, frac, pos_cap, J: int, D: int):
    """Best NPV per unit wasted MW and its level position for sites of classes ``qq`` whose size
    is capped at ``pos_cap`` levels (``jf`` whole levels + ``frac``): the best grid level at or
    below the cap, or the cap itself (linear within its slab). ``cum`` / ``arg`` / ``pmax``:
    (D, classes, levels + 1)."""
    vg = pmax[:, qq, jf]
    ag = arg[:, qq, jf]
    c0 = cum[:, qq, jf]
    c1 = cum[:, qq, np.minimum(jf + 1, J)]
    vc = np.where(jf < J, c0 + np.where(frac > 0, frac, 0.0) * (c1 - c0), -np.inf)
    take_cap = vc > vg
    return np.where(take_cap, vc, vg), np.where(take_cap, pos_cap, ag.astype(float))


def _top_level(cum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last level of :func:`_prefix_max` alone: the index of the maximum along the last axis
    (the first on ties) and the maximum (the value there), without the running arrays. With a
    NaN along the axis, the running version's answer (its index stays on the last number)."""
    arg = np.argmax(cum, axis=-1)
    top = np.take_along_axis(cum, arg[..., None], axis=-1)[..., 0]
    if np.isnan(top).any():  # argmax stops at a NaN, the running best steps over it
        arg, run = _prefix_max(cum)
        return arg[..., -1], run[..., -1]
    return arg, top


def _prefix_max(cum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the running maximum along the last axis (the first index on ties: the smaller
    fleet) and the running maximum itself (the value at that index; a maximum equal to zero may
    carry either sign). A value is a new maximum where it exceeds the maximum before it.

    Works levels first (one contiguous slice a level; the few levels are a loop) and returns
    views in the layout of ``cum``.
    """
    c = np.ascontiguousarray(np.moveaxis(cum, -1, 0))
    run = np.empty_like(c)
    run[0] = c[0]
    for j in range(1, len(c)):
        np.maximum(run[j - 1], c[j], out=run[j])
    new = np.ones(c.shape, dtype=bool)
    np.greater(c[1:], run[:-1], out=new[1:])
    arg = np.where(new, np.arange(len(c)).reshape((-1,) + (1,) * (c.ndim - 1)), 0)
    for j in range(1, len(c)):
        np.maximum(arg[j - 1], arg[j], out=arg[j])
    if np.isnan(run[-1]).any():  # past a NaN the index stays on the last number
        run = np.take_along_axis(c, arg, axis=0)
    return np.moveaxis(arg, 0, -1), np.moveaxis(run, 0, -1)


# ------------------------------------------------------------------------------------ public API


@dataclass
class FleetResult:
    """What :func:`fleet_economics` returns.

    Attributes
    ----------
    sites
        one row per profile site (same order): fleet_mw, in_fleet, mode ("wasted", "buys" or ""),
        npv_usd, capex_usd, and life averages a year: wasted_mwh_per_year, bought_mwh_per_year,
        hours_mined, hours_curtailed, mwh_curtailed, hashrate_ehs, btc_per_year, revenue_usd,
        energy_cost_usd, co2_t (by consequence), plus site_id, category, ledger.
    national
        installed and average GW, EH/s, share of network (u.H / (N + u.H)), BTC a year, NPV, IRR,
        payback (None: not within the machines' life), capex, hours mined, MWh curtailed, CO2.
    ledgers
        the same split by the ledger the energy came from ("wasted", "bought").
    projection
        one row per year of the machines' life.
    supply_curve
        the bought ledger's GW, EH/s and BTC a year under an energy price cap, next to the
        wasted ledger's totals.
    """

    sites: pd.DataFrame
    national: dict
    ledgers: dict
    projection: list[dict]
    supply_curve: list[dict]
    assumptions: dict = field(default_factory=dict)
    model: _Model | None = field(default=None, repr=False)
    base_inputs: _Inputs | None = field(default=None, repr=False)
    base_X: np.ndarray | None = field(default=None, repr=False)


def _network_ehs(config: EstimatesConfig, network_ehs: float | None) -> float:
    if network_ehs is not None:
        return float(network_ehs)
    if config.network.hashrate_ehs == "from_data":
        raise GisError(
            "the network hashrate is 'from_data' but no value was passed",
            field="estimates.network.hashrate_ehs",
            fix="pass network_ehs (resolved from the btc_network layer) or set a number",
        )
    return float(config.network.hashrate_ehs)


def _base_inputs(config: EstimatesConfig, network_ehs: float) -> _Inputs:
    one = np.ones(1)
    return _Inputs(
        btc_price_usd=one * config.market.btc_price_usd,
        btc_growth=one * config.fleet.btc_price_growth_per_year,
        network_ehs=one * network_ehs,
        network_growth=one * config.network.growth_per_year,
        fees=one * config.network.fees_btc_per_block,
        efficiency_j_th=one * asic_model(config.asic_model).efficiency_j_th,
        pue=one * config.pue,
        price_scale=one.copy(),
        capex_scale=one.copy(),
        capacity_scale=np.ones((1, len(CATEGORIES))),
    )


def _inputs_from_draws(config: EstimatesConfig, network_ehs: float, x: dict[str, np.ndarray]) -> _Inputs:
    """Map the uncertainty draws (gis.estimates.uncertainty names) to the fleet's inputs. ``uptime``
    is not used: the dispatch decides the hours mined."""
    n = len(x["btc_price_usd"])
    eff = asic_model(config.asic_model).efficiency_j_th
    cap = np.asarray(x["capacity_scale"], dtype=float)
    if cap.ndim == 1:
        cap = np.repeat(cap[:, None], len(CATEGORIES), axis=1)
    return _Inputs(
        btc_price_usd=np.asarray(x["btc_price_usd"], dtype=float).reshape(n),
        btc_growth=np.asarray(x["btc_price_growth_per_year"], dtype=float).reshape(n),
        network_ehs=network_ehs * np.asarray(x["network_ehs_scale"], dtype=float).reshape(n),
        network_growth=np.asarray(x["network_growth_per_year"], dtype=float).reshape(n),
        fees=np.asarray(x["fees_btc_per_block"], dtype=float).reshape(n),
        efficiency_j_th=eff * np.asarray(x["efficiency_scale"], dtype=float).reshape(n),
        pue=np.asarray(x["pue"], dtype=float).reshape(n),
        price_scale=np.asarray(x["energy_cost_scale"], dtype=float).reshape(n),
        capex_scale=np.asarray(x["capex_scale"], dtype=float).reshape(n),
        capacity_scale=cap,
    )


def _cash_flows(sol: _Solution, sched: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """(D, Y+1) cash flows (capex now, then yearly margins) and (D,) NPV."""
    revenue = sol.R * (sol.wasted_mwh + sol.bought_mwh)
    margin = revenue - sol.energy_cost
    cf = np.concatenate([-sol.capex[:, None], margin], axis=1)
    npv = -sol.capex + margin @ sched.discount
    return cf, npv


def _payback_vec(cf: np.ndarray) -> np.ndarray:
    """(D,) payback years from cash flows (D, Y+1); inf when not within the life."""
    cum = np.cumsum(cf, axis=1)
    ok = cum >= 0
    first = np.where(ok.any(axis=1), ok.argmax(axis=1), -1)
    out = np.full(len(cf), np.inf)
    rows = np.nonzero(first > 0)[0]
    t = first[rows]
    prev = cum[rows, t - 1]
    out[rows] = t - 1 + (-prev) / (cum[rows, t] - prev)
    out[first == 0] = 0.0
    return out


def _final_choice(model: _Model, inp: _Inputs, sol: _Solution) -> dict:
    """Per-site fleet of a one-draw solution, (S,) arrays: the sites in the fleet priced at the
    bracket's high end, plus the marginal sites (in the fleet priced at its low end) by rank,
    stable, until their share ``theta`` of the marginal MW is filled."""
    S = len(model.s.pair)
    mk = model.market(inp)
    _, lo, _, _ = model.response(inp, sol.X_hi, mk, per_site=True)  # the smaller fleet
    _, hi, _, _ = model.response(inp, sol.X_lo, mk, per_site=True)  # the larger fleet
    idx = lo["idx"]
    marginal = hi["mw"][0] > lo["mw"][0] + 1e-9
    extra = np.where(marginal, hi["mw"][0] - lo["mw"][0], 0.0)
    order = np.lexsort((np.arange(len(idx)), model.s.rank[idx]))
    before = np.cumsum(extra[order]) - extra[order]
    take = np.zeros(len(idx), dtype=bool)
    take[order] = marginal[order] & (before < sol.theta[0] * extra.sum() - 1e-9)
    out = {}
    for k in ("mode", "npv", "pos", "ext", "mw", "capex", "wm"):
        full = np.zeros(S, dtype=lo[k].dtype)
        full[idx] = np.where(take, hi[k][0], lo[k][0])
        out[k] = full
    return out


def _cum_levels(a: np.ndarray, axis: int = 1) -> np.ndarray:
    """Running sums of slab values along ``axis``, led by a zero: the value of a fleet filled to
    each level (levels + 1 along ``axis``)."""
    shape = list(a.shape)
    shape[axis] = 1
    return np.concatenate([np.zeros(shape), np.cumsum(a, axis=axis)], axis=axis)


def _at_level(cum: np.ndarray, p: np.ndarray, lo: np.ndarray, hi: np.ndarray, fr: np.ndarray) -> np.ndarray:
    """Per site, ``cum`` (pairs, levels + 1, ...) of its pair ``p`` at level position ``lo + fr``
    (linear between the levels ``lo`` and ``hi``)."""
    w = fr.reshape(fr.shape + (1,) * (cum.ndim - 2))
    return cum[p, lo] * (1 - w) + cum[p, hi] * w


@dataclass
class _SiteFleet:
    """A one-draw fleet per site (S,): ``u`` (S, Y) 1 where its class uses wasted energy, its
    mode (``keep``: in the fleet, ``buys``: mode 2), wasted MW ``wm`` (0 out of the fleet), level
    position ``pos`` (``lo`` + ``fr``, ``hi``), MW beyond the wasted MW ``ext``, MW at the
    level ``level_mw``, and its pair ``p``."""

    u: np.ndarray
    mode: np.ndarray
    keep: np.ndarray
    buys: np.ndarray
    wm: np.ndarray
    pos: np.ndarray
    ext: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    fr: np.ndarray
    level_mw: np.ndarray
    p: np.ndarray

    @classmethod
    def of(cls, model: _Model, inp: _Inputs, Rp: np.ndarray, choice: dict) -> _SiteFleet:
        s, J = model.s, model.J
        used = s.class_cost[:, None] < Rp[0][None, :]  # (Q, Y)
        if inp.price_cap is not None:
            used &= s.class_cost[:, None] <= float(inp.price_cap[0] / inp.price_scale[0])
        mode = choice["mode"]
        keep = mode > 0
        wm = np.where(keep, choice["wm"], 0.0)
        pos = choice["pos"]
        lo = np.minimum(np.floor(pos).astype(np.int64), J)
        return cls(
            u=used[s.klass].astype(float),
            mode=mode,
            keep=keep,
            buys=mode == 2,
            wm=wm,
            pos=pos,
            ext=choice["ext"],
            lo=lo,
            hi=np.minimum(lo + 1, J),
            fr=pos - lo,
            level_mw=wm * pos / J,
            p=s.pair,
        )


def _site_prices(model: _Model, inp: _Inputs, Rp: np.ndarray) -> dict[str, np.ndarray]:
    """The tables read at a one-draw threshold (revenue ``Rp`` or the price cap, per year): per
    site (S, Y) ``Wn`` / ``PWn`` / ``IWn`` (a MW buying every cheap hour at its node: MWh, USD,
    t CO2; 0 without a node), ``hours_n`` (S,), ``Zp`` hours without wasted energy bought; per
    pair (P, levels, Y) ``Wp`` / ``PWp`` / ``IWp`` the slabs' cheap-hour sums."""
    s, t = model.s, model.t
    i, f = _lerp_index(t.grid, inp.threshold(Rp)[0])  # (Y,)

    def at(table: np.ndarray) -> np.ndarray:
        return table[..., i] * (1 - f) + table[..., i + 1] * f

    S, Y = len(s.pair), len(i)
    node = np.maximum(s.node, 0)
    has_node = s.node >= 0
    if t.Wn.shape[0]:
        Wn, PWn, IWn = at(t.Wn)[node], at(t.PWn)[node], at(t.IWn)[node]  # (S, Y)
        hours_n = t.hours_n[node]
    else:
        Wn = PWn = IWn = np.zeros((S, Y))
        hours_n = np.zeros(S)
    Wn, PWn, IWn = (np.where(has_node[:, None], a, 0.0) for a in (Wn, PWn, IWn))
    Wp, PWp, IWp = at(t.W), at(t.PW), at(t.IW)  # (P, J, Y)
    return {
        "Wn": Wn,
        "PWn": PWn,
        "IWn": IWn,
        "hours_n": hours_n,
        "Wp": Wp,
        "PWp": PWp,
        "IWp": IWp,
        "Zp": at(t.Z)[s.pair],
    }


def _site_bought(fl: _SiteFleet, lk: dict) -> dict[str, np.ndarray]:
    """Per buying site (S, Y): grid MWh ``bought``, its cost ``cost_b`` (USD, unscaled) and
    ``co2_b`` (t), and ``b_u`` the MWh its slabs buy in the years wasted energy is used."""
    u, wm, ext, lm, b = fl.u, fl.wm[:, None], fl.ext[:, None], fl.level_mw[:, None], fl.buys[:, None]

    def slabs(a: np.ndarray) -> np.ndarray:
        return _at_level(_cum_levels(a), fl.p, fl.lo, fl.hi, fl.fr)  # (S, Y)

    b_u = slabs(lk["Wp"]) * wm
    bought = np.where(b, u * b_u + (1 - u) * lm * lk["Wn"] + ext * lk["Wn"], 0.0)
    cost_b = np.where(b, u * slabs(lk["PWp"]) * wm + ((1 - u) * lm + ext) * lk["PWn"], 0.0)
    co2_b = np.where(b, u * slabs(lk["IWp"]) * wm + ((1 - u) * lm + ext) * lk["IWn"], 0.0)
    return {"bought": bought, "cost_b": cost_b, "co2_b": co2_b, "b_u": b_u}


def _site_hours(model: _Model, fl: _SiteFleet, lk: dict, b_u: np.ndarray) -> dict[str, np.ndarray]:
    """Per site (S, Y): hours mined and curtailed (hours of the year) and the MWh a buying
    fleet leaves idle (``mwh_curtailed``)."""
    t = model.t
    u, p, Wn = fl.u, fl.p, lk["Wn"]
    hw = t.hours_wasted[p][:, None]
    hours_mined = np.where(
        fl.mode[:, None] == 1,
        u * hw,
        np.where(fl.buys[:, None], u * (hw + lk["Zp"]) + (1 - u) * Wn, 0.0),
    )
    hours_mined = np.where((fl.ext > 0)[:, None] & (fl.wm <= 0)[:, None], Wn, hours_mined)
    hours_curtailed = np.where(fl.keep[:, None], t.hours[p][:, None] - hours_mined, 0.0)
    b_cap = _at_level(_cum_levels(t.B), p, fl.lo, fl.hi, fl.fr) * fl.wm
    idle = lk["hours_n"][:, None] - Wn
    idle_u = b_cap[:, None] - b_u + fl.ext[:, None] * idle
    idle_n = (fl.level_mw + fl.ext)[:, None] * idle
    mwh_curtailed = np.where(fl.buys[:, None], u * idle_u + (1 - u) * idle_n, 0.0)
    return {"hours_mined": hours_mined, "hours_curtailed": hours_curtailed, "mwh_curtailed": mwh_curtailed}


def _site_table(
    model: _Model, inp: _Inputs, R: np.ndarray, choice: dict, market: tuple, profiles: SurplusProfiles
) -> tuple[pd.DataFrame, dict]:
    """Per-site figures (life averages a year) of a one-draw fleet priced at revenue ``R`` (1, Y),
    and the yearly arrays (sites x years) behind them; BTC with the fleet's own dilution."""
    s = model.s
    Rp = R / inp.price_scale[:, None]
    fl = _SiteFleet.of(model, inp, Rp, choice)
    e_cum = _at_level(_cum_levels(model.t.E), fl.p, fl.lo, fl.hi, fl.fr)
    wasted = fl.u * (fl.wm * e_cum)[:, None] * fl.keep[:, None]
    lk = _site_prices(model, inp, Rp)
    b = _site_bought(fl, lk)
    h = _site_hours(model, fl, lk, b["b_u"])
    cost = (wasted * s.wasted_cost[:, None] + b["cost_b"]) * inp.price_scale[0]
    energy = wasted + b["bought"]
    x_i = energy / (HOURS_PER_YEAR * inp.pue[0] * inp.efficiency_j_th[0])
    X = x_i.sum(0)
    issuance, price, network = (m[0] for m in market)
    btc = issuance[None, :] * x_i / (network + X)[None, :]
    co2 = wasted * s.co2_net[:, None] + b["co2_b"]
    by_year = {"wasted": wasted, "bought": b["bought"], "cost": cost, "btc": btc, "co2": co2, "X": X, **h}
    ps = profiles.sites
    mode = fl.mode
    out = pd.DataFrame(
        {
            "site_id": ps["site_id"].to_numpy(),
            "category": ps["category"].to_numpy(),
            "ledger": ps["ledger"].to_numpy(),
            "in_fleet": fl.keep,
            "mode": np.where(mode == 1, "wasted", np.where(mode == 2, "buys", "")),
            "fleet_mw": choice["mw"],
            "npv_usd": choice["npv"],
            "capex_usd": choice["capex"],
            "wasted_mwh_per_year": wasted.mean(1),
            "bought_mwh_per_year": b["bought"].mean(1),
            "hours_mined": h["hours_mined"].mean(1),
            "hours_curtailed": h["hours_curtailed"].mean(1),
            "mwh_curtailed": h["mwh_curtailed"].mean(1),
            "hashrate_ehs": x_i.mean(1),
            "btc_per_year": btc.mean(1),
            "revenue_usd": (btc * price[None, :]).mean(1),
            "energy_cost_usd": cost.mean(1),
            "co2_t": co2.mean(1),
        }
    )
    return out, by_year


def _supply_curve(model: _Model, inp: _Inputs, sol: _Solution, caps: np.ndarray) -> list[dict]:
    """GW (average), EH/s and BTC a year (first year, diluted with the wasted ledger's fleet) the
    bought ledger could supply if every buying site ran its max_mw in the hours priced below a cap."""
    s, t = model.s, model.t
    pue, eff = inp.pue[0], inp.efficiency_j_th[0]
    wasted_ehs = sol.wasted_mwh[0, 0] / (HOURS_PER_YEAR * pue * eff)
    rows: list[dict] = []
    if t.Wn.shape[0] == 0:
        return rows
    buy = s.can_buy
    mw_node = np.bincount(s.node[buy], weights=s.max_mw[buy], minlength=t.Wn.shape[0])
    for cap in caps:
        i, f = _lerp_index(t.grid, np.array([cap / inp.price_scale[0]]))
        hours = t.Wn[:, i[0]] * (1 - f[0]) + t.Wn[:, i[0] + 1] * f[0]
        mwh = float(mw_node @ hours)
        ehs = mwh / (HOURS_PER_YEAR * pue * eff)
        btc = sol.issuance[0, 0] * ehs / (sol.network[0, 0] + wasted_ehs + ehs)
        rows.append(
            {
                "price_cap_usd_mwh": float(cap),
                "bought_gw_average": mwh / HOURS_PER_YEAR / 1e3,
                "bought_twh_per_year": mwh / 1e6,
                "bought_ehs": ehs,
                "bought_btc_per_year": float(btc),
                "wasted_gw_average": float(sol.wasted_mwh[0, 0] / HOURS_PER_YEAR / 1e3),
                "wasted_ehs": float(wasted_ehs),
                "revenue_usd_mwh_year_one": float(sol.R[0, 0]),
            }
        )
    return rows


def fleet_economics(
    profiles: SurplusProfiles,
    sites: pd.DataFrame | None,
    config: EstimatesConfig,
    *,
    network_ehs: float | None = None,
    grid_topup: bool | None = None,
    price_caps: np.ndarray | None = None,
    tables: tuple[Tables, np.ndarray] | None = None,
) -> FleetResult:
    """The NPV-sized fleet on the hourly profiles, solved with its own dilution.

    Parameters
    ----------
    profiles
        hourly wasted energy and buy prices per site (the energy stage's contract).
    sites
        aligned row by row with ``profiles.sites``: ``score`` and ``rank`` (lower is better) for the
        named rules, optional ``excluded``; None: every site eligible, ranked in order.
    config
        the scenario's estimates tables (``[estimates.fleet]`` among them).
    network_ehs
        network hashrate without the fleet (EH/s) when the scenario says "from_data".
    grid_topup
        None: each site buys as ``profiles.sites.can_buy`` says; False: only ``bought``-ledger
        sites buy; True: every site with a market node may buy.
    price_caps
        USD/MWh caps of the supply curve (default 0, 10, ..., 150).
    tables
        :func:`fleet_tables` of these ``profiles``, ``config`` and ``grid_topup``, made before
        (they depend on neither the ranking nor the network); None: made here.

    Returns
    -------
    FleetResult
    """
    started = time.perf_counter()
    n_ehs = _network_ehs(config, network_ehs)
    t, site_pair = tables if tables is not None else fleet_tables(profiles, config, grid_topup)
    model = _Model(t, _site_arrays(profiles, sites, site_pair, grid_topup), config, schedule(config))
    inp = _base_inputs(config, n_ehs)
    sol = model.solve(inp)
    mk = model.market(inp)
    table, by_year = _site_table(model, inp, sol.R, _final_choice(model, inp, sol), mk, profiles)
    y = _fleet_years(model, inp, sol, mk, table, by_year)
    national = _national(config, inp, sol, table, y)
    national["seconds"] = time.perf_counter() - started
    caps = np.arange(0.0, 151.0, 10.0) if price_caps is None else np.asarray(price_caps, dtype=float)
    return FleetResult(
        sites=table,
        national=national,
        ledgers=_ledgers(model, table, by_year, y, national),
        projection=_projection(model.sched, sol, table, by_year, y),
        supply_curve=_supply_curve(model, inp, sol, caps),
        assumptions={"formulas": dict(_FORMULAS)},
        model=model,
        base_inputs=inp,
        base_X=sol.X,
    )


def fleet_tables(
    profiles: SurplusProfiles, config: EstimatesConfig, grid_topup: bool | None = None
) -> tuple[Tables, np.ndarray]:
    """:func:`build_tables` at the scenario's levels and revenue grid, with buying tables for
    the pairs of the sites that may buy; and each site's pair (S,)."""
    cf = config.fleet
    return build_tables(
        profiles,
        levels=cf.levels,
        price_step=cf.price_step_usd_mwh,
        price_max=cf.price_max_usd_mwh,
        buys=_can_buy(profiles.sites, grid_topup),
    )


_FORMULAS = {
    "hashprice": "I_y / 365 x p_y / ((N_y + X_y) x 1e6) USD per TH/s per day",
    "revenue_per_mwh": "hashprice / (J/TH x 2.4e-5 MWh) / PUE",
    "share_of_network": "X / (N + X), X the fleet's average hashrate (hours mined inside)",
    "npv": "-capex + sum_t margin_t / (1 + r)^t over the ASIC life, end-of-year flows, no salvage",
    "capex": "MW x (ASIC $/TH x TH/MW + site $/MW) + spur_km x $/km if the site buys",
}
"""The formulas :func:`fleet_economics` reports among its assumptions."""


def _fleet_years(model: _Model, inp: _Inputs, sol: _Solution, mk: tuple, table: pd.DataFrame, by_year: dict):
    """The one-draw fleet's national figures per year (Y,): wasted / bought MWh and their sum
    ``energy``, fleet ``X`` and network ``N`` (EH/s), hashprice ``hp`` (USD per TH/s per day),
    revenue ``R`` (USD/MWh), ``btc``, ``revenue`` / ``cost`` / ``margin`` (USD); its ``capex``
    (USD), cash flows ``cf`` (capex now, then the margins) and ``npv`` (USD)."""
    wasted, bought = by_year["wasted"].sum(0), by_year["bought"].sum(0)
    X = by_year["X"]
    hp, R = model.revenue(inp, X[None, :], mk)
    btc = by_year["btc"].sum(0)
    revenue = btc * sol.price[0]
    cost = by_year["cost"].sum(0)
    margin = revenue - cost
    capex = float(table["capex_usd"].sum())
    return {
        "wasted": wasted,
        "bought": bought,
        "energy": wasted + bought,
        "X": X,
        "N": sol.network[0],
        "hp": hp[0],
        "R": R[0],
        "btc": btc,
        "revenue": revenue,
        "cost": cost,
        "margin": margin,
        "capex": capex,
        "cf": np.concatenate([[-capex], margin]),
        "npv": -capex + margin @ model.sched.discount,
    }


def _projection(sched: Schedule, sol: _Solution, table: pd.DataFrame, by_year: dict, y: dict) -> list[dict]:
    """One row per year of the machines' life (money in USD, energy in MWh, hashrate in EH/s)."""
    rows = []
    cum = -y["capex"]
    keep = table["in_fleet"].to_numpy()
    fleet_mw = table["fleet_mw"].to_numpy()
    X, N, btc, energy = y["X"], y["N"], y["btc"], y["energy"]
    for t in range(len(sched.years)):
        cum += y["margin"][t]
        rows.append(
            {
                "year": int(sched.years[t]),
                "block_subsidy_btc": float(sched.block_subsidy_btc[t]),
                "halvings_in_year": int(sched.halvings[t]),
                "issuance_btc": float(sol.issuance[0, t]),
                "network_ehs": float(N[t]),
                "btc_price_usd": float(sol.price[0, t]),
                "fleet_ehs": float(X[t]),
                "share_of_network": float(X[t] / (N[t] + X[t])),
                "hashprice_usd_per_ph_day": float(y["hp"][t] * 1e3),
                "revenue_usd_per_mwh": float(y["R"][t]),
                "wasted_mwh": float(y["wasted"][t]),
                "bought_mwh": float(y["bought"][t]),
                "btc": float(btc[t]),
                "btc_wasted": float(btc[t] * y["wasted"][t] / energy[t]) if energy[t] > 0 else 0.0,
                "btc_bought": float(btc[t] * y["bought"][t] / energy[t]) if energy[t] > 0 else 0.0,
                "revenue_usd": float(y["revenue"][t]),
                "energy_cost_usd": float(y["cost"][t]),
                "margin_usd": float(y["margin"][t]),
                "cumulative_cash_usd": float(cum),
                "hours_mined_mw_weighted": float(
                    np.average(by_year["hours_mined"][keep, t], weights=fleet_mw[keep])
                )
                if fleet_mw[keep].sum() > 0
                else 0.0,
                "mwh_curtailed": float(by_year["mwh_curtailed"][:, t].sum()),
                "co2_t": float(by_year["co2"][:, t].sum()),
            }
        )
    return rows


def _national(config: EstimatesConfig, inp: _Inputs, sol: _Solution, table: pd.DataFrame, y: dict) -> dict:
    """The one-draw fleet's national figures (GW, EH/s, BTC, USD, Mt CO2; see :class:`FleetResult`)."""
    cf = config.fleet
    pue, eff = inp.pue[0], inp.efficiency_j_th[0]
    X, N, btc, energy, capex = y["X"], y["N"], y["btc"], y["energy"], y["capex"]
    payback = payback_years(y["cf"]) if capex > 0 else None
    mw = float(table["fleet_mw"].to_numpy().sum())
    return {
        "rule": config.selection.rule,
        "sites_in_fleet": int(table["in_fleet"].to_numpy().sum()),
        "installed_gw": mw / 1e3,
        "average_gw": float(energy.mean() / HOURS_PER_YEAR / 1e3),
        "utilisation": float(energy.mean() / HOURS_PER_YEAR / mw) if mw > 0 else 0.0,
        "hashrate_installed_ehs": mw / (pue * eff),
        "hashrate_average_ehs": float(X.mean()),
        "share_of_network_year_one": float(X[0] / (N[0] + X[0])),
        "btc_per_year": float(btc.mean()),
        "btc_year_one": float(btc[0]),
        "btc_by_year": [float(b) for b in btc],
        "capex_usd": capex,
        "npv_usd": float(y["npv"]),
        "irr": irr(y["cf"]) if capex > 0 else None,
        "payback_years": payback,
        "payback": f"{payback:.1f} years"
        if payback is not None
        else ("no fleet" if not capex > 0 else "not within the machines' life"),
        "discount_rate": cf.discount_rate,
        "asic_life_years": cf.asic_life_years,
        "revenue_usd_per_mwh_year_one": float(y["R"][0]),
        "hashprice_usd_per_ph_day_year_one": float(y["hp"][0] * 1e3),
        "mwh_curtailed_per_year": float(table["mwh_curtailed"].sum()),
        "co2_mt_per_year": float(table["co2_t"].sum() / 1e6),
        "fixed_point_residual": float(np.max(np.abs(X - sol.X[0]) / np.maximum(X + sol.X[0], 1e-9))),
        "marginal_share_theta": float(sol.theta[0]),
    }


def _ledgers(model: _Model, table: pd.DataFrame, by_year: dict, y: dict, national: dict) -> dict:
    """The national figures split by the ledger the energy came from ("wasted", "bought")."""
    keep = table["in_fleet"].to_numpy()
    X, btc, energy = y["X"], y["btc"], y["energy"]
    ledgers = {}
    for name in ("wasted", "bought"):
        mwh = y[name]
        share = np.divide(mwh, energy, out=np.zeros_like(energy), where=energy > 0)
        ledgers[name] = {
            "twh_per_year": float(mwh.mean() / 1e6),
            "average_gw": float(mwh.mean() / HOURS_PER_YEAR / 1e3),
            "hashrate_average_ehs": float((X * share).mean()),
            "btc_per_year": float((btc * share).mean()),
            "installed_gw_of_sites": float(
                table.loc[keep & (table["ledger"] == name).to_numpy(), "fleet_mw"].sum() / 1e3
            ),
        }
    ledgers["wasted"]["co2_mt_per_year"] = float(
        (by_year["wasted"] * model.s.co2_net[:, None]).sum(0).mean() / 1e6
    )
    ledgers["bought"]["co2_mt_per_year"] = national["co2_mt_per_year"] - ledgers["wasted"]["co2_mt_per_year"]
    return ledgers


MC_METRICS = (
    "installed_gw",
    "average_gw",
    "hashrate_average_ehs",
    "btc_per_year",
    "btc_year_one",
    "npv_usd",
    "payback_years",
    "share_of_network_year_one",
    "wasted_average_gw",
    "wasted_btc_per_year",
    "bought_average_gw",
    "bought_btc_per_year",
)
"""Metrics the Monte Carlo gives P10 / P50 / P90 of."""


def _metrics(model: _Model, inp: _Inputs, sol: _Solution) -> dict[str, np.ndarray]:
    energy = sol.wasted_mwh + sol.bought_mwh
    X, N = sol.X, sol.network
    btc = sol.issuance * X / (N + X)
    share_w = np.divide(sol.wasted_mwh, energy, out=np.zeros_like(energy), where=energy > 0)
    cf, npv = _cash_flows(sol, model.sched)
    return {
        "installed_gw": sol.installed_mw / 1e3,
        "average_gw": energy.mean(1) / HOURS_PER_YEAR / 1e3,
        "hashrate_average_ehs": X.mean(1),
        "btc_per_year": btc.mean(1),
        "btc_year_one": btc[:, 0],
        "npv_usd": npv,
        "payback_years": np.where(sol.capex > 0, _payback_vec(cf), np.nan),  # nan: no fleet
        "share_of_network_year_one": X[:, 0] / (N[:, 0] + X[:, 0]),
        "wasted_average_gw": sol.wasted_mwh.mean(1) / HOURS_PER_YEAR / 1e3,
        "wasted_btc_per_year": (btc * share_w).mean(1),
        "bought_average_gw": sol.bought_mwh.mean(1) / HOURS_PER_YEAR / 1e3,
        "bought_btc_per_year": (btc * (1 - share_w)).mean(1),
    }


MIN_DRAWS_PER_PROCESS = 1_000
"""Draws below which a second process costs more (its start, the results' way back) than it saves."""

CHUNK_DRAWS = 256
"""Draws solved together (:func:`monte_carlo`, :func:`evaluate_points`). Each bisection step costs
a fixed number of array operations whatever the chunk, so larger chunks spend less time between
them: on the national data the default 8,192 draws in one process took 2.2-3.4 s in chunks of 100
and 2.1-2.7 s in chunks of 256 (5-20 % less, the more the slower the machine ran at the time; in
``gis run``'s two processes about 3 % less), the bands the same to the bit there. A draw's solve
never sees another draw, but a chunk's shape can move the last digits (numpy adds rows of other
lengths in another order: about 1e-15 of a band on synthetic data; 1e-10 for one draw at a
time, whose classes valued differ). The chunk's arrays peak near 20 MB at 256 (traced: 9 MB at
100, 53 MB at 800); a power of two, so the default draws split evenly among processes."""


def _solve_chunks(
    model: _Model, inp: _Inputs, X0: np.ndarray | None, chunk: int, steps: int | None = None
) -> dict[str, np.ndarray]:
    """Every draw solved, chunk by chunk; with more than one core (:func:`gis.config.settings.processes`)
    and enough draws, the chunks are shared among forked processes, each solving whole chunks in
    order, so the result is the same to the bit (a chunk's solve never sees another chunk)."""
    starts = list(range(0, inp.draws, chunk))
    workers = min(_processes(), len(starts), max(1, inp.draws // MIN_DRAWS_PER_PROCESS))
    if workers <= 1:
        return _solve_range(model, inp, X0, chunk, steps, starts)
    shares = [list(part) for part in np.array_split(np.asarray(starts), workers)]
    return _in_processes(model, inp, X0, chunk, steps, shares)


def _processes() -> int:
    import multiprocessing

    from gis.config.settings import processes

    return processes() if "fork" in multiprocessing.get_all_start_methods() else 1


def _solve_range(
    model: _Model, inp: _Inputs, X0: np.ndarray | None, chunk: int, steps: int | None, starts: list[int]
) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in MC_METRICS}
    for start in starts:
        part = inp.take(slice(start, start + chunk))
        sol = model.solve(part, X0=X0, steps=steps)
        for k, val in _metrics(model, part, sol).items():
            parts[k].append(val)
    return {k: np.concatenate(v) for k, v in parts.items()}


def _in_processes(
    model: _Model, inp: _Inputs, X0: np.ndarray | None, chunk: int, steps: int | None, shares: list[list[int]]
) -> dict[str, np.ndarray]:
    """The shares of chunks solved by forked processes (:class:`gis.forked.Forked`: they inherit the
    model, only their results are sent back) and the last share by this process, joined in order."""
    from gis.forked import Forked

    children = [
        Forked(functools.partial(_solve_range, model, inp, X0, chunk, steps, share)) for share in shares[:-1]
    ]
    try:
        mine = _solve_range(model, inp, X0, chunk, steps, shares[-1])
        results = [child.result() for child in children] + [mine]
    except BaseException:
        for child in children:
            child.cancel()
        raise
    return {k: np.concatenate([r[k] for r in results]) for k in MC_METRICS}


def monte_carlo(
    result: FleetResult,
    config: EstimatesConfig,
    *,
    draws: int | None = None,
    chunk: int = CHUNK_DRAWS,
    steps: int = 12,
) -> dict:
    """Seeded bands over the uncertain inputs, re-sizing and re-selecting the fleet in every draw.

    Every draw solves the fleet and its dilution again (vectorised over a chunk of draws). Returns
    ``{"draws", "bands": {metric: {p10, p50, p90, central}}, "share_with_a_fleet",
    "share_paying_back" (within the machines' life), "sensitivity": [rows]}`` (payback bands over
    the draws with a fleet; None: not within the life); sensitivity moves one input at a time to
    its low and high (the others central), re-selecting the fleet, largest NPV swing first.
    """
    from gis.estimates import uncertainty

    model, base_inputs = _model_of(result)
    cfg = (
        config
        if draws is None
        else config.model_copy(update={"uncertainty": config.uncertainty.model_copy(update={"draws": draws})})
    )
    n_ehs = float(base_inputs.network_ehs[0])
    X0 = result.base_X
    inp = _inputs_from_draws(cfg, n_ehs, uncertainty.draw_inputs(cfg))
    values = _solve_chunks(model, inp, X0, chunk, steps)
    central = _metrics(model, base_inputs, model.solve(base_inputs, X0=X0, steps=steps))
    rows, xs = uncertainty.one_at_a_time(cfg)
    sens = []
    if rows:  # one at a time: every ranged input at its low and its high, solved as one batch
        sens = _sensitivity(rows, _solve_chunks(model, _inputs_from_draws(cfg, n_ehs, xs), X0, chunk, steps))
    return {
        "draws": int(inp.draws),
        "seed": cfg.uncertainty.seed,
        "bands": _bands(values, central),
        "share_with_a_fleet": float(np.mean(~np.isnan(values["payback_years"]))),
        "share_paying_back": float(np.mean(np.isfinite(values["payback_years"]))),
        "sensitivity": sens,
        "not_drawn": ["uptime: the hourly dispatch decides the hours mined"],
    }


def _model_of(result: FleetResult) -> tuple[_Model, _Inputs]:
    """The solved model a :func:`fleet_economics` result carries, and its central inputs."""
    if result.model is None or result.base_inputs is None:
        raise GisError("the fleet result carries no model", fix="pass the result of fleet_economics")
    return result.model, result.base_inputs


def _bands(values: dict[str, np.ndarray], central: dict[str, np.ndarray]) -> dict:
    """P10 / P50 / P90 of each of :data:`MC_METRICS` over the draws, and its central value;
    payback over the draws with a fleet (nearest draw; None: not within the machines' life)."""
    bands = {}
    for k in MC_METRICS:
        v = values[k]
        if k == "payback_years":  # over the draws with a fleet; inf: not within the machines' life
            v = v[~np.isnan(v)] if np.any(~np.isnan(v)) else np.array([np.nan])
            p10, p50, p90 = np.percentile(v, [10, 50, 90], method="nearest")
        else:
            p10, p50, p90 = np.percentile(v, [10, 50, 90])
        bands[k] = {
            "p10": _finite(p10),
            "p50": _finite(p50),
            "p90": _finite(p90),
            "central": _finite(central[k][0]),
        }
    return bands


def _sensitivity(rows: list[tuple[str, str, float]], sv: dict[str, np.ndarray]) -> list[dict]:
    """One row per ranged input from the solved batch ``sv`` (its low, then its high, per input,
    in the order of ``rows``): NPV (USD), installed GW and BTC a year at both ends and the
    swings, largest NPV swing first."""
    sens: list[dict[str, Any]] = []
    for lo in range(0, len(rows), 2):
        name, hi = rows[lo][0], lo + 1
        sens.append(
            {
                "input": name,
                "meaning": UNCERTAIN_INPUTS[name],
                "low": rows[lo][2],
                "high": rows[hi][2],
                "npv_usd_at_low": float(sv["npv_usd"][lo]),
                "npv_usd_at_high": float(sv["npv_usd"][hi]),
                "installed_gw_at_low": float(sv["installed_gw"][lo]),
                "installed_gw_at_high": float(sv["installed_gw"][hi]),
                "btc_per_year_at_low": float(sv["btc_per_year"][lo]),
                "btc_per_year_at_high": float(sv["btc_per_year"][hi]),
                "swing_npv_usd": abs(float(sv["npv_usd"][hi] - sv["npv_usd"][lo])),
                "swing_installed_gw": abs(float(sv["installed_gw"][hi] - sv["installed_gw"][lo])),
            }
        )
    sens.sort(key=lambda r: (-r["swing_npv_usd"], -r["swing_installed_gw"], r["input"]))
    return sens


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


# ------------------------------------------------------------------------------- synthetic data


def synthetic_profiles(
    n_sites: int, *, n_shapes: int = 100, n_nodes: int = 40, year: int = 2024, seed: int = 0
) -> SurplusProfiles:
    """A seeded, made-up profile set of the contract's layout (for tests and the benchmark; no
    real data): daily-cycle prices with noise and gaps, solar-, wind- and flat-like shapes."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="h", tz="UTC", inclusive="left")
    hod = hours.hour.to_numpy()
    price, weight, intensity = _synthetic_market(rng, hod, n_nodes)
    kinds = np.arange(n_shapes) % 3
    shapes = _synthetic_shapes(rng, hod, kinds)
    cat_by_kind = np.array(["stranded_solar", "stranded_wind", "flare_gas"])
    shape_of = rng.integers(0, n_shapes, n_sites)
    ledger_bought = rng.random(n_sites) < 0.15
    shape_node = np.arange(n_shapes) % n_nodes  # a shape belongs to a market node, as in real data
    node = np.where(ledger_bought, rng.integers(0, n_nodes, n_sites), shape_node[shape_of])
    node = np.where((kinds[shape_of] == 2) & ~ledger_bought, -1, node)
    category = np.where(ledger_bought, "retired_coal", cat_by_kind[kinds[shape_of]])
    wasted_mw = np.where(ledger_bought, 0.0, rng.uniform(1, 60, n_sites))
    cost = np.where(kinds[shape_of] == 2, 15.0, 0.0)
    sites = pd.DataFrame(
        {
            "site_id": [f"S{i}" for i in range(n_sites)],
            "category": category,
            "ledger": np.where(ledger_bought, "bought", "wasted"),
            "node": node.astype(np.int64),
            "shape": np.where(ledger_bought, -1, shape_of).astype(np.int64),
            "wasted_mw": wasted_mw,
            "wasted_cost_usd_mwh": np.where(ledger_bought, 0.0, cost),
            "wasted_co2_t_per_mwh": np.where(category == "flare_gas", 0.5, 0.0),
            "avoided_co2_t_per_mwh": np.where(category == "flare_gas", 1.2, 0.0),
            "max_mw": np.where(
                ledger_bought, rng.uniform(50, 500, n_sites), wasted_mw * rng.uniform(0.5, 2, n_sites)
            ),
            "can_buy": ledger_bought | ((node >= 0) & (rng.random(n_sites) < 0.3)),
            "spur_km": np.where(ledger_bought, 0.0, rng.uniform(0, 20, n_sites)),
        }
    )
    return SurplusProfiles(
        year=year,
        hours=hours,
        node_ids=[f"N{i}" for i in range(n_nodes)],
        price=price,
        hour_weight=weight,
        intensity=intensity,
        shape_ids=[f"shape{i}" for i in range(n_shapes)],
        shapes=shapes,
        sites=sites,
    )


def _synthetic_market(rng: np.random.Generator, hod: np.ndarray, n_nodes: int):
    """Made-up (N, H) prices (USD/MWh: daily cycle, noise, negative hours, gaps), (N,) hour
    weights and (N, H) grid intensity (t CO2 per MWh) for hours of day ``hod``."""
    H = len(hod)
    base = rng.uniform(25, 45, n_nodes)[:, None]
    daily = 15 * np.sin((hod[None, :] - 8) / 24 * 2 * np.pi)
    price = base + daily + rng.normal(0, 12, (n_nodes, H))
    price[rng.random((n_nodes, H)) < 0.05] -= 40  # negative-price hours
    price[rng.random((n_nodes, H)) < 0.01] = np.nan  # gaps
    known = np.isfinite(price).sum(1)
    weight = H / np.maximum(known, 1)
    intensity = np.clip(0.4 + 0.1 * rng.normal(size=(n_nodes, H)), 0, None)
    return price, weight, intensity


def _synthetic_shapes(rng: np.random.Generator, hod: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Made-up (shapes, H) wasted-energy shapes (share of a site's wasted MW) for hours of day
    ``hod``: solar-like (kind 0), wind-like (1) and flat (2)."""
    H = len(hod)
    n_shapes = len(kinds)
    sun = np.clip(np.sin((hod - 6) / 12 * np.pi), 0, 1)[None, :]
    return np.where(
        (kinds == 0)[:, None],
        sun * (rng.random((n_shapes, H)) < 0.3),
        np.where((kinds == 1)[:, None], rng.random((n_shapes, H)) * (rng.random((n_shapes, H)) < 0.2), 1.0),
    )


def bench_fleet(
    n_sites: int = 8_000,
    draws: int = 1_000,
    *,
    n_shapes: int = 100,
    n_nodes: int = 40,
    config: EstimatesConfig | None = None,
) -> dict:
    """Seconds to build the tables and solve the base fleet, and for ``draws`` Monte Carlo draws
    with re-sizing and re-selection (plus the sensitivity rows), on a synthetic profile set of
    that size. ``config`` defaults to the packaged scenario with a BTC price and network growth
    at which a good part of the synthetic sites pays, buying ones included (the slow case: many
    sites in play)."""
    if config is None:
        data = EstimatesConfig().model_dump()
        data["market"]["btc_price_usd"] = 160_000.0
        config = EstimatesConfig.model_validate(data)
    profiles = synthetic_profiles(n_sites, n_shapes=n_shapes, n_nodes=n_nodes)
    t0 = time.perf_counter()
    result = fleet_economics(profiles, None, config)
    t1 = time.perf_counter()
    mc = monte_carlo(result, config, draws=draws)
    t2 = time.perf_counter()
    return {
        "fleet_sites": n_sites,
        "fleet_base_s": t1 - t0,
        "fleet_mc_draws": draws,
        "fleet_mc_s": t2 - t1,
        "fleet_installed_gw": result.national["installed_gw"],
        "fleet_mc_installed_gw_p10": mc["bands"]["installed_gw"]["p10"],
        "fleet_mc_installed_gw_p50": mc["bands"]["installed_gw"]["p50"],
        "fleet_mc_installed_gw_p90": mc["bands"]["installed_gw"]["p90"],
    }


POINT_AXES = ("btc_price_usd", "network_growth_per_year", "efficiency_j_th", "energy_price_cap_usd_mwh")
"""Inputs :func:`evaluate_points` may set per point (the others stay at their central values)."""


def evaluate_points(
    result: FleetResult,
    config: EstimatesConfig,
    points: dict[str, np.ndarray],
    *,
    chunk: int = CHUNK_DRAWS,
    steps: int = 12,
) -> dict[str, np.ndarray]:
    """National figures (:data:`MC_METRICS`) with the fleet re-sized and re-selected at each point.

    Parameters
    ----------
    result
        a :func:`fleet_economics` result (its tables are reused).
    points
        equal-length arrays for any of :data:`POINT_AXES`: BTC price (USD), network growth a year,
        ASIC efficiency (J/TH), and an energy price cap (USD/MWh: energy is used or bought only at
        or below it; absent: no cap). Everything else at its central value.
    """
    from gis.estimates import uncertainty

    unknown = sorted(set(points) - set(POINT_AXES))
    if unknown:
        raise GisError(f"unknown point inputs {unknown}", fix=f"use any of {', '.join(POINT_AXES)}")
    model, base_inputs = _model_of(result)
    n = len(next(iter(points.values())))
    base = uncertainty.base_inputs(config)
    x = {k: np.repeat(np.asarray(v, dtype=float), n, axis=0) for k, v in base.items()}
    if "btc_price_usd" in points:
        x["btc_price_usd"] = np.asarray(points["btc_price_usd"], dtype=float)
    if "network_growth_per_year" in points:
        x["network_growth_per_year"] = np.asarray(points["network_growth_per_year"], dtype=float)
    if "efficiency_j_th" in points:
        x["efficiency_scale"] = (
            np.asarray(points["efficiency_j_th"], dtype=float) / asic_model(config.asic_model).efficiency_j_th
        )
    inp = _inputs_from_draws(config, float(base_inputs.network_ehs[0]), x)
    if "energy_price_cap_usd_mwh" in points:
        inp.price_cap = np.asarray(points["energy_price_cap_usd_mwh"], dtype=float)
    return _solve_chunks(model, inp, result.base_X, chunk, steps)
