"""The outputs' whole-column code paths give what the cell-by-cell ones they replace give."""

from __future__ import annotations

import html
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pandas.testing import assert_frame_equal
from shapely.geometry import mapping

from gis.io import read_gpkg_layer, write_csv
from gis.outputs.api import _write_csv
from gis.outputs.labels import escape_text
from gis.outputs.map import _geometry_dicts
from gis.outputs.tables import _clean_column, _clean_text, _text_lengths, _widths

TEXTS = ["plain", "a&b <i>x</i> \"q\" 's'", None, "", "=SUM(A1)", "-5", "+x", "@me", "line\nbreak", "\tlead"]


def test_escape_text_matches_html_escape() -> None:
    for dtype in ("str", object):
        values = pd.Series(TEXTS, dtype=dtype)
        want = ["" if v is None else html.escape(str(v), quote=True) for v in TEXTS]
        assert escape_text(values).tolist() == want


def test_csv_writer_is_byte_identical(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "text": pd.Series(TEXTS, dtype="str"),
            "clean": pd.Series([f"site {i}" for i in range(len(TEXTS))], dtype="str"),
            "mixed": pd.Series([1, "a,b", None, 2.5, "x", True, "\x07", "", "y", "z"], dtype=object),
            "number": [1.0, np.nan, -0.0, 1e-05, 1e16, np.inf, 1 / 3, 2.5, 0.1, 123456.789],
            "count": list(range(len(TEXTS))),
            "flag": [True, False] * (len(TEXTS) // 2),
            "year": pd.Series([2024, None, 2025, 1, 2, 3, 4, 5, 6, -7], dtype="Int64"),
            "maybe": pd.Series([True, None, False] + [True] * 7, dtype="boolean"),
            "quoted": pd.Series(
                ['say "hi"', "a,b", "plain", None, "", "x", "y", "z", "w", "v"], dtype=object
            ),
            "when": pd.date_range("2024-01-01", periods=len(TEXTS), freq="D"),  # pandas' writer
        }
    )
    for part in (frame, frame.drop(columns="when"), frame[["clean", "number", "count"]], frame.iloc[:0]):
        _write_csv(tmp_path / "fast.csv", part)
        write_csv(tmp_path / "slow.csv", part)
        assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "slow.csv").read_bytes()


def test_geometry_dicts_match_shapely_mapping() -> None:
    cases = [
        ["POINT (1 2)", "POINT (-3.25 4.5)"],
        ["LINESTRING (0 0, 1 1.5)", "MULTILINESTRING ((0 0, 1 1), (2 2, 3 3, 4 4))"],
        ["POLYGON ((0 0, 1 0, 1 1, 0 0))", "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))"],
        ["POINT Z (1 2 3)"],
        [],
    ]
    for wkts in cases:
        geoms = np.asarray(shapely.from_wkt(wkts), dtype=object)
        want = json.dumps([mapping(g) for g in geoms], sort_keys=True)
        assert json.dumps(_geometry_dicts(geoms), sort_keys=True) == want


def test_clean_column_matches_clean_text() -> None:
    for texts in (TEXTS, ["a", "b", None], ["bell\x07", "tab\tx", "\ufffe", "x" * 40_000]):
        values = pd.Series(texts, dtype="str")
        want = ["" if v is None else _clean_text(v) for v in texts]
        assert _clean_column(values).tolist() == want


def test_arrow_read_gives_the_same_frame(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {
            "name": ["a", None, "c"],
            "mw": [1.5, np.nan, 3.0],
            "n": [1, 2, 3],
            "ok": [True, False, True],
        },
        geometry=gpd.points_from_xy([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]),
        crs="EPSG:4326",
    )
    path = tmp_path / "t.gpkg"
    frame.to_file(path, layer="t", driver="GPKG")
    # gis.io reads through Arrow: the frame the row-wise reader gives, value for value
    plain = pyogrio.read_dataframe(path, layer="t")
    assert_frame_equal(read_gpkg_layer(path, "t", fix="x"), plain, check_exact=True)


def test_sheet_widths_from_the_whole_table_lengths() -> None:
    table = pd.DataFrame(
        {
            "name": ["a", "much longer name", "mid name", "", "x" * 70],
            "mw": [1.0, 12345.5, np.nan, -3.0, 0.5],
            "flag": [True, False, True, True, False],
        }
    )
    kinds, headers = ["text", "number", "bool"], ["Name", "Mineable MW", "Flag"]
    lengths = _text_lengths(table, kinds)
    for rows in (np.arange(5), np.array([0, 2, 3]), np.array([1, 4])):
        part = table.iloc[rows].reset_index(drop=True)
        subset = {c: v[rows] for c, v in lengths.items()}
        assert _widths(part, kinds, headers, subset) == _widths(part, kinds, headers)


def test_points_collection_text_is_the_json_folium_writes() -> None:
    from gis.outputs.map import _collection_text, _feature_collection, _geojson_text

    frame = pd.DataFrame(
        {
            "p1": ["a<b>&'c'", "ünïcode ✓", None, "", 'q"uote', "x"],
            "p10": [1.5, np.nan, -0.0, 1e-7, 12345678.9, 3.0],
            "_c": ["#fff", "#000", "#fff", "#abc", "#fff", "#000"],
            "_o": [True, False, True, True, False, False],
            "p2": pd.Series([1, 2, 3, 4, 5, 6], dtype="int64"),
            "_x": [None, "excluded &amp; why", None, None, None, None],
            "mixed": [True, 1, 1.0, "1", None, np.inf],  # equal under ==, each its own JSON
            "f": [np.inf, -np.inf, np.nan, 0.1 + 0.2, -0.0, 5e-324],
            "none": [None] * 6,
            "objf": pd.Series([1.5, None, np.inf, np.float64(2.25), -0.0, 1e300], dtype=object),
            "u8": np.array([0, 1, 2, 3, 255, 7], dtype="uint8"),
            "s": pd.Series(["<", None, "é", "a'b", "<", ""], dtype="string"),
        }
    )
    points = gpd.GeoSeries.from_xy([0.5, -97.123456, 1, 2, 3, 4], [1, 30.25, 2, 3, 4, 5], crs="EPSG:4326")
    points.iloc[3] = None  # no geometry: left out, as by _feature_collection
    for part in (frame, frame.iloc[:0], frame[[]]):
        geometry = points.iloc[: len(part)] if len(part) else points.iloc[:0]
        want = _geojson_text(_feature_collection(part, geometry))
        assert _collection_text(part, geometry) == want
    lines = gpd.GeoSeries.from_wkt(["LINESTRING (0 0, 1 1)"] * len(frame), crs="EPSG:4326")
    assert _collection_text(frame, lines) == _geojson_text(_feature_collection(frame, lines))
