"""The scoring stage end to end: layers -> candidate sites -> measures -> scores -> files.

:func:`score_sites` is pure (data in, data out); :func:`score_command` does the I/O for
``gis score``: reads ``OUT/layers.gpkg``, writes ``OUT/sites.gpkg`` (layer ``candidate_sites``)
and ``OUT/sites_ranked.csv`` (best first, with lat/lon; byte-identical for the same inputs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from gis import STORAGE_CRS, __version__
from gis.config.energy import EnergyConfig
from gis.config.scoring import ScoringConfig
from gis.config.vocabulary import CATEGORIES
from gis.energy.build import (
    SUMMARY_COLUMNS,
    WASTED_CATEGORIES,
    MarketTables,
    describe_surplus,
    surplus_profiles,
)
from gis.engine import Engine
from gis.io import gpkg_layer_names, write_csv, write_gpkg
from gis.layers.curtailment import read_curtailment_table
from gis.layers.osm import road_tiles
from gis.measures import MEASURES_ON_SITES, measure_sites
from gis.rowlog import RowLog
from gis.schema import validate
from gis.scoring.allocate import GROUP_COLUMN, allocate_shared, interconnect_groups, site_groups
from gis.scoring.columns import CANDIDATE_SITES, CSV_FLOAT_DIGITS
from gis.scoring.flags import site_flags
from gis.scoring.score import score_measures
from gis.scoring.stability import p_top_n
from gis.sites import candidate_sites
from gis.timing import stage

if TYPE_CHECKING:
    from gis.config.scenario import Scenario

__all__ = [
    "LAYER_NAMES",
    "measured_sites",
    "measures_engine",
    "print_sites",
    "ranked_csv_frame",
    "ranked_sites",
    "score_command",
    "score_sites",
    "score_sites_with_log",
    "sites_metadata",
    "write_sites",
]

LAYER_NAMES = (
    "plants",
    "plant_status",
    "transmission_lines",
    "substations",
    "flare_sites",
    "offshore_wells",
    "military_sites",
    "states",
    "market_prices",
    "market_mix",
    "curtailment_daily",
)
"""Layers the scoring stage reads from layers.gpkg (those present)."""


def _config(scenario_or_config: Scenario | ScoringConfig) -> ScoringConfig:
    if isinstance(scenario_or_config, ScoringConfig):
        return scenario_or_config
    return scenario_or_config.scoring


def _energy_config(scenario_or_config: Scenario | ScoringConfig) -> EnergyConfig:
    if isinstance(scenario_or_config, ScoringConfig):
        from gis.config.scenario import load_scenario

        return load_scenario().energy
    return scenario_or_config.energy


def with_energy(
    sites: gpd.GeoDataFrame,
    layers: dict[str, pd.DataFrame],
    energy: EnergyConfig,
    log: RowLog,
    *,
    markets: MarketTables | None = None,
) -> gpd.GeoDataFrame:
    """Sites with the energy stage's columns; a wasted-energy site's ``asset_mw`` becomes the MW of
    wasted energy it has in its best hour, and its ``basis`` says where that comes from.
    ``markets``: hourly market tables to share with the estimate stage (:class:`MarketTables`)."""
    with stage("hourly"):
        profiles, summary = surplus_profiles(sites, layers, energy, log, markets=markets)
    sites = sites.copy()
    wasted = sites["category"].isin(WASTED_CATEGORIES).to_numpy()
    sites["asset_mw"] = np.where(wasted, profiles.sites["max_mw"].to_numpy(), sites["asset_mw"].to_numpy())
    sites["basis"] = describe_surplus(sites, summary, energy)
    for col in [*SUMMARY_COLUMNS, "no_surplus_reason"]:
        sites[col] = summary[col].to_numpy()
    return sites


def measured_sites(
    layers: dict[str, pd.DataFrame],
    scenario_or_config: Scenario | ScoringConfig,
    *,
    engine: Engine | None = None,
    markets: MarketTables | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, RowLog]:
    """The part of scoring no weight changes: candidate sites with their energy columns, their
    measures (``engine``, default in-process) with their shared-interconnect groups
    (:data:`gis.scoring.allocate.GROUP_COLUMN`) and the row log of the assembly.

    Weights, thresholds and stability enter only in :func:`ranked_sites`, so a planner's weight
    change reuses this result (``gis run`` keeps it in the stage cache, :mod:`gis.memo`).
    """
    config = _config(scenario_or_config)
    table = config.sites.stranded.curtailment_table
    sites, log = candidate_sites(layers, config, curtailment=read_curtailment_table(table) if table else None)
    sites = with_energy(sites, layers, _energy_config(scenario_or_config), log, markets=markets)
    if config.roads.enabled:  # the street networks of the sites' tiles, read before measuring
        layers = {**layers, "roads": road_tiles(gpd.GeoSeries(sites.geometry, crs=sites.crs))}
    measures = (
        engine.measure(sites, layers, config) if engine is not None else measure_sites(sites, layers, config)
    )
    groups = interconnect_groups(gpd.GeoSeries(sites.geometry, crs=sites.crs), measures, config.grid)
    return sites, measures.assign(**{GROUP_COLUMN: groups}), log


def ranked_sites(
    sites: gpd.GeoDataFrame, measures: pd.DataFrame, config: ScoringConfig, log: RowLog
) -> gpd.GeoDataFrame:
    """Sites and their measures (:func:`measured_sites`) scored, shared interconnects allocated,
    flagged and ranked, best first (EPSG:4326, ``candidate_sites`` schema); counts the MW cuts in
    ``log``."""
    scored = score_measures(measures, config)
    order = np.argsort(scored["rank"].to_numpy(), kind="stable")
    groups = site_groups(gpd.GeoSeries(sites.geometry, crs=sites.crs), measures, config.grid)
    potential = measures["mineable_mw"].to_numpy(dtype="float64")
    kept = allocate_shared(potential, measures["headroom_mw"].to_numpy(dtype="float64"), groups, order)
    cut = potential - kept
    log.repair(int((cut > 1e-9).sum()), "sites with MW cut by a better site on a shared interconnect")
    frame = sites.drop(columns=["energy_fuel", "grid_voltage_kv"]).copy()
    for col in MEASURES_ON_SITES:
        frame[col] = measures[col].to_numpy()
    frame["mineable_mw"] = kept
    frame["shared_cut_mw"] = cut
    frame["interconnect_group"] = np.where(
        groups >= 0, pd.Series(sites["site_id"].to_numpy(dtype=object)[_group_leader(groups, order)]), ""
    )
    for col in scored.columns:
        frame[col] = scored[col].to_numpy()
    frame = pd.concat([frame, site_flags(frame, config.flags)], axis=1)
    subs = scored[[c for c in scored.columns if c.startswith("s_")]].to_numpy(dtype="float64")
    weights = np.array([c.weight for c in config.criteria.values()])
    p = np.zeros(len(frame))
    p[order] = p_top_n(subs[order], weights, scored["excluded"].to_numpy()[order], config.stability)
    frame["p_top_n"] = p
    frame = frame.iloc[order].reset_index(drop=True)
    return validate(gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS), CANDIDATE_SITES)


def score_sites_with_log(
    layers: dict[str, pd.DataFrame],
    scenario_or_config: Scenario | ScoringConfig,
    *,
    engine: Engine | None = None,
    markets: MarketTables | None = None,
    measured: tuple[gpd.GeoDataFrame, pd.DataFrame, RowLog] | None = None,
) -> tuple[gpd.GeoDataFrame, RowLog]:
    """Like :func:`score_sites`, also returning the row log of the candidate-site assembly
    (``markets``: hourly market tables shared with the estimate stage; ``measured``: the result
    of :func:`measured_sites` for these layers and scenario, reused instead of computed)."""
    if measured is None:
        measured = measured_sites(layers, scenario_or_config, engine=engine, markets=markets)
    sites, measures, log = measured
    return ranked_sites(sites, measures, _config(scenario_or_config), log), log


def _group_leader(groups: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per site, the position of its group's best-ranked member (the group's id holder)."""
    ranked_groups = pd.Series(groups[order])
    leader_sorted = pd.Series(order).groupby(ranked_groups.to_numpy()).transform("first").to_numpy()
    leader = np.empty_like(order)
    leader[order] = leader_sorted
    return leader


def score_sites(
    layers: dict[str, pd.DataFrame],
    scenario_or_config: Scenario | ScoringConfig,
    *,
    engine: Engine | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites, scored and ranked, best first (EPSG:4326 points, ``candidate_sites`` schema).

    Parameters
    ----------
    layers
        canonical layers by name (``gis.layers.read_layers``); plants, plant_status,
        military_sites, flare_sites, offshore_wells, transmission_lines, substations, states.
    scenario_or_config
        a :class:`gis.config.scenario.Scenario` or its :class:`ScoringConfig`.
    engine
        where the measures (the geometry work) run: :mod:`gis.engine` (default: in-process);
        ranking and stability always run here, on all sites at once.

    Returns
    -------
    geopandas.GeoDataFrame
        one row per candidate site, columns of :data:`gis.scoring.columns.CANDIDATE_SITES` (MW,
        km, kV, USD/MWh, t CO2/MWh; score 0..1) and the ``s_<criterion>`` sub-scores.

    Examples
    --------
    One federal dam and no other layer: no hourly prices in its region, so no evidence of wasted
    energy, no mineable MW, and the site is excluded (and says why):

    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> from gis.config.scenario import load_scenario
    >>> from gis.schema import validate
    >>> plants = validate(gpd.GeoDataFrame({"plant_id": [1], "name": ["Demo Dam"],
    ...     "owner": ["Tennessee Valley Authority"], "owner_class": ["federal_tva"], "fuel": ["hydro"],
    ...     "capacity_mw": [100.0], "generation_gwh": [350.0], "generation_year": [2019],
    ...     "capacity_factor": [0.4], "commissioning_year": [1950.0], "state": ["TN"],
    ...     "status": ["operating"], "retirement_date": [""], "grid_voltage_kv": [161.0],
    ...     "sources": ["demo"]}, geometry=[Point(-85.0, 35.5)], crs="EPSG:4326"), "plants")
    >>> sites = score_sites({"plants": plants}, load_scenario())
    >>> row = sites.iloc[0]
    >>> row.site_id, row.category, float(row.mineable_mw), bool(row.excluded), row.exclusion_reason
    ('federal_hydro:1', 'federal_hydro', 0.0, True, 'less than 0.05 MW mineable')
    """
    return score_sites_with_log(layers, scenario_or_config, engine=engine)[0]


def ranked_csv_frame(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """The CSV form: same rows and columns without geometry, plus lat/lon, floats rounded."""
    frame = pd.DataFrame(sites.drop(columns="geometry"))
    frame["lat"] = sites.geometry.y.to_numpy()
    frame["lon"] = sites.geometry.x.to_numpy()
    digits = {c: 6 for c in frame.columns if c.startswith("s_")} | CSV_FLOAT_DIGITS
    frame = frame.round({c: d for c, d in digits.items() if c in frame.columns})
    for col in CANDIDATE_SITES.columns:  # a year read back from a GeoPackage is float: print 2024, not 2024.0
        if col.dtype == "Int64" and col.name in frame.columns and frame[col.name].dtype != "Int64":
            frame[col.name] = pd.to_numeric(frame[col.name]).astype("Int64")
    return frame


def _category_table(sites: gpd.GeoDataFrame) -> Table:
    table = Table(title="Candidate sites by category")
    for col in ("category", "ledger", "sites", "excluded", "mineable MW", "wasted GW (avg)", "wasted TWh/yr"):
        table.add_column(col, justify="left" if col in ("category", "ledger") else "right")

    def wasted(rows: pd.DataFrame, col: str) -> float:
        return float(rows[col].fillna(0.0).sum()) if col in rows else 0.0

    for category in CATEGORIES:
        rows = sites.loc[sites["category"] == category]
        kept = rows.loc[~rows["excluded"]]
        ledger = str(rows["ledger"].iloc[0]) if len(rows) and "ledger" in rows else ""
        table.add_row(
            category,
            ledger,
            f"{len(rows):,}",
            f"{int(rows['excluded'].sum()):,}",
            f"{kept['mineable_mw'].sum():,.0f}",
            f"{wasted(rows, 'wasted_avg_mw') / 1e3:,.2f}",
            f"{wasted(rows, 'wasted_mwh_per_year') / 1e6:,.2f}",
        )
    kept = sites.loc[~sites["excluded"]]
    table.add_row(
        "total",
        "",
        f"{len(sites):,}",
        f"{int(sites['excluded'].sum()):,}",
        f"{kept['mineable_mw'].sum():,.0f}",
        f"{wasted(sites, 'wasted_avg_mw') / 1e3:,.2f}",
        f"{wasted(sites, 'wasted_mwh_per_year') / 1e6:,.2f}",
    )
    return table


def _top_table(sites: gpd.GeoDataFrame, n: int = 10) -> Table:
    table = Table(title=f"Top {n} sites")
    for col in ("rank", "site", "category", "state", "mineable MW", "score", "p_top_n"):
        table.add_column(
            col, justify="right" if col in {"rank", "mineable MW", "score", "p_top_n"} else "left"
        )
    for row in sites.head(n).itertuples():
        table.add_row(
            str(row.rank),
            f"{row.name} ({row.site_id})",
            row.category,
            row.state,
            f"{row.mineable_mw:,.1f}",
            f"{row.score:.3f}",
            f"{row.p_top_n:.2f}",
        )
    return table


def score_command(
    *,
    out: Path,
    scenario_path: Path | None,
    console: Console,
    engine: str = "local",
    scheduler: str | None = None,
    grid: bool = False,
    grid_stage: Callable[..., dict[str, Path]] | None = None,
) -> dict[str, Path]:
    """``gis score``: read OUT/layers.gpkg, score, write OUT/sites.gpkg and OUT/sites_ranked.csv.

    ``engine``/``scheduler`` choose where the measures run (:func:`measures_engine`); ``grid`` (or
    ``[scoring.national_grid] enabled``) also writes the grid cells with ``grid_stage``
    (:func:`gis.grid.grid_command`, a later stage, passed in by the command line).
    """
    from gis.config.scenario import load_scenario
    from gis.layers import read_layers

    out = Path(out)
    scenario = load_scenario(scenario_path)
    source = out / "layers.gpkg"
    available = (
        set(gpkg_layer_names(source, fix="rebuild it with `gis build`")) if source.is_file() else set()
    )
    layers = read_layers(source, names=[n for n in LAYER_NAMES if n in available] or None)
    with measures_engine(engine, scheduler, scenario) as runner:
        sites, log = score_sites_with_log(layers, scenario, engine=runner)
        print_sites(sites, log, console)
        written = write_sites(out, scenario, sites, log)
        console.print(f"Wrote {written['sites_gpkg']} and {written['sites_csv']}")
        if grid or scenario.scoring.national_grid.enabled:
            if grid_stage is None:
                raise ValueError("score_command: scoring grid cells needs grid_stage (gis.grid.grid_command)")
            written |= grid_stage(out=out, scenario=scenario, engine=runner, console=console)
    return written


def measures_engine(engine: str, scheduler: str | None, scenario: Scenario) -> Engine:
    """The engine the measures run on (:func:`gis.engine.get_engine`: ``local`` or ``dask`` at
    ``scheduler``), caching measures in ``$GIS_CACHE_DIR/measures``; use it as a context manager."""
    from gis.config.settings import cache_dir
    from gis.engine import get_engine

    chunk_rows = scenario.scoring.national_grid.chunk_rows
    return get_engine(engine, scheduler=scheduler, chunk_rows=chunk_rows, cache_dir=cache_dir() / "measures")


def sites_metadata(scenario: Scenario, log: RowLog) -> dict[str, str]:
    """The metadata of the ``candidate_sites`` layer: tool, scenario, row log, column meanings."""
    return {
        "tool": f"gis-btc-sites {__version__}",
        "scenario": scenario.name,
        "row_log": json.dumps(log.as_dict()),
        "schema": json.dumps(CANDIDATE_SITES.description),
    }


def write_sites(out: Path, scenario: Scenario, sites: gpd.GeoDataFrame, log: RowLog) -> dict[str, Path]:
    """Write ``OUT/sites.gpkg`` (layer ``candidate_sites``, EPSG:4326) and ``OUT/sites_ranked.csv``."""
    metadata = sites_metadata(scenario, log)
    gpkg = write_gpkg(
        out / "sites.gpkg", {"candidate_sites": sites}, layer_metadata={"candidate_sites": metadata}
    )
    csv = write_csv(out / "sites_ranked.csv", ranked_csv_frame(sites))
    return {"sites_gpkg": gpkg, "sites_csv": csv}


def print_sites(sites: gpd.GeoDataFrame, log: RowLog, console: Console) -> None:
    """Sites per category, the top sites, and what the assembly left out or noted (nothing is
    drawn for a quiet console: its tables would be laid out and thrown away)."""
    if getattr(console, "quiet", False):
        return
    console.print(_category_table(sites))
    console.print(_top_table(sites))
    for reason, count in log.dropped.items():
        console.print(f"[cyan]left out:[/] {reason}: {count:,}")
    for note in log.notes:
        console.print(f"[cyan]note:[/] {note}")
