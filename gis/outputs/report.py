"""The static report (``report.html``): national figures with bands, what each category
contributes (and why some contribute nothing), charts, top sites, the seed's claim checked,
sensitivity, assumptions, sources and licences — one self-contained file, no script, no network.

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
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from gis import __version__
from gis.io import write_text
from gis.outputs import charts
from gis.outputs.labels import CATEGORY_LABELS, OWNER_CLASS_LABELS, column_unit, title
from gis.schema import CATEGORIES

__all__ = [
    "FIGURES",
    "SECTIONS",
    "TOP_N",
    "Figure",
    "Section",
    "build_report",
    "category_rows",
    "fmt",
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
    "sites": Figure("Sites in the fleet", "count", "candidate sites the selection rule keeps"),
    "mineable_gw": Figure("Mineable power", "GW", "site power available for mining, summed over the fleet"),
    "it_gw": Figure(
        "IT power",
        "GW",
        "power reaching the mining machines: mineable power / PUE (cooling and losses removed)",
    ),
    "machines": Figure("Machines", "count", "IT power / one machine's power"),
    "hashrate_ehs": Figure("Hashrate", "EH/s", "the fleet's hashing power (10^18 hashes a second)"),
    "network_ehs": Figure("Network hashrate (before the fleet)", "EH/s", "the rest of the world's miners"),
    "share_of_network": Figure(
        "Share of the network", "share", "fleet / (network + fleet): its share of blocks once it has joined"
    ),
    "btc_per_year": Figure(
        "Bitcoin mined",
        "BTC/yr",
        "its share of every block's subsidy and fees, after its own difficulty dilution",
    ),
    "btc_per_day": Figure("Bitcoin mined a day", "BTC/day"),
    "naive_btc_per_year": Figure(
        "Bitcoin mined, naive",
        "BTC/yr",
        "what a calculator that ignores the fleet raising difficulty would say (fleet / network, not "
        "fleet / (network + fleet)): an upper bound, not reachable",
    ),
    "network_issuance_btc_per_year": Figure(
        "All Bitcoin issued a year", "BTC/yr", "blocks a year x (subsidy + fees): the whole pie"
    ),
    "revenue_usd_per_year": Figure("Revenue", "USD/yr", "BTC mined x the scenario's BTC price"),
    "energy_cost_usd_per_year": Figure("Energy cost", "USD/yr"),
    "energy_twh_per_year": Figure("Energy used", "TWh/yr"),
    "asic_capex_usd": Figure("Machines to buy", "USD"),
    "site_capex_usd": Figure("Sites to build", "USD"),
    "payback_years": Figure(
        "Simple payback", "years", "(machines + sites) / (revenue - energy cost), at today's subsidy"
    ),
    "hashprice_usd_per_ph_day": Figure(
        "Hashprice after the fleet joins",
        "USD/PH/day",
        "what one PH/s earns a day: 144 blocks x (subsidy + fees) x price / network PH/s",
    ),
    "hashprice_before_fleet_usd_per_ph_day": Figure(
        "Hashprice before the fleet", "USD/PH/day", "the same with today's network alone"
    ),
    "co2_mt_per_year": Figure("CO2, net", "Mt CO2/yr", "gross emissions minus what the fleet avoids"),
    "co2_gross_mt_per_year": Figure("CO2, gross", "Mt CO2/yr", "from the energy the fleet uses"),
    "co2_avoided_mt_per_year": Figure(
        "CO2 avoided", "Mt CO2/yr", "flare gas burnt in a generator instead of a flare (methane destroyed)"
    ),
    "block_height": Figure("Block height at the start", "plain"),
    "block_subsidy_btc": Figure("Block subsidy", "BTC/block", "new bitcoin per block at that height"),
    "remaining_supply_btc": Figure("Bitcoin left to issue", "BTC"),
    "share_of_remaining_supply_per_year": Figure("Share of the remaining supply a year", "share"),
    "over_half_network": Figure("Over half the network?", "", "a fleet above 50 % could rewrite the chain"),
}
"""Words, unit and meaning of each ``national`` figure of estimates.json."""


@dataclass(frozen=True)
class Section:
    """A report section: the estimates key it needs ('' for none), its title and template."""

    key: str
    title: str
    template: str


SECTIONS: tuple[Section, ...] = (
    Section("national", "National figures", "national.html.j2"),
    Section("by_category", "What each category contributes", "categories.html.j2"),
    Section("by_owner_class", "By owner class", "owners.html.j2"),
    Section("", "Charts", "charts.html.j2"),
    Section("", f"Top {TOP_N} sites", "top_sites.html.j2"),
    Section("seed_claim_check", "The seed's claim, checked", "seed_claim.html.j2"),
    Section("sensitivity", "Sensitivity: one input at a time", "sensitivity.html.j2"),
    Section("projection", "Bitcoin a year across halvings", "projection.html.j2"),
    Section("assumptions", "Assumptions", "assumptions.html.j2"),
    Section("", "Sources and licences", "sources.html.j2"),
)
"""Sections in page order; those whose ``key`` is absent from estimates.json are left out."""

_HANDLED = {"scenario", "tool_version", "selection", "bands", "by_state", *(s.key for s in SECTIONS)}


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
        for scale, name in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= scale:
                return f"${x / scale:,.2f} {name}{suffix}"
        return f"${x:,.0f}{suffix}"
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


def national_rows(estimates: Mapping) -> list[dict]:
    """One row per national figure: words, value, band (p10..p90), unit, explanation, and a note
    when the base case lies outside its own band."""
    bands = estimates.get("bands", {}) or {}
    rows = []
    for key, value in (estimates.get("national", {}) or {}).items():
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


def _eligible(sites: pd.DataFrame) -> pd.Series:
    mineable = pd.to_numeric(sites.get("mineable_mw", 0.0), errors="coerce").fillna(0.0)
    excluded = sites["excluded"].astype(bool) if "excluded" in sites.columns else False
    return (~excluded) & (mineable > 0)


def category_rows(sites: pd.DataFrame, estimates: Mapping) -> list[dict]:
    """Every candidate category, in the fleet or not: sites found, excluded, eligible GW, what
    the fleet counts (GW, EH/s, BTC a year), and in words why a category adds 0 GW."""
    by_category = estimates.get("by_category", {}) or {}
    selection = estimates.get("selection", {}) or {}
    rule = selection.get("rule", "")
    eligible = _eligible(sites)
    mineable = pd.to_numeric(sites.get("mineable_mw", 0.0), errors="coerce").fillna(0.0)
    rows = []
    for cat in list(CATEGORIES) + [c for c in by_category if c not in CATEGORIES]:
        in_cat = (
            (sites["category"] == cat).to_numpy()
            if "category" in sites.columns
            else np.zeros(len(sites), bool)
        )
        found = int(in_cat.sum())
        n_excluded = int((in_cat & ~eligible.to_numpy()).sum())
        eligible_gw = float(mineable[in_cat & eligible.to_numpy()].sum()) / 1000.0
        fleet = by_category.get(cat) or {}
        gw = float(fleet.get("mineable_gw") or 0.0)
        why = ""
        if gw <= 0:
            if found == 0:
                why = "no candidate site in the data (see the sources and the scoring notes)"
            elif eligible_gw <= 0:
                reasons = (
                    sites.loc[in_cat, "exclusion_reason"].replace("", np.nan).dropna().value_counts()
                    if "exclusion_reason" in sites.columns
                    else pd.Series(dtype=int)
                )
                top = f": {reasons.index[0]} ({reasons.iloc[0]:,} sites)" if len(reasons) else ""
                why = f"every site excluded by scoring{top}"
            elif rule == "max_margin":
                why = (
                    f"{eligible_gw:,.1f} GW eligible, but none of it makes the margin-maximising fleet: "
                    "its sites score below the threshold or earn less than they cost once the fleet "
                    "dilutes itself"
                )
            elif rule == "target_gw":
                why = f"{eligible_gw:,.1f} GW eligible, but the target is reached with better-scoring sites first"
            else:
                why = f"{eligible_gw:,.1f} GW eligible, but no site scores at the threshold"
        rows.append(
            {
                "label": CATEGORY_LABELS.get(cat, cat),
                "found": f"{found:,}",
                "excluded": f"{n_excluded:,}",
                "eligible_gw": fmt(eligible_gw, "GW"),
                "sites": fmt(fleet.get("sites", 0), "count"),
                "gw": fmt(gw, "GW"),
                "ehs": fmt(fleet.get("hashrate_ehs"), "EH/s") if fleet else "0",
                "btc": fmt(fleet.get("btc_per_year"), "BTC/yr") if fleet else "0",
                "co2": fmt(fleet.get("co2_mt_per_year"), "Mt") if fleet else "0",
                "why": why,
            }
        )
    return rows


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
    "owner",
    "capacity_mw",
    "mineable_mw",
    "score",
    "p_top_n",
    "dist_tx_km",
    "tx_voltage_kv",
    "btc_per_year",
    "in_fleet",
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
                row.append(fmt(v, "count" if c.endswith("_mw") else column_unit(c)))
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


def sensitivity_rows(sensitivity: Sequence[Mapping]) -> list[dict]:
    """Sensitivity in words: input, range, BTC a year and margin at each end, swings."""
    rows = []
    for r in sorted(sensitivity, key=lambda r: -abs(float(r.get("swing_btc") or 0.0))):
        unit = "USD" if "usd" in str(r.get("input")) else ""
        rows.append(
            {
                "input": r.get("meaning") or r.get("input"),
                "key": r.get("input"),
                "range": f"{fmt(r.get('low'), unit)} – {fmt(r.get('high'), unit)}",
                "btc_low": fmt(r.get("btc_at_low"), "BTC/yr"),
                "btc_high": fmt(r.get("btc_at_high"), "BTC/yr"),
                "swing_btc": fmt(r.get("swing_btc"), "BTC/yr"),
                "swing_margin": fmt(r.get("swing_margin_usd"), "USD"),
            }
        )
    return rows


def projection_rows(projection: Sequence[Mapping]) -> list[dict]:
    """Projection in words: year, subsidy, halvings, network, issuance, fleet BTC."""
    return [
        {
            "year": fmt(p.get("year"), "year"),
            "subsidy": fmt(p.get("block_subsidy_btc"), "BTC/block"),
            "halving": "yes" if p.get("halvings_in_year") else "",
            "network": fmt(p.get("network_ehs"), "EH/s"),
            "share": fmt(p.get("share_of_network"), "share"),
            "issuance": fmt(p.get("issuance_btc"), "BTC"),
            "btc": fmt(p.get("btc"), "BTC"),
        }
        for p in projection
    ]


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


def selection_sentence(selection: Mapping) -> str:
    """One plain sentence on which sites the national figures add up."""
    rule, value = selection.get("rule"), selection.get("value")
    how = {
        "score_threshold": f"over the sites scoring at least {fmt(value)}",
        "target_gw": f"over the best sites until {fmt(value)} GW",
        "max_margin": f"over the sites scoring at least {fmt(value)}, cheapest energy first, as many as "
        "maximise the fleet's yearly margin after its own difficulty dilution",
    }.get(rule, f"by the rule {rule} {value}")
    return (
        f"The figures add up {how}: {fmt(selection.get('sites_selected'), 'count')} of "
        f"{fmt(selection.get('sites_considered'), 'count')} candidate sites "
        f"({fmt(selection.get('eligible_gw'), 'GW')} GW are eligible: not excluded, with mineable power)."
    )


def left_out(selection: Mapping) -> list[tuple[str, str]]:
    """(reason, sites) of the candidate sites the selection leaves out."""
    dropped = (selection.get("row_log") or {}).get("dropped") or {}
    return [(reason, f"{fmt(n, 'count')} site{'' if n == 1 else 's'}") for reason, n in dropped.items()]


# ----------------------------------------------------------------------------- page


def _img(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _charts(sites: pd.DataFrame, estimates: Mapping) -> list[dict]:
    excluded = (
        sites["excluded"].to_numpy(dtype=bool) if "excluded" in sites.columns else np.zeros(len(sites), bool)
    )
    national = estimates.get("national", {}) or {}
    items = [
        ("mineable GW by category", charts.gw_by_category(estimates.get("by_category", {}) or {})),
        ("mineable GW by state", charts.gw_by_state(estimates.get("by_state", {}) or {})),
        ("BTC a year across halvings", charts.btc_projection(estimates.get("projection", []) or [])),
        (
            "sensitivity of BTC a year",
            charts.sensitivity_tornado(
                estimates.get("sensitivity", []) or [], base=national.get("btc_per_year")
            ),
        ),
        ("score distribution", charts.score_distribution(sites["score"].to_numpy(dtype="float64"), excluded)),
    ]
    return [{"alt": alt, "src": _img(png), "width": charts.WIDTH_PX} for alt, png in items]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env


def build_report(
    *,
    sites: pd.DataFrame,
    estimates: Mapping,
    sources: Sequence[Mapping],
    vendored: Sequence[Mapping] = (),
    layer_notes: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The whole report page as an HTML string (no script, every value escaped)."""
    national = estimates.get("national", {}) or {}
    bands = estimates.get("bands", {}) or {}
    selection = estimates.get("selection", {}) or {}
    heads, top_rows = top_sites(sites)
    headline = [
        (FIGURES[k].label, _with_unit(national[k], FIGURES[k].unit), bands.get(k), FIGURES[k].unit)
        for k in ("mineable_gw", "hashrate_ehs", "btc_per_year", "share_of_network", "revenue_usd_per_year")
        if k in national
    ]
    headline = [
        {
            "label": label,
            "value": value,
            "band": f"P10–P90 {fmt(band['p10'], unit)} – {fmt(band['p90'], unit)}"
            if band and "p10" in band and "p90" in band
            else "",
        }
        for label, value, band, unit in headline
    ]
    context = {
        "scenario": str(estimates.get("scenario", "")),
        "version": str(estimates.get("tool_version", __version__)),
        "today": dt.date.today().isoformat(),
        "selection_sentence": selection_sentence(selection),
        "left_out": left_out(selection),
        "headline": headline,
        "national": national_rows(estimates),
        "outside_band": [r for r in national_rows(estimates) if r["outside"]],
        "categories": category_rows(sites, estimates),
        "owners": owner_rows(estimates),
        "charts": _charts(sites, estimates),
        "top_heads": heads,
        "top_rows": top_rows,
        "top_n": TOP_N,
        "seed": seed_claim(estimates.get("seed_claim_check", {}) or {}),
        "sensitivity": sensitivity_rows(estimates.get("sensitivity", []) or []),
        "projection": projection_rows(estimates.get("projection", []) or []),
        "assumptions": assumption_rows(estimates.get("assumptions", {}) or {}),
        "sources": source_rows(sources, layer_notes),
        "vendored": [
            {
                "package": str(v.get("package", "")),
                "version": str(v.get("version", "")),
                "from": str(v.get("tarball", "")),
                "licence": ", ".join(v.get("licence_files", []) or []),
            }
            for v in vendored
        ],
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
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def write_report(target: str | Path, **kwargs) -> Path:
    """Write :func:`build_report` output to ``target`` atomically."""
    return write_text(target, build_report(**kwargs))
