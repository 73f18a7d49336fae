"""The uncertain inputs of the Monte Carlo: their central values and seeded draws.

:func:`draw_inputs` draws every input of ``[estimates.uncertainty.ranges]`` (a range given
relative to its central value moves with it); :func:`gis.estimates.fleet.monte_carlo` re-sizes
and re-selects the fleet in every draw and gives the bands and the sensitivity;
:func:`one_at_a_time` gives the inputs of the sensitivity's rows.
"""

from __future__ import annotations

import numpy as np

from gis.config.estimates import UNCERTAIN_INPUTS, EstimatesConfig, Range
from gis.config.vocabulary import CATEGORIES

__all__ = ["base_inputs", "draw_inputs", "one_at_a_time"]


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


def _draw(rng: np.random.Generator, r: Range, size: tuple[int, ...]) -> np.ndarray:
    if r.high == r.low:
        return np.full(size, r.low)
    if r.dist == "uniform":
        return rng.uniform(r.low, r.high, size)
    assert r.mode is not None  # a triangular Range always has one (Range._ordered)
    return rng.triangular(r.low, r.mode, r.high, size)


def draw_inputs(config: EstimatesConfig) -> dict[str, np.ndarray]:
    """Seeded draws of every uncertain input (inputs without a range stay at their base value).

    Inputs are drawn in a fixed order, ``capacity_scale`` once per category of
    :data:`gis.config.vocabulary.CATEGORIES` whether or not it is selected, so the same seed gives the same
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
