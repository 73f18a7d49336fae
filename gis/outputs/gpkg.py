"""The analyst GeoPackage (``sites.gpkg``): candidate sites, state and category summaries, the source
layers drawn on the map, QGIS styles for each, and provenance in the GeoPackage metadata.

Layers are EPSG:4326; summaries carry units in their column names. The file is rebuilt in a
temporary file (layers, then ``layer_styles``) and renamed over the old one in one step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis import STORAGE_CRS, __version__
from gis.io import atomic_path, write_gpkg
from gis.outputs.labels import CATEGORY_LABELS, column_unit
from gis.outputs.presets import MapPreset
from gis.outputs.styles import Style, classes, write_layer_styles
from gis.schema import LAYER_SCHEMAS

SUMMARY_COLUMNS = ("sites", "mineable_gw", "hashrate_ehs", "btc_per_year", "co2_mt_per_year")
"""Figures of each ``by_state`` / ``by_category`` group in estimates.json, copied into the summaries."""


def _summary_frame(groups: Mapping[str, Mapping], key: str) -> pd.DataFrame:
    rows = [{key: k, **{c: (v or {}).get(c) for c in SUMMARY_COLUMNS}} for k, v in sorted(groups.items())]
    frame = pd.DataFrame(rows, columns=[key, *SUMMARY_COLUMNS])
    frame["sites"] = pd.to_numeric(frame["sites"], errors="coerce").fillna(0).astype("int64")
    for col in SUMMARY_COLUMNS[1:]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


def state_summary(by_state: Mapping[str, Mapping], states: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """One row per state with sites, GW, EH/s, BTC a year, CO2; state polygons when available."""
    frame = _summary_frame(by_state, "state")
    if states is None or states.empty:
        return frame
    shapes = states[["state", "name", "geometry"]]
    merged = shapes.merge(frame, on="state", how="left")
    merged["sites"] = merged["sites"].fillna(0).astype("int64")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=STORAGE_CRS)


def category_summary(by_category: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per candidate category (a plain table)."""
    frame = _summary_frame(by_category, "category")
    frame.insert(1, "label", frame["category"].map(CATEGORY_LABELS).fillna(frame["category"]))
    return frame


def layer_styles_for(preset: MapPreset, *, state_max_gw: float) -> dict[str, Style]:
    """A QGIS style per layer, following the map preset's colours."""
    score_breaks, score_colours = classes(preset.sites.ramp, 0.0, 1.0)
    gw_breaks, gw_colours = classes(preset.choropleth.ramp, 0.0, max(state_max_gw, 1e-6))
    styles = {
        "candidate_sites": Style(
            "marker",
            column="score",
            breaks=score_breaks,
            colours=score_colours,
            size=2.6,
            description="candidate sites coloured by score (0..1)",
        ),
        "state_summary": Style(
            "fill",
            column="mineable_gw",
            breaks=gw_breaks,
            colours=gw_colours,
            size=0.2,
            description="states coloured by mineable GW",
        ),
    }
    for spec in preset.layers:
        geometry = LAYER_SCHEMAS[spec.layer].geometry or ()
        kind = "marker" if "Point" in geometry else ("line" if "LineString" in geometry else "fill")
        if spec.layer in styles:
            continue
        if spec.colour_by and spec.breaks:
            limits = (0.0, *spec.breaks, 2000.0)
            styles[spec.layer] = Style(
                kind,
                column=spec.colour_by,
                breaks=limits,
                colours=tuple(spec.ramp),
                size=0.4,
                description=spec.label,
            )
        else:
            styles[spec.layer] = Style(
                kind,
                colour=spec.colour,
                size=1.6 if kind == "marker" else 0.3,
                fill=spec.fill_opacity > 0,
                description=spec.label,
            )
    return styles


def provenance(
    *,
    estimates: Mapping,
    layers_metadata: Mapping[str, str],
    sites_metadata: Mapping[str, str],
    scenario_path: Path | None,
) -> dict[str, str]:
    """Dataset metadata: tool version, scenario (name, file, sha256), sources with licences and
    vintages, the national figures, and what the earlier stages recorded."""
    scenario_file = ""
    scenario_sha256 = ""
    if scenario_path is not None and Path(scenario_path).is_file():
        scenario_file = str(scenario_path)
        scenario_sha256 = hashlib.sha256(Path(scenario_path).read_bytes()).hexdigest()
    meta = {
        "tool": f"gis-btc-sites {__version__}",
        "crs": STORAGE_CRS,
        "scenario": str(estimates.get("scenario", "")),
        "scenario_file": scenario_file or "packaged default",
        "scenario_sha256": scenario_sha256,
        "sources": layers_metadata.get("sources", "[]"),
        "national": json.dumps(estimates.get("national", {})),
        "selection": json.dumps(estimates.get("selection", {})),
        "assumptions": json.dumps(estimates.get("assumptions", {})),
    }
    for key, value in sites_metadata.items():
        meta.setdefault(f"scoring_{key}", value)
    return meta


def _columns_metadata(frame: pd.DataFrame, layer: str) -> str:
    return json.dumps({c: column_unit(c, layer=layer) for c in frame.columns if c != "geometry"})


def write_sites_gpkg(
    target: str | Path,
    *,
    sites: gpd.GeoDataFrame,
    source_layers: Mapping[str, pd.DataFrame],
    estimates: Mapping,
    preset: MapPreset,
    layers_metadata: Mapping[str, str],
    sites_metadata: Mapping[str, str],
    scenario_path: Path | None = None,
) -> Path:
    """Rewrite ``sites.gpkg`` atomically with sites, summaries, source layers, styles and provenance."""
    states = source_layers.get("states")
    by_state = estimates.get("by_state", {}) or {}
    frames: dict[str, pd.DataFrame] = {
        "candidate_sites": sites,
        "state_summary": state_summary(by_state, states),
        "category_summary": category_summary(estimates.get("by_category", {}) or {}),
    }
    for name, frame in source_layers.items():
        frames.setdefault(name, frame)
    layer_meta = {
        name: {
            "columns_units": _columns_metadata(frame, name),
            "description": LAYER_SCHEMAS[name].description if name in LAYER_SCHEMAS else name,
        }
        for name, frame in frames.items()
    }
    state_max = max((float((v or {}).get("mineable_gw") or 0.0) for v in by_state.values()), default=1.0)
    meta = provenance(
        estimates=estimates,
        layers_metadata=layers_metadata,
        sites_metadata=sites_metadata,
        scenario_path=scenario_path,
    )
    with atomic_path(target) as tmp:
        write_gpkg(tmp, frames, dataset_metadata=meta, layer_metadata=layer_meta)
        write_layer_styles(tmp, layer_styles_for(preset, state_max_gw=state_max))
    return Path(target)
