"""The workflow around the outputs: scenario problems in plain words, `gis run` refusing a bad
scenario before any work, `gis report` re-rendering every output, `--layers` reading a
layers.gpkg from another folder, and the help showing flags as flags."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixtures.outputs.synthetic import make_out_dir

from gis.cli import main
from gis.config.scenario import MAX_DEPTH, MAX_NAME_CHARS, load_scenario
from gis.errors import GisError


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_listed_with_did_you_mean(tmp_path: Path) -> None:
    path = _write(
        tmp_path, 'name = "typo"\n[estimates.markt]\nenergy_cost_usd_mwh = 25.0\n[scoring]\nwieghts = 3\n'
    )
    with pytest.raises(GisError) as info:
        load_scenario(path)
    message = info.value.message
    assert "2 problems" in message and "more problem(s)" not in message
    assert "'estimates.markt' is not a known key (did you mean 'market'?)" in message
    assert "'scoring.wieghts' is not a known key" in message
    assert str(path) in message


def test_a_bad_value_is_named_with_its_value(tmp_path: Path) -> None:
    path = _write(tmp_path, '[estimates.market]\nbtc_price_usd = "lots"\n')
    with pytest.raises(GisError) as info:
        load_scenario(path)
    assert "'estimates.market.btc_price_usd' = 'lots'" in info.value.message


def test_deep_nesting_is_a_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "a = " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(GisError, match="too deeply"):
        load_scenario(path)
    shallow_enough = _write(tmp_path, "x = " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n", "b.toml")
    with pytest.raises(GisError, match="too deeply"):
        load_scenario(shallow_enough)


def test_size_and_name_limits(tmp_path: Path) -> None:
    big = _write(tmp_path, "# " + "x" * 1_100_000 + "\n")
    with pytest.raises(GisError, match="bytes"):
        load_scenario(big)
    long_name = _write(tmp_path, f'name = "{"n" * (MAX_NAME_CHARS + 1)}"\n', "c.toml")
    with pytest.raises(GisError, match="'name'"):
        load_scenario(long_name)


def test_run_checks_the_scenario_before_any_work(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, "[estimates.markt]\nx = 1\n")
    out = tmp_path / "out"
    code = main(["run", "--scenario", str(path), "--data-dir", str(tmp_path / "no-data"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "did you mean 'market'" in err
    assert "Building layers" not in err
    assert not (out / "layers.gpkg").exists()


def test_help_shows_flags_as_flags(capsys) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "--debug" in text and "<bool>" not in text
    assert main(["report", "--help"]) == 0
    assert "--layers" in capsys.readouterr().out


def test_report_rerenders_everything_with_layers_from_elsewhere(tmp_path: Path) -> None:
    source = make_out_dir(tmp_path / "first")
    out = tmp_path / "second"
    out.mkdir()
    for name in ("sites.gpkg", "estimates.json"):
        shutil.copy(source / name, out / name)
    assert main(["report", "--out", str(out), "--layers", str(source / "layers.gpkg")]) == 0
    assert (out / "layers.gpkg").is_symlink()
    assert (out / "layers.gpkg").resolve() == (source / "layers.gpkg").resolve()
    for name in (
        "map.html",
        "map_offline.html",
        "sites.gpkg",
        "sites_ranked.xlsx",
        "sites_ranked.csv",
        "report.html",
    ):
        assert (out / name).is_file(), name
    # a folder with its own layers.gpkg is left alone
    own = make_out_dir(tmp_path / "third")
    assert main(["report", "--out", str(own), "--layers", str(source / "layers.gpkg")]) == 1
    assert not (own / "layers.gpkg").is_symlink()
