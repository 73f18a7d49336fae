"""Report charts (matplotlib, Agg backend) rendered to PNG bytes, ready to inline as base64.

Each function takes plain data from ``estimates.json`` / ``candidate_sites`` and returns the PNG;
empty input gives a chart that says "no data" instead of failing.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from gis.outputs.labels import CATEGORY_LABELS

__all__ = [
    "WIDTH_PX",
    "btc_projection",
    "gw_by_category",
    "gw_by_group",
    "gw_by_state",
    "score_distribution",
    "sensitivity_tornado",
]

WIDTH_PX = 1000
"""Width every chart is drawn at and shown at in the report (CSS px); drawn at twice the pixels
(:data:`_DPI` 200 for a figure :data:`_WIDTH_IN` wide) so it stays sharp on high-density screens."""
_WIDTH_IN = WIDTH_PX / 100
_DPI = 200

plt.rcParams.update({"font.size": 11, "axes.titlesize": 13, "axes.labelsize": 11})


def _png(fig) -> bytes:
    buf = io.BytesIO()
    if not getattr(fig, "_gis_laid_out", False):
        fig.tight_layout()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _empty(title: str) -> bytes:
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 1.6))
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
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 1.0 + 0.3 * len(items)))
    ax.barh(names, values, color="#2b8cbe")
    ax.set_xlabel("mineable GW")
    ax.set_title(title)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:,.2f}", va="center", fontsize=10)
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
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 3.6))
    ax.bar(years, btc, color="#f7931a")
    ax.set_ylabel("BTC a year (fleet)")
    ax.set_title("BTC a year across halvings")
    ax.set_xticks(years)
    twin = ax.twinx()
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    twin.step(years, subsidy, where="mid", color="#444444")
    twin.set_ylabel("block subsidy (BTC)")
    twin.set_ylim(0, max(subsidy.max(), 0.1) * 1.2)
    return _png(fig)


def _short(value: object) -> str:
    x = float(value)
    if abs(x) >= 1000:
        return f"{x / 1000:,.1f}k" if abs(x) < 1e6 else f"{x / 1e6:,.1f}M"
    return f"{x:g}"


def sensitivity_tornado(sensitivity: Sequence[Mapping], *, base: float | None = None) -> bytes:
    """Tornado of BTC a year at each input's low and high value around the base case, largest
    swing on top; inputs that do not move BTC a year are named under the chart, not drawn."""
    moving = [r for r in sensitivity if abs(float(r.get("swing_btc") or 0.0)) > 1e-9]
    still = [str(r.get("meaning") or r.get("input")) for r in sensitivity if r not in moving]
    rows = sorted(moving, key=lambda r: -abs(float(r.get("swing_btc") or 0.0)))
    if not rows:
        return _empty("Sensitivity of BTC a year")
    lows = np.array([float(r.get("btc_at_low") or 0.0) for r in rows])[::-1]
    highs = np.array([float(r.get("btc_at_high") or 0.0) for r in rows])[::-1]
    names = [
        f"{textwrap.shorten(str(r.get('meaning') or r['input']), 46, placeholder=' ...')}\n"
        f"{r['input']}: {_short(r.get('low'))} to {_short(r.get('high'))}"
        for r in rows
    ][::-1]
    centre = float(base) if base is not None else float(np.median(np.r_[lows, highs]))
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 1.2 + 0.62 * len(rows)))
    ax.barh(names, lows - centre, left=centre, color="#de2d26", label="input at its low value")
    ax.barh(names, highs - centre, left=centre, color="#3182bd", label="input at its high value")
    ax.axvline(centre, color="#333333", lw=0.8)
    ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("BTC a year (line: base case)")
    ax.set_title("Sensitivity of BTC a year (one input at a time)")
    ax.legend(fontsize=10, loc="lower left")  # the smallest swing is at the bottom: room on its left
    if still:
        fig.text(
            0.01,
            0.005,
            "No effect on BTC a year (margin only): " + "; ".join(still),
            fontsize=10,
            color="#555",
        )
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        fig._gis_laid_out = True
    return _png(fig)


def score_distribution(scores: np.ndarray, excluded: np.ndarray) -> bytes:
    """Histogram of site scores, excluded sites stacked in grey."""
    scores = np.asarray(scores, dtype="float64")
    excluded = np.asarray(excluded, dtype=bool)
    if scores.size == 0:
        return _empty("Score distribution")
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 3.2))
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
    ax.legend(fontsize=10)
    return _png(fig)
