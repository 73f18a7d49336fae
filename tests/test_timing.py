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
