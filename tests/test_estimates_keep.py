"""The Monte Carlo's bands kept by what they depend on: the same under any rank and score when the
rule is ``npv``, a new key when an input they read changes, and kept in the process and on disk."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from gis.config.estimates import EstimatesConfig
from gis.estimates import keep
from gis.estimates.fleet import fleet_economics, monte_carlo, synthetic_profiles
from gis.estimates.keep import kept_json, monte_carlo_key

N = 120


def _config(rule: str = "npv", **selection: float) -> EstimatesConfig:
    data = EstimatesConfig().model_dump()
    data["market"]["btc_price_usd"] = 160_000.0  # a fleet in most draws
    data["selection"].update(rule=rule, **selection)
    return EstimatesConfig.model_validate(data)


def _ranking(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "score": rng.uniform(0, 1, N),
            "rank": rng.permutation(N).astype(float) + 1,
            "excluded": np.zeros(N, bool),
        }
    )


@pytest.fixture(scope="module")
def profiles():
    return synthetic_profiles(N, n_shapes=8, n_nodes=3, seed=5)


def test_bands_do_not_depend_on_rank_or_score_under_npv(profiles) -> None:
    config = _config()
    a, b = _ranking(1), _ranking(2)
    bands_a = monte_carlo(fleet_economics(profiles, a, config), config, draws=256)
    bands_b = monte_carlo(fleet_economics(profiles, b, config), config, draws=256)
    assert bands_a["bands"]["installed_gw"]["p90"] > 0  # a fleet to select
    assert bands_a == bands_b
    assert monte_carlo_key(profiles, a, config, 900.0) == monte_carlo_key(profiles, b, config, 900.0)


@pytest.mark.parametrize(("rule", "column"), [("target_gw", "rank"), ("score_threshold", "score")])
def test_the_rule_that_reads_rank_or_score_keys_on_it(profiles, rule: str, column: str) -> None:
    config = _config(rule)
    a = _ranking(1)
    b = a.assign(**{column: a[column].to_numpy()[::-1]})
    assert monte_carlo_key(profiles, a, config, 900.0) != monte_carlo_key(profiles, b, config, 900.0)
    other = "score" if column == "rank" else "rank"
    c = a.assign(**{other: a[other].to_numpy()[::-1]})
    assert monte_carlo_key(profiles, a, config, 900.0) == monte_carlo_key(profiles, c, config, 900.0)


def test_the_key_changes_with_every_input_the_bands_read(profiles) -> None:
    config = _config()
    a = _ranking(1)
    base = monte_carlo_key(profiles, a, config, 900.0)
    excluded = a.assign(excluded=np.r_[True, np.zeros(N - 1, bool)])
    more_draws = config.model_copy(
        update={"uncertainty": config.uncertainty.model_copy(update={"draws": config.uncertainty.draws * 2})}
    )
    dearer = dataclasses.replace(profiles, price=profiles.price + 1.0)
    bigger = dataclasses.replace(profiles, sites=profiles.sites.assign(max_mw=profiles.sites["max_mw"] * 2))
    keys = {
        monte_carlo_key(profiles, excluded, config, 900.0),
        monte_carlo_key(profiles, a, more_draws, 900.0),
        monte_carlo_key(profiles, a, config, 901.0),
        monte_carlo_key(dearer, a, config, 900.0),
        monte_carlo_key(bigger, a, config, 900.0),
    }
    assert base not in keys and len(keys) == 5


def test_bands_are_kept_in_the_process_and_on_disk(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(keep, "_KEPT", keep.OrderedDict())
    made: list[int] = []
    bands = {"draws": 8, "bands": {"installed_gw": {"p10": 0.1, "p90": 1 / 3}}, "sensitivity": []}

    def make() -> dict:
        made.append(1)
        return json.loads(json.dumps(bands))

    first = kept_json("monte_carlo", "k1", make, on_disk=True)
    first["draws"] = -1  # a caller's change does not reach what is kept
    assert kept_json("monte_carlo", "k1", make, on_disk=True) == bands and len(made) == 1
    keep._KEPT.clear()  # a new process: from disk, the same floats
    assert kept_json("monte_carlo", "k1", make, on_disk=True) == bands and len(made) == 1
    keep._KEPT.clear()
    (next((tmp_path / "stages" / "monte_carlo").glob("k1")) / "data.json").write_text("{damaged")
    assert kept_json("monte_carlo", "k1", make, on_disk=True) == bands and len(made) == 2  # made again
    keep._KEPT.clear()
    assert kept_json("monte_carlo", "k2", make, on_disk=False) == bands and len(made) == 3
    assert not (tmp_path / "stages" / "monte_carlo" / "k2").exists()  # not on disk unless asked


@pytest.fixture
def counted_tables(profiles, monkeypatch):
    """An empty in-process keep of fleet tables; the default-rule config, a maker of the tables of
    ``profiles`` and the list it adds to each time it makes them."""
    from gis.estimates.fleet import fleet_tables

    monkeypatch.setattr(keep, "_TABLES", type(keep._TABLES)())
    config = _config()
    made: list[int] = []

    def make():
        made.append(1)
        return fleet_tables(profiles, config)

    return config, make, made


def test_fleet_tables_are_kept_read_only_and_give_the_same_fleet(profiles, counted_tables) -> None:
    config, make, made = counted_tables
    key = keep.tables_key(config, keep.profiles_key(profiles))
    tables = keep.kept_tables(key, make)
    assert keep.kept_tables(key, make) is tables and made == [1]  # kept in the process
    with pytest.raises(ValueError, match="read-only"):
        tables[0].E[0, 0] = 1.0
    for ranking in (_ranking(1), _ranking(2)):
        plain = fleet_economics(profiles, ranking, config, network_ehs=700.0)
        reused = fleet_economics(profiles, ranking, config, network_ehs=700.0, tables=tables)
        pd.testing.assert_frame_equal(reused.sites, plain.sites)
        assert json.dumps(reused.national | {"seconds": 0}) == json.dumps(plain.national | {"seconds": 0})
        assert monte_carlo(reused, config, draws=64) == monte_carlo(plain, config, draws=64)
    keep.release_fleet_tables()  # gis run, once estimated: its memory back for the outputs
    assert keep.kept_tables(key, make) is not tables and made == [1, 1]


def test_fleet_tables_are_keyed_by_the_energy_alone(profiles) -> None:
    config = _config("target_gw")
    digest = keep.profiles_key(profiles)
    key = keep.tables_key(config, digest)
    assert key == keep.tables_key(_config("npv"), keep.profiles_key(dataclasses.replace(profiles)))
    finer = config.model_copy(
        update={"fleet": config.fleet.model_copy(update={"levels": config.fleet.levels + 1})}
    )
    dearer = dataclasses.replace(profiles, price=profiles.price + 1.0)
    assert len({key, keep.tables_key(finer, digest), keep.tables_key(config, keep.profiles_key(dearer))}) == 3
    assert monte_carlo_key(profiles, _ranking(1), config, 900.0) == monte_carlo_key(
        profiles, _ranking(1), config, 900.0, profiles_digest=digest
    )


def test_fleet_tables_kept_on_disk_are_the_tables_made(
    profiles, counted_tables, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    config, make, made = counted_tables
    key = keep.tables_key(config, keep.profiles_key(profiles))
    tables, pairs = keep.kept_tables(key, make, on_disk=True)
    keep.release_fleet_tables()  # as in a new process: from the stage cache
    again, again_pairs = keep.kept_tables(key, make, on_disk=True)
    assert made == [1] and again is not tables and np.array_equal(again_pairs, pairs)
    for field in dataclasses.fields(tables):
        a, b = getattr(tables, field.name), getattr(again, field.name)
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, field.name
    with pytest.raises(ValueError, match="read-only"):
        again.W[0, 0, 0] = 1.0
    for ranking in (_ranking(1), _ranking(2)):
        plain = fleet_economics(profiles, ranking, config, network_ehs=700.0, tables=(tables, pairs))
        reused = fleet_economics(profiles, ranking, config, network_ehs=700.0, tables=(again, again_pairs))
        pd.testing.assert_frame_equal(reused.sites, plain.sites)
        assert monte_carlo(reused, config, draws=64) == monte_carlo(plain, config, draws=64)
    keep.release_fleet_tables()
    (next((tmp_path / "stages" / "fleet_tables").iterdir()) / "tables.json").write_text("{damaged")
    assert keep.kept_tables(key, make, on_disk=True) is not None and made == [1, 1]  # made again
