"""Report charts (matplotlib, Agg backend) rendered to PNG bytes, ready to inline as base64; the
score histogram is an SVG drawn by hand (:func:`score_distribution`).

Each function takes plain data from ``estimates.json`` / ``candidate_sites`` and returns the image;
empty input gives a chart that says "no data" instead of failing.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import textwrap
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gis.outputs.keep import kept_bytes, kept_folder
from gis.outputs.labels import CATEGORY_LABELS

__all__ = [
    "CHART_CACHE_FILES",
    "SCORE_BINS",
    "WIDTH_PX",
    "btc_projection",
    "cash_flow",
    "chart_cache_dir",
    "gw_by_category",
    "gw_by_group",
    "gw_by_state",
    "npv_tornado",
    "price_duration",
    "score_distribution",
    "sensitivity_tornado",
    "supply_curve",
]

WIDTH_PX = 1000
"""Width every chart is drawn at and shown at in the report (CSS px); drawn at twice the pixels
(:data:`_DPI` 200 for a figure :data:`_WIDTH_IN` wide) so it stays sharp on high-density screens."""
_WIDTH_IN = WIDTH_PX / 100
_DPI = 200

_PYPLOT_LOCK = threading.Lock()
_STYLED: list[bool] = []  # not empty once the backend and font sizes are set


def _pyplot() -> tuple[Any, Any]:
    """``matplotlib.pyplot`` (Agg backend, the report's font sizes) and ``matplotlib.ticker``,
    imported at the first chart drawn: ~1 s that a command drawing no chart (or finding every
    chart in the cache) does not pay."""
    with _PYPLOT_LOCK:
        import matplotlib

        if not _STYLED:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker as ticker

        if not _STYLED:
            plt.rcParams.update({"font.size": 11, "axes.titlesize": 13, "axes.labelsize": 11})
            _STYLED.append(True)
    return plt, ticker


CHART_CACHE_FILES = 256
"""Chart PNGs kept in the cache folder (:func:`chart_cache_dir`); the oldest go beyond this."""


def chart_cache_dir() -> Path:
    """``$GIS_CACHE_DIR/charts``: chart PNGs by the hash of their data (:func:`_cached`)."""
    return kept_folder("charts")


@functools.cache
def _code_key() -> bytes:
    """What else decides a chart's pixels: this module's code, the matplotlib version and any
    matplotlibrc that could restyle it (its path, size and time)."""
    from importlib.metadata import version

    parts = [Path(__file__).read_bytes(), version("matplotlib").encode()]
    home = Path.home() / ".config" / "matplotlib"
    for env in ("MATPLOTLIBRC", "MPLCONFIGDIR", "MPLBACKEND"):
        parts.append(f"{env}={os.environ.get(env, '')}".encode())
    for folder in (Path.cwd(), Path(os.environ.get("MATPLOTLIBRC") or "."), home):
        rc = folder / "matplotlibrc" if folder.is_dir() else folder
        if rc.is_file():
            st = rc.stat()
            parts.append(f"{rc}:{st.st_size}:{st.st_mtime_ns}".encode())
    return hashlib.sha256(b"\0".join(parts)).digest()


def _cached(draw: Callable[..., bytes]) -> Callable[..., bytes]:
    """Keep ``draw``'s PNG by the hash of its arguments (and :func:`_code_key`): in this process
    and in :func:`chart_cache_dir` (:func:`gis.outputs.keep.kept_bytes`), so a chart whose data did
    not change (the price curves after a change of scoring weights) is not drawn again. The bytes
    are the ones drawing gives."""

    @functools.wraps(draw)
    def chart(*args: object, **kwargs: object) -> bytes:
        try:
            blob = pickle.dumps((draw.__qualname__, args, sorted(kwargs.items())), protocol=4)
        except (pickle.PicklingError, TypeError, AttributeError):
            return draw(*args, **kwargs)
        key = hashlib.sha256(_code_key() + blob).hexdigest()
        return kept_bytes(
            "charts", key, lambda: draw(*args, **kwargs), suffix=".png", files=CHART_CACHE_FILES
        )

    return chart


def _png(fig, *, laid_out: bool = False) -> bytes:
    plt, _ = _pyplot()
    buf = io.BytesIO()
    if not laid_out:
        fig.tight_layout()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _empty(title: str) -> bytes:
    plt, _ = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 1.6))
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="#777777")
    return _png(fig)


@_cached
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
    plt, _ = _pyplot()
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


@_cached
def btc_projection(projection: Sequence[Mapping]) -> bytes:
    """BTC a year across halvings (bars) with the block subsidy (step line, right axis)."""
    if not projection:
        return _empty("BTC a year across halvings")
    years = np.array([int(p["year"]) for p in projection])
    btc = np.array([float(p.get("btc") or 0.0) for p in projection])
    subsidy = np.array([float(p.get("block_subsidy_btc") or 0.0) for p in projection])
    plt, ticker = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 3.6))
    ax.bar(years, btc, color="#f7931a")
    ax.set_ylabel("BTC a year (fleet)")
    ax.set_title("BTC a year across halvings")
    ax.set_xticks(years)
    twin = ax.twinx()
    ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
    twin.step(years, subsidy, where="mid", color="#444444")
    twin.set_ylabel("block subsidy (BTC)")
    twin.set_ylim(0, max(subsidy.max(), 0.1) * 1.2)
    return _png(fig)


def _short(value: float) -> str:
    x = float(value)
    if abs(x) >= 1000:
        return f"{x / 1000:,.1f}k" if abs(x) < 1e6 else f"{x / 1e6:,.1f}M"
    return f"{x:g}"


@_cached
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
        f"{r['input']}: {_short(r['low'])} to {_short(r['high'])}"
        for r in rows
    ][::-1]
    centre = float(base) if base is not None else float(np.median(np.r_[lows, highs]))
    plt, ticker = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 1.2 + 0.62 * len(rows)))
    ax.barh(names, lows - centre, left=centre, color="#de2d26", label="input at its low value")
    ax.barh(names, highs - centre, left=centre, color="#3182bd", label="input at its high value")
    ax.axvline(centre, color="#333333", lw=0.8)
    ax.xaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
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
    return _png(fig, laid_out=bool(still))


SCORE_BINS = 20
"""Bins of the score histogram (0.05 of score each)."""


def _nice_step(top: float, ticks: int = 5) -> float:
    """A tick step of 1, 2 or 5 times a power of ten giving about ``ticks`` steps up to ``top``.

    >>> _nice_step(7), _nice_step(1234), _nice_step(0.5)
    (2.0, 500.0, 0.1)
    """
    raw = max(top, 1e-12) / ticks
    power = 10.0 ** np.floor(np.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if raw <= m * power:
            return float(round(m * power, 12))
    return float(10.0 * power)


def _svg_text(x: float, y: float, text: str, size: int = 11, anchor: str = "middle", extra: str = "") -> str:
    from xml.sax.saxutils import escape

    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _svg_frame(x, y, box: tuple[float, ...], step: float, y_max: float, title: str) -> list[str]:
    """The histogram's frame, ticks, labels, title and legend (SVG elements); ``x`` and ``y`` map
    a score and a count to pixels, ``box`` is (left, top, plot width, plot height, image height)."""
    left, top, plot_w, plot_h, height = box
    parts: list[str] = []
    axis = 'stroke="#000000" stroke-width="1"'
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" {axis}/>')
    for v in np.linspace(0.0, 1.0, 6):  # x ticks every 0.2
        parts.append(
            f'<line x1="{x(v):.1f}" y1="{top + plot_h}" x2="{x(v):.1f}" y2="{top + plot_h + 4}" {axis}/>'
        )
        parts.append(_svg_text(x(v), top + plot_h + 17, f"{v:.1f}"))
    for v in np.arange(0.0, y_max + step / 2, step):  # y ticks
        parts.append(f'<line x1="{left - 4}" y1="{y(v):.1f}" x2="{left}" y2="{y(v):.1f}" {axis}/>')
        parts.append(_svg_text(left - 7, y(v) + 4, f"{v:,.0f}", anchor="end"))
    parts.append(_svg_text(left + plot_w / 2, height - 10, "score (0..1)"))
    parts.append(
        _svg_text(16, top + plot_h / 2, "sites", extra=f' transform="rotate(-90 16 {top + plot_h / 2:.1f})"')
    )
    parts.append(_svg_text(left + plot_w / 2, 24, title, size=13))
    lx, ly = left + plot_w - 118, top + 10  # legend, top right
    parts.append(f'<rect x="{lx}" y="{ly}" width="110" height="46" fill="#ffffff" stroke="#cccccc"/>')
    for k, (label, colour) in enumerate((("candidate", "#41ab5d"), ("excluded", "#bdbdbd"))):
        parts.append(f'<rect x="{lx + 8}" y="{ly + 8 + 18 * k}" width="22" height="11" fill="{colour}"/>')
        parts.append(_svg_text(lx + 38, ly + 18 + 18 * k, label, size=10, anchor="start"))
    return parts


@_cached
def score_distribution(scores: np.ndarray, excluded: np.ndarray) -> bytes:
    """Histogram of site scores in :data:`SCORE_BINS` bins of equal width over 0..1, excluded
    sites stacked in grey above the candidates; an SVG image :data:`WIDTH_PX` wide.

    Drawn by hand rather than with matplotlib: it is the one chart a change of weights redraws,
    and twenty stacked bars do not need the ~1 s of importing matplotlib. The counts are
    :func:`numpy.histogram`'s (a score of exactly 1 falls in the last bin); sites without a finite
    score are counted in the title, not drawn.
    """
    scores = np.asarray(scores, dtype="float64")
    excluded = np.asarray(excluded, dtype=bool)
    finite = np.isfinite(scores)
    edges = np.linspace(0.0, 1.0, SCORE_BINS + 1)
    kept = np.histogram(scores[finite & ~excluded], bins=edges)[0]
    out = np.histogram(scores[finite & excluded], bins=edges)[0]
    width, height = WIDTH_PX, 320
    left, right, top, bottom = 70.0, 20.0, 42.0, 48.0
    plot_w, plot_h = width - left - right, height - top - bottom
    total = kept + out
    step = _nice_step(float(max(total.max(initial=0), 1)))
    y_max = step * np.ceil(max(float(total.max(initial=0)), 1.0) / step)

    def x(v: float) -> float:
        return left + v * plot_w

    def y(v: float) -> float:
        return top + plot_h - v / y_max * plot_h

    title = "Score distribution"
    missing = int((~finite).sum())
    if missing:
        title += f" ({missing:,} site{'s' if missing != 1 else ''} without a score, not shown)"
    if scores.size == 0:
        title += ": no sites"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for i in range(SCORE_BINS):  # bars: candidates, then the excluded above them
        x0, x1 = x(edges[i]), x(edges[i + 1])
        for base, count, colour in ((0, kept[i], "#41ab5d"), (kept[i], out[i], "#bdbdbd")):
            if count > 0:
                y0, y1 = y(base + count), y(base)
                parts.append(
                    f'<rect x="{x0:.2f}" y="{y0:.2f}" width="{x1 - x0:.2f}" height="{y1 - y0:.2f}" '
                    f'fill="{colour}" shape-rendering="crispEdges"><title>{edges[i]:.2f}-{edges[i + 1]:.2f}: {count:,}</title></rect>'
                )
    parts += _svg_frame(x, y, (left, top, plot_w, plot_h, height), step, y_max, title)
    parts.append("</svg>")
    return "\n".join(parts).encode("utf-8")


@_cached
def supply_curve(rows: Sequence[Mapping], *, wasted_gw: float = 0.0, wasted_btc: float = 0.0) -> bytes:
    """The bought ledger against the price cap a fleet accepts for bought energy (USD/MWh):
    average GW and BTC a year, with the wasted ledger at the central inputs as a dashed line
    beside it (wasted energy costs nothing, so it does not depend on the cap)."""
    if not rows:
        return _empty("Supply curve: energy bought vs price cap")
    cap = np.array([float(r.get("price_cap_usd_mwh") or 0.0) for r in rows])
    gw = np.array([float(r.get("bought_gw_average") or 0.0) for r in rows])
    btc = np.array([float(r.get("bought_btc_per_year") or 0.0) for r in rows])
    ehs = np.array([float(r.get("bought_ehs") or 0.0) for r in rows])
    revenue = float(rows[0].get("revenue_usd_mwh_year_one") or np.nan)
    plt, ticker = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(_WIDTH_IN, 3.8))
    a1.plot(cap, gw, marker="o", color="#3182bd", label="bought ledger (average GW)")
    a1.axhline(wasted_gw, color="#e6550d", ls="--", label=f"wasted ledger, central: {wasted_gw:,.2f} GW")
    a1.set_xlabel("price cap for bought energy (USD/MWh)")
    a1.set_ylabel("average GW mined")
    a1.set_title("Power mined vs price cap")
    a1.annotate(
        f"{ehs[-1]:,.0f} EH/s",
        (cap[-1], gw[-1]),
        textcoords="offset points",
        xytext=(-4, -14),
        fontsize=9,
        ha="right",
    )
    a2.plot(cap, btc, marker="o", color="#f7931a", label="bought ledger")
    a2.axhline(wasted_btc, color="#e6550d", ls="--", label=f"wasted ledger, central: {wasted_btc:,.0f}")
    a2.set_xlabel("price cap for bought energy (USD/MWh)")
    a2.set_ylabel("BTC a year")
    a2.set_title("Bitcoin a year vs price cap")
    a2.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
    for ax in (a1, a2):
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        if np.isfinite(revenue):
            ax.axvline(
                revenue, color="#777", lw=0.8, ls=":", label=f"year-one revenue {revenue:,.0f} USD/MWh"
            )
        ax.legend(fontsize=9, loc="lower right")
        ax.grid(alpha=0.3)
    return _png(fig)


@_cached
def cash_flow(projection: Sequence[Mapping], *, capex_usd: float = 0.0) -> bytes:
    """Multi-year cash flow of the fleet: yearly margin (bars) and cumulative cash (line, USD M),
    which starts at minus the capex and pays back where it crosses 0; halvings marked. Beside it
    the revenue one MWh earns each year (USD/MWh), which decides whether any fleet is built."""
    if not projection:
        return _empty("Cash flow over the machines' life")
    years = np.array([int(p["year"]) for p in projection])
    margin = np.array([float(p.get("margin_usd") or 0.0) for p in projection]) / 1e6
    cum = np.array([float(p.get("cumulative_cash_usd") or 0.0) for p in projection]) / 1e6
    rev = np.array([float(p.get("revenue_usd_per_mwh") or 0.0) for p in projection])
    halvings = [int(p["year"]) for p in projection if p.get("halvings_in_year")]
    plt, ticker = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(_WIDTH_IN, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    a1.set_title("Fleet cash flow (USD M)")
    a1.set_xticks(years)
    a1.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    if not np.any(margin) and not np.any(cum) and not capex_usd:
        a1.text(
            0.5,
            0.5,
            "no fleet at the central inputs:\nnothing is built, so there is no cash flow",
            ha="center",
            va="center",
            transform=a1.transAxes,
            color="#555",
        )
        a1.set_yticks([])
    else:
        a1.bar(years, margin, color="#74c476", label="margin of the year")
        a1.plot(
            np.r_[years[0] - 0.5, years],
            np.r_[-capex_usd / 1e6, cum],
            marker="o",
            color="#08519c",
            label="cumulative cash (starts at minus the capex)",
        )
        a1.axhline(0, color="#de2d26", ls="--", lw=1, label="capex repaid above this line")
        a1.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        a1.legend(fontsize=9, loc="lower right")
    a2.plot(years, rev, marker="o", color="#f7931a")
    a2.set_title("Revenue one MWh earns (USD/MWh)")
    a2.set_xticks(years)
    a2.set_ylim(0, max(rev.max() * 1.15, 1.0))
    for ax in (a1, a2):
        for h in halvings:
            ax.axvline(h, color="#999", ls=":", lw=1)
            ax.text(h, ax.get_ylim()[1], " halving", fontsize=8, va="top", color="#555")
        ax.grid(alpha=0.3, axis="y")
    return _png(fig)


@_cached
def price_duration(curves: Mapping[str, np.ndarray], *, year: int | str = "") -> bytes:
    """Price-duration curves: per hub, its hourly prices sorted high to low against the share of
    the year (x); the legend gives the hours at or below 0 USD/MWh. Prices are clipped to
    -50..250 USD/MWh for legibility (the clipped tails are counted, not hidden)."""
    if not curves:
        return _empty("Price-duration curves")
    plt, _ = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH_IN, 4.2))
    colours = plt.get_cmap("tab10")
    for i, (label, prices) in enumerate(curves.items()):
        p = np.sort(np.asarray(prices, dtype="float64"))[::-1]
        if p.size == 0:
            continue
        x = np.arange(p.size) / p.size * 100.0
        le0 = int((p <= 0).sum())
        ax.plot(
            x, np.clip(p, -50, 250), color=colours(i % 10), lw=1.4, label=f"{label}: {le0:,} h at or below 0"
        )
    ax.axhline(0, color="#333", lw=0.8)
    ax.set_ylim(-50, 250)
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the hours with prices (%), highest price first")
    ax.set_ylabel("hub price (USD/MWh, clipped to -50..250)")
    ax.set_title(f"Price-duration curves, real-time hub prices {year}".strip())
    ax.legend(fontsize=8.5, loc="upper right", ncol=2)
    ax.grid(alpha=0.3)
    return _png(fig)


@_cached
def npv_tornado(sensitivity: Sequence[Mapping]) -> bytes:
    """Tornado of the fleet's NPV (USD M, left) and installed GW (right) with each input at its
    low and high value, the rest central; largest NPV swing on top."""
    rows = [r for r in sensitivity if "npv_usd_at_low" in r or "installed_gw_at_low" in r]
    if not rows:
        return _empty("Sensitivity of NPV and installed GW")
    rows = sorted(rows, key=lambda r: (-abs(float(r.get("swing_npv_usd") or 0.0)), str(r.get("input"))))[::-1]
    names = [
        f"{textwrap.shorten(str(r.get('meaning') or r['input']), 58, placeholder=' ...')}\n"
        f"{_short(r['low'])} to {_short(r['high'])}"
        for r in rows
    ]
    plt, ticker = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(_WIDTH_IN, 1.4 + 0.6 * len(rows)), sharey=True)
    y = np.arange(len(rows))
    for ax, key, scale, unit in (
        (a1, "npv_usd", 1e6, "NPV (USD M)"),
        (a2, "installed_gw", 1.0, "installed GW"),
    ):
        lo = np.array([float(r.get(f"{key}_at_low") or 0.0) for r in rows]) / scale
        hi = np.array([float(r.get(f"{key}_at_high") or 0.0) for r in rows]) / scale
        ax.barh(y - 0.2, lo, height=0.4, color="#de2d26", label="input at its low value")
        ax.barh(y + 0.2, hi, height=0.4, color="#3182bd", label="input at its high value")
        ax.axvline(0, color="#333", lw=0.8)
        ax.set_xlabel(unit)
        ax.xaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}" if scale > 1 else "{x:,.1f}"))
        ax.grid(alpha=0.3, axis="x")
    a1.set_yticks(y)
    a1.set_yticklabels(names, fontsize=9)
    a1.set_title("Fleet NPV, one input at a time")
    a2.set_title("Installed GW, one input at a time")
    a2.legend(fontsize=9, loc="lower right")
    return _png(fig)
