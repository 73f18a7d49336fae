"""`gis estimate`: calculator mode and the national roll-up, through gis.cli.main."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from gis.cli import main
from gis.config.vocabulary import CATEGORIES
from gis.io import write_gpkg

_spec = importlib.util.spec_from_file_location(
    "tiny_layers", Path(__file__).parent / "fixtures" / "scoring" / "tiny_layers.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

SEED_ARGS = [
    "estimate",
    "--gw",
    "5",
    "--asic-watts",
    "3000",
    "--asic-ths",
    "200",
    "--network-ehs",
    "1070",
    "--json",
]


def test_calculator_json_checks_the_seed_claim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(SEED_ARGS) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["machines"] == pytest.approx(1_666_666.667, rel=1e-9)
    assert out["hashrate_ehs"] == pytest.approx(1000 / 3)
    assert out["btc_per_year"] == pytest.approx(39_014.25, abs=0.01)
    assert out["share_of_network"] == pytest.approx(0.2375, abs=1e-4)
    a = out["assumptions"]
    assert a["pue"]["value"] == 1.0 and a["uptime"]["value"] == 1.0
    assert a["pue"]["source"].startswith("calculator default")
    assert a["asic_watts"]["source"] == "given on the command line"
    assert "u.H / (H_net + u.H)" in a["formulas"]["btc_per_year"]


def test_calculator_options_change_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SEED_ARGS, "--pue", "1.1", "--uptime", "0.95", "--fees", "0.03"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hashrate_ehs"] == pytest.approx(1000 / 3 / 1.1)
    h = 1000 / 3 / 1.1
    # uptime inside the dilution: u.H / (N + u.H)
    assert out["btc_per_year"] == pytest.approx(52_560 * 3.155 * 0.95 * h / (1070 + 0.95 * h))


def test_calculator_defaults_come_from_the_scenario_and_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "--gw", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    a = out["assumptions"]
    assert a["asic_watts"]["value"] == 3500.0 and "Antminer S21" in a["asic_watts"]["source"]
    assert a["network_ehs"]["value"] == 1070.3 and "scenario" in a["network_ehs"]["source"]
    assert out["machines"] == pytest.approx(20e9 / 3500)


def test_calculator_table_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(SEED_ARGS[:-1]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # the table goes to the console (stderr), stdout stays clean
    assert "hashrate_ehs" in captured.err and "333.3" in captured.err


@pytest.mark.parametrize(
    ("extra", "field"),
    [(["--pue", "-1"], "--pue"), (["--uptime", "1.5"], "--uptime"), (["--asic-watts", "0"], "--asic-watts")],
)
def test_calculator_bad_inputs_exit_1_with_message(
    capsys: pytest.CaptureFixture[str], extra: list[str], field: str
) -> None:
    args = list(SEED_ARGS)
    for i in range(0, len(extra), 2):
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i : i + 2]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert field in err and "Fix:" in err


def test_calculator_needs_both_asic_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "--gw", "5", "--asic-watts", "3000", "--json"]) == 1
    assert "--asic-ths" in capsys.readouterr().err


def _scored(out: Path) -> Path:
    """OUT/layers.gpkg from the tiny layers (a year of made-up hub prices included), scored."""
    write_gpkg(out / "layers.gpkg", tiny.tiny_layers())
    assert main(["score", "--out", str(out)]) == 0
    return out


def test_estimate_writes_json_deterministically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _scored(tmp_path / "out")
    capsys.readouterr()
    assert main(["estimate", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    first = (out / "estimates.json").read_bytes()
    printed = json.loads(captured.out)
    assert printed == json.loads(first)
    assert (
        "National estimate" in captured.err and "By category" in captured.err and "By ledger" in captured.err
    )
    assert main(["estimate", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert (out / "estimates.json").read_bytes() == first
    data = json.loads(first)
    assert data["scenario"] == "default" and data["selection"]["rule"] == "npv"
    assert data["national"]["sites"] == data["selection"]["sites_selected"] == len(data["fleet"]["site_ids"])
    assert "explorer_grid" in data and {r["category"] for r in data["categories"]} == set(CATEGORIES)
    assert not list(out.glob(".estimates.json.*"))  # no temporary file left behind


def test_estimate_network_override_and_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _scored(tmp_path / "out")
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "five"\n[estimates.selection]\nrule = "target_gw"\ntarget_gw = 0.8\n'
        "[estimates.market]\nbtc_price_usd = 200000.0\n[estimates.uncertainty]\ndraws = 100\n",
        "utf-8",
    )
    assert main(["estimate", "--out", str(out), "--scenario", str(scenario), "--network-ehs", "900"]) == 0
    data = json.loads((out / "estimates.json").read_text("utf-8"))
    assert data["scenario"] == "five" and data["selection"]["rule"] == "target_gw"
    assert data["national"]["installed_gw"] <= 0.8 + 1.0  # the site crossing the target may be kept whole
    assert data["national"]["network_ehs"] == 900.0
    assert data["assumptions"]["network.hashrate_ehs"]["value"] == 900.0
    capsys.readouterr()


def test_estimate_without_scored_sites_says_run_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["estimate", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "gis score" in err and "sites.gpkg" in err
    assert not (tmp_path / "estimates.json").exists()


def test_estimate_from_data_needs_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _scored(tmp_path / "out")
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "d"\n[estimates.network]\nhashrate_ehs = "from_data"\n', "utf-8")
    assert main(["estimate", "--out", str(out), "--scenario", str(scenario)]) == 1
    assert "gis build" in capsys.readouterr().err
