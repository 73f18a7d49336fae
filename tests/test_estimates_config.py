"""The [estimates...] scenario tables and the ASIC catalogue: defaults, bad inputs, clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gis.config.asics import ASIC_CATALOGUE, asic_model, asic_table, known_models
from gis.config.estimates import EstimatesConfig, assumptions
from gis.config.scenario import DEFAULT_SCENARIO, load_estimates_config
from gis.errors import GisError
from gis.estimates.calculator import calculator


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text('name = "test"\n' + text, encoding="utf-8")
    return path


def test_packaged_default_equals_model_defaults() -> None:
    name, config = load_estimates_config()
    assert name == "default"
    assert config == EstimatesConfig()
    assert "estimates" in tomllib.loads(DEFAULT_SCENARIO.read_text(encoding="utf-8"))


def test_every_default_cites_a_source() -> None:
    for key, entry in assumptions(EstimatesConfig()).items():
        assert entry["source"], key
        assert "unit" in entry, key


def test_changed_value_says_so_and_keeps_the_default_source(tmp_path: Path) -> None:
    _, config = load_estimates_config(_write(tmp_path, "[estimates.market]\nbtc_price_usd = 100000.0\n"))
    entry = assumptions(config)["market.btc_price_usd"]
    assert entry["value"] == 100_000.0
    assert entry["source"].startswith("scenario value (the default 87500.0 cites")


def test_catalogue_has_the_required_models_with_consistent_efficiency() -> None:
    required = {
        "Antminer S19 XP", "Antminer S21", "Antminer S21 Pro", "Antminer S21 XP",
        "Antminer S21+ Hydro", "Whatsminer M60S", "Whatsminer M66S",
    }  # fmt: skip
    assert required <= set(known_models())
    table = asic_table()
    assert (abs(table["power_w"] / table["hashrate_ths"] / table["efficiency_j_th"] - 1) < 0.03).all()
    assert table["source"].str.len().gt(10).all()
    assert not asic_model("antminer s21").weak and asic_model("Whatsminer_M60S").weak
    assert asic_model("ANTMINER S21 PRO").efficiency_j_th == 15.0
    assert len({m.name for m in ASIC_CATALOGUE}) == len(ASIC_CATALOGUE)


def test_unknown_asic_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(GisError) as err:
        asic_model("Antminer S99")
    assert "Antminer S21 Pro" in err.value.message and "Whatsminer M66S" in err.value.message
    path = _write(tmp_path, '[estimates]\nasic_model = "Antminer S99"\n')
    with pytest.raises(GisError) as err:
        load_estimates_config(path)
    assert err.value.field == "estimates.asic_model"
    assert str(path) in err.value.message and "Whatsminer M60S" in err.value.message


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ("[estimates]\npue = -1.2\n", "estimates.pue"),
        ("[estimates]\npue = 0.9\n", "estimates.pue"),
        ("[estimates]\nuptime = 1.2\n", "estimates.uptime"),
        ("[estimates]\nuptim = 0.9\n", "estimates.uptim"),
        ("[estimates.network]\nhashrate_ehs = -5.0\n", "estimates.network.hashrate_ehs"),
        ('[estimates.network]\nhashrate_ehs = "from_somewhere"\n', "estimates.network.hashrate_ehs"),
        ('[estimates.selection]\nrule = "best"\n', "estimates.selection.rule"),
        ("[estimates.selection]\nscore_threshold = 1.5\n", "estimates.selection.score_threshold"),
        (
            "[estimates.carbon.emission_factors_t_per_mwh]\ncoal = -1.0\n",
            "estimates.carbon.emission_factors_t_per_mwh",
        ),
        (
            "[estimates.uncertainty.ranges.pue]\nlow = 1.3\nmode = 1.1\nhigh = 1.2\n",
            "estimates.uncertainty.ranges.pue",
        ),
        (
            "[estimates.uncertainty.ranges.wind_speed]\nlow = 1\nmode = 2\nhigh = 3\n",
            "estimates.uncertainty.ranges",
        ),
        (
            "[estimates.uncertainty.ranges.uptime]\nlow = 0.9\nmode = 1.0\nhigh = 1.1\n",
            "estimates.uncertainty.ranges",
        ),
    ],
)
def test_bad_values_are_refused_with_the_field(tmp_path: Path, toml: str, field: str) -> None:
    path = _write(tmp_path, toml)
    with pytest.raises(GisError) as err:
        load_estimates_config(path)
    assert err.value.field is not None and err.value.field.startswith(field)
    assert str(path) in err.value.message and "Fix:" in err.value.message


def test_base_value_outside_its_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GisError) as err:
        load_estimates_config(_write(tmp_path, "[estimates]\npue = 1.5\n"))
    assert "outside its uncertainty range" in err.value.message


def test_missing_and_broken_scenario_files(tmp_path: Path) -> None:
    with pytest.raises(GisError, match="does not exist"):
        load_estimates_config(tmp_path / "nope.toml")
    with pytest.raises(GisError, match="not valid TOML"):
        load_estimates_config(_write(tmp_path, "[estimates\n"))


def test_with_network_ehs_validates() -> None:
    assert EstimatesConfig().with_network_ehs(900.0).network.hashrate_ehs == 900.0
    with pytest.raises(ValueError):
        EstimatesConfig().with_network_ehs(-1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pue": -1.0}, "--pue"),
        ({"pue": 0.8}, "--pue"),
        ({"uptime": 1.5}, "--uptime"),
        ({"uptime": 0.0}, "--uptime"),
        ({"gw": -5.0}, "--gw"),
        ({"asic_watts": 0.0}, "--asic-watts"),
        ({"network_ehs": float("nan")}, "--network-ehs"),
        ({"fees": -0.1}, "--fees"),
    ],
)
def test_calculator_refuses_bad_inputs(kwargs: dict, field: str) -> None:
    args = {"gw": 5.0, "asic_watts": 3000.0, "asic_ths": 200.0, "network_ehs": 1070.0, **kwargs}
    with pytest.raises(GisError) as err:
        calculator(**args)
    assert err.value.field == field
