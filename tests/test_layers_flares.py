"""Flare sites (VNF 2017 / 2015) and shale basins with flared gas (Flaring Monitor)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis.config.catalog import load_source
from gis.config.settings import DataOrigin
from gis.errors import GisError
from gis.layers import flares
from gis.layers.military import state_code
from gis.rowlog import RowLog
from gis.schema import validate
from gis.sources import Resolver

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "flares"
SOURCES = ("vnf_flares_2017", "vnf_flares_2015", "flaring_monitor")
VNF2017 = "vnf_flares_2017/VIIRS_Global_flaring_d.7_slope_0.029353_2017_web_v1.csv"
VNF2015 = "vnf_flares_2015/eog_global_flare_survey_2015_flare_list.csv"
MONTHS = [
    f"{m}_{y}"
    for y in (2019, 2020)
    for m in ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
] + [f"{m}_2021" for m in ["jan", "feb", "mar", "apr", "may"]]


def _catalog() -> dict:
    return {n: load_source(REPO / "layers" / f"{n}.toml") for n in SOURCES}


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.MultiPolygon:
    return shapely.MultiPolygon([shapely.box(x0, y0, x1, y1)])


def _states() -> gpd.GeoDataFrame:
    """Coarse made-up TX and ND rectangles (the Gulf of Mexico point lies in neither)."""
    return gpd.GeoDataFrame(
        {"state": ["TX", "ND"]},
        geometry=[shapely.box(-106.6, 25.9, -93.5, 36.5), shapely.box(-104.1, 45.9, -96.6, 49.0)],
        crs="EPSG:4326",
    )


def _basins_csv(path: Path) -> None:
    """Flaring Monitor's lower_48_basins layout: hex EWKB (SRID 4326) MultiPolygons, gzipped."""
    rows = [
        (44, "Permian", "Delaware", _box(-104.5, 31.0, -103.0, 32.5)),
        (46, "Permian", "Midland", _box(-102.5, 31.0, -101.0, 33.0)),
        (41, "Williston", "Three Forks", _box(-104.0, 46.5, -100.0, 49.0)),
        (42, "Williston", "Bakken", _box(-103.5, 47.0, -101.5, 48.5)),
        (33, "Western Gulf", "Eagle Ford", _box(-100.0, 28.0, -97.0, 30.0)),
        (38, "Denver Basin", "Niobrara", _box(-105.0, 39.5, -103.5, 41.5)),
        (36, "Powder River", "Niobrara", _box(-106.5, 42.5, -105.0, 45.0)),
        (17, "Illinois", "New Albany", _box(-89.0, 37.0, -86.0, 40.0)),
    ]
    frame = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "geom": [shapely.to_wkb(shapely.set_srid(r[3], 4326), hex=True, include_srid=True) for r in rows],
            "basin": [r[1] for r in rows],
            "lithology": "Shale",
            "shale_play": [r[2] for r in rows],
            "source": "EIA",
            "area_sq_mi": 1000.0,
            "area_sq_km": 2589.99,
            "age_shale": "Devonian",
        }
    )
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False)


def _stats_csv(path: Path) -> None:
    """Flaring Monitor's basin_stats layout: flared gas in mmcf, then other products (ignored)."""
    plays = [
        ("Permian", "All", 1200.0),
        ("Permian", "Delaware", 800.0),
        ("Permian", "Midland", 400.0),
        ("Williston", "Bakken", 500.0),
        ("Williston", "Three Forks", 510.0),
        ("Eagleford", "Eagle Ford", 240.0),
        ("Denver Julesberg", "Niobrara", 120.0),
    ]
    rows = []
    for basin, play, year_total in plays:
        monthly = {m: (year_total / 12 if m.endswith("_2020") else 1.0) for m in MONTHS}
        rows.append(
            {"basin": basin, "play_subbasin": play, "product_type": "flared gas", "product_units": "mmcf"}
            | monthly
        )
        rows.append(
            {"basin": basin, "play_subbasin": play, "product_type": "flared gas", "product_units": "mcfpd"}
            | {m: 999.0 for m in MONTHS}
        )
    pd.DataFrame(rows).to_csv(path, index=False)


def make_data_dir(root: Path) -> Path:
    """A data directory in the mirror layout, from the hand-written fixtures."""
    for rel in (VNF2017, VNF2015):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / Path(rel).name, root / rel)
    (root / "flaring_monitor").mkdir(parents=True, exist_ok=True)
    _basins_csv(root / "flaring_monitor" / "lower_48_basins.csv.gz")
    _stats_csv(root / "flaring_monitor" / "flaring_monitor_basin_stats.csv")
    return root


@pytest.fixture
def built(tmp_path: Path) -> dict:
    resolver = Resolver(DataOrigin(data_dir=make_data_dir(tmp_path)), catalog=_catalog(), progress=False)
    return flares.build(resolver, {"states": _states()})


def test_sites_keep_us_rows_and_count_the_rest(built: dict) -> None:
    sites, log = built["flare_sites"]
    sites = validate(sites, "flare_sites")
    assert log.dropped["blank rows left by the Excel export"] == 3
    assert log.dropped["outside the US"] == 3  # Iraq, Mexico (2017); Venezuela (2015)
    assert log.rows_read == 9 + 4 and log.rows_kept == len(sites) == 7
    assert sorted(sites.loc[sites["year"] == 2017, "flare_id"]) == [
        "vnf2017:10231",
        "vnf2017:10467",
        "vnf2017:10502",
        "vnf2017:11009",
    ]
    assert "vnf2015:VNF_e2012-2015_n20011_x1036129W_y319123N_v1.0" in set(sites["flare_id"])
    assert sites.loc[sites["year"] == 2017, "volume_bcm"].sum() == pytest.approx(0.098864809)


def test_sites_setting_state_and_basin(built: dict) -> None:
    sites = built["flare_sites"][0].set_index("flare_id")
    gulf = sites.loc["vnf2017:11009"]
    assert (gulf["setting"], gulf["state"], gulf["basin"]) == ("offshore", "", "")
    assert tuple(sites.loc["vnf2017:10231", ["setting", "state", "basin"]]) == ("onshore", "TX", "Permian")
    assert sites.loc["vnf2017:10467", "basin"] == "Williston"
    assert sites.loc["vnf2017:10502", "basin"] == "Western Gulf"
    refinery = sites.loc["vnf2015:VNF_e2012-2015_n20544_x0945101W_y296877N_v1.0"]
    assert (refinery["flare_type"], refinery["basin"], refinery["state"]) == ("refinery", "", "TX")


def test_detection_frequency_is_a_share(built: dict) -> None:
    sites = built["flare_sites"][0].set_index("flare_id")
    assert sites.loc["vnf2015:VNF_e2012-2015_n20011_x1036129W_y319123N_v1.0", "detection_freq"] == 0.625
    assert sites.loc["vnf2017:10231", "detection_freq"] == pytest.approx(0.842105)
    assert sites["detection_freq"].between(0, 1).all()


def test_basins_decode_and_convert_mmcf(built: dict) -> None:
    basins, log = built["flare_basins"]
    basins = validate(basins, "flare_basins").set_index("basin_id")
    bcm_per_mmcf = 28_316.846592 / 1e9
    assert pytest.approx(bcm_per_mmcf, rel=1e-12) == flares.MMCF_TO_BCM
    # Permian: the "All" row, not All + its plays
    assert basins.loc[44, "flared_bcm_2020"] == pytest.approx(1200 * bcm_per_mmcf)
    assert basins.loc[46, "flared_bcm_2020"] == pytest.approx(1200 * bcm_per_mmcf)
    # Williston: Bakken lies inside Three Forks, so the larger play counts once
    assert basins.loc[41, "flared_bcm_2020"] == pytest.approx(510 * bcm_per_mmcf)
    # name matching: Eagleford -> Western Gulf; Denver Julesberg -> Denver Basin, not Powder River
    assert basins.loc[33, "flared_bcm_2020"] == pytest.approx(240 * bcm_per_mmcf)
    assert basins.loc[38, "flared_bcm_2020"] == pytest.approx(120 * bcm_per_mmcf)
    assert np.isnan(basins.loc[36, "flared_bcm_2020"]) and np.isnan(basins.loc[17, "flared_bcm_2020"])
    assert any("2 basins (2 polygons) have no 2020" in n for n in log.notes)
    # area measured in EPSG:5070: 1.5 x 1.5 degrees at 31-32.5 N = 167 km x 142 km ~ 23,700 km2
    assert 23_000 < basins.loc[44, "area_km2"] < 24_500
    assert basins.geometry.geom_type.eq("MultiPolygon").all()


def test_decode_ewkb_honours_srid() -> None:
    point = shapely.set_srid(shapely.Point(-11_131_949.08, 4_865_942.28), 3857)
    values = pd.Series([shapely.to_wkb(point, hex=True, include_srid=True)])
    decoded = flares.decode_ewkb(values, file="x.csv")
    assert decoded.crs == "EPSG:4326"
    assert decoded.iloc[0].x == pytest.approx(-100.0, abs=1e-6)
    assert decoded.iloc[0].y == pytest.approx(40.0, abs=1e-6)


def test_decode_ewkb_rejects_garbage() -> None:
    with pytest.raises(GisError) as err:
        flares.decode_ewkb(pd.Series(["0106zz"]), file="basins.csv.gz")
    assert err.value.field == "geom" and err.value.file == "basins.csv.gz"


def test_missing_mapped_column_names_file_and_column(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    path = root / VNF2017
    text = path.read_bytes().decode("utf-8-sig").replace("BCM_2017", "BCM_2018")
    path.write_text(text, encoding="utf-8")
    resolver = Resolver(DataOrigin(data_dir=root), catalog=_catalog(), progress=False)
    with pytest.raises(GisError) as err:
        flares.build(resolver, {"states": _states()})
    assert err.value.field == "BCM_2017" and err.value.file == str(path)


def test_stats_without_2020_months_fail(tmp_path: Path) -> None:
    stats = pd.DataFrame(
        {
            "basin": ["Permian"],
            "play": ["All"],
            "product_type": ["flared gas"],
            "product_units": ["mmcf"],
            "jan_2019": [1.0],
        }
    )
    basins = gpd.GeoDataFrame(
        {"basin": ["Permian"], "shale_play": ["Delaware"]},
        geometry=[_box(-104, 31, -103, 32)],
        crs="EPSG:4326",
    )
    with pytest.raises(GisError) as err:
        flares.basin_flared_bcm(stats, basins, log=RowLog("t"), file="stats.csv")
    assert err.value.field == "jan_2020"


def test_no_states_degrades_with_a_note(tmp_path: Path) -> None:
    resolver = Resolver(DataOrigin(data_dir=make_data_dir(tmp_path)), catalog=_catalog(), progress=False)
    sites, log = flares.build(resolver, {})["flare_sites"]
    assert (sites["state"] == "").all() and (sites["setting"] == "unknown").all()
    assert any("no states layer" in n for n in log.notes)


def test_official_xlsx_form_is_read(tmp_path: Path, serve_dir) -> None:
    """EOG publishes each year as xlsx with the same columns: read it through the official path."""
    root = make_data_dir(tmp_path / "data")
    table = pd.read_csv(root / VNF2017, encoding="utf-8-sig")
    xlsx = root / "official" / "VIIRS_Global_flaring_d.7_slope_0.029353_2017_web_v1.xlsx"
    xlsx.parent.mkdir()
    table.to_excel(xlsx, index=False)
    server = serve_dir(root)
    catalog = {}
    for name, source in _catalog().items():
        files = []
        for f in source.files:
            url = (
                f"{server.url}/{f.path}"
                if name != "vnf_flares_2017"
                else f"{server.url}/official/{xlsx.name}"
            )
            files.append(f.model_copy(update={"url": url, "url_sha256": None}))
        catalog[name] = source.model_copy(update={"files": files})
    resolver = Resolver(DataOrigin(), cache=tmp_path / "cache", catalog=catalog, progress=False)
    sites, log = flares.build(resolver, {"states": _states()})["flare_sites"]
    assert resolver.get("vnf_flares_2017", "sites").path.suffix == ".xlsx"
    assert (sites["year"] == 2017).sum() == 4
    assert log.dropped["outside the US"] == 3


@pytest.mark.realdata
def test_real_flares(real_data_dir: Path) -> None:
    resolver = Resolver(DataOrigin(data_dir=real_data_dir), catalog=_catalog(), progress=False)
    census = gpd.read_file(real_data_dir / "census_cb_2010_20m" / "gz_2010_us_040_00_20m.json")
    states = gpd.GeoDataFrame(
        {"state": state_code(census["NAME"])}, geometry=census.geometry, crs="EPSG:4326"
    )
    out = flares.build(resolver, {"states": states})
    sites, log = out["flare_sites"]
    sites = validate(sites, "flare_sites")
    y2017 = sites[sites["year"] == 2017]
    assert len(y2017) == 3609 > 500
    assert y2017["volume_bcm"].sum() == pytest.approx(9.475, abs=0.01)
    assert log.dropped["blank rows left by the Excel export"] == 11_367
    y2015 = sites[sites["year"] == 2015]
    assert len(y2015) == 5039 and y2015["volume_bcm"].sum() == pytest.approx(12.30, abs=0.01)
    assert (sites["setting"] == "offshore").sum() > 50  # Gulf platforms
    assert y2017.loc[y2017["basin"] == "Permian", "volume_bcm"].sum() > 3.0
    basins = validate(out["flare_basins"][0], "flare_basins")
    assert len(basins) == 48
    permian = basins.loc[basins["basin"] == "Permian", "flared_bcm_2020"]
    assert permian.iloc[0] == pytest.approx(120_938 * flares.MMCF_TO_BCM)


def test_near_a_state_is_distance_to_the_union_of_states() -> None:
    """The offshore note's count: points within 2 km of some state, as measured to their union."""
    from shapely.geometry import Point, box

    from gis import METRIC_CRS
    from gis.layers.flares import _near_a_state

    states = gpd.GeoDataFrame(
        {"state": ["AA", "BB"]},
        geometry=[box(0, 0, 10_000, 10_000), box(10_000, 0, 20_000, 10_000)],
        crs=METRIC_CRS,
    ).to_crs(4326)
    xy = [(-1_999, 5_000), (-2_001, 5_000), (10_000, 11_500), (25_000, 25_000), (21_000, -1_000)]
    points = gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in xy], crs=METRIC_CRS).to_crs(4326)
    union = states.to_crs(METRIC_CRS).union_all()
    expected = points.to_crs(METRIC_CRS).distance(union).to_numpy() < 2_000.0
    assert (
        _near_a_state(points, states, 2_000.0).tolist()
        == expected.tolist()
        == [True, False, True, False, True]
    )
