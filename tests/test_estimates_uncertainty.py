"""The Monte Carlo's draws: the inverse distribution functions by hand, and the Sobol' draws'
marginals, seeding and independence."""

from __future__ import annotations

import numpy as np
import pytest

from gis.config.estimates import EstimatesConfig, Range
from gis.config.vocabulary import CATEGORIES
from gis.estimates.uncertainty import draw_inputs, inverse_cdf


def _config(draws: int, seed: int = 7, **ranges: Range) -> EstimatesConfig:
    base = EstimatesConfig()
    uncertainty = base.uncertainty.model_copy(update={"draws": draws, "seed": seed, "ranges": ranges})
    return base.model_copy(update={"uncertainty": uncertainty})


def test_triangular_inverse_by_hand():
    # (a, c, b) = (1, 2, 5): F(c) = 1/4. Below: x = 1 + sqrt(u * 4 * 1); above: x = 5 - sqrt((1 - u) * 4 * 3)
    r = Range(dist="triangular", low=1.0, mode=2.0, high=5.0)
    got = inverse_cdf(r, np.array([0.0, 0.0625, 0.25, 0.25 + 0.75 * 0.75, 1.0 - 1e-12]))
    np.testing.assert_allclose(got, [1.0, 1.5, 2.0, 5.0 - np.sqrt(0.1875 * 12.0), 5.0], atol=1e-5)


def test_triangular_inverse_with_the_mode_at_an_end():
    left = Range(dist="triangular", low=0.0, mode=0.0, high=2.0)  # F(x) = 1 - (2 - x)^2 / 4
    np.testing.assert_allclose(inverse_cdf(left, np.array([0.75])), [1.0])
    right = Range(dist="triangular", low=0.0, mode=2.0, high=2.0)  # F(x) = x^2 / 4
    np.testing.assert_allclose(inverse_cdf(right, np.array([0.25])), [1.0])


def test_draws_follow_their_distribution():
    tri = Range(dist="triangular", low=0.5, mode=1.0, high=2.0)
    uni = Range(dist="uniform", low=10.0, high=20.0)
    x = draw_inputs(_config(1024, btc_price_usd=uni, pue=tri))
    price, pue = x["btc_price_usd"], x["pue"]
    assert price.shape == pue.shape == (1024,)
    assert price.min() >= 10.0 and price.max() < 20.0
    assert pue.min() >= 0.5 and pue.max() <= 2.0
    # a scrambled Sobol' set has one point in each 1/1024 of every coordinate: the sample quantiles
    # sit on the distribution's within one point's width
    q = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    np.testing.assert_allclose(np.quantile(price, q), 10.0 + 10.0 * q, atol=10.0 / 1024 * 2)
    np.testing.assert_allclose(np.quantile(pue, q), inverse_cdf(tri, q), atol=0.01)
    # inputs without a range stay at their base value
    assert np.all(x["fees_btc_per_block"] == EstimatesConfig().network.fees_btc_per_block)


def test_draws_are_seeded_and_independent_between_inputs():
    ranges = {
        "capacity_scale": Range(dist="uniform", low=0.7, high=1.3),
        "pue": Range(dist="uniform", low=1.0, high=1.2),
    }
    a = draw_inputs(_config(512, seed=1, **ranges))
    assert all(np.array_equal(a[k], v) for k, v in draw_inputs(_config(512, seed=1, **ranges)).items())
    assert not np.array_equal(a["pue"], draw_inputs(_config(512, seed=2, **ranges))["pue"])
    columns = np.column_stack([a["capacity_scale"], a["pue"]])
    assert columns.shape == (512, len(CATEGORIES) + 1)
    corr = np.corrcoef(columns, rowvar=False)
    assert np.abs(corr[~np.eye(len(corr), dtype=bool)]).max() < 0.1


@pytest.mark.parametrize("draws", [10, 100, 1000])
def test_any_draw_count_is_accepted(draws: int):
    x = draw_inputs(_config(draws, pue=Range(dist="uniform", low=1.0, high=1.2)))
    assert x["pue"].shape == (draws,)
    assert x["capacity_scale"].shape == (draws, len(CATEGORIES))
