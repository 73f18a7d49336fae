"""Bitcoin arithmetic: machines, hashrate, subsidy by height, expected BTC, hashprice, supply.

Pure vectorised functions (numpy scalars or arrays in, same shape out). Units are in the
argument names: ``_w`` watts, ``_ths`` TH/s (1e12 H/s), ``_ehs`` EH/s (1e18 H/s), ``_btc``
bitcoin, ``_sat`` satoshi (1e-8 BTC).

Protocol constants come from bitcoin/bitcoin ``src/kernel/chainparams.cpp``
(``nSubsidyHalvingInterval = 210000``, ``nPowTargetSpacing = 10 * 60``) and
``src/validation.cpp`` ``GetBlockSubsidy`` (50 BTC shifted right once per halving, zero after
64 halvings).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "BLOCKS_PER_DAY",
    "HALVING_INTERVAL_BLOCKS",
    "MAX_SUPPLY_BTC",
    "SATOSHI_PER_BTC",
    "TARGET_BLOCK_SECONDS",
    "block_subsidy_btc",
    "expected_btc_per_year",
    "hashprice_usd_per_ph_day",
    "hashrate_from_difficulty_ehs",
    "hashrate_ths",
    "height_at",
    "it_power_w",
    "machine_count",
    "mined_supply_btc",
    "naive_btc_per_year",
    "network_issuance_btc_per_year",
    "remaining_supply_btc",
    "share_of_network",
]

SATOSHI_PER_BTC = 100_000_000
HALVING_INTERVAL_BLOCKS = 210_000
TARGET_BLOCK_SECONDS = 600
BLOCKS_PER_DAY = 86_400 // TARGET_BLOCK_SECONDS  # 144
INITIAL_SUBSIDY_SAT = 50 * SATOSHI_PER_BTC
_MAX_HALVINGS = 64

_EPOCH_SUBSIDY_SAT = np.array([INITIAL_SUBSIDY_SAT >> e for e in range(_MAX_HALVINGS)] + [0], dtype=np.int64)
_EPOCH_TOTAL_SAT = _EPOCH_SUBSIDY_SAT * HALVING_INTERVAL_BLOCKS
_CUM_SUPPLY_SAT = np.concatenate([[0], np.cumsum(_EPOCH_TOTAL_SAT)]).astype(np.int64)
MAX_SUPPLY_SAT = int(_CUM_SUPPLY_SAT[-1])
"""Every satoshi the subsidy schedule will ever issue: 2,099,999,997,690,000 sat."""
MAX_SUPPLY_BTC = MAX_SUPPLY_SAT / SATOSHI_PER_BTC
"""20,999,999.9769 BTC (the "21 million" cap, exactly)."""


def it_power_w(site_power_w: ArrayLike, pue: ArrayLike) -> np.ndarray:
    """IT (machine) power in W: site power in W divided by the power usage effectiveness (>= 1)."""
    return np.asarray(site_power_w, dtype=float) / np.asarray(pue, dtype=float)


def machine_count(it_power_w: ArrayLike, asic_power_w: ArrayLike) -> np.ndarray:
    """Machines that IT power (W) can run at ``asic_power_w`` W each (fractional, not rounded)."""
    return np.asarray(it_power_w, dtype=float) / np.asarray(asic_power_w, dtype=float)


def hashrate_ths(it_power_w: ArrayLike, efficiency_j_th: ArrayLike) -> np.ndarray:
    """Hashrate in TH/s = IT power (W = J/s) / efficiency (J/TH)."""
    return np.asarray(it_power_w, dtype=float) / np.asarray(efficiency_j_th, dtype=float)


def block_subsidy_btc(height: ArrayLike) -> np.ndarray:
    """Block subsidy in BTC at block ``height``: 50 BTC halved (integer satoshi shift) every
    210,000 blocks, so 840,000 -> 3.125 and 1,050,000 -> 1.5625; zero after 64 halvings."""
    h = np.asarray(height, dtype=np.int64)
    if np.any(h < 0):
        raise ValueError("block height must be >= 0")
    epoch = np.minimum(h // HALVING_INTERVAL_BLOCKS, _MAX_HALVINGS)
    return _EPOCH_SUBSIDY_SAT[epoch] / SATOSHI_PER_BTC


def mined_supply_btc(height: ArrayLike) -> np.ndarray:
    """BTC issued by the subsidy of blocks 0 .. height-1 (exact satoshi sum, genesis included)."""
    h = np.asarray(height, dtype=np.int64)
    if np.any(h < 0):
        raise ValueError("block height must be >= 0")
    epoch = np.minimum(h // HALVING_INTERVAL_BLOCKS, _MAX_HALVINGS)
    within = np.where(epoch < _MAX_HALVINGS, h - epoch * HALVING_INTERVAL_BLOCKS, 0)
    sat = _CUM_SUPPLY_SAT[epoch] + within * _EPOCH_SUBSIDY_SAT[epoch]
    return sat / SATOSHI_PER_BTC


def remaining_supply_btc(height: ArrayLike) -> np.ndarray:
    """BTC the subsidy has still to issue after block ``height`` - 1: 21 M cap minus mined supply."""
    h = np.asarray(height, dtype=np.int64)
    return (MAX_SUPPLY_SAT - np.round(mined_supply_btc(h) * SATOSHI_PER_BTC)) / SATOSHI_PER_BTC


def height_at(when: dt.date, *, anchor_height: int, anchor_date: dt.date, blocks_per_year: float) -> int:
    """Expected block height on ``when`` from a known (height, date) pair and a block rate
    (blocks a year over a 365-day year); whole blocks, rounded down."""
    days = (when - anchor_date).days
    return int(np.floor(anchor_height + days * blocks_per_year / 365.0))


def share_of_network(hashrate_ehs: ArrayLike, network_ehs: ArrayLike) -> np.ndarray:
    """Share of blocks (0..1) a fleet of ``hashrate_ehs`` finds once it joins a network of
    ``network_ehs`` (both EH/s): H / (H_net + H). The added hashrate raises difficulty, so the
    naive H / H_net (which can exceed 1) is never used."""
    h = np.asarray(hashrate_ehs, dtype=float)
    n = np.asarray(network_ehs, dtype=float)
    return h / (n + h)


def network_issuance_btc_per_year(
    subsidy_btc: ArrayLike, fees_btc_per_block: ArrayLike = 0.0, *, blocks_per_year: float = 52_560
) -> np.ndarray:
    """BTC the whole network earns in a year: blocks a year x (subsidy + mean fees per block)."""
    return blocks_per_year * (
        np.asarray(subsidy_btc, dtype=float) + np.asarray(fees_btc_per_block, dtype=float)
    )


def expected_btc_per_year(
    hashrate_ehs: ArrayLike,
    network_ehs: ArrayLike,
    *,
    subsidy_btc: ArrayLike,
    fees_btc_per_block: ArrayLike = 0.0,
    uptime: ArrayLike = 1.0,
    blocks_per_year: float = 52_560,
) -> np.ndarray:
    """Expected BTC a year for a fleet of ``hashrate_ehs`` EH/s joining a ``network_ehs`` EH/s network:
    blocks/yr x (subsidy + fees) x u.H / (H_net + u.H). The fleet's average hashrate u.H (uptime
    ``u``) is what raises difficulty, so uptime sits inside the dilution."""
    issuance = network_issuance_btc_per_year(subsidy_btc, fees_btc_per_block, blocks_per_year=blocks_per_year)
    average = np.asarray(uptime, dtype=float) * np.asarray(hashrate_ehs, dtype=float)
    return issuance * share_of_network(average, network_ehs)


def naive_btc_per_year(
    hashrate_ehs: ArrayLike,
    network_ehs: ArrayLike,
    *,
    subsidy_btc: ArrayLike,
    fees_btc_per_block: ArrayLike = 0.0,
    uptime: ArrayLike = 1.0,
    blocks_per_year: float = 52_560,
) -> np.ndarray:
    """The naive figure with share H / H_net (no difficulty response): shown only to compare; it
    exceeds the network's issuance once H > H_net."""
    issuance = network_issuance_btc_per_year(subsidy_btc, fees_btc_per_block, blocks_per_year=blocks_per_year)
    return (
        issuance
        * np.asarray(uptime, dtype=float)
        * np.asarray(hashrate_ehs, dtype=float)
        / np.asarray(network_ehs, dtype=float)
    )


def hashprice_usd_per_ph_day(
    network_ehs: ArrayLike,
    *,
    subsidy_btc: ArrayLike,
    fees_btc_per_block: ArrayLike = 0.0,
    btc_price_usd: ArrayLike,
    blocks_per_day: float = BLOCKS_PER_DAY,
) -> np.ndarray:
    """Hashprice in USD per PH/s per day: blocks/day x (subsidy + fees) x price / H_net in PH/s."""
    network_phs = np.asarray(network_ehs, dtype=float) * 1_000.0
    reward = np.asarray(subsidy_btc, dtype=float) + np.asarray(fees_btc_per_block, dtype=float)
    return blocks_per_day * reward * np.asarray(btc_price_usd, dtype=float) / network_phs


def hashrate_from_difficulty_ehs(difficulty: ArrayLike) -> np.ndarray:
    """Network hashrate in EH/s implied by difficulty D: D x 2^32 hashes per block / 600 s."""
    return np.asarray(difficulty, dtype=float) * 2.0**32 / TARGET_BLOCK_SECONDS / 1e18
