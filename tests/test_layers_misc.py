"""Offshore wells (BSEE), military sites (MIRTA), the resource grid and raster, Bitcoin tables."""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from gis.config.catalog import load_source
from gis.config.settings import DataOrigin
from gis.errors import GisError
from gis.layers import bitcoin, military, offshore, resource
from gis.rowlog import RowLog
from gis.schema import validate
from gis.sources import Fetched, Resolver

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "misc"
SOURCES = (
    "bsee_boreholes_gom",
    "mirta_dod_sites",
    "nrel_coarse_resource",
    "blockchain_com_btc",
    "blockchain_com_btc_2020_2025",
    "coinmetrics_btc",
    "asic_models_2020",
)
COINMETRICS_COLUMNS = [
    "time",
    "AdrActCnt",
    "BlkCnt",
    "BlkSizeByte",
    "BlkSizeMeanByte",
    "CapMVRVCur",
    "CapMrktCurUSD",
    "CapRealUSD",
    "DiffMean",
    "FeeMeanNtv",
    "FeeMeanUSD",
    "FeeMedNtv",
    "FeeMedUSD",
    "FeeTotNtv",
    "FeeTotUSD",
    "HashRate",
    "IssContNtv",
    "IssContPctAnn",
    "IssContUSD",
    "IssTotNtv",
    "IssTotUSD",
    "NVTAdj",
    "NVTAdj90",
    "PriceBTC",
    "PriceUSD",
    "ROI1yr",
    "ROI30d",
    "SplyCur",
    "SplyExpFut10yrCMBI",
    "SplyFF",
    "TxCnt",
    "TxTfrCnt",
    "TxTfrValAdjNtv",
    "TxTfrValAdjUSD",
    "TxTfrValMeanNtv",
    "TxTfrValMeanUSD",
    "TxTfrValMedNtv",
    "TxTfrValMedUSD",
    "TxTfrValNtv",
    "TxTfrValUSD",
    "VtyDayRet180d",
    "VtyDayRet30d",
    "VtyDayRet60d",
]
ASIC_HEADER = [
    "Company",
    "Device",
    "Device Age (M)(03/2020) ",
    "Hashrate (T)",
    "Power Consumption (W)",
    "Unit Power (W/T) #",
    "Produced (24h) (BTC)",
    "Revenue (24h)",
    "Daily Cost$\xa0/kWh",
    "Profits (24h)",
    "Electricity Cost Rate\xa0",
    "Year Released",
    "Month Released",
    "",
    "",
]


def _catalog() -> dict:
    return {n: load_source(REPO / "layers" / f"{n}.toml") for n in SOURCES}


def _write(path: Path, text: str, *, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def make_data_dir(root: Path) -> Path:
    """The mirror layout for every source of this module, from fixtures and made-up rows."""
    wells = root / "bsee_boreholes_gom" / "mv_boreholes_all.txt.gz"
    wells.parent.mkdir(parents=True)
    with open(FIXTURES / "mv_boreholes_all.txt", "rb") as src, gzip.open(wells, "wb") as dst:
        dst.write(src.read())
    (root / "mirta_dod_sites").mkdir()
    shutil.copy(FIXTURES / "mirta-processed.json", root / "mirta_dod_sites" / "mirta-processed.json")
    _write(
        root / "nrel_coarse_resource" / "lat_lng_ghi.csv",
        "lng,lat,value\n-96,28,4.722\n-96,29,4.663\n-102,33,5.313\n",
    )
    _write(
        root / "nrel_coarse_resource" / "lat_lng_wind.csv", "lng,lat,value\n-96,28,2\n-102,33,4\n-101,47,5\n"
    )
    old_hr = "timestamp,hash-rate\n2009-01-09 23:00:00,1.0652200634920637e-7\n2020-04-10 00:00:00,110000000.0\n2020-04-13 00:00:00,109000000.0\n"
    _write(root / "blockchain_com_btc" / "bitcoin-all-time-hash-rate.csv", old_hr, bom=True)
    old_diff = (
        "Timestamp,difficulty\n2021-10-08 00:00:00,19893045048575\n2021-10-08 12:00:00,19893045048576\n"
    )
    _write(root / "blockchain_com_btc" / "bitcoin-1year-miner-difficulty.csv", old_diff, bom=True)
    days = pd.date_range("2020-04-11", periods=12, freq="D").strftime("%Y-%m-%d")
    hr = "Date,hash-rate\n" + "".join(f"{d},{1.0e8 + i * 1.0e6}\n" for i, d in enumerate(days))
    diff = "Date,difficulty\n" + "".join(
        f"{d},{1.4715214060657e13 if i < 9 else 1.5e13}\n" for i, d in enumerate(days)
    )
    _write(root / "blockchain_com_btc_2020_2025" / "hashrate.csv", hr)
    _write(root / "blockchain_com_btc_2020_2025" / "difficulty.csv", diff)
    cm_rows = [
        ("2009-01-03", "", ""),
        ("2009-01-09", "1.0", "9.444951e-07"),
        ("2020-04-10", "1.4715e13", "1.2e8"),
    ]
    cm_rows.append(("2020-04-11", "1.4715e13", "9.9e7"))
    lines = [",".join(COINMETRICS_COLUMNS)]
    for day, difficulty, hashrate in cm_rows:
        row = [""] * len(COINMETRICS_COLUMNS)
        row[0], row[COINMETRICS_COLUMNS.index("DiffMean")], row[COINMETRICS_COLUMNS.index("HashRate")] = (
            day,
            difficulty,
            hashrate,
        )
        lines.append(",".join(row))
    _write(root / "coinmetrics_btc" / "btc.csv", "\n".join(lines) + "\n")
    devices = [
        [
            "Bitmain",
            "Antminer S19 Pro",
            "1",
            "110",
            "3250",
            "30",
            "0.00167102",
            "$ 13.24",
            "$ 3.90",
            "$ 9.34",
            "29%",
            "2020",
            "2",
            "",
            "",
        ],
        [
            "Whatsminer",
            "Whatsminer M30S",
            "3",
            "88",
            "3344",
            "38",
            "0.0013",
            "$ 10.59",
            "$ 4.01",
            "$ 6.58",
            "38%",
            "2019",
            "12",
            "",
            "",
        ],
        [
            "Bitmain",
            "Antminer S9",
            "6",
            "14",
            "1190",
            "85",
            "0.0002",
            "$ 1.68",
            "$ 1.43",
            "$ 0.25",
            "85%",
            "2019",
            "9",
            "",
            "",
        ],
        [
            "Bitmain",
            "Antminer S9",
            "44",
            "13",
            "1300",
            "100",
            "0.0002",
            "$ 1.56",
            "$ 1.56",
            "$ 0.00",
            "100%",
            "2016",
            "7",
            "",
            "",
        ],
        [
            "Canaan",
            "Avalon  A1166 ( Pro )",
            "5",
            "81",
            "3400",
            "42",
            "0.0012",
            "$ 9.75",
            "$ 4.08",
            "$ 5.67",
            "42%",
            "2019",
            "10",
            "",
            "",
        ],
        ["Ebang", "Ebit E12", "8", "0", "2500", "57", "0", "$ 0", "$ 3.0", "$ 0", "0%", "2019", "7", "", ""],
    ]
    table = pd.DataFrame(devices, columns=range(len(ASIC_HEADER)))
    csv = ",".join(ASIC_HEADER) + "\n" + table.to_csv(index=False, header=False)
    _write(root / "asic_models_2020" / "mining-devices.csv", csv, bom=True)
    return root


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return make_data_dir(tmp_path / "data")


def _resolver(root: Path) -> Resolver:
    return Resolver(DataOrigin(data_dir=root), catalog=_catalog(), progress=False)


# ------------------------------------------------------------------------------ offshore


def test_offshore_gulf_only_with_counts(data_dir: Path) -> None:
    wells, log = offshore.build(_resolver(data_dir), {})["offshore_wells"]
    wells = validate(wells, "offshore_wells").set_index("api_well_number")
    assert log.dropped == {
        "outside the Gulf region (REGION_CODE not G)": 1,
        "no surface coordinates": 1,
    }
    assert len(wells) == 4 and (wells["region"] == "G").all()
    deep = wells.loc[608124009800]
    assert (deep["water_depth_ft"], deep["spud_year"], deep["status_year"], deep["status_code"]) == (
        6950.0,
        2019,
        2020,
        "TA",
    )
    assert deep["well_name"] == "001" and deep["operator"] == "Deepwater Example Co"
    odd = wells.loc[177094091200]
    assert pd.isna(odd["spud_year"]) and odd["status_year"] == 2002 and odd["water_depth_ft"] == 35.5
    assert log.repaired == {"spud date not M/D/YYYY": 1}


def test_offshore_nad27_is_shifted_to_wgs84(data_dir: Path) -> None:
    wells = offshore.build(_resolver(data_dir), {})["offshore_wells"][0].set_index("api_well_number")
    point = wells.loc[177104155501, "geometry"]
    expected = pyproj.Transformer.from_crs("EPSG:4267", "EPSG:4326", always_xy=True).transform(
        -91.34867434, 28.25446196
    )
    assert (point.x, point.y) == pytest.approx(expected, abs=1e-9)
    shift_m = pyproj.Geod(ellps="WGS84").inv(-91.34867434, 28.25446196, point.x, point.y)[2]
    assert 5 < shift_m < 100  # NAD27 -> WGS 84 in the Gulf: tens of metres, not zero


def test_offshore_reads_the_official_zip(tmp_path: Path, data_dir: Path) -> None:
    archive = tmp_path / "BoreholeRawData.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(FIXTURES / "mv_boreholes_all.txt", "BoreholeRawData/mv_boreholes_all.txt")
    source = _catalog()["bsee_boreholes_gom"]
    fetched = Fetched(archive, "official", source, source.file("boreholes"))
    table = offshore.read_boreholes(fetched)
    assert len(table) == 6 and table["API_WELL_NUMBER"].iloc[0] == "177104155501"


@pytest.mark.parametrize("form", ["gz", "zip"])
def test_offshore_arrow_reader_gives_pandas_table(tmp_path: Path, form: str, monkeypatch) -> None:
    """Only the wanted columns, as text with only empty fields missing, whichever reader runs."""
    source = _catalog()["bsee_boreholes_gom"]
    path = tmp_path / ("BoreholeRawData.zip" if form == "zip" else "mv_boreholes_all.txt.gz")
    if form == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.write(FIXTURES / "mv_boreholes_all.txt", "BoreholeRawData/mv_boreholes_all.txt")
    else:
        path.write_bytes(gzip.compress((FIXTURES / "mv_boreholes_all.txt").read_bytes()))
    fetched = Fetched(path, "official", source, source.file("boreholes"))
    wanted = ["WELL_SPUD_DATE", "API_WELL_NUMBER", "WATER_DEPTH", "NOT_IN_THE_FILE"]
    fast = offshore.read_boreholes(fetched, wanted)
    monkeypatch.setattr(offshore, "read_text_csv", lambda *a, **k: None)
    slow = offshore.read_boreholes(fetched, wanted)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast.columns.tolist() == ["API_WELL_NUMBER", "WELL_SPUD_DATE", "WATER_DEPTH"]
    assert fast["WATER_DEPTH"].isna().sum() == 1  # the one empty field


def test_offshore_ragged_row_is_pandas_error(tmp_path: Path) -> None:
    path = tmp_path / "mv_boreholes_all.txt.gz"
    text = (FIXTURES / "mv_boreholes_all.txt").read_text().splitlines()
    text[2] += ',"extra","fields"'
    path.write_bytes(gzip.compress(("\n".join(text) + "\n").encode()))
    source = _catalog()["bsee_boreholes_gom"]
    with pytest.raises(GisError, match="cannot read the borehole table"):
        offshore.read_boreholes(Fetched(path, "official", source, source.file("boreholes")), ["WATER_DEPTH"])


def test_offshore_refuses_zip_slip(tmp_path: Path) -> None:
    archive = tmp_path / "BoreholeRawData.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../mv_boreholes_all.txt", "x")
    source = _catalog()["bsee_boreholes_gom"]
    with pytest.raises(GisError) as err:
        offshore.read_boreholes(Fetched(archive, "official", source, source.file("boreholes")))
    assert "escapes" in err.value.problem


def test_offshore_missing_column_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bsee_boreholes_gom" / "mv_boreholes_all.txt.gz"
    bad.parent.mkdir(parents=True)
    text = (FIXTURES / "mv_boreholes_all.txt").read_text().replace('"WATER_DEPTH"', '"WATER_DPTH"')
    with gzip.open(bad, "wt") as fh:
        fh.write(text)
    with pytest.raises(GisError) as err:
        offshore.build(_resolver(tmp_path), {})
    assert err.value.field == "WATER_DEPTH" and err.value.file == str(bad)


def test_parse_year() -> None:
    years = offshore.parse_year(pd.Series(["6/30/2000", "", None, "13/1/2000", "1/5/1947"]))
    assert years.tolist()[0] == 2000 and years.tolist()[4] == 1947 and years.isna().sum() == 3


# ------------------------------------------------------------------------------ military


def test_military_processed_json(data_dir: Path) -> None:
    sites, log = military.build(_resolver(data_dir), {})["military_sites"]
    sites = validate(sites, "military_sites").set_index("name")
    assert len(sites) == 6
    assert sites.loc["Andersen Example AFB", "state"] == "GU"
    assert sites.loc["Fort Example Caretaker", "state"] == "PR"
    assert sites.loc["Pago Example Reserve Center", "state"] == "AS"
    assert sites.loc["Joint Base Example", "joint_base"]
    assert sites.loc["Atlantis Example Annex", "state"] == ""
    assert log.repaired == {"state name not recognised, state left empty": 1}
    assert any("Atlantis" in n for n in log.notes)
    assert sites.loc["Pago Example Reserve Center", "geometry"].y == pytest.approx(-14.32812)


def test_military_official_featureserver_geojson(tmp_path: Path) -> None:
    source = _catalog()["mirta_dod_sites"]
    fetched = Fetched(FIXTURES / "mirta_points.geojson", "official", source, source.file("sites"))
    frame = military.read_mirta(fetched).set_index("name")
    row = frame.loc["JB Example-Bolling"]
    assert (row["branch"], row["component"], row["site_status"], bool(row["joint_base"])) == (
        "Air Force",
        "Active",
        "Active",
        True,
    )
    saipan = frame.loc["Saipan Example Reserve Center"]
    assert (saipan["branch"], saipan["component"], saipan["site_status"]) == (
        "Army Reserve",
        "Reserve",
        "Semi-Active",
    )
    assert military.state_code(frame["state"]).tolist() == ["MD", "DC", "MP", "VI"]
    assert frame.loc["St Thomas Example Armory", "component"] == "National Guard"


def test_military_official_through_the_builder(tmp_path: Path) -> None:
    """The official form reached through the resolver (a cached FeatureServer download)."""
    catalog = _catalog()
    cache = tmp_path / "cache"
    dest = cache / "official" / "mirta_dod_sites" / "mirta_points.geojson"
    dest.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "mirta_points.geojson", dest)
    resolver = Resolver(DataOrigin(), cache=cache, catalog=catalog, progress=False)
    sites = validate(military.build(resolver, {})["military_sites"][0], "military_sites")
    assert sorted(sites["state"]) == ["DC", "MD", "MP", "VI"]


def test_military_json_without_installations(tmp_path: Path) -> None:
    path = tmp_path / "mirta_dod_sites" / "mirta-processed.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"metadata": {}, "sites": []}))
    with pytest.raises(GisError) as err:
        military.build(_resolver(tmp_path), {})
    assert err.value.field == "installations"


def test_state_code_names_and_codes() -> None:
    names = pd.Series(["Texas", "northern mariana islands", "VI", " Guam ", None, "District of Columbia"])
    assert military.state_code(names).tolist() == ["TX", "MP", "VI", "GU", "", "DC"]


# ------------------------------------------------------------------------------ resource


def test_resource_grid_cells_follow_truncation(data_dir: Path) -> None:
    grid, log = resource.build(_resolver(data_dir), {})["resource_grid"]
    grid = validate(grid, "resource_grid").set_index("cell_id")
    assert len(grid) == 4  # outer join of 3 GHI and 3 wind cells sharing 2 keys
    # key (lng=-96, lat=28) covers lon (-97, -96], lat [28, 29): south-west corner -97_28
    assert grid.loc["-97_28", "geometry"].bounds == (-97.0, 28.0, -96.0, 29.0)
    assert (grid.loc["-97_28", "ghi_kwh_m2_day"], grid.loc["-97_28", "wind_class"]) == (4.722, 2.0)
    assert np.isnan(grid.loc["-97_29", "wind_class"]) and np.isnan(grid.loc["-102_47", "ghi_kwh_m2_day"])
    assert log.rows_read == 6


def test_resource_raster_roundtrip(tmp_path: Path, data_dir: Path) -> None:
    grid = resource.build(_resolver(data_dir), {})["resource_grid"][0]
    path = resource.resource_raster(grid, res_deg=0.5, path=tmp_path / "out" / "resource.tif")
    import rasterio

    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4326 and src.count == 2 and src.res == (0.5, 0.5)
        assert src.descriptions == resource.BANDS
    points = gpd.GeoSeries(
        [
            shapely.Point(-96.5, 28.5),  # inside -97_28
            shapely.Point(-102.5, 33.9),  # inside -103_33 (key -102, 33)
            shapely.Point(-100.5, 47.5),  # east of the wind-only cell -102_47: no cell
            shapely.Point(-101.5, 47.5),  # wind-only cell -102_47 (key -101, 47)
            shapely.Point(10.0, 10.0),  # far outside
        ],
        index=[10, 11, 12, 13, 14],
        crs="EPSG:4326",
    )
    sampled = resource.sample_raster(path, points)
    assert list(sampled.columns) == list(resource.BANDS) and list(sampled.index) == [10, 11, 12, 13, 14]
    assert sampled.loc[10].tolist() == pytest.approx([4.722, 2.0])
    assert sampled.loc[11].tolist() == pytest.approx([5.313, 4.0])
    assert sampled.loc[12].isna().all()
    assert np.isnan(sampled.loc[13, "ghi_kwh_m2_day"]) and sampled.loc[13, "wind_class"] == 5.0
    assert sampled.loc[14].isna().all()
    metric = resource.sample_raster(path, points.to_crs("EPSG:5070"))
    assert metric.loc[10].tolist() == pytest.approx([4.722, 2.0])


def test_resource_raster_rejects_bad_resolution(data_dir: Path, tmp_path: Path) -> None:
    grid = resource.build(_resolver(data_dir), {})["resource_grid"][0]
    with pytest.raises(GisError) as err:
        resource.resource_raster(grid, res_deg=0, path=tmp_path / "x.tif")
    assert err.value.field == "res_deg"


# ------------------------------------------------------------------------------ bitcoin


def test_btc_network_union_and_priority(data_dir: Path) -> None:
    out = bitcoin.build(_resolver(data_dir), {})
    network, log = out["btc_network"]
    network = validate(network, "btc_network").set_index("date")
    # 2020-04-11: the daily Blockchain.com series wins over Coin Metrics (9.9e7 TH/s)
    assert network.loc["2020-04-11", "hashrate_ehs"] == pytest.approx(100.0)
    assert network.loc["2020-04-11", "source"] == "blockchain_com_btc_2020_2025"
    # 2020-04-10: Coin Metrics wins over the old 3-day export (1.1e8 TH/s)
    assert network.loc["2020-04-10", "hashrate_ehs"] == pytest.approx(120.0)
    assert network.loc["2020-04-10", "source"] == "coinmetrics_btc"
    # 2020-04-13 and 2021-10-08: only old exports, or a mix
    assert network.loc["2021-10-08", "source"] == "blockchain_com_btc"
    assert network.loc["2021-10-08", "difficulty"] == 19893045048576  # last sample of the day
    assert network.loc["2009-01-09", "hashrate_ehs"] == pytest.approx(9.444951e-07 / 1e6)
    assert "2009-01-03" not in network.index
    assert log.dropped["coinmetrics_btc/btc/hashrate_ths: no value"] == 1
    assert log.dropped["blockchain_com_btc/difficulty/difficulty: second sample on the same day"] == 1


def test_btc_network_mixed_sources_named(data_dir: Path) -> None:
    path = data_dir / "blockchain_com_btc_2020_2025" / "difficulty.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # drop 2020-04-22's difficulty
    network = bitcoin.build(_resolver(data_dir), {})["btc_network"][0].set_index("date")
    assert network.loc["2020-04-22", "source"] == "blockchain_com_btc_2020_2025"
    assert np.isnan(network.loc["2020-04-22", "difficulty"])
    network_old = network.loc["2020-04-13"]
    assert network_old["source"] == "blockchain_com_btc_2020_2025"


def test_blockchain_official_json_and_headerless_csv(tmp_path: Path) -> None:
    source = _catalog()["blockchain_com_btc"]
    values = [{"x": 1231459200, "y": 1.0652200634920637e-7}, {"x": 1649030400, "y": 2.1e8}]
    js = tmp_path / "hash-rate-all.json"
    js.write_text(
        json.dumps(
            {"status": "ok", "name": "Total Hash Rate (TH/s)", "unit": "Hash Rate TH/s", "values": values}
        )
    )
    log = RowLog("t")
    series = bitcoin.read_series(
        Fetched(js, "official", source, source.file("hashrate")),
        date_col="timestamp",
        value_col="hash-rate",
        log=log,
        label="x",
    )
    assert series["date"].tolist() == ["2009-01-09", "2022-04-04"] and series["value"].iloc[1] == 2.1e8
    csv = tmp_path / "hash-rate-5y.csv"
    csv.write_text("2020-04-11 00:00:00,116308064.119463\n2020-04-12 00:00:00,111919080.567785\n")
    series = bitcoin.read_series(
        Fetched(csv, "official", source, source.file("hashrate")),
        date_col="Date",
        value_col="hash-rate",
        log=log,
        label="y",
    )
    assert series["date"].tolist() == ["2020-04-11", "2020-04-12"]
    js.write_text(json.dumps({"unit": "Hash Rate EH/s", "values": values}))
    with pytest.raises(GisError) as err:
        bitcoin.read_series(
            Fetched(js, "official", source, source.file("hashrate")),
            date_col="t",
            value_col="h",
            log=log,
            label="z",
        )
    assert err.value.field == "unit"


def test_btc_series_missing_column(data_dir: Path) -> None:
    path = data_dir / "blockchain_com_btc_2020_2025" / "hashrate.csv"
    path.write_text(path.read_text().replace("hash-rate", "hashrate"))
    with pytest.raises(GisError) as err:
        bitcoin.build(_resolver(data_dir), {})
    assert err.value.field == "hash-rate" and err.value.file == str(path)


def test_latest_network_window_and_implied_hashrate() -> None:
    days = pd.date_range("2025-03-25", periods=15, freq="D").strftime("%Y-%m-%d")
    network = pd.DataFrame(
        {
            "date": days,
            "hashrate_ehs": np.arange(15, dtype=float) * 10.0,
            "difficulty": 1.215e14,
            "source": "blockchain_com_btc_2020_2025",
        }
    )
    latest = bitcoin.latest_network(network)
    assert latest["date"] == "2025-04-08"
    assert latest["hashrate_ehs"] == pytest.approx(np.mean([80, 90, 100, 110, 120, 130, 140]))
    # D x 2^32 / 600 s: 1.215e14 -> 869.7 EH/s
    assert latest["implied_hashrate_ehs"] == pytest.approx(1.215e14 * 2**32 / 600 / 1e18)
    assert latest["implied_hashrate_ehs"] == pytest.approx(869.73, abs=0.01)
    with pytest.raises(GisError):
        bitcoin.latest_network(network.assign(hashrate_ehs=np.nan))


def test_th_to_eh() -> None:
    assert pytest.approx(1018.0) == 1.018e9 / bitcoin.TH_PER_EH


def test_asic_models_normalised(data_dir: Path) -> None:
    asics, log = bitcoin.build(_resolver(data_dir), {})["asic_models"]
    asics = validate(asics, "asic_models").set_index("model")
    assert log.dropped == {"no positive hashrate or power": 1}
    assert log.repaired == {"model name listed twice with other specs: hashrate and year appended": 2}
    s19 = asics.loc["Bitmain Antminer S19 Pro"]
    assert (s19["hashrate_ths"], s19["power_w"], s19["release_year"]) == (110.0, 3250.0, 2020)
    assert s19["efficiency_j_th"] == pytest.approx(3250 / 110)
    assert "Whatsminer M30S" in asics.index  # maker already in the device name
    assert "Canaan Avalon A1166 (Pro)" in asics.index
    assert {"Bitmain Antminer S9 (14 TH/s, 2019)", "Bitmain Antminer S9 (13 TH/s, 2016)"} <= set(asics.index)


def test_normalise_column() -> None:
    assert bitcoin.normalise_column("Electricity Cost Rate\xa0") == "electricity cost rate"
    assert bitcoin.normalise_column("\ufeffDevice Age (M)(03/2020) ") == "device age (m)(03/2020)"


# ------------------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_real_misc_layers(real_data_dir: Path) -> None:
    resolver = _resolver(real_data_dir)
    wells, wlog = offshore.build(resolver, {})["offshore_wells"]
    wells = validate(wells, "offshore_wells")
    assert len(wells) == 55_296 > 50_000
    assert wlog.dropped["outside the Gulf region (REGION_CODE not G)"] == 1_923
    minx, miny, maxx, maxy = wells.total_bounds
    assert minx > -98 and maxx < -81 and miny > 23 and maxy < 31
    sites = validate(military.build(resolver, {})["military_sites"][0], "military_sites")
    assert len(sites) == 832 and (sites["state"] != "").all()
    assert {"GU", "PR", "VI"} <= set(sites["state"])
    grid = validate(resource.build(resolver, {})["resource_grid"][0], "resource_grid")
    assert 950 <= len(grid) <= 1_050
    out = bitcoin.build(resolver, {})
    network = validate(out["btc_network"][0], "btc_network")
    assert network["date"].iloc[0].startswith("2009-01") and network["date"].iloc[-1] == "2025-04-08"
    latest = bitcoin.latest_network(network)
    assert 800 < latest["hashrate_ehs"] < 1_100 and 800 < latest["implied_hashrate_ehs"] < 1_000
    asics = validate(out["asic_models"][0], "asic_models")
    assert len(asics) == 86 and asics["efficiency_j_th"].min() == pytest.approx(3250 / 110)


@pytest.mark.realdata
def test_real_mirror_checksums(real_mirror, tmp_path: Path) -> None:
    """Every catalogued file of these sources downloads from a mirror and matches its sha256."""
    names = (*SOURCES, "vnf_flares_2017", "vnf_flares_2015", "flaring_monitor")
    catalog = {n: load_source(REPO / "layers" / f"{n}.toml") for n in names}
    resolver = Resolver(DataOrigin(mirror=real_mirror.url), cache=tmp_path, catalog=catalog, progress=False)
    for name, source in catalog.items():
        for f in source.files:
            got = resolver.require(name, f.key)
            assert got.form == "mirror" and got.path.stat().st_size == f.size_bytes
    wells = offshore.build(resolver, {})["offshore_wells"][0]
    assert len(wells) == 55_296
