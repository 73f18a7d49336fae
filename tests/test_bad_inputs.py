"""Bad inputs a user can feed the tool, one row each, with the outcome each must have.

Every case drives a public entry point (``gis.cli.main`` or a stage function) with tiny inputs
written in ``tmp_path`` in the real layouts, and ends in exactly one of:

* ``Refused``: a :class:`~gis.errors.GisError` naming the file, the field and a fix (through the
  command line: exit status 1, one paragraph on stderr, no traceback);
* ``Counted``: the run goes on and the row log reports the repaired or dropped rows by reason;
* ``Noted``: the command succeeds and says on stderr what it found missing;
* ``KeptOld``: a write that dies half-way leaves the previous outputs byte-identical and no
  temporary file behind;
* ``Inert``: hostile HTML/JS in a text field never reaches ``map.html`` / ``report.html`` raw.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from fixtures.outputs.synthetic import make_out_dir
from fixtures.scoring.tiny_layers import tiny_layers
from rich.console import Console

from gis.cli import main
from gis.config.scenario import DEFAULT_SCENARIO
from gis.config.settings import DataOrigin
from gis.errors import GisError
from gis.io import write_gpkg
from gis.layers import build_layers, write_layers
from gis.rowlog import RowLog
from gis.sources import Resolver

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BAD = FIXTURES / "bad"
MIRTA = "mirta_dod_sites/mirta-processed.json"
BSEE = "bsee_boreholes_gom/mv_boreholes_all.txt.gz"
VNF2017 = "vnf_flares_2017/VIIRS_Global_flaring_d.7_slope_0.029353_2017_web_v1.csv"
VNF2015 = "vnf_flares_2015/eog_global_flare_survey_2015_flare_list.csv"
BASINS = "flaring_monitor/lower_48_basins.csv.gz"
BASIN_STATS = "flaring_monitor/flaring_monitor_basin_stats.csv"
ATLAS = "eia_atlas_power_plants/Power_Plants.csv"
PLANT_FILES = {
    ATLAS: FIXTURES / "plants" / "Power_Plants.csv",
    "gppd_usa/database_USA.csv": FIXTURES / "plants" / "database_USA.csv",
    "eia860_plant_2019/2___Plant_Y2019.csv": FIXTURES / "plants" / "2___Plant_Y2019.csv",
    "eia860m_plants_dec2025/power-plants.geojson": FIXTURES / "plants" / "power-plants.geojson",
}
HOSTILE = {
    "name": "<script>alert('name')</script>",
    "owner": '"><img src=x onerror=alert("owner")>',
    "basis": "</script><script>alert('basis')</script>",
    "exclusion_reason": "<svg/onload=alert('reason')>",
    "scenario": "<script>alert('scenario')</script>",
}


# ------------------------------------------------------------------------------------ outcomes


@dataclass(frozen=True)
class Refused:
    """A GisError whose file contains ``file`` and whose field is ``field`` (None: whole file)."""

    file: str
    field: str | None


@dataclass(frozen=True)
class Counted:
    """The run goes on; ``log.<kind>[reason containing text]`` equals ``rows``."""

    text: str
    rows: int
    kind: str = "dropped"


@dataclass(frozen=True)
class Noted:
    """The command succeeds and tells the user, on stderr, what it found missing."""

    text: str


@dataclass(frozen=True)
class KeptOld:
    """A write killed half-way: the previous files are unchanged and no temporary file is left."""


@dataclass(frozen=True)
class Inert:
    """No hostile string reaches the HTML unescaped."""


@dataclass
class Cli:
    """What ``gis`` did: exit status and stderr."""

    code: int
    err: str


# ------------------------------------------------------------------------------------ helpers


def cli(capsys: pytest.CaptureFixture, *args: str | Path) -> Cli:
    capsys.readouterr()
    code = main([str(a) for a in args])
    return Cli(code, capsys.readouterr().err)


def data_dir(tmp_path: Path, files: dict[str, Path | bytes | str]) -> Path:
    """A data directory in the mirror layout holding ``files`` (fixture path, bytes or text)."""
    root = tmp_path / "data"
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    root.mkdir(parents=True, exist_ok=True)
    return root


def build(root: Path, theme: str) -> dict[str, RowLog]:
    """Build one theme's layers from ``root``; return their row logs."""
    result = build_layers(Resolver(DataOrigin(data_dir=root), progress=False), themes=[theme])
    return result.logs


def gz(path: Path) -> bytes:
    return gzip.compress(path.read_bytes(), mtime=0)


def mirta(rows: list[dict]) -> str:
    """The processed MIRTA JSON layout with the given installations."""
    base = {
        "branch": "Army",
        "status": "Active",
        "kind": "Installation",
        "component": "Active",
        "jointBase": False,
    }
    return json.dumps({"metadata": {"source": "MIRTA"}, "installations": [base | r for r in rows]})


def fort(name: str, state: str, lat: object, lon: object) -> dict:
    return {"name": name, "state": state, "lat": lat, "lon": lon}


def atlas_with(tmp_path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    """The four plant sources, the EIA Atlas table edited by ``edit`` (all columns kept as text)."""
    frame = pd.read_csv(PLANT_FILES[ATLAS], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    files: dict[str, Path | bytes | str] = dict(PLANT_FILES)
    files[ATLAS] = edit(frame).to_csv(index=False)
    return data_dir(tmp_path, files)


def plants_delta(tmp_path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> RowLog:
    """The plants row log of the edited Atlas minus that of the clean fixture (which has quirks of
    its own): rows read, dropped and repaired by reason that the edit added."""
    clean = build(data_dir(tmp_path / "clean", dict(PLANT_FILES)), "plants")["plants"]
    edited = build(atlas_with(tmp_path / "edited", edit), "plants")["plants"]

    def minus(a: dict, b: dict) -> dict:
        return {k: a.get(k, 0) - b.get(k, 0) for k in sorted(set(a) | set(b)) if a.get(k, 0) != b.get(k, 0)}

    return RowLog(
        "plants (edit minus clean)",
        edited.rows_read - clean.rows_read,
        minus(edited.dropped, clean.dropped),
        minus(edited.repaired, clean.repaired),
    )


def basins_csv(polygons: list[shapely.Geometry]) -> bytes:
    """Flaring Monitor's lower_48_basins layout (hex EWKB, SRID 4326), gzipped."""
    frame = pd.DataFrame(
        {
            "id": range(1, len(polygons) + 1),
            "geom": [
                shapely.to_wkb(shapely.set_srid(p, 4326), hex=True, include_srid=True) for p in polygons
            ],
            "basin": "Permian",
            "lithology": "Shale",
            "shale_play": [f"Play {i}" for i in range(len(polygons))],
            "source": "EIA",
        }
    )
    return gzip.compress(frame.to_csv(index=False).encode(), mtime=0)


def basin_stats_csv() -> str:
    months = [
        f"{m}_2020"
        for m in ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    ]
    row = {"basin": "Permian", "play_subbasin": "All", "product_type": "Flared Gas", "product_units": "MMCF"}
    return pd.DataFrame([row | dict.fromkeys(months, 100.0)]).to_csv(index=False)


def flare_files(basins: bytes | None = None) -> dict[str, Path | bytes | str]:
    square = shapely.MultiPolygon([shapely.box(-104.5, 31.0, -103.0, 32.5)])
    return {
        VNF2017: FIXTURES / "flares" / Path(VNF2017).name,
        VNF2015: FIXTURES / "flares" / Path(VNF2015).name,
        BASINS: basins if basins is not None else basins_csv([square]),
        BASIN_STATS: basin_stats_csv(),
    }


def layers_out(tmp_path: Path, edit: Callable[[dict], dict] | None = None) -> Path:
    """An output folder holding the tiny canonical layers (optionally edited) as layers.gpkg."""
    out = tmp_path / "out"
    layers = tiny_layers()
    if edit is not None:
        layers = edit(layers)
    write_gpkg(out / "layers.gpkg", layers)
    return out


def scored_out(tmp_path: Path) -> Path:
    """An output folder after `gis score` on the tiny layers (layers.gpkg, sites.gpkg, CSV)."""
    out = layers_out(tmp_path)
    assert main(["score", "--out", str(out)]) == 0
    return out


def scenario(tmp_path: Path, old: str, new: str) -> Path:
    """The default scenario with the first line matching regex ``old`` replaced by ``new``."""
    text = DEFAULT_SCENARIO.read_text(encoding="utf-8")
    edited, n = re.subn(old, new, text, count=1, flags=re.MULTILINE)
    assert n == 1, old
    path = tmp_path / "scenario.toml"
    path.write_text(edited, encoding="utf-8")
    return path


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ------------------------------------------------------------------------------------ sources


def missing_file(tmp_path: Path, capsys) -> Cli:
    return cli(capsys, "build", "--data-dir", data_dir(tmp_path, {}), "--out", tmp_path / "out")


def missing_data_dir(tmp_path: Path, capsys) -> Cli:
    return cli(capsys, "build", "--data-dir", tmp_path / "nowhere", "--out", tmp_path / "out")


def wrong_format_binary(tmp_path: Path, capsys) -> object:
    return build(
        data_dir(tmp_path, {MIRTA: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))}), "military"
    )


def wrong_format_html_page(tmp_path: Path, capsys) -> object:
    """A portal's sign-in page saved under the CSV's name (what a download behind a login gives)."""
    return build(data_dir(tmp_path, flare_files() | {VNF2017: BAD / "portal_login_page.html"}), "flares")


def truncated_gzip(tmp_path: Path, capsys) -> object:
    whole = gz(FIXTURES / "misc" / "mv_boreholes_all.txt")
    return build(data_dir(tmp_path, {BSEE: whole[: len(whole) // 2]}), "offshore")


def truncated_gzip_csv(tmp_path: Path, capsys) -> object:
    many = [shapely.MultiPolygon([shapely.box(-104 + i / 100, 31, -103.9 + i / 100, 32)]) for i in range(300)]
    whole = basins_csv(many)
    return build(data_dir(tmp_path, flare_files(basins=whole[: len(whole) // 2])), "flares")


def truncated_json(tmp_path: Path, capsys) -> object:
    text = (FIXTURES / "misc" / "mirta-processed.json").read_text()
    return build(data_dir(tmp_path, {MIRTA: text[: len(text) // 2]}), "military")


def corrupted_zip(tmp_path: Path, capsys) -> object:
    body = io_zip(
        {"BoreholeRawData/mv_boreholes_all.txt": (FIXTURES / "misc" / "mv_boreholes_all.txt").read_bytes()}
    )
    return build(data_dir(tmp_path, {BSEE: body[:40] + b"\x00" * 64 + body[104:]}), "offshore")


def io_zip(members: dict[str, bytes]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def zip_slip(tmp_path: Path, capsys) -> object:
    body = io_zip(
        {
            "BoreholeRawData/mv_boreholes_all.txt": (FIXTURES / "misc" / "mv_boreholes_all.txt").read_bytes(),
            "../../etc/cron.d/evil": b"* * * * * root rm -rf /\n",
        }
    )
    return build(data_dir(tmp_path, {BSEE: body}), "offshore")


def checksum_mismatch(tmp_path: Path, capsys, monkeypatch, serve_dir) -> Cli:
    served = data_dir(tmp_path, {MIRTA: FIXTURES / "misc" / "mirta-processed.json"})
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    entry = (Path(__file__).resolve().parent.parent / "layers" / "mirta_dod_sites.toml").read_text()
    entry = re.sub(r'^sha256 = ".*"$', f'sha256 = "{"0" * 64}"', entry, flags=re.MULTILINE)
    (catalog / "mirta_dod_sites.toml").write_text(entry)
    monkeypatch.setenv("GIS_CATALOG_DIR", str(catalog))
    server = serve_dir(served)
    return cli(capsys, "fetch", "--mirror", server.url)


# ------------------------------------------------------------------------------------ layers


def missing_column(tmp_path: Path, capsys) -> object:
    return build(atlas_with(tmp_path, lambda f: f.drop(columns="Install_MW")), "plants")


def missing_column_in_layers_gpkg(tmp_path: Path, capsys) -> Cli:
    out = layers_out(
        tmp_path, lambda layers: layers | {"plants": layers["plants"].drop(columns="capacity_mw")}
    )
    return cli(capsys, "score", "--out", out)


def missing_crs_in_layers_gpkg(tmp_path: Path, capsys) -> Cli:
    out = layers_out(
        tmp_path,
        lambda layers: layers | {"substations": layers["substations"].set_crs(None, allow_override=True)},
    )
    return cli(capsys, "score", "--out", out)


def projected_coordinates_declared_degrees(tmp_path: Path, capsys) -> RowLog:
    rows = [fort("Fort Albers", "Texas", 1_000_000.0, -200_000.0), fort("Fort Good", "Texas", 31.1, -97.8)]
    return build(data_dir(tmp_path, {MIRTA: mirta(rows)}), "military")["military_sites"]


def boundaries_without_crs_in_metres(tmp_path: Path, capsys) -> object:
    feature = {
        "type": "Feature",
        "properties": {
            "GEO_ID": "0400000US48",
            "STATE": "48",
            "NAME": "Texas",
            "LSAD": "",
            "CENSUSAREA": 261231.7,
        },
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[-1e6, 7e5], [-1e5, 7e5], [-1e5, 1.5e6], [-1e6, 7e5]]],
        },
    }
    states = json.dumps({"type": "FeatureCollection", "features": [feature]})
    files = {
        "census_cb_2010_20m/gz_2010_us_040_00_20m.json": states,
        "census_cb_2010_20m/gz_2010_us_050_00_20m.json": FIXTURES
        / "boundaries"
        / "gz_2010_us_050_00_20m.json",
        "nrel_coarse_resource/renewable_energy_technical_potential_data.csv": FIXTURES
        / "boundaries"
        / "renewable_energy_technical_potential_data.csv",
    }
    return build(data_dir(tmp_path, files), "boundaries")


def counties_in_web_mercator_without_crs(tmp_path: Path, capsys) -> RowLog:
    import geopandas as gpd

    counties = gpd.read_file(FIXTURES / "boundaries" / "gz_2010_us_050_00_20m.json").to_crs(3857)
    doc = json.loads(counties.to_json())
    doc.pop("crs", None)  # as a hand-made export without a crs member
    files = {
        "census_cb_2010_20m/gz_2010_us_040_00_20m.json": FIXTURES
        / "boundaries"
        / "gz_2010_us_040_00_20m.json",
        "census_cb_2010_20m/gz_2010_us_050_00_20m.json": json.dumps(doc),
        "nrel_coarse_resource/renewable_energy_technical_potential_data.csv": FIXTURES
        / "boundaries"
        / "renewable_energy_technical_potential_data.csv",
    }
    logs = build(data_dir(tmp_path, files), "boundaries")
    assert sum(logs["counties"].dropped.values()) == 0
    return logs["counties"]


def invalid_geometry(tmp_path: Path, capsys) -> RowLog:
    bowtie = shapely.Polygon([(-104, 31), (-103, 32), (-103, 31), (-104, 32), (-104, 31)])
    square = shapely.box(-102.5, 31.0, -101.0, 33.0)
    return build(data_dir(tmp_path, flare_files(basins=basins_csv([bowtie, square]))), "flares")[
        "flare_basins"
    ]


def empty_layer_in_layers_gpkg(tmp_path: Path, capsys) -> Cli:
    out = layers_out(tmp_path, lambda layers: layers | {"plants": layers["plants"].iloc[0:0]})
    return cli(capsys, "score", "--out", out)


def empty_source(tmp_path: Path, capsys) -> object:
    return build(data_dir(tmp_path, {MIRTA: mirta([])}), "military")


def nan_capacity(tmp_path: Path, capsys) -> RowLog:
    return plants_delta(tmp_path, lambda f: f.assign(Install_MW=["", *f["Install_MW"][1:]]))


def negative_capacity(tmp_path: Path, capsys) -> RowLog:
    return plants_delta(tmp_path, lambda f: f.assign(Install_MW=["-663", *f["Install_MW"][1:]]))


def absurd_capacity(tmp_path: Path, capsys) -> RowLog:
    return plants_delta(tmp_path, lambda f: f.assign(Install_MW=["1e9", *f["Install_MW"][1:]]))


def absurd_capacity_in_layers_gpkg(tmp_path: Path, capsys) -> Cli:
    def edit(layers: dict) -> dict:
        plants = layers["plants"].copy()
        plants.loc[0, "capacity_mw"] = 1e9
        return layers | {"plants": plants}

    return cli(capsys, "score", "--out", layers_out(tmp_path, edit))


def nan_mineable_in_sites(tmp_path: Path, capsys) -> Cli:
    out = scored_out(tmp_path)
    sites = pyogrio.read_dataframe(out / "sites.gpkg", layer="candidate_sites")
    sites.loc[sites.index[:2], "mineable_mw"] = [np.nan, -5.0]
    write_gpkg(out / "sites.gpkg", {"candidate_sites": sites})
    result = cli(capsys, "estimate", "--out", out)
    assert result.code == 0, result.err
    log = json.loads((out / "estimates.json").read_text())["selection"]["row_log"]
    counted = RowLog(log["layer"], log["rows_read"], log["dropped"], log["repaired"])
    return counted


def vnf2017_with(tmp_path: Path, old: str, new: str) -> RowLog:
    """Build flare sites with one value of the 2017 survey fixture edited; its row log."""
    text = (FIXTURES / "flares" / Path(VNF2017).name).read_text(encoding="utf-8-sig")
    assert text.count(old) == 1, old
    root = data_dir(tmp_path, flare_files() | {VNF2017: text.replace(old, new)})
    return build(root, "flares")["flare_sites"]


def negative_flare_volume(tmp_path: Path, capsys) -> RowLog:
    return vnf2017_with(tmp_path, "0.052311871", "-0.052311871")


def absurd_flare_volume(tmp_path: Path, capsys) -> RowLog:
    return vnf2017_with(tmp_path, "0.010550000", "1e9")


def swapped_lat_lon_flare(tmp_path: Path, capsys) -> RowLog:
    return vnf2017_with(tmp_path, "47.981200,-102.904150", "-102.904150,47.981200")


def coordinates_out_of_range(tmp_path: Path, capsys) -> RowLog:
    rows = [
        fort("Fort North", "Alaska", 95.0, -150.0),
        fort("Fort Nowhere", "Texas", "", -97.0),
        fort("Fort Good", "Texas", 31.1, -97.8),
    ]
    return build(data_dir(tmp_path, {MIRTA: mirta(rows)}), "military")["military_sites"]


def swapped_lat_lon(tmp_path: Path, capsys) -> RowLog:
    def swap(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[0, ["Latitude", "Longitude"]] = frame.loc[0, ["Longitude", "Latitude"]].to_numpy()
        return frame

    return plants_delta(tmp_path, swap)


def swapped_lat_lon_mirta(tmp_path: Path, capsys) -> RowLog:
    rows = [
        fort("Fort Swapped", "Massachusetts", -70.943131, 42.589288),
        fort("Fort Good", "Texas", 31.1, -97.8),
    ]
    return build(data_dir(tmp_path, {MIRTA: mirta(rows)}), "military")["military_sites"]


def duplicate_ids(tmp_path: Path, capsys) -> RowLog:
    return plants_delta(tmp_path, lambda f: pd.concat([f, f.iloc[[1]]], ignore_index=True))


def duplicate_ids_in_layers_gpkg(tmp_path: Path, capsys) -> Cli:
    def edit(layers: dict) -> dict:
        plants = layers["plants"].copy()
        plants.loc[1, "plant_id"] = plants.loc[0, "plant_id"]
        return layers | {"plants": plants}

    return cli(capsys, "score", "--out", layers_out(tmp_path, edit))


def not_a_geopackage(tmp_path: Path, capsys) -> Cli:
    out = tmp_path / "out"
    out.mkdir()
    (out / "layers.gpkg").write_text("<html><body>502 Bad Gateway</body></html>\n")
    return cli(capsys, "score", "--out", out)


def sites_not_a_geopackage(tmp_path: Path, capsys) -> Cli:
    out = tmp_path / "out"
    out.mkdir()
    (out / "sites.gpkg").write_bytes(b"SQLite format 3\x00" + bytes(200))
    return cli(capsys, "estimate", "--out", out)


def map_without_sites(tmp_path: Path, capsys) -> Cli:
    out = layers_out(tmp_path)
    (out / "sites.gpkg").write_text("not a database\n")
    return cli(capsys, "map", "--out", out)


# ------------------------------------------------------------------------------------ scenario


def scenario_unknown_key(tmp_path: Path, capsys) -> Cli:
    return cli(capsys, "score", "--scenario", scenario(tmp_path, r"^pue = 1\.10$", "pue = 1.10\npeu = 1.2"))


def scenario_weights_not_one(tmp_path: Path, capsys) -> Cli:
    path = scenario(tmp_path, r"^weight = 0\.25$", "weight = 0.45")
    return cli(capsys, "score", "--scenario", path, "--out", tmp_path / "out")


def scenario_negative_value(tmp_path: Path, capsys) -> Cli:
    path = scenario(tmp_path, r"^btc_price_usd = .*$", "btc_price_usd = -87500.0")
    return cli(capsys, "estimate", "--scenario", path, "--out", tmp_path / "out")


def scenario_out_of_range(tmp_path: Path, capsys) -> Cli:
    path = scenario(tmp_path, r"^uptime = 0\.95$", "uptime = 1.5")
    return cli(capsys, "estimate", "--scenario", path, "--out", tmp_path / "out")


def scenario_wrong_type(tmp_path: Path, capsys) -> Cli:
    path = scenario(tmp_path, r"^capture_fraction = .*$", 'capture_fraction = "a quarter"')
    return cli(capsys, "score", "--scenario", path, "--out", tmp_path / "out")


def scenario_nan(tmp_path: Path, capsys) -> Cli:
    path = scenario(tmp_path, r"^pue = 1\.10$", "pue = nan")
    return cli(capsys, "estimate", "--scenario", path, "--out", tmp_path / "out")


def scenario_not_toml(tmp_path: Path, capsys) -> Cli:
    path = scenario(tmp_path, r"^\[estimates\.market\]$", "[estimates.market")
    return cli(capsys, "score", "--scenario", path, "--out", tmp_path / "out")


def scenario_missing(tmp_path: Path, capsys) -> Cli:
    return cli(capsys, "score", "--scenario", tmp_path / "nope.toml", "--out", tmp_path / "out")


def unknown_asic(tmp_path: Path, capsys) -> Cli:
    path = scenario(tmp_path, r'^asic_model = ".*"$', 'asic_model = "Antminer S99 Hyper"')
    return cli(capsys, "estimate", "--scenario", path, "--out", tmp_path / "out")


def calculator_negative_gw(tmp_path: Path, capsys) -> Cli:
    return cli(capsys, "estimate", "--gw", "-5", "--network-ehs", "1000", "--json")


# ------------------------------------------------------------------------------------ outputs


def read_only_output_dir(tmp_path: Path, capsys, monkeypatch) -> Cli:
    out = layers_out(tmp_path)
    real_access = os.access

    def access(path, mode, *args, **kwargs):  # as a read-only mount answers, even for root
        if Path(path) == out and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    return cli(capsys, "score", "--out", out)


def output_dir_under_a_file(tmp_path: Path, capsys) -> object:
    root = data_dir(tmp_path, {MIRTA: FIXTURES / "misc" / "mirta-processed.json"})
    resolver = Resolver(DataOrigin(data_dir=root), progress=False)
    result = build_layers(resolver, themes=["military"])
    blocker = tmp_path / "results"
    blocker.write_text("a regular file where the output folder should be\n")
    return write_layers(result, resolver, blocker / "out" / "layers.gpkg")


def output_path_is_a_folder(tmp_path: Path, capsys) -> Cli:
    out = layers_out(tmp_path)
    (out / "sites_ranked.csv").mkdir()
    (out / "sites_ranked.csv" / "keep.txt").write_text("x")
    return cli(capsys, "score", "--out", out)


def killed_during_gpkg_write(tmp_path: Path, capsys, monkeypatch) -> tuple[Path, dict]:
    out = scored_out(tmp_path)
    before = listing(out)
    real_write = pyogrio.write_dataframe

    def dies_half_way(frame, path, **kwargs):
        real_write(frame.iloc[: len(frame) // 2], path, **kwargs)
        raise KeyboardInterrupt  # the user's Ctrl-C (or a kill) in the middle of the GeoPackage

    monkeypatch.setattr(pyogrio, "write_dataframe", dies_half_way)
    assert main(["score", "--out", str(out)]) != 0  # click reports Ctrl-C as "Aborted!"
    return out, before


def killed_during_json_write(tmp_path: Path, capsys, monkeypatch) -> tuple[Path, dict]:
    out = scored_out(tmp_path)
    assert main(["estimate", "--out", str(out)]) == 0
    before = listing(out)
    real_write_text = Path.write_text

    def dies_half_way(self, data, *args, **kwargs):
        if self.name.startswith(".estimates.json"):
            real_write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise SystemExit(137)  # killed
        return real_write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", dies_half_way)
    with pytest.raises(SystemExit):
        from gis.estimates.api import estimate_command

        estimate_command(
            out=out, scenario_path=None, as_json=False, network_ehs=None, console=Console(quiet=True)
        )
    return out, before


def hostile_text_in_map_and_report(tmp_path: Path, capsys) -> Path:
    out = make_out_dir(tmp_path / "out")
    sites = pyogrio.read_dataframe(out / "sites.gpkg", layer="candidate_sites")
    for column in ("name", "owner", "basis", "exclusion_reason"):
        sites[column] = sites[column].astype(object)
        sites.loc[sites.index[:5], column] = HOSTILE[column]
    write_gpkg(out / "sites.gpkg", {"candidate_sites": sites})
    estimates = json.loads((out / "estimates.json").read_text())
    estimates["scenario"] = HOSTILE["scenario"]
    (out / "estimates.json").write_text(json.dumps(estimates))
    assert main(["map", "--out", str(out)]) == 0
    from gis.outputs.api import report_command

    report_command(out=out, console=Console(quiet=True))
    return out


# ------------------------------------------------------------------------------------ the table

# ------------------------------------------------------------------------------------ hostile round 2


def one_entry_catalog(tmp_path: Path, monkeypatch, edit: Callable[[str], str] = lambda t: t) -> Path:
    """GIS_CATALOG_DIR holding only the MIRTA entry, edited by ``edit``."""
    catalog = tmp_path / "catalog"
    catalog.mkdir(exist_ok=True)
    entry = (Path(__file__).resolve().parent.parent / "layers" / "mirta_dod_sites.toml").read_text()
    (catalog / "mirta_dod_sites.toml").write_text(edit(entry))
    monkeypatch.setenv("GIS_CATALOG_DIR", str(catalog))
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path / "cache"))
    return catalog


def official_name_escaping_the_cache(tmp_path: Path, capsys, monkeypatch) -> Cli:
    one_entry_catalog(
        tmp_path,
        monkeypatch,
        lambda t: re.sub(r"^official_name = .*$", 'official_name = "../../../../pwned.csv"', t, flags=re.M),
    )
    monkeypatch.delenv("GIS_DATA_DIR", raising=False)
    monkeypatch.delenv("GIS_DATA_MIRROR", raising=False)
    got = cli(capsys, "fetch")
    assert not list(tmp_path.rglob("pwned.csv"))
    return got


def mirror_serving_more_than_catalogued(tmp_path: Path, capsys, monkeypatch, serve_dir) -> Cli:
    one_entry_catalog(tmp_path, monkeypatch)
    served = data_dir(tmp_path, {MIRTA: b"[" + b" " * (2 << 20)})  # 2 MiB for a 234 kB file
    got = cli(capsys, "fetch", "--mirror", serve_dir(served).url)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # no partial file
    return got


def mirror_with_unsupported_scheme(tmp_path: Path, capsys, monkeypatch) -> Cli:
    one_entry_catalog(tmp_path, monkeypatch)
    return cli(capsys, "fetch", "--mirror", "ftp://127.0.0.1/data")


def mirror_refusing_connections(tmp_path: Path, capsys, monkeypatch) -> Cli:
    one_entry_catalog(tmp_path, monkeypatch)
    return cli(capsys, "fetch", "--mirror", "http://127.0.0.1:9")


def gzip_bomb_in_data_dir(tmp_path: Path, capsys, monkeypatch) -> object:
    monkeypatch.setenv("GIS_MAX_INFLATE_MB", "1")
    return build(data_dir(tmp_path, {BSEE: gzip.compress(b"0" * (3 << 20))}), "offshore")


def zip_bomb_in_data_dir(tmp_path: Path, capsys, monkeypatch) -> object:
    monkeypatch.setenv("GIS_MAX_INFLATE_MB", "1")
    body = io_zip({"BoreholeRawData/mv_boreholes_all.txt": b"0" * (3 << 20)})
    return build(data_dir(tmp_path, {BSEE: body}), "offshore")


def status_geojson_edited(tmp_path: Path, edit: Callable[[dict], None]) -> Path:
    """The four plant sources, each EIA-860M feature edited in place by ``edit``."""
    doc = json.loads(PLANT_FILES["eia860m_plants_dec2025/power-plants.geojson"].read_text(encoding="utf-8"))
    for feature in doc["features"]:
        edit(feature)
    return data_dir(
        tmp_path, dict(PLANT_FILES) | {"eia860m_plants_dec2025/power-plants.geojson": json.dumps(doc)}
    )


def status_geojson_in_web_mercator(tmp_path: Path, capsys) -> RowLog:
    from pyproj import Transformer

    to_m = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)

    def to_metres(feature: dict) -> None:
        props = feature["properties"]
        x, y = to_m.transform(props["longitude"], props["latitude"])
        props["longitude"], props["latitude"] = x, y
        feature["geometry"]["coordinates"] = [x, y]

    logs = build(status_geojson_edited(tmp_path, to_metres), "plants")
    assert not any("outside the US" in r for r in logs["plant_status"].dropped)
    return logs["plant_status"]


def status_geojson_in_unknown_units(tmp_path: Path, capsys) -> object:
    def scramble(feature: dict) -> None:
        props = feature["properties"]
        props["longitude"], props["latitude"] = props["longitude"] * 1e6, props["latitude"] * 1e6
        feature["geometry"]["coordinates"] = [props["longitude"], props["latitude"]]

    return build(status_geojson_edited(tmp_path, scramble), "plants")


def very_long_plant_name(tmp_path: Path, capsys) -> RowLog:
    def longer(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[0, "Plant_Name"] = "Dam " * 100_000  # 400 kB of name
        return frame

    log = build(atlas_with(tmp_path, longer), "plants")["plants"]
    return log


def conflicting_duplicate_ids(tmp_path: Path, capsys) -> RowLog:
    def twin(frame: pd.DataFrame) -> pd.DataFrame:
        extra = frame.iloc[[0]].copy()
        extra["Install_MW"] = str(float(frame.iloc[0]["Install_MW"]) / 10)
        return pd.concat([frame, extra], ignore_index=True)

    edited = build(atlas_with(tmp_path, twin), "plants")["plants"]
    note = next(n for n in edited.notes if "disagree" in n)
    first = float(pd.read_csv(PLANT_FILES[ATLAS], dtype=str, encoding="utf-8-sig").iloc[0]["Install_MW"])
    assert f"{first:,.1f} vs {first / 10:,.1f}" in note and "first row in file order is kept" in note
    return edited


HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "Dam\rsplit row",
    "\x1b[31mred\x07 dam",
]


@dataclass(frozen=True)
class Safe:
    """Outputs hold hostile text safely: a row is a row, nothing a spreadsheet evaluates, no
    control character in the CSV, the XLSX or on the terminal."""


def hostile_names_in_outputs(tmp_path: Path, capsys) -> tuple[Path, str]:
    def edit(layers: dict) -> dict:
        plants = layers["plants"].copy()
        for i, name in enumerate(HOSTILE_NAMES[: len(plants)]):
            plants.loc[plants.index[i], "name"] = name
        return layers | {"plants": plants}

    out = layers_out(tmp_path, edit)
    got = cli(capsys, "score", "--out", out)
    assert got.code == 0, got.err
    return out, got.err


def control_characters_in_the_spreadsheet(tmp_path: Path, capsys) -> tuple[Path, str]:
    from gis.outputs.api import outputs_command

    out = make_out_dir(tmp_path / "out")
    sites = pyogrio.read_dataframe(out / "sites.gpkg", layer="candidate_sites")
    sites["name"] = sites["name"].astype(object)
    for i, name in enumerate(HOSTILE_NAMES):
        sites.loc[i, "name"] = name
    write_gpkg(out / "sites.gpkg", {"candidate_sites": sites}, dataset_metadata={"scenario": "default"})
    outputs_command(out=out, scenario_path=None, console=Console(stderr=True))
    return out, capsys.readouterr().err


def killed_between_score_and_outputs(tmp_path: Path, capsys) -> tuple[Path, dict]:
    from gis.io import staged_outputs
    from gis.scoring.api import score_command

    out = scored_out(tmp_path)
    assert main(["estimate", "--out", str(out)]) == 0
    before = listing(out)
    quiet = Console(quiet=True)
    with pytest.raises(SystemExit), staged_outputs(out) as stage:
        score_command(
            out=stage, scenario_path=None, console=quiet, engine="local", scheduler=None, grid=False
        )
        raise SystemExit(137)  # killed before the outputs stage
    return out, before


def leftovers_of_killed_runs(tmp_path: Path, capsys) -> Cli:
    out = layers_out(tmp_path)
    for name in (
        ".sites.gpkg.k1ll3d.tmp.gpkg",
        ".sites.gpkg.k1ll3d.tmp.gpkg-journal",
        ".staging-999999999-dead",
    ):
        (out / name).write_bytes(b"half")
    got = cli(capsys, "score", "--out", out)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    return got


def uncreatable_cache_folder(tmp_path: Path, capsys, monkeypatch) -> Cli:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be\n")
    monkeypatch.setenv("GIS_CACHE_DIR", str(blocker / "cache"))
    return cli(capsys, "score", "--out", layers_out(tmp_path))


CASES: list[tuple[str, Callable, object]] = [
    # sources
    ("missing source file", missing_file, Refused("census_cb_2010_20m", None)),
    ("missing data directory", missing_data_dir, Refused("nowhere", None)),
    ("wrong format: binary where JSON is expected", wrong_format_binary, Refused(MIRTA, None)),
    ("wrong format: an HTML login page saved as the CSV", wrong_format_html_page, Refused(VNF2017, "id_key_2017")),
    ("truncated gzip download (BSEE boreholes)", truncated_gzip, Refused(BSEE, None)),
    ("truncated gzip download (shale basins)", truncated_gzip_csv, Refused(BASINS, None)),
    ("truncated JSON download", truncated_json, Refused(MIRTA, None)),
    ("corrupted zip archive", corrupted_zip, Refused(BSEE, None)),
    ("archive with ../ member (zip-slip)", zip_slip, Refused(BSEE, "../../etc/cron.d/evil")),
    ("checksum mismatch on a mirror", checksum_mismatch, Refused(MIRTA, "sha256")),
    # layers
    ("missing required column in a source", missing_column, Refused(ATLAS, "Install_MW")),
    ("missing required column in layers.gpkg", missing_column_in_layers_gpkg, Refused("layers.gpkg", "capacity_mw")),
    ("missing CRS in layers.gpkg", missing_crs_in_layers_gpkg, Refused("layers.gpkg", "crs")),
    ("projected metres in a lat/lon source", projected_coordinates_declared_degrees, Counted("no valid coordinates", 1)),
    ("boundaries without CRS, coordinates in metres", boundaries_without_crs_in_metres, Refused("gz_2010_us_040", "crs")),
    ("counties in EPSG:3857 without crs (as the 860M case)", counties_in_web_mercator_without_crs, Counted("EPSG:3857 detected", 3, "repaired")),
    ("invalid (self-intersecting) polygon", invalid_geometry, Counted("made valid", 1, "repaired")),
    ("empty layer in layers.gpkg", empty_layer_in_layers_gpkg, Noted("no federal hydro plants in the plants layer")),
    ("empty source (no rows)", empty_source, Refused(MIRTA, "installations")),
    ("NaN capacity", nan_capacity, Counted("atlas: no capacity", 1)),
    ("negative capacity", negative_capacity, Counted("atlas: zero or negative capacity", 1)),
    ("absurd capacity 1e9 MW", absurd_capacity, Counted("atlas: capacity above", 1)),
    ("absurd capacity 1e9 MW in layers.gpkg", absurd_capacity_in_layers_gpkg, Refused("layers.gpkg", "capacity_mw")),
    ("NaN / negative mineable MW in sites.gpkg", nan_mineable_in_sites, Counted("mineable", 2)),
    ("latitude out of range / missing", coordinates_out_of_range, Counted("no valid coordinates", 2)),
    ("negative flared volume", negative_flare_volume, Counted("2017: negative flared volume", 1)),
    ("absurd flared volume 1e9 bcm/yr", absurd_flare_volume, Counted("2017: above 10 bcm/yr", 1)),
    ("swapped lat/lon (plants)", swapped_lat_lon, Counted("atlas: latitude/longitude swapped", 1, "repaired")),
    ("swapped lat/lon (military)", swapped_lat_lon_mirta, Counted("swapped", 1, "repaired")),
    ("swapped lat/lon (flares)", swapped_lat_lon_flare, Counted("2017: latitude/longitude swapped", 1, "repaired")),
    ("duplicate ids in a source", duplicate_ids, Counted("atlas: duplicate plant code", 1)),
    ("duplicate ids in layers.gpkg", duplicate_ids_in_layers_gpkg, Refused("layers.gpkg", "plant_id")),
    ("layers.gpkg is not a GeoPackage", not_a_geopackage, Refused("layers.gpkg", None)),
    ("sites.gpkg is a broken database", sites_not_a_geopackage, Refused("sites.gpkg", None)),
    ("map from a broken sites.gpkg", map_without_sites, Refused("sites.gpkg", None)),
    # scenario
    ("scenario: unknown key", scenario_unknown_key, Refused("scenario.toml", "estimates.peu")),
    ("scenario: weights not summing to 1", scenario_weights_not_one, Refused("scenario.toml", "scoring.criteria")),
    ("scenario: negative price", scenario_negative_value, Refused("scenario.toml", "estimates.market.btc_price_usd")),
    ("scenario: uptime 1.5", scenario_out_of_range, Refused("scenario.toml", "estimates.uptime")),
    ("scenario: text where a number goes", scenario_wrong_type, Refused("scenario.toml", "scoring.sites.flare_gas.capture_fraction")),
    ("scenario: nan", scenario_nan, Refused("scenario.toml", "estimates.pue")),
    ("scenario: not TOML", scenario_not_toml, Refused("scenario.toml", None)),
    ("scenario: file missing", scenario_missing, Refused("nope.toml", None)),
    ("unknown ASIC model", unknown_asic, Refused("scenario.toml", "estimates.asic_model")),
    ("calculator: negative GW", calculator_negative_gw, Refused("", "--gw")),
    # outputs
    ("read-only output directory", read_only_output_dir, Refused("out", None)),
    ("output folder under a regular file", output_dir_under_a_file, Refused("results", None)),
    ("output file name taken by a folder", output_path_is_a_folder, Refused("sites_ranked.csv", None)),
    ("killed while writing the GeoPackage", killed_during_gpkg_write, KeptOld()),
    ("killed while writing estimates.json", killed_during_json_write, KeptOld()),
    ("HTML/JS in text fields reaching map and report", hostile_text_in_map_and_report, Inert()),
    # hostile data, archives and networks, round 2
    ("catalog official_name leading out of the cache", official_name_escaping_the_cache, Refused("pwned.csv", "official_name")),
    ("mirror serving far more than the catalogued size", mirror_serving_more_than_catalogued, Refused(MIRTA, "size_bytes")),
    ("mirror with an unsupported URL scheme", mirror_with_unsupported_scheme, Refused("ftp://127.0.0.1", None)),
    ("mirror refusing connections", mirror_refusing_connections, Refused("127.0.0.1:9", None)),
    ("gzip bomb in the data directory", gzip_bomb_in_data_dir, Refused(BSEE, None)),
    ("zip bomb in the data directory", zip_bomb_in_data_dir, Refused(BSEE, None)),
    ("EIA-860M GeoJSON in EPSG:3857 without crs", status_geojson_in_web_mercator, Counted("EPSG:3857 detected", 8, "repaired")),
    ("EIA-860M coordinates in no known unit", status_geojson_in_unknown_units, Refused("power-plants.geojson", "latitude/longitude")),
    ("a 400 kB plant name", very_long_plant_name, Counted("name longer than 200 characters clipped", 1, "repaired")),
    ("one plant code, two capacities", conflicting_duplicate_ids, Counted("atlas: duplicate plant code", 2)),  # the fixture has one
    ("formula-like and multi-line names in the CSV", hostile_names_in_outputs, Safe()),
    ("control characters in names reaching the XLSX", control_characters_in_the_spreadsheet, Safe()),
    ("killed between score and the outputs of one run", killed_between_score_and_outputs, KeptOld()),
    ("temporary files and staging of killed runs", leftovers_of_killed_runs, Noted("removed a temporary file of a killed run")),
    ("cache folder that cannot be created", uncreatable_cache_folder, Noted("GIS_CACHE_DIR")),
]  # fmt: skip


def _call(run: Callable, tmp_path: Path, capsys, monkeypatch, serve_dir) -> object:
    names = run.__code__.co_varnames[: run.__code__.co_argcount]
    extra = {"monkeypatch": monkeypatch, "serve_dir": serve_dir}
    return run(tmp_path, capsys, **{k: v for k, v in extra.items() if k in names})


def _check_refused(expected: Refused, run: Callable, tmp_path: Path, capsys, monkeypatch, serve_dir) -> None:
    try:
        got = _call(run, tmp_path, capsys, monkeypatch, serve_dir)
    except GisError as exc:
        assert expected.file in (exc.file or ""), exc.message
        assert exc.field == expected.field or (
            expected.field and (exc.field or "").startswith(expected.field)
        ), exc.message
        assert exc.fix, exc.message
        assert exc.message.count("\n") == 0
        return
    assert isinstance(got, Cli), f"expected a GisError, the run returned {got!r}"
    err = got.err.strip()
    assert got.code == 1, err
    assert "Traceback" not in err and "unexpected error" not in err, err
    assert err.count("error:") == 1, err  # progress lines may come first; the error is the last paragraph
    assert "\n\n" not in err[err.index("error:") :].strip(), err
    assert expected.file in err, err
    if expected.field:
        assert f"field '{expected.field}" in err.lower(), err
    assert "Fix:" in err, err


def _check_counted(expected: Counted, log: object) -> None:
    if isinstance(log, dict):
        log = next(iter(log.values()))
    assert isinstance(log, RowLog), log
    counts = getattr(log, expected.kind)
    hits = {reason: n for reason, n in counts.items() if expected.text in reason}
    assert sum(hits.values()) == expected.rows, (expected, log.as_dict())
    assert log.rows_kept == log.rows_read - log.rows_dropped


def _check_kept_old(got: tuple[Path, dict]) -> None:
    out, before = got
    assert listing(out) == before  # byte-identical, and no .tmp file left behind
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def _check_inert(out: Path) -> None:
    for page in ("map.html", "report.html"):
        html = (out / page).read_text(encoding="utf-8")
        for text in HOSTILE.values():
            assert text not in html, (page, text)
        assert not re.search(r"<(svg/onload|img src=x)", html, flags=re.IGNORECASE), page
    report = (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r"&lt;script&gt;alert\((&#x27;|&#39;)scenario(&#x27;|&#39;)\)&lt;/script&gt;", report)


@pytest.mark.parametrize(("run", "expected"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_bad_input(run: Callable, expected: object, tmp_path: Path, capsys, monkeypatch, serve_dir) -> None:
    if isinstance(expected, Refused):
        _check_refused(expected, run, tmp_path, capsys, monkeypatch, serve_dir)
        return
    got = _call(run, tmp_path, capsys, monkeypatch, serve_dir)
    if isinstance(expected, Counted):
        _check_counted(expected, got)
    elif isinstance(expected, Noted):
        assert isinstance(got, Cli) and got.code == 0, got
        assert expected.text in got.err, got.err
    elif isinstance(expected, KeptOld):
        _check_kept_old(got)
    elif isinstance(expected, Safe):
        _check_safe(got)
    else:
        _check_inert(got)


def _check_safe(got: tuple[Path, str]) -> None:
    import csv

    out, err = got
    assert "\x1b" not in err and "\x07" not in err
    ranked = out / "sites_ranked.csv"
    if ranked.is_file() and (out / "sites.gpkg").is_file():
        text = ranked.read_text(encoding="utf-8")
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text)
        rows = list(csv.reader(io_text(text)))
        sites = pyogrio.read_dataframe(out / "sites.gpkg", layer="candidate_sites")
        assert len(rows) == len(sites) + 1  # a row is a row
        for row in rows[1:]:
            assert not [cell for cell in row if cell[:1] in ("=", "+", "-", "@") and not _number(cell)], row
    book = out / "sites_ranked.xlsx"
    if book.is_file():
        from openpyxl import load_workbook

        sheet = load_workbook(book, read_only=True)["all"]
        cells = [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
        assert not [c for c in cells if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", c)]
        assert any("red" in c for c in cells) and any("HYPERLINK" in c for c in cells)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def io_text(text: str):
    import io

    return io.StringIO(text, newline="")


def test_table_covers_enough_bad_inputs() -> None:
    assert len(CASES) >= 25
    assert len({case[0] for case in CASES}) == len(CASES)


def test_debug_shows_the_traceback_and_plain_does_not(tmp_path: Path, capsys) -> None:
    plain = cli(capsys, "score", "--scenario", tmp_path / "nope.toml")
    debug = cli(capsys, "--debug", "score", "--scenario", tmp_path / "nope.toml")
    assert plain.code == debug.code == 1
    assert "Traceback" not in plain.err
    assert "Traceback (most recent call last)" in debug.err and "FileNotFoundError" in debug.err
    assert "scenario file does not exist" in debug.err
