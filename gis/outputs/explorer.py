"""``OUT/explorer.html``: re-weight, switch and re-rank every site in the browser, offline.

The score formula is defined once, in Python (:func:`gis.scoring.score.score_measures`); this
module exports what it needs so the page only *applies* it:

* per site the sub-scores ``s_<criterion>`` of ``candidate_sites`` (each transform, the
  ``missing`` value of a NaN measure and the ``offgrid`` value already baked in, clipped to 0..1);
* the criteria in the scenario's order with their weights;
* per exclusion rule the sites it hits (read from ``exclusion_reason``, the ``"; "``-joined
  reasons :func:`gis.scoring.score.exclusions` writes);
* the rule (:data:`FORMULA`): ``score = clip(sum_c w_c s_c, 0, 1)`` summed in criterion order
  with the slider weights divided by their sum; a site hit by a switched-on exclusion, or of a
  switched-off category, scores 0; rank 1..n by score descending, ties by ``site_id`` ascending
  (code-unit order, as numpy sorts ``str``).

A switched-off category is exported to the scenario TOML as an exclusion rule of that category
(``mineable_mw`` below 1e300), which the scoring stage applies in the same way.

The national figures come from a grid of scenarios the Python model computed in advance
(``estimates.json["explorer_grid"]``, :func:`scenario_grid`); the page interpolates them
multilinearly between grid points (:func:`interpolate_grid` is the same rule in Python).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.config.scenario import DEFAULT_SCENARIO, Scenario, load_scenario, merge_tables
from gis.config.vocabulary import CATEGORIES
from gis.errors import GisError
from gis.io import landing_path, write_text
from gis.outputs.assets import VENDOR_DIR, _css_with_data_uris
from gis.outputs.keep import geometry_digest, kept_text

__all__ = [
    "CATEGORY_OFF_MIN_MW",
    "FORMULA",
    "SCENARIO_FILE",
    "explorer_data",
    "fleet_membership",
    "interpolate_grid",
    "read_run_scenario",
    "scenario_grid",
    "states_geojson",
    "write_explorer",
    "write_run_scenario",
]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SCENARIO_FILE = "scenario.toml"
"""The scenario a run used, copied into ``OUT`` (read by the explorer and ``gis compare``)."""

CATEGORY_OFF_MIN_MW = 1e300
"""An exported exclusion ``mineable_mw < 1e300`` for a category removes every site of it."""

FORMULA = {
    "score": "clip(sum over criteria, in order, of weight x s_criterion, 0, 1)",
    "weights": "slider values divided by their sum (all zero: every score 0)",
    "excluded": "score 0 when a switched-on exclusion hits the site or its category is switched off",
    "rank": "1..n by score descending, ties by site_id ascending",
    "source": "gis.scoring.score.score_measures",
}
"""The rule the page applies, in words (shown in the page and kept with the data)."""

GridEvaluate = Callable[[dict[str, float]], Mapping[str, Mapping[str, float]]]


# ---------------------------------------------------------------- the grid of national scenarios


def scenario_grid(evaluate: GridEvaluate, axes: Mapping[str, list[float]]) -> dict:
    """Evaluate the national model at every grid point: ``estimates.json["explorer_grid"]``.

    Parameters
    ----------
    evaluate
        ``evaluate({axis: value}) -> {ledger: {metric: float}}`` (e.g. ``{"wasted": {"gw": 1.2,
        "ehs": 60.0, "btc_per_year": 3e3, "npv_usd": 1e8, "npv_p10_usd": ..., "npv_p90_usd": ...}}``);
        every point must give the same ledgers and metrics. GW, EH/s, BTC a year, USD.
    axes
        ``{axis: [values]}`` (e.g. :meth:`gis.config.explorer.ExplorerConfig.axes`), each list
        strictly increasing.

    Returns
    -------
    dict
        ``{"axes": {axis: [values]}, "ledgers": {ledger: {metric: nested list}}}``: the nested
        list is indexed in axis order, ``[i_axis0][i_axis1]...``. Non-finite values become None.
    """
    names = list(axes)
    values = [[float(v) for v in axes[name]] for name in names]
    for name, vals in zip(names, values, strict=True):
        if len(vals) < 1 or any(b <= a for a, b in itertools.pairwise(vals)):
            raise GisError(
                f"grid axis {name} must be a strictly increasing list of numbers, got {vals}",
                field=f"explorer.{name}",
                fix="list the grid points in increasing order",
            )
    shape = tuple(len(v) for v in values)
    cubes: dict[str, dict[str, np.ndarray]] = {}
    layout: tuple | None = None
    for index in itertools.product(*(range(n) for n in shape)):
        point = {name: values[a][i] for a, (name, i) in enumerate(zip(names, index, strict=True))}
        result = evaluate(point)
        this = tuple(sorted((ledger, tuple(sorted(m))) for ledger, m in result.items()))
        if layout is None:
            layout = this
            cubes = {ledger: {m: np.full(shape, np.nan) for m in ms} for ledger, ms in result.items()}
        elif this != layout:
            raise GisError(
                f"the national model gave other ledgers or metrics at {point} than at the first grid point",
                field="explorer_grid",
                fix="return the same ledgers and metrics at every grid point",
            )
        for ledger, metrics in result.items():
            for metric, value in metrics.items():
                cubes[ledger][metric][index] = float(value) if value is not None else math.nan
    return {
        "axes": {name: vals for name, vals in zip(names, values, strict=True)},
        "ledgers": {
            ledger: {metric: _nested(cube) for metric, cube in metrics.items()}
            for ledger, metrics in cubes.items()
        },
    }


def _nested(cube: np.ndarray) -> list:
    return _finite_list(cube.tolist())


def _finite_list(value):
    if isinstance(value, list):
        return [_finite_list(v) for v in value]
    return value if math.isfinite(value) else None


def interpolate_grid(grid: Mapping, ledger: str, metric: str, point: Mapping[str, float]) -> float:
    """Multilinear interpolation of ``grid["ledgers"][ledger][metric]`` at ``point`` (the page's rule).

    A coordinate outside an axis is clamped to its ends; an axis missing from ``point`` takes its
    first value. A None (non-finite) corner with a non-zero weight gives NaN.
    """
    axes = grid["axes"]
    cube = grid["ledgers"][ledger][metric]
    brackets = []
    for name, vals in axes.items():
        x = float(point.get(name, vals[0]))
        if len(vals) == 1 or x <= vals[0]:
            brackets.append((0, 0, 0.0))
            continue
        if x >= vals[-1]:
            brackets.append((len(vals) - 1, len(vals) - 1, 0.0))
            continue
        i = int(np.searchsorted(vals, x, side="right")) - 1
        brackets.append((i, i + 1, (x - vals[i]) / (vals[i + 1] - vals[i])))
    total = 0.0
    for corner in itertools.product((0, 1), repeat=len(brackets)):
        weight = 1.0
        node = cube
        for bit, (lo, hi, t) in zip(corner, brackets, strict=True):
            weight *= t if bit else 1.0 - t
            node = node[hi if bit else lo]
        if weight == 0.0:
            continue
        if node is None:
            return math.nan
        total += weight * node
    return total


# ---------------------------------------------------------------- the run's scenario


def display_geometry(frame: gpd.GeoDataFrame, *, simplify_m: float, decimals: int) -> gpd.GeoSeries:
    """:func:`gis.outputs.map.display_geometry` (imported when first drawn: the map module brings
    folium, which the explorer page does not use)."""
    from gis.outputs.map import display_geometry as draw

    return draw(frame, simplify_m=simplify_m, decimals=decimals)


def write_run_scenario(out: Path, scenario_path: Path | None) -> Path:
    """Copy the scenario a run used to ``OUT/scenario.toml`` (the packaged default when None)."""
    source = Path(scenario_path) if scenario_path is not None else DEFAULT_SCENARIO
    text = source.read_text(encoding="utf-8")
    if source.resolve() != DEFAULT_SCENARIO and not tomllib.loads(text).get("name"):
        text = f"name = {json.dumps(source.stem)}\n" + text
    return write_text(Path(out) / SCENARIO_FILE, text)


def read_run_scenario(out: Path) -> tuple[Scenario, dict, str]:
    """The scenario of the run in ``OUT``, its merged TOML tables and a note on where it came from.

    ``OUT/scenario.toml`` laid over the packaged default; the packaged default when absent.
    """
    path = Path(out) / SCENARIO_FILE
    default = tomllib.loads(DEFAULT_SCENARIO.read_text(encoding="utf-8"))
    if not path.is_file():
        return load_scenario(), default, f"{SCENARIO_FILE} absent in {out}: the packaged default scenario"
    own = tomllib.loads(path.read_text(encoding="utf-8"))
    raw = merge_tables(default, own)
    raw["name"] = own.get("name", path.stem)
    return load_scenario(path), raw, str(landing_path(path))  # where it is once the outputs are in place


# ---------------------------------------------------------------- the data the page applies the rule to


def _column(sites: pd.DataFrame, name: str, default) -> list:
    if name in sites.columns:
        return sites[name].tolist()
    return [default] * len(sites)


def fleet_membership(sites: pd.DataFrame, estimates: Mapping) -> tuple[list | None, str]:
    """Per site: in the fleet the estimate stage selected? (``in_fleet`` column or a site-id list)."""
    if "in_fleet" in sites.columns:
        fleet = sites["in_fleet"].astype("boolean")
        flags = fleet.to_numpy(dtype=object, na_value=None).tolist()
        return [None if v is None else bool(v) for v in flags], "candidate_sites.in_fleet"
    fleet = estimates.get("fleet") if isinstance(estimates, Mapping) else None
    ids = fleet.get("site_ids") if isinstance(fleet, Mapping) else None
    if isinstance(ids, list):
        chosen = set(map(str, ids))
        return [sid in chosen for sid in sites["site_id"].astype(str)], 'estimates.json "fleet.site_ids"'
    return None, "no fleet membership in this run (no in_fleet column, no fleet.site_ids in estimates.json)"


def explorer_data(
    sites: gpd.GeoDataFrame,
    scenario: Scenario,
    raw_scenario: Mapping,
    estimates: Mapping,
    *,
    states: gpd.GeoDataFrame | None = None,
    scenario_note: str = "",
) -> dict:
    """Everything the page needs, JSON-ready: the rule's inputs, the sites, the grid, the scenario.

    Parameters
    ----------
    sites
        ``candidate_sites`` (EPSG:4326 points) with ``s_<criterion>``, ``score``, ``rank``,
        ``excluded``, ``exclusion_reason``.
    scenario, raw_scenario
        the run's scenario and its merged TOML tables (the export starts from the latter).
    estimates
        ``estimates.json`` content (``explorer_grid`` used when present).
    states
        state polygons drawn as the offline basemap (optional).

    Raises
    ------
    GisError
        when a criterion of the scenario has no ``s_<criterion>`` column in the sites.
    """
    config = scenario.scoring
    names = list(config.criteria)
    subs = _sub_scores(sites, names)
    rules = _exclusion_rules(sites, config.exclusions)
    weights = np.array([c.weight for c in config.criteria.values()])
    notes = _consistency_notes(sites, rules, subs @ weights, scenario_note)
    fleet, fleet_note = fleet_membership(sites, estimates)
    grid = estimates.get("explorer_grid") if isinstance(estimates, Mapping) else None
    data = {
        "formula": FORMULA,
        "scenario": {"name": scenario.name, "note": scenario_note, "tables": _jsonable(raw_scenario)},
        "criteria": [{"name": n, "weight": float(c.weight)} for n, c in config.criteria.items()],
        "exclusions": rules,
        "category_off_min_mw": CATEGORY_OFF_MIN_MW,
        "categories": [c for c in CATEGORIES if c in set(sites["category"])],
        "sites": _sites_payload(sites, subs),
        "in_fleet": fleet,
        "fleet_note": fleet_note,
        "grid": grid if isinstance(grid, Mapping) and grid.get("axes") else None,
        "grid_base": _grid_base(scenario),
        "notes": notes,
        "states": states_geojson(states),
    }
    return data


def _grid_base(scenario: Scenario) -> dict:
    """The run's own values of the grid's axes, where the scenario has them (slider start)."""
    base = {}
    est = scenario.estimates
    for name, path in {
        "btc_price_usd": ("market", "btc_price_usd"),
        "network_growth_per_year": ("network", "growth_per_year"),
    }.items():
        node: object = est
        for part in path:
            node = getattr(node, part, None)
        if isinstance(node, int | float):
            base[name] = float(node)
    try:  # the ASIC the scenario fits every site with (the estimate stage's table, read only)
        from gis.config.asics import asic_model

        base["efficiency_j_th"] = float(asic_model(est.asic_model).efficiency_j_th)
    except (AttributeError, GisError, ImportError):
        pass
    return base


def _num(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def states_geojson(states: gpd.GeoDataFrame | None) -> dict | None:
    """The states' outline (simplified 2 km in EPSG:5070, EPSG:4326 to 3 decimals) as GeoJSON; its
    text is kept by the hash of the states' geometry (:func:`gis.outputs.keep.kept_text`)."""
    if states is None or len(states) == 0:
        return None

    def make() -> str:
        geometry = display_geometry(states, simplify_m=2000.0, decimals=3)
        return str(gpd.GeoDataFrame(geometry=geometry.values, crs=states.crs).to_json(drop_id=True))

    digest = hashlib.blake2b(geometry_digest(states.geometry.values), digest_size=20)
    digest.update(str(states.crs).encode() + _code_key())
    return json.loads(kept_text("explorer_states", digest.hexdigest(), make))


@functools.cache
def _code_key() -> bytes:
    """The code and libraries the outline's text depends on."""
    from importlib.metadata import version

    parts = [Path(__file__).read_bytes(), (Path(__file__).parent / "map.py").read_bytes()]
    parts += [version(lib).encode() for lib in ("shapely", "pyproj", "geopandas")]
    return hashlib.sha256(b"\0".join(parts)).digest()


# ---------------------------------------------------------------- the page


def _template(name: str) -> str:
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def render_explorer(data: Mapping) -> str:
    """The self-contained HTML page (Leaflet inlined from the vendored copy, no network)."""
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    payload = payload.replace("</", "<\\/")
    leaflet_js = (VENDOR_DIR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    leaflet_css = _css_with_data_uris(VENDOR_DIR / "leaflet" / "leaflet.css")
    page = _template("explorer_page.html")
    parts = {
        "/*LEAFLET_CSS*/": leaflet_css,
        "/*EXPLORER_CSS*/": _template("explorer_page.css"),
        "/*LEAFLET_JS*/": leaflet_js.replace("</script", "<\\/script"),
        "/*EXPLORER_JS*/": _template("explorer_page.js"),
        "/*EXPLORER_DATA*/": payload,
    }
    for key, value in parts.items():
        page = page.replace(key, value, 1)
    return page


def write_explorer(
    path: Path,
    *,
    sites: gpd.GeoDataFrame,
    estimates: Mapping,
    out: Path,
    states: gpd.GeoDataFrame | None = None,
) -> tuple[Path, list[str]]:
    """Write ``explorer.html`` for the run in ``out``; returns the path and notes to print."""
    scenario, raw, note = read_run_scenario(out)
    data = explorer_data(sites, scenario, raw, estimates, states=states, scenario_note=note)
    path = write_text(path, render_explorer(data))
    notes = list(data["notes"])
    if data["grid"] is None:
        notes.append("estimates.json has no explorer_grid: the explorer shows no national figures")
    return path, notes


def _sub_scores(sites: gpd.GeoDataFrame, names: list[str]) -> np.ndarray:
    """The sub-scores ``s_<criterion>`` of the sites, one column per criterion (0..1).

    Parameters
    ----------
    sites
        ``candidate_sites`` (EPSG:4326 points).
    names
        the scenario's criteria, in order.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(len(sites), len(names))``.

    Raises
    ------
    GisError
        when a criterion has no ``s_<criterion>`` column, or a sub-score is not a number.
    """
    missing = [f"s_{n}" for n in names if f"s_{n}" not in sites.columns]
    if missing:
        raise GisError(
            f"the sites lack the sub-score column(s) {missing} of the run's scenario",
            file="sites.gpkg",
            field=", ".join(missing),
            fix=f"score again with the same scenario (`gis score --scenario OUT/{SCENARIO_FILE}`)",
        )
    subs = np.column_stack([sites[f"s_{name}"].to_numpy(dtype="float64") for name in names])
    if not np.isfinite(subs).all():
        raise GisError(
            "some sub-scores are not numbers",
            file="sites.gpkg",
            field="s_*",
            fix=f"score again with the same scenario (`gis score --scenario OUT/{SCENARIO_FILE}`)",
        )
    return subs


def _exclusion_rules(sites: gpd.GeoDataFrame, exclusions) -> list[dict[str, Any]]:
    """Each exclusion rule of the scenario with the rows its reason appears on.

    Parameters
    ----------
    sites
        ``candidate_sites`` (``exclusion_reason``: reasons joined by ``"; "``).
    exclusions
        the scenario's exclusion rules (``scenario.scoring.exclusions``).

    Returns
    -------
    list of dict
        ``{"rule": the rule's fields, "hits": row positions}`` per rule, in order.
    """
    reasons = [
        set(str(r).split("; ")) if isinstance(r, str) and r else set()
        for r in _column(sites, "exclusion_reason", "")
    ]
    rules: list[dict[str, Any]] = []
    for rule in exclusions:
        hits = [i for i, r in enumerate(reasons) if rule.reason in r]
        rules.append({"rule": rule.model_dump(exclude_none=True), "hits": hits})
    return rules


def _consistency_notes(
    sites: gpd.GeoDataFrame, rules: list[dict[str, Any]], weighted: np.ndarray, scenario_note: str
) -> list[str]:
    """Notes when the sites were not scored with the recorded scenario.

    Parameters
    ----------
    sites
        ``candidate_sites`` (``score`` 0..1, ``excluded`` when present).
    rules
        :func:`_exclusion_rules` of the scenario.
    weighted
        the weighted sum of the sub-scores per site (before clipping to 0..1).
    scenario_note
        where the scenario was found, named in the note.

    Returns
    -------
    list of str
        empty when exclusions and scores agree (scores within 1e-9).
    """
    notes = []
    hit_any = np.zeros(len(sites), dtype=bool)
    for r in rules:
        hit_any[r["hits"]] = True
    if "excluded" in sites.columns and not np.array_equal(hit_any, sites["excluded"].to_numpy(dtype=bool)):
        notes.append(
            "the exclusion reasons of the sites do not match the scenario's exclusion rules: "
            f"this run was scored with another scenario than {scenario_note or 'the one found'}"
        )
    if len(sites):
        recomputed = np.where(hit_any, 0.0, np.clip(weighted, 0.0, 1.0))
        worst = float(np.max(np.abs(recomputed - sites["score"].to_numpy(dtype="float64"))))
        if worst > 1e-9:
            notes.append(
                f"scores recomputed from the sub-scores differ from the run's by up to {worst:.3g}: "
                "the run was scored with other weights than its recorded scenario's"
            )
    return notes


def _sites_payload(sites: gpd.GeoDataFrame, subs: np.ndarray) -> dict[str, list]:
    """The sites' columns the page reads, JSON-ready (coordinates EPSG:4326, 5 decimals).

    Parameters
    ----------
    sites
        ``candidate_sites`` (EPSG:4326 points).
    subs
        :func:`_sub_scores` of the sites (0..1).

    Returns
    -------
    dict
        column name to list of values (``mineable_mw`` in MW; ``s``: one list per criterion).
    """
    geometry = sites.geometry
    return {
        "site_id": sites["site_id"].astype(str).tolist(),
        "name": [str(v) for v in _column(sites, "name", "")],
        "category": sites["category"].astype(str).tolist(),
        "state": [str(v) for v in _column(sites, "state", "")],
        "ledger": [str(v) for v in _column(sites, "ledger", "")],
        "mineable_mw": _finite_or_none(_column(sites, "mineable_mw", math.nan)),
        "lat": [round(v, 5) for v in geometry.y.to_numpy(dtype="float64").tolist()],
        "lon": [round(v, 5) for v in geometry.x.to_numpy(dtype="float64").tolist()],
        "rank": sites["rank"].to_numpy(dtype="int64").tolist(),
        "score": _finite_or_none(sites["score"].tolist()),
        "s": [subs[:, j].astype("float64").tolist() for j in range(subs.shape[1])],
    }


def _finite_or_none(values: list) -> list[float | None]:
    """:func:`_num` of each value: floats, None where not a finite number (a whole array at once
    when the values are numbers)."""
    try:
        numbers = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        return [_num(v) for v in values]
    return [v if ok else None for v, ok in zip(numbers.tolist(), np.isfinite(numbers).tolist(), strict=True)]
