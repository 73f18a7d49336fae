"""Benchmark the explorer in a real browser: load time, re-rank time, file size, ranks against Python.

Runs on a finished run's folder (``gis run --out OUT``)::

    python scripts/bench_explorer.py OUT [--moves 20] [--weight-sets 3] [--json FILE]

Opens ``OUT/explorer.html`` in headless Chromium (``/usr/bin/chromium``, every non-file request
aborted and counted) and reports: file size (goal <= 15 MB); time to the first interactive view
(the page's own clock from navigation start to the end of its set-up, and the wall clock from
``goto``); after each of ``--moves`` weight-slider moves the time to re-rank every site (goal
<= 50 ms) and to update the page (table and map); and, for ``--weight-sets`` random weight sets,
the number of sites whose page rank differs from the scoring stage's rank for the same weights
(must be 0).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from gis.outputs.explorer import read_run_scenario
from gis.outputs.inputs import read_sites
from gis.scoring.score import rank_order

CHROMIUM = "/usr/bin/chromium"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--weight-sets", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    page_path = args.out / "explorer.html"
    sites = read_sites(args.out / "sites.gpkg")
    scenario, _, _ = read_run_scenario(args.out)
    names = list(scenario.scoring.criteria)
    subs = sites[[f"s_{n}" for n in names]].to_numpy(dtype="float64")
    excluded = sites["excluded"].to_numpy(dtype=bool)
    ids = sites["site_id"].to_numpy(dtype=object)
    blocked: list[str] = []
    errors: list[str] = []
    result: dict[str, float | int] = {"sites": len(sites), "size_mb": page_path.stat().st_size / 1e6}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})

        def route(r) -> None:
            if r.request.url.startswith(("file:", "data:")):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        t0 = time.perf_counter()
        page.goto(page_path.as_uri())
        page.wait_for_function("() => window.explorer && window.explorer.ready")
        result["first_view_wall_s"] = time.perf_counter() - t0
        result["first_view_page_ms"] = page.evaluate("() => window.explorer.timing.ready_ms")
        rank_ms, update_ms = [], []
        for k in range(args.moves):
            page.evaluate(
                "([j, v]) => { const el = document.getElementById('w-' + j); el.value = String(v);"
                " el.dispatchEvent(new Event('input')); }",
                [k % len(names), 0.05 + 0.4 * ((k * 7) % 10) / 10],
            )
            timing = page.evaluate("() => window.explorer.timing")
            rank_ms.append(timing["rank_ms"])
            update_ms.append(timing["update_ms"])
        result |= {
            "rerank_ms_median": float(np.median(rank_ms)),
            "rerank_ms_max": float(np.max(rank_ms)),
            "page_update_ms_median": float(np.median(update_ms)),
            "page_update_ms_max": float(np.max(update_ms)),
        }
        rng = np.random.default_rng(args.seed)
        mismatches = 0
        for _ in range(args.weight_sets):
            weights = rng.dirichlet(np.ones(len(names)))
            page.evaluate("(w) => window.explorer.setWeights(w)", [float(x) for x in weights])
            used = np.array(page.evaluate("() => window.explorer.effectiveWeights()"))
            got = page.evaluate("() => window.explorer.ranks()")
            score = np.where(excluded, 0.0, np.clip(subs @ used, 0.0, 1.0))
            order = rank_order(score, ids)
            expected = np.empty(len(order), dtype=int)
            expected[order] = np.arange(1, len(order) + 1)
            mismatches += sum(got[s] != int(r) for s, r in zip(ids, expected, strict=True))
        result["rank_mismatches"] = mismatches
        result["blocked_requests"] = len(blocked)
        result["page_errors"] = len(errors)
        browser.close()
    for key, value in result.items():
        print(f"{key:24s} {value:,.2f}" if isinstance(value, float) else f"{key:24s} {value:,}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if mismatches == 0 and not blocked and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
