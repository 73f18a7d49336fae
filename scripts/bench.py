"""Benchmark: the national pipeline stage by stage, a naive baseline, scaled workloads, memory, dask.

Runs in one process::

    python scripts/bench.py --data-dir DIR --json FILE

(a) the national pipeline on the real data: build, read, candidate sites, measures, score,
    stability (the scenario's draws, 1,000 by default), estimate, write; plus grid mode at the
    scenario's cell size;
(b) the same measures with a naive baseline (row by row: ``lines.distance(site).min()`` and
    friends, layers already in EPSG:5070) on a seeded sample, against the vectorised measures
    of the same sample: ``speedup_vs_naive`` compares the cost per site;
(c) scaled workloads: grid cells at cell sizes giving x1, x4 and x16 cells, and the asset sites
    replicated x1, x4 and x16 (jittered copies), to show how cost grows;
(d) peak memory (``resource.getrusage`` maximum resident set size) after each part;
(e) re-scoring after a weight change from cached measures, and the dask engine on a
    LocalCluster against the local engine (identical results, seconds).

Prints a table and writes flat JSON keys (seconds ``_s``, gigabytes ``_gb``, ratios). Targets on a
2-core machine: national run <= 60 s and <= 4 GB, re-score <= 1 s, >= 20x the naive baseline,
1,000-draw stability <= 10 s. ``--layers FILE`` skips the build and reads an existing layers.gpkg.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from gis import METRIC_CRS, __version__
from gis.criteria import measure_sites
from gis.engine import CachedEngine, DaskEngine, LocalEngine
from gis.grid import score_grid_with_log
from gis.io import write_csv, write_gpkg, write_json
from gis.layers import build_layers, read_layers, write_layers
from gis.scenario import Scenario, load_scenario
from gis.scoring.api import ranked_csv_frame, score_sites_with_log
from gis.scoring.score import score_measures
from gis.scoring.stability import p_top_n
from gis.settings import DataOrigin
from gis.sites import candidate_sites
from gis.sources import Resolver

TARGETS = {
    "national_run_s": ("<=", 60.0),
    "peak_rss_national_gb": ("<=", 4.0),
    "rescore_s": ("<=", 1.0),
    "speedup_vs_naive": (">=", 20.0),
    "stability_1000_s": ("<=", 10.0),
}
"""Benchmark targets (2-core, 24 GB machine)."""


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, GB (Linux reports kB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e9 if sys.platform == "darwin" else peak / 1e6


def timed(call: Callable, *args, **kwargs) -> tuple[object, float]:
    """``call(*args, **kwargs)`` and its wall time, seconds."""
    t0 = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - t0


class TimedEngine:
    """An engine wrapper that adds up the seconds spent measuring."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0

    def measure(self, sites, layers, config, *, func=None):
        result, seconds = timed(self.inner.measure, sites, layers, config, func=func)
        self.seconds += seconds
        return result

    def close(self) -> None:
        self.inner.close()


def with_cell_km(scenario: Scenario, cell_km: float) -> Scenario:
    """The scenario with another grid cell size."""
    grid = scenario.scoring.national_grid.model_copy(update={"cell_km": cell_km})
    return scenario.model_copy(
        update={"scoring": scenario.scoring.model_copy(update={"national_grid": grid})}
    )


def with_draws(scenario: Scenario, draws: int) -> Scenario:
    """The scenario with another number of stability draws."""
    stability = scenario.scoring.stability.model_copy(update={"draws": draws})
    return scenario.model_copy(
        update={"scoring": scenario.scoring.model_copy(update={"stability": stability})}
    )


def shifted_weights(scenario: Scenario, *, amount: float = 0.05) -> Scenario:
    """A weight change: ``amount`` moved from the heaviest criterion to the second heaviest."""
    criteria = dict(scenario.scoring.criteria)
    ordered = sorted(criteria, key=lambda name: -criteria[name].weight)
    give, take = ordered[0], ordered[1]
    amount = min(amount, criteria[give].weight)
    criteria[give] = criteria[give].model_copy(update={"weight": criteria[give].weight - amount})
    criteria[take] = criteria[take].model_copy(update={"weight": criteria[take].weight + amount})
    return scenario.model_copy(update={"scoring": scenario.scoring.model_copy(update={"criteria": criteria})})


# ---------------------------------------------------------------- (a) national pipeline


def national_run(
    *, data_dir: Path | None, layers_path: Path | None, out: Path, scenario: Scenario
) -> tuple[dict, dict, gpd.GeoDataFrame, pd.DataFrame]:
    """Stage timings of the national run; returns (results, layers, candidate sites, measures)."""
    from gis.estimates.api import estimate

    r: dict[str, object] = {}
    if layers_path is None:
        resolver = Resolver(DataOrigin(data_dir=data_dir), progress=False)
        built, r["build_s"] = timed(build_layers, resolver)
        _, r["write_layers_s"] = timed(write_layers, built, resolver, out / "layers.gpkg")
        layers_path = out / "layers.gpkg"
    else:
        r["build_s"] = 0.0
        r["write_layers_s"] = 0.0
    layers, r["read_layers_s"] = timed(read_layers, layers_path)
    (sites, _), r["sites_s"] = timed(candidate_sites, layers, scenario.scoring)
    engine = TimedEngine(LocalEngine(chunk_rows=scenario.scoring.national_grid.chunk_rows))
    (scored, _), r["score_stage_s"] = timed(score_sites_with_log, layers, scenario, engine=engine)
    r["measure_s"] = engine.seconds
    measures = measure_sites(sites, layers, scenario.scoring)
    _, r["score_s"] = timed(score_measures, measures, scenario.scoring)
    subs = scored[[c for c in scored.columns if c.startswith("s_")]].to_numpy(dtype="float64")
    weights = np.array([c.weight for c in scenario.scoring.criteria.values()])
    stability = with_draws(scenario, max(scenario.scoring.stability.draws, 1000)).scoring.stability
    _, r["stability_1000_s"] = timed(p_top_n, subs, weights, scored["excluded"].to_numpy(), stability)
    r["stability_draws"] = stability.draws
    network = None
    if scenario.estimates.network.hashrate_ehs == "from_data" and "btc_network" in layers:
        from gis.estimates.api import network_from_layer

        network = network_from_layer(layers["btc_network"])
    result, r["estimate_s"] = timed(
        estimate, scored, scenario.estimates, network=network, scenario=scenario.name
    )
    t0 = time.perf_counter()
    write_gpkg(out / "sites.gpkg", {"candidate_sites": scored})
    write_csv(out / "sites_ranked.csv", ranked_csv_frame(scored))
    write_json(out / "estimates.json", result)
    r["write_outputs_s"] = time.perf_counter() - t0
    r["national_run_s"] = (
        r["build_s"] + r["write_layers_s"] + r["read_layers_s"] + r["score_stage_s"] + r["estimate_s"]
    ) + r["write_outputs_s"]
    r["sites"] = len(scored)
    r["sites_kept"] = int((~scored["excluded"]).sum())
    r["mineable_gw"] = float(scored.loc[~scored["excluded"], "mineable_mw"].sum() / 1000.0)
    r["hashrate_ehs"] = float(result["national"]["hashrate_ehs"])
    r["btc_per_year"] = float(result["national"]["btc_per_year"])
    r["peak_rss_national_gb"] = peak_rss_gb()
    cells, _, steps = score_grid_with_log(layers, scenario)
    r["grid_cell_km"] = scenario.scoring.national_grid.cell_km
    r["grid_cells"] = len(cells)
    r["grid_s"] = float(sum(steps.values()))
    r["national_run_with_grid_s"] = r["national_run_s"] + r["grid_s"]
    r["peak_rss_with_grid_gb"] = peak_rss_gb()
    return r, layers, sites, measures


# ---------------------------------------------------------------- (b) naive baseline


def naive_measures(
    sample: gpd.GeoDataFrame, layers: dict[str, pd.DataFrame]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row by row: nearest line (km, kV), nearest substation (km), inside a state (2 km), EPSG:5070."""
    lines = layers["transmission_lines"].to_crs(METRIC_CRS)
    subs = layers["substations"].to_crs(METRIC_CRS)
    states = layers["states"].to_crs(METRIC_CRS)
    points = sample.geometry.to_crs(METRIC_CRS)
    dist_tx, tx_kv, dist_sub, in_us = [], [], [], []
    for point in points:  # the baseline on purpose: one geopandas distance call per site and layer
        d = lines.distance(point)
        dist_tx.append(d.min() / 1000.0)
        tx_kv.append(lines["voltage_kv"].iloc[int(d.to_numpy().argmin())])
        dist_sub.append(subs.distance(point).min() / 1000.0)
        in_us.append(float(states.distance(point).min() <= 2000.0))
    return np.array(dist_tx), np.array(dist_sub), np.array(in_us)


def naive_comparison(
    sites: gpd.GeoDataFrame,
    layers: dict[str, pd.DataFrame],
    scenario: Scenario,
    *,
    sample: int,
    seed: int,
    national_measure_s: float,
) -> dict:
    """Per-site cost of the naive loop and of the vectorised measures on the same sample.

    The vectorised call has a fixed cost (reprojecting and indexing the layers), so its cost per
    site falls as the sample grows; ``speedup_vs_naive_national`` compares with the national run.
    """
    chosen = sites.sample(n=min(sample, len(sites)), random_state=seed).reset_index(drop=True)
    (dist_tx, dist_sub, in_us), naive_s = timed(naive_measures, chosen, layers)
    fast, fast_s = timed(measure_sites, chosen, layers, scenario.scoring)
    n = len(chosen)
    return {
        "naive_sample_sites": n,
        "naive_s": naive_s,
        "naive_per_site_ms": naive_s / n * 1000.0,
        "vectorised_sample_s": fast_s,
        "vectorised_per_site_ms": fast_s / n * 1000.0,
        "speedup_vs_naive": naive_s / fast_s,
        "vectorised_national_per_site_ms": national_measure_s / len(sites) * 1000.0,
        "speedup_vs_naive_national": (naive_s / n) / (national_measure_s / len(sites)),
        "naive_max_diff_km": float(
            max(
                np.nanmax(np.abs(dist_tx - fast["dist_tx_km"].to_numpy())),
                np.nanmax(np.abs(dist_sub - fast["dist_sub_km"].to_numpy())),
            )
        ),
        "naive_in_us_agree": bool((in_us == fast["in_us"].to_numpy()).all()),
    }


# ---------------------------------------------------------------- (c) scaled workloads


def replicated_sites(sites: gpd.GeoDataFrame, factor: int, *, seed: int) -> gpd.GeoDataFrame:
    """``factor`` copies of the sites, each copy moved by up to 20 km (EPSG:5070), with new ids."""
    if factor == 1:
        return sites
    rng = np.random.default_rng(seed)
    metric = sites.to_crs(METRIC_CRS)
    copies = []
    for k in range(factor):  # a handful of copies, each a vectorised frame operation
        copy = metric.copy()
        dx, dy = rng.uniform(-20_000, 20_000, (2, len(copy)))
        copy = copy.set_geometry(
            gpd.points_from_xy(copy.geometry.x + dx, copy.geometry.y + dy), crs=METRIC_CRS
        )
        copy["site_id"] = copy["site_id"] + f"#{k}"
        copies.append(copy)
    return gpd.GeoDataFrame(pd.concat(copies, ignore_index=True), crs=METRIC_CRS).to_crs("EPSG:4326")


def scaled_workloads(
    layers: dict[str, pd.DataFrame],
    sites: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    scales: list[int],
    base_cell_km: float,
    seed: int,
) -> dict:
    """Seconds, cells/sites and peak memory at each scale, grid cells and replicated sites."""
    r: dict[str, object] = {}
    weights = np.array([c.weight for c in scenario.scoring.criteria.values()])
    for k in scales:
        cell_km = base_cell_km / math.sqrt(k)
        cells, _, steps = score_grid_with_log(layers, with_cell_km(scenario, cell_km))
        seconds = float(sum(steps.values()))
        r[f"grid_x{k}_cell_km"] = cell_km
        r[f"grid_x{k}_cells"] = len(cells)
        r[f"grid_x{k}_s"] = seconds
        r[f"grid_x{k}_us_per_cell"] = seconds / max(len(cells), 1) * 1e6
        for step, value in steps.items():
            r[f"grid_x{k}_{step}"] = value
        r[f"grid_x{k}_peak_rss_gb"] = peak_rss_gb()
        if len(cells) >= 1_000_000 and "grid_cells_1m_s" not in r:
            r["grid_cells_1m_s"] = seconds
            r["grid_cells_1m_cells"] = len(cells)
        del cells
    for k in scales:
        many = replicated_sites(sites, k, seed=seed)
        t0 = time.perf_counter()
        measures = LocalEngine().measure(many, layers, scenario.scoring)
        scored = score_measures(measures, scenario.scoring)
        subs = scored[[c for c in scored.columns if c.startswith("s_")]].to_numpy()
        p_top_n(subs, weights, scored["excluded"].to_numpy(), scenario.scoring.stability)
        seconds = time.perf_counter() - t0
        r[f"sites_x{k}"] = len(many)
        r[f"sites_x{k}_s"] = seconds
        r[f"sites_x{k}_us_per_site"] = seconds / len(many) * 1e6
        r[f"sites_x{k}_peak_rss_gb"] = peak_rss_gb()
    return r


# ---------------------------------------------------------------- (e) re-score and dask


def rescore(layers: dict[str, pd.DataFrame], scenario: Scenario, measures: pd.DataFrame) -> dict:
    """A weight change re-scored from cached measures: sub-scores, score, rank and stability."""
    changed = shifted_weights(scenario)
    weights = np.array([c.weight for c in changed.scoring.criteria.values()])
    t0 = time.perf_counter()
    scored = score_measures(measures, changed.scoring)
    subs = scored[[c for c in scored.columns if c.startswith("s_")]].to_numpy()
    p_top_n(subs, weights, scored["excluded"].to_numpy(), changed.scoring.stability)
    r = {"rescore_s": time.perf_counter() - t0}
    with tempfile.TemporaryDirectory(prefix="gis-bench-cache-") as tmp:
        cached = CachedEngine(LocalEngine(), cache_dir=tmp)
        score_sites_with_log(layers, scenario, engine=cached)
        _, r["rescore_full_stage_s"] = timed(score_sites_with_log, layers, changed, engine=cached)
        r["rescore_cache_hits"] = cached.hits
    return r


def dask_comparison(
    layers: dict[str, pd.DataFrame], scenario: Scenario, *, cell_km: float, partitions: int | None
) -> dict:
    """The dask engine (LocalCluster) against the local engine: seconds and identical results."""
    r: dict[str, object] = {}
    grid = with_cell_km(scenario, cell_km)
    local, local_s = timed(score_grid_with_log, layers, grid)
    t0 = time.perf_counter()
    with DaskEngine(partitions=partitions) as engine:
        _ = engine.client
        r["dask_startup_s"] = time.perf_counter() - t0
        remote, remote_s = timed(score_grid_with_log, layers, grid, engine=engine)
        sites_remote, r["dask_sites_s"] = timed(score_sites_with_log, layers, scenario, engine=engine)
        r["dask_workers"] = len(engine.client.scheduler_info().get("workers", {}))
    sites_local, r["local_sites_s"] = timed(score_sites_with_log, layers, scenario)
    r["dask_grid_cells"] = len(local[0])
    r["dask_grid_s"] = remote_s
    r["local_grid_s"] = local_s
    r["dask_grid_measure_s"] = remote[2]["measure_s"]
    r["local_grid_measure_s"] = local[2]["measure_s"]
    r["dask_identical"] = bool(
        local[0].drop(columns="geometry").equals(remote[0].drop(columns="geometry"))
        and sites_local[0].drop(columns="geometry").equals(sites_remote[0].drop(columns="geometry"))
    )
    return r


# ---------------------------------------------------------------- report


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def report_table(results: dict) -> Table:
    """The results as a rich table, targets marked."""
    table = Table(title=f"gis-btc-sites {__version__} benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for key, value in results.items():
        target = ""
        if key in TARGETS:
            op, limit = TARGETS[key]
            ok = value <= limit if op == "<=" else value >= limit
            target = f"{op} {limit:g} " + ("[green]ok[/]" if ok else "[red]missed[/]")
        table.add_row(key, _fmt(value), target)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", type=Path, help="real data folder (as for gis build --data-dir)")
    source.add_argument("--layers", type=Path, help="an existing layers.gpkg (skips the build)")
    parser.add_argument("--json", type=Path, required=True, help="where to write the results (JSON)")
    parser.add_argument("--scenario", type=Path, default=None, help="scenario TOML (default: packaged)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--sample", type=int, default=1000, help="sites in the naive-baseline sample")
    parser.add_argument("--scales", default="1,4,16", help="workload factors, comma-separated")
    parser.add_argument("--base-cell-km", type=float, default=10.0, help="grid cell size at scale x1, km")
    parser.add_argument("--dask-cell-km", type=float, default=5.0, help="grid cell size of the dask run, km")
    parser.add_argument("--partitions", type=int, default=None, help="dask partitions (default: automatic)")
    parser.add_argument("--skip-dask", action="store_true", help="leave out the dask comparison")
    parser.add_argument("--seed", type=int, default=20250306)
    args = parser.parse_args(argv)

    console = Console(stderr=True)
    scenario = load_scenario(args.scenario)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    results: dict[str, object] = {"tool_version": __version__, "scenario": scenario.name}
    with tempfile.TemporaryDirectory(prefix="gis-bench-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        console.print("(a) national pipeline ...")
        national, layers, sites, measures = national_run(
            data_dir=args.data_dir, layers_path=args.layers, out=out, scenario=scenario
        )
        results |= national
        console.print("(e) re-score after a weight change ...")
        results |= rescore(layers, scenario, measures)
        console.print(f"(b) naive baseline on {args.sample} sites ...")
        results |= naive_comparison(
            sites,
            layers,
            scenario,
            sample=args.sample,
            seed=args.seed,
            national_measure_s=float(national["measure_s"]),
        )
        console.print(f"(c) scaled workloads x{', x'.join(map(str, scales))} ...")
        results |= scaled_workloads(
            layers, sites, scenario, scales=scales, base_cell_km=args.base_cell_km, seed=args.seed
        )
        if not args.skip_dask:
            console.print("(e) dask engine on a LocalCluster ...")
            results |= dask_comparison(
                layers, scenario, cell_km=args.dask_cell_km, partitions=args.partitions
            )
    results["peak_rss_gb"] = peak_rss_gb()
    console.print(report_table(results))
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in results.items()}
    write_json(args.json, clean)
    console.print(f"Wrote {args.json}")
    json.dumps(clean)  # fail loudly here, not in a reader, if a value is not JSON
    return 0


if __name__ == "__main__":
    sys.exit(main())
