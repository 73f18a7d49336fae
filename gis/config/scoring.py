"""The ``[scoring...]`` tables of a scenario: site models, grid limits, criteria, exclusions, stability.

Every model refuses unknown keys (``extra="forbid"``) and checks its invariants (fractions in
[0, 1], positive efficiencies, weights summing to 1) before any work starts, so a typo fails in
a second. The numbers themselves live in ``gis/scenarios/default.toml`` with their sources.

Units are in the field names: ``_mw`` megawatts, ``_kv`` kilovolts, ``_km`` kilometres,
``_twh_per_year`` terawatt-hours a year, ``_mj_m3`` megajoules per cubic metre,
``_usd_mwh`` US dollars per megawatt-hour, ``_t_per_mwh`` tonnes CO2 per megawatt-hour.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gis.config.vocabulary import CATEGORIES, OWNER_CLASSES, PLANT_STATUSES

__all__ = [
    "MEASURES",
    "AiConvertibleRule",
    "CarbonConfig",
    "CostConfig",
    "CriterionConfig",
    "ExclusionRule",
    "FederalHydroModel",
    "FlagsConfig",
    "FlareGasModel",
    "FlexibleLoadRule",
    "Fraction",
    "GaussianTransform",
    "InterconnectConfig",
    "InverseTransform",
    "LinearTransform",
    "LogisticTransform",
    "MilitaryBackupModel",
    "NationalGridConfig",
    "NonNegative",
    "NuclearSurplusModel",
    "OffshoreModel",
    "Positive",
    "RetiredCoalModel",
    "RoadConfig",
    "ScoringConfig",
    "SitesConfig",
    "StabilityConfig",
    "StepTransform",
    "StrandedModel",
    "Transform",
    "VoltageStep",
]

MEASURES = (
    "mineable_mw",
    "capacity_mw",
    "dist_tx_km",
    "tx_voltage_kv",
    "dist_sub_km",
    "headroom_mw",
    "energy_cost_usd_mwh",
    "co2_t_per_mwh",
    "lat_deg",
    "in_us",
    "dist_road_km",
)
"""Measures a criterion or an exclusion may read (see :func:`gis.measures.measure_sites`)."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- site (category) models


class FederalHydroModel(_Model):
    """Which federal dams are candidate sites; their spill is found hour by hour in :mod:`gis.energy`."""

    owner_classes: list[str] = ["federal_tva", "federal_usace", "federal_usbr"]
    include_pumped_storage: bool = False

    @field_validator("owner_classes")
    @classmethod
    def _known_owner_classes(cls, value: list[str]) -> list[str]:
        bad = sorted(set(value) - set(OWNER_CLASSES))
        if bad:
            raise ValueError(f"unknown owner class(es) {bad}; allowed: {list(OWNER_CLASSES)}")
        return value


class RetiredCoalModel(_Model):
    """``mineable_mw = retired capacity_mw x interconnect_reuse_fraction``.

    Retired plants count only if retired in or after ``retired_since`` (interconnection rights
    lapse a few years after retirement); retiring and retooled ones only if their month is on
    or before ``retiring_by``. A retooled plant's row gives the plant total, so only
    ``retooled_retired_share`` of it counts as retired MW.

    The grid connection a retired (or retiring) coal plant leaves behind can carry that share
    of the retired MW as a new load; the energy is then bought from the grid (``energy_fuel``).
    """

    statuses: list[str] = ["retired", "retiring", "retooled"]
    retired_since: str = "2018-01"
    retiring_by: str = "2030-12"
    retooled_retired_share: Fraction = 0.5
    interconnect_reuse_fraction: Fraction = 0.25
    energy_fuel: str = "grid_average"

    @field_validator("retired_since", "retiring_by")
    @classmethod
    def _month(cls, value: str) -> str:
        if len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdigit():
            raise ValueError(f"give a month as YYYY-MM, got {value!r}")
        return value

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: list[str]) -> list[str]:
        bad = sorted(set(value) - set(PLANT_STATUSES))
        if bad:
            raise ValueError(f"unknown plant status(es) {bad}; allowed: {list(PLANT_STATUSES)}")
        return value


class NuclearSurplusModel(_Model):
    """Operating reactors are candidate sites; their surplus (hours at or below zero price) is
    found in :mod:`gis.energy` (``[energy.categories.nuclear_surplus]``)."""


class MilitaryBackupModel(_Model):
    """Installations: ``mineable_mw = backup_mw(component) x joint_base_multiplier x usable_fraction``;
    military-operated plants: ``capacity_mw x (1 - capacity_factor) x plant_availability_fraction``.
    """

    backup_mw_by_component: dict[str, NonNegative] = {
        "Active": 5.0,
        "National Guard": 0.5,
        "Reserve": 0.5,
        "Unknown": 0.5,
    }
    joint_base_multiplier: Positive = 2.0
    usable_fraction: Fraction
    site_statuses: list[str] = ["Active", "Semi-Active"]
    energy_fuel: str = "diesel"
    include_military_plants: bool = True
    plant_availability_fraction: Fraction = 0.5
    default_capacity_factor: Fraction = 0.3


class OffshoreModel(_Model):
    """Platforms: BSEE wells of ``well_statuses`` in ``regions`` clustered within
    ``platform_eps_km`` (DBSCAN, EPSG:5070); a platform cluster with an offshore VNF flare within
    ``flare_match_km`` takes that flare's gas, otherwise ``default_platform_mw`` (low confidence).
    """

    well_statuses: list[str] = ["COM"]
    regions: list[str] = ["G"]
    platform_eps_km: Positive = 1.0
    min_wells: int = Field(default=3, ge=1)
    flare_match_km: Positive = 10.0
    platforms_without_flare: bool = False
    default_platform_mw: NonNegative = 0.5


class FlareGasModel(_Model):
    """``mineable_mw = volume_bcm x 1e9 m3 x heating_value_mj_m3 x genset_efficiency x capture_fraction
    / 3.1536e7 s / 1 MJ/s-per-MW`` (1 bcm/yr ~ 0.4 GW electric at 38 MJ/m3 and 33 %).

    Flares (latest survey year per cluster; clusters with a flare typed outside ``flare_types``
    in any survey are dropped) are clustered with DBSCAN
    (``cluster_eps_km`` in EPSG:5070 metres, ``min_samples`` 1) into minable sites.
    """

    flare_types: list[str] = ["upstream", "flare"]
    latest_survey_only: bool = True
    cluster_eps_km: Positive = 2.0
    heating_value_mj_m3: Positive = 38.0
    genset_efficiency: Annotated[float, Field(gt=0.0, le=1.0)] = 0.35
    capture_fraction: Fraction = 0.8
    co2_kg_per_mmbtu: Positive = 53.06
    offshore: OffshoreModel = OffshoreModel()


class StrandedModel(_Model):
    """Which wind and solar plants are candidates; their curtailed energy is placed in hours by
    :mod:`gis.energy` (``[[energy.curtailment]]``).

    ``curtailment_table``: optional CSV ``plant_id,curtailed_mwh_per_year`` that overrides the
    market allocation for the plants it lists (e.g. from CAISO or ERCOT plant-level data).
    """

    min_capacity_mw: NonNegative = 1.0
    curtailment_table: str = ""


class SitesConfig(_Model):
    """One model per candidate-site category."""

    federal_hydro: FederalHydroModel = FederalHydroModel()
    retired_coal: RetiredCoalModel = RetiredCoalModel()
    nuclear_surplus: NuclearSurplusModel = NuclearSurplusModel()
    military_backup: MilitaryBackupModel
    flare_gas: FlareGasModel = FlareGasModel()
    stranded: StrandedModel = StrandedModel()


# ---------------------------------------------------------------- grid, costs, carbon


class VoltageStep(_Model):
    """Lines of ``min_kv`` and above can take ``headroom_mw`` of new load."""

    min_kv: NonNegative
    headroom_mw: NonNegative


class InterconnectConfig(_Model):
    """Interconnection headroom by voltage class and the rules for shared interconnects."""

    headroom_by_voltage: list[VoltageStep]
    unknown_voltage_headroom_mw: NonNegative = 50.0
    shared_substation_km: NonNegative = 5.0
    colocated_km: NonNegative = 1.0
    no_line_data_states: list[str] = ["HI", "PR", "GU", "VI", "AS", "MP"]

    @field_validator("headroom_by_voltage")
    @classmethod
    def _sorted_steps(cls, value: list[VoltageStep]) -> list[VoltageStep]:
        if not value:
            raise ValueError("give at least one voltage step")
        kv = [s.min_kv for s in value]
        mw = [s.headroom_mw for s in value]
        if kv != sorted(kv) or len(set(kv)) != len(kv):
            raise ValueError(f"min_kv must increase strictly, got {kv}")
        if mw != sorted(mw):
            raise ValueError(f"headroom_mw must not fall as voltage rises, got {mw}")
        return value


class CostConfig(_Model):
    """Energy cost proxy: ``usd_mwh[category] + state_adder_usd_mwh[state]``."""

    usd_mwh: dict[str, NonNegative]
    state_adder_usd_mwh: dict[str, float] = {}

    @field_validator("usd_mwh")
    @classmethod
    def _every_category(cls, value: dict[str, float]) -> dict[str, float]:
        missing = sorted(set(CATEGORIES) - set(value))
        if value and missing:
            raise ValueError(f"give a cost for every category; missing {missing}")
        _check_categories(list(value))
        return value


class CarbonConfig(_Model):
    """Emission factor of the energy a site uses, t CO2 per MWh, by energy fuel."""

    t_per_mwh: dict[str, NonNegative]


class RoadConfig(_Model):
    """Road distance through OpenStreetMap (gis.layers.osm); off by default (network, slow)."""

    enabled: bool = False


# ---------------------------------------------------------------- criteria and transforms


class LinearTransform(_Model):
    """0 at ``low``, 1 at ``high`` (falling when ``high < low``), clipped to [0, 1]."""

    kind: Literal["linear"]
    low: float
    high: float

    @model_validator(mode="after")
    def _distinct(self) -> LinearTransform:
        if self.low == self.high:
            raise ValueError("linear transform needs low != high")
        return self


class InverseTransform(_Model):
    """``half / (half + x)``: 1 at x = 0, 0.5 at x = half, falling towards 0 (x < 0 clipped)."""

    kind: Literal["inverse"]
    half: Positive


class LogisticTransform(_Model):
    """``1 / (1 + exp(-(x - midpoint) / scale))``: rising (falling when ``decreasing``)."""

    kind: Literal["logistic"]
    midpoint: float
    scale: Positive
    decreasing: bool = False


class StepTransform(_Model):
    """``values[i]`` for ``breaks[i-1] <= x < breaks[i]``; values monotone, each in [0, 1]."""

    kind: Literal["step"]
    breaks: list[float]
    values: list[Fraction]

    @model_validator(mode="after")
    def _shape(self) -> StepTransform:
        if len(self.values) != len(self.breaks) + 1:
            raise ValueError("a step transform needs one more value than breaks")
        if self.breaks != sorted(self.breaks):
            raise ValueError(f"step breaks must increase, got {self.breaks}")
        v = self.values
        if v != sorted(v) and v != sorted(v, reverse=True):
            raise ValueError(f"step values must be monotone, got {v}")
        return self


class GaussianTransform(_Model):
    """``exp(-0.5 ((x - center) / width)^2)``: 1 at center (not monotone)."""

    kind: Literal["gaussian"]
    center: float
    width: Positive


Transform = Annotated[
    LinearTransform | InverseTransform | LogisticTransform | StepTransform | GaussianTransform,
    Field(discriminator="kind"),
]


class CriterionConfig(_Model):
    """One criterion: the measure it reads, its 0..1 transform and its weight.

    ``missing`` is the sub-score of a site whose measure is NaN (0.5 = neutral); ``offgrid``
    (when set) is the sub-score of off-grid sites, for which a grid measure does not apply.
    """

    measure: str
    transform: Transform

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, value: str) -> str:
        return _check_measure(value)

    weight: Fraction
    missing: Fraction = 0.5
    offgrid: Fraction | None = None


class ExclusionRule(_Model):
    """Exclude a site when its ``measure`` is below ``min`` or above ``max`` (NaN never excludes),
    for the listed ``categories`` (all when empty)."""

    measure: str
    min: float | None = None

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, value: str) -> str:
        return _check_measure(value)

    max: float | None = None
    categories: list[str] = []
    reason: str

    @model_validator(mode="after")
    def _bound(self) -> ExclusionRule:
        if self.min is None and self.max is None:
            raise ValueError(f"exclusion '{self.reason}' needs min or max")
        _check_categories(self.categories)
        return self


class StabilityConfig(_Model):
    """Monte Carlo over the weights: Dirichlet draws around them (mean = the weights,
    ``concentration`` = sum of the Dirichlet parameters; larger = tighter)."""

    draws: int = Field(default=1000, ge=1)
    top_n: int = Field(default=50, ge=1)
    seed: int = 20250306
    concentration: Positive = 50.0


class FlexibleLoadRule(_Model):
    """``flexible_load``: grid-connected, at least ``min_mineable_mw`` and ``min_voltage_kv``,
    category in ``categories``."""

    categories: list[str]
    min_mineable_mw: NonNegative
    min_voltage_kv: NonNegative
    max_dist_tx_km: NonNegative


class AiConvertibleRule(_Model):
    """``ai_convertible``: onshore, not excluded, at least ``min_mineable_mw`` and ``min_voltage_kv``
    within ``max_dist_tx_km`` of that line, category in ``categories``."""

    categories: list[str]
    min_mineable_mw: NonNegative
    min_voltage_kv: NonNegative
    max_dist_tx_km: NonNegative


class FlagsConfig(_Model):
    flexible_load: FlexibleLoadRule
    ai_convertible: AiConvertibleRule


class NationalGridConfig(_Model):
    """Grid mode: a regular national grid of square cells (EPSG:5070) scored for stranded wind/solar.

    Per cell (``cell_km`` square, centre inside a state not in ``exclude_states``), from the
    resource raster sampled at the cell centre::

        solar_mw  = cell_km2 x solar_land_fraction x solar_mw_per_km2
        solar_avg = solar_mw x ghi_kwh_m2_day x solar_performance_ratio / 24 h
        wind_mw   = cell_km2 x wind_land_fraction x wind_mw_per_km2
        wind_avg  = wind_mw x interp(wind_class, wind_classes, wind_capacity_factors)
        asset_mw  = the average MW of ``resource`` ("best": the larger of the two)

    Cells are written as their own layer (``grid_cells``), never added to the national estimates.
    """

    enabled: bool = False
    cell_km: Positive = 5.0
    resource: Literal["best", "solar", "wind"] = "best"
    raster: str = ""
    raster_res_deg: Positive = 0.25
    exclude_states: list[str] = ["AK", "HI", "PR"]
    min_ghi_kwh_m2_day: NonNegative
    min_wind_class: NonNegative
    solar_land_fraction: Fraction = 0.02
    solar_mw_per_km2: Positive = 31.0
    solar_performance_ratio: Fraction = 0.8
    wind_land_fraction: Fraction = 0.1
    wind_mw_per_km2: Positive = 3.0
    wind_classes: list[float] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    wind_capacity_factors: list[Fraction] = [0.10, 0.18, 0.27, 0.33, 0.38, 0.42, 0.45]
    max_cells: int = Field(default=5_000_000, ge=1)
    chunk_rows: int = Field(default=250_000, ge=1)

    @model_validator(mode="after")
    def _wind_table(self) -> NationalGridConfig:
        if len(self.wind_classes) != len(self.wind_capacity_factors) or not self.wind_classes:
            raise ValueError("wind_classes and wind_capacity_factors need the same, non-zero length")
        if self.wind_classes != sorted(self.wind_classes):
            raise ValueError(f"wind_classes must increase, got {self.wind_classes}")
        return self


class ScoringConfig(_Model):
    """The whole ``[scoring]`` table.

    Tables without a default here take theirs from ``gis/scenarios/default.toml`` (the only source of
    default values; ``tests/test_config_defaults.py`` checks that the defaults left here equal it).
    """

    sites: SitesConfig
    grid: InterconnectConfig
    costs: CostConfig
    carbon: CarbonConfig
    roads: RoadConfig = RoadConfig()
    criteria: dict[str, CriterionConfig]
    exclusions: list[ExclusionRule]
    stability: StabilityConfig = StabilityConfig()
    flags: FlagsConfig
    national_grid: NationalGridConfig

    @field_validator("criteria")
    @classmethod
    def _weights_sum_to_one(cls, value: dict[str, CriterionConfig]) -> dict[str, CriterionConfig]:
        if not value:
            raise ValueError("give at least one criterion")
        bad = [name for name in value if not name.isidentifier() or name != name.lower()]
        if bad:
            raise ValueError(f"criterion names must be lower-case identifiers, got {bad}")
        total = sum(c.weight for c in value.values())
        if abs(total - 1.0) > 1e-9:
            listing = ", ".join(f"{name}={c.weight:g}" for name, c in value.items())
            raise ValueError(f"criterion weights must sum to 1, they sum to {total:.6g} ({listing})")
        return value

    @model_validator(mode="after")
    def _factors_known(self) -> ScoringConfig:
        fuels = {self.sites.retired_coal.energy_fuel, self.sites.military_backup.energy_fuel}
        if self.carbon.t_per_mwh:
            missing = sorted(f for f in fuels if f not in self.carbon.t_per_mwh)
            if missing:
                raise ValueError(f"carbon.t_per_mwh lacks the energy fuel(s) {missing}")
        return self


def _check_categories(value: list[str]) -> list[str]:
    bad = sorted(set(value) - set(CATEGORIES))
    if bad:
        raise ValueError(f"unknown categor(y/ies) {bad}; allowed: {list(CATEGORIES)}")
    return value


def _check_measure(value: str) -> str:
    if value not in MEASURES:
        raise ValueError(f"unknown measure '{value}'; allowed: {list(MEASURES)}")
    return value
