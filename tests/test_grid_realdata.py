"""Grid mode on the real public data: cells tile the contiguous US, resource from the NREL grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gis import METRIC_CRS
from gis.config.scenario import load_scenario
from gis.config.settings import DataOrigin
from gis.grid import score_grid_with_log
from gis.layers import build_layers
from gis.sources import Resolver

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def layers(real_data_dir: Path):
    themes = ["boundaries", "transmission", "resource"]
    return build_layers(Resolver(DataOrigin(data_dir=real_data_dir), progress=False), themes=themes).layers


def test_cells_tile_the_contiguous_states_and_score_in_range(layers):
    scoring = load_scenario().scoring
    config = scoring.model_copy(
        update={"national_grid": scoring.national_grid.model_copy(update={"cell_km": 25.0})}
    )
    cells, log, _ = score_grid_with_log(layers, config)
    states = layers["states"]
    conus = states.loc[~states["state"].isin(config.national_grid.exclude_states)]
    area_km2 = conus.to_crs(METRIC_CRS).area.sum() / 1e6
    assert log.rows_read * 625.0 == pytest.approx(area_km2, rel=0.02)  # every cell once, none twice
    assert log.rows_kept == len(cells) and len(cells) > 0.8 * log.rows_read
    assert set(cells["state"]) <= set(conus["state"])
    assert set(conus["state"]) - set(cells["state"]) <= {"DC", "RI", "DE"}  # smaller than a few cells
    assert cells["score"].between(0, 1).all() and cells["rank"].tolist() == list(range(1, len(cells) + 1))
    west = cells.geometry.x < -100
    # the desert south-west has the sun, the plains the wind
    sw = cells.loc[west & (cells.geometry.y < 37)]
    assert (sw["category"] == "stranded_solar").mean() > 0.8
    assert np.nanmean(sw["ghi_kwh_m2_day"]) > 5.0
    assert (cells.loc[cells["state"].isin(["ND", "SD", "WY"]), "category"] == "stranded_wind").any()
    assert (cells["dist_tx_km"] >= 0).all() and cells["dist_tx_km"].median() < 50
