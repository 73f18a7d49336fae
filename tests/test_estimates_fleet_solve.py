"""Known answers for the fleet solve's fast paths: valuing only the classes that can still enter,
the running best level, the tables built once per shape, and the sensitivity's inputs. Every
fixture is the seeded synthetic profile set (no real data)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gis.config.estimates import UNCERTAIN_INPUTS, EstimatesConfig
from gis.estimates import fleet, uncertainty

SOLVE_FIELDS = (
    "X",
    "wasted_mwh",
    "bought_mwh",
    "energy_cost",
    "capex",
    "installed_mw",
    "theta",
    "X_lo",
    "X_hi",
)
"""The arrays of a fleet solve that two ways of solving must give to the bit."""


def _config(btc_price_usd: float) -> EstimatesConfig:
    data = EstimatesConfig().model_dump()
    data["market"]["btc_price_usd"] = btc_price_usd
    return EstimatesConfig.model_validate(data)


def _model_and_draws(btc_price_usd: float, draws: int = 40):
    config = _config(btc_price_usd)
    profiles = fleet.synthetic_profiles(400, n_shapes=30, n_nodes=6, seed=5)
    result = fleet.fleet_economics(profiles, None, config)
    cfg = config.model_copy(update={"uncertainty": config.uncertainty.model_copy(update={"draws": draws})})
    inp = fleet._inputs_from_draws(
        cfg, float(result.base_inputs.network_ehs[0]), uncertainty.draw_inputs(cfg)
    )
    return result.model, inp


@pytest.mark.parametrize("btc_price_usd", [60_000.0, 160_000.0])
def test_valuing_the_live_classes_only_changes_nothing(btc_price_usd: float) -> None:
    model, inp = _model_and_draws(btc_price_usd)
    mk = model.market(inp)
    top, ch, v, _ = model.response(inp, np.zeros((inp.draws, len(model.sched.years))), mk, cost=False)
    active = model.cx[(ch["mode"] > 0).any(axis=0)]
    cv = model.live_classes(v, active)
    for share in (0.2, 0.6, 1.0):
        X = share * top["X"]
        full, ch_full, _, _ = model.response(inp, X, mk, idx=active)
        live, ch_live, _, _ = model.response(inp, X, mk, idx=active, cv=cv)
        for k in ("wasted", "bought", "cost", "capex", "mw", "X"):
            assert np.array_equal(full[k], live[k]), (k, share)
        for k in ("mode", "npv", "pos", "ext", "mw", "capex"):
            assert np.array_equal(ch_full[k], ch_live[k]), (k, share)


def test_the_solve_with_live_classes_equals_the_solve_over_every_class() -> None:
    model, inp = _model_and_draws(60_000.0)
    pruned = model.solve(inp, steps=8)
    model.live_classes = lambda v, active: model.all_classes  # value every class in every step
    everything = model.solve(inp, steps=8)
    assert pruned.installed_mw.max() > 0  # a fleet to compare
    for k in SOLVE_FIELDS:
        assert np.array_equal(getattr(pruned, k), getattr(everything, k)), k


def test_some_classes_are_left_out_when_the_price_is_low() -> None:
    model, inp = _model_and_draws(60_000.0)
    mk = model.market(inp)
    _, ch, v, _ = model.response(inp, np.zeros((inp.draws, len(model.sched.years))), mk, cost=False)
    cv = model.live_classes(v, model.cx[(ch["mode"] > 0).any(axis=0)])
    assert len(cv.ids) < model.Q  # the test above compares something
    assert set(model.bc) <= set(cv.ids)


def _prefix_argmax_by_level(cum: np.ndarray) -> np.ndarray:
    """The running best level, one level at a time (the first index on ties)."""
    best = cum[..., 0].copy()
    arg = np.zeros(cum.shape[:-1], dtype=np.int64)
    out = [arg]
    for j in range(1, cum.shape[-1]):
        better = cum[..., j] > best
        best = np.maximum(best, cum[..., j])
        arg = np.where(better, j, arg)
        out.append(arg)
    return np.stack(out, axis=-1)


def test_running_best_level_matches_the_loop_over_levels() -> None:
    rng = np.random.default_rng(1)
    cum = np.round(rng.normal(size=(7, 9, 21)) * 2)  # many ties
    cum[0, 0, 5] = np.nan
    cum[1, 1, 0] = np.nan
    for a in (cum, np.nan_to_num(cum)):
        arg, best = fleet._prefix_max(a)
        expected = _prefix_argmax_by_level(a)
        np.testing.assert_array_equal(arg, expected)
        np.testing.assert_array_equal(best, np.take_along_axis(a, expected, axis=-1))


def test_tables_of_a_pair_do_not_depend_on_the_other_pairs() -> None:
    profiles = fleet.synthetic_profiles(200, n_shapes=10, n_nodes=4, seed=2)
    cf = EstimatesConfig().fleet
    kw = {"levels": cf.levels, "price_step": cf.price_step_usd_mwh, "price_max": cf.price_max_usd_mwh}
    tables, site_pair = fleet.build_tables(profiles, **kw)
    for site in (0, 7, 50, 123):
        alone = dataclasses.replace(profiles, sites=profiles.sites.iloc[[site]].reset_index(drop=True))
        one, _ = fleet.build_tables(alone, **kw)
        p = site_pair[site]
        for name in ("E", "W", "PW", "IW", "B", "Z", "hours_wasted", "hours"):
            assert np.array_equal(getattr(tables, name)[p], getattr(one, name)[0]), (site, name)


def test_one_at_a_time_moves_one_input_to_each_end() -> None:
    config = EstimatesConfig()
    rows, xs = uncertainty.one_at_a_time(config)
    names = sorted(config.uncertainty.ranges)
    assert [(n, e) for n, e, _ in rows] == [(n, e) for n in names for e in ("low", "high")]
    base = uncertainty.base_inputs(config)
    assert set(xs) == set(UNCERTAIN_INPUTS)
    for i, (name, _, value) in enumerate(rows):
        for k, x in xs.items():
            assert len(x) == len(rows)
            expected = np.full_like(base[k][0], value) if k == name else base[k][0]
            np.testing.assert_array_equal(x[i], expected)
    empty = config.model_copy(update={"uncertainty": config.uncertainty.model_copy(update={"ranges": {}})})
    assert uncertainty.one_at_a_time(empty) == ([], {})
