"""Report charts (matplotlib, Agg backend) rendered to PNG bytes, ready to inline as base64.

Each function takes plain data from ``estimates.json`` / ``candidate_sites`` and returns the PNG;
empty input gives a chart that says "no data" instead of failing.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from gis.outputs.labels import CATEGORY_LABELS

_DPI = 100


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _empty(title: str) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 2))
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="#777777")
    return _png(fig)


def gw_by_group(groups: Mapping[str, Mapping], *, title: str, top: int | None = None, labels=None) -> bytes:
    """Horizontal bars of mineable GW per group (category, state ...), largest first."""
    items = sorted(
        ((k, float(v.get("mineable_gw") or 0.0)) for k, v in groups.items()), key=lambda kv: (-kv[1], kv[0])
    )
    if top is not None:
        items = items[:top]
    if not items:
        return _empty(title)
    names = [(labels or {}).get(k, k) for k, _ in items][::-1]
    values = [v for _, v in items][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.32 * len(items)))
    ax.barh(names, values, color="#2b8cbe")
    ax.set_xlabel("mineable GW")
    ax.set_title(title)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:,.2f}", va="center", fontsize=8)
    ax.margins(x=0.15)
    return _png(fig)


def gw_by_category(by_category: Mapping[str, Mapping]) -> bytes:
    """Mineable GW per candidate category."""
    return gw_by_group(by_category, title="Mineable GW by category", labels=CATEGORY_LABELS)


def gw_by_state(by_state: Mapping[str, Mapping], *, top: int = 20) -> bytes:
    """Mineable GW of the ``top`` states."""
    return gw_by_group(by_state, title=f"Mineable GW by state (top {top})", top=top)


def btc_projection(projection: Sequence[Mapping]) -> bytes:
    """BTC a year across halvings (bars) with the block subsidy (step line, right axis)."""
    if not projection:
        return _empty("BTC a year across halvings")
    years = np.array([int(p["year"]) for p in projection])
    btc = np.array([float(p.get("btc") or 0.0) for p in projection])
    subsidy = np.array([float(p.get("block_subsidy_btc") or 0.0) for p in projection])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(years, btc, color="#f7931a")
    ax.set_ylabel("BTC a year (fleet)")
    ax.set_title("BTC a year across halvings")
    ax.set_xticks(years)
    twin = ax.twinx()
    twin.step(years, subsidy, where="mid", color="#444444")
    twin.set_ylabel("block subsidy (BTC)")
    twin.set_ylim(0, max(subsidy.max(), 0.1) * 1.2)
    return _png(fig)


def sensitivity_tornado(sensitivity: Sequence[Mapping]) -> bytes:
    """Tornado of BTC a year at each input's low and high value, largest swing on top."""
    rows = sorted(sensitivity, key=lambda r: -abs(float(r.get("swing_btc") or 0.0)))
    if not rows:
        return _empty("Sensitivity of BTC a year")
    lows = np.array([float(r.get("btc_at_low") or 0.0) for r in rows])[::-1]
    highs = np.array([float(r.get("btc_at_high") or 0.0) for r in rows])[::-1]
    names = [f"{r['input']} ({r.get('low')} – {r.get('high')})" for r in rows][::-1]
    centre = float(np.median(np.r_[lows, highs]))
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.4 * len(rows)))
    ax.barh(names, lows - centre, left=centre, color="#de2d26", label="at low value")
    ax.barh(names, highs - centre, left=centre, color="#3182bd", label="at high value")
    ax.axvline(centre, color="#333333", lw=0.8)
    ax.set_xlabel("BTC a year")
    ax.set_title("Sensitivity of BTC a year (one input at a time)")
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def score_distribution(scores: np.ndarray, excluded: np.ndarray) -> bytes:
    """Histogram of site scores, excluded sites stacked in grey."""
    scores = np.asarray(scores, dtype="float64")
    excluded = np.asarray(excluded, dtype=bool)
    if scores.size == 0:
        return _empty("Score distribution")
    fig, ax = plt.subplots(figsize=(7, 3))
    bins = np.linspace(0, 1, 21)
    ax.hist(
        [scores[~excluded], scores[excluded]],
        bins=bins,
        stacked=True,
        color=["#41ab5d", "#bdbdbd"],
        label=["candidate", "excluded"],
    )
    ax.set_xlabel("score (0..1)")
    ax.set_ylabel("sites")
    ax.set_title("Score distribution")
    ax.legend(fontsize=8)
    return _png(fig)
