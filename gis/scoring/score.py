"""Scoring: measures -> 0..1 sub-scores (one ``s_<criterion>`` each), exclusions, score and rank.

Reads only the measures table (no geometry), so a weight change re-scores in milliseconds::

    s_c    = transform_c(measure_c)            NaN -> missing_c; off-grid sites -> offgrid_c if set
    score  = sum_c weight_c x s_c              in [0, 1] because weights sum to 1
    excluded sites (any rule hit) keep their s_c but get score 0
    rank   = 1..n by score (high first), ties broken by site_id (deterministic)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis.config.scoring import ScoringConfig
from gis.errors import GisError
from gis.scoring.transforms import apply_transform

__all__ = ["exclusions", "rank_order", "score_measures", "subscores"]


def subscores(measures: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """One ``s_<criterion>`` column (0..1) per criterion, in the scenario's order."""
    offgrid = (
        measures["offgrid"].to_numpy(dtype=bool) if "offgrid" in measures else np.zeros(len(measures), bool)
    )
    out = {}
    for name, criterion in config.criteria.items():
        if criterion.measure not in measures.columns:
            raise GisError(
                f"criterion {name} reads the measure {criterion.measure}, which the measures table lacks",
                field=f"scoring.criteria.{name}.measure",
                fix="use a measure listed in gis.config.scoring.MEASURES",
            )
        raw = measures[criterion.measure].to_numpy(dtype="float64")
        s = apply_transform(raw, criterion.transform)
        s = np.where(np.isnan(s), criterion.missing, s)
        if criterion.offgrid is not None:
            s = np.where(offgrid, criterion.offgrid, s)
        out[f"s_{name}"] = np.clip(s, 0.0, 1.0)
    return pd.DataFrame(out, index=measures.index)


def exclusions(
    measures: pd.DataFrame, config: ScoringConfig
) -> tuple[NDArray[np.bool_], NDArray[np.object_]]:
    """Which sites a hard-exclusion rule removes, and why ("; "-joined reasons, "" if kept)."""
    n = len(measures)
    excluded = np.zeros(n, dtype=bool)
    reasons = pd.Series("", index=measures.index, dtype=object)
    for rule in config.exclusions:
        values = measures[rule.measure].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            hit = np.zeros(n, dtype=bool)
            if rule.min is not None:
                hit |= values < rule.min
            if rule.max is not None:
                hit |= values > rule.max
        if rule.categories:
            hit &= measures["category"].isin(rule.categories).to_numpy()
        reasons = reasons.where(~hit, reasons.where(reasons == "", reasons + "; ") + rule.reason)
        excluded |= hit
    return excluded, reasons.to_numpy(dtype=object)


def rank_order(score: NDArray[np.float64], site_id: NDArray[np.object_]) -> NDArray[np.int64]:
    """Positions sorting sites best first: score descending, then site_id ascending."""
    return np.lexsort((np.asarray(site_id, dtype=str), -np.asarray(score, dtype="float64")))


def score_measures(measures: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """Sub-scores, ``score`` (0..1), ``excluded``, ``exclusion_reason`` and ``rank`` (1 = best).

    The result has the measures' index; rows are not reordered.
    """
    subs = subscores(measures, config)
    weights = np.array([c.weight for c in config.criteria.values()])
    score = np.clip(subs.to_numpy(dtype="float64") @ weights, 0.0, 1.0) if len(subs) else np.zeros(0)
    excluded, reasons = exclusions(measures, config)
    score = np.where(excluded, 0.0, score)
    order = rank_order(score, measures["site_id"].to_numpy(dtype=object))
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(1, len(order) + 1)
    out = subs.copy()
    out["score"] = score
    out["excluded"] = excluded
    out["exclusion_reason"] = reasons
    out["rank"] = rank
    return out
