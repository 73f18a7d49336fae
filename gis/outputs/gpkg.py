"""The analyst GeoPackage (``sites.gpkg``): candidate sites, state and category summaries, the source
layers drawn on the map, QGIS styles for each, and provenance in the GeoPackage metadata.

Layers are EPSG:4326; summaries carry units in their column names. The file is rebuilt in a
temporary file (layers, then ``layer_styles``) and renamed over the old one in one step.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis import STORAGE_CRS, __version__
from gis.config.vocabulary import CATEGORIES
from gis.io import FrameSubset, add_gpkg_layers, atomic_path, frame_columns
from gis.outputs.columns import SUMMARY_COLUMNS
from gis.outputs.labels import CATEGORY_LABELS, OWNER_CLASS_LABELS, column_unit, title
from gis.outputs.presets import MapPreset, SourceLayer
from gis.outputs.styles import Style, classes, write_layer_styles
from gis.schema import LAYER_SCHEMAS, column_spec

__all__ = [
    "LAYER_TITLES",
    "SUMMARY_COLUMNS",
    "category_summary",
    "layer_styles_for",
    "provenance",
    "state_summary",
    "write_data_columns",
    "write_sites_gpkg",
]

OWNER_CLASS_COLOURS = {
    "federal_tva": "#e31a1c",
    "federal_usace": "#1f78b4",
    "federal_usbr": "#33a02c",
    "federal_other": "#6a3d9a",
    "military": "#525252",
    "public_other": "#ff7f00",
    "private": "#bdbdbd",
}
"""QGIS colour of each plant owner class (ColorBrewer Paired/Set1 hues; private plants pale)."""

EXCLUDED_COLOUR = "#9e9e9e"

LAYER_TITLES = {
    "candidate_sites": (
        "Candidate mining sites",
        "Candidate Bitcoin mining sites, one per asset or cluster, best first: mineable MW, 0..1 score "
        "with its sub-scores, rank; excluded sites (score 0) carry the reason.",
    ),
    "state_summary": (
        "Summary by state",
        "Per state: candidate sites, mineable GW, hashrate EH/s, BTC a year and CO2 Mt a year of the "
        "national fleet (estimates.json by_state).",
    ),
    "category_summary": (
        "Summary by category",
        "Per candidate category: sites, mineable GW, hashrate EH/s, BTC a year and CO2 Mt a year of the "
        "national fleet (estimates.json by_category).",
    ),
}
"""Title and description (gpkg_contents) of the layers this stage makes; source layers take theirs
from the column registry."""


def _summary_frame(groups: Mapping[str, Mapping], key: str) -> pd.DataFrame:
    rows = [{key: k, **{c: (v or {}).get(c) for c in SUMMARY_COLUMNS}} for k, v in sorted(groups.items())]
    frame = pd.DataFrame(rows, columns=[key, *SUMMARY_COLUMNS])
    frame["sites"] = pd.to_numeric(frame["sites"], errors="coerce").fillna(0).astype("int64")
    for col in SUMMARY_COLUMNS[1:]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


def state_summary(by_state: Mapping[str, Mapping], states: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """One row per state with sites, GW, EH/s, BTC a year, CO2; state polygons when available.

    Columns: :data:`gis.outputs.columns.STATE_SUMMARY`; geometry EPSG:4326 when ``states`` is given.

    Examples
    --------
    >>> state_summary({"TX": {"sites": 3, "mineable_gw": 0.5}}, None)[["state", "sites", "mineable_gw"]].values.tolist()
    [['TX', 3, 0.5]]
    """
    frame = _summary_frame(by_state, "state")
    if states is None or states.empty:
        return frame
    shapes = states[["state", "name", "geometry"]]
    merged = shapes.merge(frame, on="state", how="left")
    # a state without a row has no site in the fleet: its figures are 0, not unknown
    merged["sites"] = merged["sites"].fillna(0).astype("int64")
    absent = ~merged["state"].isin(frame["state"])
    for col in SUMMARY_COLUMNS[1:]:
        merged.loc[absent, col] = 0.0
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=STORAGE_CRS)


def category_summary(by_category: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per candidate category (a plain table); every category of the schema is listed,
    0 where the fleet has no site of it (an empty fleet gives a table of zeros, not no table).

    Columns: :data:`gis.outputs.columns.CATEGORY_SUMMARY` (GW, TWh/yr, EH/s, BTC/yr, Mt CO2/yr, USD).

    Examples
    --------
    >>> table = category_summary({"flare_gas": {"sites": 2, "mineable_gw": 0.02, "btc_per_year": 50.0}})
    >>> len(table), table.loc[table.category == "flare_gas", ["label", "sites", "btc_per_year"]].values.tolist()
    (7, [['Flare gas', 2, 50.0]])
    """
    groups: dict[str, Mapping] = {c: {c2: 0 for c2 in SUMMARY_COLUMNS} for c in CATEGORIES}
    groups.update(by_category)
    frame = _summary_frame(groups, "category")
    frame.insert(1, "label", frame["category"].map(CATEGORY_LABELS).fillna(frame["category"]))
    return frame


def layer_styles_for(preset: MapPreset, *, state_max_gw: float) -> dict[str, Style]:
    """A QGIS style per layer, following the map preset's colours.

    Sites are graduated by score, excluded sites in their own grey class (the renderer reads
    ``-1`` for them); states by mineable GW up to ``state_max_gw`` (GW) included; plants by
    owner class.
    """
    score_breaks, score_colours = classes(preset.sites.ramp, 0.0, 1.0)
    gw_breaks, gw_colours = classes(preset.choropleth.ramp, 0.0, max(state_max_gw, 1e-6))
    styles = {
        "candidate_sites": Style(
            "marker",
            column='if("excluded", -1, "score")',
            breaks=score_breaks,
            colours=score_colours,
            extra=((-1.0, -0.5, "excluded (not counted)", EXCLUDED_COLOUR),),
            labels=tuple(f"score {a:.1f} – {b:.1f}" for a, b in itertools.pairwise(score_breaks)),
            size=2.6,
            description="candidate sites coloured by score (0..1); excluded sites grey",
        ),
        "plants": Style(
            "marker",
            column="owner_class",
            colour="#d9d9d9",
            categories=tuple((k, OWNER_CLASS_LABELS[k], c) for k, c in OWNER_CLASS_COLOURS.items()),
            size=1.6,
            description="power plants coloured by owner class",
        ),
        "state_summary": Style(
            "fill",
            column="mineable_gw",
            breaks=gw_breaks,
            colours=gw_colours,
            labels=tuple(f"{a:.2f} – {b:.2f} GW" for a, b in itertools.pairwise(gw_breaks)),
            size=0.2,
            description="states coloured by mineable GW",
        ),
    }
    for spec in preset.layers:
        if spec.layer not in styles:
            styles[spec.layer] = _preset_layer_style(spec)
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


_DATA_COLUMNS_DDL = (
    "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,"
    " name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT,"
    " CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),"
    " CONSTRAINT gdc_tn UNIQUE (table_name, name))",
    "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL,"
    " constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC,"
    " max_is_inclusive BOOLEAN, description TEXT,"
    " CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))",
)
_SCHEMA_EXTENSION = "http://www.geopackage.org/spec120/#extension_schema"


def _column_description(layer: str, column: str) -> str:
    col = column_spec(column, layer)
    if col is not None:
        return col.description
    if column.startswith("s_"):
        return (
            f"sub-score of the {column.removeprefix('s_').replace('_', ' ')} criterion, 0 (worst) to 1 (best)"
        )
    return ""


def write_data_columns(gpkg: Path, columns: Mapping[str, Sequence[str]]) -> int:
    """Fill ``gpkg_data_columns`` (GeoPackage schema extension) for the ``columns`` of each layer
    (a frame's ``columns``, or a list): a title with unit and a description per column from the
    column registry; ``gpkg_contents`` gets layer titles and descriptions. QGIS shows the titles as
    field aliases. Returns the number of columns described."""
    con = sqlite3.connect(gpkg)
    try:
        for ddl in _DATA_COLUMNS_DDL:
            con.execute(ddl)
        for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
            con.execute(
                "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)"
                " SELECT ?, NULL, 'gpkg_schema', ?, 'read-write' WHERE NOT EXISTS (SELECT 1 FROM"
                " gpkg_extensions WHERE table_name = ? AND extension_name = 'gpkg_schema')",
                (table, _SCHEMA_EXTENSION, table),
            )
        n = 0
        for layer, names in columns.items():
            for column in names:
                if column == "geometry":
                    continue
                label = _field_title(layer, column)
                description = _column_description(layer, column)
                con.execute(
                    "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, description)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (layer, column, f"{label} [{column}]", label, description),
                )
                n += 1
            ident, desc = LAYER_TITLES.get(layer, (None, None))
            if ident is None and layer in LAYER_SCHEMAS:
                ident, desc = title(layer).capitalize(), LAYER_SCHEMAS[layer].description
            if ident:
                con.execute(
                    "UPDATE gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
                    (ident, desc, layer),
                )
        con.commit()
    finally:
        con.close()
    return n


def _field_title(layer: str, column: str) -> str:
    unit = column_unit(column, layer=layer)
    name = title(column)
    return f"{name} ({unit})" if unit else name


def _aliases(columns: Sequence[str], layer: str) -> tuple[tuple[str, str], ...]:
    return tuple((c, _field_title(layer, c)) for c in columns if c != "geometry")


def _columns_metadata(columns: Sequence[str], layer: str) -> str:
    return json.dumps({c: column_unit(c, layer=layer) for c in columns if c != "geometry"})


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
    layers_key: str | None = None,
) -> Path:
    """Rewrite ``sites.gpkg`` atomically with sites, summaries, source layers, styles and provenance.

    The source layers do not change with the criteria weights: they are written once into a
    GeoPackage kept in ``$GIS_CACHE_DIR/sites_gpkg_sources`` (:func:`_source_layers_file`), which
    each new ``sites.gpkg`` starts from before the sites and summaries are added (then listed
    first again, as when written first). ``layers_key``: what names the source layers' content
    (the run's layers key, or the layers file's stamp); None: a hash of the frames. A source
    layer is read only to be written (:func:`gis.io.frame_columns` gives its columns)."""
    states = source_layers.get("states")
    by_state = estimates.get("by_state", {}) or {}
    own: dict[str, pd.DataFrame] = {
        "candidate_sites": sites,
        "state_summary": state_summary(by_state, states),
        "category_summary": category_summary(estimates.get("by_category", {}) or {}),
    }
    sources = FrameSubset(source_layers, [name for name in source_layers if name not in own])
    columns = {name: [str(c) for c in frame.columns] for name, frame in own.items()}
    columns |= {name: frame_columns(sources, name) for name in sources}
    layer_meta = {
        name: {
            "columns_units": _columns_metadata(names, name),
            "description": LAYER_TITLES[name][1]
            if name in LAYER_TITLES
            else (LAYER_SCHEMAS[name].description if name in LAYER_SCHEMAS else name),
        }
        for name, names in columns.items()
    }
    state_max = max((float((v or {}).get("mineable_gw") or 0.0) for v in by_state.values()), default=1.0)
    meta = provenance(
        estimates=estimates,
        layers_metadata=layers_metadata,
        sites_metadata=sites_metadata,
        scenario_path=scenario_path,
    )
    with atomic_path(target) as tmp:
        if sources:
            _source_layers_file(tmp, sources, {n: layer_meta[n] for n in sources}, layers_key)
        add_gpkg_layers(tmp, own, dataset_metadata=meta, layer_metadata=layer_meta)
        if sources:
            _list_first(tmp, list(own))
        styles = layer_styles_for(preset, state_max_gw=state_max)
        styles = {
            name: replace(style, aliases=_aliases(columns[name], name)) if name in columns else style
            for name, style in styles.items()
        }
        write_layer_styles(tmp, styles)
        write_data_columns(tmp, columns)
    return Path(target)


SOURCES_KEPT = 4
"""GeoPackages of source layers kept in ``$GIS_CACHE_DIR/sites_gpkg_sources`` (most recent first)."""


def _source_layers_file(
    path: Path,
    sources: Mapping[str, pd.DataFrame],
    metadata: Mapping[str, Mapping[str, str]],
    key: str | None,
) -> None:
    """Create the GeoPackage ``path`` holding the ``sources`` layers with their ``metadata``: a copy
    of the one kept for the same layers (:class:`gis.memo.Memo` in the ``sites_gpkg_sources``
    folder of the cache), or written and then kept. The entry's key hashes the layers' names and
    metadata, the GeoPackage version, the code (:func:`gis.memo.digest`) and ``key`` (what names
    the layers' content) or, without one, the frames themselves. A cache that cannot be written
    only means writing the layers each time."""
    import shutil

    from gis.io import GPKG_VERSION
    from gis.memo import Memo, digest
    from gis.outputs.keep import kept_folder

    content = [key] if key is not None else list(sources.values())
    entry_key = digest("sites_gpkg_sources", GPKG_VERSION, list(sources), dict(metadata), *content)
    memo = Memo("sites_gpkg_sources", kept_folder("sites_gpkg_sources").parent, keep=SOURCES_KEPT)
    entry = memo.load(entry_key)
    if entry is not None:
        try:
            shutil.copyfile(entry / "sources.gpkg", path)
            return
        except OSError:
            path.unlink(missing_ok=True)  # written below instead
    add_gpkg_layers(path, sources, layer_metadata=metadata)

    def fill(folder: Path) -> None:
        shutil.copyfile(path, folder / "sources.gpkg")

    memo.store(entry_key, fill)


def _list_first(gpkg: Path, names: list[str]) -> None:
    """List the layers ``names`` first in ``gpkg`` (GDAL and QGIS list a GeoPackage's layers in
    the order of ``gpkg_contents``' rows): the other rows are moved after them, in their order."""
    con = sqlite3.connect(gpkg)
    try:
        with con:
            last = con.execute("SELECT max(rowid) FROM gpkg_contents").fetchone()[0] or 0
            marks = ",".join("?" * len(names))
            con.execute(
                f"UPDATE gpkg_contents SET rowid = rowid + ? WHERE table_name NOT IN ({marks})",
                (int(last), *names),
            )
    finally:
        con.close()


def _preset_layer_style(spec: SourceLayer) -> Style:
    """The QGIS style of one source layer of the map preset.

    Parameters
    ----------
    spec
        the preset's entry for the layer (colour, and ``colour_by`` with ``breaks`` in
        ``legend_unit`` for a graduated style).

    Returns
    -------
    Style
        graduated on ``colour_by`` (unknown values in their own class) when the entry has breaks,
        else one colour.
    """
    geometry = LAYER_SCHEMAS[spec.layer].geometry or ()
    kind = "marker" if "Point" in geometry else ("line" if "LineString" in geometry else "fill")
    if spec.colour_by and spec.breaks:
        limits = (0.0, *spec.breaks, 1e9)
        unit = spec.legend_unit
        labels = [f"< {spec.breaks[0]:g} {unit}"]
        labels += [f"{a:g} – {b:g} {unit}" for a, b in itertools.pairwise(spec.breaks)]
        labels += [f"≥ {spec.breaks[-1]:g} {unit}"]
        return Style(
            kind,
            column=f'coalesce("{spec.colour_by}", -1)',  # unknown values drawn in their own class
            breaks=limits,
            colours=tuple(spec.ramp),
            labels=tuple(label.strip() for label in labels),
            extra=((-1.0, -0.5, "unknown", spec.colour),),
            size=0.4,
            description=spec.label,
        )
    return Style(
        kind,
        colour=spec.colour,
        size=1.6 if kind == "marker" else 0.3,
        fill=spec.fill_opacity > 0,
        description=spec.label,
    )
