"""The plants and plant_status layers: readers (mirror and official forms), merge, owner classes,
fuel mapping, the EIA-860M status join, capacity factors, row accounting, and the real data."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from rich.console import Console

from gis.config.catalog import load_catalog
from gis.config.settings import DataOrigin
from gis.errors import GisError
from gis.layers._plants_fuel import fuel_from_atlas, fuel_from_gppd, fuel_from_technology
from gis.layers._plants_readers import (
    aggregate_eia860m_workbook,
    read_atlas,
    read_eia860,
    read_gppd,
)
from gis.layers._plants_status import join_status, normalise_plant_name, status_by_plant, tfidf_char_wb
from gis.layers.plants import build, capacity_factor, classify_owner, explain_owner, federal_summary
from gis.rowlog import RowLog
from gis.schema import PLANT_STATUS, PLANTS, validate
from gis.sources import Fetched, Resolver

FIXTURES = Path(__file__).parent / "fixtures" / "plants"
LAYOUT = {
    "eia_atlas_power_plants": ("Power_Plants.csv", "plants"),
    "gppd_usa": ("database_USA.csv", "table"),
    "eia860_plant_2019": ("2___Plant_Y2019.csv", "plant"),
    "eia860m_plants_dec2025": ("power-plants.geojson", "plants"),
}


def mirror_dir(tmp_path: Path) -> Path:
    """The hand-written fixtures laid out like the data mirror."""
    root = tmp_path / "data"
    for source, (name, _) in LAYOUT.items():
        (root / source).mkdir(parents=True)
        shutil.copy(FIXTURES / name, root / source / name)
    return root


def build_mirror(root: Path) -> dict:
    resolver = Resolver(DataOrigin(data_dir=root), progress=False)
    out = build(resolver, {})
    return {name: (validate(frame, name), log) for name, (frame, log) in out.items()}


def fetched(source: str, path: Path, form: str = "official") -> Fetched:
    src = load_catalog()[source]
    return Fetched(path, form, src, src.file(LAYOUT[source][1]))


# --- owner classes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Tennessee Valley Authority", "federal_tva"),
        ("USCE-Nashville District", "federal_usace"),
        ("USCE -Vickburg District", "federal_usace"),
        ("USACE Northwestern Division", "federal_usace"),
        ("USACE-Omaha", "federal_usace"),
        ("US Army Corps of Engineers", "federal_usace"),
        ("U S Bureau of Reclamation", "federal_usbr"),
        ("Bonneville Power Administration", "federal_other"),
        ("Western Area Power Administration", "federal_other"),
        ("International Bound & Wtr Comm", "federal_other"),
        ("Argonne National Laboratory", "federal_other"),
        ("DOE National Renewable Energy Laboratory", "federal_other"),
        ("US GSA Heating and Transmission", "federal_other"),
        ("US Air Force", "military"),
        ("U S Air Force-Eielson AFB", "military"),
        ("Department of the Navy", "military"),
        ("U S Army-Radford", "military"),
        ("U.S. Army - Radford", "military"),
        ("US Dept of Army, Garrison, APG", "military"),
        ("Department of the Army, Fort Carson", "military"),
        ("DOD USMC Marine Air Ground Combat", "military"),
        ("Kings Bay Naval Base", "military"),
        ("United States Coast Guard Puerto Rico", "military"),
        ("Tooele Army Depot", "military"),
        ("New York Power Authority", "public_other"),
        ("Puerto Rico Electric Pwr Authority", "public_other"),
        ("PUD No 1 of Chelan County", "public_other"),
        ("Public Utility District No 1 of Douglas County", "public_other"),
        ("Nebraska Public Power District", "public_other"),
        ("Sacramento Municipal Util Dist", "public_other"),
        ("City of San Antonio - (TX)", "public_other"),
        ("Basin Electric Power Coop", "public_other"),
        ("Seminole Electric Cooperative Inc", "public_other"),
        ("Tri-State G & T Assn, Inc", "public_other"),
        ("Oglethorpe Power Corporation", "public_other"),
        ("Los Angeles Department of Water & Power", "public_other"),
        ("Salt River Project", "public_other"),
        ("Energy Northwest", "public_other"),
        ("Imperial Irrigation District", "public_other"),
        ("Manatee County Utilities Department", "public_other"),
        ("Florida Power & Light Co", "private"),
        ("Public Service Co of Colorado", "private"),
        ("Northern Indiana Pub Serv Co", "private"),
        ("Brooklyn Navy Yard Cogen PLP", "private"),
        ("Solar Star NAFB LLC", "private"),
        ("Ameresco Federal Solutions", "private"),
        ("Corpus Christi Cogeneration LLC", "private"),
        ("National Grid Generation LLC", "private"),
        ("Orange County Solar LLC", "private"),
        ("", "private"),
    ],
)
def test_owner_class_rules(name: str, expected: str) -> None:
    assert classify_owner(pd.Series([name])).iloc[0] == expected


def test_owner_class_is_explained_and_vectorised() -> None:
    names = pd.Series(["Tennessee Valley Authority", None, "Alabama Power Co"], index=[10, 11, 12])
    classes = classify_owner(names)
    assert classes.index.tolist() == [10, 11, 12]
    assert classes.tolist() == ["federal_tva", "private", "private"]
    cls, note = explain_owner("USCE-Mobile District")
    assert cls == "federal_usace" and "Corps" in note


# --- fuels ----------------------------------------------------------------------------------


def test_fuel_mapping_from_each_vocabulary() -> None:
    atlas = fuel_from_atlas(
        pd.Series(["natural gas", "biomass", "biomass", "pumped storage", "batteries", "petroleum"]),
        pd.Series(
            ["Natural Gas Fired Combined Cycle", "Landfill Gas", "Wood/Wood Waste Biomass", "", "", ""]
        ),
    )
    assert atlas.tolist() == ["gas", "waste", "biomass", "pumped_storage", "storage", "oil"]
    gppd = fuel_from_gppd(pd.Series(["Gas", "Petcoke", "Cogeneration", None, "Hydro"]))
    assert gppd.tolist() == ["gas", "oil", "other", "other", "hydro"]
    tech = fuel_from_technology(
        pd.Series(
            [
                "Conventional Steam Coal",
                "Coal Integrated Gasification Combined Cycle",
                "Hydroelectric Pumped Storage",
                "Conventional Hydroelectric; Petroleum Liquids;",
                "Natural Gas Fired Combustion Turbine",
                "Petroleum Coke",
                "Offshore Wind Turbine",
                "Solar Thermal with Energy Storage",
                "Municipal Solid Waste",
                "Other Gases",
                "Nuclear",
                "Something New",
            ]
        )
    )
    assert tech.tolist() == [
        "coal", "coal", "pumped_storage", "hydro", "gas", "oil", "wind", "solar", "waste", "other",
        "nuclear", "other",
    ]  # fmt: skip


# --- status join ----------------------------------------------------------------------------


def _points(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326
    )


@pytest.fixture
def join_plants() -> gpd.GeoDataFrame:
    return _points(
        [
            dict(plant_id=1, name="Cumberland (TN)", state="TN", fuel="coal", capacity_mw=2600, lon=-87.6540, lat=36.3903),
            dict(plant_id=2, name="Chief Joseph", state="WA", fuel="hydro", capacity_mw=2456, lon=-119.6331, lat=47.9953),
            dict(plant_id=3, name="Daggett 3", state="CA", fuel="storage", capacity_mw=114, lon=-116.8900, lat=34.8600),
            dict(plant_id=4, name="Eastside Peaker", state="OH", fuel="gas", capacity_mw=180, lon=-81.6000, lat=41.5000),
            dict(plant_id=5, name="Tiny Cogen", state="OH", fuel="gas", capacity_mw=3, lon=-81.5950, lat=41.5010),
        ]
    )  # fmt: skip


def test_join_exact_fuzzy_nearest_none(join_plants: gpd.GeoDataFrame) -> None:
    status = _points(
        [
            dict(name="Cumberland Fossil Plant", state="TN", fuel="coal", capacity_mw=2470, lon=-87.6545, lat=36.3900),
            dict(name="Chief Joseph Dam", state="WA", fuel="hydro", capacity_mw=2456, lon=-119.6400, lat=47.9950),
            dict(name="Daggett 1", state="CA", fuel="storage", capacity_mw=50, lon=-116.8950, lat=34.8650),
            dict(name="Lakefront Turbines", state="OH", fuel="gas", capacity_mw=160, lon=-81.6050, lat=41.5050),
            dict(name="Far Away Coal", state="OH", fuel="coal", capacity_mw=300, lon=-84.0000, lat=39.0000),
            dict(name="Chief Joseph", state="OR", fuel="hydro", capacity_mw=2456, lon=-119.6331, lat=47.9953),
        ]
    )  # fmt: skip
    joined = join_status(status, join_plants)
    # the last row sits on Chief Joseph, but that plant is already claimed by name (row 2)
    assert joined["join_method"].tolist() == ["exact_name", "fuzzy_name", "none", "nearest", "none", "none"]
    assert joined["plant_id"].tolist() == [1, 2, pd.NA, 4, pd.NA, pd.NA]
    assert joined["join_dist_km"].iloc[0] == pytest.approx(0.055, abs=0.02)
    assert np.isnan(joined["join_dist_km"].iloc[4])
    # "Daggett 1" is not "Daggett 3" even 0.7 km away; the 3 MW neighbour is no match for 160 MW
    assert 0.5 < joined["join_dist_km"].iloc[3] < 2.0


def test_join_uses_plant_id_when_given(join_plants: gpd.GeoDataFrame) -> None:
    status = _points(
        [
            dict(name="Anything", state="TN", fuel="coal", capacity_mw=2470, plant_id=1, lon=-87.7, lat=36.4),
            dict(
                name="Unknown id",
                state="TN",
                fuel="coal",
                capacity_mw=2470,
                plant_id=99,
                lon=-87.654,
                lat=36.39,
            ),
        ]
    )
    joined = join_status(status, join_plants)
    assert joined["join_method"].tolist() == ["plant_id", "none"]
    assert joined["plant_id"].tolist() == [1, pd.NA]
    assert joined["join_dist_km"].iloc[0] > 1


def test_nearest_never_takes_a_plant_claimed_by_name(join_plants: gpd.GeoDataFrame) -> None:
    status = _points(
        [
            dict(name="Eastside Peaker", state="OH", fuel="gas", capacity_mw=180, lon=-81.6, lat=41.5),
            dict(
                name="Old Lakefront Units", state="OH", fuel="coal", capacity_mw=170, lon=-81.601, lat=41.501
            ),
        ]
    )
    joined = join_status(status, join_plants)
    assert joined["join_method"].tolist() == ["exact_name", "none"]


def test_normalised_names_drop_noise_words() -> None:
    names = pd.Series(
        ["Hoover Dam (NV)", "W.H. Sammis Generating Station", "Bull Run Fossil Plant", "Power Station"]
    )
    assert normalise_plant_name(names).tolist() == ["hoover dam", "w h sammis", "bull run", ""]


def test_tfidf_is_scikit_learns_bit_for_bit() -> None:
    """The numpy TF-IDF of the fuzzy name match gives scikit-learn's vectors, float for float."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    names = ["hoover dam", "hoover", "", "daggett 3", "daggett 1", "solar ii", "a", "x  y",
             "grand coulee", "coulee grand", "1", "lake lynn hydro", "lake lynn", "hoover dam"]  # fmt: skip
    docs = np.array(names, dtype=object)
    expected = (
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), lowercase=False).fit(docs).transform(docs)
    )
    data, indices, indptr = tfidf_char_wb(docs)
    assert indptr.tolist() == expected.indptr.tolist()
    assert indices.tolist() == expected.indices.tolist()
    assert data.view("uint64").tolist() == expected.data.view("uint64").tolist()


def test_status_precedence() -> None:
    rows = pd.DataFrame(
        {
            "plant_id": pd.array([1, 1, 2, 3, 3, 4, 5, 5, None], dtype="Int64"),
            "status": ["operating", "retired", "retired", "retiring", "operating", "operating", "retooled",
                       "retiring", "retired"],
            "retirement_date": ["", "2019-06", "2023-09", "2028-12", "", "", "2020-01", "2030-05", "2001-01"],
        }
    )  # fmt: skip
    per_plant = status_by_plant(rows)
    assert per_plant["status"].to_dict() == {
        1: "retooled",
        2: "retired",
        3: "retiring",
        4: "operating",
        5: "retooled",
    }
    assert per_plant["retirement_date"].to_dict() == {
        1: "2019-06",
        2: "2023-09",
        3: "2028-12",
        4: "",
        5: "2030-05",
    }


# --- capacity factor ------------------------------------------------------------------------


def test_capacity_factor_clips_and_counts() -> None:
    log = RowLog("t")
    cf = capacity_factor(
        pd.Series([876.0, 900.0, -5.0, 2000.0, 876.0, 876.0, np.nan]),
        pd.Series([100.0, 100.0, 100.0, 100.0, 100.0, 0.0, 100.0]),
        generation_year=pd.Series([2019, 2019, 2019, 2019, 2018, 2019, 2019]),
        capacity_year=pd.Series([2019.0] * 7),
        log=log,
    )
    assert cf.iloc[0] == pytest.approx(1.0)
    assert cf.iloc[1] == pytest.approx(1.0)  # 1.027: clipped
    assert cf.iloc[2:].isna().all()  # negative, absurd, other year, zero capacity, no generation
    assert log.repaired == {
        "capacity factor between 1 and 1.05, clipped to 1": 1,
        "capacity factor negative or above 1.05, set to NaN": 2,
    }
    half = capacity_factor(
        pd.Series([438.0]),
        pd.Series([100.0]),
        generation_year=pd.Series([2019]),
        capacity_year=pd.Series([2019]),
    )
    assert half.iloc[0] == pytest.approx(0.5)


# --- the whole build over the mirror-layout fixtures ----------------------------------------


def test_build_from_mirror_fixtures(tmp_path: Path) -> None:
    layers = build_mirror(mirror_dir(tmp_path))
    plants, log = layers["plants"]
    status, status_log = layers["plant_status"]
    assert list(plants.columns) == [*PLANTS.column_names, "geometry"]
    assert list(status.columns) == [*PLANT_STATUS.column_names, "geometry"]
    by_id = plants.set_index("plant_id")
    assert sorted(by_id.index) == [3396, 3407, 3921, 6137, 6163, 6440, 50999, 64001, 64002, 64006, 64007]
    assert by_id.loc[6163, "owner_class"] == "federal_usbr"
    assert by_id.loc[6163, "grid_voltage_kv"] == 500.0
    assert by_id.loc[6163, "capacity_factor"] == pytest.approx(17958.4 / (6809 * 8.76))
    assert by_id.loc[6163, "sources"] == (
        "eia_atlas_power_plants;gppd_usa;eia860_plant_2019;eia860m_plants_dec2025"
    )
    assert by_id.loc[3921, "generation_year"] == 2018 and np.isnan(by_id.loc[3921, "capacity_factor"])
    assert np.isnan(by_id.loc[3407, "capacity_factor"])  # 30,000 GWh from 1,700 MW is absurd
    assert (by_id.loc[3407, "status"], by_id.loc[3407, "retirement_date"]) == ("retiring", "2027-12")
    assert (by_id.loc[6137, "status"], by_id.loc[6137, "retirement_date"]) == ("retooled", "2023-10")
    assert (by_id.loc[3396, "status"], by_id.loc[3396, "sources"]) == (
        "retired",
        "gppd_usa;eia860_plant_2019;eia860m_plants_dec2025",
    )
    assert (by_id.loc[3396, "state"], by_id.loc[3396, "owner_class"]) == ("TN", "federal_tva")
    assert by_id.loc[50999, "status"] == "retired"  # GPPD-only, absent from the 2023 Atlas
    assert by_id.loc[64002, "fuel"] == "waste"
    assert by_id.loc[64002, "geometry"].y == pytest.approx(45.2164)  # swapped lat/lon repaired
    assert by_id.loc[64006, "owner_class"] == "public_other"
    assert by_id.loc[64007, "owner_class"] == "military"
    assert log.dropped == {
        "atlas: capacity above 10,000 MW (absurd)": 1,
        "atlas: duplicate plant code": 1,
        "atlas: no coordinates": 1,
        "atlas: outside the US (lat 17..72, lon -180..-64)": 1,
        "atlas: zero or negative capacity": 1,
        "gppd-only: below 1 MW (not in the Atlas by its threshold, status unknown)": 1,
        "gppd-only: outside the US (lat 17..72, lon -180..-64)": 1,
        "gppd-only: zero or negative capacity": 1,
        "gppd: gppd_idnr is not USA + a 7-digit EIA plant code (WRI-assigned id)": 1,
    }
    assert log.repaired["atlas: latitude/longitude swapped"] == 1
    assert log.rows_kept == len(plants)
    assert status["join_method"].tolist() == [
        "exact_name", "exact_name", "exact_name", "exact_name", "exact_name", "fuzzy_name", "nearest", "none",
    ]  # fmt: skip
    lost = status.loc[status["join_method"] == "none"].iloc[0]
    assert (lost["name"], lost["fuel"], lost["status"]) == ("Lakeshore Coal", "coal", "retired")
    assert status_log.rows_kept == len(status) == 8


def test_bad_capacities_are_counted(tmp_path: Path) -> None:
    root = mirror_dir(tmp_path)
    atlas = root / "eia_atlas_power_plants" / "Power_Plants.csv"
    frame = pd.read_csv(atlas, encoding="utf-8-sig")
    frame.loc[frame["Plant_Code"] == 64001, "Install_MW"] = np.nan
    frame.loc[frame["Plant_Code"] == 64007, "Install_MW"] = -6.0
    frame.to_csv(atlas, index=False)
    _, log = build_mirror(root)["plants"]
    assert log.dropped["atlas: no capacity"] == 1
    assert log.dropped["atlas: zero or negative capacity"] == 2
    assert log.dropped["atlas: capacity above 10,000 MW (absurd)"] == 1


def test_missing_mapped_column_names_file_and_column(tmp_path: Path) -> None:
    root = mirror_dir(tmp_path)
    atlas = root / "eia_atlas_power_plants" / "Power_Plants.csv"
    pd.read_csv(atlas, encoding="utf-8-sig").drop(columns=["Install_MW"]).to_csv(atlas, index=False)
    with pytest.raises(GisError) as err:
        build_mirror(root)
    assert err.value.field == "Install_MW"
    assert err.value.file == str(atlas)
    assert "layers/eia_atlas_power_plants.toml" in err.value.message


def test_federal_summary_totals(tmp_path: Path) -> None:
    plants, _ = build_mirror(mirror_dir(tmp_path))["plants"]
    table = federal_summary(plants)
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 5}
    tva = [c.strip() for c in rows["federal_tva"].split("│")[2:-1]]
    # Wilson Dam hydro + Kingston coal operating; Bull Run retired
    assert tva == ["2", "2,367", "667", "0", "1,700", "0", "950"]
    assert [c.strip() for c in rows["federal_usbr"].split("│")[2:4]] == ["1", "6,809"]
    assert [c.strip() for c in rows["military"].split("│")[2:4]] == ["1", "6"]


# --- official forms -------------------------------------------------------------------------

GLOBAL_GPPD_COLUMNS = [
    "country", "country_long", "name", "gppd_idnr", "capacity_mw", "latitude", "longitude", "primary_fuel",
    "other_fuel1", "other_fuel2", "other_fuel3", "commissioning_year", "owner", "source", "url",
    "geolocation_source", "wepp_id", "year_of_capacity_data",
    *[f"generation_gwh_{y}" for y in range(2013, 2020)], "generation_data_source",
    *[f"estimated_generation_gwh_{y}" for y in range(2013, 2018)],
    *[f"estimated_generation_note_{y}" for y in range(2013, 2018)],
]  # fmt: skip


def make_gppd_zip(tmp_path: Path) -> Path:
    """WRI's global download: a zip with the all-country CSV (a UK row must be filtered out)."""
    us = pd.read_csv(FIXTURES / "database_USA.csv").drop(columns=["estimated_generation_gwh"])
    uk = us.iloc[[0]].assign(
        country="GBR", country_long="United Kingdom", name="Drax", gppd_idnr="GBR0000174"
    )
    table = pd.concat([uk, us]).reindex(columns=GLOBAL_GPPD_COLUMNS)
    path = tmp_path / "global_power_plant_database_v_1_3.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("global_power_plant_database.csv", table.to_csv(index=False))
        zf.writestr("A_Global_Power_Plant_Database_README.txt", "Global Power Plant Database v1.3.0\n")
    return path


def make_eia860_zip(tmp_path: Path) -> Path:
    """EIA's annual zip: 2___Plant_Y2019.xlsx, sheet Plant, a title on row 1, header on row 2."""
    with open(FIXTURES / "2___Plant_Y2019.csv", newline="") as f:
        rows = list(csv.reader(f))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plant"
    ws.append(["Form EIA-860 Data - Schedule 2 - 'Plant Data' (Final Release 2019)"])
    for row in rows:
        ws.append([float(v) if v.replace(".", "", 1).lstrip("-").isdigit() else v for v in row])
    data = io.BytesIO()
    wb.save(data)
    path = tmp_path / "eia8602019.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("2___Plant_Y2019.xlsx", data.getvalue())
        zf.writestr("LayoutY2019.xlsx", b"not needed")
    return path


WORKBOOK_COLUMNS = [
    "Entity ID", "Entity Name", "Plant ID", "Plant Name", "Sector", "Plant State", "Generator ID",
    "Unit Code", "Nameplate Capacity (MW)", "Net Summer Capacity (MW)", "Net Winter Capacity (MW)",
    "Technology", "Energy Source Code", "Prime Mover Code", "Operating Month", "Operating Year",
]  # fmt: skip


def make_860m_workbook(tmp_path: Path, *, drop: str | None = None) -> Path:
    """The EIA-860M monthly generator workbook: title lines, header on row 3, notes at the bottom."""
    operating_tail = ["Planned Retirement Month", "Planned Retirement Year", "Status"]
    retired_tail = ["Retirement Month", "Retirement Year"]
    place = ["County", "Latitude", "Longitude", "Balancing Authority Code"]
    tva, brown = (18642, "Tennessee Valley Authority"), (17633, "Southern Indiana Gas & Elec Co")
    operating = [
        [19610, "U S Bureau of Reclamation", 6163, "Grand Coulee", "Electric Utility", "WA", "G1", "", 4000.0, 3900, 3900, "Conventional Hydroelectric", "WAT", "HY", 4, 1941, "", "", "(OP) Operating", "Grant", 47.9561, -118.9817, "BPAT"],
        [19610, "U S Bureau of Reclamation", 6163, "Grand Coulee", "Electric Utility", "WA", "G2", "", 2809.0, 2800, 2800, "Conventional Hydroelectric", "WAT", "HY", 6, 1975, "", "", "(OP) Operating", "Grant", 47.9561, -118.9817, "BPAT"],
        [*tva, 3407, "Kingston", "Electric Utility", "TN", "1", "", 900.0, 700, 720, "Conventional Steam Coal", "BIT", "ST", 2, 1954, 12, 2027, "(OP) Operating", "Roane", 35.8992, -84.5194, "TVA"],
        [*tva, 3407, "Kingston", "Electric Utility", "TN", "2", "", 800.0, 698, 700, "Conventional Steam Coal", "BIT", "ST", 6, 1955, 6, 2028, "(OP) Operating", "Roane", 35.8992, -84.5194, "TVA"],
        [*brown, 6137, "A B Brown", "Electric Utility", "IN", "3", "", 673.0, 460, 480, "Natural Gas Fired Combustion Turbine", "NG", "GT", 6, 1991, "", "", "(OP) Operating", "Posey", 37.9053, -87.715, "MISO"],
        [64015, "City of Riverton - (WY)", 64006, "Riverside Peaking Plant", "Electric Utility", "WY", "CT1", "", 49.5, 47, 49, "Natural Gas Fired Combustion Turbine", "NG", "GT", 5, 2001, "", "", "(OP) Operating", "Fremont", 43.0247, -108.3801, "WACM"],
        [64015, "City of Riverton - (WY)", 64006, "Riverside Peaking Plant", "Electric Utility", "WY", "CT2", "", 49.5, 47, 49, "Natural Gas Fired Combustion Turbine", "NG", "GT", 5, 2001, "", "", "(OP) Operating", "Fremont", 43.0247, -108.3801, "WACM"],
        [64010, "Prairie Sun Solar LLC", 64001, "Prairie Sun Solar LLC", "IPP Non-CHP", "KS", "PV1", "", 5.0, 5, 5, "Solar Photovoltaic", "SUN", "PV", 7, 2021, "", "", "(OP) Operating", "Saline", 38.8403, -97.6114, "SWPP"],
    ]  # fmt: skip
    retired = [
        [*brown, 6137, "A B Brown", "Electric Utility", "IN", "1", "", 265.2, 245, 245, "Conventional Steam Coal", "BIT", "ST", 3, 1979, 10, 2023, "Posey", 37.9053, -87.715, "MISO"],
        [*brown, 6137, "A B Brown", "Electric Utility", "IN", "2", "", 265.2, 245, 245, "Conventional Steam Coal", "BIT", "ST", 3, 1986, 10, 2023, "Posey", 37.9053, -87.715, "MISO"],
        [*tva, 3396, "Bull Run", "Electric Utility", "TN", "1", "", 950.0, 865, 880, "Conventional Steam Coal", "BIT", "ST", 6, 1967, 9, 2023, "Anderson", 36.0211, -84.1567, "TVA"],
        [3755, "Cleveland Electric Illum Co", 1234, "Lakeshore", "Electric Utility", "OH", "18", "", 245.0, 240, 240, "Conventional Steam Coal", "BIT", "ST", 1, 1962, 4, 2015, "Cuyahoga", 41.53, -81.64, "PJM"],
    ]  # fmt: skip
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, tail, rows in (("Operating", operating_tail, operating), ("Retired", retired_tail, retired)):
        ws = wb.create_sheet(title)
        ws.append(["U.S. Energy Information Administration"])
        ws.append(
            ["Preliminary Monthly Electric Generator Inventory (based on Form EIA-860M)", "December 2025"]
        )
        header = [*WORKBOOK_COLUMNS, *tail, *place]
        if drop:
            header = [("Renamed" if c == drop else c) for c in header]
        ws.append(header)
        for row in rows:
            ws.append(row)
        ws.append([])
        ws.append(["NOTE: Data for the most recent months are preliminary."])
    wb.create_sheet("Planned").append(["U.S. Energy Information Administration"])
    path = tmp_path / "december_generator2025.xlsx"
    wb.save(path)
    return path


def make_atlas_geojson(tmp_path: Path) -> Path:
    """The FeatureServer pages as GeoJSON: same field names, X/Y as the point geometry."""
    frame = pd.read_csv(FIXTURES / "Power_Plants.csv", encoding="utf-8-sig")
    features = []
    for rec in json.loads(frame.drop(columns=["X", "Y"]).to_json(orient="records")):
        lon, lat = rec["Longitude"], rec["Latitude"]
        geometry = None if lon is None else {"type": "Point", "coordinates": [lon, lat]}
        features.append({"type": "Feature", "geometry": geometry, "properties": rec})
    path = tmp_path / "power_plants.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_official_gppd_zip_keeps_us_rows(tmp_path: Path) -> None:
    rows = read_gppd(fetched("gppd_usa", make_gppd_zip(tmp_path)))
    mirror = read_gppd(fetched("gppd_usa", FIXTURES / "database_USA.csv", "mirror"))
    assert len(rows) == len(mirror) == 11
    assert "GBR0000174" not in set(rows["plant_ref"])
    assert rows["generation_gwh_2019"].sum() == pytest.approx(mirror["generation_gwh_2019"].sum())


def test_official_eia860_zip_reads_header_on_row_two(tmp_path: Path) -> None:
    rows = read_eia860(fetched("eia860_plant_2019", make_eia860_zip(tmp_path)))
    assert len(rows) == 6
    coulee = rows.loc[pd.to_numeric(rows["plant_id"]) == 6163].iloc[0]
    assert (coulee["grid_voltage_2_kv"], coulee["balancing_authority"]) == ("500", "BPAT")


def test_official_atlas_geojson(tmp_path: Path) -> None:
    rows = read_atlas(fetched("eia_atlas_power_plants", make_atlas_geojson(tmp_path)))
    mirror = read_atlas(fetched("eia_atlas_power_plants", FIXTURES / "Power_Plants.csv", "mirror"))
    assert rows["plant_id"].tolist() == mirror["plant_id"].tolist()
    assert rows["capacity_mw"].sum() == pytest.approx(mirror["capacity_mw"].sum())


def test_official_860m_workbook_is_aggregated_per_plant(tmp_path: Path) -> None:
    log = RowLog("plant_status")
    plants = aggregate_eia860m_workbook(make_860m_workbook(tmp_path), log)
    got = plants.set_index(["plant_id", "status"])
    assert got.loc[(6163, "operating"), "total_capacity_mw"] == pytest.approx(6809.0)
    assert got.loc[(3407, "retiring"), "planned_retirement_date"] == "2027-12"  # earliest unit
    assert got.loc[(6137, "retooled"), "total_capacity_mw"] == pytest.approx(530.4)
    assert got.loc[(6137, "retooled"), "planned_retirement_date"] == "2023-10"
    assert got.loc[(3396, "retired"), "fuel_type"] == "Conventional Steam Coal"
    assert got.loc[(6163, "operating"), "owner_name"] == "U S Bureau of Reclamation"
    assert 64001 not in plants["plant_id"].tolist()  # 5 MW: below the 50 MW of the plant-level copy
    assert 64006 in plants["plant_id"].tolist()  # 2 x 49.5 MW
    assert log.dropped == {"EIA-860M plant below 50 MW (as the plant-level copy)": 1}
    assert log.rows_read == 8 and any("note/blank lines" in n for n in log.notes)


def test_official_860m_workbook_missing_column(tmp_path: Path) -> None:
    path = make_860m_workbook(tmp_path, drop="Nameplate Capacity (MW)")
    with pytest.raises(GisError) as err:
        aggregate_eia860m_workbook(path, RowLog("plant_status"))
    assert err.value.field == "Nameplate Capacity (MW)" and err.value.file == str(path)


class OfficialFiles:
    """Stands in for a Resolver whose downloads are done: every file in its official form."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

    def require(self, source: str, key: str) -> Fetched:
        return fetched(source, self.paths[source])


def test_build_from_official_forms_matches_mirror(tmp_path: Path) -> None:
    official = OfficialFiles(
        {
            "eia_atlas_power_plants": make_atlas_geojson(tmp_path),
            "gppd_usa": make_gppd_zip(tmp_path),
            "eia860_plant_2019": make_eia860_zip(tmp_path),
            "eia860m_plants_dec2025": make_860m_workbook(tmp_path),
        }
    )
    out = build(official, {})  # type: ignore[arg-type]
    plants = validate(out["plants"][0], "plants")
    status = validate(out["plant_status"][0], "plant_status")
    mirror, _ = build_mirror(mirror_dir(tmp_path))["plants"]
    cols = ["plant_id", "owner_class", "fuel", "capacity_mw", "state", "status", "retirement_date"]
    pd.testing.assert_frame_equal(plants[cols], mirror[cols])
    assert plants["grid_voltage_kv"].equals(mirror["grid_voltage_kv"])
    methods = status.set_index("name")["join_method"].to_dict()
    assert methods["Kingston"] == methods["Bull Run"] == methods["Riverside Peaking Plant"] == "plant_id"
    assert methods["Lakeshore"] == "none"  # its plant code is in no plants row
    assert (status["join_method"] == "plant_id").sum() == 6


# --- the real data --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_layers(real_data_dir: Path) -> dict:
    resolver = Resolver(DataOrigin(data_dir=real_data_dir), progress=False)
    out = build(resolver, {})
    return {name: (validate(frame, name), log) for name, (frame, log) in out.items()}


@pytest.mark.realdata
def test_real_plants_cover_the_federal_fleets(real_layers: dict) -> None:
    plants, log = real_layers["plants"]
    assert len(plants) > 10_000
    assert log.rows_kept == len(plants)
    live = plants.loc[plants["status"] != "retired"]
    mw = live.groupby("owner_class")["capacity_mw"].sum()
    assert 30_000 < mw["federal_tva"] < 42_000  # TVA ~37 GW (summer)
    assert 18_000 < mw["federal_usace"] < 26_000  # USACE 20.5-23.9 GW
    assert 12_000 < mw["federal_usbr"] < 17_000  # Reclamation >14.75 GW operated
    assert mw["military"] > 0


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "owner_class", "min_mw"),
    [
        ("Grand Coulee", "federal_usbr", 6000),
        ("Hoover Dam (NV)", "federal_usbr", 900),
        ("Wilson Dam", "federal_tva", 600),
    ],
)
def test_real_landmark_dams_are_federal_hydro(
    real_layers: dict, name: str, owner_class: str, min_mw: float
) -> None:
    plants, _ = real_layers["plants"]
    row = plants.loc[plants["name"] == name].iloc[0]
    assert (row["owner_class"], row["fuel"]) == (owner_class, "hydro")
    assert row["capacity_mw"] > min_mw
    assert 0.05 < row["capacity_factor"] < 0.8
    tva_hydro = plants.loc[(plants["owner_class"] == "federal_tva") & (plants["fuel"] == "hydro")]
    assert tva_hydro.loc[tva_hydro["capacity_mw"].idxmax(), "name"] == "Wilson Dam"


@pytest.mark.realdata
def test_real_plant_status_keeps_retired_coal(real_layers: dict) -> None:
    status, log = real_layers["plant_status"]
    retired_coal = status.loc[(status["fuel"] == "coal") & (status["status"] == "retired")]
    assert len(retired_coal) > 100
    assert (retired_coal["join_method"] == "none").any()  # kept although no plant matched
    shares = status["join_method"].value_counts(normalize=True)
    assert shares["exact_name"] > 0.7
    assert log.rows_kept == len(status)
    plants, _ = real_layers["plants"]
    assert plants.loc[plants["name"] == "Bull Run", "status"].iloc[0] == "retired"
