"""Doctored copies of the real plant files, written into tmp dirs: nothing is lost silently.

The real EIA-860M GeoJSON re-projected to EPSG:3857 without a ``crs`` member used to lose all
its rows as "outside the US" (exit 0, retired coal at 0 MW); the real Atlas with Grand
Coulee's row repeated at a tenth of its MW used to keep the first row with a bare count.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from gis.config.settings import DataOrigin
from gis.layers import build_layers
from gis.sources import Resolver

pytestmark = pytest.mark.realdata

PLANT_FILES = (
    "eia_atlas_power_plants/Power_Plants.csv",
    "gppd_usa/database_USA.csv",
    "eia860_plant_2019/2___Plant_Y2019.csv",
    "eia860m_plants_dec2025/power-plants.geojson",
)
STATUS = "eia860m_plants_dec2025/power-plants.geojson"


def _copy(real: Path, root: Path, skip: str | None = None) -> Path:
    for rel in PLANT_FILES:
        if rel != skip:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(real / rel, root / rel)
    return root


def _plants(root: Path) -> dict:
    return build_layers(Resolver(DataOrigin(data_dir=root), progress=False), themes=["plants"])


def test_real_860m_in_web_mercator_keeps_every_row(real_data_dir: Path, tmp_path: Path) -> None:
    from pyproj import Transformer

    to_m = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    doc = json.loads((real_data_dir / STATUS).read_text(encoding="utf-8"))
    doc.pop("crs", None)
    moved = 0
    for feature in doc["features"]:
        props = feature["properties"]
        if props.get("longitude") is None or props.get("latitude") is None:
            continue
        x, y = to_m.transform(props["longitude"], props["latitude"])
        props["longitude"], props["latitude"] = x, y
        feature["geometry"] = {"type": "Point", "coordinates": [x, y]}
        moved += 1
    root = _copy(real_data_dir, tmp_path / "data", skip=STATUS)
    (root / STATUS).parent.mkdir(parents=True, exist_ok=True)
    (root / STATUS).write_text(json.dumps(doc), encoding="utf-8")

    result = _plants(root)
    log = result.logs["plant_status"]
    assert log.rows_read == len(doc["features"]) > 4000
    assert sum(n for r, n in log.repaired.items() if "EPSG:3857 detected" in r) == moved
    assert not any("outside the US" in r for r in log.dropped), log.dropped
    status = pd.DataFrame(result.layers["plant_status"])
    coal_retired = status.loc[status["fuel"].eq("coal") & status["status"].isin(["retired", "retooled"])]
    assert coal_retired["capacity_mw"].sum() > 10_000  # tens of GW, not 0
    bounds = result.layers["plant_status"].total_bounds
    assert bounds[0] >= -180 and bounds[2] <= -60 and bounds[1] >= 17 and bounds[3] <= 72


def test_real_atlas_with_a_conflicting_duplicate_says_both_values(
    real_data_dir: Path, tmp_path: Path
) -> None:
    root = _copy(real_data_dir, tmp_path / "data")
    atlas = root / PLANT_FILES[0]
    frame = pd.read_csv(atlas, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    coulee = frame.loc[frame["Plant_Name"].str.fullmatch("Grand Coulee")]
    assert len(coulee) == 1
    twin = coulee.copy()
    twin["Install_MW"] = str(round(float(coulee.iloc[0]["Install_MW"]) / 10, 1))
    pd.concat([twin, frame], ignore_index=True).to_csv(atlas, index=False)  # the wrong row first

    result = _plants(root)
    notes = " ".join(result.logs["plants"].notes)
    assert "rows that disagree" in notes and "first row in file order is kept" in notes
    mw = float(coulee.iloc[0]["Install_MW"])
    assert f"{mw / 10:,.1f} vs {mw:,.1f}" in notes
