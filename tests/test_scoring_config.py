"""Scenario validation of the [scoring] tables: unknown keys, weights, fractions, measures."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from gis.config.scenario import DEFAULT_SCENARIO, load_scenario
from gis.config.scoring import ScoringConfig
from gis.errors import GisError


def _default_text() -> str:
    return DEFAULT_SCENARIO.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_scenario_loads_with_weights_summing_to_one():
    config = load_scenario().scoring
    assert sum(c.weight for c in config.criteria.values()) == pytest.approx(1.0, abs=1e-9)
    assert config.sites.flare_gas.genset_efficiency > 0


def test_weights_not_summing_to_one_are_refused_with_the_weights_listed(tmp_path):
    text = _default_text().replace(
        'measure = "mineable_mw"\ntransform = { kind = "logistic", midpoint = 50.0, scale = 25.0 }   # 0.12 at 0 MW, 0.5 at 50 MW, 0.88 at 100 MW\nweight = 0.25',
        'measure = "mineable_mw"\ntransform = { kind = "logistic", midpoint = 50.0, scale = 25.0 }\nweight = 0.35',
    )
    assert "weight = 0.35" in text
    with pytest.raises(GisError) as info:
        load_scenario(_write(tmp_path, text))
    message = info.value.message
    assert "sum to 1" in message and "size=0.35" in message and "grid_distance=0.2" in message
    assert "scoring.criteria" in message and str(tmp_path) in message


def test_unknown_key_is_refused(tmp_path):
    text = _default_text().replace("[scoring.stability]\n", "[scoring.stability]\ndraw = 10\n")
    with pytest.raises(GisError) as info:
        load_scenario(_write(tmp_path, text))
    assert "scoring.stability.draw" in info.value.message


def test_fraction_out_of_range_and_unknown_measure_are_refused():
    data = tomllib.loads(_default_text())["scoring"]
    data["sites"]["flare_gas"]["capture_fraction"] = 1.5
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        ScoringConfig.model_validate(data)
    data = tomllib.loads(_default_text())["scoring"]
    data["criteria"]["size"]["measure"] = "mineable_kw"
    with pytest.raises(ValidationError, match="unknown measure 'mineable_kw'"):
        ScoringConfig.model_validate(data)
    data = tomllib.loads(_default_text())["scoring"]
    data["sites"]["flare_gas"]["genset_efficiency"] = 0.0
    with pytest.raises(ValidationError, match="greater than 0"):
        ScoringConfig.model_validate(data)


def test_voltage_steps_must_increase():
    data = tomllib.loads(_default_text())["scoring"]
    data["grid"]["headroom_by_voltage"] = [
        {"min_kv": 345, "headroom_mw": 750},
        {"min_kv": 69, "headroom_mw": 50},
    ]
    with pytest.raises(ValidationError, match="min_kv must increase"):
        ScoringConfig.model_validate(data)
