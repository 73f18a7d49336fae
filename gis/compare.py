"""``gis compare OUT_A OUT_B``: two runs side by side (``compare.csv``, ``compare.html``).

Per site (matched by ``site_id``): rank, score, mineable MW and fleet membership in each run and
the change (B minus A; ``rank_change`` = rank A - rank B, so positive = moved up). A site only in
B is "gained", only in A "lost", in both with another rank "moved". National figures per ledger
from both ``estimates.json`` (a key missing in one run gives an empty delta), and the scenario keys
whose values differ (each run's ``OUT/scenario.toml`` laid over the packaged default).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.errors import GisError
from gis.io import write_csv, write_text
from gis.outputs.assets import VENDOR_DIR, _css_with_data_uris
from gis.outputs.explorer import fleet_membership, read_run_scenario, states_geojson
from gis.outputs.inputs import read_estimates, read_sites

__all__ = [
    "COMPARE_COLUMNS",
    "CompareResult",
    "compare_command",
    "compare_runs",
    "compare_sites",
    "national_deltas",
    "scenario_differences",
]


@dataclass
class CompareResult:
    """What ``gis compare`` writes: the per-site table, national deltas and scenario differences."""

    sites: pd.DataFrame
    national: pd.DataFrame
    scenario: pd.DataFrame
    states: gpd.GeoDataFrame | None
    names: tuple[str, str]


_MEASURES = ("rank", "score", "mineable_mw")
"""Per-site figures compared between two runs (rank, 0-1 score, MW), each as ``_a``, ``_b`` and ``_change``."""

COMPARE_COLUMNS = [
    "site_id",
    "name",
    "category",
    "state",
    "status",
    *(f"{m}_{s}" for m in _MEASURES for s in ("a", "b", "change")),
    "in_fleet_a",
    "in_fleet_b",
    "fleet_change",
    "lat",
    "lon",
]
"""Columns of the per-site comparison (``compare.csv``), in order."""


def _side(sites: pd.DataFrame, fleet: list | None, tag: str) -> pd.DataFrame:
    """One run's sites: id, name, category, state, lat/lon (EPSG:4326) and its measures tagged ``_a``/``_b``."""
    frame = pd.DataFrame(
        {
            "site_id": sites["site_id"].astype(str).to_numpy(),
            "name": sites["name"].astype(str).to_numpy(),
            "category": sites["category"].astype(str).to_numpy(),
            "state": sites["state"].astype(str).to_numpy(),
            "lat": sites.geometry.y.to_numpy(),
            "lon": sites.geometry.x.to_numpy(),
            f"rank_{tag}": sites["rank"].astype("int64").to_numpy(),
            f"score_{tag}": sites["score"].astype("float64").to_numpy(),
            f"mineable_mw_{tag}": sites["mineable_mw"].astype("float64").to_numpy(),
            f"in_fleet_{tag}": pd.array(
                fleet if fleet is not None else [pd.NA] * len(sites), dtype="boolean"
            ),
        }
    )
    if frame["site_id"].duplicated().any():
        dup = frame.loc[frame["site_id"].duplicated(), "site_id"].iloc[0]
        raise GisError(
            f"site_id {dup} appears twice in run {tag.upper()}",
            file="sites.gpkg",
            field="site_id",
            fix="rerun `gis score`",
        )
    return frame


def _joined(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """The two runs' sites outer-joined on ``site_id`` with ``status`` gained / lost / moved / same."""
    keys = ["name", "category", "state", "lat", "lon"]
    merged = a.merge(b, on="site_id", how="outer", suffixes=("_in_a", ""), indicator=True)
    for key in keys:
        merged[key] = merged[key].where(merged[key].notna(), merged[f"{key}_in_a"])
    merged = merged.drop(columns=[f"{k}_in_a" for k in keys])
    status = np.select(
        [
            merged["_merge"] == "right_only",
            merged["_merge"] == "left_only",
            merged["rank_a"] != merged["rank_b"],
        ],
        ["gained", "lost", "moved"],
        "same",
    )
    merged = merged.drop(columns="_merge")
    merged["status"] = status
    return merged


def _fleet_change(merged: pd.DataFrame, known_a: bool, known_b: bool) -> pd.DataFrame:
    """``fleet_change`` joined / left / "" (a run with fleet membership: a site absent is not in its fleet)."""
    if known_a:
        merged["in_fleet_a"] = merged["in_fleet_a"].astype("boolean").fillna(False)
    if known_b:
        merged["in_fleet_b"] = merged["in_fleet_b"].astype("boolean").fillna(False)
    fa, fb = merged["in_fleet_a"].astype("boolean"), merged["in_fleet_b"].astype("boolean")
    merged["fleet_change"] = np.select(
        [(fa.fillna(False) == False) & fb.fillna(False), fa.fillna(False) & (fb.fillna(False) == False)],  # noqa: E712
        ["joined", "left"],
        "",
    )
    merged.loc[fa.isna() | fb.isna(), "fleet_change"] = ""
    return merged


def compare_sites(
    sites_a: pd.DataFrame,
    sites_b: pd.DataFrame,
    fleet_a: list | None = None,
    fleet_b: list | None = None,
) -> pd.DataFrame:
    """Per site (outer join on ``site_id``): rank, score, MW and fleet in A and B, and the changes.

    Rows sorted by rank in B, then the lost sites by rank in A. ``in_fleet_*`` is empty when a run
    has no fleet membership (a site absent from a run that has one is not in its fleet). Lat/lon
    EPSG:4326 degrees, MW megawatts.
    """
    merged = _joined(_side(sites_a, fleet_a, "a"), _side(sites_b, fleet_b, "b"))
    merged["rank_a"] = merged["rank_a"].astype("Int64")
    merged["rank_b"] = merged["rank_b"].astype("Int64")
    merged["rank_change"] = merged["rank_a"] - merged["rank_b"]
    merged["score_change"] = merged["score_b"] - merged["score_a"]
    merged["mineable_mw_change"] = merged["mineable_mw_b"] - merged["mineable_mw_a"]
    merged = _fleet_change(merged, fleet_a is not None, fleet_b is not None)
    merged = merged.sort_values(["rank_b", "rank_a", "site_id"], na_position="last", kind="stable")
    return merged[COMPARE_COLUMNS].reset_index(drop=True)


def _numeric_leaves(table: object) -> dict[str, float]:
    if not isinstance(table, Mapping):
        return {}
    out = {}
    for key, value in table.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value):
            out[str(key)] = float(value)
    return out


def _ledger_tables(estimates: Mapping) -> dict[str, dict[str, float]]:
    """``{ledger: {metric: value}}``: the national table and each ledger's, where present."""
    tables = {"national": _numeric_leaves(estimates.get("national"))}
    for key in ("ledgers", "national_by_ledger"):
        value = estimates.get(key)
        if isinstance(value, Mapping):
            for ledger, metrics in value.items():
                tables[str(ledger)] = _numeric_leaves(metrics)
    return tables


def national_deltas(estimates_a: Mapping, estimates_b: Mapping) -> pd.DataFrame:
    """Per ledger and metric: value in A, in B and B - A (empty where one run lacks the key)."""
    ta, tb = _ledger_tables(estimates_a), _ledger_tables(estimates_b)
    rows = []
    for ledger in dict.fromkeys([*ta, *tb]):
        ma, mb = ta.get(ledger, {}), tb.get(ledger, {})
        for metric in dict.fromkeys([*ma, *mb]):
            va, vb = ma.get(metric), mb.get(metric)
            rows.append(
                {
                    "ledger": ledger,
                    "metric": metric,
                    "a": va,
                    "b": vb,
                    "delta": (vb - va) if va is not None and vb is not None else None,
                }
            )
    return pd.DataFrame(rows, columns=["ledger", "metric", "a", "b", "delta"])


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            out |= _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix: value}


def scenario_differences(scenario_a: Mapping, scenario_b: Mapping) -> pd.DataFrame:
    """Dotted scenario keys whose values differ between two validated scenarios (``model_dump``)."""
    fa, fb = _flatten(scenario_a), _flatten(scenario_b)
    rows = []
    for key in sorted(set(fa) | set(fb)):
        if key in {"name", "description"}:
            continue
        va, vb = fa.get(key, "(absent)"), fb.get(key, "(absent)")
        if va != vb:
            rows.append({"key": key, "a": json.dumps(va, default=str), "b": json.dumps(vb, default=str)})
    return pd.DataFrame(rows, columns=["key", "a", "b"])


def compare_runs(out_a: Path, out_b: Path) -> CompareResult:
    """Read two run folders and compare them (see the module docstring)."""
    out_a, out_b = Path(out_a), Path(out_b)
    sites_a, sites_b = read_sites(out_a / "sites.gpkg"), read_sites(out_b / "sites.gpkg")
    est_a, est_b = read_estimates(out_a / "estimates.json"), read_estimates(out_b / "estimates.json")
    scen_a, _, note_a = read_run_scenario(out_a)
    scen_b, _, note_b = read_run_scenario(out_b)
    table = compare_sites(
        sites_a, sites_b, fleet_membership(sites_a, est_a)[0], fleet_membership(sites_b, est_b)[0]
    )
    states = None
    layers = out_a / "layers.gpkg"
    if layers.is_file():
        from gis.io import gpkg_layer_names
        from gis.layers import read_layers

        if "states" in gpkg_layer_names(layers, fix="rerun `gis build`"):
            states = read_layers(layers, ["states"])["states"]
    return CompareResult(
        sites=table,
        national=national_deltas(est_a, est_b),
        scenario=scenario_differences(scen_a.model_dump(mode="json"), scen_b.model_dump(mode="json")),
        states=states,
        names=(
            f"A: {scen_a.name} ({out_a}; scenario: {note_a})",
            f"B: {scen_b.name} ({out_b}; scenario: {note_b})",
        ),
    )


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _html_table(frame: pd.DataFrame, limit: int | None = None) -> str:
    rows = frame if limit is None else frame.head(limit)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in rows.itertuples(index=False)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_COMPARE_JS = """(function () {
  const D = JSON.parse(document.getElementById("compare-data").textContent);
  const map = L.map("map", { preferCanvas: true }).setView([39, -97], 4);
  if (D.states) L.geoJSON(D.states, { style: { color: "#888", weight: 1, fillColor: "#f4f4f0", fillOpacity: 1 }, interactive: false }).addTo(map);
  const P = D.points;
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  for (let i = 0; i < P.site_id.length; i++) {
    const st = P.status[i];
    const up = st === "moved" && P.rank_b[i] < P.rank_a[i];
    const colour = st === "gained" ? "#1a9850" : st === "lost" ? "#d73027" : up ? "#4575b4" : "#fdae61";
    L.circleMarker([P.lat[i], P.lon[i]], { radius: st === "moved" ? 3 : 6, weight: 0.5, color: "#333", fillColor: colour, fillOpacity: 0.85 })
      .bindPopup(`<b>${esc(P.name[i])}</b> (${esc(P.site_id[i])})<br>${st}: rank ${P.rank_a[i] ?? "–"} → ${P.rank_b[i] ?? "–"}`)
      .addTo(map);
  }
  window.compareReady = true;
})();
"""
"""The compare page's map: one circle per gained, lost or moved site (Leaflet)."""


def _map_points(t: pd.DataFrame) -> dict[str, list]:
    """The gained, lost and moved sites for the map: ids, names, status, ranks, lat/lon (EPSG:4326, 5 decimals)."""
    drawn = t.loc[t["status"] != "same", ["site_id", "name", "status", "rank_a", "rank_b", "lat", "lon"]]
    return {
        "site_id": drawn["site_id"].tolist(),
        "name": drawn["name"].tolist(),
        "status": drawn["status"].tolist(),
        "rank_a": [None if pd.isna(v) else int(v) for v in drawn["rank_a"]],
        "rank_b": [None if pd.isna(v) else int(v) for v in drawn["rank_b"]],
        "lat": [round(float(v), 5) for v in drawn["lat"]],
        "lon": [round(float(v), 5) for v in drawn["lon"]],
    }


def _biggest_moves(t: pd.DataFrame) -> pd.DataFrame:
    """The moved sites, largest rank change first (ties by site id)."""
    movers = t.loc[t["status"] == "moved"].assign(_abs=lambda f: f["rank_change"].abs())
    return movers.sort_values(["_abs", "site_id"], ascending=[False, True]).drop(columns="_abs")


def render_compare(result: CompareResult) -> str:
    """The self-contained compare page (Leaflet inlined from the vendored copy, no network)."""
    t = result.sites
    points = _map_points(t)
    payload = json.dumps({"points": points, "states": states_geojson(result.states)}, allow_nan=False)
    payload = payload.replace("</", "<\\/")
    counts = t["status"].value_counts().to_dict()
    movers = _biggest_moves(t)
    top_cols = ["site_id", "name", "category", "state", "rank_a", "rank_b", "rank_change", "score_change"]
    leaflet_js = (
        (VENDOR_DIR / "leaflet" / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    )
    leaflet_css = _css_with_data_uris(VENDOR_DIR / "leaflet" / "leaflet.css")
    summary = ", ".join(f"{counts.get(k, 0):,} {k}" for k in ("gained", "lost", "moved", "same"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Two runs compared</title>
<style>{leaflet_css}</style>
<style>body{{font:13px system-ui,sans-serif;margin:10px}}table{{border-collapse:collapse;margin:6px 0}}
td,th{{border-bottom:1px solid #ddd;padding:1px 6px;text-align:left}}#map{{height:480px}}
.legend span{{display:inline-block;width:10px;height:10px;border-radius:5px;margin:0 3px 0 10px}}</style>
</head><body>
<h1>Two runs compared</h1>
<p>{html.escape(result.names[0])}<br>{html.escape(result.names[1])}</p>
<p id="summary">Sites: {summary}. Changes are B minus A; rank change = rank A - rank B (positive: moved up).</p>
<h2>Scenario keys that differ</h2>
{_html_table(result.scenario) if len(result.scenario) else "<p>none</p>"}
<h2>National figures</h2>
{_html_table(result.national.loc[result.national["delta"].fillna(1.0) != 0.0])}
<p>Metrics equal in both runs are left out; an empty cell: the run lacks that figure.</p>
<h2>Sites gained, lost and moved</h2>
<p class="legend"><span style="background:#1a9850"></span>gained<span style="background:#d73027"></span>lost
<span style="background:#4575b4"></span>moved up<span style="background:#fdae61"></span>moved down</p>
<div id="map"></div>
<h2>Largest moves (of {counts.get("moved", 0):,})</h2>
{_html_table(movers[top_cols], 50)}
<h2>Gained</h2>{_html_table(t.loc[t["status"] == "gained", top_cols], 50)}
<h2>Lost</h2>{_html_table(t.loc[t["status"] == "lost", top_cols], 50)}
<p>Every site is in compare.csv.</p>
<script>{leaflet_js}</script>
<script type="application/json" id="compare-data">{payload}</script>
<script>
{_COMPARE_JS}</script>
</body></html>
"""


def compare_command(out_a: Path, out_b: Path, *, out: Path | None, console) -> dict[str, Path]:
    """``gis compare``: write ``compare.csv`` and ``compare.html`` into ``out`` (default: OUT_B)."""
    target = Path(out) if out is not None else Path(out_b)
    target.mkdir(parents=True, exist_ok=True)
    result = compare_runs(Path(out_a), Path(out_b))
    frame = result.sites.copy()
    for col in ("score_a", "score_b", "score_change"):
        frame[col] = frame[col].round(6)
    for col in ("mineable_mw_a", "mineable_mw_b", "mineable_mw_change", "lat", "lon"):
        frame[col] = frame[col].round(4 if col not in {"lat", "lon"} else 5)
    csv = write_csv(target / "compare.csv", frame)
    page = write_text(target / "compare.html", render_compare(result))
    counts = result.sites["status"].value_counts().to_dict()
    console.print(
        f"{counts.get('gained', 0):,} sites gained, {counts.get('lost', 0):,} lost, "
        f"{counts.get('moved', 0):,} moved, {counts.get('same', 0):,} unchanged; "
        f"{len(result.scenario)} scenario key(s) differ"
    )
    for row in result.scenario.itertuples():
        console.print(f"  {row.key}: {row.a} -> {row.b}")
    console.print(f"Wrote {csv} and {page}")
    return {"compare_csv": csv, "compare_html": page}
