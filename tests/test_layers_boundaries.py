"""States and counties: both Census schemas, both source forms, NREL potential, assign_state."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from gis.config.catalog import load_source
from gis.config.settings import DataOrigin
from gis.errors import GisError
from gis.layers import boundaries
from gis.layers.boundaries import (
    SQ_MI_TO_KM2,
    STATE_FIPS,
    assign_state,
    counties_from_frame,
    read_state_potential,
    read_vector,
    states_from_frame,
)
from gis.rowlog import RowLog
from gis.schema import validate
from gis.sources import Resolver

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "boundaries"
SOURCES = ("census_cb_2010_20m", "nrel_state_potential")
POTENTIAL_COLUMNS = {
    "state_name": "State",
    "pv_potential_gw": "Rural Utility-scale PV (GW)",
    "wind_potential_gw": "Onshore Wind (GW)",
}


def catalog(**urls: str) -> dict:
    """The two catalog entries this theme reads, with official URLs optionally replaced by key."""
    out = {}
    for name in SOURCES:
        source = load_source(REPO / "layers" / f"{name}.toml")
        files = [f.model_copy(update={"url": urls[f.key]}) if f.key in urls else f for f in source.files]
        out[name] = source.model_copy(update={"files": files})
    return out


def mirror_layout(root: Path) -> Path:
    """The fixtures laid out like the data mirror under ``root``."""
    (root / "census_cb_2010_20m").mkdir(parents=True)
    (root / "nrel_coarse_resource").mkdir(parents=True)
    for name in ("gz_2010_us_040_00_20m.json", "gz_2010_us_050_00_20m.json"):
        shutil.copy(FIXTURES / name, root / "census_cb_2010_20m" / name)
    shutil.copy(
        FIXTURES / "renewable_energy_technical_potential_data.csv",
        root / "nrel_coarse_resource" / "renewable_energy_technical_potential_data.csv",
    )
    return root


def states_2018(crs: str = "EPSG:4269") -> gpd.GeoDataFrame:
    """Two states in the 2013+ cartographic-boundary schema (ALAND in square metres)."""
    return gpd.GeoDataFrame(
        {
            "STATEFP": ["48", "11"],
            "STATENS": ["01779801", "01702382"],
            "AFFGEOID": ["0400000US48", "0400000US11"],
            "GEOID": ["48", "11"],
            "STUSPS": ["TX", "DC"],
            "NAME": ["Texas", "District of Columbia"],
            "LSAD": ["00", "00"],
            "ALAND": [676_653_171_537, 158_340_391],
            "AWATER": [19_006_305_260, 18_687_198],
        },
        geometry=[box(-106.6, 25.8, -93.5, 36.5), box(-77.12, 38.79, -76.91, 38.99)],
        crs=crs,
    )


def counties_2018() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "STATEFP": ["48"],
            "COUNTYFP": ["201"],
            "COUNTYNS": ["01383886"],
            "AFFGEOID": ["0500000US48201"],
            "GEOID": ["48201"],
            "NAME": ["Harris"],
            "LSAD": ["06"],
            "ALAND": [4_421_068_722],
            "AWATER": [182_004_451],
        },
        geometry=[box(-95.96, 29.5, -94.9, 30.17)],
        crs="EPSG:4269",
    )


def write_shapefile_zip(frame: gpd.GeoDataFrame, target: Path, stem: str) -> Path:
    folder = target.parent / f"{stem}_shp"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_file(folder / f"{stem}.shp")
    archive = shutil.make_archive(str(target.with_suffix("")), "zip", folder)
    return Path(archive)


# --------------------------------------------------------------------------------------------


def test_build_from_mirror_layout_2010_schema(tmp_path: Path) -> None:
    resolver = Resolver(DataOrigin(data_dir=mirror_layout(tmp_path / "data")), catalog=catalog())
    out = boundaries.build(resolver, {})
    states, log = out["states"]
    states = validate(states, "states")
    assert states["state"].tolist() == ["KS", "OK", "PR"]
    ks = states.set_index("state").loc["KS"]
    assert ks["land_area_km2"] == pytest.approx(81758.717 * SQ_MI_TO_KM2)
    assert ks["pv_potential_gw"] == 6961.0  # "6,961" with a thousands separator
    assert ks["wind_potential_gw"] == 952.0
    assert np.isnan(states.set_index("state").loc["PR", "pv_potential_gw"])
    assert "TOTAL" not in states["name"].tolist()
    assert any("total row" in n for n in log.notes)
    assert any("PR" in n for n in log.notes)
    assert states.crs.to_epsg() == 4326

    counties = validate(out["counties"][0], "counties")
    assert counties["geoid"].tolist() == ["20173", "40071", "40143"]  # "71" padded to "071"
    assert counties.set_index("geoid").loc["40071", "county_fips"] == "071"
    assert counties.set_index("geoid").loc["20173", "state"] == "KS"


def test_official_zip_with_2018_schema_end_to_end(tmp_path: Path, serve_dir) -> None:
    served = tmp_path / "served"
    served.mkdir()
    write_shapefile_zip(states_2018(), served / "cb_2018_us_state_20m.zip", "cb_2018_us_state_20m")
    write_shapefile_zip(counties_2018(), served / "cb_2018_us_county_20m.zip", "cb_2018_us_county_20m")
    shutil.copy(FIXTURES / "renewable_energy_technical_potential_data.csv", served / "potential.csv")
    server = serve_dir(served)
    resolver = Resolver(
        DataOrigin(),
        cache=tmp_path / "cache",
        progress=False,
        catalog=catalog(
            states=f"{server.url}/cb_2018_us_state_20m.zip",
            counties=f"{server.url}/cb_2018_us_county_20m.zip",
            table=f"{server.url}/potential.csv",
        ),
    )
    out = boundaries.build(resolver, {})
    states = validate(out["states"][0], "states").set_index("state")
    assert list(states.index) == ["DC", "TX"]  # sorted by FIPS 11, 48
    assert states.loc["TX", "land_area_km2"] == pytest.approx(676_653.171537)
    assert states.loc["TX", "name"] == "Texas"
    assert any("reprojected" in n for n in out["states"][1].notes)  # NAD83 -> EPSG:4326
    counties = validate(out["counties"][0], "counties")
    assert counties["geoid"].tolist() == ["48201"]
    assert counties["land_area_km2"].iloc[0] == pytest.approx(4421.068722)
    assert resolver.get("census_cb_2010_20m", "states").form == "official"


def test_read_vector_reads_a_zip_in_place(tmp_path: Path) -> None:
    archive = write_shapefile_zip(states_2018(), tmp_path / "states.zip", "states")
    frame = read_vector(archive)
    assert len(frame) == 2 and frame.crs.to_epsg() == 4269


def test_missing_column_names_file_and_field(tmp_path: Path) -> None:
    frame = read_vector(FIXTURES / "gz_2010_us_040_00_20m.json").drop(columns="CENSUSAREA")
    with pytest.raises(GisError) as err:
        states_from_frame(frame, file="states.json", log=RowLog("states"))
    assert err.value.field == "CENSUSAREA"
    assert err.value.file == "states.json"


def test_catalog_column_mapping_is_used(tmp_path: Path) -> None:
    """A state file whose fields have other names reads the same once the catalog maps them."""
    plain = read_vector(FIXTURES / "gz_2010_us_040_00_20m.json")
    expected = states_from_frame(plain, file="states.json", log=RowLog("states"))
    states = plain.rename(columns={"STATE": "FIPS_ST", "NAME": "LABEL"}).assign(STATE="99", NAME="decoy")
    columns = {"state_fips": "FIPS_ST", "name": "LABEL", "land_area_km2": "CENSUSAREA"}
    got = states_from_frame(states, file="states.json", log=RowLog("states"), columns=columns)
    pd.testing.assert_frame_equal(got, expected)
    counties = read_vector(FIXTURES / "gz_2010_us_050_00_20m.json")
    expected = counties_from_frame(counties, file="c.json", log=RowLog("counties"))
    got = counties_from_frame(
        counties.rename(columns={"COUNTY": "FIPS_CO", "STATE": "FIPS_ST", "NAME": "LABEL"}),
        file="c.json",
        log=RowLog("counties"),
        columns={**columns, "county_fips": "FIPS_CO"},
    )
    pd.testing.assert_frame_equal(got, expected)
    # an area column of unknown unit is refused, not guessed
    with pytest.raises(GisError) as err:
        states_from_frame(
            states.rename(columns={"CENSUSAREA": "AREA"}),
            file="s.json",
            log=RowLog("states"),
            columns={**columns, "land_area_km2": "AREA"},
        )
    assert err.value.field == "AREA"


def test_empty_boundary_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    frame = gpd.GeoDataFrame({"STATE": [], "NAME": [], "CENSUSAREA": []}, geometry=[], crs="EPSG:4326")
    with pytest.raises(GisError, match="no features"):
        states_from_frame(frame, file=str(path), log=RowLog("states"))


def test_projected_crs_is_reprojected_and_missing_crs_with_metres_refused(tmp_path: Path) -> None:
    projected = states_2018("EPSG:4269").to_crs("EPSG:3857")
    out = states_from_frame(projected, file="x", log=RowLog("states"))
    assert out.crs.to_epsg() == 4326
    assert out.total_bounds[0] == pytest.approx(-106.6, abs=1e-6)

    # no .prj, Web Mercator metres over the US: recognised from their range (EPSG:3857)
    folder = tmp_path / "noprj"
    folder.mkdir()
    projected.to_file(folder / "states.shp")
    (folder / "states.prj").unlink()
    read = read_vector(folder / "states.shp")
    assert read.crs.to_epsg() == 3857 and read.attrs["crs_detected"] == "EPSG:3857"

    # no .prj, metres of another projection (Albers, EPSG:5070): refused, not guessed
    albers = tmp_path / "albers"
    albers.mkdir()
    states_2018("EPSG:4269").to_crs("EPSG:5070").to_file(albers / "states.shp")
    (albers / "states.prj").unlink()
    with pytest.raises(GisError) as err:
        read_vector(albers / "states.shp")
    assert err.value.field == "crs"


def test_invalid_geometry_is_repaired_and_counted() -> None:
    frame = states_2018("EPSG:4326")
    bow_tie = Polygon([(-100, 30), (-95, 35), (-95, 30), (-100, 35), (-100, 30)])
    frame.loc[0, "geometry"] = bow_tie
    log = RowLog("states")
    out = states_from_frame(frame, file="x", log=log)
    assert out.geometry.is_valid.all()
    assert log.repaired == {"invalid geometry repaired with make_valid": 1}
    validate(out, "states")


def test_unknown_fips_and_missing_geometry_are_dropped_and_counted() -> None:
    frame = states_2018("EPSG:4326")
    extra = frame.iloc[[0]].copy()
    extra["STATEFP"] = "99"
    none_geom = frame.iloc[[1]].copy()
    none_geom["STATEFP"] = "72"
    none_geom["geometry"] = None
    log = RowLog("states")
    out = states_from_frame(pd.concat([frame, extra, none_geom]), file="x", log=log)
    assert sorted(out["state"]) == ["DC", "TX"]
    assert log.dropped == {"state FIPS code not in the state table": 1, "no geometry": 1}
    assert log.rows_read == 4 and log.rows_kept == 2


def test_fips_table_has_dc_pr_and_fifty_states() -> None:
    codes = {code for code, _ in STATE_FIPS.values()}
    assert {"DC", "PR"} <= codes
    assert len({f for f in STATE_FIPS if int(f) < 60}) == 51


def test_state_potential_parses_separators_na_and_total(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        'State,Rural Utility-scale PV (GW),Onshore Wind (GW)\nTexas,"20,411","1,902"\n'
        'Vermont,35,NA\nAtlantis,1,1\nTOTAL,"20,447","1,902"\n'
    )
    log = RowLog("states")
    table = read_state_potential(path, columns=POTENTIAL_COLUMNS, log=log).set_index("state")
    assert list(table.index) == ["TX", "VT"]
    assert table.loc["TX", "pv_potential_gw"] == 20411.0
    assert np.isnan(table.loc["VT", "wind_potential_gw"])
    assert any("Atlantis" in n for n in log.notes)


def test_state_potential_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("State,Rural Utility-scale PV (GW)\nTexas,1\n")
    with pytest.raises(GisError) as err:
        read_state_potential(path, columns=POTENTIAL_COLUMNS)
    assert err.value.field == "Onshore Wind (GW)"


def test_assign_state_inside_outside_border_and_crs() -> None:
    states = states_from_frame(
        read_vector(FIXTURES / "gz_2010_us_040_00_20m.json"), file="x", log=RowLog("states")
    )
    points = gpd.GeoDataFrame(
        geometry=[
            Point(-97.3, 37.7),  # Wichita, KS
            Point(-95.9, 36.1),  # Tulsa, OK
            Point(-60.0, 30.0),  # Atlantic
            Point(-98.0, 36.998905 + (36.993016 - 36.998905) * (102.042089 - 98.0) / 7.42417),  # KS/OK line
            Point(-66.1, 18.2),  # PR
        ],
        index=[10, 11, 12, 13, 14],
        crs="EPSG:4326",
    )
    got = assign_state(points, states)
    assert got.index.tolist() == [10, 11, 12, 13, 14]
    assert got.tolist()[:3] == ["KS", "OK", ""]
    assert got.loc[13] in {"KS", "OK"}
    assert got.loc[14] == "PR"
    assert assign_state(points.to_crs("EPSG:5070"), states).tolist() == got.tolist()
    assert assign_state(points.iloc[:0], states).empty


def test_assign_state_shared_border_takes_lowest_fips() -> None:
    states = gpd.GeoDataFrame(
        {"state": ["OK", "KS"], "state_fips": ["40", "20"]},
        geometry=[box(0, 0, 1, 1), box(0, 1, 1, 2)],
        crs="EPSG:4326",
    )
    assert assign_state(gpd.GeoSeries([Point(0.5, 1.0)], crs="EPSG:4326"), states).tolist() == ["KS"]


# -------------------------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_census_and_nrel(real_data_dir: Path) -> None:
    resolver = Resolver(DataOrigin(data_dir=real_data_dir), catalog=catalog())
    started = time.perf_counter()
    out = boundaries.build(resolver, {})
    elapsed = time.perf_counter() - started
    states = validate(out["states"][0], "states")
    counties = validate(out["counties"][0], "counties")
    assert 50 <= len(states) <= 52
    assert {"DC", "PR", "AK", "HI"} <= set(states["state"])
    assert 3100 <= len(counties) <= 3300
    assert out["states"][1].rows_dropped == 0 and out["counties"][1].rows_dropped == 0
    tx = states.set_index("state").loc["TX"]
    assert tx["land_area_km2"] == pytest.approx(676_587, rel=0.002)  # Census 2010: 261,232 sq mi
    assert tx["pv_potential_gw"] > 10_000
    assert states["pv_potential_gw"].notna().sum() == 51  # all but PR
    assert set(counties["state"]) <= set(states["state"])
    print(f"states {len(states)}, counties {len(counties)}, {elapsed:.2f} s")
