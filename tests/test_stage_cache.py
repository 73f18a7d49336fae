"""The stage cache (:mod:`gis.memo`): keyed by content, whole or absent, and never a different result.

The store is tested on its own (keys, damage, failures, pruning); then ``gis run`` on the tiny
data directory of the end-to-end test: a second run reuses every stage and writes the same
files, a weight change reuses only the measured sites and writes what a run without the cache
writes, and a damaged entry is computed again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point
from test_run_end_to_end import tiny_data_dir

from gis.cli import main
from gis.config.scenario import load_scenario
from gis.memo import MANIFEST, Memo, digest, file_stamp

# ------------------------------------------------------------------------------ keys


def test_digest_follows_every_kind_of_input(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", None]})
    assert digest(frame) == digest(frame.copy())
    assert digest(frame) != digest(frame.assign(a=[1.0, 2.000001]))
    assert digest(frame) != digest(frame.rename(columns={"b": "c"}))
    assert digest(frame) != digest(frame.astype({"a": "float32"}))
    points = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(0, 0)], crs=4326)
    assert digest(points) != digest(points.set_geometry([Point(0, 1e-9)]))
    assert digest(points) != digest(points.to_crs(3857).set_geometry([Point(0, 0)]))
    scenario = load_scenario()
    assert digest(scenario) == digest(load_scenario())
    moved = scenario.model_copy(update={"name": "other"})
    assert digest(scenario) != digest(moved)
    f = tmp_path / "t.csv"
    f.write_text("1")
    before = digest(f)
    f.write_text("12")
    assert digest(f) != before and file_stamp(f).endswith(f"|2|{f.stat().st_mtime_ns}")
    assert digest("a", "b") != digest("ab") and digest({"k": 1}) == digest({"k": 1})


# ------------------------------------------------------------------------------ the store


def _fill(text: str):
    def fill(folder: Path) -> None:
        (folder / "a.txt").write_text(text, encoding="utf-8")

    return fill


def test_store_then_load(tmp_path: Path) -> None:
    memo = Memo("stage", tmp_path)
    assert memo.load("k1") is None
    assert memo.store("k1", _fill("hello")) is None
    entry = memo.load("k1")
    assert entry is not None and (entry / "a.txt").read_text(encoding="utf-8") == "hello"
    assert json.loads((entry / MANIFEST).read_text(encoding="utf-8"))["files"] == {"a.txt": 5}


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    memo = Memo("stage", tmp_path)
    memo.store("k1", _fill("hello"))
    (tmp_path / "stage" / "k1" / "a.txt").write_text("hell", encoding="utf-8")  # truncated
    assert memo.load("k1") is None
    memo.store("k2", _fill("hello"))
    (tmp_path / "stage" / "k2" / MANIFEST).write_text("{not json", encoding="utf-8")
    assert memo.load("k2") is None
    memo.store("k3", _fill("hello"))
    (tmp_path / "stage" / "k3" / "a.txt").unlink()
    assert memo.load("k3") is None


def test_a_failing_fill_leaves_nothing_and_raises(tmp_path: Path) -> None:
    memo = Memo("stage", tmp_path)

    def fill(folder: Path) -> None:
        (folder / "a.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        memo.store("k1", fill)
    assert memo.load("k1") is None
    assert list((tmp_path / "stage").iterdir()) == []


def test_an_unwritable_cache_only_warns(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    problem = Memo("stage", blocker).store("k1", _fill("x"))
    assert problem is not None and "not writable" in problem


def test_only_the_most_recent_entries_are_kept(tmp_path: Path) -> None:
    memo = Memo("stage", tmp_path, keep=2)
    for i, key in enumerate(["k1", "k2", "k3"]):
        memo.store(key, _fill(key))
        os.utime(tmp_path / "stage" / key, (1_000_000 + i, 1_000_000 + i))
    memo.store("k4", _fill("k4"))
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == ["k3", "k4"]


# ------------------------------------------------------------------------------ gis run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("stage-cache")
    data, catalog = tiny_data_dir(root)
    with pytest.MonkeyPatch.context() as mp:  # the stage cache: each test's own (conftest)
        mp.setenv("GIS_CATALOG_DIR", str(catalog))
        mp.delenv("GIS_DATA_MIRROR", raising=False)
        mp.delenv("GIS_DATA_DIR", raising=False)
        yield root, data


def _run(data: Path, out: Path, capsys, *extra: str) -> str:
    capsys.readouterr()
    assert main(["run", "--data-dir", str(data), "--out", str(out), *extra]) == 0
    return capsys.readouterr().err


DETERMINISTIC = ("sites_ranked.csv", "estimates.json")


def _reweighted(root: Path) -> Path:
    scenario = load_scenario()
    names = sorted(scenario.scoring.criteria, key=lambda n: -scenario.scoring.criteria[n].weight)
    give, take = names[0], names[1]
    weights = {n: scenario.scoring.criteria[n].weight for n in (give, take)}
    path = root / "reweighted.toml"
    path.write_text(
        f'name = "reweighted"\n\n[scoring.criteria.{give}]\nweight = {weights[give] - 0.1!r}\n\n'
        f"[scoring.criteria.{take}]\nweight = {weights[take] + 0.1!r}\n",
        encoding="utf-8",
    )
    return path


def test_a_second_run_reuses_every_stage_and_writes_the_same(tiny, capsys) -> None:
    root, data = tiny
    first = _run(data, root / "a", capsys)
    assert "reused" not in first.replace("layers reused", "")
    again = _run(data, root / "b", capsys)
    assert "Measured sites unchanged" in again
    assert "Estimates unchanged" in again and "Outputs unchanged" in again
    assert {p.name for p in (root / "a").iterdir()} == {p.name for p in (root / "b").iterdir()}
    for name in (*DETERMINISTIC, "report.html", "scenario.toml"):
        assert (root / "a" / name).read_bytes() == (root / "b" / name).read_bytes(), name


def test_a_weight_change_reuses_the_measures_only_and_changes_nothing(tiny, capsys) -> None:
    root, data = tiny
    _run(data, root / "c", capsys)  # fills the cache (or finds it filled)
    scenario = _reweighted(root)
    moved = _run(data, root / "d", capsys, "--scenario", str(scenario))
    assert "Measured sites unchanged" in moved
    assert "Estimates unchanged" not in moved and "Outputs unchanged" not in moved
    fresh = _run(data, root / "e", capsys, "--scenario", str(scenario), "--no-stage-cache")
    assert "unchanged" not in fresh.replace("Sources unchanged", "")
    for name in DETERMINISTIC:
        assert (root / "d" / name).read_bytes() == (root / "e" / name).read_bytes(), name
    ranked = pd.read_csv(root / "d" / "sites_ranked.csv")
    before = pd.read_csv(root / "c" / "sites_ranked.csv")
    assert not ranked["score"].equals(before["score"])  # the weights did change the scores


def test_a_damaged_entry_is_computed_again(tiny, capsys) -> None:
    root, data = tiny
    _run(data, root / "f", capsys)
    cache = Path(os.environ["GIS_CACHE_DIR"]) / "stages"  # each test has its own (conftest)
    for stage in ("measured_sites", "estimates", "outputs"):
        for entry in (cache / stage).iterdir():
            for f in entry.iterdir():
                if f.name != MANIFEST:
                    f.write_bytes(f.read_bytes()[:-1])  # a byte short: the manifest disagrees
    again = _run(data, root / "g", capsys)
    assert "unchanged" not in again.replace("Sources unchanged", "")
    for name in DETERMINISTIC:
        assert (root / "f" / name).read_bytes() == (root / "g" / name).read_bytes(), name
