"""Candidate sites per category on the tiny hand-made layers: known answers and the row log."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from gis.config.scenario import load_scenario
from gis.config.vocabulary import CATEGORIES
from gis.errors import GisError
from gis.layers.curtailment import read_curtailment_table
from gis.sites import bcm_to_mw, candidate_sites

_spec = importlib.util.spec_from_file_location(
    "tiny_layers", Path(__file__).parent / "fixtures" / "scoring" / "tiny_layers.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)


@pytest.fixture(scope="module")
def built():
    config = load_scenario().scoring
    sites, log = candidate_sites(tiny.tiny_layers(), config)
    return sites.set_index("site_id"), log, config


def test_every_category_has_a_site(built):
    sites, _, _ = built
    assert set(sites["category"]) == set(CATEGORIES)


def test_bcm_to_mw_known_answer():
    # 1 bcm/yr x 38 MJ/m3 x 35 % / 31,536,000 s = 13.3e9 MJ / 31.536e6 s = 421.74 MW
    assert float(bcm_to_mw(1.0, heating_value_mj_m3=38.0, efficiency=0.35)) == pytest.approx(
        421.7402, rel=1e-5
    )


def test_federal_hydro_model(built):
    # the site is the dam at nameplate; its spill is found hour by hour in gis.energy (test_energy)
    sites, log, _ = built
    dam = sites.loc["federal_hydro:101"]
    assert dam["asset_mw"] == pytest.approx(1000.0) and dam["capacity_factor_max"] == pytest.approx(0.5)
    assert dam["owner_class"] == "federal_tva" and dam["confidence"] == "medium"
    assert "federal_hydro:106" not in sites.index  # pumped storage left out by default
    assert log.dropped["federal_hydro: pumped storage (net consumer; scenario)"] == 1


def test_retired_coal_filters_and_model(built):
    sites, log, _ = built
    coal = sites.loc[sites["category"] == "retired_coal"]
    assert list(coal["name"]) == ["Old Coal"]
    assert coal["asset_mw"].iloc[0] == pytest.approx(600 * 0.25)
    assert coal["retirement_date"].iloc[0] == "2020-06"
    assert log.dropped["retired_coal: retired before 2018-01"] == 1
    assert log.dropped["retired_coal: retirement planned after 2030-12 or undated"] == 1


def test_nuclear_and_military(built):
    sites, log, _ = built
    assert sites.loc["nuclear_surplus:102", "asset_mw"] == pytest.approx(2000.0)  # surplus: gis.energy
    fort = sites.loc["military_backup:mirta:1"]
    # all of a genset's MW, for the engine hours the rules allow (gis.energy)
    assert fort["asset_mw"] == pytest.approx(5.0) and fort["offgrid"] and fort["confidence"] == "low"
    plant = sites.loc["military_backup:plant:105"]
    assert plant["asset_mw"] == pytest.approx(20 * (1 - 0.5) * 0.5) and not plant["offgrid"]
    assert log.dropped["military_backup: installation not active (status not chosen in scenario)"] == 1


def test_flare_clusters_latest_year_and_refinery(built):
    sites, log, config = built
    flares = sites.loc[(sites["category"] == "flare_gas") & (sites["setting"] == "onshore")]
    assert len(flares) == 1  # the refinery-typed cluster is dropped whole
    site = flares.iloc[0]
    assert flares.index[0] == "flare_gas:vnf2017:1" and site["members"] == 2
    expected = bcm_to_mw(0.016, heating_value_mj_m3=38.0, efficiency=0.35)
    assert site["capacity_mw"] == pytest.approx(expected)
    assert site["asset_mw"] == pytest.approx(expected * config.sites.flare_gas.capture_fraction)
    assert log.repaired["flare_gas: older survey year of a flare cluster not counted (latest kept)"] == 1
    assert log.dropped["flare_gas: flare in a cluster typed refinery/downstream in some survey"] == 2


def test_offshore_platforms_merge_or_left_out_without_flare_evidence(built):
    sites, log, _ = built
    off = sites.loc[(sites["category"] == "flare_gas") & (sites["setting"] == "offshore")]
    # the platform with no VIIRS flare within 10 km has no evidence of gas: left out, counted
    assert sorted(off.index) == ["flare_gas:vnf2017:4"]
    assert "3 producing wells" in off.loc["flare_gas:vnf2017:4", "basis"]
    assert log.dropped["flare_gas: offshore platform without a VIIRS flare nearby (no evidence of gas)"] == 1
    assert log.dropped["flare_gas: offshore well not producing"] == 1


def test_offshore_platform_default_only_when_the_scenario_asks():
    base = load_scenario().scoring
    flare = base.sites.flare_gas
    offshore = flare.offshore.model_copy(update={"platforms_without_flare": True})
    sites_cfg = base.sites.model_copy(update={"flare_gas": flare.model_copy(update={"offshore": offshore})})
    sites, _ = candidate_sites(tiny.tiny_layers(), base.model_copy(update={"sites": sites_cfg}))
    platform = sites.set_index("site_id").loc["flare_gas:bsee:177000000003"]
    assert platform["asset_mw"] == pytest.approx(0.5) and platform["confidence"] == "low"


def test_stranded_plants_are_selected_with_what_the_energy_stage_needs(built):
    # the market's curtailment is allocated and placed in hours by gis.energy (test_energy)
    sites, log, _ = built
    wind = sites.loc["stranded_wind:103"]
    assert wind["asset_mw"] == pytest.approx(300.0) and wind["balancing_authority"] == "ERCO"
    assert wind["capacity_factor_max"] == pytest.approx(0.35) and np.isnan(wind["annual_wasted_mwh"])
    assert log.dropped["stranded: plant retired"] == 1


def test_curtailment_table_overrides(tmp_path):
    table = tmp_path / "curtailment.csv"
    table.write_text("plant_id,curtailed_mwh_per_year\n104,8760\n", encoding="utf-8")
    base = load_scenario().scoring
    stranded = base.sites.stranded.model_copy(update={"curtailment_table": str(table)})
    config = base.model_copy(update={"sites": base.sites.model_copy(update={"stranded": stranded})})
    with pytest.raises(GisError, match="not read"):
        candidate_sites(tiny.tiny_layers(), config)
    sites, _ = candidate_sites(tiny.tiny_layers(), config, curtailment=read_curtailment_table(table))
    solar = sites.set_index("site_id").loc["stranded_solar:104"]
    assert solar["annual_wasted_mwh"] == pytest.approx(8760.0)
    assert np.isnan(sites.set_index("site_id").loc["stranded_wind:103", "annual_wasted_mwh"])


def test_empty_category_leaves_a_note():
    layers = tiny.tiny_layers()
    layers["plants"] = layers["plants"].loc[layers["plants"]["fuel"] != "nuclear"]
    _, log = candidate_sites(layers, load_scenario().scoring)
    assert any(n.startswith("nuclear_surplus") for n in log.notes)


def test_flare_cluster_seen_only_in_an_older_survey_is_left_out():
    layers = tiny.tiny_layers()
    flares = layers["flare_sites"].copy()
    # move the 2015 upstream flare 50 km away from its 2017 neighbours: a cluster of its own
    lone = flares["flare_id"] == "vnf2015:1"
    flares.loc[lone, "geometry"] = flares.loc[lone].geometry.translate(0.6, 0.0)
    layers["flare_sites"] = flares
    sites, log = candidate_sites(layers, load_scenario().scoring)
    assert "flare_gas:vnf2015:1" not in set(sites["site_id"])
    key = "flare_gas: flare of a cluster not seen in the latest survey (2017); scenario latest_survey_only"
    assert log.dropped[key] == 1
    base = load_scenario().scoring
    flare = base.sites.flare_gas.model_copy(update={"latest_survey_only": False})
    config = base.model_copy(update={"sites": base.sites.model_copy(update={"flare_gas": flare})})
    sites, _ = candidate_sites(layers, config)
    assert "flare_gas:vnf2015:1" in set(sites["site_id"])


def test_retooled_coal_retired_long_ago_and_a_nuclear_plant_are_not_retired_coal():
    layers = tiny.tiny_layers()
    status = layers["plant_status"].copy()
    status.loc[status["status_id"] == 2, "status"] = "retooled"  # coal units retired 2010-01
    status.loc[status["status_id"] == 1, "plant_id"] = 102  # Old Coal is the nuclear plant's coal unit
    layers["plant_status"] = status
    sites, log = candidate_sites(layers, load_scenario().scoring)
    assert not (sites["category"] == "retired_coal").any()
    assert log.dropped["retired_coal: retired before 2018-01"] == 1
    assert (
        log.dropped["retired_coal: plant is an operating nuclear or hydro site (one category per plant)"] == 1
    )
    assert (sites["site_id"] == "nuclear_surplus:102").any()
