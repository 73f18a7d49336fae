"""The ``[estimates...]`` tables of a scenario: selection, ASIC, network, market, carbon, uncertainty.

Typed models that refuse unknown keys and check invariants (an ASIC that exists, uptime in
0..1, PUE >= 1, ordered Monte Carlo ranges) before any work starts. Every field carries its
unit and the source of its default (``json_schema_extra``), which :func:`assumptions` copies
into ``estimates.json`` next to the value actually used.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gis.config.asics import asic_model, known_models
from gis.errors import GisError

__all__ = [
    "CarbonConfig",
    "EstimatesConfig",
    "FleetConfig",
    "MarketConfig",
    "NetworkConfig",
    "ProjectionConfig",
    "Range",
    "SelectionConfig",
    "UncertaintyConfig",
    "assumptions",
]


def _f(default: Any, unit: str, source: str, description: str, **kwargs: Any) -> Any:
    return Field(
        default, description=description, json_schema_extra={"unit": unit, "source": source}, **kwargs
    )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SelectionConfig(_Model):
    """Which sites the national fleet holds (:mod:`gis.estimates.fleet`): ``npv``, every site whose
    NPV-optimal fleet has NPV > 0 at the discount rate; ``score_threshold``, of those, the sites
    scoring at least ``score_threshold``; ``target_gw``, of those, the best-ranked until
    ``target_gw`` GW of fleet. Ties are broken by rank, stably."""

    rule: Literal["npv", "score_threshold", "target_gw"] = _f(
        "npv",
        "",
        "choice: every site whose optimal fleet pays back its machines with interest over their life",
        "npv, score_threshold or target_gw",
    )
    score_threshold: float = _f(
        0.5,
        "1",
        "choice: sites scoring at least half of the best possible",
        "minimum score (0..1)",
        ge=0.0,
        le=1.0,
    )
    target_gw: float = _f(
        5.0,
        "GW",
        "Gate.io policy analysis of a US mining reserve: 5-20 GW",
        "mineable GW to reach, best first",
        gt=0.0,
    )

    @property
    def value(self) -> float:
        """The number the rule uses (GW for target_gw, else the score threshold)."""
        return self.target_gw if self.rule == "target_gw" else self.score_threshold


class NetworkConfig(_Model):
    """The Bitcoin network the fleet joins."""

    hashrate_ehs: float | Literal["from_data"] = _f(
        1070.3,
        "EH/s",
        "btc-newswire.com / cryptocoinbizz.com: 7-day hashrate 1,070.3 EH/s, difficulty 148 T (2025-12-27)",
        "network hashrate, or 'from_data' for the btc_network layer's latest difficulty x 2^32 / 600 s",
    )
    growth_per_year: float = _f(
        0.13,
        "1/yr",
        "795.7 EH/s (Jan 2025, btc-newswire.com) -> ~925 EH/s (late Mar 2026, cryptois.money; REFERENCE.md "
        "section 8): +12.8 %/yr over 15 months; 2025 alone +34.5 %",
        "relative network hashrate growth a year (network without the fleet), over the machines' life",
        ge=-0.9,
        le=5.0,
    )
    as_of: dt.date = _f(
        dt.date(2026, 1, 1),
        "date",
        "choice: start of the first projection year",
        "date of the national figures",
    )
    anchor_height: int = _f(
        840_000,
        "block",
        "fxstreet.com / forklog.com: fourth halving at block 840,000",
        "a known block height",
        ge=0,
    )
    anchor_date: dt.date = _f(
        dt.date(2024, 4, 20),
        "date",
        "fxstreet.com / forklog.com: block 840,000 mined 2024-04-20",
        "the date of anchor_height",
    )
    blocks_per_year: float = _f(
        52_560.0,
        "blocks/yr",
        "derived: 6 x 24 x 365 at the 600 s target spacing (bitcoin chainparams.cpp)",
        "blocks a year",
        gt=0.0,
    )
    fees_btc_per_block: float = _f(
        0.036,
        "BTC/block",
        "hashlabs.io/insights/dont-forget-the-transaction-fees: 2025 average 0.036 BTC",
        "mean transaction fees per block",
        ge=0.0,
    )

    @field_validator("hashrate_ehs")
    @classmethod
    def _positive(cls, v: float | str) -> float | str:
        if not isinstance(v, str) and not v > 0:
            raise ValueError("must be > 0 EH/s, or 'from_data'")
        return v


class MarketConfig(_Model):
    """Prices and costs in US dollars."""

    btc_price_usd: float = _f(
        87_500.0,
        "USD/BTC",
        "cointelegraph.com / ndtvprofit.com: 2025 closed ~6 % below its $93.4k open (~$87-88k)",
        "bitcoin price",
        gt=0.0,
    )
    energy_cost_usd_mwh: float = _f(
        38.0,
        "USD/MWh",
        "techtelegraph.co.uk: Riot all-in power cost 3.8 c/kWh (2025-03)",
        "energy cost for sites without a cost proxy (energy_cost_usd_mwh)",
        ge=0.0,
    )
    asic_usd_per_th: float = _f(
        17.5,
        "USD/(TH/s)",
        "weak: public code tables list the S21 at ~$3,500 (~$17.5/TH); $20/TH in 2023 "
        "(coindesk.com, Hashrate Index)",
        "ASIC purchase price per TH/s",
        ge=0.0,
    )
    site_capex_usd_per_mw: float = _f(
        400_000.0,
        "USD/MW",
        "weak: no authoritative figure found; a middle value of miners' "
        "disclosed build costs (~$0.25-0.5 M per MW of halls, transformers, cooling); confirm",
        "site build cost per MW of site power",
        ge=0.0,
    )


class CarbonConfig(_Model):
    """CO2 factors (t CO2 per MWh) and the flare-gas credit."""

    emission_factors_t_per_mwh: dict[str, float] = _f(
        {
            "coal": 1.048,
            "gas": 0.435,
            "oil": 1.080,
            "nuclear": 0.0,
            "hydro": 0.0,
            "pumped_storage": 0.0,
            "wind": 0.0,
            "solar": 0.0,
            "geothermal": 0.0,
            "biomass": 0.0,
            "storage": 0.0,
            "waste": 0.0,
            "other": 0.0,
        },
        "t CO2/MWh",
        "eia.gov/tools/faqs/faq.php?id=74: 2023 coal 2.31 and gas 0.96 lb/kWh, 2022 petroleum 2.38 lb/kWh; "
        "EIA counts hydro, nuclear, wind, solar, biomass as zero",
        "emission factor by fuel, used where a site has no co2_t_per_mwh",
    )
    flare_destruction_efficiency: float = _f(
        0.91,
        "1",
        "Plant et al. 2022, Science (Permian, Eagle Ford, Bakken aerial survey): effective 91 %",
        "share of flared methane a real flare destroys (unlit and inefficient flares included)",
        ge=0.0,
        le=1.0,
    )
    genset_destruction_efficiency: float = _f(
        0.98,
        "1",
        "the 98 % destruction industry and regulators assume (Plant et al. 2022), taken for a "
        "maintained engine",
        "share of the fuel's methane a generator burns",
        ge=0.0,
        le=1.0,
    )
    methane_gwp100: float = _f(
        29.8,
        "t CO2e/t CH4",
        "IPCC AR6 WG1 Table 7.15: fossil methane GWP100 29.8",
        "global warming potential of methane over 100 years",
        ge=0.0,
    )
    flare_avoided_share: float = _f(
        1.0,
        "1",
        "choice: the generator burns gas that would otherwise be flared",
        "share of a flare site's fuel that would have been flared without the generator",
        ge=0.0,
        le=1.0,
    )

    @field_validator("emission_factors_t_per_mwh")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if not x >= 0]
        if bad:
            raise ValueError(f"emission factors must be >= 0 t/MWh: {bad}")
        return v


class ProjectionConfig(_Model):
    """The multi-year projection: it starts on 1 January of ``start_year`` and runs the machines'
    life (``[estimates.fleet] asic_life_years``)."""

    start_year: int = _f(
        2026,
        "year",
        "choice: the first full year after the network figure (2025-12-27)",
        "first calendar year",
        ge=2009,
        le=2140,
    )


class FleetConfig(_Model):
    """The fleet economics over the machines' life (:mod:`gis.estimates.fleet`): hourly dispatch,
    a fleet sized per site on NPV, one dilution for the whole fleet."""

    discount_rate: float = _f(
        0.10,
        "1/yr",
        "assumption: a cost of capital for a volatile commodity business; no published miner WACC used",
        "yearly discount rate of the NPV",
        ge=0.0,
        le=1.0,
    )
    asic_life_years: int = _f(
        5,
        "years",
        "assumption: an S21-class machine is out-earned by newer ones within ~4-6 years "
        "(REFERENCE.md section 8: best 9.5-12 J/TH in 2026 vs the S21's 17.5)",
        "years the machines mine (the NPV horizon; no salvage value)",
        ge=1,
        le=30,
    )
    spur_usd_per_km: float = _f(
        1_000_000.0,
        "USD/km",
        "assumption: order of magnitude of a new 69-138 kV line; no cited figure",
        "cost of the new line a buying fleet builds to the grid (spur_km of the profile)",
        ge=0.0,
    )
    btc_price_growth_per_year: float = _f(
        0.0,
        "1/yr",
        "assumption: flat at the 2025 close (REFERENCE.md section 1), as the tool's own projection",
        "relative BTC price change a year over the machines' life",
        ge=-0.9,
        le=5.0,
    )
    levels: int = _f(
        20,
        "1",
        "choice: fleet sizes on a grid of wasted_mw x k / levels",
        "fleet size steps per site between 0 and its wasted MW",
        ge=1,
        le=200,
    )
    price_step_usd_mwh: float = _f(
        1.0,
        "USD/MWh",
        "choice: exact at grid prices, linear between",
        "step of the revenue grid the price-duration sums are tabulated on",
        gt=0.0,
    )
    price_max_usd_mwh: float = _f(
        600.0,
        "USD/MWh",
        "choice: above any revenue per MWh an S21 earns at BTC < $600k",
        "top of the revenue grid",
        gt=0.0,
    )
    iterations: int = _f(
        30,
        "1",
        "choice: the bracket on the fleet's hashrate closes to ~1e-6 of its first width",
        "steps solving the fleet and the hashprice together (bisection, false position every other "
        "step); the Monte Carlo takes 12 per draw",
        ge=1,
        le=200,
    )


Distribution = Literal["triangular", "uniform"]


class Range(_Model):
    """An uncertain input: ``low`` <= ``mode`` <= ``high`` (``mode`` ignored for uniform).

    The scenario's value of the input is the central case; the range should lie around it (a
    triangular mode at the central value). With ``relative = true`` the three numbers are
    multiples of the central value (e.g. 0.75 / 1 / 1.3), so moving the central value moves the
    band; an absolute range must bracket the central value or the scenario is refused."""

    dist: Distribution = "triangular"
    low: float
    mode: float | None = None
    high: float
    relative: bool = False
    source: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        mode = self.mode if self.mode is not None else self.low
        if not (self.low <= mode <= self.high):
            raise ValueError(f"need low <= mode <= high, got {self.low}, {self.mode}, {self.high}")
        if self.dist == "triangular" and self.mode is None:
            raise ValueError("a triangular range needs a mode")
        if self.relative and not (self.low <= 1.0 <= self.high):
            raise ValueError(
                f"a relative range must bracket 1 (the central value), got {self.low}..{self.high}"
            )
        return self

    def scaled(self, central: float) -> Range:
        """This range in absolute terms around ``central`` (itself when not relative)."""
        if not self.relative:
            return self
        mode = None if self.mode is None else self.mode * central
        return Range(
            dist=self.dist, low=self.low * central, mode=mode, high=self.high * central, source=self.source
        )


UNCERTAIN_INPUTS: dict[str, str] = {
    "capacity_scale": "multiplier on every site's mineable MW, drawn independently per category",
    "efficiency_scale": "multiplier on the ASIC's J/TH (fleet mix, firmware, ageing)",
    "pue": "power usage effectiveness",
    "network_ehs_scale": "multiplier on the network hashrate",
    "btc_price_usd": "bitcoin price, USD",
    "fees_btc_per_block": "mean fees per block, BTC",
    "energy_cost_scale": "multiplier on every site's energy cost (and on every bought hour's price)",
    "capex_scale": "multiplier on ASIC, site and spur-line capex (fleet economics)",
    "network_growth_per_year": "network hashrate growth a year (fleet economics)",
    "btc_price_growth_per_year": "BTC price change a year (fleet economics)",
}
"""Inputs the Monte Carlo and the sensitivity ranking may vary, with their meaning."""

_BOUNDS = {"uptime": (0.0, 1.0), "pue": (1.0, 10.0)}


def _site_ranges() -> dict[str, Range]:
    """Ranges of the site: surplus available (x), machine efficiency (x J/TH) and PUE."""
    return {
        "capacity_scale": Range(
            low=0.7,
            mode=1.0,
            high=1.3,
            source="judgement: how much of the modelled surplus is truly available (water rights, "
            "grid duty, minimum flows), +-30 %; no published figure",
        ),
        "efficiency_scale": Range(
            low=0.86,
            mode=1.0,
            high=1.14,
            source="around the S21's 17.5 J/TH: S21 Pro 15.0 (x0.86) to ~20 J/TH for a mixed, ageing "
            "fleet (x1.14); REFERENCE.md section 2",
        ),
        "pue": Range(
            low=1.03,
            mode=1.10,
            high=1.17,
            source="d-central.tech: immersion 1.03-1.10, optimised air ~1.10 (typical air 1.20-1.50)",
        ),
    }


def _network_ranges() -> dict[str, Range]:
    """Ranges of the network: hashrate (x EH/s), BTC price (x USD) and fees (BTC per block)."""
    return {
        "network_ehs_scale": Range(
            low=0.85,
            mode=1.0,
            high=1.15,
            source="903-948 EH/s in late March 2026 (x0.85-0.89, cryptois.money) to the Oct 2025 high "
            "1,151.6 EH/s (x1.08) and beyond; REFERENCE.md sections 1 and 8",
        ),
        "btc_price_usd": Range(
            low=0.75,
            mode=1.0,
            high=1.3,
            relative=True,
            source="around the 2025 close ~$87.5k: x0.75 ~ $65k (halving-day ~$63.8k, fxstreet.com) to "
            "x1.3 ~ $114k (Oct 2025 ATH $125.3k, ndtvprofit.com)",
        ),
        "fees_btc_per_block": Range(
            low=0.02,
            mode=0.036,
            high=0.052,
            source="2025 average 0.036 BTC (hashlabs.io); fee share fell 1.35 % -> 0.78 % in 2025 "
            "(CryptoQuant); +-0.016 BTC around it",
        ),
    }


def _trend_ranges() -> dict[str, Range]:
    """Ranges of costs and trends: energy cost and capex (x), network and BTC price growth (per year)."""
    return {
        "energy_cost_scale": Range(
            low=0.7,
            mode=1.0,
            high=1.3,
            source="judgement: +-30 % on every energy cost and market price (2023 vs 2024 hub prices "
            "differ by about that much)",
        ),
        "capex_scale": Range(
            low=0.85,
            mode=1.0,
            high=1.15,
            source="ASICs $15-20/TH around $17.5 (x0.86-1.14); sites $300-430 k/MW around $400 k "
            "(REFERENCE.md section 8)",
        ),
        "network_growth_per_year": Range(
            low=0.0,
            mode=0.13,
            high=0.26,
            source="around +12.8 %/yr (795.7 EH/s Jan 2025 -> ~925 EH/s Mar 2026, REFERENCE.md §1, §8): "
            "flat to +26 %/yr",
        ),
        "btc_price_growth_per_year": Range(
            low=-0.15,
            mode=0.0,
            high=0.15,
            source="assumption: +-15 %/yr around a flat price",
        ),
    }


def _default_ranges() -> dict[str, Range]:
    """The Monte Carlo's default ranges, each around the scenario's central value.

    Each range lies around the central value (a mode there, lows and highs on both sides), so
    the central case sits inside its own P10-P90.
    """
    return {**_site_ranges(), **_network_ranges(), **_trend_ranges()}


class UncertaintyConfig(_Model):
    """Seeded Monte Carlo over the uncertain inputs (bands P10/P50/P90) and the sensitivity ranking."""

    seed: int = _f(20_260_101, "", "choice", "random seed (same seed, same bands)", ge=0)
    draws: int = _f(
        8_192,
        "draws",
        "measured (scripts/bench.py, monte_carlo_convergence): with Sobol' draws, the smallest power "
        "of two whose seed-to-seed spread of P10 and P90 of fleet GW and BTC/yr keeps 9 pairs of seeds "
        "in 10 within 1 %",
        "Monte Carlo draws",
        ge=10,
        le=1_000_000,
    )
    ranges: dict[str, Range] = Field(default_factory=_default_ranges)

    @field_validator("ranges")
    @classmethod
    def _known(cls, v: dict[str, Range]) -> dict[str, Range]:
        unknown = sorted(set(v) - set(UNCERTAIN_INPUTS))
        if unknown:
            raise ValueError(f"unknown uncertain input(s) {unknown}; known: {sorted(UNCERTAIN_INPUTS)}")
        for name, (lo, hi) in _BOUNDS.items():
            r = v.get(name)
            if r is not None and not (lo <= r.low and r.high <= hi):
                raise ValueError(f"range of {name} must lie within {lo}..{hi}")
        for name, r in v.items():
            if name.endswith("_scale") or name in {"btc_price_usd"}:
                if not r.low > 0:
                    raise ValueError(f"range of {name} must be > 0")
            elif name.endswith("growth_per_year"):
                if not r.low > -0.9:
                    raise ValueError(f"range of {name} must be > -0.9")
            elif r.low < 0:
                raise ValueError(f"range of {name} must be >= 0")
        return v


class EstimatesConfig(_Model):
    """Everything the estimates stage needs; every field has a default (the base case)."""

    asic_model: str = _f(
        "Antminer S21",
        "",
        "Gate.io policy analysis of a US mining reserve: Antminer S21 machines",
        "ASIC model from the catalogue (gis.config.asics)",
    )
    pue: float = _f(
        1.10,
        "1",
        "d-central.tech: well-optimised air ~1.10, single-phase immersion 1.03-1.10",
        "power usage effectiveness: site power / IT power",
        ge=1.0,
        le=10.0,
    )
    uptime: float = _f(
        0.95,
        "1",
        "no fleet statistic found; 95 % as in the reference seed check (demand response, maintenance)",
        "share of the year a flat fleet mines (seed-claim check only; the national fleet's hours come "
        "from its hourly dispatch)",
        gt=0.0,
        le=1.0,
    )
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    market: MarketConfig = Field(default_factory=MarketConfig)
    carbon: CarbonConfig = Field(default_factory=CarbonConfig)
    projection: ProjectionConfig = Field(default_factory=ProjectionConfig)
    fleet: FleetConfig = Field(default_factory=FleetConfig)
    uncertainty: UncertaintyConfig = Field(default_factory=UncertaintyConfig)

    @field_validator("asic_model")
    @classmethod
    def _asic_known(cls, v: str) -> str:
        try:
            return asic_model(v).name
        except GisError as exc:
            raise ValueError(f"unknown ASIC model '{v}'; known: {', '.join(known_models())}") from exc

    @model_validator(mode="after")
    def _base_inside_ranges(self) -> EstimatesConfig:
        base = {
            "pue": self.pue,
            "btc_price_usd": self.market.btc_price_usd,
            "fees_btc_per_block": self.network.fees_btc_per_block,
            "network_growth_per_year": self.network.growth_per_year,
            "btc_price_growth_per_year": self.fleet.btc_price_growth_per_year,
        }
        for name, value in base.items():
            r = self.uncertainty.ranges.get(name)
            if r is not None and not r.relative and not (r.low <= value <= r.high):
                raise ValueError(
                    f"the base {name} {value} lies outside its uncertainty range {r.low}..{r.high}; "
                    f"move uncertainty.ranges.{name} to bracket it"
                )
        return self

    def with_network_ehs(self, hashrate_ehs: float) -> EstimatesConfig:
        """A copy with the network hashrate (EH/s) replaced, validated."""
        data = self.model_dump()
        data["network"]["hashrate_ehs"] = hashrate_ehs
        return EstimatesConfig.model_validate(data)


def _leaves(model: BaseModel, prefix: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    defaults = type(model)()
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, BaseModel):
            out.update(_leaves(value, key))
            continue
        if name == "ranges":
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = getattr(defaults, name)
        plain = value.isoformat() if isinstance(value, dt.date) else value
        out[key] = {
            "value": plain,
            "unit": extra.get("unit", ""),
            "meaning": info.description or "",
            "source": extra.get("source", "")
            if value == default
            else f"scenario value (the default {default!s} cites: {extra.get('source', '')})",
        }
    return out


def assumptions(config: EstimatesConfig) -> dict[str, dict]:
    """Every input of ``config`` as ``{dotted.name: {value, unit, meaning, source}}``, plus the
    Monte Carlo ranges; a value changed from the default says so and keeps the default's source."""
    out = _leaves(config, "")
    for name, r in config.uncertainty.ranges.items():
        out[f"uncertainty.ranges.{name}"] = {
            "value": {"dist": r.dist, "low": r.low, "mode": r.mode, "high": r.high, "relative": r.relative},
            "unit": "",
            "meaning": UNCERTAIN_INPUTS[name],
            "source": r.source,
        }
    return out
