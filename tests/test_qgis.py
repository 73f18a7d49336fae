"""sites.gpkg opened in real QGIS (Debian's ``qgis`` + ``python3-qgis``, PyQGIS offscreen).

PyQGIS lives in the system Python (``/usr/bin/python3``), not in the project's, so the check runs
as a subprocess (``tests/qgis/check_gpkg.py``). Every layer must load, carry the default style
from ``layer_styles`` (the renderer QGIS picks is the one the style declares), give every
feature a symbol (classes cover every value, excluded sites and unknown voltages included), and
render to a PNG (kept in the test's tmp folder). Skips where QGIS is absent; GIS_REQUIRE_QGIS=1
(CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fixtures.outputs.synthetic import make_out_dir

SYSTEM_PYTHON = Path("/usr/bin/python3")
CHECK = Path(__file__).parent / "qgis" / "check_gpkg.py"


def _require_qgis() -> None:
    reason = ""
    if not SYSTEM_PYTHON.is_file():
        reason = f"{SYSTEM_PYTHON} is absent"
    else:
        probe = subprocess.run(
            [str(SYSTEM_PYTHON), "-c", "import qgis.core"],
            capture_output=True,
            text=True,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""},
            check=False,
        )
        if probe.returncode != 0:
            reason = "PyQGIS is not installed (apt-get install qgis python3-qgis)"
    if not reason:
        return
    if os.environ.get("GIS_REQUIRE_QGIS", "").strip() in {"1", "true", "yes"}:
        pytest.fail(reason + " — GIS_REQUIRE_QGIS=1 makes this a failure")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def qgis_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    _require_qgis()
    from rich.console import Console

    from gis.outputs.api import outputs_command

    out = make_out_dir(tmp_path_factory.mktemp("out"))
    outputs_command(out=out, scenario_path=None, console=Console(quiet=True))
    png = out / "qgis.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": "", "XDG_RUNTIME_DIR": str(out)}
    done = subprocess.run(
        [str(SYSTEM_PYTHON), str(CHECK), str(out / "sites.gpkg"), str(png)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), png, done.stderr


def test_every_layer_loads_with_its_style(qgis_report) -> None:
    report = qgis_report[0]
    layers = report["layers"]
    assert {"candidate_sites", "state_summary", "category_summary", "plants", "states"} <= set(layers)
    for name, info in layers.items():
        assert info["valid"], name
    expected = {
        "candidate_sites": "graduatedSymbol",
        "state_summary": "graduatedSymbol",
        "plants": "categorizedSymbol",
    }
    for name, renderer in expected.items():
        assert layers[name]["renderer"] == renderer, name
        assert layers[name]["styles_in_db"] >= 1, name
    # field titles with units reach QGIS as aliases (from the style: QGIS 3.22 does not read
    # gpkg_data_columns yet)
    assert layers["candidate_sites"]["aliases"]["mineable_mw"] == "Mineable power (MW)"
    assert layers["state_summary"]["aliases"]["btc_per_year"] == "Bitcoin mined (BTC/yr)"


def test_every_feature_gets_a_symbol(qgis_report) -> None:
    report = qgis_report[0]
    for name, info in report["layers"].items():
        if "renderer" in info:
            assert info["without_symbol"] == 0, (name, info)
            assert sum(info["colours"].values()) == info["features"], name


def test_excluded_sites_and_owner_classes_have_their_own_classes(qgis_report) -> None:
    report = qgis_report[0]
    sites = report["layers"]["candidate_sites"]
    assert sites["legend"][0] == "excluded (not counted)"
    assert "#9e9e9e" in sites["colours"]  # the synthetic sites include excluded ones
    plants = report["layers"]["plants"]
    assert len(plants["colours"]) > 1  # not every plant drawn alike
    assert any(label.startswith("Federal: ") for label in plants["legend"])


def test_no_version_warning_and_a_render(qgis_report) -> None:
    report, png, stderr = qgis_report
    # GDAL 3.6 prints "... may only be partially supported" for a GeoPackage newer than it knows
    assert "partially supported" not in stderr
    assert not [m for m in report["messages"] if "partially supported" in m]
    assert png.is_file() and png.stat().st_size > 10_000
