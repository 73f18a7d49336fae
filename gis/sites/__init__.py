"""Candidate sites: one row per asset (or cluster) for every category, with the asset's mineable MW.

One module per category (each docstring gives its model, formula and units)::

    federal_hydro   TVA / USACE / USBR hydro plants        plants
    retired_coal    retired / retiring / retooled coal      plant_status (+ plants for voltage)
    nuclear         nuclear off-peak surplus                plants
    military        DoD installations + military plants     military_sites, plants
    flare           flare clusters, Gulf platforms          flare_sites, offshore_wells
    stranded        curtailed wind and solar                plants

``asset_mw`` is what the asset alone allows; the grid limit (headroom) and shared-interconnect
allocation come later, in :mod:`gis.scoring`.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gis import STORAGE_CRS
from gis.config.scoring import ScoringConfig
from gis.config.vocabulary import CATEGORIES
from gis.errors import GisError
from gis.rowlog import RowLog
from gis.schema import LAYER_SCHEMAS
from gis.sites._frame import SITE_COLUMNS, empty_sites
from gis.sites.federal_hydro import federal_hydro_sites
from gis.sites.flare import bcm_to_mw, cluster_points, flare_gas_sites
from gis.sites.military import military_backup_sites
from gis.sites.nuclear import nuclear_surplus_sites
from gis.sites.retired_coal import retired_coal_sites
from gis.sites.stranded import stranded_sites

__all__ = [
    "SITE_COLUMNS",
    "bcm_to_mw",
    "candidate_sites",
    "cluster_points",
    "federal_hydro_sites",
    "flare_gas_sites",
    "military_backup_sites",
    "nuclear_surplus_sites",
    "retired_coal_sites",
    "stranded_sites",
]


def _layer(layers: dict[str, pd.DataFrame], name: str, log: RowLog) -> pd.DataFrame:
    """A source layer, or an empty frame in its schema (noted) when the layer is absent."""
    if name in layers:
        return layers[name]
    log.note(f"layer {name} absent from the layers GeoPackage: its categories have no sites")
    schema = LAYER_SCHEMAS[name]
    empty = pd.DataFrame(
        {c.name: pd.Series(dtype="object" if c.dtype == "str" else c.dtype) for c in schema.columns}
    )
    return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def candidate_sites(
    layers: dict[str, pd.DataFrame], config: ScoringConfig, *, curtailment: pd.Series | None = None
) -> tuple[gpd.GeoDataFrame, RowLog]:
    """Every category's candidate sites (EPSG:4326 points) and the row log of what was left out.

    Parameters
    ----------
    layers
        canonical layers by name (``gis.layers.read_layers``): plants, plant_status,
        military_sites, flare_sites, offshore_wells (optional).
    config
        the ``[scoring]`` table; its ``sites`` models give every factor.
    curtailment
        the user's plant-level curtailment table when the scenario names one (MWh/yr by EIA plant
        id, :func:`gis.layers.curtailment.read_curtailment_table`).

    Returns
    -------
    sites, log
        columns :data:`SITE_COLUMNS` + geometry, sorted by site_id; a category that comes out
        empty leaves a note in the log saying why.
    """
    log = RowLog("candidate_sites")
    models = config.sites
    plants = _layer(layers, "plants", log)
    parts = [
        federal_hydro_sites(plants, models.federal_hydro, log),
        retired_coal_sites(_layer(layers, "plant_status", log), plants, models.retired_coal, log),
        nuclear_surplus_sites(plants, models.nuclear_surplus, log),
        military_backup_sites(_layer(layers, "military_sites", log), plants, models.military_backup, log),
        flare_gas_sites(
            _layer(layers, "flare_sites", log), layers.get("offshore_wells"), models.flare_gas, log
        ),
        stranded_sites(plants, models.stranded, log, curtailment),
    ]
    parts = [p for p in parts if len(p)]
    sites = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=STORAGE_CRS) if parts else empty_sites()
    duplicated = sites["site_id"].duplicated()
    if duplicated.any():
        raise GisError(
            f"site ids are not unique, e.g. {sites.loc[duplicated, 'site_id'].head(3).tolist()}",
            field="site_id",
            fix="the plants layer must have one row per plant_id (rebuild it with `gis build`)",
        )
    for category in CATEGORIES:
        if not (sites["category"] == category).any() and not any(n.startswith(category) for n in log.notes):
            log.note(f"{category}: no candidate sites (see the dropped-row counts)")
    sites = sites.sort_values("site_id", kind="stable").reset_index(drop=True)
    return sites, log
