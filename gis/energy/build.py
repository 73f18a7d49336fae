"""Which energy is really spare at each candidate site, in which hours, at what price.

Surplus is energy in time, not capacity. For every site this module finds, hour by hour over
the reference year (``[energy] reference_year``), the MW of *wasted* energy a miner could take
and the price at which it could *buy* grid energy instead, from real market data (EIA's
Wholesale Electricity Market Portal hub prices and fuel mix; CAISO's daily curtailment)::

    flare_gas        wasted_mw = gas-to-power MW (VIIRS bcm/yr x MJ/m3 x genset eff.), every hour
    stranded_solar   curtailed MWh of the plant's market, allocated by MW, placed in the hours it
                     happens: CAISO by its daily series spread over daylight at the plant
                     (cos zenith, pvlib); ERCOT/SPP/MISO in the node's hours at or below
                     surplus_price_usd_mwh while the sun is up
    stranded_wind    the same, CAISO's daily wind spread over the day, elsewhere over the
                     node's hours at or below the surplus price
    nuclear_surplus  wasted_mw = nameplate x flexible_share, only in hours the node's price is
                     at or below the surplus price (no market evidence, no surplus)
    federal_hydro    wasted_mw = nameplate x wettest-year capacity factor x flexible_share, only
                     in those hours (spill: high water and no buyer; a dry dam has less to spill)
    retired_coal     no wasted energy: the asset is the interconnection, energy is bought at the
                     node's hourly price (ledger "bought")
    military_backup  gensets for at most military_engine_hours a year at diesel cost (ledger
                     "bought"); military-operated power plants buy at their node

Regions without hourly prices in the data (Northwest/BPA, Desert Southwest, Rockies,
Southeast/TVA, New York/New England) get a named neighbouring hub as a *proxy* buy price (low
confidence); by default a proxy never creates wasted energy. Sites no rule places (islands,
offshore) buy, if at all, at the flat ``fallback_price_usd_mwh``.

Outputs a :class:`gis.energy.profiles.SurplusProfiles` (the hourly arrays, shared per node and
per shape, that the fleet economics dispatches on) and a per-site summary table
(:data:`SUMMARY_COLUMNS`) for ``candidate_sites``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gis.config.energy import CategoryEnergy, EnergyConfig
from gis.energy.keep import ProfileStore
from gis.energy.markets import hub_prices, market_intensity, year_hours
from gis.energy.nodes import PROXY_MARK, assign_nodes, hub_of
from gis.energy.profiles import SurplusProfiles
from gis.energy.solar import daylight_weights
from gis.io import FrameSubset
from gis.rowlog import RowLog

__all__ = [
    "SUMMARY_COLUMNS",
    "WASTED_CATEGORIES",
    "MarketTables",
    "describe_surplus",
    "surplus_profiles",
]

WASTED_CATEGORIES = ("flare_gas", "stranded_wind", "stranded_solar", "nuclear_surplus", "federal_hydro")
"""Categories whose sites exist because energy is thrown away there (ledger "wasted")."""

FLAT_NODE = "flat price (no hourly data)"

SUMMARY_COLUMNS: dict[str, str] = {
    "ledger": "str",
    "node": "str",
    "price_basis": "str",
    "price_year": "Int64",
    "wasted_peak_mw": "float64",
    "wasted_mwh_per_year": "float64",
    "wasted_hours_per_year": "float64",
    "wasted_avg_mw": "float64",
    "wasted_price_usd_mwh": "float64",
    "node_mean_price_usd_mwh": "float64",
    "node_hours_le_surplus": "float64",
    "node_price_p10_usd_mwh": "float64",
    "node_price_p50_usd_mwh": "float64",
    "node_price_p90_usd_mwh": "float64",
}
"""Per-site columns the energy stage adds to the candidate sites."""

_SOLAR_BIN_DEG = 1.0
"""Sites are binned to 1 degree for their daylight curve (4 minutes of solar time a degree)."""


@dataclass
class _Shapes:
    """Hourly shapes as they are built: id -> row, rows in order."""

    ids: list[str]
    rows: list[np.ndarray]

    def add(self, key: str, row: np.ndarray) -> int:
        if key in self.ids:
            return self.ids.index(key)
        self.ids.append(key)
        self.rows.append(row)
        return len(self.ids) - 1


def _category(config: EnergyConfig, name: str) -> CategoryEnergy:
    return config.categories.get(name, CategoryEnergy())


def _nodes(sites: pd.DataFrame, config: EnergyConfig, log: RowLog) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "balancing_authority": sites["balancing_authority"].to_numpy(dtype=object),
            "state": sites["state"].to_numpy(dtype=object),
            "lon": sites.geometry.x.to_numpy(),
            "lat": sites.geometry.y.to_numpy(),
        }
    )
    nodes = assign_nodes(frame, config.nodes)
    offgrid = sites["offgrid"].to_numpy(dtype=bool)
    nodes.loc[offgrid, ["node", "proxy", "node_source"]] = ""
    grid = ~offgrid
    proxied = grid & (nodes["proxy"] != "").to_numpy()
    unplaced = grid & (nodes["node"] == "").to_numpy()
    log.note(
        f"energy: {int((grid & ~proxied & ~unplaced).sum()):,} grid sites priced at their own market hub, "
        f"{int(proxied.sum()):,} at a neighbouring hub (proxy, low confidence), "
        f"{int(unplaced.sum()):,} with no hourly prices (flat {config.fallback_price_usd_mwh:g} $/MWh)"
    )
    nodes.loc[unplaced, "node"] = FLAT_NODE
    nodes.loc[unplaced, "node_source"] = config.fallback_price_source
    return nodes


def _price_rows(
    node_ids: list[str], layers: Mapping[str, pd.DataFrame], config: EnergyConfig, log: RowLog
) -> tuple[np.ndarray, list[int]]:
    hubs = sorted({hub_of(n) for n in node_ids if n != FLAT_NODE})
    prices, years = hub_prices(
        layers.get("market_prices"), hubs, year=config.reference_year, kind=config.price_kind
    )
    by_hub = dict(zip(hubs, range(len(hubs)), strict=True))
    t = len(year_hours(config.reference_year))
    rows, row_years = [], []
    for node in node_ids:
        if node == FLAT_NODE:
            rows.append(np.full(t, config.fallback_price_usd_mwh))
            row_years.append(0)
            continue
        i = by_hub[hub_of(node)]
        if years[i] == 0:
            log.note(
                f"energy: no {config.price_kind} prices for {hub_of(node)}: its sites use the flat price"
            )
            rows.append(np.full(t, config.fallback_price_usd_mwh))
        else:
            rows.append(prices[i])
            if years[i] != config.reference_year:
                log.note(f"energy: {hub_of(node)} has no {config.reference_year} prices: {years[i]} used")
        row_years.append(years[i])
    return np.vstack(rows) if rows else np.zeros((0, t)), row_years


def _intensity_rows(
    node_ids: list[str], layers: Mapping[str, pd.DataFrame], config: EnergyConfig
) -> np.ndarray:
    regional = {r.market: r.t_per_mwh for r in config.intensity}
    t = len(year_hours(config.reference_year))
    cache: dict[str, np.ndarray] = {}
    rows = []
    for node in node_ids:
        if node == FLAT_NODE or PROXY_MARK in node:
            rows.append(np.full(t, config.default_intensity_t_per_mwh))
            continue
        market = node.split(":")[0]
        if market not in cache:
            cache[market], _ = market_intensity(
                layers.get("market_mix"),
                market,
                year=config.reference_year,
                fuel_t_per_mwh=config.fuel_t_per_mwh,
                fallback_t_per_mwh=regional.get(market, config.default_intensity_t_per_mwh),
            )
        rows.append(cache[market])
    return np.vstack(rows) if rows else np.zeros((0, t))


MARKET_LAYERS = ("market_prices", "market_mix", "curtailment_daily")
"""The layers whose hourly tables :class:`MarketTables` keeps."""


@dataclass
class MarketTables:
    """The hourly market tables (prices, grid intensity per node) of one set of market layers and
    one ``[energy]`` table, computed once and shared by every :func:`surplus_profiles` call on them
    (``gis run`` scores and then estimates the same sites: one reading of 514 k price rows).

    A call with other layer frames (by identity) or another ``[energy]`` table computes afresh.
    """

    layers: Mapping[str, pd.DataFrame]
    config: EnergyConfig
    store: ProfileStore = field(default_factory=ProfileStore)
    """Profiles already computed on these tables (in the process; also on disk when keyed)."""
    _prices: dict[tuple[str, ...], tuple[np.ndarray, list[int]]] = field(default_factory=dict, repr=False)
    _intensity: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False)

    def serves(self, layers: Mapping[str, pd.DataFrame], config: EnergyConfig) -> bool:
        """True when these tables were made from the same market frames and ``[energy]`` table.

        ``layers`` that are these tables' own mapping, or a subset of it
        (:class:`gis.io.FrameSubset`), hold the same frames without any being read."""
        if self.config != config:
            return False
        if _base_of(layers) is _base_of(self.layers):
            return all((name in layers) == (name in self.layers) for name in MARKET_LAYERS)
        return all(self.layers.get(name) is layers.get(name) for name in MARKET_LAYERS)

    def prices(self, node_ids: list[str], log: RowLog) -> tuple[np.ndarray, list[int]]:
        """(nodes, hours) $/MWh and each node's data year (:func:`_price_rows`); notes go to the
        first call's ``log``."""
        key = tuple(node_ids)
        if key not in self._prices:
            self._prices[key] = _price_rows(node_ids, self.layers, self.config, log)
        return self._prices[key]

    def intensity(self, node_ids: list[str]) -> np.ndarray:
        """(nodes, hours) t CO2/MWh of the grid at each node (:func:`_intensity_rows`)."""
        key = tuple(node_ids)
        if key not in self._intensity:
            self._intensity[key] = _intensity_rows(node_ids, self.layers, self.config)
        return self._intensity[key]


def _base_of(layers: Mapping[str, pd.DataFrame]) -> Mapping[str, pd.DataFrame]:
    """The mapping a :class:`gis.io.FrameSubset` takes its frames from (any other: itself)."""
    while isinstance(layers, FrameSubset):
        layers = layers.base
    return layers


def _surplus_hours(price: np.ndarray, threshold: float) -> np.ndarray:
    """1.0 in hours at or below the threshold, 0 elsewhere and where the price is unknown."""
    with np.errstate(invalid="ignore"):
        return (price <= threshold).astype("float64")


def _daylight(lon: np.ndarray, lat: np.ndarray, hours: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Daylight weights per 1-degree bin and each site's bin index."""
    keys = np.column_stack(
        [np.floor(lon / _SOLAR_BIN_DEG), np.floor(lat / _SOLAR_BIN_DEG)]
    ) * _SOLAR_BIN_DEG + (_SOLAR_BIN_DEG / 2.0)
    unique, index = np.unique(keys, axis=0, return_inverse=True)
    return daylight_weights(unique[:, 0], unique[:, 1], hours), index.reshape(-1)


def _daily_spread(
    daily_mwh: pd.Series, weights: np.ndarray, hours: pd.DatetimeIndex, utc_offset_hours: int
) -> np.ndarray:
    """Each local day's MWh spread over that day's hours in proportion to ``weights`` (rows: curves).

    Returns MWh per hour per row; a day whose weights are all zero spreads evenly over its hours.
    """
    local = (
        (hours + pd.Timedelta(hours=utc_offset_hours)).tz_localize(None).to_numpy().astype("datetime64[D]")
    )
    day_codes, day_index = np.unique(local, return_inverse=True)
    by_day = pd.Series(daily_mwh.to_numpy(dtype="float64"), index=pd.to_datetime(daily_mwh.index).to_numpy())
    mwh = by_day.reindex(day_codes.astype("datetime64[ns]")).fillna(0.0).to_numpy(dtype="float64")
    weights = np.atleast_2d(weights)
    sums = np.zeros((weights.shape[0], len(day_codes)))
    np.add.at(sums.T, day_index, weights.T)
    counts = np.bincount(day_index, minlength=len(day_codes)).astype("float64")
    even = sums == 0
    share = np.where(
        even[:, day_index], 1.0 / counts[day_index], weights / np.where(even, 1.0, sums)[:, day_index]
    )
    return share * mwh[day_index]


def _region_totals(
    r,
    members: np.ndarray,
    cap: np.ndarray,
    fuel: np.ndarray,
    table: pd.DataFrame | None,
    config: EnergyConfig,
    log: RowLog,
) -> tuple[dict[str, float], dict[str, pd.Series] | None] | None:
    """A curtailment region's curtailed MWh a year by fuel, and its daily series (MWh) if used.

    ``None`` when the region has no curtailment (no ``curtailment_daily`` rows in the reference
    year and no scenario TWh a year); the reason is noted in ``log``.
    """
    if r.twh_per_year is not None:
        mw = pd.Series(cap[members]).groupby(fuel[members]).sum()
        share = r.solar_share
        if share is None:
            share = float(mw.get("solar", 0.0) / mw.sum()) if mw.sum() > 0 else 0.0
        return {"solar": r.twh_per_year * 1e6 * share, "wind": r.twh_per_year * 1e6 * (1.0 - share)}, None
    if table is None or table.empty:
        log.note(f"energy: no curtailment_daily layer: {r.name} plants have no curtailed energy")
        return None
    rows = table.loc[table["market"].isin(r.markets)]
    rows = rows.loc[rows["date"].astype(str).str.startswith(str(config.reference_year))]
    if rows.empty:
        log.note(f"energy: no {r.name} curtailment in {config.reference_year}: its plants have none")
        return None
    series = {f: rows.groupby("date")[f"{f}_mwh"].sum() for f in ("solar", "wind")}
    return {f: float(series[f].sum()) for f in ("solar", "wind")}, series


def _cap_at_generation(sites: pd.DataFrame, annual: np.ndarray, log: RowLog) -> np.ndarray:
    """``annual`` (MWh/yr) capped at what each plant generates in a year (nameplate x best CF x 8760 h)."""
    cap = sites["capacity_mw"].to_numpy(dtype="float64")
    cf = np.nan_to_num(sites["capacity_factor_max"].to_numpy(dtype="float64"), nan=1.0).clip(0.0, 1.0)
    producible = cap * 8760.0 * np.where(cf > 0, cf, 1.0)
    capped = annual > producible
    log.repair(
        int(capped.sum()), "energy: stranded curtailment share capped at the plant's own yearly generation"
    )
    return np.minimum(annual, producible)


def _stranded_annual(
    sites: pd.DataFrame,
    market: np.ndarray,
    layers: Mapping[str, pd.DataFrame],
    config: EnergyConfig,
    log: RowLog,
) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, pd.Series]]]:
    """Curtailed MWh a year per stranded site (0 elsewhere), its region, and the daily series used.

    A market's curtailed energy (its daily series for the reference year, else the scenario's
    TWh a year, split wind/solar by ``solar_share`` or by MW) is shared among its plants of that
    fuel by nameplate MW, and capped at what a plant generates in a year.
    """
    category = sites["category"].to_numpy(dtype=object)
    stranded = np.isin(category, ["stranded_wind", "stranded_solar"])
    fuel = np.where(category == "stranded_solar", "solar", "wind")
    cap = sites["capacity_mw"].to_numpy(dtype="float64")
    region_of = {m: r.name for r in config.curtailment for m in r.markets}
    region = np.array([region_of.get(m, "") for m in market], dtype=object)
    region[~stranded] = ""
    annual = np.zeros(len(sites))
    daily: dict[str, dict[str, pd.Series]] = {}
    table = layers.get("curtailment_daily")
    for r in config.curtailment:
        members = region == r.name
        if not members.any():
            continue
        found = _region_totals(r, members, cap, fuel, table, config, log)
        if found is None:
            region[members] = ""
            continue
        totals, series = found
        if series is not None:
            daily[r.name] = series
        for f in ("solar", "wind"):
            group = members & (fuel == f)
            if cap[group].sum() > 0:
                annual[group] = totals[f] * cap[group] / cap[group].sum()
    listed = stranded & np.isfinite(sites["annual_wasted_mwh"].to_numpy(dtype="float64"))
    annual = np.where(listed, sites["annual_wasted_mwh"].to_numpy(dtype="float64"), annual)
    region[listed & (region == "")] = "plant table"
    log.dropped["energy: stranded plant outside every market with curtailment data (no wasted energy)"] = int(
        (stranded & (region == "")).sum()
    )
    return _cap_at_generation(sites, annual, log), region, daily


@dataclass
class _Hours:
    """What placing a site's energy in hours reads: the year's hours and its nodes' prices.

    ``price`` ($/MWh, node x hour, NaN where unknown), ``known`` (its finite mask), ``weight``
    (hours a year / known hours of the node), ``node_index`` (-1: no node), ``node_text`` (the
    node's name), ``own`` (the site's node is its own market, evidence of surplus) and
    ``threshold`` (the surplus price, $/MWh).
    """

    hours: pd.DatetimeIndex
    price: np.ndarray
    known: np.ndarray
    weight: np.ndarray
    node_index: np.ndarray
    node_text: np.ndarray
    own: np.ndarray
    threshold: float


@dataclass
class _Placed:
    """Per-site results as they are built: shape index (-1: none), wasted MW and no-surplus reason."""

    shapes: _Shapes
    shape: np.ndarray
    wasted_mw: np.ndarray
    why: np.ndarray


def _place_flexible(
    sites: pd.DataFrame, ctx: _Hours, placed: _Placed, config: EnergyConfig, log: RowLog
) -> None:
    """Nuclear and hydro: a share of output (MW) in the node's hours at or below the surplus price."""
    category = sites["category"].to_numpy(dtype=object)
    cap = sites["capacity_mw"].to_numpy(dtype="float64")
    cf_max = sites["capacity_factor_max"].to_numpy(dtype="float64")
    threshold, why = ctx.threshold, placed.why
    for name in ("nuclear_surplus", "federal_hydro"):
        members = np.flatnonzero(category == name)
        share = _category(config, name).flexible_share
        for i in members:
            if not ctx.own[i]:
                why[i] = "no hourly prices in its region: no evidence of surplus hours"
                continue
            if name == "federal_hydro" and not np.isfinite(cf_max[i]):
                why[i] = "no generation history (EIA-923): spill unknown"
                continue
            k = placed.shapes.add(
                f"le{threshold:g}:{ctx.node_text[i]}", _surplus_hours(ctx.price[ctx.node_index[i]], threshold)
            )
            if not placed.shapes.rows[k].any():
                why[i] = f"no hour at or below {threshold:g} $/MWh at its hub"
                continue
            placed.shape[i] = k
            rate = cap[i] * (cf_max[i] if name == "federal_hydro" else 1.0)
            placed.wasted_mw[i] = rate * share
        log.dropped[f"energy: {name} site without surplus hours (see basis)"] = int(
            (why[members] != "").sum()
        )


def _stranded_shape(
    i: int,
    fuel: str,
    curve: np.ndarray,
    bin_key: object,
    region: str,
    daily: dict,
    ctx: _Hours,
    shapes: _Shapes,
) -> str | None:
    """Key of the hourly shape (0-1 per hour) of stranded site ``i``, added to ``shapes``; ``None``: no data.

    A region with a daily series spreads it over ``curve`` (daylight or flat); else the node's
    hours at or below the surplus price, times ``curve``.
    """
    if region in daily:
        key = f"{fuel}:{region} daily:{bin_key if fuel == 'solar' else 'day'}"
        if key not in shapes.ids:
            dist = _daily_spread(daily[region][fuel], curve, ctx.hours, -8)[0]  # CAISO: Pacific dates
            shapes.add(key, dist / dist.max() if dist.max() > 0 else dist)
        return key
    if ctx.node_index[i] >= 0 and ctx.own[i]:
        key = f"{fuel}:{ctx.node_text[i]} le{ctx.threshold:g}:{bin_key if fuel == 'solar' else 'all'}"
        if key not in shapes.ids:
            dist = _surplus_hours(ctx.price[ctx.node_index[i]], ctx.threshold) * curve
            shapes.add(key, dist / dist.max() if dist.max() > 0 else dist)
        return key
    return None


def _place_stranded(
    sites: pd.DataFrame,
    ctx: _Hours,
    placed: _Placed,
    layers: Mapping[str, pd.DataFrame],
    config: EnergyConfig,
    log: RowLog,
) -> None:
    """Stranded wind and solar: the market's curtailment (MWh/yr), allocated and placed in hours (MW)."""
    category = sites["category"].to_numpy(dtype=object)
    cap = sites["capacity_mw"].to_numpy(dtype="float64")
    t = len(ctx.hours)
    market = np.array(
        [hub_of(x).split(":")[0] if ctx.own[i] else "" for i, x in enumerate(ctx.node_text)], dtype=object
    )
    annual, region, daily = _stranded_annual(sites, market, layers, config, log)
    no_data = np.isin(category, ["stranded_wind", "stranded_solar"]) & (region == "")
    placed.why[no_data] = "its market has no curtailment data here (only CAISO, ERCOT, SPP and MISO do)"
    stranded = np.flatnonzero((annual > 0) & (region != ""))
    if not len(stranded):
        return
    light, bin_of = _daylight(
        sites.geometry.x.to_numpy()[stranded], sites.geometry.y.to_numpy()[stranded], ctx.hours
    )
    flat = np.ones(t)
    carried_of: dict[tuple[int, int], float] = {}  # a shape's hours at a node: shared by its sites
    for j, i in enumerate(stranded):
        solar = category[i] == "stranded_solar"
        curve = light[bin_of[j]] if solar else flat
        fuel = "solar" if solar else "wind"
        key = _stranded_shape(int(i), fuel, curve, bin_of[j], region[i], daily, ctx, placed.shapes)
        if key is None:
            placed.why[i] = "no curtailment data or surplus hours for its market"
            continue
        k = placed.shapes.ids.index(key)
        node = int(ctx.node_index[i])
        if (k, node) not in carried_of:
            carried_of[(k, node)] = _energy_hours(placed.shapes.rows[k], node, ctx.known, ctx.weight)
        carried = carried_of[(k, node)]
        if carried <= 0:
            placed.why[i] = "no hour in which its market curtails"
            continue
        placed.shape[i] = k
        placed.wasted_mw[i] = min(annual[i] / carried, cap[i])
    log.repair(
        int(np.sum(placed.wasted_mw[stranded] >= cap[stranded] - 1e-9)),
        "energy: stranded plant's hourly curtailment capped at its nameplate",
    )


def _engine_hours_row(t: int, engine_hours: float) -> np.ndarray:
    """A 0/1 row of ``t`` hours with ``engine_hours`` hours on, evenly spaced."""
    every = max(int(t // max(engine_hours, 1.0)), 1)
    row = np.zeros(t)
    row[::every] = 1.0
    row[int(engine_hours) * every :] = 0.0
    return row


def _place_gensets(sites: pd.DataFrame, placed: _Placed, t: int, engine_hours: float) -> None:
    """Military installations: gensets (``asset_mw``, MW) for the engine hours federal rules allow."""
    gensets = (sites["category"] == "military_backup").to_numpy() & sites["offgrid"].to_numpy(dtype=bool)
    if gensets.any():
        row = _engine_hours_row(t, engine_hours)
        placed.shape[gensets] = placed.shapes.add(f"engine hours:{engine_hours:g} h/yr", row)
        placed.wasted_mw[gensets] = sites["asset_mw"].to_numpy(dtype="float64")[gensets]


def _site_table(
    sites: pd.DataFrame, node_index: np.ndarray, placed: _Placed, config: EnergyConfig
) -> pd.DataFrame:
    """The per-site table of :class:`SurplusProfiles` (ledger, node, shape, MW, $/MWh, tCO2/MWh)."""
    category = sites["category"].to_numpy(dtype=object)
    asset = sites["asset_mw"].to_numpy(dtype="float64")
    ledger = np.where(np.isin(category, WASTED_CATEGORIES), "wasted", "bought")
    can_buy = np.array([_category(config, c).can_buy for c in category]) & (node_index >= 0)
    cost = np.array([_category(config, c).wasted_cost_usd_mwh for c in category], dtype="float64")
    return pd.DataFrame(
        {
            "site_id": sites["site_id"].to_numpy(dtype=object),
            "category": category,
            "ledger": ledger,
            "node": node_index,
            "shape": placed.shape,
            "wasted_mw": placed.wasted_mw,
            "wasted_cost_usd_mwh": cost,
            "wasted_co2_t_per_mwh": 0.0,
            "avoided_co2_t_per_mwh": 0.0,
            "max_mw": np.where(ledger == "wasted", placed.wasted_mw, asset),
            "can_buy": can_buy,
            "spur_km": 0.0,
        }
    )


def _hours_context(
    nodes: pd.DataFrame, node_ids: list[str], price: np.ndarray, config: EnergyConfig
) -> _Hours:
    """The year's hours, prices, hour weights and each site's node (see :class:`_Hours`)."""
    hours = year_hours(config.reference_year)
    node_of = {node: i for i, node in enumerate(node_ids)}
    node_index = np.array([node_of.get(x, -1) for x in nodes["node"]], dtype="int64")
    known = np.isfinite(price)
    known_hours = known.sum(axis=1)
    weight = np.where(known_hours > 0, len(hours) / np.maximum(known_hours, 1), 0.0)
    node_text = nodes["node"].to_numpy(dtype=object)
    own = np.array(
        [x not in ("", FLAT_NODE) and (PROXY_MARK not in x or config.proxy_counts_surplus) for x in node_text]
    )
    return _Hours(hours, price, known, weight, node_index, node_text, own, config.surplus_price_usd_mwh)


def _place_all(
    sites: pd.DataFrame, ctx: _Hours, layers: Mapping[str, pd.DataFrame], config: EnergyConfig, log: RowLog
) -> _Placed:
    """Every site's wasted energy placed in time: flare gas every hour (its MW is its asset MW), then
    flexible nuclear and hydro, stranded wind and solar, military gensets."""
    n, t = len(sites), len(ctx.hours)
    placed = _Placed(
        _Shapes([], []), np.full(n, -1, dtype="int64"), np.zeros(n), np.full(n, "", dtype=object)
    )
    flare = (sites["category"] == "flare_gas").to_numpy()
    if flare.any():
        placed.shape[flare] = placed.shapes.add("flare_gas:every hour", np.ones(t))
        placed.wasted_mw[flare] = sites["asset_mw"].to_numpy(dtype="float64")[flare]
    _place_flexible(sites, ctx, placed, config, log)
    _place_stranded(sites, ctx, placed, layers, config, log)
    _place_gensets(sites, placed, t, config.military_engine_hours)
    return placed


def surplus_profiles(
    sites: pd.DataFrame,
    layers: Mapping[str, pd.DataFrame],
    config: EnergyConfig,
    log: RowLog | None = None,
    *,
    markets: MarketTables | None = None,
) -> tuple[SurplusProfiles, pd.DataFrame]:
    """Hourly wasted energy and buy prices of ``sites`` in the reference year, and a per-site summary.

    Parameters
    ----------
    sites
        candidate sites (:func:`gis.sites.candidate_sites`, EPSG:4326 points) with ``site_id``,
        ``category``, ``state``, ``offgrid``, ``capacity_mw``, ``asset_mw``,
        ``balancing_authority``, ``capacity_factor_max``, ``annual_wasted_mwh``.
    layers
        canonical layers; reads ``market_prices``, ``market_mix`` and ``curtailment_daily`` when
        present (without prices every grid site buys at the flat fallback price and no surplus
        hour exists).
    config
        the scenario's ``[energy]`` table.
    markets
        hourly market tables already computed from the same layers and table (reused), or None.

    Returns
    -------
    profiles, summary
        the arrays of :class:`SurplusProfiles` and a frame with :data:`SUMMARY_COLUMNS` (same
        row order as ``sites``).
    """
    sites = sites.reset_index(drop=True)
    order = np.argsort(sites["site_id"].to_numpy(dtype=str), kind="stable")
    canonical = sites.iloc[order].reset_index(drop=True)  # the result does not depend on the rank
    if markets is None or not markets.serves(layers, config):
        markets = MarketTables(layers, config)
    key = markets.store.key(canonical, config) if log is None else None  # a log wants the notes
    found = markets.store.get(key) if key is not None else None
    if found is None:
        found = _profiles_in_order(canonical, layers, config, log or RowLog("energy"), markets)
        if key is not None:
            markets.store.put(key, *found)
    profiles, summary = found
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    profiles = dataclasses.replace(profiles, sites=profiles.sites.iloc[back].reset_index(drop=True))
    return profiles, summary.iloc[back].reset_index(drop=True)


def _profiles_in_order(
    sites: pd.DataFrame,
    layers: Mapping[str, pd.DataFrame],
    config: EnergyConfig,
    log: RowLog,
    markets: MarketTables,
) -> tuple[SurplusProfiles, pd.DataFrame]:
    """:func:`surplus_profiles` of ``sites`` in the order given (shapes numbered as first met)."""
    nodes = _nodes(sites, config, log)
    node_ids = sorted(set(nodes["node"]) - {""})
    price, price_years = markets.prices(node_ids, log)
    ctx = _hours_context(nodes, node_ids, price, config)
    t = len(ctx.hours)
    intensity = markets.intensity(node_ids)
    placed = _place_all(sites, ctx, layers, config, log)
    shapes = placed.shapes
    profiles = SurplusProfiles(
        year=config.reference_year,
        hours=ctx.hours,
        node_ids=node_ids,
        price=price,
        hour_weight=ctx.weight,
        intensity=intensity,
        shape_ids=shapes.ids,
        shapes=np.vstack(shapes.rows) if shapes.rows else np.zeros((0, t)),
        sites=_site_table(sites, ctx.node_index, placed, config),
    )
    summary = _summary(profiles, nodes, price_years, placed.why, config)
    return profiles, summary


def _energy_hours(row: np.ndarray, node: int, known: np.ndarray, weight: np.ndarray) -> float:
    """Sum of a shape over the hours a site counts: its node's known hours x weight, or every hour."""
    if node < 0:
        return float(row.sum())
    return float((row * known[node]).sum() * weight[node])


def _node_stats(profiles: SurplusProfiles, threshold: float) -> dict[int, tuple[float, ...]]:
    """Per node: mean price ($/MWh), hours a year at or below ``threshold``, p10/p50/p90 ($/MWh)."""
    known = np.isfinite(profiles.price)
    node_stats = {}
    for j in range(len(profiles.node_ids)):
        p = profiles.price[j][known[j]]
        node_stats[j] = (
            float(p.mean()) if len(p) else np.nan,
            float((p <= threshold).sum() * profiles.hour_weight[j]) if len(p) else np.nan,
            *(np.percentile(p, [10, 50, 90]) if len(p) else (np.nan, np.nan, np.nan)),
        )
    return node_stats


def _shape_stats(profiles: SurplusProfiles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per site: its shape's energy (MWh per MW a year), hours on (h/yr) and mean price ($/MWh)."""
    sites = profiles.sites
    known = np.isfinite(profiles.price)
    pairs: dict[tuple[int, int], tuple[float, float, float]] = {}
    for k, j in set(zip(sites["shape"].tolist(), sites["node"].tolist(), strict=True)):
        if k < 0:
            continue
        row = profiles.shapes[k]
        if j < 0:
            w = np.ones_like(row)
            price = np.full_like(row, np.nan)
        else:
            w = known[j] * profiles.hour_weight[j]
            price = profiles.price[j]
        pair_energy = float((row * w).sum())
        pair_hours = float(((row > 0) * w).sum())
        with np.errstate(invalid="ignore"):
            pair_price = (
                float(np.nansum(price * row * w) / pair_energy) if j >= 0 and pair_energy > 0 else np.nan
            )
        pairs[(k, j)] = (pair_energy, pair_hours, pair_price)
    keys = list(zip(sites["shape"], sites["node"], strict=True))
    energy, hours_on, mean_price = (
        np.array([pairs.get(key, (0.0, 0.0, np.nan))[c] for key in keys]) for c in range(3)
    )
    return energy, hours_on, mean_price


def _price_basis(nodes: pd.DataFrame, config: EnergyConfig) -> np.ndarray:
    """Per site, where its buy price comes from: proxy hub, flat fallback, off-grid or its market."""
    return np.where(
        nodes["proxy"].to_numpy(dtype=object) != "",
        "proxy: " + nodes["proxy"].astype(str) + " priced at " + nodes["node"].map(hub_of).astype(str),
        np.where(
            nodes["node"].to_numpy(dtype=object) == FLAT_NODE,
            f"flat {config.fallback_price_usd_mwh:g} $/MWh (no hourly prices for the region)",
            np.where(
                nodes["node"].to_numpy(dtype=object) == "",
                "off-grid (no purchase)",
                "market: " + nodes["node"].astype(str),
            ),
        ),
    )


def _summary(
    profiles: SurplusProfiles,
    nodes: pd.DataFrame,
    price_years: list[int],
    why: np.ndarray,
    config: EnergyConfig,
) -> pd.DataFrame:
    """Per-site surplus MWh, hours, mean price and the node's price-duration summary."""
    sites = profiles.sites
    n = len(sites)
    node_stats = _node_stats(profiles, config.surplus_price_usd_mwh)
    energy, hours_on, mean_price = _shape_stats(profiles)
    in_wasted = (sites["ledger"] == "wasted").to_numpy()
    wasted_mwh = np.where(in_wasted, sites["wasted_mw"].to_numpy() * energy, 0.0)
    stats = np.array([node_stats.get(j, (np.nan,) * 5) for j in sites["node"]], dtype="float64").reshape(n, 5)
    year = pd.array(
        [price_years[j] if j >= 0 and price_years[j] else pd.NA for j in sites["node"]], dtype="Int64"
    )
    summary = pd.DataFrame(
        {
            "ledger": sites["ledger"].to_numpy(dtype=object),
            "node": nodes["node"].to_numpy(dtype=object),
            "price_basis": _price_basis(nodes, config),
            "price_year": year,
            "wasted_peak_mw": np.where(in_wasted, sites["wasted_mw"].to_numpy(), 0.0),
            "wasted_mwh_per_year": wasted_mwh,
            "wasted_hours_per_year": np.where(wasted_mwh > 0, hours_on, 0.0),
            "wasted_avg_mw": wasted_mwh / len(profiles.hours),
            "wasted_price_usd_mwh": np.where(wasted_mwh > 0, mean_price, np.nan),
            "node_mean_price_usd_mwh": stats[:, 0],
            "node_hours_le_surplus": stats[:, 1],
            "node_price_p10_usd_mwh": stats[:, 2],
            "node_price_p50_usd_mwh": stats[:, 3],
            "node_price_p90_usd_mwh": stats[:, 4],
        }
    )
    summary["no_surplus_reason"] = why
    return summary


def describe_surplus(sites: pd.DataFrame, summary: pd.DataFrame, config: EnergyConfig) -> np.ndarray:
    """One sentence per site saying what energy it has, from which data (the ``basis`` column)."""
    threshold = config.surplus_price_usd_mwh
    category = sites["category"].to_numpy(dtype=object)
    peak = summary["wasted_peak_mw"].to_numpy(dtype="float64")
    hours = summary["wasted_hours_per_year"].to_numpy(dtype="float64")
    gwh = summary["wasted_mwh_per_year"].to_numpy(dtype="float64") / 1e3
    node = summary["node"].astype(str).to_numpy(dtype=object)
    year = summary["price_year"].astype("string").fillna("").to_numpy(dtype=object)
    where = np.where(node == "", "", " at " + node.astype(str) + np.where(year != "", " (" + year + ")", ""))
    head = np.array(
        [f"{p:,.1f} MW in {h:,.0f} h/yr = {g:,.1f} GWh/yr" for p, h, g in zip(peak, hours, gwh, strict=True)],
        dtype=object,
    )
    text = np.full(len(sites), "", dtype=object)
    share = {name: _category(config, name).flexible_share for name in WASTED_CATEGORIES}
    cap = sites["capacity_mw"].to_numpy(dtype="float64")
    cf = sites["capacity_factor_max"].to_numpy(dtype="float64")
    basis = sites["basis"].to_numpy(dtype=object)  # arrays, not per-row pandas look-ups
    offgrid = sites["offgrid"].to_numpy()
    price_basis = summary["price_basis"].to_numpy(dtype=object)
    reasons = summary["no_surplus_reason"].to_numpy(dtype=object)
    for i, c in enumerate(category):
        if c == "flare_gas":
            text[i] = f"{head[i]} of flared gas as power, every hour; " + str(basis[i])
        elif c == "nuclear_surplus":
            text[i] = (
                f"{share[c]:.0%} of {cap[i]:,.0f} MW in hours at or below {threshold:g} $/MWh{where[i]}: {head[i]}"
            )
        elif c == "federal_hydro":
            text[i] = (
                f"spill: {share[c]:.0%} of {cap[i]:,.0f} MW x wettest-year capacity factor {cf[i]:.2f} in hours"
                f" at or below {threshold:g} $/MWh{where[i]}: {head[i]}"
            )
        elif c in ("stranded_wind", "stranded_solar"):
            text[i] = f"curtailed energy of its market placed in the hours it happens{where[i]}: {head[i]}"
        elif c == "military_backup" and offgrid[i]:
            text[i] = (
                f"{basis[i]}; gensets may run {config.military_engine_hours:g} h/yr (40 CFR 63.6640(f))"
                f" at {_category(config, c).wasted_cost_usd_mwh:g} $/MWh diesel"
            )
        else:
            text[i] = f"{basis[i]}; energy bought at {price_basis[i]}"
        reason = reasons[i]
        if reason:
            text[i] = f"no wasted energy: {reason}{where[i]}; nameplate {cap[i]:,.0f} MW"
    return text
