"""The static report (``report.html``): the finding at the central inputs with the headline per
ledger (wasted: energy the country owns or wastes; bought) and its P10–P90, what each category
contributes and what was left out and why, the wasted energy found beside published figures, the
supply curve, the cash flow over the machines' life, hub price-duration curves, national figures,
top sites, sensitivity, the seed's claims checked and corrected, assumptions, sources and licences
— one self-contained file, no script, no network.

Rendered from jinja2 templates (``gis/outputs/templates``) with autoescape on: every text value
is HTML-escaped; charts are PNGs inlined as ``data:`` URIs. Sections are driven by the data:

- :data:`SECTIONS` lists each section, the ``estimates.json`` key it needs and its template
  (``templates/sections/<name>.html.j2``); a section whose key is absent is left out;
- a top-level key of ``estimates.json`` no section claims is still shown, as a generic table,
  under "Other figures" (nothing is dropped silently);
- :data:`FIGURES` gives each national figure its words, unit and explanation; a figure it does
  not know is shown with its key, formatted by the unit its name implies.

A new section is a new template file plus one :class:`Section` line.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.bccache
import numpy as np
import pandas as pd

from gis import __version__
from gis.config.vocabulary import CATEGORIES
from gis.io import write_text
from gis.outputs import charts
from gis.outputs.labels import CATEGORY_LABELS, OWNER_CLASS_LABELS, column_unit, title

__all__ = [
    "CATEGORY_NOTES",
    "FIGURES",
    "PRICE_HUBS",
    "SECTIONS",
    "TOP_N",
    "Figure",
    "Section",
    "build_report",
    "category_rows",
    "finding",
    "fmt",
    "headline",
    "kept_price_curves",
    "price_curves",
    "reference_year",
    "sources_from_metadata",
    "write_report",
]

TOP_N = 25
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Figure:
    """How a national figure reads: words, unit kind (see :func:`fmt`) and what it means."""

    label: str
    unit: str = ""
    explain: str = ""


FIGURES: dict[str, Figure] = {
    "rule": Figure("Selection rule", "", "npv: every site whose NPV-optimal fleet pays back with interest"),
    "sites_in_fleet": Figure("Sites in the fleet", "count", "sites whose own fleet has NPV > 0"),
    "installed_gw": Figure("Installed power", "GW", "site power of the machines the fleet buys"),
    "average_gw": Figure("Average power mined", "GW", "energy mined a year / 8,760 h"),
    "utilisation": Figure("Utilisation", "share", "average / installed power: hours the machines run"),
    "hashrate_installed_ehs": Figure("Hashrate installed", "EH/s"),
    "hashrate_average_ehs": Figure("Hashrate on average", "EH/s", "installed hashrate x utilisation"),
    "share_of_network_year_one": Figure(
        "Share of the network, year one", "share", "fleet / (network + fleet) once it has joined"
    ),
    "btc_per_year": Figure(
        "Bitcoin a year (mean over the machines' life)",
        "BTC/yr",
        "its share of every block's subsidy and fees after its own difficulty dilution",
    ),
    "btc_year_one": Figure("Bitcoin in year one", "BTC/yr"),
    "btc_by_year": Figure("Bitcoin by year", "BTC/yr", "one value per year of the machines' life"),
    "capex_usd": Figure("Capital cost", "USD", "machines + site build + spur lines"),
    "npv_usd": Figure("Net present value", "USD", "capex against the discounted yearly margins"),
    "irr": Figure("Internal rate of return", "share"),
    "payback_years": Figure("Payback", "years", "years until the cumulative margin repays the capex"),
    "payback": Figure("Payback, in words", ""),
    "discount_rate": Figure("Discount rate", "share"),
    "asic_life_years": Figure("Machines' life", "years", "the NPV horizon; no salvage value"),
    "revenue_usd_per_mwh_year_one": Figure(
        "Revenue one MWh earns, year one", "USD/MWh", "hashprice / (J/TH x 2.4e-5 MWh) / PUE"
    ),
    "hashprice_usd_per_ph_day_year_one": Figure("Hashprice, year one", "USD/PH/day"),
    "mwh_curtailed_per_year": Figure("Energy the fleet skips", "MWh/yr", "wasted energy above its size"),
    "co2_mt_per_year": Figure("CO2, net", "Mt CO2/yr", "gross emissions minus flare methane destroyed"),
    "fixed_point_residual": Figure("Solver residual", "", "fleet / hashprice fixed point; ~0 when solved"),
    "marginal_share_theta": Figure("Marginal share theta", "", "dilution factor of the last unit"),
    "sites": Figure("Sites in the fleet", "count"),
    "mineable_gw": Figure("Installed power (as mineable GW)", "GW"),
    "hashrate_ehs": Figure("Hashrate", "EH/s"),
    "share_of_network": Figure("Share of the network", "share"),
    "btc_per_day": Figure("Bitcoin a day", "BTC/day"),
    "network_ehs": Figure("Network hashrate (before the fleet)", "EH/s", "the rest of the world's miners"),
    "block_height": Figure("Block height at the start", "plain"),
    "block_subsidy_btc": Figure("Block subsidy", "BTC/block", "new bitcoin per block at that height"),
    "remaining_supply_btc": Figure("Bitcoin left to issue", "BTC"),
    "wasted_energy_potential_gw": Figure(
        "Wasted energy found (potential)",
        "GW",
        "average power of all wasted energy found, mined or not: a potential, not a fleet",
    ),
    "headline_ledger": Figure("Headline ledger", "", "wasted: energy the country owns or wastes"),
}
"""Words, unit and meaning of each ``national`` figure of estimates.json."""


@dataclass(frozen=True)
class Section:
    """A report section: the estimates key it needs ('' for none), its title and template."""

    key: str
    title: str
    template: str


SECTIONS: tuple[Section, ...] = (
    Section("national", "The finding", "finding.html.j2"),
    Section("categories", "What each category contributes, and what was left out", "categories.html.j2"),
    Section("surplus", "Wasted energy found, beside published figures", "surplus.html.j2"),
    Section("supply_curve", "Supply curve: energy bought against its price", "supply_curve.html.j2"),
    Section("projection", "Cash flow over the machines' life", "projection.html.j2"),
    Section("", "Market prices: price-duration curves", "prices.html.j2"),
    Section("national", "National figures", "national.html.j2"),
    Section("by_owner_class", "By owner class", "owners.html.j2"),
    Section("", "Charts", "charts.html.j2"),
    Section("", f"Top {TOP_N} sites", "top_sites.html.j2"),
    Section("sensitivity", "Sensitivity: one input at a time", "sensitivity.html.j2"),
    Section("seed_claim_check", "The seed's claims, checked", "seed_claim.html.j2"),
    Section("assumptions", "Assumptions", "assumptions.html.j2"),
    Section("", "Sources and licences", "sources.html.j2"),
)
"""Sections in page order; those whose ``key`` is absent from estimates.json are left out."""

_HANDLED = {
    "scenario",
    "tool_version",
    "selection",
    "bands",
    "ledgers",
    "uncertainty",
    "by_category",
    "by_state",
    "seed_claims",
    "fleet",
    "explorer_grid",
    *(s.key for s in SECTIONS),
}


# ----------------------------------------------------------------------------- formatting


def _unit_of_key(key: str) -> str:
    """A unit kind from a figure's name, for figures :data:`FIGURES` does not know."""
    if key.startswith("share") or key.endswith("_share") or key.startswith("p_"):
        return "share"
    if "usd" in key:
        return "USD/yr" if key.endswith("per_year") else "USD"
    if key.endswith("year") and not key.endswith("per_year"):
        return "year"
    if key.endswith("seed") or key.endswith("height"):
        return "plain"
    return column_unit(key) or ""


def fmt(value: object, unit: str = "") -> str:
    """A value for people, by its unit.

    ``year``/``plain``: digits without separators (2026, 20260101); ``USD`` or ``USD/...``:
    $ with k / M / B; ``share``: 0..1 shown in %; ``BTC/block``: up to 8 decimals (3.125);
    ``count``: whole number with separators; other units: separators and sensible decimals.
    Booleans are yes/no, None and non-finite numbers n/a, text as is (escaped by the template).
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {fmt(v, _unit_of_key(str(k)))}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v, unit) for v in value)
    if not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return "n/a"
    if unit in ("year", "plain", "block", "seed"):
        return str(int(x)) if x.is_integer() else f"{x:g}"
    if unit == "share":
        return f"{100 * x:.1f} %" if abs(x) >= 0.001 or x == 0 else f"{100 * x:.3g} %"
    if unit.startswith("USD") and "/MWh" not in unit and "/TH" not in unit and "/PH" not in unit:
        suffix = unit[3:].replace("/yr", " a year").replace("/MW", " per MW")
        sign = "-" if x < 0 else ""
        for scale, name in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= scale:
                return f"{sign}${abs(x) / scale:,.2f} {name}{suffix}"
        return f"{sign}${abs(x):,.0f}{suffix}"
    if unit == "BTC/block":
        return f"{x:.8f}".rstrip("0").rstrip(".")
    if unit in ("count", "sites"):
        return f"{x:,.0f}"
    if x != 0 and abs(x) < 0.01:
        return f"{x:.3g}"
    digits = 0 if abs(x) >= 1000 else (1 if abs(x) >= 100 else 2)
    return f"{x:,.{digits}f}"


def _unit_text(unit: str) -> str:
    """The unit as printed beside a value ('' where :func:`fmt` already says it)."""
    if unit in ("share", "count", "plain", "year", "sites", "seed") or (
        unit.startswith("USD") and "/MWh" not in unit and "/TH" not in unit and "/PH" not in unit
    ):
        return ""
    return unit


def _with_unit(value: object, unit: str) -> str:
    text = fmt(value, unit)
    shown = _unit_text(unit)
    return f"{text} {shown}" if shown and text != "n/a" else text


# ----------------------------------------------------------------------------- section data


_HIDDEN_NATIONAL = {"seconds"}
"""National keys that are run bookkeeping, not figures (wall time of the solve)."""

_ALIASES = {
    "sites": "sites_in_fleet",
    "mineable_gw": "installed_gw",
    "hashrate_ehs": "hashrate_average_ehs",
    "share_of_network": "share_of_network_year_one",
}
"""Older national keys the estimate stage still writes beside the new ones: shown only when the
new key is absent (no figure twice)."""


def national_rows(estimates: Mapping) -> list[dict]:
    """One row per national figure: words, value, band (p10..p90), unit, explanation, and a note
    when the base case lies outside its own band."""
    bands = estimates.get("bands", {}) or {}
    rows = []
    national = estimates.get("national", {}) or {}
    for key, value in national.items():
        if key in _HIDDEN_NATIONAL or _ALIASES.get(key) in national:
            continue
        fig = FIGURES.get(key, Figure(key.replace("_", " "), _unit_of_key(key)))
        band = bands.get(key) or {}
        outside = ""
        if band and isinstance(value, int | float) and not isinstance(value, bool):
            p10, p90 = band.get("p10"), band.get("p90")
            if p10 is not None and p90 is not None and not (min(p10, p90) <= value <= max(p10, p90)):
                outside = "above its P90" if value > max(p10, p90) else "below its P10"
        rows.append(
            {
                "key": key,
                "label": fig.label,
                "value": fmt(value, fig.unit),
                "unit": _unit_text(fig.unit),
                "p10": fmt(band["p10"], fig.unit) if "p10" in band else "",
                "p50": fmt(band["p50"], fig.unit) if "p50" in band else "",
                "p90": fmt(band["p90"], fig.unit) if "p90" in band else "",
                "explain": fig.explain,
                "outside": outside,
            }
        )
    return rows


CATEGORY_NOTES: dict[str, dict[str, str]] = {
    "flare_gas": {
        "surplus": "the gas flared at a cluster seen in the latest VIIRS survey, as power in a genset, "
        "every hour; offshore platforms only with a satellite flare nearby.",
        "data": "VIIRS Nightfire flare survey (EOG), flare volumes per cluster; BSEE wells offshore.",
    },
    "stranded_wind": {
        "surplus": "the curtailed energy of the plant's market (CAISO's daily series; ERCOT ~10.5 TWh and "
        "SPP + MISO ~7 TWh a year, published totals), shared by MW and placed in the hours its hub's "
        "price is at or below zero. Energy outside those hours would be bought.",
        "data": "EIA power plants; EIA wholesale-market hub prices; CAISO daily curtailment; published "
        "ERCOT / SPP / MISO curtailment totals.",
    },
    "stranded_solar": {
        "surplus": "the curtailed energy of the plant's market, shared by MW and placed only while the sun "
        "is up at the plant (solar position), in the hours its hub's price is at or below zero (CAISO: "
        "the daily curtailment series).",
        "data": "EIA power plants; EIA wholesale-market hub prices; CAISO daily curtailment.",
    },
    "nuclear_surplus": {
        "surplus": "10 % of nameplate (the size of real co-location deals), only in hours when the "
        "plant's hub price is at or below zero. A reactor sells what it makes: no market evidence, no "
        "surplus.",
        "data": "EIA power plants (nuclear units); EIA wholesale-market hub prices.",
    },
    "federal_hydro": {
        "surplus": "spill only: in hours at or below zero price, half of the dam's wettest-year output "
        "rate. A low capacity factor (a dry year) never raises it.",
        "data": "EIA power plants and generation (federal owners: TVA, Army Corps, Reclamation, BPA "
        "area); EIA wholesale-market hub prices.",
    },
    "retired_coal": {
        "surplus": "none wasted: the asset is the grid connection; the energy is bought at the hub's "
        "hourly price when mining pays (bought ledger).",
        "data": "EIA-860M retired / retiring plants; EIA wholesale-market hub prices.",
    },
    "military_backup": {
        "surplus": "none wasted: gensets for the 50 hours a year of non-emergency use federal rules allow "
        "(40 CFR 63.6640(f)), at diesel cost (~$260/MWh): they cannot pay (bought ledger).",
        "data": "DoD MIRTA installations; the 50 h/yr rule; diesel cost.",
    },
}
"""Per category: what "surplus" means for it (README, "What surplus means here") and the data it
is counted from."""

_LEDGER_WORDS = {"wasted": "wasted", "bought": "bought"}


def _band_text(band: Mapping | None, unit: str) -> str:
    if not band or band.get("p10") is None or band.get("p90") is None:
        return ""
    return f"P10–P90 {_with_unit(band['p10'], unit)} – {_with_unit(band['p90'], unit)}"


_LEDGER_TITLES = (
    ("wasted", "Wasted ledger: energy the country owns or wastes (headline)"),
    ("bought", "Bought ledger: energy bought at market price"),
)
"""The headline's ledgers, in order, with their titles."""


def headline(estimates: Mapping) -> dict:
    """The headline per ledger (wasted first: energy the country owns or wastes; then bought),
    the fleet, and the wasted energy found as a potential; each card with its P10–P90."""
    national = estimates.get("national", {}) or {}
    ledgers = estimates.get("ledgers", {}) or {}
    bands = estimates.get("bands", {}) or {}
    surplus = (estimates.get("surplus", {}) or {}).get("by_category", []) or []
    wasted_twh = sum(float(r.get("twh_per_year") or 0.0) for r in surplus if r.get("ledger") == "wasted")
    groups = [
        _ledger_group(ledger, title_, ledgers.get(ledger) or {}, bands) for ledger, title_ in _LEDGER_TITLES
    ]
    groups.append(_fleet_group(national, bands))
    groups.append(
        {
            "title": "Wasted energy found: a potential, mined or not",
            "cards": [
                {
                    "label": "Average power",
                    "value": _with_unit(national.get("wasted_energy_potential_gw") or 0.0, "GW"),
                    "band": "",
                },
                {"label": "Energy a year", "value": _with_unit(wasted_twh, "TWh/yr"), "band": ""},
            ],
        }
    )
    return {"groups": groups, "wasted_twh": wasted_twh}


def _payback_words(national: Mapping) -> str:
    years = national.get("payback_years")
    if national.get("sites_in_fleet", national.get("sites", 0)) in (0, None) and not national.get(
        "installed_gw"
    ):
        return "no fleet to pay back"
    if years is None:
        return "not within the machines' life"
    return f"{years:,.1f} years"


def finding(estimates: Mapping) -> dict:
    """The plain finding at the central inputs, in sentences: fleet empty or not and why, the share
    of Monte Carlo draws that build a fleet and that pay back, NPV / IRR / payback."""
    national = estimates.get("national", {}) or {}
    bands = estimates.get("bands", {}) or {}
    unc = estimates.get("uncertainty", {}) or {}
    empty, sentence = _central_sentence(
        national, estimates.get("assumptions", {}) or {}, estimates.get("projection", []) or []
    )
    spread = _spread_sentence(unc, bands)
    not_drawn = unc.get("not_drawn") or []
    return {
        "empty": empty,
        "sentence": sentence,
        "spread": spread,
        "not_drawn": "; ".join(str(x) for x in not_drawn),
        "npv": fmt(national.get("npv_usd"), "USD"),
        "irr": fmt(national.get("irr"), "share")
        if national.get("irr") is not None
        else ("no fleet" if empty else "n/a (never pays back)"),
        "payback": _payback_words(national),
    }


def _confidence_text(sites: pd.DataFrame, cat: str) -> str:
    if "confidence" not in sites.columns or "category" not in sites.columns:
        return "not given"
    counts = sites.loc[sites["category"] == cat, "confidence"].replace("", "not given").value_counts()
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "no site"


def _left_out_text(sites: pd.DataFrame, cat: str, no_surplus: Mapping) -> str:
    parts = [f"{reason} ({fmt(n, 'count')} sites)" for reason, n in (no_surplus or {}).items() if n]
    if "exclusion_reason" in sites.columns and "category" in sites.columns:
        excl = sites.loc[
            (sites["category"] == cat) & sites.get("excluded", False).astype(bool), "exclusion_reason"
        ]
        for reason, n in excl.replace("", "excluded by the scenario").value_counts().items():
            parts.append(f"excluded: {reason} ({n:,} sites)")
    return "; ".join(parts) or "nothing"


def category_rows(sites: pd.DataFrame, estimates: Mapping) -> list[dict]:
    """Every candidate category, in the fleet or not (estimates.json ``categories`` and
    ``surplus.by_category``): ledger, candidates, with surplus, wasted GW and TWh, fleet sites, GW
    and BTC, why it adds nothing, what surplus means for it, its data, confidence and what was left
    out and why."""
    cats = {r.get("category"): r for r in (estimates.get("categories", []) or [])}
    surplus = {r.get("category"): r for r in ((estimates.get("surplus", {}) or {}).get("by_category") or [])}
    order = list(CATEGORIES) + [c for c in [*cats, *surplus] if c not in CATEGORIES]
    rows = []
    for cat in dict.fromkeys(order):
        r, sp = cats.get(cat) or {}, surplus.get(cat) or {}
        found = int(r.get("candidates", sp.get("sites", 0)) or 0)
        why = str(r.get("why_none") or "")
        if not why and not r.get("in_fleet") and found == 0:
            why = "no candidate site in the data (see the sources)"
        notes = CATEGORY_NOTES.get(cat, {})
        rows.append(
            {
                "key": cat,
                "label": CATEGORY_LABELS.get(cat, cat),
                "ledger": str(r.get("ledger") or sp.get("ledger") or ""),
                "found": fmt(found, "count"),
                "eligible": fmt(r.get("eligible"), "count") if r else "n/a",
                "with_surplus": fmt(sp.get("sites_with_surplus"), "count") if sp else "n/a",
                "wasted_gw": fmt(r.get("wasted_avg_gw", sp.get("avg_gw")), "GW"),
                "wasted_twh": fmt(r.get("wasted_twh_per_year", sp.get("twh_per_year")), "TWh/yr"),
                "sites": fmt(r.get("in_fleet", 0), "count"),
                "gw": fmt(r.get("fleet_gw", 0.0), "GW"),
                "btc": fmt(r.get("btc_per_year", 0.0), "BTC/yr"),
                "why": why,
                "surplus_means": notes.get("surplus", "see the README section on surplus"),
                "data": notes.get("data", "see the sources"),
                "confidence": _confidence_text(sites, cat),
                "left_out": _left_out_text(sites, cat, sp.get("no_surplus") or {}),
                "counted": not why,
            }
        )
    return rows


def surplus_rows(estimates: Mapping) -> dict:
    """The surplus table per category and the published figures beside the tool's."""
    surplus = estimates.get("surplus", {}) or {}
    rows = [
        {
            "label": CATEGORY_LABELS.get(r.get("category"), r.get("category")),
            "ledger": r.get("ledger", ""),
            "sites": fmt(r.get("sites"), "count"),
            "with_surplus": fmt(r.get("sites_with_surplus"), "count"),
            "peak_gw": fmt(r.get("peak_gw"), "GW"),
            "avg_gw": fmt(r.get("avg_gw"), "GW"),
            "twh": fmt(r.get("twh_per_year"), "TWh/yr"),
            "hours": fmt(r.get("hours_per_year"), "count"),
            "no_surplus": "; ".join(
                f"{k} ({fmt(v, 'count')})" for k, v in (r.get("no_surplus") or {}).items() if v
            ),
        }
        for r in surplus.get("by_category", []) or []
    ]
    units = {"twh_per_year": "TWh/yr", "avg_gw": "GW", "peak_mw_per_site": "MW per site"}
    published = []
    for r in surplus.get("published", []) or []:
        unit = units.get(str(r.get("quantity")), str(r.get("quantity", "")).replace("_", " "))
        pub = _with_unit(r.get("published"), unit)
        if r.get("published_low") is not None and r.get("published_high") is not None:
            pub += f" (range {fmt(r['published_low'])} – {fmt(r['published_high'])})"
        ratio = r.get("ratio")
        published.append(
            {
                "label": r.get("label", ""),
                "tool": _with_unit(r.get("tool"), unit),
                "published": pub,
                "ratio": f"{ratio:.2f}" if isinstance(ratio, int | float) else "n/a",
                "source": r.get("source", ""),
            }
        )
    return {"rows": rows, "published": published}


def supply_rows(estimates: Mapping) -> list[dict]:
    """The supply curve as a table: price cap, bought GW, TWh, EH/s, BTC a year."""
    return [
        {
            "cap": f"{fmt(r.get('price_cap_usd_mwh'), 'plain')} USD/MWh",
            "gw": fmt(r.get("bought_gw_average"), "GW"),
            "twh": fmt(r.get("bought_twh_per_year"), "TWh/yr"),
            "ehs": fmt(r.get("bought_ehs"), "EH/s"),
            "btc": fmt(r.get("bought_btc_per_year"), "BTC/yr"),
        }
        for r in estimates.get("supply_curve", []) or []
    ]


def owner_rows(estimates: Mapping) -> list[dict]:
    """One row per owner class in the fleet."""
    rows = []
    for key, v in (estimates.get("by_owner_class", {}) or {}).items():
        v = v or {}
        rows.append(
            {
                "label": OWNER_CLASS_LABELS.get(key, key),
                "sites": fmt(v.get("sites"), "count"),
                "gw": fmt(v.get("mineable_gw"), "GW"),
                "ehs": fmt(v.get("hashrate_ehs"), "EH/s"),
                "btc": fmt(v.get("btc_per_year"), "BTC/yr"),
                "revenue": fmt(v.get("revenue_usd_per_year"), "USD"),
            }
        )
    return rows


TOP_COLUMNS = (
    "rank",
    "name",
    "category",
    "state",
    "ledger",
    "node",
    "mineable_mw",
    "wasted_mwh_per_year",
    "wasted_hours_per_year",
    "score",
    "p_top_n",
    "in_fleet",
    "fleet_mw",
    "btc_per_year",
    "confidence",
)


def top_sites(sites: pd.DataFrame, *, n: int = TOP_N) -> tuple[list[str], list[list[str]]]:
    """Headers (words and unit) and rows of the ``n`` best sites that are not excluded."""
    kept = sites.loc[~sites["excluded"].astype(bool)] if "excluded" in sites.columns else sites
    top = kept.sort_values(["rank", "site_id"], kind="stable").head(n)
    cols = [c for c in TOP_COLUMNS if c in top.columns]
    heads = []
    for c in cols:
        unit = "%" if c == "p_top_n" else ("0..1" if c == "score" else column_unit(c))
        name = "Stays in top N" if c == "p_top_n" else title(c)
        heads.append(f"{name} ({unit})" if unit else name)
    rows = []
    for rec in top[cols].to_dict("records"):
        row = []
        for c in cols:
            v = rec[c]
            if c == "category":
                v = CATEGORY_LABELS.get(v, v)
            if c == "p_top_n":
                row.append(fmt(v, "share").replace(" %", ""))
            elif c == "rank":
                row.append(fmt(v, "plain"))
            else:
                row.append(
                    fmt(
                        v,
                        "count" if c.endswith(("_mw", "_mwh_per_year", "hours_per_year")) else column_unit(c),
                    )
                )
        rows.append(row)
    return heads, rows


def seed_claim(check: Mapping) -> dict:
    """The seed-claim check as one clean table: per case, claimed vs computed, with the ratio."""
    cases = list(check.get("cases", []) or [])
    metrics = (
        ("Machines", "claimed_machines", "machines", "count"),
        ("Hashrate (EH/s)", "claimed_hashrate_ehs", "hashrate_ehs", "EH/s"),
        ("Bitcoin a year", "claimed_btc_per_year", "btc_per_year", "BTC/yr"),
    )
    rows = []
    for case in cases:
        for label, claimed_key, key, unit in metrics:
            claimed, computed = case.get(claimed_key), case.get(key)
            ratio = (
                f"x {computed / claimed:,.1f}"
                if isinstance(claimed, int | float) and isinstance(computed, int | float) and claimed
                else ""
            )
            rows.append(
                {
                    "gw": fmt(case.get("gw"), "GW"),
                    "label": label,
                    "claimed": fmt(claimed, unit),
                    "computed": fmt(computed, unit),
                    "ratio": ratio,
                }
            )
        rows.append(
            {
                "gw": fmt(case.get("gw"), "GW"),
                "label": "Share of the network",
                "claimed": "",
                "computed": fmt(case.get("share_of_network"), "share")
                + (" (over half)" if case.get("over_half_network") else ""),
                "ratio": "",
            }
        )
    inputs = check.get("inputs", {}) or {}
    words = {
        "asic_watts": ("machine power", "W"),
        "asic_ths": ("machine hashrate", "TH/s"),
        "network_ehs": ("network", "EH/s"),
        "pue": ("PUE", ""),
        "uptime": ("uptime", "share"),
        "subsidy_btc": ("subsidy", "BTC/block"),
        "fees_btc_per_block": ("fees", "BTC/block"),
    }
    parts = []
    for k, v in inputs.items():
        label, unit = words.get(k, (k.replace("_", " "), _unit_of_key(k)))
        parts.append(f"{label} {_with_unit(v, unit)}")
    return {
        "claim": check.get("claim", ""),
        "source": check.get("source", ""),
        "verdict": check.get("verdict", ""),
        "inputs": "; ".join(parts),
        "rows": rows,
    }


def seed_claims(corrected: Mapping) -> dict:
    """The corrected seed claims (``seed_claims``): per GW case, the hashrate and BTC a year with
    the fleet's own dilution; the GW it takes for 50/90/99 % of the network next to the wasted
    ledger; years to a 200,000 BTC reserve."""
    cases = [
        {
            "gw": fmt(c.get("gw"), "GW"),
            "claimed_ehs": fmt(c.get("claimed_hashrate_ehs"), "EH/s"),
            "installed_ehs": fmt(c.get("hashrate_installed_ehs"), "EH/s"),
            "average_ehs": fmt(c.get("hashrate_average_ehs"), "EH/s"),
            "share": fmt(c.get("share_of_network"), "share"),
            "claimed_btc": fmt(c.get("claimed_btc_per_year"), "BTC/yr"),
            "btc": fmt(c.get("btc_per_year"), "BTC/yr"),
        }
        for c in corrected.get("gw_cases", []) or []
    ]
    shares = _seed_shares(corrected)
    reserve = corrected.get("years_to_reserve") or {}
    years = reserve.get("years")
    reserve_text = ""
    if reserve:
        reserve_text = (
            f"A reserve of {fmt(reserve.get('reserve_btc'), 'count')} BTC from the wasted ledger: "
            + (
                f"{fmt(years, 'years')} years."
                if years is not None
                else "never at the central inputs (the wasted ledger mines no bitcoin there)."
            )
        )
    words = {
        "network_ehs": ("network", "EH/s"),
        "efficiency_j_th": ("efficiency", "J/TH"),
        "pue": ("PUE", ""),
        "uptime": ("uptime", "share"),
        "subsidy_btc": ("subsidy", "BTC/block"),
        "fees_btc_per_block": ("fees", "BTC/block"),
    }
    inputs = "; ".join(
        f"{words.get(k, (k.replace('_', ' '), ''))[0]} {_with_unit(v, words.get(k, ('', _unit_of_key(k)))[1])}"
        for k, v in (corrected.get("inputs") or {}).items()
    )
    return {
        "claim": corrected.get("claim", ""),
        "formula": corrected.get("formula", ""),
        "inputs": inputs,
        "cases": cases,
        "shares": shares,
        "reserve": reserve_text,
    }


def sensitivity_rows(sensitivity: Sequence[Mapping]) -> list[dict]:
    """Sensitivity in words: input, range, NPV, installed GW and BTC a year at each end, swing."""
    rows = []
    for r in sorted(sensitivity, key=lambda r: -abs(float(r.get("swing_npv_usd") or 0.0))):
        key = str(r.get("input"))
        unit = "USD" if key.endswith("_usd") else ("share" if "growth" in key else "")
        rows.append(
            {
                "input": r.get("meaning") or key,
                "key": key,
                "range": f"{fmt(r.get('low'), unit)} – {fmt(r.get('high'), unit)}",
                "npv_low": fmt(r.get("npv_usd_at_low"), "USD"),
                "npv_high": fmt(r.get("npv_usd_at_high"), "USD"),
                "gw_low": fmt(r.get("installed_gw_at_low"), "GW"),
                "gw_high": fmt(r.get("installed_gw_at_high"), "GW"),
                "btc_low": fmt(r.get("btc_per_year_at_low"), "BTC/yr"),
                "btc_high": fmt(r.get("btc_per_year_at_high"), "BTC/yr"),
                "swing_npv": fmt(r.get("swing_npv_usd"), "USD"),
                "short_of_payback": any(
                    float(r.get(f"installed_gw_at_{end}") or 0.0) > 0
                    and float(r.get(f"npv_usd_at_{end}") or 0.0) <= 0
                    for end in ("low", "high")
                ),
            }
        )
    return rows


def projection_rows(projection: Sequence[Mapping]) -> list[dict]:
    """The multi-year projection in words: year, subsidy, halving, network, BTC price, revenue per
    MWh, the fleet's BTC, revenue, energy cost, margin and cumulative cash."""
    return [
        {
            "year": fmt(p.get("year"), "year"),
            "subsidy": fmt(p.get("block_subsidy_btc"), "BTC/block"),
            "halving": "halving" if p.get("halvings_in_year") else "",
            "network": fmt(p.get("network_ehs"), "EH/s"),
            "price": fmt(p.get("btc_price_usd"), "USD"),
            "rev_mwh": fmt(p.get("revenue_usd_per_mwh"), "USD/MWh"),
            "btc": fmt(p.get("btc"), "BTC"),
            "revenue": fmt(p.get("revenue_usd"), "USD"),
            "energy": fmt(p.get("energy_cost_usd"), "USD"),
            "margin": fmt(p.get("margin_usd"), "USD"),
            "cumulative": fmt(p.get("cumulative_cash_usd"), "USD"),
        }
        for p in projection
    ]


PRICE_HUBS: tuple[tuple[str, str], ...] = (
    ("ERCOT:HB_WEST", "ERCOT West"),
    ("ERCOT:HB_PAN", "ERCOT Panhandle"),
    ("ERCOT:HB_NORTH", "ERCOT North"),
    ("CAISO:SP15", "CAISO SP15"),
    ("CAISO:NP15", "CAISO NP15"),
    ("SPP:NORTH", "SPP North"),
    ("MISO:MINNESOTA", "MISO Minnesota"),
    ("PJM:WESTERN_HUB", "PJM Western Hub"),
)
"""Market hubs (``market_prices`` node, words) the price-duration chart draws."""


def price_curves(market_prices: pd.DataFrame | None, year: int | None) -> tuple[dict, list[dict]]:
    """Per hub of :data:`PRICE_HUBS`, its real-time hourly prices of ``year`` (USD/MWh) for the
    price-duration chart, and a table row: hours with prices, hours at or below 0, mean price.

    A hub with under half of ``year`` in prices uses its year with most hours, said in its label
    and row;
    a hub without any is listed as absent (never silently left out)."""
    curves: dict[str, np.ndarray] = {}
    rows: list[dict] = []
    if market_prices is None or market_prices.empty or year is None:
        return curves, rows
    mp = market_prices
    keep = mp["node"].isin([node for node, _ in PRICE_HUBS]).to_numpy(dtype=bool, copy=True)
    if "kind" in mp.columns:
        keep &= (mp["kind"] == "rt").to_numpy(dtype=bool)
    mp = mp[keep]  # the hubs' real-time rows only (a fifth of the table)
    years = mp["hour_utc"].astype(str).str[:4]
    for node, words in PRICE_HUBS:
        own = mp["node"] == node
        if not own.any():
            rows.append(
                {
                    "hub": words,
                    "node": node,
                    "year": "",
                    "hours": "0",
                    "le0": "",
                    "mean": "",
                    "note": "no prices for this hub in the data",
                }
            )
            continue
        use = str(year)
        note = ""
        counts = years[own].value_counts()
        if int(counts.get(use, 0)) < 4380:  # under half a year: show the hub's fullest year
            use = str(counts.sort_index(ascending=False).idxmax())
            note = f"{int(counts.get(str(year), 0)):,} hours of {year} prices: {use} shown"
        prices = mp.loc[own & (years == use), "price_usd_mwh"].to_numpy(dtype="float64")
        prices = prices[np.isfinite(prices)]
        label = words if use == str(year) else f"{words} ({use})"
        curves[label] = prices
        rows.append(
            {
                "hub": words,
                "node": node,
                "year": use,
                "hours": fmt(prices.size, "count"),
                "le0": fmt(int((prices <= 0).sum()), "count"),
                "mean": _with_unit(float(prices.mean()) if prices.size else None, "USD/MWh"),
                "note": note,
            }
        )
    return curves, rows


def kept_price_curves(
    prices: Callable[[], pd.DataFrame | None], year: int | None, layers_key: str | None
) -> tuple[dict, list[dict]]:
    """:func:`price_curves` of ``prices()`` for ``year``, kept by ``layers_key`` (what names the
    source layers' content; None: made each time) in this process and in
    ``$GIS_CACHE_DIR/price_curves`` (:func:`gis.outputs.keep.kept_bytes`): a weight change, which
    leaves the prices alone, reads none of their 0.5 M rows. The curves come back as made (float64
    USD/MWh, JSON keeps every float exactly)."""
    if layers_key is None:
        return price_curves(prices(), year)
    from gis.memo import digest
    from gis.outputs.keep import kept_bytes

    def make() -> bytes:
        curves, rows = price_curves(prices(), year)
        kept = {"curves": {label: values.tolist() for label, values in curves.items()}, "rows": rows}
        return json.dumps(kept).encode("utf-8")

    key = digest("price_curves", layers_key, year, [list(hub) for hub in PRICE_HUBS])
    kept = json.loads(kept_bytes("price_curves", key, make, suffix=".json"))
    curves = {label: np.asarray(values, dtype="float64") for label, values in kept["curves"].items()}
    return curves, kept["rows"]


def _assumption_value(value: object, unit: str) -> str:
    if isinstance(value, Mapping):
        if "dist" in value:
            rest = ", ".join(f"{k} {fmt(v, unit)}" for k, v in value.items() if k != "dist")
            return f"{value['dist']}: {rest}"
        return "; ".join(f"{k.replace('_', ' ')} {fmt(v, _unit_of_key(str(k)))}" for k, v in value.items())
    if isinstance(value, str):
        return value
    key_unit = "plain" if unit in ("", "block") and isinstance(value, int) else unit
    return _with_unit(value, key_unit if key_unit != "1" else "")


def assumption_rows(assumptions: Mapping) -> list[dict]:
    """The assumptions as one compact table: name, value with unit, meaning, source."""
    rows = []
    for key, a in assumptions.items():
        if isinstance(a, Mapping) and "value" in a:
            unit = str(a.get("unit", "") or "")
            unit = "year" if unit == "year" else unit
            rows.append(
                {
                    "key": key,
                    "value": _assumption_value(a["value"], unit),
                    "meaning": a.get("meaning", ""),
                    "source": a.get("source", ""),
                }
            )
        elif isinstance(a, Mapping):  # e.g. formulas: one row per entry
            for k, v in a.items():
                rows.append({"key": f"{key}.{k}", "value": str(v), "meaning": "", "source": ""})
        else:
            rows.append({"key": key, "value": fmt(a), "meaning": "", "source": ""})
    return rows


_NOT_AVAILABLE = re.compile(r"^([\w.-]+) not available")


def source_rows(
    sources: Sequence[Mapping], layer_notes: Mapping[str, Sequence[str]] | None = None
) -> list[dict]:
    """Sources with what was really used: a source a layer reports as not available is marked so,
    with the fallback that layer used instead."""
    missing: dict[str, list[str]] = {}
    for layer, notes in (layer_notes or {}).items():
        notes = list(notes)
        for note in notes:
            m = _NOT_AVAILABLE.match(note)
            if m:
                fallback = [n for n in notes if "fallback" in n]
                missing.setdefault(m.group(1), []).append(
                    f"{layer}: " + ("; ".join(fallback) if fallback else "layer built without it")
                )
    rows = []
    for s in sources:
        name = str(s.get("source", ""))
        if name in missing:
            used = "not available; instead " + " | ".join(missing[name])
        else:
            used = "read" + (f" from the {s['origin']}" if s.get("origin") else "")
        rows.append(
            {
                "source": name,
                "title": s.get("title", ""),
                "publisher": s.get("publisher", ""),
                "licence": s.get("licence", ""),
                "vintage": s.get("vintage", ""),
                "homepage": s.get("homepage", ""),
                "used": used,
                "unused": name in missing,
            }
        )
    return rows


def other_sections(estimates: Mapping) -> list[tuple[str, list[tuple[str, str]]]]:
    """Top-level keys of estimates.json no section shows, flattened to (path, value) rows."""
    out = []
    for key, value in estimates.items():
        if key in _HANDLED:
            continue
        rows: list[tuple[str, str]] = []
        _flatten(value, key, rows)
        out.append((key, rows[:400]))
    return out


def _flatten(value: object, path: str, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(v, f"{path}.{k}", rows)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", rows)
    else:
        last = path.rsplit(".", 1)[-1]
        rows.append((path, _with_unit(value, _unit_of_key(last))))


# ----------------------------------------------------------------------------- page


def _img(image: bytes) -> str:
    """A data URI of a chart: SVG text or PNG bytes."""
    kind = "svg+xml" if image.lstrip().startswith(b"<svg") else "png"
    return f"data:image/{kind};base64," + base64.b64encode(image).decode("ascii")


def _chart(alt: str, png: bytes) -> dict:
    return {"alt": alt, "src": _img(png), "width": charts.WIDTH_PX}


def _charts(sites: pd.DataFrame, estimates: Mapping) -> list[dict]:
    """The general charts: fleet GW by category and state (when there is a fleet), scores."""
    excluded = (
        sites["excluded"].to_numpy(dtype=bool) if "excluded" in sites.columns else np.zeros(len(sites), bool)
    )
    items = []
    if estimates.get("by_category"):
        items.append(("fleet GW by category", charts.gw_by_category(estimates["by_category"])))
    if estimates.get("by_state"):
        items.append(("fleet GW by state", charts.gw_by_state(estimates["by_state"])))
    items.append(
        ("score distribution", charts.score_distribution(sites["score"].to_numpy(dtype="float64"), excluded))
    )
    return [_chart(alt, png) for alt, png in items]


class _TemplateCode(jinja2.FileSystemBytecodeCache):
    """The report templates compiled to Python code, kept in ``$GIS_CACHE_DIR/templates`` so a new
    process does not compile them again (jinja2 checks each against its template's source). A
    folder that cannot be written, or a damaged file, only means the template is compiled."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a truncated or foreign file: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


@functools.cache
def _environment() -> jinja2.Environment:
    """The report's template environment, one per process: a template is compiled once and then
    taken from the environment's cache at every later report (jinja2 reloads it when its file
    changes)."""
    from gis.config.settings import cache_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_TemplateCode(str(cache_dir() / "templates")),
    )
    env.filters["fmt"] = fmt
    return env


def reference_year(estimates: Mapping) -> int | None:
    """The year of the estimates' hourly prices (``assumptions.reference_year``), or None."""
    ref = (estimates.get("assumptions", {}) or {}).get("reference_year")
    value = ref.get("value") if isinstance(ref, Mapping) else ref
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def build_report(
    *,
    sites: pd.DataFrame,
    estimates: Mapping,
    sources: Sequence[Mapping],
    vendored: Sequence[Mapping] = (),
    layer_notes: Mapping[str, Sequence[str]] | None = None,
    market_prices: pd.DataFrame | None = None,
    curves: tuple[dict, list[dict]] | None = None,
) -> str:
    """The whole report page as an HTML string (no script, every value escaped).

    ``sites`` are the candidate sites with the fleet joined (:func:`gis.outputs.inputs.join_fleet`);
    ``market_prices`` the ``market_prices`` layer of layers.gpkg (hourly hub prices, USD/MWh) for
    the price-duration curves of ``assumptions.reference_year`` (None: the section says so), or
    ``curves`` those curves and their table rows already made (:func:`kept_price_curves`)."""
    heads, top_rows = top_sites(sites)
    year = reference_year(estimates)
    hub_curves, hub_rows = price_curves(market_prices, year) if curves is None else curves
    context = {
        "scenario": str(estimates.get("scenario", "")),
        "version": str(estimates.get("tool_version", __version__)),
        "today": dt.date.today().isoformat(),
        "headline": headline(estimates),
        "finding": finding(estimates),
        "national": national_rows(estimates),
        "outside_band": [r for r in national_rows(estimates) if r["outside"]],
        "categories": category_rows(sites, estimates),
        "surplus": surplus_rows(estimates),
        "supply": supply_rows(estimates),
        **_money_charts(estimates, hub_curves, year),
        "hub_rows": hub_rows,
        "reference_year": year,
        "tornado": _chart(
            "tornado: fleet NPV and installed GW with each input at its low and high value",
            charts.npv_tornado(estimates.get("sensitivity", []) or []),
        ),
        "owners": owner_rows(estimates),
        "charts": _charts(sites, estimates),
        "top_heads": heads,
        "top_rows": top_rows,
        "top_n": TOP_N,
        "seed": seed_claim(estimates.get("seed_claim_check", {}) or {}),
        "seed2": seed_claims(estimates.get("seed_claims", {}) or {}),
        "sensitivity": sensitivity_rows(estimates.get("sensitivity", []) or []),
        "projection": projection_rows(estimates.get("projection", []) or []),
        "assumptions": assumption_rows(estimates.get("assumptions", {}) or {}),
        "sources": source_rows(sources, layer_notes),
        "vendored": _vendored_rows(vendored),
        "others": other_sections(estimates),
        "sections": [s for s in SECTIONS if not s.key or s.key in estimates],
    }
    return _environment().get_template("report.html.j2").render(**context)


def sources_from_metadata(metadata: Mapping[str, str]) -> list[dict]:
    """The ``sources`` list stored as JSON in layers.gpkg metadata ([] if absent or unreadable)."""
    try:
        value = json.loads(metadata.get("sources", "[]"))
    except json.JSONDecodeError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def write_report(target: str | Path, **kwargs) -> Path:
    """Write :func:`build_report` output to ``target`` atomically."""
    return write_text(target, build_report(**kwargs))


def _cards(cards: Sequence[tuple[str, object, str, Mapping | None]]) -> list[dict[str, str]]:
    """Headline cards ``{label, value, band}`` from ``(label, value, unit, P10–P90 band or None)``.

    Parameters
    ----------
    cards
        label, value (in ``unit``; None shown as 0), unit, and the value's band or None.

    Returns
    -------
    list of dict
        value and band as text with their unit.
    """
    return [
        {"label": lab, "value": _with_unit(v or 0.0, u), "band": _band_text(bd, u)} for lab, v, u, bd in cards
    ]


def _ledger_group(ledger: str, title_: str, lg: Mapping, bands: Mapping) -> dict:
    """The headline group of one ledger: average GW, TWh/yr, EH/s and BTC/yr.

    Parameters
    ----------
    ledger
        ``"wasted"`` or ``"bought"`` (names its bands).
    title_
        the group's title.
    lg
        the ledger's figures of ``estimates.json`` (``ledgers.<ledger>``).
    bands
        the P10–P90 bands of ``estimates.json``.

    Returns
    -------
    dict
        ``{"title", "cards"}``.
    """
    cards = [
        ("Average power mined", lg.get("average_gw"), "GW", bands.get(f"{ledger}_average_gw")),
        ("Energy mined", lg.get("twh_per_year"), "TWh/yr", None),
        ("Hashrate on average", lg.get("hashrate_average_ehs"), "EH/s", None),
        ("Bitcoin a year", lg.get("btc_per_year"), "BTC/yr", bands.get(f"{ledger}_btc_per_year")),
    ]
    return {"title": title_, "cards": _cards(cards)}


def _fleet_group(national: Mapping, bands: Mapping) -> dict:
    """The headline group of the economic fleet: sites, GW installed, EH/s, BTC/yr and NPV (USD).

    Parameters
    ----------
    national
        the ``national`` figures of ``estimates.json``.
    bands
        the P10–P90 bands of ``estimates.json``.

    Returns
    -------
    dict
        ``{"title", "cards"}``.
    """
    fleet_cards = [
        ("Sites in the fleet", national.get("sites_in_fleet"), "count", None),
        ("Installed power", national.get("installed_gw"), "GW", bands.get("installed_gw")),
        (
            "Hashrate on average",
            national.get("hashrate_average_ehs"),
            "EH/s",
            bands.get("hashrate_average_ehs"),
        ),
        ("Bitcoin a year", national.get("btc_per_year"), "BTC/yr", bands.get("btc_per_year")),
        ("Net present value", national.get("npv_usd"), "USD", bands.get("npv_usd")),
    ]
    return {
        "title": "The economic fleet (both ledgers, sized on NPV over the machines' life)",
        "cards": _cards(fleet_cards),
    }


def _central_sentence(
    national: Mapping, assumptions: Mapping, projection: Sequence[Mapping]
) -> tuple[bool, str]:
    """Whether the central fleet is empty, and the sentence saying so or giving its NPV, IRR, payback.

    Parameters
    ----------
    national
        the ``national`` figures of ``estimates.json`` (GW, USD, years, shares).
    assumptions
        the ``assumptions`` of ``estimates.json`` (``{key: {"value": ...}}``).
    projection
        the yearly ``projection`` rows (revenue in USD/MWh, halvings).

    Returns
    -------
    (bool, str)
        True when no site builds a fleet, and the sentence.
    """

    def a(key: str, default: object = None) -> object:
        v = assumptions.get(key)
        return v.get("value", default) if isinstance(v, Mapping) else default

    life = national.get("asic_life_years") or a("fleet.asic_life_years", "?")
    rate = national.get("discount_rate", a("fleet.discount_rate"))
    growth = a("network.growth_per_year")
    halvings = [str(p.get("year")) for p in projection if p.get("halvings_in_year")]
    rev = national.get("revenue_usd_per_mwh_year_one")
    rev_last = projection[-1].get("revenue_usd_per_mwh") if projection else None
    n_sites = int(national.get("sites_in_fleet", national.get("sites", 0)) or 0)
    empty = n_sites == 0 and not national.get("installed_gw")
    conditions = (
        f"over their {fmt(life, 'plain')}-year life at a {fmt(rate, 'share')} discount rate"
        + (f", with the network growing {fmt(growth, 'share')} a year" if growth is not None else "")
        + (f" and the {' and '.join(halvings)} halving{'s' if len(halvings) > 1 else ''}" if halvings else "")
    )
    if empty:
        sentence = (
            "At the central inputs the economic fleet is empty: no site's NPV-optimal fleet pays back "
            f"its machines, site build and lines {conditions}."
        )
        if rev is not None:
            sentence += (
                f" One MWh mined earns {_with_unit(rev, 'USD/MWh')} in the first year"
                + (f" and {_with_unit(rev_last, 'USD/MWh')} in the last" if rev_last is not None else "")
                + ": the wasted energy is either too costly to use (a flare genset's running cost) or "
                "there in too few hours a year (curtailment, spill and negative prices) to repay the "
                "machines in time."
            )
        sentence += " This is a result of the model, not a missing figure."
    else:
        sentence = (
            f"At the central inputs {fmt(n_sites, 'count')} sites build a fleet of "
            f"{_with_unit(national.get('installed_gw'), 'GW')} that pays back {conditions}: NPV "
            f"{fmt(national.get('npv_usd'), 'USD')}, IRR {fmt(national.get('irr'), 'share')}, payback "
            f"{_payback_words(national)}."
        )
    return empty, sentence


def _spread_sentence(unc: Mapping, bands: Mapping) -> str:
    """The Monte Carlo sentence: share of draws that build a fleet and pay it back, P90 GW.

    Parameters
    ----------
    unc
        the ``uncertainty`` of ``estimates.json`` (``draws``, shares 0..1).
    bands
        the P10–P90 bands of ``estimates.json`` (``installed_gw`` in GW).

    Returns
    -------
    str
        empty without draws.
    """
    draws = unc.get("draws")
    share_fleet, share_pay = unc.get("share_with_a_fleet"), unc.get("share_paying_back")
    spread = ""
    if draws and share_fleet is not None:
        p90 = (bands.get("installed_gw") or {}).get("p90")
        spread = (
            f"Across {fmt(draws, 'count')} Monte Carlo draws of the uncertain inputs (the fleet re-sized "
            f"and re-selected in each), {fmt(share_fleet, 'share')} build a fleet"
            + (f" and {fmt(share_pay, 'share')} pay it back" if share_pay is not None else "")
            + (f"; the P90 fleet is {_with_unit(p90, 'GW')} installed" if p90 is not None else "")
            + ". "
            + (
                "Whether a fleet exists at all turns on the inputs: read the P10–P90 spans, not the "
                "central value alone."
                if 0.05 < float(share_fleet) < 0.95
                else ""
            )
        )
    return spread


def _seed_shares(corrected: Mapping) -> list[dict[str, str]]:
    """Rows of the network-share table: the GW it takes for each share, then the wasted ledger.

    Parameters
    ----------
    corrected
        the ``seed_claims`` of ``estimates.json`` (EH/s, GW, BTC/yr, shares 0..1).

    Returns
    -------
    list of dict
        ``{what, ehs, gw_average, gw_installed, btc}`` as text with units.
    """
    shares = [
        {
            "what": f"{fmt(r.get('share'), 'share')} of the network",
            "ehs": fmt(r.get("hashrate_average_ehs"), "EH/s"),
            "gw_average": fmt(r.get("gw_average"), "GW"),
            "gw_installed": fmt(r.get("gw_installed"), "GW"),
            "btc": fmt(r.get("btc_per_year"), "BTC/yr"),
        }
        for r in corrected.get("network_share", []) or []
    ]
    wl = corrected.get("wasted_ledger") or {}
    if wl:
        shares.append(
            {
                "what": f"the wasted ledger at the central inputs ({fmt(wl.get('share_of_network'), 'share')})",
                "ehs": fmt(wl.get("hashrate_average_ehs"), "EH/s"),
                "gw_average": fmt(wl.get("gw_average"), "GW"),
                "gw_installed": "",
                "btc": fmt(wl.get("btc_per_year"), "BTC/yr"),
            }
        )
    return shares


def _money_charts(estimates: Mapping, curves: dict, year: int | None) -> dict[str, object]:
    """The supply-curve, cash-flow and price-duration charts of the report.

    Parameters
    ----------
    estimates
        ``estimates.json`` content (GW, BTC/yr, USD).
    curves
        the hubs' price-duration curves (USD/MWh) of :func:`price_curves`, empty without prices.
    year
        the reference year of the prices, or None.

    Returns
    -------
    dict
        ``supply_chart``, ``cash_chart`` and ``price_chart`` (None without curves).
    """
    national = estimates.get("national", {}) or {}
    wasted = (estimates.get("ledgers", {}) or {}).get("wasted") or {}
    return {
        "supply_chart": _chart(
            "supply curve: bought ledger GW and BTC a year against the price cap, wasted ledger beside it",
            charts.supply_curve(
                estimates.get("supply_curve", []) or [],
                wasted_gw=float(wasted.get("average_gw") or 0.0),
                wasted_btc=float(wasted.get("btc_per_year") or 0.0),
            ),
        ),
        "cash_chart": _chart(
            "cash flow: margin by year, cumulative cash against the capex, halvings marked",
            charts.cash_flow(
                estimates.get("projection", []) or [], capex_usd=float(national.get("capex_usd") or 0.0)
            ),
        ),
        "price_chart": _chart(
            "price-duration curves of the main market hubs", charts.price_duration(curves, year=year or "")
        )
        if curves
        else None,
    }


def _vendored_rows(vendored: Sequence[Mapping]) -> list[dict[str, str]]:
    """Rows of the vendored-assets table: package, version, tarball and licence files.

    Parameters
    ----------
    vendored
        the vendored assets' records (:func:`gis.outputs.assets.vendored_licences`).

    Returns
    -------
    list of dict
        ``{package, version, from, licence}`` as text.
    """
    return [
        {
            "package": str(v.get("package", "")),
            "version": str(v.get("version", "")),
            "from": str(v.get("tarball", "")),
            "licence": ", ".join(v.get("licence_files", []) or []),
        }
        for v in vendored
    ]
