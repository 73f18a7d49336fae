"""The estimates stage's entry points: ``estimate`` (pure) and the two ``gis estimate`` commands.

``estimate(sites, config)`` turns candidate sites into the ``estimates.json`` content;
``estimate_command`` reads ``OUT/sites.gpkg`` and writes ``OUT/estimates.json`` atomically;
``calculator_command`` is calculator mode (``gis estimate --gw ...``, no sites).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from gis import __version__
from gis.errors import GisError
from gis.estimates import bitcoin, economics, rollup, uncertainty
from gis.estimates.asics import asic_model
from gis.estimates.calculator import FORMULAS, calculator, seed_claim_check
from gis.estimates.config import EstimatesConfig, assumptions, load_estimates_config
from gis.estimates.projection import project
from gis.scoring.columns import read_candidate_sites

__all__ = [
    "calculator",
    "calculator_command",
    "estimate",
    "estimate_command",
    "latest_difficulty",
    "network_from_layer",
]

SITES_LAYER = "candidate_sites"


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
        value = float(config.network.hashrate_ehs)
        return value, {"value": value, "unit": "EH/s", "source": "scenario estimates.network.hashrate_ehs"}
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


def estimate(
    sites: pd.DataFrame, config: EstimatesConfig, *, network: dict | None = None, scenario: str = "default"
) -> dict:
    """The ``estimates.json`` content for ``sites`` (a ``candidate_sites`` frame) under ``config``.

    Pure and deterministic: same sites, config and network, same result. ``network`` is the
    :func:`network_from_layer` dict, needed only when the scenario says ``"from_data"``.
    Power in GW, hashrate in EH/s, money in USD a year, CO2 in Mt CO2e a year.
    """
    c = config
    asic = asic_model(c.asic_model)
    network_ehs, network_assumption = _network_ehs(c, network)
    checked = rollup.check_sites(sites)
    chosen = rollup.select_sites(checked, c.selection)
    height = bitcoin.height_at(
        c.network.as_of,
        anchor_height=c.network.anchor_height,
        anchor_date=c.network.anchor_date,
        blocks_per_year=c.network.blocks_per_year,
    )
    subsidy = float(bitcoin.block_subsidy_btc(height))
    if c.selection.rule == "max_margin":
        candidates = rollup.site_figures(
            chosen.sites, c, asic=asic, network_ehs=network_ehs, subsidy_btc=subsidy
        )

        def fleet_revenue_usd(fleet_ehs):
            btc = bitcoin.expected_btc_per_year(
                fleet_ehs,
                network_ehs,
                subsidy_btc=subsidy,
                fees_btc_per_block=c.network.fees_btc_per_block,
                uptime=c.uptime,
                blocks_per_year=c.network.blocks_per_year,
            )
            return btc * c.market.btc_price_usd

        keep = rollup.max_margin_cut(candidates, fleet_revenue_usd=fleet_revenue_usd, log=chosen.log)
        chosen.sites = chosen.sites.loc[keep].reset_index(drop=True)
        chosen.info["sites_selected"] = len(chosen.sites)
    figures = rollup.site_figures(
        chosen.sites, c, asic=asic, network_ehs=network_ehs, subsidy_btc=subsidy, log=chosen.log
    )

    hashrate_ehs = float(figures["hashrate_ths"].sum()) / 1e6
    btc = float(figures["btc_per_year"].sum())
    revenue = float(figures["revenue_usd_per_year"].sum())
    energy_cost = float(figures["energy_cost_usd_per_year"].sum())
    asic_capex = float(figures["asic_capex_usd"].sum())
    site_capex = float(figures["site_capex_usd"].sum())
    share = float(bitcoin.share_of_network(c.uptime * hashrate_ehs, network_ehs))
    remaining = float(bitcoin.remaining_supply_btc(height))
    reward = {"subsidy_btc": subsidy, "fees_btc_per_block": c.network.fees_btc_per_block}
    national = {
        "sites": len(figures),
        "mineable_gw": float(figures["mineable_mw"].sum()) / 1e3,
        "it_gw": float(figures["it_mw"].sum()) / 1e3,
        "machines": float(figures["machines"].sum()),
        "hashrate_ehs": hashrate_ehs,
        "network_ehs": network_ehs,
        "share_of_network": share,
        "btc_per_year": btc,
        "btc_per_day": btc / 365.0,
        "naive_btc_per_year": float(
            bitcoin.naive_btc_per_year(
                hashrate_ehs,
                network_ehs,
                uptime=c.uptime,
                blocks_per_year=c.network.blocks_per_year,
                **reward,
            )
        ),
        "network_issuance_btc_per_year": float(
            bitcoin.network_issuance_btc_per_year(blocks_per_year=c.network.blocks_per_year, **reward)
        ),
        "revenue_usd_per_year": revenue,
        "energy_cost_usd_per_year": energy_cost,
        "energy_twh_per_year": float(
            economics.energy_mwh_per_year(figures["mineable_mw"].sum(), uptime=c.uptime)
        )
        / 1e6,
        "asic_capex_usd": asic_capex,
        "site_capex_usd": site_capex,
        "payback_years": economics.payback_years(asic_capex + site_capex, revenue, energy_cost),
        "hashprice_usd_per_ph_day": float(
            bitcoin.hashprice_usd_per_ph_day(
                network_ehs + hashrate_ehs, btc_price_usd=c.market.btc_price_usd, **reward
            )
        ),
        "hashprice_before_fleet_usd_per_ph_day": float(
            bitcoin.hashprice_usd_per_ph_day(network_ehs, btc_price_usd=c.market.btc_price_usd, **reward)
        ),
        "co2_mt_per_year": float(figures["co2_net_t_per_year"].sum()) / 1e6,
        "co2_gross_mt_per_year": float(figures["co2_gross_t_per_year"].sum()) / 1e6,
        "co2_avoided_mt_per_year": float(figures["co2_avoided_t_per_year"].sum()) / 1e6,
        "block_height": height,
        "block_subsidy_btc": subsidy,
        "remaining_supply_btc": remaining,
        "share_of_remaining_supply_per_year": btc / remaining if remaining > 0 else 0.0,
        "over_half_network": share > 0.5,
    }

    summary = uncertainty.summarise(figures, uptime=c.uptime)
    kernel = {"efficiency_j_th": asic.efficiency_j_th, "network_ehs": network_ehs, "subsidy_btc": subsidy}
    draws = uncertainty.fleet_totals(
        summary, uncertainty.draw_inputs(c), blocks_per_year=c.network.blocks_per_year, **kernel
    )
    selection = dict(chosen.info)
    selection["row_log"] = chosen.log.as_dict()

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
    used["formulas"] = {
        **FORMULAS,
        "site_btc_per_year": "fleet BTC/yr x site TH/s / fleet TH/s",
        "hashprice_usd_per_ph_day": "144 x (subsidy + fees) x price / network PH/s (after the fleet joins)",
        "co2": "site MW x 8,760 h x uptime x factor; flare gas: generator CO2e minus the flare's CO2e it replaces",
        "bands": f"P10/P50/P90 of {c.uncertainty.draws:,} seeded draws (seed {c.uncertainty.seed})",
    }
    result = {
        "scenario": scenario,
        "tool_version": __version__,
        "selection": selection,
        "national": national,
        "bands": uncertainty.bands(draws),
        "by_category": rollup.group_totals(figures, "category"),
        "by_state": rollup.group_totals(figures, "state"),
        "by_owner_class": rollup.group_totals(figures, "owner_class"),
        "projection": project(
            hashrate_ehs=hashrate_ehs,
            network_ehs=network_ehs,
            uptime=c.uptime,
            fees_btc_per_block=c.network.fees_btc_per_block,
            start_year=c.projection.start_year,
            years=c.projection.years,
            growth_per_year=c.network.growth_per_year,
            base_year=c.network.as_of.year,
            anchor_height=c.network.anchor_height,
            anchor_date=c.network.anchor_date,
            blocks_per_year=c.network.blocks_per_year,
        ),
        "sensitivity": uncertainty.sensitivity(summary, c, **kernel),
        "seed_claim_check": seed_claim_check(),
        "assumptions": used,
    }
    return _finite(result)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _print_estimates(result: dict, console: Console) -> None:
    n = result["national"]
    t = Table(
        title=f"National estimate ({result['scenario']}, {result['selection']['sites_selected']:,} sites)"
    )
    for col in ("figure", "base", "P10", "P50", "P90"):
        t.add_column(col, justify="right" if col != "figure" else "left")
    rows = [
        ("mineable GW", "mineable_gw", 2),
        ("hashrate EH/s", "hashrate_ehs", 1),
        ("share of network", "share_of_network", 3),
        ("BTC a year", "btc_per_year", 0),
        ("revenue $M a year", "revenue_usd_per_year", 0),
        ("energy cost $M a year", "energy_cost_usd_per_year", 0),
        ("CO2 Mt a year (net)", "co2_mt_per_year", 2),
    ]
    for label, key, digits in rows:
        scale = 1e6 if key.endswith("usd_per_year") else 1.0
        band = result["bands"].get(key, {})
        t.add_row(
            label,
            _fmt(n[key] / scale, digits),
            *(_fmt(band[p] / scale, digits) if p in band else "-" for p in ("p10", "p50", "p90")),
        )
    console.print(t)
    payback = (
        "no payback (energy cost exceeds revenue)"
        if n["payback_years"] is None
        else f"payback {n['payback_years']:,.1f} years"
    )
    console.print(
        f"network {n['network_ehs']:,.1f} EH/s; subsidy {n['block_subsidy_btc']} BTC at height {n['block_height']:,}; "
        f"{payback}; {n['share_of_remaining_supply_per_year']:.2%} of the "
        f"remaining supply a year"
        + ("; [bold red]over half the network[/]" if n["over_half_network"] else "")
    )
    cat = Table(title="By category")
    for col in ("category", "sites", "GW", "EH/s", "BTC/yr", "CO2 Mt/yr"):
        cat.add_column(col, justify="left" if col == "category" else "right")
    for key, g in result["by_category"].items():
        cat.add_row(
            key,
            f"{g['sites']:,}",
            _fmt(g["mineable_gw"], 2),
            _fmt(g["hashrate_ehs"]),
            _fmt(g["btc_per_year"], 0),
            _fmt(g["co2_mt_per_year"], 2),
        )
    console.print(cat)
    sens = Table(title="What moves BTC a year most (one at a time, low / high)")
    for col in ("input", "low", "high", "BTC at low", "BTC at high", "swing", "margin swing $M"):
        sens.add_column(col, justify="left" if col == "input" else "right")
    for row in result["sensitivity"]:
        sens.add_row(
            row["input"],
            f"{row['low']:g}",
            f"{row['high']:g}",
            _fmt(row["btc_at_low"], 0),
            _fmt(row["btc_at_high"], 0),
            _fmt(row["swing_btc"], 0),
            _fmt(row["swing_margin_usd"] / 1e6, 0),
        )
    console.print(sens)


def estimate_command(
    *,
    out: Path,
    scenario_path: Path | None,
    as_json: bool,
    network_ehs: float | None,
    console: Console,
) -> dict:
    """``gis estimate``: read OUT/sites.gpkg (and OUT/layers.gpkg btc_network for a "from_data"
    network), write OUT/estimates.json atomically, print a table (and the JSON with ``as_json``)."""
    from gis.io import write_json

    out = Path(out)
    name, config = load_estimates_config(scenario_path)
    if network_ehs is not None:
        if not (math.isfinite(network_ehs) and network_ehs > 0):
            raise GisError(
                f"network hashrate must be > 0 EH/s, got {network_ehs}",
                field="--network-ehs",
                fix="pass a positive number of EH/s",
            )
        config = config.with_network_ehs(network_ehs)
    sites_path = out / "sites.gpkg"
    sites = read_candidate_sites(sites_path)
    network = None
    if config.network.hashrate_ehs == "from_data":
        from gis.layers import read_layers

        network = network_from_layer(read_layers(out / "layers.gpkg", names=["btc_network"])["btc_network"])
    sites = rollup.check_sites(sites, source=f"{sites_path}:{SITES_LAYER}")
    result = estimate(sites, config, network=network, scenario=name)
    target = write_json(out / "estimates.json", result)
    _print_estimates(result, console)
    console.print(f"Wrote {target}")
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        sys.stdout.flush()
    return result


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
    if (asic_watts is None) != (asic_ths is None):
        raise GisError(
            "give both --asic-watts and --asic-ths, or neither",
            field="--asic-watts/--asic-ths",
            fix="pass the machine's wall power (W) and hashrate (TH/s) together",
        )
    needs_scenario = asic_watts is None or network_ehs is None
    config = load_estimates_config()[1] if needs_scenario else None
    if asic_watts is None:
        asic = asic_model(config.asic_model)
        asic_watts, asic_ths = asic.power_w, asic.hashrate_ths
        defaulted["asic_watts"] = defaulted["asic_ths"] = (
            f"default scenario's ASIC {asic.name} ({asic.source})"
        )
    if network_ehs is None:
        if config.network.hashrate_ehs == "from_data":
            raise GisError(
                "the default scenario takes the network hashrate from data",
                field="--network-ehs",
                fix="pass --network-ehs in calculator mode",
            )
        network_ehs = float(config.network.hashrate_ehs)
        defaulted["network_ehs"] = "default scenario's network hashrate"
    for name, value, default in (
        ("pue", pue, 1.0),
        ("uptime", uptime, 1.0),
        ("subsidy", subsidy, 3.125),
        ("fees", fees, 0.0),
    ):
        if value is None:
            defaulted[name] = f"calculator default {default}"
    result = calculator(
        gw=gw,
        asic_watts=asic_watts,
        asic_ths=asic_ths,
        network_ehs=network_ehs,
        pue=1.0 if pue is None else pue,
        uptime=1.0 if uptime is None else uptime,
        subsidy=3.125 if subsidy is None else subsidy,
        fees=0.0 if fees is None else fees,
    )
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
    return result
