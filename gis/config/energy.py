"""The ``[energy]`` table of a scenario: reference year, market nodes, and the surplus model per category.

Every model refuses unknown keys and checks its invariants before any work starts. The numbers
live in ``gis/scenarios/default.toml`` with their sources; the defaults here only make the models
constructible in tests and must equal the TOML (a test checks it).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CategoryEnergy",
    "CurtailmentRegion",
    "EnergyConfig",
    "NodeRule",
    "PublishedFigure",
    "RegionIntensity",
]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class NodeRule(_Model):
    """A site matches when its balancing authority is in ``balancing_authorities`` (or, having no
    balancing authority, its state is in ``fallback_states``), its state is in ``states`` (when
    given) and it lies in the box; the first matching rule gives its market node.

    ``proxy`` names the region when ``node`` is a neighbouring market's hub used for lack of the
    region's own hourly prices (low confidence); ``source`` says why that neighbour.
    """

    node: str
    balancing_authorities: list[str] = []
    fallback_states: list[str] = []
    states: list[str] = []
    lat_min: float = -90.0
    lat_max: float = 90.0
    lon_min: float = -180.0
    lon_max: float = 180.0
    proxy: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _something_to_match(self) -> NodeRule:
        if not self.balancing_authorities and not self.fallback_states:
            raise ValueError(f"node rule {self.node}: give balancing_authorities or fallback_states")
        if ":" not in self.node:
            raise ValueError(f"node {self.node!r} must read MARKET:HUB, e.g. ERCOT:HB_WEST")
        return self


class CurtailmentRegion(_Model):
    """Curtailed wind and solar energy of one market a year, placed in hours by :mod:`gis.energy.stranded`.

    ``twh_per_year`` is used when the market has no daily curtailment series
    (``curtailment_daily`` layer); ``solar_share`` splits it (None: by the region's wind/solar MW).
    """

    name: str
    markets: list[str]
    twh_per_year: NonNegative | None = None
    solar_share: Fraction | None = None
    source: str = ""


class CategoryEnergy(_Model):
    """How one category's wasted energy is found (see each category's docstring in gis.energy)."""

    flexible_share: Fraction = 0.0
    wasted_cost_usd_mwh: NonNegative = 0.0
    can_buy: bool = False
    source: str = ""


class RegionIntensity(_Model):
    """Average t CO2 per MWh of a market without hourly fuel mix in the data."""

    market: str
    t_per_mwh: NonNegative
    source: str = ""


class PublishedFigure(_Model):
    """A published figure for a quantity the energy stage computes, shown beside it."""

    label: str
    categories: list[str]
    scope: str = ""
    quantity: str
    value: float
    low: float | None = None
    high: float | None = None
    source: str

    @model_validator(mode="after")
    def _known_quantity(self) -> PublishedFigure:
        allowed = ("twh_per_year", "avg_gw", "peak_mw_per_site")
        if self.quantity not in allowed:
            raise ValueError(f"quantity must be one of {allowed}, got {self.quantity!r}")
        return self


class EnergyConfig(_Model):
    """The whole ``[energy]`` table.

    Tables and sources without a default here take theirs from ``gis/scenarios/default.toml`` (the only
    source of default values; ``tests/test_config_defaults.py`` checks the defaults left here equal it).
    """

    reference_year: int = Field(2024, ge=2000, le=2100)
    price_kind: str = "rt"
    surplus_price_usd_mwh: float = 0.0
    proxy_counts_surplus: bool = False
    fallback_price_usd_mwh: NonNegative = 45.0
    fallback_price_source: str
    nodes: list[NodeRule]
    curtailment: list[CurtailmentRegion]
    categories: dict[str, CategoryEnergy]
    military_engine_hours: NonNegative = 50.0
    intensity: list[RegionIntensity]
    default_intensity_t_per_mwh: NonNegative = 0.367
    fuel_t_per_mwh: dict[str, NonNegative]
    published: list[PublishedFigure]

    @model_validator(mode="after")
    def _known(self) -> EnergyConfig:
        if self.price_kind not in ("rt", "da"):
            raise ValueError(f"price_kind must be 'rt' or 'da', got {self.price_kind!r}")
        return self
