"""Schema validation, atomic writes, row logs and the command line's error contract."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gis.errors import GisError
from gis.io import atomic_path, write_csv, write_gpkg, write_json
from gis.rowlog import RowLog
from gis.schema import LAYER_SCHEMAS, MILITARY_SITES, schema_table, validate


def _military(n: int = 3, crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": range(n),
            "name": [f"Fort {i}" for i in range(n)],
            "branch": ["Army"] * n,
            "component": ["Active"] * n,
            "site_status": ["Active"] * n,
            "joint_base": [False] * n,
            "state": ["TX"] * n,
        },
        geometry=[shapely.Point(-97.0 - i, 31.0) for i in range(n)],
        crs=crs,
    )


def test_validate_orders_columns_and_casts() -> None:
    frame = _military()[::-1]
    frame["site_id"] = frame["site_id"].astype(str)
    out = validate(frame, MILITARY_SITES)
    assert list(out.columns) == [*MILITARY_SITES.column_names, "geometry"]
    assert out["site_id"].dtype == np.int64


def test_validate_missing_column_names_it() -> None:
    with pytest.raises(GisError) as err:
        validate(_military().drop(columns="branch"), MILITARY_SITES, source="mirta.json")
    assert err.value.field == "branch" and "mirta.json" in err.value.message


def test_validate_wrong_type_names_column() -> None:
    frame = _military()
    frame["site_id"] = ["a", "b", "c"]
    with pytest.raises(GisError) as err:
        validate(frame, MILITARY_SITES)
    assert err.value.field == "site_id"


def test_validate_duplicate_key_refused() -> None:
    frame = _military()
    frame["site_id"] = 1
    with pytest.raises(GisError, match="duplicate"):
        validate(frame, MILITARY_SITES)


def test_validate_missing_crs_refused_and_projected_reprojected() -> None:
    with pytest.raises(GisError, match="no CRS"):
        validate(_military(crs=None), MILITARY_SITES)
    projected = _military().to_crs("EPSG:5070")
    out = validate(projected, MILITARY_SITES)
    assert out.crs.to_epsg() == 4326
    assert out.geometry.x.iloc[0] == pytest.approx(-97.0)


def test_validate_swapped_or_out_of_range_coordinates_refused() -> None:
    frame = _military()
    frame.geometry = [shapely.Point(31.0, -197.0)] * 3
    with pytest.raises(GisError, match="outside longitude/latitude"):
        validate(frame, MILITARY_SITES)


def test_validate_empty_geometry_refused() -> None:
    frame = _military()
    frame.loc[1, "geometry"] = shapely.Point()
    with pytest.raises(GisError, match="no geometry"):
        validate(frame, MILITARY_SITES)


def test_every_schema_documents_units_and_meanings() -> None:
    for schema in LAYER_SCHEMAS.values():
        table = schema_table(schema)
        assert table["meaning"].str.len().min() > 3, schema.name
        assert schema.key is None or schema.key in schema.column_names


def test_rowlog_counts_drops_and_repairs() -> None:
    log = RowLog("x")
    df = pd.DataFrame({"a": [1, np.nan, 3, -1]})
    log.read(len(df))
    df = log.drop(df, df["a"].isna(), "no value")
    df = log.drop(df, df["a"] < 0, "negative")
    log.repair(2, "rounded")
    assert len(df) == 2
    assert log.as_dict() == {
        "layer": "x",
        "rows_read": 4,
        "rows_kept": 2,
        "rows_dropped": 2,
        "dropped": {"negative": 1, "no value": 1},
        "repaired": {"rounded": 2},
        "notes": [],
    }


def test_atomic_write_leaves_old_file_when_writer_dies(tmp_path: Path) -> None:
    target = tmp_path / "estimates.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"v": 2, "half')
        raise RuntimeError("killed mid-write")
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["estimates.json"]


def test_atomic_gpkg_with_metadata_and_attribute_table(tmp_path: Path) -> None:
    target = tmp_path / "x.gpkg"
    table = pd.DataFrame({"date": ["2024-01-01"], "hashrate_ehs": [500.0]})
    write_gpkg(
        target,
        {"military_sites": _military(), "btc": table},
        dataset_metadata={"tool": "t"},
        layer_metadata={"military_sites": {"row_log": "{}"}},
    )
    layers = dict(pyogrio.list_layers(target))
    assert layers == {"military_sites": "Point", "btc": None}
    info = pyogrio.read_info(target, layer="military_sites")
    assert info["layer_metadata"] == {"row_log": "{}"}
    assert info["dataset_metadata"]["tool"] == "t"


def test_read_only_output_dir_is_a_clear_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.access(ro, os.W_OK):  # running as root: permissions do not bind
            pytest.skip("permissions are not enforced for this user (root)")
        with pytest.raises(GisError, match="not writable"):
            write_csv(ro / "a.csv", pd.DataFrame({"a": [1]}))
    finally:
        os.chmod(ro, 0o700)


def test_output_path_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GisError, match="cannot create the output directory"):
        write_csv(blocker / "sub" / "a.csv", pd.DataFrame({"a": [1]}))


def test_cli_version_and_error_paragraph(capsys, tmp_path: Path) -> None:
    from gis import __version__
    from gis.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__
    code = main(["build", "--data-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1
    assert "data directory does not exist" in err and "Traceback" not in err


def test_cli_unknown_command_is_nonzero(capsys) -> None:
    from gis.cli import main

    assert main(["frobnicate"]) != 0


def test_scenario_file_holds_only_what_it_changes(tmp_path: Path) -> None:
    from gis.config.scenario import load_scenario

    base = load_scenario()
    path = tmp_path / "cheap.toml"
    path.write_text("[estimates.market]\nbtc_price_usd = 100000.0\n", encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.name == "cheap"
    assert scenario.estimates.market.btc_price_usd == 100_000.0
    assert scenario.scoring == base.scoring


def test_scenario_error_names_file_and_dotted_key(tmp_path: Path) -> None:
    from gis.config.scenario import load_scenario

    path = tmp_path / "typo.toml"
    path.write_text("[estimates]\nuptim = 0.9\n", encoding="utf-8")
    with pytest.raises(GisError) as err:
        load_scenario(path)
    assert err.value.field == "estimates.uptim" and str(path) in err.value.message


def test_reading_a_gpkg_with_metadata_leaves_no_sidecar(tmp_path: Path) -> None:
    from gis.layers import read_layers

    target = tmp_path / "layers.gpkg"
    write_gpkg(
        target,
        {"military_sites": _military()},
        dataset_metadata={"build_report": "[]"},
        layer_metadata={"military_sites": {"row_log": "{}"}},
    )
    assert len(read_layers(target, ["military_sites"])["military_sites"]) == 3
    pyogrio.read_info(target, layer="military_sites")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers.gpkg"]
