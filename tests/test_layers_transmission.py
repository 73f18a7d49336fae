"""Transmission lines and substations: HIFLD (file and FeatureServer), GridKit fallback, clipping."""

from __future__ import annotations

import gzip
import io
import json
import math
import shutil
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiLineString, Point

from gis.config.catalog import load_source
from gis.config.settings import DataOrigin
from gis.errors import GisError
from gis.layers import transmission as grid
from gis.layers.boundaries import read_vector, states_from_frame
from gis.rowlog import RowLog
from gis.schema import validate
from gis.sources import Resolver

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GRID = FIXTURES / "grid"
SOURCES = (
    "hifld_transmission_lines",
    "hifld_substations",
    "gridkit_north_america",
    "census_cb_2010_20m",
    "nrel_state_potential",
)
LINKS_CSV = GRID / "gridkit_north_america-highvoltage-links.csv"
VERTICES_CSV = GRID / "gridkit_north_america-highvoltage-vertices.csv"


def catalog(**urls: str) -> dict:
    """This theme's catalog entries; ``urls`` replaces official URLs by file key."""
    out = {}
    for name in SOURCES:
        source = load_source(REPO / "layers" / f"{name}.toml")
        files = [f.model_copy(update={"url": urls[f.key]}) if f.key in urls else f for f in source.files]
        out[name] = source.model_copy(update={"files": files})
    return out


@pytest.fixture
def states() -> gpd.GeoDataFrame:
    """Kansas, Oklahoma and Puerto Rico in the canonical states layout."""
    frame = read_vector(FIXTURES / "boundaries" / "gz_2010_us_040_00_20m.json")
    return states_from_frame(frame, file="states", log=RowLog("states"))


def gridkit_mirror(root: Path) -> Path:
    """The GridKit fixtures gzipped into the mirror layout under ``root``."""
    folder = root / "gridkit_north_america"
    folder.mkdir(parents=True)
    for csv in (LINKS_CSV, VERTICES_CSV):
        with open(csv, "rb") as src, gzip.open(folder / (csv.name + ".gz"), "wb") as out:
            shutil.copyfileobj(src, out)
    return root


def hifld_mirror(root: Path) -> Path:
    (root / "hifld_transmission_lines").mkdir(parents=True)
    (root / "hifld_substations").mkdir(parents=True)
    shutil.copy(GRID / "Electric_Power_Transmission_Lines.geojson", root / "hifld_transmission_lines")
    shutil.copy(GRID / "Electric_Substations.geojson", root / "hifld_substations")
    return root


def links_table() -> pd.DataFrame:
    return pd.read_csv(LINKS_CSV, dtype=str)


# -------------------------------------------------------------------------------------------- measures


def test_parse_voltage_takes_the_highest_in_kv() -> None:
    values = pd.Series(
        ["345000;138000", "230000", "", None, "medium", "0", "115000; 69000"], index=list("abcdefg")
    )
    kv = grid.parse_voltage_kv(values)
    assert kv.index.tolist() == list("abcdefg")
    assert kv["a"] == 345.0 and kv["b"] == 230.0 and kv["g"] == 115.0
    assert kv[["c", "d", "e", "f"]].isna().all()
    log = RowLog("l")
    hifld = grid.parse_voltage_kv(pd.Series([345, -999999, 138.0, 1333]), unit="kV", log=log)
    assert np.isnan(hifld[3]) and log.repaired == {"voltage above 1,200 kV ignored (tagging error)": 1}
    assert hifld[0] == 345.0 and np.isnan(hifld[1]) and hifld[2] == 138.0
    with pytest.raises(ValueError):
        grid.parse_voltage_kv(values, unit="MV")
    repeated = grid.parse_voltage_kv(pd.Series(["345000", "138000;69000"], index=[7, 7]))
    assert repeated.tolist() == [345.0, 138.0] and repeated.index.tolist() == [7, 7]


def test_volt_class_follows_hifld_classes() -> None:
    kv = pd.Series([69, 115, 138, 161, 230, 315, 345, 400, 500, 765, np.nan])
    assert grid.volt_class(kv).tolist() == [
        "UNDER 100",
        "100-161",
        "100-161",
        "100-161",
        "220-287",
        "220-287",
        "345",
        "345",
        "500",
        "735 AND ABOVE",
        "NOT AVAILABLE",
    ]


def test_geodesic_length_km() -> None:
    geoms = gpd.GeoSeries(
        [
            LineString([(0, 0), (0, 1)]),
            MultiLineString([[(0, 0), (0, 1)], [(10, 0), (10, 1)]]),
            Point(0, 0),
        ],
        crs="EPSG:4326",
    )
    km = grid.geodesic_length_km(geoms)
    assert km[0] == pytest.approx(110.574, abs=0.01)  # one degree of latitude at the equator
    assert km[1] == pytest.approx(2 * km[0])
    assert km[2] == 0.0
    assert grid.geodesic_length_km(geoms.to_crs("EPSG:5070"))[0] == pytest.approx(km[0], rel=1e-6)
    assert len(grid.geodesic_length_km(geoms.iloc[:0])) == 0


# -------------------------------------------------------------------------------------------- GridKit


def test_gridkit_fallback_from_mirror_layout(tmp_path: Path, states: gpd.GeoDataFrame) -> None:
    resolver = Resolver(DataOrigin(data_dir=gridkit_mirror(tmp_path / "data")), catalog=catalog())
    out = grid.build(resolver, {"states": states})

    lines, lines_log = out["transmission_lines"]
    lines = validate(lines, "transmission_lines").set_index("line_id")
    assert sorted(lines.index) == ["gridkit:20114", "gridkit:20377"]  # the Manitoba line is dropped
    assert lines.loc["gridkit:20114", "voltage_kv"] == 345.0
    assert lines.loc["gridkit:20114", "volt_class"] == "345"
    assert lines.loc["gridkit:20114", "owner"] == "Westar Energy"
    # 3.45 km due north, then 24.4 km east x 13.3 km north at 37.7°N: 3.45 + 27.8 km
    assert lines.loc["gridkit:20114", "length_km"] == pytest.approx(31.27, abs=0.1)
    assert np.isnan(lines.loc["gridkit:20377", "voltage_kv"])
    assert lines.loc["gridkit:20377", "volt_class"] == "NOT AVAILABLE"
    assert set(lines["source"]) == {"gridkit_north_america"}
    assert lines_log.rows_read == 3 and sum(v for k, v in lines_log.dropped.items() if "outside" in k) == 1
    assert any("fallback" in n for n in lines_log.notes)
    assert any("hifld_transmission_lines" in n for n in lines_log.notes)

    subs, subs_log = out["substations"]
    subs = validate(subs, "substations").set_index("substation_id")
    assert sorted(subs.index) == ["gridkit:101", "gridkit:103"]
    assert subs.loc["gridkit:101", "voltage_kv"] == 345.0  # from the connected 345/138 kV line
    assert subs.loc["gridkit:103", "voltage_kv"] == 138.0
    assert subs.loc["gridkit:103", "kind"] == "substation"  # sub_station normalised
    assert subs.loc["gridkit:101", "name"] == "Rose Hill"
    assert subs_log.dropped["joint or merge vertex (a line node, not a substation)"] == 2
    assert sum(v for k, v in subs_log.dropped.items() if "outside" in k) == 2  # Manitoba station, plant
    assert subs_log.repaired == {"voltage taken from the highest connected line": 1}
    assert subs_log.rows_read == 6 and subs_log.rows_kept == 2


def test_gridkit_official_zip_holding_both_csvs(tmp_path: Path) -> None:
    archive = tmp_path / "gridkit_north_america.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(LINKS_CSV, "gridkit_north_america/gridkit_north_america-highvoltage-links.csv")
        zf.write(VERTICES_CSV, "gridkit_north_america/gridkit_north_america-highvoltage-vertices.csv")
    links = grid.read_gridkit_table(archive, "links")
    vertices = grid.read_gridkit_table(archive, "vertices")
    assert links["l_id"].tolist() == ["20114", "20377", "31902"]
    assert "typ" in vertices.columns and len(vertices) == 6


def test_gridkit_official_zip_through_the_resolver(
    tmp_path: Path, serve_dir, states: gpd.GeoDataFrame
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    with zipfile.ZipFile(served / "gridkit.zip", "w") as zf:
        zf.write(LINKS_CSV, LINKS_CSV.name)
        zf.write(VERTICES_CSV, VERTICES_CSV.name)
    server = serve_dir(served)
    url = f"{server.url}/gridkit.zip"
    dead = "http://127.0.0.1:9/FeatureServer/0"  # nothing listens on the discard port
    resolver = Resolver(
        DataOrigin(),
        cache=tmp_path / "cache",
        progress=False,
        catalog=catalog(links=url, vertices=url, lines=dead, substations=dead),
    )
    out = grid.build(resolver, {"states": states})
    assert len(out["transmission_lines"][0]) == 2 and len(out["substations"][0]) == 2
    assert any("could not be fetched" in n for n in out["transmission_lines"][1].notes)
    assert resolver.get("gridkit_north_america", "links").form == "official"
    assert sum(1 for path, _ in server.requests if path == "/gridkit.zip") == 1  # downloaded once


def test_gridkit_bad_inputs(states: gpd.GeoDataFrame) -> None:
    with pytest.raises(GisError) as err:
        grid.lines_from_gridkit(
            links_table().drop(columns="wkt_srid_4326"), file="links.csv", log=RowLog("l")
        )
    assert err.value.field == "wkt_srid_4326" and err.value.file == "links.csv"

    foreign = links_table()
    foreign.loc[0, "wkt_srid_4326"] = "SRID=3857;LINESTRING(-10810000 4520000,-10800000 4530000)"
    with pytest.raises(GisError) as err:
        grid.lines_from_gridkit(foreign, file="links.csv", log=RowLog("l"))
    assert err.value.field == "wkt_srid_4326" and "3857" in err.value.problem

    with pytest.raises(GisError, match="no features"):
        grid.lines_from_gridkit(links_table().iloc[:0], file="links.csv", log=RowLog("l"))

    broken = links_table()
    broken.loc[0, "wkt_srid_4326"] = "SRID=4326;LINESTRING(-97.1 37.5"  # cut off
    broken.loc[1, "wkt_srid_4326"] = "SRID=4326;LINESTRING(-96.0 36.1,-96.0 36.1)"  # one point twice
    broken.loc[2, "wkt_srid_4326"] = (
        "SRID=4326;MULTILINESTRING((-97.5 37.0,-97.0 37.5),(-96.0 36.0,-96.0 36.0))"  # invalid part
    )
    broken.loc[3] = broken.loc[2]  # duplicate l_id
    log = RowLog("l")
    lines = grid.lines_from_gridkit(broken, file="links.csv", log=log)
    assert lines["line_id"].tolist() == ["gridkit:31902"]
    assert lines.geometry.iloc[0].geom_type == "MultiLineString"
    assert log.dropped == {
        "duplicate l_id": 1,
        "geometry missing or not parsable WKT": 1,
        "not a line (fewer than two distinct points, or a point/polygon)": 1,
    }
    assert log.repaired == {"invalid geometry repaired with make_valid": 2}

    vertices = pd.read_csv(VERTICES_CSV, dtype=str)
    vertices.loc[0, "lat"] = ""
    vertices.loc[2, "typ"] = "transformer"
    log = RowLog("s")
    subs = grid.substations_from_gridkit(vertices, file="v.csv", log=log)
    assert subs["substation_id"].tolist() == ["gridkit:105", "gridkit:106"]
    assert log.dropped["no valid lon/lat"] == 1 and log.dropped["unknown vertex type"] == 1

    with pytest.raises(GisError) as err:
        grid.substations_from_gridkit(vertices.drop(columns="typ"), file="v.csv", log=RowLog("s"))
    assert err.value.field == "typ"


def test_keep_in_us_needs_states(states: gpd.GeoDataFrame) -> None:
    lines = grid.lines_from_gridkit(links_table(), file="l", log=RowLog("l"))
    with pytest.raises(GisError) as err:
        grid.keep_in_us(lines, states.iloc[:0], log=RowLog("l"))
    assert err.value.field == "states"
    log = RowLog("l")
    kept = grid.keep_in_us(lines, states, log=log, tolerance_km=0)
    assert len(kept) == 2 and log.rows_dropped == 1


# -------------------------------------------------------------------------------------------- HIFLD


def test_hifld_files_are_preferred_when_present(tmp_path: Path, states: gpd.GeoDataFrame) -> None:
    root = hifld_mirror(gridkit_mirror(tmp_path / "data"))
    out = grid.build(Resolver(DataOrigin(data_dir=root), catalog=catalog()), {"states": states})
    lines, log = out["transmission_lines"]
    lines = validate(lines, "transmission_lines").set_index("line_id")
    assert sorted(lines.index) == ["hifld:101251", "hifld:158540"]
    assert log.dropped == {"not in service (STATUS proposed, under construction, inactive or retired)": 1}
    assert lines.loc["hifld:101251", "voltage_kv"] == 345.0
    assert lines.loc["hifld:101251", "owner"] == ""  # NOT AVAILABLE
    assert np.isnan(lines.loc["hifld:158540", "voltage_kv"])  # -999999
    assert lines.loc["hifld:158540", "volt_class"] == "NOT AVAILABLE"
    assert lines.loc["hifld:158540", "owner"] == "EVERGY KANSAS CENTRAL"
    assert set(lines["source"]) == {"hifld_transmission_lines"}
    assert not any("fallback" in n for n in log.notes)

    subs, subs_log = out["substations"]
    subs = validate(subs, "substations").set_index("substation_id")
    assert sorted(subs.index) == ["hifld:310221", "hifld:311090"]
    assert subs.loc["hifld:310221", "voltage_kv"] == 345.0
    assert subs.loc["hifld:311090", "kind"] == "tap"
    assert np.isnan(subs.loc["hifld:311090", "voltage_kv"])
    assert subs_log.dropped == {"riser or dead end (a point on a line)": 1}


def test_hifld_reduced_schema_projected_crs_and_missing_voltage() -> None:
    """The Indiana extract's reduced schema (OBJECTID, TYPE, VOLTAGE, VOLT_CLASS), in web mercator."""
    frame = gpd.GeoDataFrame(
        {
            "OBJECTID": [62, 63],
            "TYPE": ["AC; OVERHEAD", "AC; OVERHEAD"],
            "VOLTAGE": [345.0, 765.0],
            "VOLT_CLASS": ["345", ""],
            "Shape__Length": [22846.45, 10411.2],
        },
        geometry=[
            MultiLineString(
                [[(-85.7254, 39.4917), (-85.7251, 39.5253)], [(-85.7260, 39.5591), (-85.7088, 39.5877)]]
            ),
            LineString([(-86.1, 39.8), (-86.0, 39.9)]),
        ],
        crs="OGC:CRS84",
    ).to_crs("EPSG:3857")
    log = RowLog("l")
    lines = validate(grid.lines_from_hifld(frame, file="indiana.geojson", log=log), "transmission_lines")
    assert lines["line_id"].tolist() == ["hifld:62", "hifld:63"]
    assert lines["volt_class"].tolist() == ["345", "735 AND ABOVE"]  # empty class derived from voltage
    assert lines["owner"].tolist() == ["", ""]
    assert lines.total_bounds[0] == pytest.approx(-86.1, abs=1e-6)
    assert any("reprojected" in n for n in log.notes)

    with pytest.raises(GisError) as err:
        grid.lines_from_hifld(frame.drop(columns="VOLTAGE"), file="indiana.geojson", log=RowLog("l"))
    assert err.value.field == "VOLTAGE"
    with pytest.raises(GisError) as err:
        grid.lines_from_hifld(frame.drop(columns="OBJECTID"), file="indiana.geojson", log=RowLog("l"))
    assert err.value.field == "ID"


def _renamed_geojson(source: Path, target: Path, renames: dict[str, str], decoys: dict[str, object]) -> None:
    """``source`` with fields renamed (old -> new) and decoy values under the old names."""
    data = json.loads(source.read_text(encoding="utf-8"))
    for feature in data["features"]:
        props = feature["properties"]
        for old, new in renames.items():
            props[new] = props.pop(old)
        props.update(decoys)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data), encoding="utf-8")


def _with_columns(cat: dict, entry: str, **columns: str) -> dict:
    source = cat[entry]
    return {**cat, entry: source.model_copy(update={"columns": {**source.columns, **columns}})}


def test_catalog_column_mapping_is_used_for_hifld(tmp_path: Path, states: gpd.GeoDataFrame) -> None:
    """A source whose fields have other names than HIFLD's reads the same once the catalog maps them."""
    expected = grid.build(
        Resolver(DataOrigin(data_dir=hifld_mirror(gridkit_mirror(tmp_path / "plain"))), catalog=catalog()),
        {"states": states},
    )
    root = gridkit_mirror(tmp_path / "renamed")
    _renamed_geojson(
        GRID / "Electric_Substations.geojson",
        root / "hifld_substations" / "Electric_Substations.geojson",
        {"MAX_VOLT": "KV_HIGH", "ID": "SUB_ID", "NAME": "SUB_NAME", "TYPE": "SUB_TYPE"},
        {"MAX_VOLT": 1.0, "TYPE": "RISER"},  # under the old names: would drop or mis-state every row
    )
    _renamed_geojson(
        GRID / "Electric_Power_Transmission_Lines.geojson",
        root / "hifld_transmission_lines" / "Electric_Power_Transmission_Lines.geojson",
        {"VOLTAGE": "KV", "ID": "LINE_NO", "OWNER": "UTILITY", "VOLT_CLASS": "KV_CLASS"},
        {"VOLTAGE": 1.0, "OWNER": "decoy"},
    )
    cat = _with_columns(
        catalog(),
        "hifld_substations",
        voltage_kv="KV_HIGH",
        substation_id="SUB_ID",
        name="SUB_NAME",
        kind="SUB_TYPE",
    )
    cat = _with_columns(
        cat,
        "hifld_transmission_lines",
        voltage_kv="KV",
        line_id="LINE_NO",
        owner="UTILITY",
        volt_class="KV_CLASS",
    )
    got = grid.build(Resolver(DataOrigin(data_dir=root), catalog=cat), {"states": states})
    for name in ("substations", "transmission_lines"):
        frame, log = got[name]
        pd.testing.assert_frame_equal(frame, expected[name][0])
        assert (log.dropped, log.repaired) == (expected[name][1].dropped, expected[name][1].repaired)
    assert "KV -999999" in " ".join(got["transmission_lines"][1].notes)  # notes name the mapped field
    subs = got["substations"][0].set_index("substation_id")
    assert subs.loc["hifld:310221", "voltage_kv"] == 345.0  # KV_HIGH, not the decoy MAX_VOLT
    assert subs.loc["hifld:310221", "name"] == "ROSE HILL"

    # the mapped name is the one a missing field is reported by
    bare = gpd.read_file(root / "hifld_substations" / "Electric_Substations.geojson").drop(columns="KV_HIGH")
    with pytest.raises(GisError) as err:
        grid.substations_from_hifld(
            bare, file="subs.geojson", log=RowLog("s"), columns=cat["hifld_substations"].columns
        )
    assert err.value.field == "KV_HIGH"


def test_catalog_column_mapping_is_used_for_gridkit(tmp_path: Path, states: gpd.GeoDataFrame) -> None:
    expected = grid.build(
        Resolver(DataOrigin(data_dir=gridkit_mirror(tmp_path / "plain")), catalog=catalog()),
        {"states": states},
    )
    renames = {"voltage": "volts", "operator": "company", "l_id": "link", "v_id": "vertex", "typ": "what"}
    folder = tmp_path / "renamed" / "gridkit_north_america"
    folder.mkdir(parents=True)
    for csv in (LINKS_CSV, VERTICES_CSV):
        table = pd.read_csv(csv, dtype=str).rename(columns=renames)
        with gzip.open(folder / (csv.name + ".gz"), "wt", encoding="utf-8", newline="") as fh:
            table.to_csv(fh, index=False)
    cat = _with_columns(
        catalog(),
        "gridkit_north_america",
        voltage_kv="volts",
        owner="company",
        line_id="link",
        substation_id="vertex",
        kind="what",
    )
    got = grid.build(Resolver(DataOrigin(data_dir=tmp_path / "renamed"), catalog=cat), {"states": states})
    for name in ("substations", "transmission_lines"):
        pd.testing.assert_frame_equal(got[name][0], expected[name][0])
        log, plain = got[name][1], expected[name][1]
        assert (log.rows_read, log.rows_kept, log.repaired) == (
            plain.rows_read,
            plain.rows_kept,
            plain.repaired,
        )
    assert got["substations"][1].repaired  # voltages still taken from the links' renamed column


class FeatureServer:
    """A fake ArcGIS FeatureServer on 127.0.0.1: ``/<layer>/FeatureServer/0/query`` answers pages of 2."""

    PAGE = 2

    def __init__(self, layers: dict[str, list[dict]]) -> None:
        self.layers = layers
        self.queries: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                parts = url.path.strip("/").split("/")
                if (
                    len(parts) != 4
                    or parts[1:] != ["FeatureServer", "0", "query"]
                    or parts[0] not in server.layers
                ):
                    self.send_response(404)
                    self.end_headers()
                    return
                server.queries.append((parts[0], params))
                features = server.layers[parts[0]]
                offset = int(params.get("resultOffset", 0))
                count = min(int(params.get("resultRecordCount", 1000)), server.PAGE)
                page = features[offset : offset + count]
                body = {"type": "FeatureCollection", "features": page}
                if offset + count < len(features):
                    body["exceededTransferLimit"] = True
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/geo+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feature_server() -> Iterator[FeatureServer]:
    def features(name: str) -> list[dict]:
        return json.loads((GRID / name).read_text())["features"]

    server = FeatureServer(
        {
            "Lines": features("Electric_Power_Transmission_Lines.geojson"),
            "Substations": features("Electric_Substations.geojson"),
        }
    )
    yield server
    server.close()


def test_hifld_official_featureserver_end_to_end(
    tmp_path: Path, feature_server: FeatureServer, states: gpd.GeoDataFrame
) -> None:
    resolver = Resolver(
        DataOrigin(),
        cache=tmp_path / "cache",
        progress=False,
        catalog=catalog(
            lines=f"{feature_server.url}/Lines/FeatureServer/0",
            substations=f"{feature_server.url}/Substations/FeatureServer/0",
        ),
    )
    out = grid.build(resolver, {"states": states})
    lines = validate(out["transmission_lines"][0], "transmission_lines")
    subs = validate(out["substations"][0], "substations")
    assert sorted(lines["line_id"]) == ["hifld:101251", "hifld:158540"]
    assert sorted(subs["substation_id"]) == ["hifld:310221", "hifld:311090"]
    offsets = [int(p["resultOffset"]) for name, p in feature_server.queries if name == "Lines"]
    assert offsets == [0, 2]  # 3 features in pages of 2
    assert all(p["outSR"] == "4326" and p["f"] == "geojson" for _, p in feature_server.queries)
    fetched = resolver.get("hifld_transmission_lines", "lines")
    assert fetched.form == "official" and fetched.path.name == "Electric_Power_Transmission_Lines.geojson"
    # the GridKit fallback was never needed
    assert ("gridkit_north_america", "links") not in resolver._seen


# -------------------------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_gridkit_national_fallback(real_data_dir: Path) -> None:
    resolver = Resolver(DataOrigin(data_dir=real_data_dir), catalog=catalog())
    started = time.perf_counter()
    out = grid.build(resolver, {})  # builds the states itself
    elapsed = time.perf_counter() - started
    lines, lines_log = out["transmission_lines"]
    subs, subs_log = out["substations"]
    lines = validate(lines, "transmission_lines")
    subs = validate(subs, "substations")
    assert len(lines) > 10_000
    assert len(subs) > 3_000
    assert lines_log.rows_read == 22_459 and subs_log.rows_read == 16_174
    assert any("GridKit" in n for n in lines_log.notes)
    assert 1_000 < sum(v for k, v in lines_log.dropped.items() if "outside" in k) < 10_000
    assert subs_log.dropped["joint or merge vertex (a line node, not a substation)"] == 6_013 + 1_033
    assert set(subs["kind"]) <= {"substation", "station", "plant"}
    assert lines["voltage_kv"].max() <= 800 and lines["voltage_kv"].min() > 0
    assert 150_000 < lines["length_km"].sum() < 500_000
    assert lines.total_bounds[1] > 15 and lines.total_bounds[3] < 72
    print(
        f"lines {len(lines)} ({lines_log.dropped}), substations {len(subs)} ({subs_log.dropped}), "
        f"{lines['length_km'].sum():,.0f} km, {elapsed:.2f} s"
    )


@pytest.mark.realdata
def test_real_hifld_regional_extracts_read_as_official_schema(real_data_dir: Path) -> None:
    folder = real_data_dir / "hifld_tx_samples"
    log = RowLog("wichita")
    wichita = grid.lines_from_hifld(
        read_vector(folder / "hifld_tx_wichita_ks.geojson"), file="wichita", log=log
    )
    validate(wichita, "transmission_lines")
    assert log.rows_read == 16 and len(wichita) + log.rows_dropped == 16
    assert set(wichita["volt_class"]) <= set(grid.VOLT_CLASSES) | {"NOT AVAILABLE", "DC"}
    log = RowLog("indiana")
    indiana = grid.lines_from_hifld(
        read_vector(folder / "hifld_tx_indiana.geojson.gz"), file="indiana", log=log
    )
    validate(indiana, "transmission_lines")
    assert log.rows_read == 1_095 and len(indiana) > 1_000
    assert indiana["voltage_kv"].dropna().between(1, 800).all()
    assert not math.isnan(indiana["length_km"].sum())


# -------------------------------------------------------------------------------------------- OSM (no network)


def osmnx_like_features() -> gpd.GeoDataFrame:
    """What ``osmnx.features.features_from_bbox`` returns for power tags: (element, id) index, tag columns."""
    index = pd.MultiIndex.from_tuples(
        [("way", 101), ("way", 102), ("node", 201), ("way", 202), ("way", 301), ("way", 103), ("node", 401)],
        names=["element", "id"],
    )
    return gpd.GeoDataFrame(
        {
            "power": ["line", "line", "substation", "substation", "plant", "line", "tower"],
            "voltage": ["345000;138000", None, "138000", "230000;115000", None, "69000", None],
            "operator": ["Evergy", None, "Evergy", None, "Westar Energy", None, None],
            "name": [None, None, "Rose Hill", None, "Gordon Evans Energy Center", None, None],
            "plant:source": [None, None, None, None, "gas;oil", None, None],
            "plant:output:electricity": [None, None, None, None, "1.2 GW", None, None],
        },
        geometry=[
            LineString([(-97.10, 37.58), (-97.10, 37.62)]),
            LineString([(-97.30, 37.68), (-97.31, 37.68)]),
            Point(-97.105, 37.589),
            box_polygon(-97.34, 37.68, -97.33, 37.69),
            box_polygon(-97.52, 37.79, -97.50, 37.80),
            box_polygon(-97.0, 37.0, -96.99, 37.01),  # a power=line mapped as an area
            Point(-97.2, 37.6),
        ],
        index=index,
        crs="EPSG:4326",
    )


def box_polygon(west: float, south: float, east: float, north: float):
    from shapely.geometry import box

    return box(west, south, east, north)


def test_osm_normalisation_of_osmnx_features() -> None:
    from gis.layers.osm import normalise_osm_power

    out = normalise_osm_power(osmnx_like_features())
    lines = out["transmission_lines"].set_index("line_id")
    assert sorted(lines.index) == ["osm:way/101", "osm:way/102"]
    assert lines.loc["osm:way/101", "voltage_kv"] == 345.0
    assert lines.loc["osm:way/101", "volt_class"] == "345"
    assert lines.loc["osm:way/101", "owner"] == "Evergy"
    assert lines.loc["osm:way/101", "length_km"] == pytest.approx(4.44, abs=0.02)  # 0.04° of latitude
    assert np.isnan(lines.loc["osm:way/102", "voltage_kv"])
    assert out["transmission_lines"].attrs["row_log"]["dropped"] == {"power=line not mapped as a line": 1}

    subs = out["substations"].set_index("substation_id")
    assert subs.loc["osm:node/201", "voltage_kv"] == 138.0
    assert subs.loc["osm:way/202", "voltage_kv"] == 230.0
    assert subs.loc["osm:way/202"].geometry.geom_type == "Point"  # area -> point inside
    assert set(subs["source"]) == {"osm"}

    plants = out["plants"]
    assert plants["plant_id"].tolist() == ["osm:way/301"]
    assert plants["fuel"].iloc[0] == "gas" and plants["capacity_mw"].iloc[0] == 1200.0


def test_osm_power_features_query_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx
    import requests

    from gis.errors import DataUnavailableError
    from gis.layers.osm import POWER_TAGS, osm_power_features

    calls = []

    def fake(bbox, tags):
        calls.append((bbox, tags))
        return osmnx_like_features()

    monkeypatch.setattr(osmnx.features, "features_from_bbox", fake)
    out = osm_power_features(bbox=(-97.6, 37.5, -97.0, 37.9))
    assert calls == [((-97.6, 37.5, -97.0, 37.9), POWER_TAGS)]
    assert len(out["transmission_lines"]) == 2 and len(out["plants"]) == 1

    with pytest.raises(GisError) as err:
        osm_power_features(bbox=(-97.0, 37.5, -97.6, 37.9))  # west > east
    assert err.value.field == "bbox"
    with pytest.raises(GisError):
        osm_power_features()

    def empty(bbox, tags):
        raise osmnx._errors.InsufficientResponseError(
            "No matching features. Check query location, tags, and log."
        )

    monkeypatch.setattr(osmnx.features, "features_from_bbox", empty)
    out = osm_power_features(bbox=(-97.6, 37.5, -97.0, 37.9))
    assert all(len(frame) == 0 for frame in out.values())
    validate(out["substations"], "substations")

    def offline(bbox, tags):
        raise requests.exceptions.ConnectionError("Failed to resolve 'overpass-api.de'")

    monkeypatch.setattr(osmnx.features, "features_from_bbox", offline)
    with pytest.raises(DataUnavailableError, match="cannot query OpenStreetMap"):
        osm_power_features(bbox=(-97.6, 37.5, -97.0, 37.9))


def street_graph():
    """A two-road street graph as osmnx builds it (EPSG:4326 node coordinates)."""
    import networkx as nx

    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_node(1, x=-97.40, y=37.70)
    graph.add_node(2, x=-97.30, y=37.70)
    graph.add_node(3, x=-97.30, y=37.60)
    graph.add_edge(1, 2, key=0, osmid=11, length=8800.0)
    graph.add_edge(2, 3, key=0, osmid=12, length=11100.0)
    return graph


def test_nearest_road_km_with_a_replayed_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx

    from gis.layers.osm import nearest_road_km

    seen = {}

    def fake_graph(bbox, **kwargs):
        seen["bbox"], seen["kwargs"] = bbox, kwargs
        return street_graph()

    monkeypatch.setattr(osmnx.graph, "graph_from_bbox", fake_graph)
    points = gpd.GeoDataFrame(
        geometry=[Point(-97.35, 37.70), Point(-97.35, 37.71), Point(-97.35, 37.95)],
        index=["on_road", "north_1km", "far"],
        crs="EPSG:4326",
    ).to_crs("EPSG:5070")
    km = nearest_road_km(points, buffer_km=10.0)
    assert km.index.tolist() == ["on_road", "north_1km", "far"]
    assert km["on_road"] == pytest.approx(0.0, abs=0.05)
    assert km["north_1km"] == pytest.approx(1.11, abs=0.08)  # 0.01° of latitude, EPSG:5070 scale
    assert np.isnan(km["far"])  # ~25 km away: beyond the 10 km buffer
    west, south, east, north = seen["bbox"]
    assert west < -97.35 < east and south < 37.70 and north > 37.95 + 0.08
    assert seen["kwargs"]["network_type"] == "drive"


def test_nearest_road_km_offline_and_too_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx
    import requests

    from gis.errors import DataUnavailableError
    from gis.layers.osm import nearest_road_km

    def offline(bbox, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'overpass-api.de'")

    monkeypatch.setattr(osmnx.graph, "graph_from_bbox", offline)
    points = gpd.GeoSeries([Point(-97.35, 37.70)], crs="EPSG:4326")
    with pytest.raises(DataUnavailableError):
        nearest_road_km(points)
    wide = gpd.GeoSeries([Point(-120.0, 37.0), Point(-75.0, 40.0)], crs="EPSG:4326")
    with pytest.raises(GisError) as err:
        nearest_road_km(wide)
    assert err.value.field == "points"
    assert nearest_road_km(points.iloc[:0]).empty


@pytest.mark.realdata
def test_real_data_through_an_http_mirror(real_mirror, tmp_path: Path) -> None:
    """The same national build when the public data is served as a mirror (downloaded, cached)."""
    from gis.layers import boundaries

    resolver = Resolver(
        DataOrigin(mirror=real_mirror.url), cache=tmp_path / "cache", progress=False, catalog=catalog()
    )
    states = boundaries.build(resolver, {})["states"][0]
    out = grid.build(resolver, {"states": states})
    assert len(out["transmission_lines"][0]) > 10_000 and len(out["substations"][0]) > 3_000
    assert resolver.get("gridkit_north_america", "links").path.is_relative_to(tmp_path / "cache")
    assert any("not on the mirror" in w for w in resolver.warnings)


@pytest.mark.parametrize("table", ["links", "vertices"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_gridkit_table_reads_as_pandas_reads_it(
    table: str, gzipped: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = FIXTURES / "grid" / f"gridkit_north_america-highvoltage-{table}.csv"
    path = tmp_path / (source.name + (".gz" if gzipped else ""))
    path.write_bytes(gzip.compress(source.read_bytes()) if gzipped else source.read_bytes())
    fast = grid.read_gridkit_table(path, table)
    monkeypatch.setattr(grid, "read_text_csv", lambda *a, **k: None)
    pd.testing.assert_frame_equal(fast, grid.read_gridkit_table(path, table), check_exact=True)


def test_text_csv_reader_defers_what_pandas_reads_otherwise() -> None:
    from pandas._libs.parsers import STR_NA_VALUES

    from gis.layers._textcsv import read_text_csv

    text = b'id,name,kv\n1,"NA",\n2,None,"345"\n3,"a, b",n/a\n'
    expected = pd.read_csv(io.BytesIO(text), dtype=str)
    pd.testing.assert_frame_equal(read_text_csv(text, na_values=STR_NA_VALUES), expected, check_exact=True)
    for odd in (b"id,,kv\n1,2,3\n", b"id,id\n1,2\n", b"id,kv\n1,2,3\n", b"id,kv\n1\n"):
        assert read_text_csv(odd, na_values=STR_NA_VALUES) is None
