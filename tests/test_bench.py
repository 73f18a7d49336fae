"""Smoke test of scripts/bench.py on tiny synthetic layers: it runs and writes its JSON keys."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

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
    assert results["sites_x2"] == 2 * results["sites_x1"]
    assert (tmp_path / "out" / "sites_ranked.csv").is_file() and (
        tmp_path / "out" / "estimates.json"
    ).is_file()


def test_weight_shift_keeps_weights_summing_to_one():
    from gis.scenario import load_scenario

    scenario = load_scenario()
    changed = bench.shifted_weights(scenario)
    weights = [c.weight for c in changed.scoring.criteria.values()]
    assert abs(sum(weights) - 1.0) < 1e-9
    assert weights != [c.weight for c in scenario.scoring.criteria.values()]
