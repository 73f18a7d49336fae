"""The column registry: every output column and every key of estimates.json is registered once,
docs/columns.md is what the generator writes, and every module of gis/ declares ``__all__``."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gis.outputs.columns import COLUMNS_DOC, STATE_SUMMARY, columns_markdown
from gis.outputs.labels import column_unit
from gis.schema import KEY_REGISTRY, SCHEMA_REGISTRY, column_spec, key_spec, unregistered_keys

ROOT = Path(__file__).resolve().parent.parent

_spec = importlib.util.spec_from_file_location(
    "tiny_layers_columns", Path(__file__).parent / "fixtures" / "scoring" / "tiny_layers.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)


@pytest.fixture(scope="module")
def tiny_run():
    """Scored tiny sites and a real estimate() on them (BTC price at which the tiny flare pays)."""
    from gis.config.scenario import load_scenario
    from gis.estimates.api import estimate, profiles_for_sites
    from gis.scoring.api import score_sites

    scenario = load_scenario()
    layers = tiny.tiny_layers()
    sites = score_sites(layers, scenario)
    profiles, surplus = profiles_for_sites(sites, layers, scenario.energy)
    data = scenario.estimates.model_dump()
    data["market"]["btc_price_usd"] = 200_000.0
    data["uncertainty"]["draws"] = 50
    config = type(scenario.estimates).model_validate(data)
    axes = {
        "btc_price_usd": [100_000.0, 200_000.0],
        "network_growth_per_year": [0.0],
        "energy_price_cap_usd_mwh": [0.0, 1_000.0],
        "efficiency_j_th": [17.5],
    }
    out = estimate(sites, config, profiles=profiles, surplus=surplus, explorer_axes=axes)
    return sites, json.loads(json.dumps(out))


def test_every_key_of_a_real_estimate_is_registered(tiny_run) -> None:
    _, estimates = tiny_run
    assert estimates["fleet"]["sites"], "the tiny estimate should build a fleet so its rows are walked"
    missing = unregistered_keys(estimates)
    assert not missing, (
        f"keys of estimates.json registered nowhere: {missing}; add them to gis/estimates/keys.py "
        "with unit and meaning, then run `python scripts/columns_doc.py`"
    )


def test_an_unregistered_key_is_reported() -> None:
    assert unregistered_keys({"national": {"btc_per_year": 1.0, "made_up_gw": 2.0}}) == [
        "national.made_up_gw"
    ]
    assert unregistered_keys({"by_state": {"TX": {"sites": 1, "made_up": 2}}}) == ["by_state.*.made_up"]


def test_units_of_the_figures_people_read() -> None:
    assert key_spec("national.btc_per_year").unit == "BTC/yr"
    assert key_spec("by_state.TX.co2_mt_per_year").unit == "Mt CO2/yr"
    assert key_spec("fleet.sites.flare_gas:1.hours_mined").unit == "h/yr"
    assert key_spec("projection[].btc").unit == "BTC"
    assert column_unit("btc_per_year", layer="state_summary") == "BTC/yr"
    assert column_unit("co2_mt_per_year", layer="category_summary") == "Mt CO2/yr"
    assert column_unit("fleet_npv_usd") == "USD"
    assert column_unit("hours_mined") == "h/yr"
    assert column_unit("mineable_mw") == "MW"
    assert column_unit("score") == "0..1"
    for key in KEY_REGISTRY.values():
        assert key.meaning, f"estimates key {key.path} has no meaning"
    for schema in SCHEMA_REGISTRY.values():
        for col in schema.columns:
            assert col.description, f"{schema.name}.{col.name} has no meaning"
            assert "1/yr" not in col.unit or col.name.endswith("growth_per_year"), col


def test_every_output_column_is_registered(tiny_run) -> None:
    from gis.outputs.inputs import join_fleet
    from gis.scoring.api import ranked_csv_frame

    sites, estimates = tiny_run
    ranked = ranked_csv_frame(join_fleet(sites, estimates))
    unknown = [c for c in ranked.columns if not c.startswith("s_") and column_spec(c, "sites_ranked") is None]
    assert not unknown, f"columns of sites_ranked.csv registered nowhere: {unknown}"
    registered = SCHEMA_REGISTRY["sites_ranked"].column_names
    assert [c for c in ranked.columns if not c.startswith("s_")] == registered
    for table in ("candidate_sites", "sites_ranked", "grid_cells", "state_summary", "category_summary"):
        assert table in SCHEMA_REGISTRY
    assert STATE_SUMMARY.column("npv_usd").unit == "USD"


def test_docs_columns_md_is_up_to_date() -> None:
    current = (ROOT / COLUMNS_DOC).read_text(encoding="utf-8") if (ROOT / COLUMNS_DOC).is_file() else ""
    assert current == columns_markdown(), (
        f"{COLUMNS_DOC} is out of date with the column registry: run `python scripts/columns_doc.py`"
    )


def test_columns_doc_script_checks() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "columns_doc.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _modules() -> list[Path]:
    return sorted(p for p in (ROOT / "gis").rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_declares_all(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert declared, f"{path.relative_to(ROOT)} has no __all__"
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    module = importlib.import_module(name)
    absent = [n for n in module.__all__ if not hasattr(module, n)]
    assert not absent, f"{name}.__all__ names what the module lacks: {absent}"


def test_the_measures_a_scenario_may_name_are_registered_measure_columns() -> None:
    # gis.config imports nothing from the stages, so its list of names is checked against the registry here
    from gis.config.scoring import MEASURES
    from gis.measures.measure import MEASURE_COLUMNS, SITE_MEASURES

    assert set(MEASURES) <= set(MEASURE_COLUMNS)
    assert tuple(SITE_MEASURES.column_names) == MEASURE_COLUMNS
    candidate = SCHEMA_REGISTRY["candidate_sites"]
    for name in ("dist_tx_km", "headroom_mw", "co2_t_per_mwh"):
        assert candidate.column(name).unit == SITE_MEASURES.column(name).unit
