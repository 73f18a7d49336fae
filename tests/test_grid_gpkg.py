"""The GeoPackage layer written by a child process (gis.grid.gpkg.GpkgStream)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio
import pytest

from gis.errors import GisError
from gis.grid.files import point_wkb
from gis.grid.gpkg import GpkgStream

OPTIONS = {
    "layer": "cells",
    "geometry_name": "geometry",
    "geometry_type": "Point",
    "crs": "EPSG:4326",
    "dataset_options": {"VERSION": "1.2"},
    "layer_metadata": {"tool": "test", "note": 'quotes " and a\nline break'},
}


def _table(n: int, start: int = 0) -> pa.Table:
    ids = np.arange(start, start + n)
    return pa.table(
        {
            "site_id": pa.array([f"cell:{i}" for i in ids]),
            "score": pa.array(ids / 7.0),
            "rank": pa.array(ids + 1, type=pa.int64()),
            "excluded": pa.array(ids % 3 == 0),
            "note": pa.array([None if i % 4 == 0 else "x,y" for i in ids], type=pa.string()),
            "geometry": point_wkb(-100.0 + ids / 1000.0, 40.0 + ids / 2000.0),
        }
    )


def test_child_writes_the_layer_an_in_process_write_gives(tmp_path: Path):
    parts = [_table(5), _table(0, 5), _table(7, 5)]
    schema = parts[0].schema
    with GpkgStream(tmp_path / "child.gpkg", schema, **OPTIONS) as layer:
        for part in parts:
            layer.write(part)
    assert layer.child["cpu_s"] >= 0 and layer.child["peak_gb"] > 0 and layer.wait_s >= 0
    pyogrio.write_arrow(
        pa.RecordBatchReader.from_batches(schema, [b for p in parts for b in p.to_batches()]),
        tmp_path / "direct.gpkg",
        driver="GPKG",
        **OPTIONS,
    )
    (meta_a, got), (meta_b, want) = (
        pyogrio.read_arrow(tmp_path / name, layer="cells") for name in ("child.gpkg", "direct.gpkg")
    )
    assert got.num_rows == 12 and got.equals(want) and repr(meta_a) == repr(meta_b)
    info = pyogrio.read_info(tmp_path / "child.gpkg", layer="cells")
    assert info["layer_metadata"] == OPTIONS["layer_metadata"] and info["crs"] == "EPSG:4326"


def test_child_failure_is_a_gis_error_naming_the_file(tmp_path: Path):
    target = tmp_path / "no such folder" / "cells.gpkg"
    with pytest.raises(GisError) as err, GpkgStream(target, _table(1).schema, **OPTIONS) as layer:
        layer.write(_table(3))
    assert str(target) in str(err.value) and err.value.file == str(target)


def test_error_in_the_block_stops_the_child(tmp_path: Path):
    with (
        pytest.raises(RuntimeError, match="stop here"),
        GpkgStream(tmp_path / "cells.gpkg", _table(1).schema, **OPTIONS) as layer,
    ):
        layer.write(_table(3))
        raise RuntimeError("stop here")
    assert layer._proc.poll() is not None  # the child is gone


def test_grid_files_are_the_same_when_no_child_can_be_started(tmp_path: Path, monkeypatch):
    import importlib.util

    import gis.grid.api as grid_api
    from gis.config.scenario import load_scenario

    spec = importlib.util.spec_from_file_location(
        "scale_synthetic", Path(__file__).parent / "fixtures" / "scale" / "synthetic.py"
    )
    synthetic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synthetic)
    scenario = load_scenario()
    grid = scenario.scoring.national_grid.model_copy(update={"cell_km": 20.0, "chunk_rows": 64})
    scenario = scenario.model_copy(
        update={"scoring": scenario.scoring.model_copy(update={"national_grid": grid})}
    )
    layers = synthetic.synthetic_layers(plants=60)
    child, _, child_steps, _ = grid_api.write_grid(tmp_path / "child", layers, scenario, rows=50)

    def no_process(*args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(grid_api, "GpkgChild", no_process)
    here, _, steps, _ = grid_api.write_grid(tmp_path / "here", layers, scenario, rows=50)
    assert "gpkg_child_cpu_s" in child_steps and "gpkg_child_cpu_s" not in steps
    assert here["grid_csv"].read_bytes() == child["grid_csv"].read_bytes()
    (meta_a, a), (meta_b, b) = (pyogrio.read_arrow(p["grid_gpkg"], layer="grid_cells") for p in (child, here))
    assert a.num_rows > 100 and a.equals(b) and repr(meta_a) == repr(meta_b)
    info_a, info_b = (pyogrio.read_info(p["grid_gpkg"], layer="grid_cells") for p in (child, here))
    assert info_a["layer_metadata"] == info_b["layer_metadata"]


def test_child_started_ahead_writes_the_layer_or_is_stopped_unused(tmp_path: Path):
    from gis.grid.gpkg import GpkgChild

    ahead = GpkgChild()
    with GpkgStream(tmp_path / "ahead.gpkg", _table(1).schema, process=ahead, **OPTIONS) as layer:
        layer.write(_table(4))
    ahead.stop()  # already ended: nothing to do
    assert ahead.proc.returncode == 0
    assert pyogrio.read_arrow(tmp_path / "ahead.gpkg", layer="cells")[1].num_rows == 4
    unused = GpkgChild()
    unused.stop()
    assert unused.proc.returncode is not None and not list(tmp_path.glob("*.gpkg-*"))
