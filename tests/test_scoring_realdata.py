"""Scoring on the real public data: every category, named dams and basins, scores in [0, 1]."""

from __future__ import annotations

from pathlib import Path

import pytest

from gis.config.scenario import load_scenario
from gis.config.settings import DataOrigin
from gis.config.vocabulary import CATEGORIES
from gis.layers import build_layers
from gis.scoring.api import score_sites_with_log
from gis.sources import Resolver

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def scored(real_data_dir: Path):
    themes = ["boundaries", "plants", "transmission", "flares", "offshore", "military", "markets"]
    result = build_layers(Resolver(DataOrigin(data_dir=real_data_dir), progress=False), themes=themes)
    return score_sites_with_log(result.layers, load_scenario())


def test_every_category_has_sites_or_a_logged_reason(scored):
    sites, log = scored
    for category in CATEGORIES:
        has_sites = (sites["category"] == category).any()
        assert has_sites or any(n.startswith(category) for n in log.notes), category


def test_scores_ranks_and_stability_are_in_range(scored):
    sites, _ = scored
    assert sites["score"].between(0, 1).all()
    assert sites["p_top_n"].between(0, 1).all()
    assert sites["rank"].tolist() == list(range(1, len(sites) + 1))
    assert sites["site_id"].is_unique
    assert (sites["mineable_mw"] >= 0).all() and (sites["mineable_mw"] <= sites["asset_mw"] + 1e-9).all()


def test_named_federal_dams_are_candidates(scored):
    sites, _ = scored
    hydro = sites.loc[sites["category"] == "federal_hydro"]
    names = hydro["name"].str.lower()
    assert names.str.contains("grand coulee").any()
    assert names.str.contains("hoover").any()
    tva = hydro.loc[hydro["owner_class"] == "federal_tva"].sort_values("capacity_mw", ascending=False)
    # TVA's largest conventional dams (Wilson 663 MW, Wheeler, Pickwick, Fontana ...)
    assert tva["name"].head(5).str.contains("Wilson").any()
    assert len(tva) >= 20


def test_permian_and_bakken_flare_clusters(scored):
    sites, _ = scored
    flares = sites.loc[(sites["category"] == "flare_gas") & (sites["setting"] == "onshore")]
    permian = flares.loc[flares["name"].str.contains("Permian") & flares["state"].isin(["TX", "NM"])]
    bakken = flares.loc[flares["state"] == "ND"]
    assert len(permian) >= 50 and permian["mineable_mw"].sum() > 100
    assert len(bakken) >= 50 and bakken["mineable_mw"].sum() > 100
    assert (sites.loc[sites["category"] == "flare_gas", "setting"] == "offshore").any()
