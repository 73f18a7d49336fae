"""Transforms: known values, NaN handling, monotonicity (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis.config.scoring import LinearTransform, StepTransform
from gis.scoring.transforms import apply_transform, gaussian, inverse, linear, logistic, step

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def test_known_values():
    assert linear([0.0, 40.0, 80.0, 120.0], low=80.0, high=0.0).tolist() == [1.0, 0.5, 0.0, 0.0]
    assert inverse([0.0, 10.0, 30.0], half=10.0).tolist() == [1.0, 0.5, 0.25]
    assert logistic([50.0], midpoint=50.0, scale=25.0)[0] == pytest.approx(0.5)
    assert logistic([75.0], midpoint=50.0, scale=25.0)[0] == pytest.approx(1 / (1 + np.exp(-1)))
    assert step([0.0, 69.0, 100.0, 345.0], breaks=[69.0, 345.0], values=[0.1, 0.5, 1.0]).tolist() == [
        0.1,
        0.5,
        0.5,
        1.0,
    ]
    assert gaussian([10.0, 12.0], center=10.0, width=2.0).tolist() == pytest.approx([1.0, np.exp(-0.5)])


def test_nan_stays_nan():
    for out in (
        linear([np.nan], low=0, high=1),
        inverse([np.nan], half=1),
        logistic([np.nan], midpoint=0, scale=1),
        step([np.nan], breaks=[0], values=[0, 1]),
        gaussian([np.nan], center=0, width=1),
    ):
        assert np.isnan(out[0])


def test_apply_transform_dispatches_configured_models():
    t = LinearTransform(kind="linear", low=0, high=10)
    assert apply_transform([5.0], t)[0] == 0.5
    s = StepTransform(kind="step", breaks=[1.0], values=[0.0, 1.0])
    assert apply_transform([0.5, 1.0], s).tolist() == [0.0, 1.0]


@given(a=finite, b=finite)
def test_monotone_transforms(a, b):
    lo, hi = min(a, b), max(a, b)
    x = np.array([lo, hi])
    for out in (linear(x, low=-10, high=10), logistic(x, midpoint=3, scale=2)):
        assert out[0] <= out[1]
        assert out.min() >= 0.0 and out.max() <= 1.0
    for out in (
        inverse(x, half=5),
        linear(x, low=10, high=-10),
        logistic(x, midpoint=0, scale=1, decreasing=True),
    ):
        assert out[0] >= out[1]
        assert out.min() >= 0.0 and out.max() <= 1.0
