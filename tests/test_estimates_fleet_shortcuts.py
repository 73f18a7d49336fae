"""The fleet solve's shortcuts give the same bits as the long way: the small helpers on hand-made
cases, and whole solves of a fleet whose buying sites have no wasted energy (mode B's slabs, the
level sums and the sums over every class left out) against the same solve done the long way.
Every fixture is hand-made or the seeded synthetic profile set (no real data)."""

from __future__ import annotations

import numpy as np
import pytest
from test_estimates_fleet_solve import SOLVE_FIELDS

from gis.config.estimates import EstimatesConfig
from gis.estimates import fleet, uncertainty


def test_read_table_is_the_row_plus_a_share_of_its_step() -> None:
    base = np.array([[1.0], [2.0], [4.0]], dtype=np.float32)
    step = np.array([[1.0], [2.0], [0.0]], dtype=np.float32)
    i = np.array([[0, 1, 2]])
    f = np.array([[0.5, 0.25, 1.0]], dtype=np.float32)[:, :, None]
    got = fleet._read_table(base, step, i, f)
    np.testing.assert_array_equal(got[..., 0], [[1.5, 2.5, 4.0]])
    assert got.dtype == np.float32


def test_read_table_equals_the_gathered_sum() -> None:
    rng = np.random.default_rng(3)
    base = rng.random((50, 4, 6)).astype(np.float32)
    step = rng.random((50, 4, 6)).astype(np.float32)
    i = rng.integers(0, 50, (7, 5))
    f = rng.random((7, 5, 1, 1)).astype(np.float32)
    expected = base[i] + f * step[i]
    assert np.array_equal(fleet._read_table(base, step, i, f), expected)


def test_top_level_is_the_first_maximum() -> None:
    arg, top = fleet._top_level(np.array([[1.0, 3.0, 3.0, 2.0], [-1.0, -2.0, -0.5, -0.5]]))
    np.testing.assert_array_equal(arg, [1, 2])
    np.testing.assert_array_equal(top, [3.0, -0.5])


def test_top_level_steps_over_a_nan_as_the_running_best_does() -> None:
    arg, top = fleet._top_level(np.array([[1.0, np.nan, 0.5], [np.nan, 2.0, 1.0]]))
    np.testing.assert_array_equal(arg, [0, 0])
    assert top[0] == 1.0 and np.isnan(top[1])


def test_top_level_is_the_last_level_of_the_running_best() -> None:
    rng = np.random.default_rng(1)
    cum = np.round(rng.normal(size=(7, 9, 21)) * 2)  # many ties
    arg, top = fleet._top_level(cum)
    run_arg, run = fleet._prefix_max(cum)
    np.testing.assert_array_equal(arg, run_arg[..., -1])
    np.testing.assert_array_equal(top, run[..., -1])


def test_running_below_from_bins_sums_the_hours_below_each_grid_point() -> None:
    index = np.array([[0, 2, 1], [3, 0, 0]])  # each hour's first grid point above its price
    weights = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    bins = fleet._grid_bins(index, 3)
    np.testing.assert_array_equal(bins, [0, 2, 1, 7, 4, 4])
    got = fleet._running_below(bins, weights, 3)
    np.testing.assert_array_equal(got, [[1.0, 5.0, 7.0], [48.0, 48.0, 48.0]])
    np.testing.assert_array_equal(got, fleet._below_grid(index, weights, 3))


def _model_without_wasted_buyers(btc_price_usd: float, draws: int = 30):
    """A model whose sites that may buy have no wasted energy (as in the real data: every buying
    site is a bought-ledger plant) and whose wasted sites are all simple; its drawn inputs."""
    data = EstimatesConfig().model_dump()
    data["market"]["btc_price_usd"] = btc_price_usd
    config = EstimatesConfig.model_validate(data)
    profiles = fleet.synthetic_profiles(400, n_shapes=30, n_nodes=6, seed=5)
    s = profiles.sites
    wasted = s["ledger"] == "wasted"
    s.loc[wasted, "can_buy"] = False
    s.loc[wasted, "max_mw"] = np.maximum(s.loc[wasted, "max_mw"], s.loc[wasted, "wasted_mw"])
    result = fleet.fleet_economics(profiles, None, config)
    cfg = config.model_copy(update={"uncertainty": config.uncertainty.model_copy(update={"draws": draws})})
    inp = fleet._inputs_from_draws(
        cfg, float(result.base_inputs.network_ehs[0]), uncertainty.draw_inputs(cfg)
    )
    return result.model, inp


def _the_long_way(model: fleet._Model) -> None:
    """Turn this model's shortcuts off: mode B and every running level valued, the level sums
    made of zeros, the classes' sums over every model class."""
    values, level_mw = model.values, model._level_mw

    def all_values(inp, R, cv=None, **_):
        return values(inp, R, cv, slabs=True, levels=True)

    def zero_levels(inp, ch, cv):
        got = level_mw(inp, ch, cv)
        if got is None:
            shape = (inp.draws, len(cv.ids), model.J + 1)
            return np.zeros(shape), np.zeros(shape)
        return got

    def every_class(v, cv, mE, cost):
        mE = fleet._widen(mE, cv, model.Q)
        used = fleet._widen_used(v["used"], cv, model.Q)
        cost_w = np.einsum("dq,dqy->dy", mE * model.s.class_cost[None, :], used) if cost else None
        return np.einsum("dq,dqy->dy", mE, used), cost_w

    model.values, model._level_mw, model._class_sums = all_values, zero_levels, every_class


@pytest.mark.parametrize("btc_price_usd", [120_000.0, 250_000.0])
def test_the_shortcuts_solve_to_the_same_bits_as_the_long_way(btc_price_usd: float) -> None:
    model, inp = _model_without_wasted_buyers(btc_price_usd)
    assert not model._fills_slabs(model.cx) and not np.any(model.s.wasted_mw[model.cx] > 0)
    short = model.solve(inp, steps=8)
    _the_long_way(model)
    long = model.solve(inp, steps=8)
    assert long.wasted_mwh.max() > 0 and long.bought_mwh.max() > 0  # both kinds of site to compare
    for k in SOLVE_FIELDS:
        a, b = getattr(short, k), getattr(long, k)
        assert a.tobytes() == b.tobytes(), k


def test_the_shortcuts_are_not_taken_where_a_buying_site_has_wasted_energy() -> None:
    profiles = fleet.synthetic_profiles(300, n_shapes=20, n_nodes=5, seed=4)
    result = fleet.fleet_economics(profiles, None, EstimatesConfig())
    model = result.model
    wasted_buyers = model.s.can_buy & (model.s.wasted_mw > 0)
    assert wasted_buyers.any()
    assert model._fills_slabs(np.nonzero(wasted_buyers)[0])
    assert not model._fills_slabs(np.nonzero(~model.s.can_buy)[0])


def test_classes_summed_alone_equal_the_sum_over_every_class() -> None:
    model, inp = _model_without_wasted_buyers(160_000.0, draws=12)
    rng = np.random.default_rng(7)
    cv = model.classes(np.union1d(model.bc, rng.choice(model.Q, 20, replace=False)))
    D, Qv, Y = inp.draws, len(cv.ids), len(model.sched.years)
    v = {"used": rng.random((D, Qv, Y)) < 0.7}
    mE = np.zeros((D, Qv))
    mE[np.arange(D), rng.integers(0, Qv, D)] = rng.random(D) * 1e6  # one class a draw
    mE[0] = 0.0  # and a draw without any
    got = model._class_sums(v, cv, mE, True)
    _the_long_way(model)
    expected = model._class_sums(v, cv, mE, True)
    for a, b in zip(got, expected, strict=True):
        assert a.tobytes() == b.tobytes()


def test_widen_used_leaves_the_other_classes_unused() -> None:
    model, _ = _model_without_wasted_buyers(160_000.0, draws=2)
    cv = model.classes(np.union1d(model.bc, [0]))
    used = np.ones((2, len(cv.ids), 3), dtype=bool)
    wide = fleet._widen_used(used, cv, model.Q)
    assert wide.shape == (2, model.Q, 3) and wide.dtype == float
    assert wide[:, cv.ids].all() and wide.sum() == used.sum()


def test_buying_tables_only_for_the_pairs_of_sites_that_may_buy() -> None:
    profiles = fleet.synthetic_profiles(200, n_shapes=10, n_nodes=4, seed=2)
    cf = EstimatesConfig().fleet
    kw = {"levels": cf.levels, "price_step": cf.price_step_usd_mwh, "price_max": cf.price_max_usd_mwh}
    every, site_pair = fleet.build_tables(profiles, **kw)
    buys = fleet._can_buy(profiles.sites, None)
    some, same_pairs = fleet.build_tables(profiles, **kw, buys=buys)
    np.testing.assert_array_equal(site_pair, same_pairs)
    with_buyer = np.isin(np.arange(len(every.pair_node)), site_pair[buys])
    assert with_buyer.any() and not with_buyer.all()
    for name in ("W", "PW", "IW", "B", "Z"):
        a, b = getattr(every, name), getattr(some, name)
        assert np.array_equal(a[with_buyer], b[with_buyer]), name
        assert not b[~with_buyer].any(), name
    for name in ("E", "hours_wasted", "hours", "Wn", "PWn", "IWn"):
        assert np.array_equal(getattr(every, name), getattr(some, name)), name
