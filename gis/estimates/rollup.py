"""From candidate sites to per-site fleet figures and their sums by group.

Input: the ``candidate_sites`` frame written by the scoring stage (one row per site, best first;
power in MW). Output: per-site MW, machines, TH/s, BTC a year, money and CO2, and the sums
nationally and by category, state or owner class. The BTC a site mines is its share of the
fleet's hashrate times the fleet's expected BTC (the dilution H / (H_net + H) is national), so
every roll-up sums exactly to the national figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis.errors import GisError
from gis.estimates import bitcoin, carbon, economics
from gis.estimates.asics import AsicModel
from gis.estimates.config import EstimatesConfig, SelectionConfig
from gis.rowlog import RowLog
from gis.schema import CATEGORIES

__all__ = ["REQUIRED_COLUMNS", "Selection", "check_sites", "group_totals", "select_sites", "site_figures"]

REQUIRED_COLUMNS: dict[str, str] = {
    "site_id": "str",
    "category": "str",
    "state": "str",
    "owner_class": "str",
    "fuel": "str",
    "mineable_mw": "float64",
    "score": "float64",
    "rank": "float64",
    "excluded": "bool",
    "energy_cost_usd_mwh": "float64",
    "co2_t_per_mwh": "float64",
}
"""candidate_sites columns the estimates read, with the dtype they are read as."""


def check_sites(sites: pd.DataFrame, *, source: str = "candidate_sites") -> pd.DataFrame:
    """Return the columns the estimates need, typed; GisError naming ``source`` and the column if one
    is missing or unreadable, or if a category is not one of :data:`gis.schema.CATEGORIES`."""
    missing = [c for c in REQUIRED_COLUMNS if c not in sites.columns]
    if missing:
        raise GisError(
            f"the candidate sites lack column(s) {', '.join(missing)}",
            file=source,
            field=missing[0],
            fix="rerun `gis score` so sites.gpkg has the candidate_sites columns the estimates read",
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(sites)))
    for col, dtype in REQUIRED_COLUMNS.items():
        values = sites[col].reset_index(drop=True)
        try:
            if dtype == "str":
                out[col] = values.astype(object).where(values.notna(), "").astype(str).to_numpy(dtype=object)
            elif dtype == "bool":
                if values.isna().any():
                    raise ValueError("missing values")
                out[col] = values.astype(bool).to_numpy()
            else:
                out[col] = pd.to_numeric(values, errors="raise").astype("float64").to_numpy()
        except (ValueError, TypeError) as exc:
            raise GisError(
                f"values of the candidate sites are not {dtype} ({exc})",
                file=source,
                field=col,
                fix="rerun `gis score`; the column must hold " + dtype,
            ) from exc
    out["setting"] = (
        sites["setting"].astype(object).where(sites["setting"].notna(), "").astype(str).to_numpy(dtype=object)
        if "setting" in sites.columns
        else ""
    )
    unknown = sorted(set(out["category"]) - set(CATEGORIES))
    if unknown:
        raise GisError(
            f"unknown site categories {unknown[:5]}",
            file=source,
            field="category",
            fix="categories must be one of " + ", ".join(CATEGORIES),
        )
    return out


@dataclass
class Selection:
    """The selected sites (best first), the row log of what was left out and why, and a summary."""

    sites: pd.DataFrame
    log: RowLog
    info: dict = field(default_factory=dict)


def select_sites(sites: pd.DataFrame, selection: SelectionConfig) -> Selection:
    """Pick the sites a scenario mines, best rank first.

    Never selected (counted in the row log by reason): excluded sites, sites without positive
    finite mineable MW, sites without a score. Then ``score_threshold`` keeps sites with
    score >= threshold; ``target_gw`` keeps the best sites until their MW reach the target (the
    site that crosses it is included).
    """
    log = RowLog("estimates_selection")
    log.read(len(sites))
    frame = sites.sort_values(["rank", "site_id"], kind="mergesort", na_position="last")
    frame = log.drop(frame, frame["excluded"], "excluded by scoring")
    mw = frame["mineable_mw"]
    frame = log.drop(frame, ~(np.isfinite(mw) & (mw > 0)), "no positive mineable_mw")
    frame = log.drop(frame, ~np.isfinite(frame["score"]), "no score")
    eligible_mw = float(frame["mineable_mw"].sum())
    if selection.rule in ("score_threshold", "max_margin"):
        frame = log.drop(frame, frame["score"] < selection.score_threshold, "score below threshold")
    else:
        target_mw = selection.target_gw * 1_000.0
        before = frame["mineable_mw"].cumsum() - frame["mineable_mw"]
        frame = log.drop(frame, before >= target_mw, "beyond the target GW")
        if eligible_mw < target_mw:
            log.note(
                f"the target of {selection.target_gw:g} GW exceeds the {eligible_mw / 1e3:.3f} GW "
                "of all eligible sites: all of them are selected"
            )
    info = {
        "rule": selection.rule,
        "value": selection.value,
        "sites_selected": len(frame),
        "sites_considered": len(sites),
        "eligible_gw": eligible_mw / 1e3,
    }
    return Selection(sites=frame.reset_index(drop=True), log=log, info=info)


def max_margin_cut(figures: pd.DataFrame, *, fleet_revenue_usd, log: RowLog) -> NDArray[np.bool_]:
    """Which sites a profit-maximising fleet keeps (``max_margin`` rule), as a mask over ``figures``.

    Sites are taken cheapest energy per MWh first (ties by the given order, i.e. rank), and the
    fleet stops where its yearly operating margin ``fleet_revenue_usd(H_k) - sum(energy cost)``
    peaks; ``fleet_revenue_usd`` maps cumulative fleet hashrate (EH/s, array) to USD a year after
    the fleet's own difficulty dilution. No site is kept when no fleet has a positive margin.
    """
    keep = np.zeros(len(figures), dtype=bool)
    if len(figures) == 0:
        return keep
    mwh = figures["mineable_mw"].to_numpy(dtype=float)
    cost = figures["energy_cost_usd_per_year"].to_numpy(dtype=float)
    usd_mwh = np.divide(cost, mwh, out=np.zeros_like(cost), where=mwh > 0)
    order = np.lexsort((np.arange(len(figures)), usd_mwh))
    cum_ehs = np.cumsum(figures["hashrate_ths"].to_numpy(dtype=float)[order]) / 1e6
    margin = np.asarray(fleet_revenue_usd(cum_ehs), dtype=float) - np.cumsum(cost[order])
    best = int(np.argmax(margin))
    if margin[best] <= 0:
        log.note("max_margin: no fleet of these sites earns more than its energy costs; none selected")
        best = -1
    keep[order[: best + 1]] = True
    log.drop(figures, ~keep, "beyond the margin-maximising fleet")
    return keep


def site_figures(
    selected: pd.DataFrame,
    config: EstimatesConfig,
    *,
    asic: AsicModel,
    network_ehs: float,
    subsidy_btc: float,
    log: RowLog | None = None,
) -> pd.DataFrame:
    """Per-site fleet figures for the selected sites (same row order).

    Columns: ``mineable_mw`` (site power, MW), ``it_mw`` (= site / PUE), ``machines``,
    ``hashrate_ths``, ``btc_per_year``, ``revenue_usd_per_year``, ``energy_cost_usd_per_year``,
    ``asic_capex_usd``, ``site_capex_usd``, ``co2_gross_t_per_year``, ``co2_avoided_t_per_year``,
    ``co2_net_t_per_year`` (t CO2e a year at the scenario's uptime) and the group keys.
    Sites without a cost or CO2 factor take the scenario's defaults, counted in ``log``.
    """
    c = config
    mw = selected["mineable_mw"].to_numpy(dtype=float)
    it_w = bitcoin.it_power_w(mw * 1e6, c.pue)
    ths = bitcoin.hashrate_ths(it_w, asic.efficiency_j_th)
    total_ehs = float(ths.sum()) / 1e6
    fleet_btc = float(
        bitcoin.expected_btc_per_year(
            total_ehs,
            network_ehs,
            subsidy_btc=subsidy_btc,
            fees_btc_per_block=c.network.fees_btc_per_block,
            uptime=c.uptime,
            blocks_per_year=c.network.blocks_per_year,
        )
    )
    btc = fleet_btc * ths / ths.sum() if ths.sum() > 0 else np.zeros_like(ths)

    cost = selected["energy_cost_usd_mwh"].to_numpy(dtype=float)
    no_cost = ~np.isfinite(cost)
    cost = np.where(no_cost, c.market.energy_cost_usd_mwh, cost)

    factor = selected["co2_t_per_mwh"].to_numpy(dtype=float)
    no_factor = ~np.isfinite(factor)
    if no_factor.any():
        fuels = selected.loc[no_factor, "fuel"]
        unknown = sorted(set(fuels) - set(c.carbon.emission_factors_t_per_mwh))
        if unknown:
            raise GisError(
                f"sites without co2_t_per_mwh have fuels with no emission factor: {unknown}",
                field="estimates.carbon.emission_factors_t_per_mwh",
                fix="add a factor (t CO2/MWh) for each of these fuels to the scenario",
            )
        factor = factor.copy()
        factor[no_factor] = fuels.map(c.carbon.emission_factors_t_per_mwh).to_numpy(dtype=float)
    is_flare = (selected["category"] == "flare_gas").to_numpy()
    genset, avoided = carbon.flare_factors_t_per_mwh(
        factor,
        flare_efficiency=c.carbon.flare_destruction_efficiency,
        genset_efficiency=c.carbon.genset_destruction_efficiency,
        methane_gwp100=c.carbon.methane_gwp100,
        avoided_share=c.carbon.flare_avoided_share,
    )
    gross_factor = np.where(is_flare, genset, factor)
    avoided_factor = np.where(is_flare, avoided, 0.0)
    if log is not None:
        log.repair(int(no_cost.sum()), "energy cost from the scenario default (site had none)")
        log.repair(int(no_factor.sum()), "CO2 factor from the scenario's fuel table (site had none)")

    gross = carbon.co2_t_per_year(mw, gross_factor, uptime=c.uptime)
    avoided_t = carbon.co2_t_per_year(mw, avoided_factor, uptime=c.uptime)
    state = selected["state"].where(
        selected["state"] != "", np.where(selected["setting"] == "offshore", "offshore", "unknown")
    )
    return pd.DataFrame(
        {
            "site_id": selected["site_id"].to_numpy(dtype=object),
            "category": selected["category"].to_numpy(dtype=object),
            "state": state.to_numpy(dtype=object),
            "owner_class": selected["owner_class"]
            .where(selected["owner_class"] != "", "unknown")
            .to_numpy(dtype=object),
            "mineable_mw": mw,
            "it_mw": it_w / 1e6,
            "machines": bitcoin.machine_count(it_w, asic.power_w),
            "hashrate_ths": ths,
            "btc_per_year": btc,
            "revenue_usd_per_year": btc * c.market.btc_price_usd,
            "energy_cost_usd_per_year": economics.energy_cost_usd_per_year(mw, cost, uptime=c.uptime),
            "asic_capex_usd": economics.asic_capex_usd(ths, c.market.asic_usd_per_th),
            "site_capex_usd": economics.site_capex_usd(mw, c.market.site_capex_usd_per_mw),
            "co2_gross_t_per_year": gross,
            "co2_avoided_t_per_year": avoided_t,
            "co2_net_t_per_year": gross - avoided_t,
            "energy_cost_usd_mwh": cost,
            "co2_factor_t_per_mwh": gross_factor,
            "co2_avoided_factor_t_per_mwh": avoided_factor,
        }
    )


def group_totals(figures: pd.DataFrame, by: str) -> dict[str, dict]:
    """Sums of the per-site figures by ``by`` (category, state, owner_class), largest GW first:
    ``{key: {sites, mineable_gw, hashrate_ehs, btc_per_year, co2_mt_per_year, revenue_usd_per_year}}``."""
    if figures.empty:
        return {}
    g = figures.groupby(by, sort=True).agg(
        sites=("site_id", "size"),
        mineable_mw=("mineable_mw", "sum"),
        hashrate_ths=("hashrate_ths", "sum"),
        btc_per_year=("btc_per_year", "sum"),
        co2_t=("co2_net_t_per_year", "sum"),
        revenue=("revenue_usd_per_year", "sum"),
    )
    g = g.reset_index().sort_values(["mineable_mw", by], ascending=[False, True], kind="mergesort")
    return {
        str(row[by]): {
            "sites": int(row["sites"]),
            "mineable_gw": float(row["mineable_mw"]) / 1e3,
            "hashrate_ehs": float(row["hashrate_ths"]) / 1e6,
            "btc_per_year": float(row["btc_per_year"]),
            "co2_mt_per_year": float(row["co2_t"]) / 1e6,
            "revenue_usd_per_year": float(row["revenue"]),
        }
        for row in g.to_dict("records")
    }
