"""Outputs users open: the folium map (online and offline), the styled GeoPackage, the ranked
spreadsheet and the static report.

Modules::

    presets  map presets (maps/*.toml), validated
    map      the folium map: source layers, sites by category, state choropleth, legends
    assets   offline maps: vendored JS/CSS inlined (gis/outputs/vendor)
    gpkg     sites.gpkg for analysts: summaries, source layers, QGIS styles, provenance
    styles   QGIS QML styles and the layer_styles table
    tables   sites_ranked.xlsx
    charts   report charts (matplotlib PNG, drawn at the width the report shows them)
    report   report.html from jinja2 templates (templates/report.html.j2, templates/sections/*)
    labels   words and units of columns, categories and owner classes
    inputs   reading layers.gpkg, sites.gpkg and estimates.json from OUT
    keep     text derived from rarely changing data, kept by its hash ($GIS_CACHE_DIR)
    compiled folium's and branca's templates compiled once per machine ($GIS_CACHE_DIR)
    api      the commands behind `gis map`, `gis report` and `gis run`
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gis import lazy_exports

if TYPE_CHECKING:
    from gis.outputs.api import map_command, outputs_command, report_command
    from gis.outputs.map import build_map, render_map_html, write_map
    from gis.outputs.presets import MapPreset, load_preset

_WHERE = {
    "MapPreset": "presets",
    "build_map": "map",
    "load_preset": "presets",
    "map_command": "api",
    "outputs_command": "api",
    "render_map_html": "map",
    "report_command": "api",
    "write_map": "map",
}
"""The module of each name this package exports, imported at first use (PEP 562): a command that
needs one module of the package (``gis compare`` the explorer) does not import the rest (folium,
XlsxWriter, jinja2, GDAL writers)."""


__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = [
    "MapPreset",
    "build_map",
    "load_preset",
    "map_command",
    "outputs_command",
    "render_map_html",
    "report_command",
    "write_map",
]
