"""The pipeline for notebooks, flat: build the layers, score the sites, estimate, write the outputs.

The same functions ``gis run`` chains (:mod:`gis.pipeline`), each taking and returning frames:

- :func:`build_layers`: the canonical layers (EPSG:4326) from a data folder, a mirror or the
  official URLs, reusing the layer cache when the sources did not change;
- :func:`score_sites` (and :func:`score_sites_with_log`, with the row log of what was left out):
  candidate sites scored and ranked, best first (EPSG:4326 points; MW, km, USD/MWh, t CO2/MWh,
  score 0..1);
- :func:`estimate_sites`: the fleet that pays for itself over the machines' life, its bands and
  the surplus beside published figures (the ``estimates.json`` payload: GW, EH/s, BTC/yr, USD);
- :func:`write_outputs`: maps, ``sites.gpkg``, ranked CSV/XLSX, report and explorer.

Examples
--------
One federal dam and no market data: the site is scored (and excluded: no evidence of wasted
energy), and the estimate builds no fleet:

>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> from gis.api import estimate_sites, load_scenario, score_sites
>>> from gis.schema import validate
>>> plants = validate(gpd.GeoDataFrame({"plant_id": [1], "name": ["Demo Dam"],
...     "owner": ["Tennessee Valley Authority"], "owner_class": ["federal_tva"], "fuel": ["hydro"],
...     "capacity_mw": [100.0], "generation_gwh": [350.0], "generation_year": [2019],
...     "capacity_factor": [0.4], "commissioning_year": [1950.0], "state": ["TN"],
...     "status": ["operating"], "retirement_date": [""], "grid_voltage_kv": [161.0],
...     "sources": ["demo"]}, geometry=[Point(-85.0, 35.5)], crs="EPSG:4326"), "plants")
>>> scenario = load_scenario()
>>> sites = score_sites({"plants": plants}, scenario)
>>> sites[["site_id", "excluded"]].values.tolist()
[['federal_hydro:1', True]]
>>> estimates = estimate_sites(sites, {}, scenario)
>>> estimates["national"]["installed_gw"], estimates["national"]["btc_per_year"]
(0.0, 0.0)
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from rich.console import Console

from gis.config.scenario import Scenario, load_scenario
from gis.config.settings import data_origin
from gis.estimates.api import estimate_stage as estimate_sites
from gis.layers import read_layers
from gis.pipeline import layers_stage, outputs_stage, run_pipeline
from gis.rowlog import RowLog
from gis.scoring.api import score_sites, score_sites_with_log, sites_metadata
from gis.sources import Resolver

__all__ = [
    "build_layers",
    "estimate_sites",
    "load_scenario",
    "read_layers",
    "run_pipeline",
    "score_sites",
    "score_sites_with_log",
    "write_outputs",
]


def build_layers(
    out: str | Path,
    *,
    data_dir: str | Path | None = None,
    mirror: str | None = None,
    use_cache: bool = True,
    console: Console | None = None,
) -> dict[str, pd.DataFrame]:
    """The canonical layers (EPSG:4326), built from the sources into ``out/layers.gpkg``.

    Parameters
    ----------
    out
        folder to write ``layers.gpkg`` into (created).
    data_dir, mirror
        a local copy of the data laid out like the mirror, or an HTTP mirror (default: the
        environment's ``GIS_DATA_DIR`` / ``GIS_DATA_MIRROR``, else the official URLs).
    use_cache
        reuse the layers of an unchanged build (``$GIS_CACHE_DIR/layers``).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    resolver = Resolver(data_origin(data_dir, mirror), progress=False)
    built = layers_stage(
        resolver,
        folder,
        console=console or Console(quiet=True),
        use_cache=use_cache,
        keep_frames=True,
        spinner=False,
    )
    return dict(built.layers)  # every frame read now (from the cache, each is read when first used)


def write_outputs(
    sites: gpd.GeoDataFrame,
    estimates: dict,
    layers: dict[str, pd.DataFrame],
    out: str | Path,
    *,
    scenario: Scenario | None = None,
    scenario_path: Path | None = None,
    log: RowLog | None = None,
    console: Console | None = None,
) -> list[Path]:
    """Every output of ``gis run`` for ``sites`` and ``estimates`` into ``out`` (which must hold the
    ``layers.gpkg`` the layers came from, as :func:`build_layers` leaves it); the files written.

    ``scenario`` names the run in the files' metadata (default: the packaged scenario);
    ``scenario_path`` is recorded as ``out/scenario.toml``; ``log`` is the row log of the sites'
    assembly (:func:`gis.scoring.api.score_sites_with_log`), kept in ``sites.gpkg``.
    """
    scenario = scenario or load_scenario(scenario_path)
    metadata = sites_metadata(scenario, log or RowLog("candidate_sites"))
    return outputs_stage(
        sites,
        estimates,
        layers,
        metadata,
        out=Path(out),
        scenario_path=scenario_path,
        console=console or Console(quiet=True),
    )
