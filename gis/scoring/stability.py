"""Rank stability: how often a site stays in the top N when the weights are uncertain.

Weights are drawn from a Dirichlet distribution centred on the scenario's weights
(``alpha = weights x concentration``; criteria of weight 0 stay 0), seeded. ``p_top_n`` is the
share of draws in which a row ranks within the top ``top_n`` of the non-excluded rows (ties
broken by the row order given, i.e. by site_id upstream).

Scoring every row in every draw would hold rows x draws numbers (gigabytes for a million grid
cells), so each draw's top N is found among the rows that can reach it::

    threshold_d = N-th best score of draw d among the 4N + 100 best rows at the scenario's weights
    lift_d      = sum_c max((w_dc - w_c) hi_c, (w_dc - w_c) lo_c)
                  (lo_c..hi_c: the range of criterion c's sub-scores: no row gains more in draw d)
    reach_d     = rows whose score at the scenario's weights is >= threshold_d - lift_d

Only the ``reach_d`` best rows are scored for draw d (draws batched so that at most
``max_elements`` scores are held at once), and the top N is taken among those scoring
>= threshold_d, a superset of the true top N: the result equals scoring everything.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gis.config.scoring import StabilityConfig

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
    *,
    max_elements: int = 20_000_000,
) -> NDArray[np.float64]:
    """Share of weight draws (0..1) in which each row ranks within the top ``config.top_n``.

    ``subscores`` is rows x criteria (0..1); excluded rows never count (p = 0); ties are broken
    by row order. At most ``max_elements`` scores (rows x draws) are held at once, so a
    million grid cells and a few thousand sites go through the same function.
    """
    subscores = np.asarray(subscores, dtype="float64")
    n = subscores.shape[0]
    eligible = ~np.asarray(excluded, dtype=bool)
    m = int(eligible.sum())
    if n == 0 or m == 0:
        return np.zeros(n)
    top = min(config.top_n, m)
    w = draw_weights(weights, config)
    chosen = subscores[eligible]
    tie_break = np.arange(m)[:, None] * 1e-12
    counts = np.zeros(m, dtype="int64")
    if top >= m:
        counts += w.shape[0]
    else:
        weights = np.asarray(weights, dtype="float64")
        base = chosen @ weights
        by_base = np.argsort(-base, kind="stable")
        size = min(m, 4 * top + 100)
        pool = by_base[:size]
        pool_scores = chosen[pool] @ w.T - tie_break[pool]
        # slack: the same score computed in another matrix product may differ in the last bits
        thresholds = -np.partition(-pool_scores, top - 1, axis=0)[top - 1] - 1e-9
        # each sub-score lies within its column's range, so draw d lifts a row by at most
        # sum_c max((w_dc - w_c) * max_c, (w_dc - w_c) * min_c)
        lift = _lift(w - weights, chosen.min(axis=0), chosen.max(axis=0))
        reach = np.searchsorted(-base[by_base], -(thresholds - lift - 1e-9), side="right")
        sorted_rows = chosen[by_base]

        def count(chunk: NDArray[np.int64]) -> NDArray[np.int64]:
            prefix = max(int(reach[chunk].max()), top)
            raw = sorted_rows[:prefix] @ w[chunk].T
            # tie-broken scores never exceed raw ones: comparing raw scores keeps a superset
            # (the rows of the few scores at or above a threshold, found without a row-wise any)
            rows = np.unique(np.flatnonzero(raw >= thresholds[chunk]) // len(chunk))
            if len(rows) < top:  # never with the slack above; kept as a guard for argpartition
                rows = np.arange(prefix)
            scores = raw[rows] - tie_break[by_base[rows]]
            best = np.argpartition(-scores, top - 1, axis=0)[:top]
            return np.bincount(by_base[rows[best]].ravel(), minlength=m)

        for chunk in _draw_batches(reach, max_elements):
            counts += count(chunk)
    out = np.zeros(n)
    out[eligible] = counts / w.shape[0]
    return out


def _draw_batches(reach: NDArray[np.int64], max_elements: int) -> list[NDArray[np.int64]]:
    """Draws in batches scored together: by increasing reach, each batch holding at most
    ``max_elements`` scores (its largest reach x its draws; a draw alone may hold more).

    Parameters
    ----------
    reach
        rows each draw must score (a prefix of the rows by score at the scenario's weights).
    max_elements
        scores a batch may hold.

    Returns
    -------
    list of numpy.ndarray
        draw numbers per batch; every draw in exactly one.
    """
    draws = np.argsort(reach, kind="stable")
    batches = []
    start = 0
    while start < len(draws):
        stop = start + 1
        while stop < len(draws) and reach[draws[stop]] * (stop + 1 - start) <= max_elements:
            stop += 1
        batches.append(draws[start:stop])
        start = stop
    return batches


def _lift(
    delta: NDArray[np.float64], low: NDArray[np.float64], high: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The most any row's score can rise from the scenario's weights to each draw's.

    A row's score changes by ``sum_c s_c * delta_c``; with each sub-score ``s_c`` within
    ``low_c..high_c`` the change is largest at ``high_c`` where ``delta_c > 0`` and at ``low_c``
    where it is < 0. (Bounding every sub-score by 1 instead let draws reach every row of a
    million cells; the columns' own ranges cut the rows scored at 2.5 km about five times.)

    Parameters
    ----------
    delta
        draws x criteria: each draw's weights minus the scenario's.
    low, high
        per criterion, the smallest and largest sub-score (0..1) of the rows ranked.

    Returns
    -------
    numpy.ndarray
        per draw, the largest rise of a score (may be negative).
    """
    return np.where(delta > 0, delta * high, delta * low).sum(axis=1)
