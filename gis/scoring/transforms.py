"""Transforms from a raw measure (km, MW, $/MWh ...) to a 0..1 sub-score, vectorised with numpy.

Like ArcGIS Suitability Modeler's "transform" step. Every transform maps NaN to NaN (the caller
decides what a missing measure scores, see ``CriterionConfig.missing``) and returns values in
[0, 1]. Direction:

=========  =========================================================================
linear     monotone: rising from ``low`` to ``high`` (falling when ``high < low``)
inverse    monotone falling: ``half / (half + x)``, 1 at x <= 0, 0.5 at ``half``
logistic   monotone: rising (falling when ``decreasing``), 0.5 at ``midpoint``
step       monotone (as its ``values``), piecewise constant, intervals closed on the left
gaussian   not monotone: 1 at ``center``, falling on both sides
=========  =========================================================================
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gis.config.scoring import (
    GaussianTransform,
    InverseTransform,
    LinearTransform,
    LogisticTransform,
    StepTransform,
    Transform,
)

__all__ = ["apply_transform", "gaussian", "inverse", "linear", "logistic", "step"]


def linear(x: ArrayLike, *, low: float, high: float) -> NDArray[np.float64]:
    """0 at ``low``, 1 at ``high``, linear between, clipped to [0, 1]; NaN stays NaN."""
    values = np.asarray(x, dtype="float64")
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def inverse(x: ArrayLike, *, half: float) -> NDArray[np.float64]:
    """``half / (half + max(x, 0))``: 1 at 0, 0.5 at ``half``, towards 0 far away; NaN stays NaN."""
    values = np.maximum(np.asarray(x, dtype="float64"), 0.0)
    return half / (half + values)


def logistic(x: ArrayLike, *, midpoint: float, scale: float, decreasing: bool = False) -> NDArray[np.float64]:
    """``1 / (1 + exp(-(x - midpoint) / scale))``, mirrored when ``decreasing``; NaN stays NaN."""
    values = np.asarray(x, dtype="float64")
    z = (values - midpoint) / scale
    if decreasing:
        z = -z
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def step(x: ArrayLike, *, breaks: list[float], values: list[float]) -> NDArray[np.float64]:
    """``values[i]`` where ``breaks[i-1] <= x < breaks[i]`` (``values[0]`` below the first break)."""
    data = np.asarray(x, dtype="float64")
    index = np.searchsorted(np.asarray(breaks, dtype="float64"), data, side="right")
    out = np.asarray(values, dtype="float64")[np.minimum(index, len(values) - 1)]
    return np.where(np.isnan(data), np.nan, out)


def gaussian(x: ArrayLike, *, center: float, width: float) -> NDArray[np.float64]:
    """``exp(-0.5 ((x - center) / width)^2)``: 1 at ``center``; NaN stays NaN."""
    values = np.asarray(x, dtype="float64")
    return np.exp(-0.5 * ((values - center) / width) ** 2)


def apply_transform(x: ArrayLike, transform: Transform) -> NDArray[np.float64]:
    """Apply a configured transform (see :mod:`gis.config.scoring`) to an array of measures."""
    match transform:
        case LinearTransform():
            return linear(x, low=transform.low, high=transform.high)
        case InverseTransform():
            return inverse(x, half=transform.half)
        case LogisticTransform():
            return logistic(
                x, midpoint=transform.midpoint, scale=transform.scale, decreasing=transform.decreasing
            )
        case StepTransform():
            return step(x, breaks=transform.breaks, values=transform.values)
        case GaussianTransform():
            return gaussian(x, center=transform.center, width=transform.width)
    raise TypeError(f"unknown transform {transform!r}")
