"""The static report (``report.html``): national figures with bands, charts, top sites, the seed's
claim checked, assumptions, sources and licences — one self-contained file, no script, no network.

Every text value is HTML-escaped; charts are PNGs inlined as ``data:`` URIs.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gis import __version__
from gis.io import write_text
from gis.outputs import charts
from gis.outputs.labels import CATEGORY_LABELS, header

TOP_N = 25

NATIONAL_UNITS = {
    "sites": "",
    "mineable_gw": "GW",
    "it_gw": "GW",
    "machines": "",
    "hashrate_ehs": "EH/s",
    "network_ehs": "EH/s",
    "share_of_network": "%",
    "btc_per_year": "BTC/yr",
    "btc_per_day": "BTC/day",
    "revenue_usd_per_year": "USD/yr",
    "energy_cost_usd_per_year": "USD/yr",
    "asic_capex_usd": "USD",
    "site_capex_usd": "USD",
    "payback_years": "years",
    "hashprice_usd_per_ph_day": "USD/PH/day",
    "co2_mt_per_year": "Mt CO2/yr",
    "co2_avoided_mt_per_year": "Mt CO2/yr",
    "share_of_remaining_supply_per_year": "%",
    "over_half_network": "",
}
"""Units of the ``national`` figures; ``%`` marks 0..1 shares shown as percentages."""

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
    "confidence",
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: object, *, percent: bool = False) -> str:
    """A number for people: thousands separators, sensible decimals; text escaped; None -> n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer) and not percent:
        return f"{int(value):,}"
    if isinstance(value, int | float | np.integer | np.floating):
        x = float(value)
        if not np.isfinite(x):
            return "n/a"
        if percent:
            return f"{100 * x:,.2f} %"
        if x != 0 and abs(x) < 0.01:
            return f"{x:.3g}"
        digits = 0 if abs(x) >= 1000 else (2 if abs(x) < 100 else 1)
        return f"{x:,.{digits}f}"
    return _e(value)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<figure><img alt='{_e(alt)}' src='data:image/png;base64,{data}'></figure>"


def generic_table(value: object, *, key: str = "") -> str:
    """Any JSON-like value as escaped HTML: dicts as key/value tables, lists of dicts as tables."""
    if isinstance(value, Mapping):
        rows = "".join(
            f"<tr><th>{_e(k)}</th><td>{generic_table(v, key=k)}</td></tr>" for k, v in value.items()
        )
        return f"<table class='kv'>{rows}</table>"
    if isinstance(value, Sequence) and not isinstance(value, str):
        if value and all(isinstance(v, Mapping) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{_e(k)}</th>" for k in keys)
            body = "".join(
                "<tr>" + "".join(f"<td>{generic_table(v.get(k), key=k)}</td>" for k in keys) + "</tr>"
                for v in value
            )
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return ", ".join(generic_table(v, key=key) for v in value)
    if key == "year" and isinstance(value, int | float) and float(value).is_integer():
        return str(int(value))
    return fmt(value)


def national_table(estimates: Mapping) -> str:
    """National figures with units and their p10 / p50 / p90 bands where the estimates give them."""
    national = estimates.get("national", {})
    bands = estimates.get("bands", {})
    rows = []
    for key, value in national.items():
        unit = NATIONAL_UNITS.get(key, "")
        percent = unit == "%"
        band = bands.get(key) or {}
        cells = "".join(
            f"<td>{fmt(band.get(q), percent=percent)}</td>" if band else "<td></td>"
            for q in ("p10", "p50", "p90")
        )
        rows.append(
            f"<tr><th>{_e(key)}</th><td class='num'>{fmt(value, percent=percent)}</td>"
            f"<td>{_e('' if percent else unit)}</td>{cells}</tr>"
        )
    head = "<tr><th>figure</th><th>value</th><th>unit</th><th>p10</th><th>p50</th><th>p90</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def top_sites_table(sites: pd.DataFrame, *, n: int = TOP_N) -> str:
    """The ``n`` best candidate sites (not excluded), escaped."""
    kept = sites.loc[~sites["excluded"].astype(bool)] if "excluded" in sites.columns else sites
    top = kept.sort_values(["rank", "site_id"], kind="stable").head(n)
    cols = [c for c in TOP_COLUMNS if c in top.columns]
    frame = top[cols].assign(category=top["category"].map(CATEGORY_LABELS).fillna(top["category"]))
    head = "".join(f"<th>{_e(header(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def sources_table(sources: Sequence[Mapping]) -> str:
    """Sources and licences (from the ``sources`` metadata of layers.gpkg)."""
    if not sources:
        return "<p>No source list was found in layers.gpkg.</p>"
    keys = ("source", "title", "publisher", "licence", "vintage", "homepage", "origin")
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{_e(s.get(k, ''))}</td>" for k in keys) + "</tr>" for s in sources)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body { font: 14px/1.45 -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px auto;
  max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 24px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
thead th { background: #f3f3f3; } td.num { text-align: right; }
table.kv { border: none; margin: 0; } table.kv th { background: #fafafa; }
figure { margin: 8px 0; } img { max-width: 100%; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.note { color: #555; }
"""


def selection_sentence(selection: Mapping) -> str:
    """One plain sentence on which sites the national figures add up, and what was left out."""
    rule, value = selection.get("rule"), selection.get("value")
    how = {
        "score_threshold": f"over the sites scoring at least {fmt(value)}",
        "target_gw": f"over the best sites until {fmt(value)} GW",
        "max_margin": f"over the sites scoring at least {fmt(value)}, cheapest energy first, as many as "
        "maximise the fleet's yearly margin after its own difficulty dilution",
    }.get(rule, f"{rule} {value}")
    text = (
        f"The figures add up {how}: {fmt(selection.get('sites_selected'))} of "
        f"{fmt(selection.get('sites_considered'))} candidate sites "
        f"({fmt(selection.get('eligible_gw'))} GW are eligible: not excluded, with mineable power)."
    )
    dropped = (selection.get("row_log") or {}).get("dropped") or {}
    if dropped:
        text += " Left out: " + "; ".join(f"{reason} {fmt(n)}" for reason, n in dropped.items()) + "."
    return text


def build_report(
    *, sites: pd.DataFrame, estimates: Mapping, sources: Sequence[Mapping], vendored: Sequence[Mapping] = ()
) -> str:
    """The whole report page as an HTML string (no script, every value escaped)."""
    national = estimates.get("national", {})
    scenario = estimates.get("scenario", "")
    selection = estimates.get("selection", {})
    excluded = (
        sites["excluded"].to_numpy(dtype=bool) if "excluded" in sites.columns else np.zeros(len(sites), bool)
    )
    figures = [
        _img(charts.gw_by_category(estimates.get("by_category", {})), "mineable GW by category"),
        _img(charts.gw_by_state(estimates.get("by_state", {})), "mineable GW by state"),
        _img(charts.btc_projection(estimates.get("projection", [])), "BTC a year across halvings"),
        _img(charts.sensitivity_tornado(estimates.get("sensitivity", [])), "sensitivity tornado"),
        _img(
            charts.score_distribution(sites["score"].to_numpy(dtype="float64"), excluded),
            "score distribution",
        ),
    ]
    headline = (
        f"{fmt(national.get('mineable_gw'))} GW of mineable power at {fmt(national.get('sites'))} sites: "
        f"{fmt(national.get('hashrate_ehs'))} EH/s, {fmt(national.get('btc_per_year'))} BTC a year, "
        f"{fmt(national.get('share_of_network'), percent=True)} of the network."
    )
    vendored_html = (
        "<h3>Map libraries (inlined into offline maps)</h3>" + generic_table(list(vendored))
        if vendored
        else ""
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>Bitcoin mining on owned or wasted US energy — {_e(scenario)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Bitcoin mining on energy the United States owns or wastes</h1>",
        f"<p>Scenario <b>{_e(scenario)}</b>, gis-btc-sites {_e(estimates.get('tool_version', __version__))}. "
        f"{_e(selection_sentence(selection))}</p>",
        f"<p><b>{headline}</b></p>",
        "<h2>National figures</h2>",
        "<p class='note'>p10 / p50 / p90: spread over the scenario's uncertain inputs.</p>",
        national_table(estimates),
        "<h2>Charts</h2><div class='grid'>" + "".join(figures) + "</div>",
        "<h2>By category</h2>"
        + generic_table(
            [
                {"category": CATEGORY_LABELS.get(k, k), **v}
                for k, v in estimates.get("by_category", {}).items()
            ]
        ),
        "<h2>By owner class</h2>"
        + generic_table([{"owner_class": k, **v} for k, v in estimates.get("by_owner_class", {}).items()]),
        f"<h2>Top {TOP_N} sites</h2>",
        top_sites_table(sites),
        "<h2>The seed's claim, checked against the calculator</h2>",
        generic_table(estimates.get("seed_claim_check", {})),
        "<h2>Sensitivity</h2>" + generic_table(estimates.get("sensitivity", [])),
        "<h2>BTC a year across halvings</h2>" + generic_table(estimates.get("projection", [])),
        "<h2>Assumptions</h2>",
        generic_table(estimates.get("assumptions", {})),
        "<h2>Sources and licences</h2>",
        sources_table(sources),
        vendored_html,
        "</body></html>",
    ]
    return "\n".join(parts)


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
