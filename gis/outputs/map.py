"""The interactive map (folium): source layers, candidate sites by category, state choropleth.

Coordinates drawn are EPSG:4326, simplified for display in EPSG:5070 metres and rounded to the
preset's decimals so the national map stays small. Every text value shown (popups, tooltips,
layer names, title) is HTML-escaped in Python before it reaches the page: a plant named
``<script>alert(1)</script>`` shows as text. Offline maps inline their JS/CSS
(:mod:`gis.outputs.assets`) and draw the states as a vector basemap instead of web tiles.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import html
import itertools
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from gis.outputs import compiled

compiled.install()  # before folium and branca make their templates: compiled once per machine

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium import plugins
from folium.utilities import JsCode
from jinja2.utils import htmlsafe_json_dumps

from gis import METRIC_CRS, STORAGE_CRS
from gis.config.vocabulary import CATEGORIES
from gis.errors import GisError
from gis.io import write_text
from gis.outputs.assets import collect_assets, inline_assets
from gis.outputs.keep import geometry_digest, kept_bytes, kept_folder
from gis.outputs.labels import (
    CATEGORY_LABELS,
    CRITERION_TITLES,
    LEDGER_LABELS,
    OWNER_CLASS_LABELS,
    column_unit,
    display_frame,
    title,
)
from gis.outputs.presets import MapPreset, SourceLayer

if TYPE_CHECKING:
    from branca.element import Figure

SITE_POPUP_COLUMNS = (
    "category",
    "ledger",
    "node",
    "price_basis",
    "wasted_mwh_per_year",
    "wasted_hours_per_year",
    "wasted_peak_mw",
    "no_surplus_reason",
    "in_fleet",
    "fleet_mw",
    "hours_mined",
    "btc_per_year",
    "owner",
    "state",
    "capacity_mw",
    "mineable_mw",
    "score",
    "rank",
    "confidence",
    "dist_tx_km",
    "tx_voltage_kv",
    "energy_cost_usd_mwh",
    "exclusion_reason",
    "basis",
)
"""Columns of ``candidate_sites`` shown in a site's popup (those present), after its name, in
words with units (:func:`gis.outputs.labels.title`). The energy columns (``ledger``, ``node``,
``price_basis``, ``wasted_*``, ``no_surplus_reason``) come from the energy model; ``in_fleet``,
``fleet_mw``, ``hours_mined`` and ``btc_per_year`` from ``estimates.json`` ``fleet.sites``, joined by
:func:`gis.outputs.inputs.join_fleet`. ``basis`` (why) closes the popup."""

_SHARES = {"p_top_n"}
"""0..1 columns a popup shows as percentages."""

__all__ = [
    "LAYER_CACHE_FILES",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "SITE_POPUP_COLUMNS",
    "LayerDrawing",
    "add_choropleth",
    "add_offline_basemap",
    "add_site_layers",
    "add_source_layer",
    "build_map",
    "class_labels",
    "colour_values",
    "display_geometry",
    "layer_cache_dir",
    "layer_drawing",
    "layer_key",
    "legend_box",
    "offline_basemap_text",
    "render_map_html",
    "title_box",
    "write_map",
]

MIN_ZOOM, MAX_ZOOM = 2, 18

_METRIC_LABELS = {
    "mineable_gw": "fleet GW installed",
    "average_gw": "fleet GW average",
    "hashrate_ehs": "EH/s",
    "btc_per_year": "BTC a year",
}


# ----------------------------------------------------------------------------- colours and shapes


def colour_values(
    values: np.ndarray | pd.Series,
    ramp: list[str],
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    breaks: list[float] | None = None,
    missing: str = "#999999",
) -> np.ndarray:
    """``#rrggbb`` per value: stepped by ``breaks``, else linear over ``vmin..vmax`` (branca ramp)."""
    x = np.asarray(values, dtype="float64")
    out = np.full(x.shape, missing, dtype=object)
    ok = np.isfinite(x)
    if breaks:
        out[ok] = np.asarray(ramp, dtype=object)[np.digitize(x[ok], breaks)]
        return out
    lo = np.nanmin(x) if vmin is None and ok.any() else (vmin or 0.0)
    hi = np.nanmax(x) if vmax is None and ok.any() else (vmax if vmax is not None else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    colormap = cm.LinearColormap(ramp, vmin=0.0, vmax=1.0)
    lut = np.array([colormap.rgb_hex_str(v) for v in np.linspace(0.0, 1.0, 256)], dtype=object)
    idx = np.clip(np.round((x[ok] - lo) / (hi - lo) * 255), 0, 255).astype(int)
    out[ok] = lut[idx]
    return out


def display_geometry(frame: gpd.GeoDataFrame, *, simplify_m: float, decimals: int) -> gpd.GeoSeries:
    """Geometry for drawing: simplified in EPSG:5070 (tolerance in metres), rounded, EPSG:4326.

    Simplified geometry (the states drawn by the offline basemap, the choropleth and the explorer)
    is kept in this process by the hash of its WKB (:func:`gis.outputs.keep.geometry_digest`), the
    CRS, the tolerance and the decimals: the same outline is simplified once, not once per use."""
    geoms = frame.geometry
    if simplify_m > 0 and not geoms.geom_type.isin(["Point", "MultiPoint"]).all():
        key = (geometry_digest(geoms.values), str(geoms.crs), float(simplify_m), int(decimals))
        with _SIMPLIFIED_LOCK:
            rounded = _SIMPLIFIED.get(key)
        if rounded is None:
            simple = geoms.to_crs(METRIC_CRS).simplify(simplify_m, preserve_topology=True).to_crs(STORAGE_CRS)
            rounded = shapely.transform(simple.values, lambda xy: np.round(xy, decimals))
            with _SIMPLIFIED_LOCK:
                _SIMPLIFIED[key] = rounded
                while len(_SIMPLIFIED) > _SIMPLIFIED_MAX:
                    _SIMPLIFIED.popitem(last=False)
        return gpd.GeoSeries(np.array(rounded, dtype=object), index=frame.index, crs=STORAGE_CRS)
    rounded = shapely.transform(geoms.to_crs(STORAGE_CRS).values, lambda xy: np.round(xy, decimals))
    return gpd.GeoSeries(rounded, index=frame.index, crs=STORAGE_CRS)


_SIMPLIFIED: OrderedDict[tuple, np.ndarray] = OrderedDict()
"""Simplified, rounded geometry (EPSG:4326) of :func:`display_geometry`, the most recent first out."""
_SIMPLIFIED_MAX = 8
_SIMPLIFIED_LOCK = threading.Lock()


def _feature_collection(frame: pd.DataFrame, geometry: gpd.GeoSeries) -> dict:
    """A GeoJSON dict of ``frame``'s columns (already display-ready) on ``geometry``."""
    keep = (~(geometry.isna() | geometry.is_empty)).to_numpy()
    rows = frame.loc[keep]
    geoms = np.asarray(geometry.values[keep], dtype=object)
    # what GeoDataFrame.to_geo_dict(na="null", drop_id=True) gives, built a column at a time:
    # Python scalars, missing values None (it walks the rows, ~10x slower on string columns)
    columns = []
    for col in rows.columns:
        values = rows[col].to_numpy(dtype=object, na_value=None)
        columns.append(values.tolist())
    names = list(rows.columns)
    props = [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] if names else None
    shapes = _geometry_dicts(geoms)
    if props is None:
        props = [{} for _ in shapes]
    features = [
        {"type": "Feature", "properties": p, "geometry": g} for p, g in zip(props, shapes, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def _collection_text(frame: pd.DataFrame, geometry: gpd.GeoSeries) -> str:
    """``_geojson_text(_feature_collection(frame, geometry))``, the same text, made a column at a
    time for 2D points (the candidate sites): each property's JSON once per distinct value,
    each feature joined from its columns' pieces, keys in the sorted order folium writes them.
    Other geometries go through the dict and the JSON encoder."""
    keep = (~(geometry.isna() | geometry.is_empty)).to_numpy()
    geoms = np.asarray(geometry.values[keep], dtype=object)
    if len(geoms) == 0 or not (shapely.get_type_id(geoms) == 0).all() or shapely.has_z(geoms).any():
        return _geojson_text(_feature_collection(frame, geometry))
    rows = frame.loc[keep]
    encode = json.JSONEncoder(sort_keys=True).encode  # the separators and floats json.dumps writes
    pieces = [
        _column_pieces(encode(col) + ": ", rows[col], encode) for col in sorted(str(c) for c in rows.columns)
    ]
    xy = shapely.get_coordinates(geoms).tolist()
    rows_of = zip(*pieces, strict=True) if pieces else ([] for _ in xy)
    features = [
        '{"geometry": {"coordinates": '
        + encode(c)
        + ', "type": "Point"}, "properties": {'
        + ", ".join(parts)
        + '}, "type": "Feature"}'
        for c, parts in zip(xy, rows_of, strict=True)
    ]
    del pieces, rows_of
    return '{"features": [' + ", ".join(features) + '], "type": "FeatureCollection"}'


def _column_pieces(head: str, column: pd.Series, encode: Callable[[object], str]) -> list[str]:
    """``head`` + the JSON of each value of ``column``, made HTML-safe (:func:`_html_safe`): what
    ``encode`` writes for the value as ``to_numpy(dtype=object, na_value=None)`` gives it.

    Whole columns at once where their kind says what each value's JSON is: float64 (``repr``,
    missing ``null``), int64, bool, text (each distinct text encoded once, by
    :func:`pandas.factorize`) and floats held as objects; other columns value by value, each
    distinct value (by type and value: ``1``, ``1.0`` and ``True`` apart) encoded once."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
    if kind == "f":
        values = column.to_numpy(dtype="float64")
        texts = [head + t for t in map(float.__repr__, values.tolist())]  # json's float text
        for i in np.flatnonzero(~np.isfinite(values)).tolist():  # NaN is missing (null); +-inf
            texts[i] = head + encode(None if np.isnan(values[i]) else float(values[i]))
        return texts
    if kind in ("i", "u"):
        return [head + t for t in map(int.__repr__, column.to_numpy().tolist())]
    if kind == "b":
        true, false = head + "true", head + "false"
        return [true if v else false for v in column.to_numpy().tolist()]
    values = column.to_numpy(dtype=object, na_value=None)
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred in ("string", "empty"):
        codes, uniques = pd.factorize(values)  # None: code -1, the last text below
        texts = [_html_safe(head + encode(u)) for u in uniques.tolist()] + [head + "null"]
        return np.asarray(texts, dtype=object)[codes].tolist()
    if inferred == "floating":  # numbers held as objects (display values), None for missing
        null, as_text = head + "null", float.__repr__
        return [
            null if v is None else head + (as_text(v) if math.isfinite(v) else encode(v))
            for v in values.tolist()
        ]
    seen: dict[tuple[type, object], str] = {}
    out: list[str] = []
    for v in values.tolist():
        try:
            text = seen.get((v.__class__, v))
        except TypeError:  # an unhashable value: encoded each time
            text = None
        if text is None:
            text = _html_safe(head + encode(v))  # escaped piece by piece: no copies of the whole
            with contextlib.suppress(TypeError):
                seen[(v.__class__, v)] = text
        out.append(text)
    return out


def _html_safe(text: str) -> str:
    """``text`` with the characters jinja's ``htmlsafe_json_dumps`` escapes escaped as it does."""
    for char, escaped in _HTML_SAFE:
        if char in text:
            text = text.replace(char, escaped)
    return text


_HTML_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"))
"""What jinja's ``htmlsafe_json_dumps`` (folium's ``tojson``) replaces in JSON text."""


def _geometry_dicts(geoms: np.ndarray) -> list[dict]:
    """``shapely.geometry.mapping`` of each geometry (lists where it gives tuples: the same JSON),
    read a whole array at a time for 2D points and (multi)lines; other kinds one by one."""
    types = shapely.get_type_id(geoms)
    if len(geoms) == 0 or shapely.has_z(geoms).any():
        return [shapely.geometry.mapping(g) for g in geoms]
    if (types == 0).all():
        return [{"type": "Point", "coordinates": xy} for xy in shapely.get_coordinates(geoms).tolist()]
    if not np.isin(types, (1, 5)).all():
        return [shapely.geometry.mapping(g) for g in geoms]
    parts, owner = shapely.get_parts(geoms, return_index=True)
    xy = shapely.get_coordinates(parts).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(parts)).tolist()
    lines = [xy[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    per_geom: list[list] = [[] for _ in range(len(geoms))]
    for line, i in zip(lines, owner.tolist(), strict=True):
        per_geom[i].append(line)
    return [
        {"type": "LineString", "coordinates": own[0]}
        if t == 1
        else {"type": "MultiLineString", "coordinates": own}
        for own, t in zip(per_geom, types.tolist(), strict=True)
    ]


_DATA_MARK = "gis-geojson:"
_DATA_RE = re.compile(r'"gis-geojson:([0-9A-Za-z_]+)"')


class _GeoJson(folium.GeoJson):
    """A ``folium.GeoJson`` whose data is serialised once, when the map is built.

    folium writes ``data`` with jinja's ``tojson`` (sorted keys, ``<>&'`` escaped) and then
    compiles each element's output as a template of its own, which for a national layer means
    lexing megabytes of JSON at every render. This element carries a short placeholder through
    the templates instead; :func:`render_map_html` puts the same JSON text back, so the page is
    the one folium would write, and both the online and the offline page reuse the one text.
    """

    def __init__(self, data: dict | None, *, json_text: str | None = None, **kwargs) -> None:
        """``data``: the GeoJSON dict; or None with ``json_text``, its text already serialised
        (:func:`_geojson_text`, e.g. from the layer cache)."""
        super().__init__(
            data if data is not None else {"type": "FeatureCollection", "features": []}, **kwargs
        )
        self.json_text = json_text if data is None else _geojson_text(self.data)
        vars(self)["data"] = f"{_DATA_MARK}{self.get_name()}"  # a placeholder where folium keeps a dict


def _geojson_text(data: dict) -> str:
    """``data`` as folium's templates write it (jinja's ``tojson`` with folium's JSON policies), as
    a plain ``str`` (not markupsafe's ``Markup``, which would escape text added to it)."""
    env = folium.GeoJson._template.environment
    dumps, kwargs = env.policies["json.dumps_function"], env.policies["json.dumps_kwargs"]
    return str(htmlsafe_json_dumps(data, dumps=dumps, **kwargs))


def _short_keys(
    props: pd.DataFrame,
    fields: list[tuple],
    *,
    keep: tuple[str, ...] = ("site_id", "name", "_c", "_r", "_s", "_o", "_x"),
) -> tuple[pd.DataFrame, list[tuple]]:
    """Rename property columns to short keys (``p0``, ``p1`` ...) to keep the page small; the
    popup/tooltip field list is renamed alike. Columns in ``keep`` keep their names."""
    mapping = {c: (c if c in keep else f"p{i}") for i, c in enumerate(props.columns)}
    return props.rename(columns=mapping), [(mapping.get(f[0], f[0]), *f[1:]) for f in fields]


def class_labels(breaks: list[float], unit: str = "") -> list[str]:
    """Legend text of each class of a stepped ramp: ``< b0``, ``b0–b1``, ..., ``≥ bn``."""
    edges = [f"< {breaks[0]:g}"]
    edges += [f"{a:g}–{b:g}" for a, b in itertools.pairwise(breaks)]
    edges += [f"≥ {breaks[-1]:g}"]
    return [f"{e} {unit}".strip() for e in edges]


def _dissolved_lines(
    rows: gpd.GeoDataFrame, geometry: gpd.GeoSeries, spec: SourceLayer
) -> tuple[pd.DataFrame, gpd.GeoSeries]:
    """One multi-line per colour class (no noding: parts are only collected), with its label."""
    values = pd.to_numeric(rows[spec.colour_by], errors="coerce") if spec.colour_by else None
    if values is not None and spec.breaks:
        colours = colour_values(values, spec.ramp, breaks=spec.breaks, missing=spec.colour)
        labels = np.asarray(class_labels(spec.breaks, spec.legend_unit), dtype=object)
        text = np.where(values.notna(), labels[np.digitize(values.fillna(0), spec.breaks)], "unknown")
    else:
        colours = np.full(len(rows), spec.colour, dtype=object)
        text = np.full(len(rows), html.escape(spec.label), dtype=object)
    parts = gpd.GeoDataFrame({"_c": colours, "class": text}, geometry=geometry.values, crs=STORAGE_CRS)
    parts = parts.explode(index_parts=False)
    parts = parts.loc[~(parts.geometry.isna() | parts.geometry.is_empty)]
    keys = parts[["_c", "class"]].drop_duplicates().sort_values(["class", "_c"]).reset_index(drop=True)
    merged = [
        shapely.multilinestrings(
            parts.geometry.values[(parts["_c"] == c).to_numpy() & (parts["class"] == t).to_numpy()]
        )
        for c, t in keys.itertuples(index=False, name=None)
    ]
    return keys.assign(**{"class": keys["class"].map(html.escape)}), gpd.GeoSeries(merged, crs=STORAGE_CRS)


def _js_rows(fields: list[tuple]) -> str:
    """JS array literal of [property, escaped label, escaped unit, kind] rows (kind: '' or 'share')."""
    rows = []
    for field in fields:
        key, label, unit, kind = (*field, "", "")[:4]
        rows.append([key, html.escape(label), html.escape(unit), kind])
    return json.dumps(rows)


_TABLE_JS = """
function gisValue(v, f) {
  if (typeof v === 'number') {
    if (f[3] === 'share') { return (100 * v).toLocaleString('en-US', {maximumFractionDigits: 0}) + ' %'; }
    var d = Math.abs(v) >= 100 ? 0 : (Math.abs(v) >= 10 ? 1 : 2);
    v = v.toLocaleString('en-US', {maximumFractionDigits: d});
  }
  return f[2] ? v + ' ' + f[2] : v;
}
function gisRows(p, fields) {
  return fields.map(function (f) {
    var v = p[f[0]];
    if (v === null || v === undefined || v === '') { return ''; }
    return '<tr><th>' + f[1] + '</th><td>' + gisValue(v, f) + '</td></tr>';
  }).join('');
}
"""


def _source_on_each(static_style: dict, fields: list[tuple]) -> JsCode:
    """Style each feature from its ``_c`` colour and bind a tooltip of escaped fields."""
    return JsCode(
        "function (feature, layer) {\n"
        + _TABLE_JS
        + f"  var style = {json.dumps(static_style)};\n"
        + "  var p = feature.properties;\n"
        + "  style.color = p._c; style.fillColor = p._c;\n"
        + "  if (layer.setStyle) { layer.setStyle(style); }\n"
        + f"  var fields = {_js_rows(fields)};\n"
        + "  if (fields.length) { layer.bindTooltip(function () {"
        + " return '<table class=\"gis-tip\">' + gisRows(p, fields) + '</table>'; }, {sticky: true}); }\n"
        + "}"
    )


_POPUP_JS = """
function gisWhy(p, c) {
  // why a sub-score is what it is: c = [key, label, measure key, grid criterion?]
  var s = p[c[0]];
  if (s === null || s === undefined) { return ''; }
  if (c[3] && p._o && Math.abs(s - 0.5) < 1e-9) {
    return 'off-grid site (own fuel, no line needed): grid criteria do not apply, neutral 0.5';
  }
  if (Math.abs(s - 0.5) < 1e-9 && (!c[2] || p[c[2]] === null || p[c[2]] === undefined)) {
    return 'no measure for this site: neutral 0.5';
  }
  return '';
}
function gisBreakdown(p, criteria) {
  return criteria.map(function (c) {
    var s = p[c[0]];
    if (s === null || s === undefined) { return ''; }
    var why = gisWhy(p, c);
    return '<tr><th>' + c[1] + '</th><td class="gis-num">' + s.toFixed(2) + '</td><td class="gis-why">' + why + '</td></tr>';
  }).join('');
}
"""


def _site_on_each(fields: list[tuple], criteria: list[list[object]]) -> JsCode:
    """Size/colour each site from ``_r``/``_c``; popup in words with units, rank, score breakdown
    with the reason of neutral sub-scores, and why an excluded site is excluded."""
    return JsCode(
        "function (feature, layer) {\n"
        + _TABLE_JS
        + _POPUP_JS
        + "  var p = feature.properties;\n"
        + "  layer.setStyle({className: 'gis-site', color: '#333333', weight: 0.7, opacity: 0.9,"
        + " fillColor: p._c, fillOpacity: 0.85, radius: p._r});\n"
        + f"  var fields = {_js_rows(fields)};\n"
        + f"  var criteria = {json.dumps(criteria)};\n"
        + "  layer.bindPopup(function () {\n"
        + "    var html = '<div class=\"gis-popup\"><h4>' + p.name + '</h4>';\n"
        + "    if (p._x) { html += '<p class=\"gis-excluded\">Excluded: ' + p._x + '. It is not counted in the"
        + " national figures.</p>'; }\n"
        + "    html += '<table>' + gisRows(p, fields) + '</table>';\n"
        + "    if (criteria.length) { html += '<h5>Why this score: sub-scores (0 worst, 1 best), weighted</h5>"
        + "<table>' + gisBreakdown(p, criteria) + '</table>'; }\n"
        + "    return html + '</div>';\n"
        + "  }, {maxWidth: 440, autoPanPaddingTopLeft: [20, 60], autoPanPaddingBottomRight: [20, 20]});\n"
        + "  layer.bindTooltip(p.name);\n"
        + "}"
    )


# ----------------------------------------------------------------------------- layers


def _root(fmap: folium.Map) -> Figure:
    """The page the map is drawn in (a folium map's root is always a branca Figure)."""
    return cast("Figure", fmap.get_root())


def _filtered(frame: gpd.GeoDataFrame, spec: SourceLayer) -> gpd.GeoDataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for col, values in spec.where.items():
        mask &= frame[col].isin(values).to_numpy()
    for col, minimum in spec.at_least.items():
        mask &= (pd.to_numeric(frame[col], errors="coerce") >= minimum).fillna(False).to_numpy(dtype=bool)
    return frame.loc[mask]


def add_source_layer(
    fmap: folium.Map,
    frame: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame],
    spec: SourceLayer,
    *,
    decimals: int,
    layers_key: str | None = None,
) -> folium.FeatureGroup:
    """Draw one source layer (points, lines or polygons) as a toggleable overlay.

    Its GeoJSON text is taken from the layer cache (:func:`layer_drawing`) when the same rows
    were drawn the same way before: the source layers do not change when the scoring does.
    ``frame``: the layer, or a function giving it. ``layers_key``: what names the layers' content
    (the run's layers key, or the layers file's stamp); the drawing is then found by it and the
    preset entry, without hashing the rows, and a function ``frame`` is called only to draw."""
    rows: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame]
    if callable(frame):
        load = frame
        rows = lambda: _filtered(load(), spec)  # noqa: E731 - read only when drawn
    else:
        rows = _filtered(frame, spec)
    drawing = layer_drawing(rows, spec, decimals=decimals, layers_key=layers_key)
    group = folium.FeatureGroup(name=html.escape(f"{spec.label} ({drawing.count:,})"), show=spec.show)
    group.add_to(fmap)
    if drawing.json_text is None:
        return group
    _GeoJson(
        None,
        json_text=drawing.json_text,
        marker=folium.CircleMarker(radius=spec.radius_px) if drawing.points else None,
        on_each_feature=_source_on_each(drawing.style, drawing.fields),
        control=False,
    ).add_to(group)
    return group


@dataclasses.dataclass(frozen=True)
class LayerDrawing:
    """What the map draws of one source layer: its row count, GeoJSON text (None: no rows), the
    tooltip fields (property key, label, unit), the static style and whether it is points."""

    count: int
    json_text: str | None
    fields: list[tuple]
    style: dict
    points: bool


def _draw_layer(rows: gpd.GeoDataFrame, spec: SourceLayer, *, decimals: int) -> LayerDrawing:
    """Build :class:`LayerDrawing` from the filtered rows (EPSG:4326 out, simplified in EPSG:5070)."""
    if rows.empty:
        return LayerDrawing(0, None, [], {}, False)
    geometry = display_geometry(rows, simplify_m=spec.simplify_m, decimals=decimals)
    fields: list[tuple] = [(col, title(col), column_unit(col, layer=spec.layer)) for col in spec.tooltip]
    if spec.dissolve:
        props, geometry = _dissolved_lines(rows, geometry, spec)
        fields = [("class", title(spec.colour_by) if spec.colour_by else "layer")]
    else:
        props = display_frame(rows, list(spec.tooltip))
        props["_c"] = (
            colour_values(rows[spec.colour_by], spec.ramp, breaks=spec.breaks or None)
            if spec.colour_by
            else spec.colour
        )
        props, fields = _short_keys(props, fields)
    points = bool(geometry.geom_type.isin(["Point", "MultiPoint"]).all())
    lines = bool(geometry.geom_type.isin(["LineString", "MultiLineString"]).all())
    style = {
        "weight": spec.weight_px if not points else 0.5,
        "opacity": spec.opacity,
        "fillOpacity": spec.fill_opacity,
        "fill": not lines and (points or spec.fill_opacity > 0),
    }
    if points:
        style["radius"] = spec.radius_px
    return LayerDrawing(len(rows), _geojson_text(_feature_collection(props, geometry)), fields, style, points)


LAYER_CACHE_FILES = 64
"""Drawn source layers kept in ``$GIS_CACHE_DIR/map_layers``; the oldest go beyond this."""


def layer_cache_dir() -> Path:
    """``$GIS_CACHE_DIR/map_layers``: source layers drawn for the map, by :func:`layer_key`."""
    return kept_folder("map_layers")


@functools.cache
def _code_key() -> bytes:
    """What else decides a layer's text: this module and the labels, and the libraries' versions."""
    from importlib.metadata import version

    parts = [Path(__file__).read_bytes(), (Path(__file__).parent / "labels.py").read_bytes()]
    parts += [
        version(lib).encode() for lib in ("folium", "jinja2", "shapely", "pyproj", "geopandas", "pandas")
    ]
    parts.append(np.__version__.encode())
    return hashlib.sha256(b"\0".join(parts)).digest()


def layer_key(rows: gpd.GeoDataFrame, spec: SourceLayer, *, decimals: int) -> str:
    """The hash of what a source layer's drawing depends on: the rows' geometry (WKB) and CRS,
    the values and types of the columns drawn (tooltip, colour), the preset entry, the decimals
    and the code (:func:`_code_key`). Any change to a drawn value gives another key."""
    used = [spec.colour_by] if spec.colour_by else []
    cols = [c for c in dict.fromkeys([*spec.tooltip, *used]) if c in rows.columns]
    digest = hashlib.blake2b(digest_size=20)
    head = [
        spec.model_dump_json(),
        decimals,
        str(rows.crs),
        len(rows),
        cols,
        [str(t) for t in rows[cols].dtypes],
    ]
    digest.update(_code_key() + json.dumps(head).encode())
    if cols:
        digest.update(pd.util.hash_pandas_object(rows[cols], index=False).to_numpy().tobytes())
    wkb = shapely.to_wkb(np.asarray(rows.geometry.values, dtype=object))
    sizes = np.fromiter((-1 if b is None else len(b) for b in wkb), dtype=np.int64, count=len(wkb))
    digest.update(sizes.tobytes() + b"".join(b for b in wkb if b is not None))
    return digest.hexdigest()


def layer_drawing(
    rows: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame],
    spec: SourceLayer,
    *,
    decimals: int,
    layers_key: str | None = None,
) -> LayerDrawing:
    """:class:`LayerDrawing` of the filtered ``rows`` (or of what a function ``rows`` gives), from
    the cache (this process, then ``$GIS_CACHE_DIR/map_layers``; :func:`gis.outputs.keep.kept_bytes`)
    when :func:`layer_key` was drawn before; drawn and kept if not. With ``layers_key`` (what names
    the content of the layers ``rows`` were filtered from), the key is that, the preset entry, the
    decimals and the code: the rows are neither hashed nor, when a function, read."""
    if layers_key is None:
        if callable(rows):
            rows = rows()
        key = layer_key(rows, spec, decimals=decimals)
    else:
        head = json.dumps(["by layers key", layers_key, spec.model_dump_json(), decimals])
        key = hashlib.blake2b(_code_key() + head.encode(), digest_size=20).hexdigest()

    def draw() -> bytes:
        return _drawing_bytes(_draw_layer(rows() if callable(rows) else rows, spec, decimals=decimals))

    return _drawing_from(kept_bytes("map_layers", key, draw, suffix=".txt", files=LAYER_CACHE_FILES))


def _drawing_bytes(drawing: LayerDrawing) -> bytes:
    """A JSON header line (count, fields, style, points), then the GeoJSON text."""
    meta = {
        "count": drawing.count,
        "fields": drawing.fields,
        "style": drawing.style,
        "points": drawing.points,
    }
    meta["empty"] = drawing.json_text is None
    return (json.dumps(meta) + "\n" + (drawing.json_text or "")).encode("utf-8")


def _drawing_from(data: bytes) -> LayerDrawing:
    header, _, body = data.decode("utf-8").partition("\n")
    meta = json.loads(header)
    fields = [tuple(f) for f in meta["fields"]]
    text = None if meta["empty"] else body
    return LayerDrawing(int(meta["count"]), text, fields, dict(meta["style"]), bool(meta["points"]))


def _site_radius(values: pd.Series, *, min_px: float, max_px: float) -> np.ndarray:
    """Marker radius in pixels, area proportional to MW (square-root scale)."""
    mw = np.clip(np.nan_to_num(values.to_numpy(dtype="float64"), nan=0.0), 0.0, None)
    top = mw.max() if len(mw) and mw.max() > 0 else 1.0
    return np.round(min_px + (max_px - min_px) * np.sqrt(mw / top), 1)


_CLUSTER_ICON = """
function (cluster) {
  // a cluster shows how many sites it holds, coloured like its best-scoring site
  var kids = cluster.getAllChildMarkers(), best = -2, colour = '#9e9e9e';
  for (var i = 0; i < kids.length; i++) {
    var p = kids[i].feature ? kids[i].feature.properties : null;
    if (p && p._s > best) { best = p._s; colour = p._c; }
  }
  var n = cluster.getChildCount(), size = n < 10 ? 28 : (n < 100 ? 34 : 42);
  return L.divIcon({html: '<div style="background-color:' + colour + '"><span>' + n + '</span></div>',
                    className: 'marker-cluster gis-cluster', iconSize: new L.Point(size, size)});
}
"""


def _popup_text(sites: gpd.GeoDataFrame) -> dict[str, pd.Series]:
    """Text columns rewritten for people: category names, 'cluster of N flares' grammar."""
    out: dict[str, pd.Series] = {}
    if "category" in sites.columns:
        out["category"] = sites["category"].map(CATEGORY_LABELS).fillna(sites["category"])
    if "owner_class" in sites.columns:
        out["owner_class"] = sites["owner_class"].map(OWNER_CLASS_LABELS).fillna(sites["owner_class"])
    if "name" in sites.columns:
        out["name"] = sites["name"].astype(str).str.replace(r"\(1 flares\)", "(1 flare)", regex=True)
    if "ledger" in sites.columns:
        out["ledger"] = sites["ledger"].map(LEDGER_LABELS).fillna(sites["ledger"])
    if "in_fleet" in sites.columns:
        fleet = sites["in_fleet"].astype("boolean")
        out["in_fleet"] = fleet.map({True: "yes", False: "no"}).astype(object).where(fleet.notna(), "")
    return out


def add_site_layers(fmap: folium.Map, sites: gpd.GeoDataFrame, preset: MapPreset, *, decimals: int) -> int:
    """One toggleable layer per category (clustered when dense) plus excluded sites; returns sites drawn."""
    style = preset.sites
    fields, criteria_cols, columns = _site_columns(sites)
    excluded = (
        sites["excluded"].to_numpy(dtype=bool) if "excluded" in sites.columns else np.zeros(len(sites), bool)
    )
    radius = _site_radius(sites[style.size_by], min_px=style.min_radius_px, max_px=style.max_radius_px)
    colours = colour_values(sites["score"], style.ramp, vmin=0.0, vmax=1.0)
    colours[excluded] = style.excluded_colour
    props = display_frame(sites.assign(**_popup_text(sites)), columns)
    props["_r"] = radius
    props["_c"] = colours
    props["_s"] = np.where(excluded, -1.0, sites["score"].to_numpy(dtype=float).round(4))
    props["_o"] = (
        sites["offgrid"].fillna(False).astype(bool).to_numpy() if "offgrid" in sites.columns else False
    )
    reasons = (
        sites["exclusion_reason"] if "exclusion_reason" in sites.columns else pd.Series("", index=sites.index)
    )
    props["_x"] = np.where(
        excluded,
        display_frame(sites.assign(_x=reasons.replace("", "excluded by the scenario")), ["_x"])["_x"],
        None,
    )
    props, fields = _short_keys(props, fields)
    criteria = _criteria_keys(criteria_cols, columns)
    geometry = display_geometry(sites, simplify_m=0.0, decimals=decimals)
    on_each = _site_on_each(fields, criteria)
    drawn = 0
    groups = [(CATEGORY_LABELS[c], (sites["category"] == c).to_numpy() & ~excluded, True) for c in CATEGORIES]
    if style.show_excluded:
        groups.append(("Excluded sites", excluded, False))
    for label, mask, show in groups:
        n = int(mask.sum())
        if n == 0:
            continue
        group = folium.FeatureGroup(name=html.escape(f"Sites: {label} ({n:,})"), show=show).add_to(fmap)
        parent = group
        if n > style.cluster_above:
            parent = plugins.MarkerCluster(
                control=False,
                options={"maxClusterRadius": 40, "showCoverageOnHover": False},
                icon_create_function=_CLUSTER_ICON,
            ).add_to(group)
        _GeoJson(
            None,
            json_text=_collection_text(props.loc[mask], geometry.loc[mask]),
            marker=folium.CircleMarker(radius=style.min_radius_px),
            on_each_feature=on_each,
            control=False,
        ).add_to(parent)
        drawn += n
    return drawn


def add_choropleth(
    fmap: folium.Map, states: gpd.GeoDataFrame, by_state: Mapping[str, Mapping], preset: MapPreset
) -> tuple[float, float]:
    """State choropleth of ``preset.choropleth.metric``; returns the colour scale's (min, max)."""
    spec = preset.choropleth
    metric = spec.metric
    values = pd.Series({k: v.get(metric) for k, v in by_state.items()}, dtype="float64")
    frame = states.assign(_v=states["state"].map(values).astype("float64"))
    vmax = float(np.nanmax(frame["_v"])) if frame["_v"].notna().any() else 1.0
    props = display_frame(frame, ["name", "_v"])
    props["_c"] = colour_values(frame["_v"], spec.ramp, vmin=0.0, vmax=vmax, missing="#ffffff")
    geometry = display_geometry(frame, simplify_m=1000.0, decimals=preset.coordinate_decimals)
    label = f"State {_METRIC_LABELS[metric]}"
    group = folium.FeatureGroup(name=html.escape(label), show=spec.show).add_to(fmap)
    style = {"weight": 0.5, "opacity": 0.6, "fillOpacity": spec.opacity, "fill": True}
    _GeoJson(
        _feature_collection(props, geometry),
        on_each_feature=_source_on_each(style, [("name", "state"), ("_v", _METRIC_LABELS[metric])]),
        control=False,
    ).add_to(group)
    return 0.0, vmax


def add_offline_basemap(
    fmap: folium.Map,
    states: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame | None] | None,
    preset: MapPreset,
    *,
    layers_key: str | None = None,
) -> folium.FeatureGroup:
    """States as a vector basemap (no tiles, no network); ``states``: the layer, or a function
    giving it. Its GeoJSON text is kept like a source layer's (:func:`offline_basemap_text`)."""
    basemap = preset.basemap
    text = offline_basemap_text(states, preset, layers_key=layers_key)
    group = folium.FeatureGroup(name="Basemap: states (offline)", overlay=False, control=True)
    group.add_to(fmap)
    style = {
        "weight": 0.6,
        "opacity": 1.0,
        "fillColor": basemap.offline_fill,
        "fillOpacity": 1.0,
        "fill": True,
    }
    on_each = JsCode(
        f"function (feature, layer) {{ var s = {json.dumps(style)}; s.color = feature.properties._c;"
        " layer.setStyle(s); }"
    )
    _GeoJson(None, json_text=text, on_each_feature=on_each, control=False).add_to(group)
    css = f"<style>.folium-map.leaflet-container {{ background: {basemap.offline_background}; }}</style>"
    _root(fmap).header.add_child(folium.Element(css), name="gis_offline_background")
    return group


def offline_basemap_text(
    states: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame | None] | None,
    preset: MapPreset,
    *,
    layers_key: str | None = None,
) -> str:
    """The GeoJSON text of the offline basemap: the states simplified 1 km in EPSG:5070, rounded to
    the preset's decimals in EPSG:4326, each carrying the preset's line colour (``_c``).

    Kept with the drawn source layers (``$GIS_CACHE_DIR/map_layers``,
    :func:`gis.outputs.keep.kept_bytes`) by the states' geometry and CRS, or by ``layers_key`` when
    given (what names the layers' content), with the colour, the decimals and the code
    (:func:`_code_key`): a new process after a weight change neither simplifies the states again
    nor, when ``states`` is a function and ``layers_key`` is given, reads them.

    Raises
    ------
    GisError
        when the states are needed and missing or empty.
    """
    decimals = preset.coordinate_decimals
    line = preset.basemap.offline_line

    def frame() -> gpd.GeoDataFrame:
        rows = states() if callable(states) else states
        if rows is None or len(rows) == 0:
            raise GisError(
                "an offline map needs the states layer as its basemap",
                field="states",
                fix="rebuild layers.gpkg with `gis build` (the states layer comes from the Census boundaries)",
            )
        return rows

    def make() -> bytes:
        rows = frame()
        geometry = display_geometry(rows, simplify_m=1000.0, decimals=decimals)
        props = pd.DataFrame({"_c": line}, index=rows.index)
        return _geojson_text(_feature_collection(props, geometry)).encode("utf-8")

    if layers_key is None or states is None:  # no states: the error, whatever is kept
        rows = frame()
        content = [geometry_digest(rows.geometry.values).hex(), str(rows.crs)]
    else:
        content = ["by layers key", layers_key]
    head = json.dumps(["offline basemap", *content, line, decimals])
    key = hashlib.blake2b(_code_key() + head.encode(), digest_size=20).hexdigest()
    return kept_bytes("map_layers", key, make, suffix=".json", files=LAYER_CACHE_FILES).decode("utf-8")


# ----------------------------------------------------------------------------- boxes and legends


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{float(value):,.{digits}f}"


def _band(bands: Mapping, metric: str, digits: int) -> str:
    band = bands.get(metric) or {}
    if band.get("p10") is None or band.get("p90") is None:
        return ""
    return f" <span class='gis-band'>(p10–p90 {_fmt(band['p10'], digits)}–{_fmt(band['p90'], digits)})</span>"


def title_box(preset: MapPreset, estimates: Mapping) -> str:
    """HTML of the title box: wasted energy found (GW, a potential), the economic fleet's installed
    GW and BTC a year with their p10–p90 bands, its sites, and the finding when it is empty."""
    national = estimates.get("national", {})
    bands = estimates.get("bands", {})
    scenario = html.escape(str(estimates.get("scenario", "")))
    uncertainty = estimates.get("uncertainty", {}) or {}
    n_fleet = national.get("sites_in_fleet", national.get("sites"))
    installed = national.get("installed_gw", national.get("mineable_gw"))
    rows = [
        (
            "Wasted energy found",
            f"{_fmt(national.get('wasted_energy_potential_gw'), 2)} GW average (a potential)",
        ),
        ("Fleet installed", f"{_fmt(installed, 2)} GW" + _band(bands, "installed_gw", 2)),
        (
            "Bitcoin mined",
            f"{_fmt(national.get('btc_per_year'), 0)} BTC a year" + _band(bands, "btc_per_year", 0),
        ),
        ("Sites in the fleet", f"{int(n_fleet or 0):,}"),
    ]
    if not n_fleet and uncertainty.get("share_with_a_fleet") is not None:
        rows.append(
            (
                "Finding",
                "no fleet pays back its machines at the central inputs; "
                f"{_fmt(100 * uncertainty['share_with_a_fleet'], 0)} % of draws build one",
            )
        )
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return (
        "<details class='gis-box gis-title' open>"
        f"<summary><b>{html.escape(preset.title)}</b></summary>"
        f"<div class='gis-sub'>scenario <b>{scenario}</b></div><table>{body}</table></details>"
    )


def _gradient(ramp: list[str]) -> str:
    return f"background: linear-gradient(to right, {', '.join(ramp)});"


def legend_box(preset: MapPreset, *, choropleth_max: float | None, layers_drawn: list[SourceLayer]) -> str:
    """HTML of the legend: site score ramp and size, choropleth ramp, source-layer colours."""
    parts = [
        "<div class='gis-legend-item'><b>Site score</b>"
        f"<div class='gis-ramp' style='{_gradient(preset.sites.ramp)}'></div>"
        "<div class='gis-ramp-labels'><span>0</span><span>0.5</span><span>1</span></div>"
        f"<div>circle area ∝ {html.escape(title(preset.sites.size_by).lower())}"
        f" ({html.escape(column_unit(preset.sites.size_by))}); grey: excluded (layer off by default); "
        "numbered circles: clusters of sites, coloured by their best site</div></div>"
    ]
    if choropleth_max is not None:
        metric = _METRIC_LABELS[preset.choropleth.metric]
        parts.append(
            f"<div class='gis-legend-item'><b>State {html.escape(metric)}</b>"
            f"<div class='gis-ramp' style='{_gradient(preset.choropleth.ramp)}'></div>"
            f"<div class='gis-ramp-labels'><span>0</span><span>{_fmt(choropleth_max, 2)}</span></div></div>"
        )
    for spec in layers_drawn:
        if spec.colour_by and spec.breaks:
            swatches = "".join(
                f"<div><i style='background:{c}'></i>{html.escape(e)}</div>"
                for c, e in zip(spec.ramp, class_labels(spec.breaks, spec.legend_unit), strict=True)
            )
            parts.append(f"<div class='gis-legend-item'><b>{html.escape(spec.label)}</b>{swatches}</div>")
        elif spec.colour_by:
            parts.append(
                f"<div class='gis-legend-item'><b>{html.escape(spec.label)}</b>"
                f"<div class='gis-ramp' style='{_gradient(spec.ramp)}'></div></div>"
            )
        else:
            parts.append(
                f"<div class='gis-legend-item'><i style='background:{spec.colour}'></i>"
                f"{html.escape(spec.label)}</div>"
            )
    return (
        f"<details class='gis-box gis-legend' open><summary><b>Legend</b></summary>{''.join(parts)}</details>"
    )


_CSS = """
<style>
.gis-box { position: fixed; z-index: 650; background: rgba(255,255,255,0.93); padding: 6px 10px;
  border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,0.35); font: 12px/1.35 sans-serif; }
.gis-box summary { cursor: pointer; font-size: 13px; }
.gis-box.gis-hidden, .leaflet-control.gis-hidden { visibility: hidden; }
/* title over the Atlantic, legend over the Pacific / Mexico: clear of the top sites at 1400x900 */
.gis-title { bottom: 24px; right: 10px; max-width: 300px; }
.gis-title[open] summary { font-size: 14px; }
.gis-title th { text-align: left; padding-right: 8px; font-weight: 600; }
.gis-sub, .gis-band { color: #555; }
.gis-legend { bottom: 56px; left: 10px; max-width: 240px; max-height: 38vh; overflow-y: auto; }
.gis-popup .gis-why { color: #666; font-size: 11px; }
.gis-popup td.gis-num { white-space: nowrap; }
.gis-popup .gis-excluded { color: #8b0000; margin: 2px 0 6px 0; }
.gis-fallback { position: fixed; z-index: 2000; top: 30%; left: 50%; transform: translateX(-50%);
  max-width: 520px; background: #fff; padding: 16px 20px; border: 1px solid #999; border-radius: 6px;
  font: 15px/1.45 sans-serif; display: none; }
.gis-legend-item { margin-bottom: 6px; }
.gis-legend i { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: middle; }
.gis-cluster { background-color: rgba(60, 60, 60, 0.25); }
.gis-cluster div { color: #111; font-weight: 600; opacity: 0.9; }
.gis-ramp { height: 10px; width: 200px; margin-top: 2px; }
.gis-ramp-labels { display: flex; justify-content: space-between; width: 200px; color: #555; }
.gis-popup { font: 12px/1.3 sans-serif; }
.gis-popup table { border-collapse: collapse; }
.gis-popup th, .gis-popup td { padding: 1px 6px 1px 0; font-size: 12px; }
.gis-popup h4 { margin: 0 0 4px 0; font-size: 14px; }
.gis-popup h5 { margin: 6px 0 2px 0; font-size: 12px; }
.gis-popup th, .gis-tip th { text-align: left; padding-right: 8px; font-weight: 600; vertical-align: top; }
.gis-popup td { word-break: break-word; }
</style>
"""


# ----------------------------------------------------------------------------- the map

_PANELS_JS = """
<script>
// Panels never cover an open popup: a panel (title, legend, a map control) that overlaps the
// popup is hidden while the popup is open. Leaflet's popup pane lives inside the map pane, so no
// z-index can lift it above page-level panels.
window.addEventListener('load', function () {
  if (typeof L === 'undefined') { return; }
  var map = null;
  for (var k in window) {
    try { if (window[k] instanceof L.Map) { map = window[k]; break; } } catch (e) {}
  }
  if (!map) { return; }
  function overlap(a, b) {
    return !(a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top);
  }
  function panels() {
    return document.querySelectorAll('.gis-box, .leaflet-control-container .leaflet-control');
  }
  function reveal() { panels().forEach(function (el) { el.classList.remove('gis-hidden'); }); }
  function hideOver(popup) {
    reveal();
    var el = popup.getElement ? popup.getElement() : null;
    if (!el) { return; }
    var r = el.getBoundingClientRect();
    panels().forEach(function (p) { if (overlap(r, p.getBoundingClientRect())) { p.classList.add('gis-hidden'); } });
  }
  map.on('popupopen', function (e) { hideOver(e.popup); setTimeout(function () { hideOver(e.popup); }, 300); });
  map.on('moveend', function () { if (map._popup && map.hasLayer(map._popup)) { hideOver(map._popup); } });
  map.on('popupclose', reveal);
  // on a short screen the legend starts folded (one click opens it): it would cover the South-West
  if (window.innerHeight < 1000 || window.innerWidth < 1000) {
    document.querySelectorAll('.gis-legend').forEach(function (d) { d.removeAttribute('open'); });
  }
});
</script>
"""

_FALLBACK_HTML = """
<div class="gis-fallback" id="gis-fallback">
  <b>The map library could not load</b> (no network, or its web address is blocked).
  Open <a href="map_offline.html">map_offline.html</a>, written beside this file: it needs no network.
</div>
<script>
window.addEventListener('load', function () {
  if (typeof L === 'undefined') { document.getElementById('gis-fallback').style.display = 'block'; }
});
</script>
"""


def build_map(
    *,
    layers: Mapping[str, pd.DataFrame],
    sites: gpd.GeoDataFrame,
    estimates: Mapping,
    preset: MapPreset,
    offline: bool | None,
    layers_key: str | None = None,
) -> folium.Map:
    """Build the folium map of candidate sites over their source layers.

    Parameters
    ----------
    layers
        canonical source layers by name (EPSG:4326); layers a preset names but ``layers`` lacks
        are left out (the caller reports them).
    sites
        ``candidate_sites`` (EPSG:4326 points), columns per the scoring contract.
    estimates
        the ``estimates.json`` payload (national figures, bands, ``by_state``).
    preset
        which layers to draw and how (:class:`~gis.outputs.presets.MapPreset`).
    offline
        True: draw the states as a vector basemap instead of web tiles (assets are inlined at
        write); False: web tiles; None: both, so one map serves :func:`write_map` online and offline.
    layers_key
        what names the content of ``layers``, to find their drawings by (:func:`layer_drawing`).

    Returns
    -------
    folium.Map
        to render with :func:`render_map_html` / :func:`write_map` only: its GeoJSON layers carry
        their data as text put in after rendering (folium's own ``save`` would leave it out).
    """
    fmap = folium.Map(
        location=[preset.center_lat, preset.center_lon],
        zoom_start=preset.zoom,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
    )
    # marker clusters need the map's zoom range, which folium only sets through a tile layer
    fmap.options.update(max_zoom=MAX_ZOOM, min_zoom=MIN_ZOOM)
    root = _root(fmap)
    variants = _add_basemaps(
        fmap, root, _reader(layers, "states"), preset, offline=offline, layers_key=layers_key
    )
    vars(fmap)["_gis_variants"] = variants  # read back by _variant when rendering
    choropleth_max = None
    if "states" in layers and estimates.get("by_state") and len(states := layers["states"]):
        _, choropleth_max = add_choropleth(fmap, states, estimates["by_state"], preset)
    drawn_specs = _add_source_layers(fmap, layers, preset, layers_key=layers_key)
    add_site_layers(fmap, sites, preset, decimals=preset.coordinate_decimals)
    _add_controls_and_panels(fmap, root, preset, estimates, choropleth_max, drawn_specs)
    return fmap


def _add_source_layers(
    fmap: folium.Map, layers: Mapping[str, pd.DataFrame], preset: MapPreset, *, layers_key: str | None
) -> list[SourceLayer]:
    """Draw the preset's source layers that ``layers`` holds, in its order; their entries."""
    drawn = []
    for spec in preset.layers:
        load = _reader(layers, spec.layer)
        if load is None:
            continue
        add_source_layer(fmap, load, spec, decimals=preset.coordinate_decimals, layers_key=layers_key)
        drawn.append(spec)
    return drawn


def _reader(layers: Mapping[str, pd.DataFrame], name: str) -> Callable[[], gpd.GeoDataFrame] | None:
    """A function giving ``layers[name]`` (None when absent): a layer whose drawing is kept is
    not read (``layers`` may read each frame from disk on first use, :class:`gis.io.LazyFrames`)."""
    if name not in layers:
        return None
    return lambda: cast("gpd.GeoDataFrame", layers[name])


def render_map_html(fmap: folium.Map, *, offline: bool) -> str:
    """The map's whole HTML page; offline: every asset inlined, no network reference left."""
    for element in _walk(fmap):
        if offline and isinstance(element, folium.Icon):
            raise GisError(
                "an offline map cannot draw icon markers (their icon fonts are not vendored)",
                field="offline",
                fix="draw sites and points as circle markers",
            )
    with _variant(fmap, offline=offline):
        page = fmap.get_root().render()
        data = {e.get_name(): e.json_text for e in _walk(fmap) if isinstance(e, _GeoJson)}
    if offline:  # before the data goes in: the page is small then, and the data holds no tags
        page = inline_assets(page, collect_assets(fmap.get_root()))
    parts = _DATA_RE.split(page)  # text, name, text, name, ..., text
    if sorted(parts[1::2]) != sorted(data):
        raise GisError(  # a layer's data would be missing or doubled
            f"the map page has {len(parts) // 2} GeoJSON placeholders for {len(data)} layers",
            field="folium",
            fix="install the folium version pyproject.toml names",
        )
    parts[1::2] = [data[name] for name in parts[1::2]]
    return "".join(parts)


@contextlib.contextmanager
def _variant(fmap: folium.Map, *, offline: bool):
    """Leave out, while rendering, the elements that belong only to the other kind of map."""
    variants = getattr(fmap, "_gis_variants", {True: [], False: []})
    if not variants[offline]:
        raise GisError(
            f"this map was built {'online' if offline else 'offline'} only",
            field="offline",
            fix="build the map with offline=None to write both kinds",
        )
    # rendering adds each element's script and header parts to the page: restore them after,
    # or the next render would keep the other map's parts
    root = _root(fmap)
    parents = {id(e): e for e in (root, root.header, root.html, root.script, fmap)}
    parents.update({id(parent): parent for parent, _ in variants[not offline]})
    saved = [(parent, dict(parent._children)) for parent in parents.values()]
    for parent, name in variants[not offline]:
        parent._children.pop(name, None)
    try:
        yield
    finally:
        for parent, children in saved:
            parent._children.clear()
            parent._children.update(children)


def _walk(element):
    yield element
    for child in element._children.values():
        yield from _walk(child)


def write_map(fmap: folium.Map, target: str | Path, *, offline: bool) -> Path:
    """Render ``fmap`` and write it to ``target`` atomically; keep the templates compiled for
    it (:func:`gis.outputs.compiled.save`)."""
    path = write_text(target, render_map_html(fmap, offline=offline))
    compiled.save()
    return path


def _site_columns(sites: gpd.GeoDataFrame) -> tuple[list[tuple[str, str, str, str]], list[str], list[str]]:
    """Which columns of the sites the popups show.

    Parameters
    ----------
    sites
        ``candidate_sites`` (EPSG:4326 points).

    Returns
    -------
    (list, list of str, list of str)
        the popup fields ``(column, title, unit, "share" or "")``, the sub-score columns
        ``s_<criterion>`` (0..1), and every column the popups read, without repeats, in order.
    """
    fields = [
        (c, title(c), "of 1" if c == "score" else column_unit(c), "share" if c in _SHARES else "")
        for c in SITE_POPUP_COLUMNS
        if c in sites.columns and c != "exclusion_reason"
    ]
    criteria_cols = [c for c in sites.columns if c.startswith("s_")]
    measure_cols = [
        CRITERION_TITLES[c.removeprefix("s_")][1]
        for c in criteria_cols
        if c.removeprefix("s_") in CRITERION_TITLES
    ]
    columns = list(
        dict.fromkeys(
            ["site_id", "name"]
            + [f[0] for f in fields]
            + criteria_cols
            + [m for m in measure_cols if m and m in sites.columns]
        )
    )
    return fields, criteria_cols, columns


def _criteria_keys(criteria_cols: list[str], columns: list[str]) -> list[list]:
    """The popup's criteria rows: ``[sub-score key, label, measure key or "", grid flag]``.

    Parameters
    ----------
    criteria_cols
        the sub-score columns ``s_<criterion>`` (0..1).
    columns
        the popup's columns; column ``i`` is shortened to key ``p<i>``.

    Returns
    -------
    list of list
        one row per sub-score column, labels HTML-escaped.
    """
    criteria = []
    for c in criteria_cols:
        label, measure, grid = CRITERION_TITLES.get(c.removeprefix("s_"), (title(c), "", False))
        measure_key = f"p{columns.index(measure)}" if measure in columns else ""
        criteria.append([f"p{columns.index(c)}", html.escape(label), measure_key, grid])
    return criteria


def _add_basemaps(
    fmap: folium.Map,
    root: Figure,
    states: Callable[[], gpd.GeoDataFrame] | None,
    preset: MapPreset,
    *,
    offline: bool | None,
    layers_key: str | None = None,
) -> dict[bool, list[tuple[object, str]]]:
    """Add the offline (states, EPSG:4326) and/or web-tile basemaps, as :func:`build_map` asks.

    Parameters
    ----------
    fmap, root
        the map and its root figure.
    states
        a function giving the states layer (needed offline; read only when its drawing is not
        kept), or None when there is none.
    preset
        the map preset (basemap tiles and colours).
    offline
        True: states only; False: tiles only; None: both.
    layers_key
        what names the layers' content (:func:`offline_basemap_text`).

    Returns
    -------
    dict
        per variant (True offline, False online) the ``(parent, child name)`` elements only it keeps.

    Raises
    ------
    GisError
        when an offline basemap is asked for and ``states`` is missing or empty.
    """
    variants: dict[bool, list[tuple[object, str]]] = {True: [], False: []}
    if offline is None or offline:
        group = add_offline_basemap(fmap, states, preset, layers_key=layers_key)
        variants[True] += [(fmap, group.get_name()), (root.header, "gis_offline_background")]
    if offline is None or not offline:
        tiles = folium.TileLayer(
            preset.basemap.tiles, max_zoom=MAX_ZOOM, name=html.escape(f"Basemap: {preset.basemap.tiles}")
        ).add_to(fmap)
        root.html.add_child(folium.Element(_FALLBACK_HTML), name="gis_fallback")
        variants[False] += [(fmap, tiles.get_name()), (root.html, "gis_fallback")]
    return variants


def _add_controls_and_panels(
    fmap: folium.Map,
    root: Figure,
    preset: MapPreset,
    estimates: Mapping,
    choropleth_max: float | None,
    drawn_specs: list,
) -> None:
    """Add the full-screen button, the layer control, the bounds, the CSS, the title and the legend.

    Parameters
    ----------
    fmap, root
        the map and its root figure.
    preset
        the map preset (``fit_bounds`` in EPSG:4326 degrees west, south, east, north).
    estimates
        the ``estimates.json`` payload (the title box's figures).
    choropleth_max
        the top of the states' colour scale (GW), None without a choropleth.
    drawn_specs
        the preset's source layers actually drawn (the legend lists them).
    """
    plugins.Fullscreen(position="topright").add_to(fmap)
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    if preset.fit_bounds is not None:
        west, south, east, north = preset.fit_bounds
        fmap.fit_bounds([[south, west], [north, east]])
    root.header.add_child(folium.Element(_CSS), name="gis_css")
    root.html.add_child(folium.Element(_PANELS_JS), name="gis_panels_js")
    root.html.add_child(folium.Element(title_box(preset, estimates)), name="gis_title")
    root.html.add_child(
        folium.Element(legend_box(preset, choropleth_max=choropleth_max, layers_drawn=drawn_specs)),
        name="gis_legend",
    )
