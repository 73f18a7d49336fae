"""The uncertain inputs of the Monte Carlo: their central values and seeded draws.

:func:`draw_inputs` draws every input of ``[estimates.uncertainty.ranges]`` (a range given
relative to its central value moves with it); :func:`gis.estimates.fleet.monte_carlo` re-sizes
and re-selects the fleet in every draw and gives the bands and the sensitivity;
:func:`one_at_a_time` gives the inputs of the sensitivity's rows.

The draws are randomised quasi-Monte Carlo: one point of a scrambled Sobol' sequence
(:class:`scipy.stats.qmc.Sobol`, scrambled with the scenario's seed) per draw, one coordinate
``u`` in [0, 1) per ranged input (``capacity_scale``: one per category), mapped through the
inverse of the input's distribution function:

- uniform on [a, b]: ``x = a + u (b - a)``;
- triangular (a, c, b), ``F_c = (c - a) / (b - a)``: ``x = a + sqrt(u (b - a)(c - a))`` for
  ``u < F_c``, else ``x = b - sqrt((1 - u)(b - a)(b - c))``.

Sobol' points fill the input space more evenly than independent pseudo-random ones, so the bands
settle with fewer draws: on the national data the seed-to-seed spread of the P90 of fleet GW and
BTC/yr at 8,192 Sobol' draws (standard deviation over six seeds at most 0.36 %) is what
pseudo-random draws reached at 16,000 (``scripts/bench.py``, ``monte_carlo_convergence``).
Scrambling keeps every estimate unbiased and lets two seeds be compared like two Monte Carlo runs.
Counts that are powers of two keep the sequence's balance (any count is accepted: the first
``draws`` points of the next power of two).
"""

from __future__ import annotations

import math

import numpy as np

from gis.config.estimates import UNCERTAIN_INPUTS, EstimatesConfig, Range
from gis.config.vocabulary import CATEGORIES

__all__ = ["base_inputs", "draw_inputs", "inverse_cdf", "one_at_a_time"]


def base_inputs(config: EstimatesConfig) -> dict[str, np.ndarray]:
    """Every uncertain input at its base value, as arrays of one draw."""
    return {
        "capacity_scale": np.ones((1, len(CATEGORIES))),
        "efficiency_scale": np.ones(1),
        "pue": np.full(1, config.pue),
        "network_ehs_scale": np.ones(1),
        "btc_price_usd": np.full(1, config.market.btc_price_usd),
        "fees_btc_per_block": np.full(1, config.network.fees_btc_per_block),
        "energy_cost_scale": np.ones(1),
        "capex_scale": np.ones(1),
        "network_growth_per_year": np.full(1, config.network.growth_per_year),
        "btc_price_growth_per_year": np.full(1, config.fleet.btc_price_growth_per_year),
    }


def inverse_cdf(r: Range, u: np.ndarray) -> np.ndarray:
    """The values of the distribution ``r`` at probabilities ``u`` (in [0, 1)), same shape.

    >>> inverse_cdf(Range(dist="triangular", low=0.0, mode=0.5, high=1.0), np.array([0.125, 0.5, 0.875]))
    array([0.25, 0.5 , 0.75])
    >>> inverse_cdf(Range(dist="uniform", low=2.0, high=4.0), np.array([0.0, 0.25]))
    array([2. , 2.5])
    """
    a, b = r.low, r.high
    if b == a:
        return np.full(u.shape, a)
    if r.dist == "uniform":
        return a + u * (b - a)
    assert r.mode is not None  # a triangular Range always has one (Range._ordered)
    c = r.mode
    below = a + np.sqrt(u * (b - a) * (c - a))
    above = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
    return np.where(u < (c - a) / (b - a), below, above)


def _sobol(dimensions: int, draws: int, seed: int) -> np.ndarray:
    """``draws`` points of a Sobol' sequence in ``dimensions``, scrambled with ``seed`` (draws, dimensions)."""
    from scipy.stats import qmc  # imported on first use: scipy is slow to import

    sampler = qmc.Sobol(dimensions, scramble=True, rng=np.random.default_rng(seed))
    return sampler.random_base2(max(0, math.ceil(math.log2(draws))))[:draws]


def draw_inputs(config: EstimatesConfig) -> dict[str, np.ndarray]:
    """Seeded quasi-random draws of every uncertain input (inputs without a range stay at their base value).

    One Sobol' coordinate per ranged input, in the inputs' alphabetical order, ``capacity_scale``
    one per category of :data:`gis.config.vocabulary.CATEGORIES` whether or not it is selected, so
    the same seed gives the same draws for any set of sites (module docstring: the mapping).
    """
    u = config.uncertainty
    base = base_inputs(config)
    ranged = {
        name: u.ranges[name].scaled(float(base[name].flat[0]))
        for name in sorted(UNCERTAIN_INPUTS)
        if name in u.ranges
    }
    width = {name: len(CATEGORIES) if name == "capacity_scale" else 1 for name in UNCERTAIN_INPUTS}
    points = _sobol(max(1, sum(width[name] for name in ranged)), u.draws, u.seed)
    out: dict[str, np.ndarray] = {}
    column = 0
    for name in sorted(UNCERTAIN_INPUTS):
        size = (u.draws, len(CATEGORIES)) if name == "capacity_scale" else (u.draws,)
        if name not in ranged:
            out[name] = np.broadcast_to(base[name], size).copy()
            continue
        coords = points[:, column : column + width[name]].reshape(size)
        column += width[name]
        out[name] = inverse_cdf(ranged[name], coords)
    return out


def one_at_a_time(config: EstimatesConfig) -> tuple[list[tuple[str, str, float]], dict[str, np.ndarray]]:
    """Every ranged input at its low, then its high, the others at their base values.

    Returns the rows ``(input, "low" | "high", value)`` and the inputs of those rows as one
    batch of draws (arrays over the rows; ``capacity_scale`` (rows, categories)); no rows: an
    empty list and an empty dict.
    """
    base = base_inputs(config)
    rows: list[tuple[str, str, float]] = []
    batch: dict[str, list] = {k: [] for k in UNCERTAIN_INPUTS}
    for name in sorted(config.uncertainty.ranges):
        r = config.uncertainty.ranges[name].scaled(float(base[name].flat[0]))
        for end, value in (("low", r.low), ("high", r.high)):
            rows.append((name, end, value))
            for k in UNCERTAIN_INPUTS:
                b = np.asarray(base[k], dtype=float)
                batch[k].append(np.full_like(b, value) if k == name else b)
    if not rows:
        return rows, {}
    xs = {k: np.concatenate([np.atleast_1d(a) if a.ndim < 2 else a for a in v]) for k, v in batch.items()}
    xs["capacity_scale"] = np.vstack(
        [np.broadcast_to(a, (1, len(CATEGORIES))) for a in batch["capacity_scale"]]
    )
    return rows, xs
