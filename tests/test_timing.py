"""Stage timings that `gis run --timings` writes and scripts/bench.py reads (no speed asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from gis import timing


def test_nested_stages_are_named_outer_inner_and_written(tmp_path: Path) -> None:
    with timing.stage("ignored"):  # recorder off: nothing kept
        pass
    timing.start()
    with timing.stage("estimate"):
        with timing.stage("hourly"):
            pass
        with timing.stage("monte_carlo"):
            pass
    with timing.stage("outputs"), timing.stage("xlsx"):
        pass
    path = timing.write_timings(tmp_path / "t.json", command="run")
    data = json.loads(path.read_text())
    names = [s["stage"] for s in data["stages"]]
    assert names == ["estimate/hourly", "estimate/monte_carlo", "estimate", "outputs/xlsx", "outputs"]
    assert data["command"] == "run" and data["peak_rss_mb"] > 0
    assert all(s["seconds"] >= 0 and s["peak_rss_mb"] > 0 for s in data["stages"])
    timing.start()
    assert timing.timings()["stages"] == []


def test_a_forked_childs_memory_adds_to_the_parents_peak_so_far(monkeypatch) -> None:
    peaks = iter([400.0, 700.0, 700.0])  # the parent's peak: when each child ends, then at the end
    monkeypatch.setattr(timing, "peak_rss_mb", lambda: next(peaks))
    timing.start()
    timing.add_forked([], 250.0)  # a child that ended while the parent was at 400 MB: 650 at most
    timing.add_forked([{"stage": "outputs/xlsx", "start_s": 0.0, "seconds": 1.0, "peak_rss_mb": 1.0}], 100.0)
    data = timing.timings()
    assert data["peak_rss_mb"] == 800.0  # 700 + 100, not 700 + 250: the first child had ended
    assert [s["stage"] for s in data["stages"]] == ["outputs/xlsx"]
