"""Smoke test of scripts/bench.py on tiny synthetic layers: it runs and writes its JSON keys."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from gis.io import write_gpkg

REPO = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic = _load("scale_synthetic", REPO / "tests" / "fixtures" / "scale" / "synthetic.py")
bench = _load("bench_script", REPO / "scripts" / "bench.py")

KEYS = {
    "national_run_s",
    "build_s",
    "read_layers_s",
    "sites_s",
    "measure_s",
    "score_s",
    "stability_1000_s",
    "hourly_model_s",
    "hourly_model_extra_gb",
    "fleet_solve_s",
    "monte_carlo_1000_s",
    "estimate_s",
    "peak_rss_national_gb",
    "grid_cells",
    "grid_s",
    "rescore_s",
    "rescore_full_stage_s",
    "naive_per_site_ms",
    "vectorised_per_site_ms",
    "speedup_vs_naive",
    "speedup_vs_naive_national",
    "naive_max_diff_km",
    "sites_x1_s",
    "sites_x2_s",
    "grid_x1_cells",
    "grid_x2_cells",
    "grid_x2_us_per_cell",
    "grid_x1_peak_gb",
    "grid_x2_peak_gb",
    "analyst_s",
    "ours_measures_cold_s",
    "ours_measures_warm_s",
    "speedup_vs_analyst_cold",
    "speedup_vs_analyst_warm",
    "analyst_dist_tx_km_max_diff_m",
    "peak_rss_gb",
}


def test_bench_runs_on_tiny_layers_and_writes_flat_json(tmp_path: Path):
    layers = tmp_path / "layers.gpkg"
    write_gpkg(layers, synthetic.synthetic_layers(plants=60, lines=12, substations=15))
    scenario = tmp_path / "coarse.toml"
    default = REPO / "gis" / "scenarios" / "default.toml"
    scenario.write_text(default.read_text(encoding="utf-8").replace("cell_km = 5.0", "cell_km = 30.0"))
    target = tmp_path / "bench.json"
    code = bench.main(
        ["--layers", str(layers), "--json", str(target), "--scenario", str(scenario), "--sample", "20",
         "--scales", "1,2", "--base-cell-km", "40", "--skip-dask", "--out", str(tmp_path / "out")]
    )  # fmt: skip
    assert code == 0
    results = json.loads(target.read_text(encoding="utf-8"))
    assert set(results) >= KEYS, sorted(KEYS - set(results))
    assert all(not isinstance(v, (dict, list)) for v in results.values())  # flat
    assert results["build_s"] == 0.0  # --layers skips the build
    assert results["stability_draws"] >= 1000
    assert results["naive_max_diff_km"] < 1e-6  # the baseline measures the same thing
    assert results["naive_in_us_agree"] is True
    assert results["grid_x2_cells"] > results["grid_x1_cells"] > 0
    assert results["grid_x1_peak_gb"] > 0  # each scale measured in its own process
    assert results["sites_x2"] == 2 * results["sites_x1"]
    # the analyst's geopandas measures the same thing, to the metre
    assert results["analyst_equal"] is True
    assert results["analyst_dist_sub_km_max_diff_m"] < 1.0
    assert results["analyst_sites"] == results["sites"]
    inprocess = tmp_path / "out" / "inprocess"
    assert (inprocess / "sites_ranked.csv").is_file() and (inprocess / "estimates.json").is_file()


FAKE_GIS = """
import json, sys, time
from pathlib import Path
args = sys.argv[1:]
assert args[0] == "run", args
timings = Path(args[args.index("--timings") + 1])
out = Path(args[args.index("--out") + 1])
out.mkdir(parents=True, exist_ok=True)
cold = not (out / "done").exists()
(out / "done").write_text("x")
stages = [{"stage": "build" if cold else "build_cached", "seconds": 0.5, "peak_rss_mb": 100.0},
          {"stage": "estimate/hourly", "seconds": 0.25, "peak_rss_mb": 120.0},
          {"stage": "outputs/xlsx", "seconds": 0.125, "peak_rss_mb": 130.0}]
timings.write_text(json.dumps({"total_s": 1.0, "peak_rss_mb": 130.0, "stages": stages}))
print("scenario" if "--scenario" in args else "default")
(out / "args.log").open("a").write(" ".join(args[1:2] + args[5:]) + "\\n")
"""


def test_headline_runs_time_gis_run_stage_by_stage(tmp_path: Path):
    from gis.config.scenario import load_scenario

    fake = tmp_path / "fake_gis.py"
    fake.write_text(FAKE_GIS)
    rows = bench.headline_runs(
        [sys.executable, str(fake)], data_dir=None, scenario=load_scenario(), work=tmp_path
    )
    assert rows["run_cold_build_s"] == 0.5 and "run_cold_build_cached_s" not in rows
    assert rows["run_warm_build_cached_s"] == 0.5 and "run_warm_build_s" not in rows
    assert rows["run_warm_estimate__hourly_s"] == 0.25  # a new model's stage shows up by itself
    assert rows["run_cold_outputs__xlsx_peak_gb"] == 0.13
    for prefix in ("run_cold", "run_warm", "run_warm_computed", "planner_loop_run"):
        assert rows[f"{prefix}_s"] > 0 and rows[f"{prefix}_peak_gb"] == 0.13  # as the run reports it
        assert rows[f"{prefix}_rusage_peak_gb"] > 0
    # cold: each run in a new folder, the others' removed; then warm runs and one computing it all
    assert rows["run_cold_runs"] == bench.COLD_RUNS and rows["run_warm_runs"] == bench.WARM_RUNS
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("out", "cache"))) == ["out"]
    lines = (tmp_path / "out" / "args.log").read_text().splitlines()
    assert len(lines) == 1 + bench.WARM_RUNS + 1 + len(bench.PLANNER_RUN_SHIFTS)
    assert [line.endswith("--no-stage-cache") for line in lines].index(True) == 1 + bench.WARM_RUNS
    weights = []
    for i in range(1, len(bench.PLANNER_RUN_SHIFTS) + 1):
        changed = (tmp_path / f"reweighted{i}.toml").read_text()
        assert "[scoring.criteria." in changed and "weight = " in changed
        weights.append(load_scenario(tmp_path / f"reweighted{i}.toml").scoring.criteria)
    assert all(w != load_scenario().scoring.criteria for w in weights)
    assert weights[0] != weights[1] != weights[2]  # a new weight change each run: no stage cache hit


def test_gis_runs_cache_bytecode_as_a_default_python_does(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", "/elsewhere")  # the caller's own choice is kept
    env = bench.user_env(tmp_path / "cache_cold0")
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["GIS_CACHE_DIR"] == str(tmp_path / "cache_cold0")
    assert env["PYTHONPYCACHEPREFIX"] == "/elsewhere"


def test_median_run_takes_the_middle_run_and_the_largest_peaks():
    runs = [
        {"x_s": 3.0, "x_peak_gb": 0.5, "x_rusage_peak_gb": 0.9, "x_a_s": 1.0},
        {"x_s": 1.0, "x_peak_gb": 0.7, "x_rusage_peak_gb": 0.8, "x_a_s": 0.2},
        {"x_s": 2.0, "x_peak_gb": 0.6, "x_rusage_peak_gb": 0.7, "x_a_s": 0.5},
    ]
    rows = bench.median_run(runs, "x")
    assert (rows["x_s"], rows["x_a_s"]) == (2.0, 0.5)  # the median run's stages, not a mix
    assert (rows["x_peak_gb"], rows["x_rusage_peak_gb"]) == (0.7, 0.9)
    assert [rows[f"x_{i}_s"] for i in (1, 2, 3)] == [3.0, 1.0, 2.0] and rows["x_runs"] == 3
    assert bench.median_run(runs[:2], "x")["x_s"] == 3.0  # an even count: the upper middle


def test_failed_run_is_an_error(tmp_path: Path):
    from gis.config.scenario import load_scenario

    fake = tmp_path / "fail.py"
    fake.write_text("import sys; sys.exit(3)")
    with pytest.raises(RuntimeError, match="failed"):
        bench.headline_runs(
            [sys.executable, str(fake)], data_dir=None, scenario=load_scenario(), work=tmp_path
        )


def test_weight_shift_keeps_weights_summing_to_one():
    from gis.config.scenario import load_scenario

    scenario = load_scenario()
    changed = bench.shifted_weights(scenario)
    weights = [c.weight for c in changed.scoring.criteria.values()]
    assert abs(sum(weights) - 1.0) < 1e-9
    assert weights != [c.weight for c in scenario.scoring.criteria.values()]


FAKE_WATCH = """
import json, os, sys, time
from pathlib import Path
args = sys.argv[1:]
assert args[:2] == ["run", "--watch"], args
scenario = Path(args[args.index("--scenario") + 1])
timings = Path(args[args.index("--timings") + 1])
mode = os.environ.get("FAKE_WATCH", "ok")
runs = 0
def run():
    global runs
    runs += 1
    stages = [{"stage": "outputs/xlsx", "seconds": 0.125 * runs, "peak_rss_mb": 100.0 * runs}]
    timings.write_text(json.dumps({"total_s": 1.0, "peak_rss_mb": 100.0 * runs, "stages": stages}))
    print("Outputs (1.0 s)", flush=True)
    if mode == "error" and runs == 2:
        print("error: File x field y: wrong", flush=True)
    print(f"Watching {scenario} (each save runs again; Ctrl-C stops)", flush=True)
seen = scenario.read_bytes()  # before the first run, as gis does: a save once it watches is a change
run()
try:
    while True:
        time.sleep(0.01)
        if scenario.read_bytes() != seen:
            seen = scenario.read_bytes()
            run()
except KeyboardInterrupt:
    print("Stopped watching.", flush=True)
    sys.exit(0 if mode != "exit1" else 1)
"""


def test_watch_runs_time_each_save_until_watching_again(tmp_path: Path):
    from gis.config.scenario import load_scenario

    fake = tmp_path / "fake_watch.py"
    fake.write_text(FAKE_WATCH)
    rows = bench.watch_runs(
        [sys.executable, str(fake)], data_dir=None, scenario=load_scenario(), work=tmp_path
    )
    saves = [rows[f"planner_loop_watch_save{i}_s"] for i in range(1, len(bench.WATCH_SAVES) + 1)]
    assert all(0 < s < 30 for s in saves)
    assert rows["planner_loop_watch_s"] == sorted(saves)[len(saves) // 2]
    runs = len(bench.WATCH_SAVES) + 1  # the stage rows and peak are the last save's
    assert rows["planner_loop_watch_outputs__xlsx_s"] == 0.125 * runs
    assert rows["planner_loop_watch_peak_gb"] == 0.1 * runs
    assert "Stopped watching." in (tmp_path / "planner_loop_watch.log").read_text()
    saved = load_scenario(tmp_path / "watched.toml")  # the last save, a whole scenario
    assert saved.scoring.criteria != load_scenario().scoring.criteria


@pytest.mark.parametrize(("mode", "message"), [("error", "failed a run"), ("exit1", "not 0")])
def test_watch_runs_fail_on_an_error_line_or_a_bad_exit(tmp_path: Path, monkeypatch, mode, message):
    from gis.config.scenario import load_scenario

    fake = tmp_path / "fake_watch.py"
    fake.write_text(FAKE_WATCH)
    monkeypatch.setenv("FAKE_WATCH", mode)
    with pytest.raises(RuntimeError, match=message):
        bench.watch_runs([sys.executable, str(fake)], data_dir=None, scenario=load_scenario(), work=tmp_path)
