"""Rank stability: how often a site stays in the top N when the weights are uncertain.

Weights are drawn from a Dirichlet distribution centred on the scenario's weights
(``alpha = weights x concentration``; criteria of weight 0 stay 0), seeded, and all draws are
scored at once with one matrix product ``S (sites x criteria) @ W.T (criteria x draws)``.
``p_top_n`` is the share of draws in which a site ranks within the top ``top_n`` of the
non-excluded sites (ties broken by the site order given, i.e. by site_id upstream).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gis.scoring.config import StabilityConfig

__all__ = ["draw_weights", "p_top_n"]


def draw_weights(weights: NDArray[np.float64], config: StabilityConfig) -> NDArray[np.float64]:
    """``config.draws`` weight vectors (draws x criteria), each summing to 1, seeded."""
    weights = np.asarray(weights, dtype="float64")
    rng = np.random.default_rng(config.seed)
    active = weights > 0
    draws = np.zeros((config.draws, len(weights)))
    draws[:, active] = rng.dirichlet(weights[active] * config.concentration, size=config.draws)
    return draws


def p_top_n(
    subscores: NDArray[np.float64],
    weights: NDArray[np.float64],
    excluded: NDArray[np.bool_],
    config: StabilityConfig,
) -> NDArray[np.float64]:
    """Share of weight draws (0..1) in which each site ranks within the top ``config.top_n``.

    ``subscores`` is sites x criteria (0..1); excluded sites never count (p = 0).
    """
    subscores = np.asarray(subscores, dtype="float64")
    n = subscores.shape[0]
    eligible = ~np.asarray(excluded, dtype=bool)
    m = int(eligible.sum())
    if n == 0 or m == 0:
        return np.zeros(n)
    top = min(config.top_n, m)
    w = draw_weights(weights, config)
    scores = subscores[eligible] @ w.T  # eligible sites x draws
    # stable tie-break by row order: subtract a tiny, strictly increasing epsilon per row
    scores = scores - np.arange(m)[:, None] * 1e-12
    if top < m:
        best = np.argpartition(-scores, top - 1, axis=0)[:top]
    else:
        best = np.broadcast_to(np.arange(m)[:, None], (m, scores.shape[1]))
    counts = np.bincount(best.ravel(), minlength=m)
    out = np.zeros(n)
    out[eligible] = counts / w.shape[0]
    return out
