"""The estimates stage's entry points: ``estimate`` (pure) and the two ``gis estimate`` commands.

``estimate(sites, config)`` turns candidate sites into the ``estimates.json`` content;
``estimate_command`` reads ``OUT/sites.gpkg`` and writes ``OUT/estimates.json`` atomically;
``calculator_command`` is calculator mode (``gis estimate --gw ...``, no sites).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import overload

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from gis import __version__
from gis.config.asics import AsicModel, asic_model
from gis.config.energy import EnergyConfig
from gis.config.estimates import EstimatesConfig, assumptions
from gis.config.scenario import Scenario, load_estimates_config
from gis.config.vocabulary import CATEGORIES
from gis.energy import published_comparison, surplus_by_category, surplus_profiles
from gis.energy.build import MarketTables
from gis.energy.profiles import SurplusProfiles
from gis.errors import GisError
from gis.estimates import bitcoin, carbon, fleet, rollup
from gis.estimates.calculator import (
    CALCULATOR_DEFAULTS,
    FORMULAS,
    Reward,
    calculator,
    seed_claim_check,
    seed_claims_corrected,
)
from gis.estimates.keep import kept_json, kept_tables, monte_carlo_key, profiles_key, tables_key
from gis.estimates.keys import ESTIMATE_KEYS
from gis.memo import digest
from gis.rowlog import RowLog
from gis.scoring.columns import read_candidate_sites
from gis.timing import stage

HOURS = 8_760.0

__all__ = [
    "ESTIMATE_LAYERS",
    "calculator",
    "calculator_command",
    "estimate",
    "estimate_command",
    "estimate_stage",
    "latest_difficulty",
    "network_from_layer",
    "print_estimates",
]

SITES_LAYER = "candidate_sites"


@overload
def _finite(value: dict) -> dict: ...
@overload
def _finite(value: object) -> object: ...
def _finite(value: object) -> object:
    """JSON-safe copy: NaN / inf become None, numpy scalars plain Python."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def network_from_layer(btc_network: pd.DataFrame) -> dict:
    """Latest network state from the ``btc_network`` layer: date, hashrate_ehs (as reported),
    difficulty, difficulty_date and implied_hashrate_ehs (difficulty x 2^32 / 600 s, EH/s).

    Uses ``gis.layers.bitcoin.latest_network`` when the layer builder provides it, else
    :func:`latest_difficulty`.
    """
    try:
        from gis.layers.bitcoin import latest_network
    except ImportError:
        return latest_difficulty(btc_network)
    return dict(latest_network(btc_network))


def latest_difficulty(btc_network: pd.DataFrame) -> dict:
    """The last day of ``btc_network`` with a difficulty, and the hashrate it implies (EH/s)."""
    rows = btc_network.dropna(subset=["difficulty"]).sort_values("date", kind="mergesort")
    if rows.empty:
        raise GisError(
            "the btc_network layer has no difficulty to derive the network hashrate from",
            field="difficulty",
            fix="rebuild layers with the Bitcoin network sources, or set estimates.network.hashrate_ehs to a number",
        )
    last = rows.iloc[-1]
    return {
        "date": str(last["date"]),
        "hashrate_ehs": float(last["hashrate_ehs"]),
        "difficulty": float(last["difficulty"]),
        "difficulty_date": str(last["date"]),
        "implied_hashrate_ehs": float(bitcoin.hashrate_from_difficulty_ehs(last["difficulty"])),
    }


def _network_ehs(config: EstimatesConfig, network: dict | None) -> tuple[float, dict]:
    if config.network.hashrate_ehs != "from_data":
        fixed = float(config.network.hashrate_ehs)
        return fixed, {"value": fixed, "unit": "EH/s", "source": "scenario estimates.network.hashrate_ehs"}
    if not network:
        raise GisError(
            "the scenario takes the network hashrate from data, but no btc_network data was given",
            field="estimates.network.hashrate_ehs",
            fix="run `gis build` so OUT/layers.gpkg has btc_network, or set a number of EH/s",
        )
    value = network.get("implied_hashrate_ehs")
    how = "difficulty x 2^32 / 600 s"
    if value is None or not math.isfinite(float(value)):
        value, how = network.get("hashrate_ehs"), "reported hashrate (no difficulty)"
    if value is None or not float(value) > 0:
        raise GisError(
            "the btc_network data gives no usable hashrate",
            field="estimates.network.hashrate_ehs",
            fix="set a number of EH/s in the scenario",
        )
    return float(value), {
        "value": float(value),
        "unit": "EH/s",
        "source": f"btc_network layer, {network.get('difficulty_date') or network.get('date', '?')}: {how} "
        f"(difficulty {network.get('difficulty')}, reported {network.get('hashrate_ehs')} EH/s)",
    }


def _fleet_profiles(
    profiles: SurplusProfiles, sites: pd.DataFrame, config: EstimatesConfig
) -> SurplusProfiles:
    """The profiles with what the scoring and carbon stages know of each site: the fleet a site can
    host is its ``mineable_mw`` (grid headroom and shared interconnects applied); a flare genset's
    CO2 and the methane it destroys (:func:`gis.estimates.carbon.flare_factors_t_per_mwh`); a diesel
    genset's CO2. Curtailed, spilled and negative-price energy counts no CO2 (it is wasted)."""
    table = profiles.sites.copy()
    if len(table) != len(sites) or not (table["site_id"].to_numpy() == sites["site_id"].to_numpy()).all():
        raise GisError(
            "the hourly profiles do not match the candidate sites row for row",
            field="site_id",
            fix="rerun `gis score` so sites.gpkg and the profiles come from the same layers",
        )
    mineable = sites["mineable_mw"].to_numpy(dtype=float)
    table["max_mw"] = np.minimum(table["max_mw"].to_numpy(dtype=float), mineable)
    table["wasted_mw"] = np.minimum(table["wasted_mw"].to_numpy(dtype=float), mineable)
    factor = sites["co2_t_per_mwh"].to_numpy(dtype=float)
    genset, avoided = carbon.flare_factors_t_per_mwh(
        np.nan_to_num(factor),
        flare_efficiency=config.carbon.flare_destruction_efficiency,
        genset_efficiency=config.carbon.genset_destruction_efficiency,
        methane_gwp100=config.carbon.methane_gwp100,
        avoided_share=config.carbon.flare_avoided_share,
    )
    flare = (sites["category"] == "flare_gas").to_numpy()
    gensets = ((sites["category"] == "military_backup") & (table["shape"] >= 0)).to_numpy()
    table["wasted_co2_t_per_mwh"] = np.where(flare, genset, np.where(gensets, np.nan_to_num(factor), 0.0))
    table["avoided_co2_t_per_mwh"] = np.where(flare, avoided, 0.0)
    return dataclasses.replace(profiles, sites=table)


def _group(per_site: pd.DataFrame, by: str) -> dict[str, dict]:
    """Sums of the fleet's sites by ``by`` (category, state, owner_class), largest fleet first."""
    fleet = per_site.loc[per_site["in_fleet"]]
    if fleet.empty:
        return {}
    g = fleet.groupby(by, sort=True).agg(
        sites=("site_id", "size"),
        fleet_mw=("fleet_mw", "sum"),
        wasted_mwh=("wasted_mwh_per_year", "sum"),
        bought_mwh=("bought_mwh_per_year", "sum"),
        hashrate_ehs=("hashrate_ehs", "sum"),
        btc_per_year=("btc_per_year", "sum"),
        co2_t=("co2_t", "sum"),
        revenue=("revenue_usd", "sum"),
        npv=("npv_usd", "sum"),
    )
    g = g.reset_index().sort_values(["fleet_mw", by], ascending=[False, True], kind="mergesort")
    return {
        str(row[by]): {
            "sites": int(row["sites"]),
            "mineable_gw": float(row["fleet_mw"]) / 1e3,
            "average_gw": float(row["wasted_mwh"] + row["bought_mwh"]) / HOURS / 1e3,
            "wasted_twh_per_year": float(row["wasted_mwh"]) / 1e6,
            "bought_twh_per_year": float(row["bought_mwh"]) / 1e6,
            "hashrate_ehs": float(row["hashrate_ehs"]),
            "btc_per_year": float(row["btc_per_year"]),
            "co2_mt_per_year": float(row["co2_t"]) / 1e6,
            "revenue_usd_per_year": float(row["revenue"]),
            "npv_usd": float(row["npv"]),
        }
        for row in g.to_dict("records")
    }


def _categories(checked: pd.DataFrame, per_site: pd.DataFrame, surplus: list[dict]) -> list[dict]:
    """Every category, with its candidates, its wasted energy, its fleet and, when it adds nothing,
    why (never a silent omission)."""
    rows = []
    by_surplus = {r["category"]: r for r in surplus}
    for category in CATEGORIES:
        cand = checked["category"] == category
        fleet = per_site.loc[cand.to_numpy() & per_site["in_fleet"].to_numpy()]
        waste = by_surplus.get(category, {})
        eligible = int((cand & ~checked["excluded"]).sum())
        if len(fleet):
            why = ""
        elif not cand.any():
            why = "no candidate sites in the data"
        elif waste.get("ledger") == "wasted" and waste.get("twh_per_year", 0.0) == 0.0:
            why = "no wasted energy found in the market data (see each site's basis)"
        elif eligible == 0:
            why = "every site excluded by the scoring rules"
        else:
            why = "no site's NPV-optimal fleet pays back its machines over their life at the central inputs"
        rows.append(
            {
                "category": category,
                "ledger": waste.get("ledger", ""),
                "candidates": int(cand.sum()),
                "eligible": eligible,
                "wasted_avg_gw": waste.get("avg_gw", 0.0),
                "wasted_twh_per_year": waste.get("twh_per_year", 0.0),
                "in_fleet": len(fleet),
                "fleet_gw": float(fleet["fleet_mw"].sum()) / 1e3,
                "btc_per_year": float(fleet["btc_per_year"].sum()),
                "why_none": why,
            }
        )
    return rows


def _explorer_grid(result: fleet.FleetResult, config: EstimatesConfig, axes: dict[str, list[float]]) -> dict:
    """National figures per ledger at every point of the explorer's grid, solved in one batch:
    ``{"axes": {axis: [values]}, "ledgers": {ledger: {metric: nested list [i_axis0][i_axis1]...}}}``
    (the layout :mod:`gis.outputs.explorer` interpolates)."""
    from itertools import pairwise, product

    names = list(axes)
    for name in names:
        values = [float(v) for v in axes[name]]
        if not values or any(b <= a for a, b in pairwise(values)):
            raise GisError(
                f"grid axis {name} must be a strictly increasing list of numbers, got {values}",
                field=f"explorer.{name}",
                fix="list the grid points in increasing order",
            )
    points = np.array(list(product(*(axes[n] for n in names))), dtype=float)
    v = fleet.evaluate_points(result, config, {n: points[:, i] for i, n in enumerate(names)})
    shape = tuple(len(axes[n]) for n in names)
    j_th = points[:, names.index("efficiency_j_th")] if "efficiency_j_th" in names else None
    if j_th is None:
        j_th = np.full(len(points), asic_model(config.asic_model).efficiency_j_th)
    ehs_per_gw = 1e3 / (config.pue * j_th)  # EH/s per average GW of site power

    def cube(a: np.ndarray) -> list:
        return np.asarray(a, dtype=float).reshape(shape).tolist()

    ledgers = {
        ledger: {
            "gw": cube(v[f"{ledger}_average_gw"]),
            "ehs": cube(v[f"{ledger}_average_gw"] * ehs_per_gw),
            "btc_per_year": cube(v[f"{ledger}_btc_per_year"]),
        }
        for ledger in ("wasted", "bought")
    }
    ledgers["fleet"] = {
        "gw": cube(v["installed_gw"]),
        "ehs": cube(v["hashrate_average_ehs"]),
        "btc_per_year": cube(v["btc_per_year"]),
        "npv_usd": cube(v["npv_usd"]),
    }
    return {"axes": {n: [float(x) for x in axes[n]] for n in names}, "ledgers": ledgers}


def _selection_frames(sites: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, RowLog]:
    """The checked sites, ``sites`` with ``mineable_mw`` (MW) >= 0, and the log counting rows no fleet can use."""
    log = RowLog("estimates_selection")
    checked = rollup.check_sites(sites)
    log.read(len(checked))
    kept = log.drop(checked, checked["excluded"], "excluded by scoring")
    mw = kept["mineable_mw"]
    log.drop(kept, ~(np.isfinite(mw) & (mw > 0)), "no positive mineable_mw (no fleet can stand there)")
    sites = sites.reset_index(drop=True).assign(
        mineable_mw=np.where(np.isfinite(checked["mineable_mw"]), checked["mineable_mw"], 0.0).clip(min=0.0)
    )
    return checked, sites, log


def _height_and_subsidy(config: EstimatesConfig) -> tuple[int, float]:
    """The expected block height on the scenario's ``network.as_of`` date and its subsidy (BTC/block)."""
    height = bitcoin.height_at(
        config.network.as_of,
        anchor_height=config.network.anchor_height,
        anchor_date=config.network.anchor_date,
        blocks_per_year=config.network.blocks_per_year,
    )
    return height, float(bitcoin.block_subsidy_btc(height))


def _national(n: dict, network_ehs: float, height: int, subsidy: float, surplus: dict) -> dict:
    """The national figures: the fleet's (GW, EH/s, BTC) with the network (EH/s, height, BTC) beside."""
    return {
        **n,
        "sites": int(n["sites_in_fleet"]),
        "mineable_gw": n["installed_gw"],
        "hashrate_ehs": n["hashrate_average_ehs"],
        "share_of_network": n["share_of_network_year_one"],
        "btc_per_day": n["btc_per_year"] / 365.0,
        "network_ehs": network_ehs,
        "block_height": height,
        "block_subsidy_btc": subsidy,
        "remaining_supply_btc": float(bitcoin.remaining_supply_btc(height)),
        "wasted_energy_potential_gw": sum(r.get("avg_gw", 0.0) for r in surplus.get("by_category", [])),
        "headline_ledger": "wasted",
    }


def _estimate_formulas(config: EstimatesConfig) -> dict[str, str]:
    """The formulas of the estimate, in words."""
    return {
        **FORMULAS,
        "revenue_usd_per_mwh": "hashprice / (J/TH x 2.4e-5 MWh) / PUE, hashprice from subsidy + fees, price and "
        "network + the fleet's own average hashrate",
        "dispatch": "a fleet of C MW runs min(C, wasted MW) when its cost < revenue per MWh, and (where it may "
        "buy) tops up at the hub price when that is below the revenue; otherwise it curtails",
        "fleet_size": "per site, the C that maximises NPV = -capex(C) + sum of discounted yearly margins",
        "selection": "every site whose optimal fleet has NPV > 0 (rule npv), with one dilution for the fleet",
        "co2": "wasted energy: the genset's CO2 minus the flare's methane it destroys (flares), 0 for curtailed, "
        "spilled or negative-price energy; bought energy: the hub's hourly grid intensity",
        "bands": f"P10/P50/P90 of {config.uncertainty.draws:,} seeded draws (seed {config.uncertainty.seed}), the "
        "fleet re-sized and re-selected in every draw",
    }


def _used_assumptions(
    c: EstimatesConfig, asic: AsicModel, network_assumption: dict, height: int, subsidy: float, year: int
) -> dict:
    """Every assumption of the estimate with its value, unit, meaning and source."""
    used = assumptions(c)
    used["network.hashrate_ehs"] = {**used["network.hashrate_ehs"], **network_assumption}
    used["asic"] = {
        "value": {
            "model": asic.name,
            "hashrate_ths": asic.hashrate_ths,
            "power_w": asic.power_w,
            "efficiency_j_th": asic.efficiency_j_th,
            "weak_source": asic.weak,
        },
        "unit": "TH/s, W, J/TH",
        "meaning": "the ASIC every site is fitted with",
        "source": f"{asic.source} ({asic.date})",
    }
    used["block_subsidy_btc"] = {
        "value": subsidy,
        "unit": "BTC/block",
        "meaning": f"subsidy at the expected height {height:,} on {c.network.as_of.isoformat()}",
        "source": "50 BTC halved every 210,000 blocks (bitcoin/bitcoin chainparams.cpp, GetBlockSubsidy)",
    }
    used["reference_year"] = {
        "value": year,
        "unit": "year",
        "meaning": "year of the hourly market data every site's energy is dispatched on, repeated each year",
        "source": "EIA Wholesale Electricity Market Portal; CAISO curtailment (SOURCES.md §11-12)",
    }
    used["spur_km"] = {
        "value": 0.0,
        "unit": "km",
        "meaning": "new line a buying site builds: every candidate stands at a plant or interconnection",
        "source": "assumption: plants and retired plants keep their grid connection",
    }
    used["formulas"] = _estimate_formulas(c)
    return used


def _reward(config: EstimatesConfig, subsidy: float) -> Reward:
    """The scenario's block reward (BTC per block) and uptime."""
    return Reward(
        subsidy_btc=subsidy,
        fees_btc_per_block=config.network.fees_btc_per_block,
        uptime=config.uptime,
        blocks_per_year=config.network.blocks_per_year,
    )


def _per_site(result: fleet.FleetResult, checked: pd.DataFrame) -> pd.DataFrame:
    """The fleet's per-site rows with ``state`` ("offshore" when blank) and ``owner_class`` ("unknown")."""
    return result.sites.assign(
        state=checked["state"].where(checked["state"] != "", "offshore").to_numpy(),
        owner_class=checked["owner_class"].where(checked["owner_class"] != "", "unknown").to_numpy(),
    )


def _run_fleet(
    prof: SurplusProfiles, checked: pd.DataFrame, c: EstimatesConfig, network_ehs: float, *, on_disk: bool
) -> tuple[fleet.FleetResult, dict, str]:
    """The economic fleet on the sites' profiles, its seeded Monte Carlo draws (kept for the
    inputs they depend on, :mod:`gis.estimates.keep`; ``on_disk``: in the stage cache too) and
    the key of those inputs.

    The fleet is solved on the sites in ``site_id`` order and its per-site rows put back in the
    order of ``checked``: a national sum then adds the same numbers in the same order whatever the
    ranking, so a weight change that leaves the fleet alone leaves its figures alone to the bit."""
    order = np.argsort(prof.sites["site_id"].to_numpy(dtype=str), kind="stable")
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    prof = dataclasses.replace(prof, sites=prof.sites.iloc[order].reset_index(drop=True))
    ranking = pd.DataFrame(
        {
            "score": checked["score"].to_numpy()[order],
            "rank": checked["rank"].to_numpy()[order],
            "excluded": checked["excluded"].to_numpy()[order],
        }
    )
    profiles_digest = profiles_key(prof)
    key = monte_carlo_key(prof, ranking, c, network_ehs, profiles_digest=profiles_digest)
    with stage("fleet"):
        tables = kept_tables(
            tables_key(c, profiles_digest), lambda: fleet.fleet_tables(prof, c), on_disk=on_disk
        )
        result = fleet.fleet_economics(prof, ranking, c, network_ehs=network_ehs, tables=tables)
        result = dataclasses.replace(result, sites=result.sites.iloc[back].reset_index(drop=True))
    with stage("monte_carlo"):
        mc = kept_json(
            "monte_carlo",
            key,
            lambda: fleet.monte_carlo(result, c, draws=c.uncertainty.draws),
            on_disk=on_disk,
        )
    return result, mc, key


def _selection(c: EstimatesConfig, checked: pd.DataFrame, n: dict, log: RowLog) -> dict:
    """The selection rule and how many sites were considered, eligible and selected."""
    return {
        "rule": c.selection.rule,
        "value": c.selection.value,
        "sites_considered": len(checked),
        "sites_eligible": int((~checked["excluded"]).sum()),
        "sites_selected": int(n["sites_in_fleet"]),
        "row_log": log.as_dict(),
    }


def _groups(checked: pd.DataFrame, per_site: pd.DataFrame, surplus: dict) -> dict:
    """The fleet's figures by category (with the wasted energy found), state and owner class."""
    return {
        "categories": _categories(checked, per_site, surplus.get("by_category", [])),
        "by_category": _group(per_site, "category"),
        "by_state": _group(per_site, "state"),
        "by_owner_class": _group(per_site, "owner_class"),
    }


def _seed_claims(
    c: EstimatesConfig,
    asic: AsicModel,
    network_ehs: float,
    subsidy: float,
    result: fleet.FleetResult,
    n: dict,
) -> dict:
    """:func:`seed_claims_corrected` with the scenario's machines, reward and the fleet's EH/s and BTC."""
    return seed_claims_corrected(
        network_ehs=network_ehs,
        efficiency_j_th=asic.efficiency_j_th,
        pue=c.pue,
        **_reward(c, subsidy).kwargs(),
        wasted_fleet_ehs=result.ledgers["wasted"]["hashrate_average_ehs"],
        fleet_btc_by_year=list(n["btc_by_year"]),
    )


def estimate(
    sites: pd.DataFrame,
    config: EstimatesConfig,
    *,
    profiles: SurplusProfiles,
    network: dict | None = None,
    scenario: str = "default",
    surplus: dict | None = None,
    explorer_axes: dict[str, list[float]] | None = None,
    keep_on_disk: bool = False,
) -> dict:
    """The ``estimates.json`` content: the economic fleet on the sites' hourly energy.

    Deterministic (same inputs, same result; the bands and grid kept by them, :mod:`gis.estimates.keep`).
    Power in GW, hashrate in EH/s, money in USD, CO2 in Mt CO2e a year.

    Parameters
    ----------
    sites
        ``candidate_sites`` (the scoring stage's frame), row for row with ``profiles.sites``.
    profiles
        the sites' hourly wasted energy and buy prices (:func:`gis.energy.surplus_profiles`).
    network
        the :func:`network_from_layer` dict, needed only when the scenario says ``"from_data"``.
    surplus
        ``{"by_category": [...], "published": [...]}`` of :mod:`gis.energy.summary`, copied through.
    explorer_axes
        the explorer's grid axes; None: no ``explorer_grid``.
    keep_on_disk
        keep the bands and the grid in the stage cache too, not only in this process.
    """
    c, asic = config, asic_model(config.asic_model)
    network_ehs, network_assumption = _network_ehs(c, network)
    checked, sites, log = _selection_frames(sites)
    prof = _fleet_profiles(profiles, sites, c)
    result, mc, key = _run_fleet(prof, checked, c, network_ehs, on_disk=keep_on_disk)
    per_site = _per_site(result, checked)
    height, subsidy = _height_and_subsidy(c)
    n = {k: v for k, v in result.national.items() if k != "seconds"}  # timing would break byte-identical runs
    surplus = {} if surplus is None else surplus
    result_json = {
        "scenario": scenario,
        "tool_version": __version__,
        "selection": _selection(c, checked, n, log),
        "national": _national(n, network_ehs, height, subsidy, surplus),
        "ledgers": result.ledgers,
        "bands": mc["bands"],
        "uncertainty": _uncertainty(mc),
        **_groups(checked, per_site, surplus),
        "projection": result.projection,
        "supply_curve": result.supply_curve,
        "surplus": surplus,
        "sensitivity": mc["sensitivity"],
        "seed_claim_check": seed_claim_check(),
        "seed_claims": _seed_claims(c, asic, network_ehs, subsidy, result, n),
        "fleet": _fleet_json(per_site),
        "assumptions": _used_assumptions(c, asic, network_assumption, height, subsidy, prof.year),
    }
    result_json |= _kept_explorer_grid(result, c, explorer_axes, key, keep_on_disk)
    return _finite(result_json)


def _uncertainty(mc: dict) -> dict:
    """The Monte Carlo's draws, seed and shares, without its bands and sensitivity rows."""
    return {k: v for k, v in mc.items() if k not in ("bands", "sensitivity")}


def _kept_explorer_grid(
    result: fleet.FleetResult,
    c: EstimatesConfig,
    axes: dict[str, list[float]] | None,
    key: str,
    on_disk: bool,
) -> dict:
    """``{"explorer_grid": ...}`` (:func:`_explorer_grid`, kept by the Monte Carlo's ``key`` and the
    axes, :mod:`gis.estimates.keep`); ``{}`` without axes."""
    if not axes:
        return {}
    with stage("explorer_grid"):
        grid = kept_json(
            "explorer_grid",
            digest("explorer_grid", key, axes),
            lambda: _explorer_grid(result, c, axes),
            on_disk=on_disk,
        )
    return {"explorer_grid": grid}


FLEET_SITE_COLUMNS = tuple(
    k.path.removeprefix("fleet.sites.*.") for k in ESTIMATE_KEYS if k.path.startswith("fleet.sites.*.")
)
"""Per-site fleet figures written into estimates.json (sites with a fleet) and onto the sites: the
registered ``fleet.sites.*`` keys (:mod:`gis.estimates.keys`), in their order."""


def _fleet_json(per_site: pd.DataFrame) -> dict:
    """The ids of the sites with a fleet and their per-site figures (:data:`FLEET_SITE_COLUMNS`)."""
    return {
        "site_ids": per_site.loc[per_site["in_fleet"], "site_id"].tolist(),
        "sites": _fleet_site_rows(per_site),
    }


def _fleet_site_rows(per_site: pd.DataFrame) -> dict[str, dict]:
    rows = per_site.loc[per_site["in_fleet"], ["site_id", *FLEET_SITE_COLUMNS]]
    return {
        str(r["site_id"]): {k: (r[k].item() if hasattr(r[k], "item") else r[k]) for k in FLEET_SITE_COLUMNS}
        for r in rows.to_dict("records")
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_estimates(result: dict, console: Console) -> None:
    """The national figures and their bands as a table (nothing is drawn for a quiet console)."""
    if getattr(console, "quiet", False):
        return
    n = result["national"]
    t = Table(title=f"National estimate ({result['scenario']}): the economic fleet, {n['sites']:,} sites")
    for col in ("figure", "central", "P10", "P50", "P90"):
        t.add_column(col, justify="right" if col != "figure" else "left")
    rows = [
        ("fleet installed GW", "installed_gw", "installed_gw", 2, 1.0),
        ("fleet average GW", "average_gw", "average_gw", 2, 1.0),
        ("hashrate EH/s (average)", "hashrate_average_ehs", "hashrate_average_ehs", 1, 1.0),
        ("BTC a year (life average)", "btc_per_year", "btc_per_year", 0, 1.0),
        ("NPV $M", "npv_usd", "npv_usd", 0, 1e6),
    ]
    for label, key, band_key, digits, scale in rows:
        band = result["bands"].get(band_key, {})
        t.add_row(
            label,
            _fmt(n[key] / scale, digits),
            *(
                _fmt(band[p] / scale, digits) if band.get(p) is not None else "-"
                for p in ("p10", "p50", "p90")
            ),
        )
    console.print(t)
    led = Table(title="By ledger (life averages a year)")
    for col in ("ledger", "TWh/yr", "average GW", "EH/s", "BTC/yr"):
        led.add_column(col, justify="left" if col == "ledger" else "right")
    for key, g in result["ledgers"].items():
        led.add_row(
            key,
            _fmt(g["twh_per_year"], 2),
            _fmt(g["average_gw"], 2),
            _fmt(g["hashrate_average_ehs"]),
            _fmt(g["btc_per_year"], 0),
        )
    console.print(led)
    console.print(
        f"wasted energy found: {n['wasted_energy_potential_gw']:,.2f} GW on average; network "
        f"{n['network_ehs']:,.1f} EH/s; subsidy {n['block_subsidy_btc']:g} BTC at height {n['block_height']:,}; "
        f"payback {n['payback']}; share of draws building a fleet "
        f"{result['uncertainty'].get('share_with_a_fleet', 0):.0%}"
    )
    cat = Table(title="By category")
    for col in ("category", "ledger", "wasted GW", "in fleet", "fleet GW", "BTC/yr", "why none"):
        cat.add_column(col, justify="left" if col in ("category", "ledger", "why none") else "right")
    for g in result["categories"]:
        cat.add_row(
            g["category"],
            g["ledger"],
            _fmt(g["wasted_avg_gw"], 2),
            f"{g['in_fleet']:,}",
            _fmt(g["fleet_gw"], 2),
            _fmt(g["btc_per_year"], 0),
            g["why_none"],
        )
    console.print(cat)


def profiles_for_sites(
    sites: pd.DataFrame,
    layers: Mapping[str, pd.DataFrame],
    energy: EnergyConfig,
    *,
    markets: MarketTables | None = None,
) -> tuple[SurplusProfiles, dict]:
    """The candidate sites' hourly profiles (rebuilt from the market layers, as the scoring stage
    built them; ``markets``: its hourly market tables, reused) and the surplus-by-category table
    beside its published figures."""
    profiles, summary = surplus_profiles(sites, layers, energy, markets=markets)
    frame = pd.DataFrame(sites.drop(columns="geometry", errors="ignore")).reset_index(drop=True)
    for col in summary.columns:
        frame[col] = summary[col].to_numpy()
    surplus = {"by_category": surplus_by_category(frame), "published": published_comparison(frame, energy)}
    return profiles, surplus


def estimate_command(
    *,
    out: Path,
    scenario_path: Path | None,
    as_json: bool,
    network_ehs: float | None,
    console: Console,
) -> dict:
    """``gis estimate``: read OUT/sites.gpkg and the market layers of OUT/layers.gpkg, write
    OUT/estimates.json atomically, print a table (and the JSON with ``as_json``)."""
    from gis.config.scenario import load_scenario
    from gis.io import gpkg_layer_names, write_json
    from gis.layers import read_layers

    out = Path(out)
    scenario = load_scenario(scenario_path)
    sites_path = out / "sites.gpkg"
    sites = read_candidate_sites(sites_path)
    rollup.check_sites(sites, source=f"{sites_path}:{SITES_LAYER}")
    layers_path = out / "layers.gpkg"
    present = set(gpkg_layer_names(layers_path, fix="run `gis build`")) if layers_path.is_file() else set()
    wanted = [n for n in ESTIMATE_LAYERS if n in present]
    layers = read_layers(layers_path, names=wanted) if wanted else {}
    result = estimate_stage(
        sites, layers, scenario, network_ehs=network_ehs, console=console, layers_file=layers_path
    )
    target = write_json(out / "estimates.json", result)
    console.print(f"Wrote {target}")
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        sys.stdout.flush()
    return result


ESTIMATE_LAYERS = ("market_prices", "market_mix", "curtailment_daily", "btc_network")
"""The layers of ``layers.gpkg`` the estimate stage reads (those present)."""


def _stage_config(scenario: Scenario, network_ehs: float | None) -> EstimatesConfig:
    """The scenario's ``[estimates]`` with ``network_ehs`` (EH/s, > 0) as its network hashrate when given."""
    config = scenario.estimates
    if network_ehs is None:
        return config
    if not (math.isfinite(network_ehs) and network_ehs > 0):
        raise GisError(
            f"network hashrate must be > 0 EH/s, got {network_ehs}",
            field="--network-ehs",
            fix="pass a positive number of EH/s",
        )
    return config.with_network_ehs(network_ehs)


def _stage_network(
    config: EstimatesConfig, layers: Mapping[str, pd.DataFrame], layers_file: Path | str
) -> dict | None:
    """The :func:`network_from_layer` dict when the scenario takes the hashrate from data, else None."""
    if config.network.hashrate_ehs != "from_data":
        return None
    if "btc_network" not in layers:
        raise GisError(
            "the scenario takes the network hashrate from data, but layers.gpkg has no btc_network",
            file=layers_file,
            field="estimates.network.hashrate_ehs",
            fix="run `gis build` with the Bitcoin network sources, or set a number of EH/s",
        )
    return network_from_layer(layers["btc_network"])


def estimate_stage(
    sites: pd.DataFrame,
    layers: Mapping[str, pd.DataFrame],
    scenario: Scenario,
    *,
    network_ehs: float | None = None,
    console: Console | None = None,
    layers_file: Path | str = "layers.gpkg",
    markets: MarketTables | None = None,
) -> dict:
    """The estimate stage on frames in memory: profiles, fleet, bands, explorer grid; the
    ``estimates.json`` payload (printed as a table on ``console``).

    Parameters
    ----------
    sites
        ``candidate_sites`` as the scoring stage wrote them (best first).
    layers
        the layers of :data:`ESTIMATE_LAYERS` that exist (market prices, fuel mix, curtailment, the
        Bitcoin network series); absent ones are warned about or refused as the scenario needs.
    scenario
        the whole scenario; ``network_ehs`` (EH/s) replaces its network hashrate when given.
    layers_file
        the file the layers came from, named in messages.
    markets
        the scoring stage's hourly market tables (:class:`gis.energy.build.MarketTables`), reused;
        when its profile store is keyed by the layers (the stage cache is on), the Monte Carlo's
        bands are kept in the stage cache too.
    """
    config = _stage_config(scenario, network_ehs)
    if "market_prices" not in layers and console is not None:
        console.print(
            "[yellow]warning:[/] no market_prices layer in layers.gpkg: no surplus hours, every grid site buys at "
            f"the flat {scenario.energy.fallback_price_usd_mwh:g} $/MWh (rebuild layers with `gis build`)"
        )
    network = _stage_network(config, layers, layers_file)
    with stage("hourly"):
        profiles, surplus = profiles_for_sites(sites, layers, scenario.energy, markets=markets)
    explorer = getattr(scenario, "explorer", None)
    result = estimate(
        sites,
        config,
        profiles=profiles,
        network=network,
        scenario=scenario.name,
        surplus=surplus,
        explorer_axes=explorer.axes() if explorer is not None else None,
        keep_on_disk=markets is not None and markets.store.layers_key is not None,
    )
    if console is not None:
        print_estimates(result, console)
    return result


def _calculator_machine_and_network(
    asic_watts: float | None, asic_ths: float | None, network_ehs: float | None, defaulted: dict[str, str]
) -> tuple[float, float, float]:
    """The ASIC's W and TH/s and the network's EH/s, from the default scenario where left out.

    Each defaulted input is named in ``defaulted`` with where its value came from.
    """
    if (asic_watts is None) != (asic_ths is None):
        raise GisError(
            "give both --asic-watts and --asic-ths, or neither",
            field="--asic-watts/--asic-ths",
            fix="pass the machine's wall power (W) and hashrate (TH/s) together",
        )
    needs_scenario = asic_watts is None or network_ehs is None
    config = load_estimates_config()[1] if needs_scenario else None
    if asic_watts is None or asic_ths is None:  # both or neither (checked above)
        assert config is not None
        asic = asic_model(config.asic_model)
        asic_watts, asic_ths = asic.power_w, asic.hashrate_ths
        defaulted["asic_watts"] = defaulted["asic_ths"] = (
            f"default scenario's ASIC {asic.name} ({asic.source})"
        )
    if network_ehs is None:
        assert config is not None
        if config.network.hashrate_ehs == "from_data":
            raise GisError(
                "the default scenario takes the network hashrate from data",
                field="--network-ehs",
                fix="pass --network-ehs in calculator mode",
            )
        network_ehs = float(config.network.hashrate_ehs)
        defaulted["network_ehs"] = "default scenario's network hashrate"
    return asic_watts, asic_ths, network_ehs


def _print_calculator(result: dict, gw: float, console: Console) -> None:
    """Calculator mode's figures, assumptions and formulas as tables on ``console``."""
    t = Table(title=f"Calculator: {gw:g} GW")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for key, digits in (
        ("machines", 0),
        ("it_gw", 3),
        ("hashrate_ehs", 1),
        ("share_of_network", 4),
        ("btc_per_year", 0),
        ("btc_per_day", 1),
        ("naive_btc_per_year", 0),
        ("network_issuance_btc_per_year", 0),
    ):
        t.add_row(key, _fmt(result[key], digits))
    console.print(t)
    a = Table(title="Assumptions")
    for col in ("input", "value", "unit", "source"):
        a.add_column(col, overflow="fold")
    for name, entry in result["assumptions"].items():
        if name != "formulas":
            a.add_row(name, f"{entry['value']:g}", entry["unit"], entry.get("source", ""))
    console.print(a)
    for name, text in result["assumptions"]["formulas"].items():
        console.print(f"{name} = {text}", highlight=False)


def calculator_command(
    *,
    gw: float,
    asic_watts: float | None,
    asic_ths: float | None,
    network_ehs: float | None,
    pue: float | None,
    uptime: float | None,
    subsidy: float | None,
    fees: float | None,
    as_json: bool,
    console: Console,
) -> dict:
    """``gis estimate --gw ...``: calculator mode. Options left out take: the default scenario's
    ASIC (both W and TH/s) and network hashrate, PUE 1.0, uptime 1.0, 3.125 BTC subsidy, no fees;
    the output says which were defaulted. JSON on stdout with ``as_json``, else a table."""
    defaulted: dict[str, str] = {}
    asic_watts, asic_ths, network_ehs = _calculator_machine_and_network(
        asic_watts, asic_ths, network_ehs, defaulted
    )
    given = {"pue": pue, "uptime": uptime, "subsidy": subsidy, "fees": fees}
    for name, value in given.items():
        if value is None:
            defaulted[name] = f"calculator default {CALCULATOR_DEFAULTS[name]}"
    chosen = {k: CALCULATOR_DEFAULTS[k] if v is None else v for k, v in given.items()}
    result = calculator(gw=gw, asic_watts=asic_watts, asic_ths=asic_ths, network_ehs=network_ehs, **chosen)
    for name, why in defaulted.items():
        result["assumptions"][name]["source"] = why
    for name, entry in result["assumptions"].items():
        if name != "formulas" and "source" not in entry:
            entry["source"] = "given on the command line" if name not in {"efficiency_j_th"} else "derived"
    result = _finite(result)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        sys.stdout.flush()
        return result
    _print_calculator(result, gw, console)
    return result
