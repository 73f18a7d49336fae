"""QGIS layer styles (QML) for the analyst GeoPackage, and the ``layer_styles`` table that holds them.

QGIS opens a GeoPackage layer with the style its ``layer_styles`` row marks ``useAsDefault``
(the convention QGIS itself uses when it saves a style into a GeoPackage). Colours follow the
map preset, so the GeoPackage and the HTML map agree.
"""

from __future__ import annotations

import math
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GPKG_DATETIME_NOW", "QGIS_VERSION", "Style", "classes", "qml", "write_layer_styles"]

QGIS_VERSION = "3.22.0"
"""QGIS version the QML declares: the oldest long-term release the styles are tested with."""

GPKG_DATETIME_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
"""SQL for "now" as a GeoPackage DATETIME (ISO 8601 UTC with ``T`` and ``Z``; SQLite's
CURRENT_TIMESTAMP is not one)."""

LAYER_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256),
  f_table_schema TEXT(256),
  f_table_name TEXT(256),
  f_geometry_column TEXT(256),
  styleName TEXT(30),
  styleQML TEXT,
  styleSLD TEXT,
  useAsDefault BOOLEAN,
  description TEXT,
  owner TEXT(30),
  ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""


@dataclass(frozen=True)
class Style:
    """How one layer is drawn: a geometry kind, and one colour, classes on a numeric column
    (graduated) or one colour per value of a text column (categorized).

    ``column`` may be a QGIS expression. ``labels`` overrides the class labels; ``extra`` adds
    (lower, upper, label, colour) classes before the graduated ones (e.g. excluded sites).
    ``categories`` holds (value, label, colour); ``colour`` draws any other value ("other").
    """

    kind: str  # "marker", "line" or "fill"
    colour: str = "#555555"
    column: str | None = None
    breaks: tuple[float, ...] = ()  # class limits, len(colours) + 1 values (first/last: min/max)
    colours: tuple[str, ...] = ()
    size: float = 2.0  # marker mm / line mm / outline mm
    fill: bool = True
    description: str = ""
    labels: tuple[str, ...] = ()
    extra: tuple[tuple[float, float, str, str], ...] = ()
    categories: tuple[tuple[str, str, str], ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()  # (field, title) shown by QGIS as field aliases


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _symbol(parent: ET.Element, name: str, style: Style, colour: str) -> None:
    symbol = ET.SubElement(
        parent,
        "symbol",
        {"type": style.kind, "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"},
    )
    cls = {"marker": "SimpleMarker", "line": "SimpleLine", "fill": "SimpleFill"}[style.kind]
    layer = ET.SubElement(symbol, "layer", {"class": cls, "enabled": "1", "pass": "0", "locked": "0"})
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    if style.kind == "marker":
        values = {
            "name": "circle",
            "color": _rgba(colour),
            "outline_color": "35,35,35,255",
            "outline_width": "0.2",
            "size": f"{style.size:g}",
            "size_unit": "MM",
        }
    elif style.kind == "line":
        values = {
            "line_color": _rgba(colour),
            "line_width": f"{style.size:g}",
            "line_width_unit": "MM",
            "line_style": "solid",
            "capstyle": "round",
            "joinstyle": "round",
        }
    else:
        values = {
            "color": _rgba(colour, 170),
            "style": "solid" if style.fill else "no",
            "outline_color": "80,80,80,255",
            "outline_width": f"{style.size:g}",
            "outline_style": "solid",
        }
    for key, value in values.items():
        ET.SubElement(options, "Option", {"name": key, "type": "QString", "value": value})


def qml(style: Style) -> str:
    """A QGIS QML document (symbology only) for ``style``."""
    categories = "Symbology|Fields" if style.aliases else "Symbology"
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": categories})
    if style.column and style.categories:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            {
                "type": "categorizedSymbol",
                "attr": style.column,
                "symbollevels": "0",
                "enableorderby": "0",
                "forceraster": "0",
            },
        )
        cats = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        items = [*style.categories, ("", "other / unknown", style.colour)]
        for i, (value, label, colour) in enumerate(items):
            ET.SubElement(
                cats, "category", {"value": value, "symbol": str(i), "label": label, "render": "true"}
            )
            _symbol(symbols, str(i), style, colour)
    elif style.column and style.colours:
        _graduated_renderer(root, style, style.column)
    else:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            {"type": "singleSymbol", "symbollevels": "0", "enableorderby": "0", "forceraster": "0"},
        )
        symbols = ET.SubElement(renderer, "symbols")
        _symbol(symbols, "0", style, style.colour)
    if style.aliases:
        # QGIS 3.22 / GDAL 3.6 do not read gpkg_data_columns titles yet; the style carries them too
        aliases = ET.SubElement(root, "aliases")
        for i, (field_name, alias) in enumerate(style.aliases):
            ET.SubElement(aliases, "alias", {"field": field_name, "index": str(i), "name": alias})
    ET.SubElement(root, "layerGeometryType").text = {"marker": "0", "line": "1", "fill": "2"}[style.kind]
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


def classes(ramp: Sequence[str], lo: float, hi: float) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Equal-interval class limits from ``lo`` to ``hi``, one class per ramp colour.

    Inner limits are rounded to 6 decimals; the first is rounded down and the last up, so the
    classes always cover every value in ``lo..hi``.
    """
    n = len(ramp)
    step = (hi - lo) / n if hi > lo else 1.0 / n
    limits = [round(lo + i * step, 6) for i in range(n + 1)]
    limits[0] = math.floor(lo * 1e6) / 1e6
    limits[-1] = max(math.ceil((lo + n * step) * 1e6) / 1e6, lo + n * step)
    return tuple(limits), tuple(ramp)


def write_layer_styles(gpkg: Path, styles: dict[str, Style]) -> int:
    """Create ``layer_styles`` in ``gpkg`` (registered in gpkg_contents) with one default QML per
    layer that exists in the file; returns the number of styles written."""
    con = sqlite3.connect(gpkg)
    try:
        geometry_columns = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        con.execute(LAYER_STYLES_DDL)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change)"
            " VALUES ('layer_styles', 'attributes', 'QGIS layer styles',"
            " 'Default QGIS style (QML) of each layer, applied when the layer is opened in QGIS',"
            f" {GPKG_DATETIME_NOW})"
        )
        n = 0
        for table, style in styles.items():
            if table not in geometry_columns:
                continue
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
                " styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)"
                f" VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '', {GPKG_DATETIME_NOW})",
                (table, geometry_columns[table], table, qml(style), style.description),
            )
            n += 1
        con.commit()
    finally:
        con.close()
    return n


def _graduated_renderer(root: ET.Element, style: Style, column: str) -> None:
    """Add a graduated renderer to a QML ``root``: ``style.extra`` classes first, then one class
    per colour between consecutive ``style.breaks`` (in the unit of ``style.column``).

    Parameters
    ----------
    root
        the ``qgis`` element, changed in place.
    style
        a style with ``colours`` and ``breaks`` (one more break than colours).
    column
        ``style.column``, the field or expression classified.
    """
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {
            "type": "graduatedSymbol",
            "attr": column,
            "graduatedMethod": "GraduatedColor",
            "symbollevels": "0",
            "enableorderby": "1",
            "forceraster": "0",
        },
    )
    # drawn from the lowest class up: the best features on top, not hidden under excluded ones
    order = ET.SubElement(renderer, "orderby")
    ET.SubElement(order, "orderByClause", {"asc": "1", "nullsFirst": "1"}).text = column
    ranges = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    classes_ = [*style.extra]
    for i, colour in enumerate(style.colours):
        lo, hi = style.breaks[i], style.breaks[i + 1]
        label = style.labels[i] if i < len(style.labels) else f"{lo:g} – {hi:g}"
        classes_.append((lo, hi, label, colour))
    for i, (lo, hi, label, colour) in enumerate(classes_):
        # full precision: a bound printed with 6 digits can fall below the largest value
        ET.SubElement(
            ranges,
            "range",
            {
                "lower": repr(float(lo)),
                "upper": repr(float(hi)),
                "symbol": str(i),
                "label": label,
                "render": "true",
            },
        )
        _symbol(symbols, str(i), style, colour)
