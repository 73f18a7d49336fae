"""The column registry: every canonical layer's columns, defined once, with dtype, unit and meaning.

Code, files and documentation read the same definitions, so ``capacity_mw`` cannot mean two
things (compare reV's output column enum). :func:`validate` checks a frame against its schema
at load time and fails with a message that names the source file, the column and the fix.

Units: ``MW`` megawatts (electric), ``kV`` kilovolts, ``km`` kilometres, ``bcm/yr`` billion
cubic metres per year, ``GWh`` gigawatt-hours, ``EH/s`` exahashes per second, ``TH/s``
terahashes per second, ``J/TH`` joules per terahash, ``1`` dimensionless fraction 0..1,
``deg`` decimal degrees (EPSG:4326), ``BTC/yr`` bitcoin a year, ``t CO2/MWh`` tonnes of CO2
per megawatt-hour, ``USD`` US dollars, ``h/yr`` hours a year, empty for text, identifiers and
counts.

The same module holds the registry of the keys of ``estimates.json`` (:class:`Key`,
:func:`register_keys`, :func:`unregistered_keys`): every figure the estimate stage writes has a
unit and a meaning here. ``docs/columns.md`` is generated from both registries
(``python scripts/columns_doc.py``).

Examples
--------
>>> schema = LayerSchema("demo", "a demo table", None, (Column("mw", "float64", "MW", "power", digits=1),))
>>> schema.column("mw").unit, schema.column("mw").digits
('MW', 1)
>>> schema_table(schema).to_dict("records")
[{'column': 'mw', 'dtype': 'float64', 'unit': 'MW', 'meaning': 'power'}]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import STORAGE_CRS
from gis.config.vocabulary import FUELS, OWNER_CLASSES, PLANT_STATUSES
from gis.errors import GisError

__all__ = [
    "DTYPES",
    "KEY_REGISTRY",
    "LAYER_SCHEMAS",
    "SCHEMA_REGISTRY",
    "Column",
    "Key",
    "LayerSchema",
    "column_spec",
    "key_spec",
    "register",
    "register_keys",
    "schema_table",
    "unregistered_keys",
    "validate",
]

DTYPES = {"str", "int64", "Int64", "float64", "bool"}


@dataclass(frozen=True)
class Column:
    """One column of a registered table.

    ``dtype`` is one of ``str``, ``int64`` (no missing values), ``Int64`` (nullable integer),
    ``float64`` (NaN for unknown) or ``bool``; ``unit`` follows the module docstring.

    Examples
    --------
    >>> Column("btc_per_year", "float64", "BTC/yr", "bitcoin mined a year", title="Bitcoin mined").title
    'Bitcoin mined'
    """

    name: str
    dtype: str
    unit: str
    description: str
    required: bool = True
    bounds: tuple[float, float] | None = None
    """Plausible range (inclusive) of a numeric column; values outside it are refused."""
    title: str = ""
    """Words for the column (popups, report tables, GeoPackage field titles); empty: from the name."""
    digits: int | None = None
    """Decimals shown in the spreadsheet (the stored value keeps full precision); None: by unit."""
    csv_digits: int | None = None
    """Decimals kept in the ranked CSV files (deterministic text); None: not rounded."""

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name}: unknown dtype {self.dtype}")


@dataclass(frozen=True)
class LayerSchema:
    """A canonical layer: its columns, geometry type (None for a plain table) and key."""

    name: str
    description: str
    geometry: tuple[str, ...] | None
    columns: tuple[Column, ...]
    key: str | None = None
    extra_prefixes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        """Names of the columns, in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``; :class:`KeyError` if the schema has none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(
    name: str,
    dtype: str,
    unit: str,
    description: str,
    required: bool = True,
    bounds: tuple[float, float] | None = None,
) -> Column:
    return Column(name, dtype, unit, description, required, bounds)


PLANT_MW_BOUNDS = (0.0, 10_000.0)
"""Plausible nameplate of one plant (MW): the largest US plant, Grand Coulee, has 6,809 MW."""


PLANTS = LayerSchema(
    name="plants",
    description=(
        "US power plants, one row per EIA plant code. Merged from the EIA Energy Atlas (Nov 2023: "
        "name, operator, state, nameplate and summer MW, technology), WRI GPPD (EIA-923 net "
        "generation 2013-2019, commissioning year) and EIA-860 2019 (grid voltage, balancing "
        "authority), with EIA-860M Dec 2025 status joined on."
    ),
    geometry=("Point",),
    key="plant_id",
    columns=(
        _c("plant_id", "int64", "", "EIA plant code (ORISPL)"),
        _c("name", "str", "", "plant name"),
        _c("owner", "str", "", "operator / utility name as reported to EIA-860 (not the equity owners)"),
        _c("owner_class", "str", "", "operator class: " + ", ".join(OWNER_CLASSES)),
        _c("fuel", "str", "", "primary energy source: " + ", ".join(FUELS)),
        _c("technology", "str", "", "EIA technology / prime mover description", required=False),
        _c("capacity_mw", "float64", "MW", "nameplate capacity", bounds=PLANT_MW_BOUNDS),
        _c("summer_capacity_mw", "float64", "MW", "net summer capacity", required=False),
        _c("generation_gwh", "float64", "GWh", "annual net generation of generation_year (EIA-923)"),
        _c("generation_year", "Int64", "", "year of generation_gwh"),
        _c("capacity_factor", "float64", "1", "generation_gwh / (capacity_mw x 8.76); NaN if unknown"),
        _c(
            "capacity_factor_max",
            "float64",
            "1",
            "capacity factor of the plant's best (for hydro: wettest) year 2013-2019 (EIA-923 via GPPD); NaN if unknown",
            required=False,
        ),
        _c("commissioning_year", "float64", "", "capacity-weighted commissioning year (WRI)"),
        _c("state", "str", "", "two-letter state code"),
        _c("status", "str", "", "operating state: " + ", ".join(PLANT_STATUSES)),
        _c("retirement_date", "str", "", "retirement month YYYY-MM (actual or planned); empty if none"),
        _c("grid_voltage_kv", "float64", "kV", "highest grid interconnection voltage (EIA-860 2019)"),
        _c("balancing_authority", "str", "", "balancing authority code (EIA-860 2019)", required=False),
        _c("nerc_region", "str", "", "NERC region (EIA-860 2019)", required=False),
        _c("sources", "str", "", "catalog sources that contributed to this row, ';'-separated"),
    ),
)

PLANT_STATUS = LayerSchema(
    name="plant_status",
    description=(
        "EIA-860M (Dec 2025) plants of 50 MW or more with their operating / retiring / retired / "
        "retooled status, joined to plants by name, state and distance (no shared id exists)."
    ),
    geometry=("Point",),
    key="status_id",
    columns=(
        _c("status_id", "int64", "", "row number in the source file"),
        _c("name", "str", "", "plant name"),
        _c("state", "str", "", "two-letter state code"),
        _c("technology", "str", "", "EIA technology of the generators with the most MW"),
        _c("fuel", "str", "", "primary energy source: " + ", ".join(FUELS)),
        _c("status", "str", "", "operating state: " + ", ".join(PLANT_STATUSES)),
        _c(
            "capacity_mw",
            "float64",
            "MW",
            "nameplate MW of the generators on that EIA-860M sheet",
            bounds=PLANT_MW_BOUNDS,
        ),
        _c("retirement_date", "str", "", "retirement month YYYY-MM (actual or planned)"),
        _c("owner", "str", "", "operator with the most MW"),
        _c("utility_id", "Int64", "", "EIA utility id of that operator"),
        _c("plant_id", "Int64", "", "EIA plant code of the joined plants row; empty if not joined"),
        _c("join_method", "str", "", "how joined: plant_id, exact_name, fuzzy_name, nearest, none"),
        _c("join_dist_km", "float64", "km", "distance to the joined plant"),
    ),
)

TRANSMISSION_LINES = LayerSchema(
    name="transmission_lines",
    description="High-voltage transmission lines (HIFLD national where available, else GridKit/OSM).",
    geometry=("LineString", "MultiLineString"),
    key="line_id",
    columns=(
        _c("line_id", "str", "", "source-prefixed id, e.g. hifld:123 or gridkit:456"),
        Column(
            "voltage_kv",
            "float64",
            "kV",
            "operating voltage (highest if several); NaN if unknown",
            title="Voltage",
        ),
        _c(
            "volt_class",
            "str",
            "",
            "HIFLD voltage class or derived: UNDER 100, 100-161, 220-287, 345, 500, 735 AND ABOVE, NOT AVAILABLE",
        ),
        _c("owner", "str", "", "owner / operator; empty if unknown"),
        _c("length_km", "float64", "km", "geodesic length"),
        _c("source", "str", "", "catalog source name"),
    ),
)

SUBSTATIONS = LayerSchema(
    name="substations",
    description="Substations and stations (HIFLD where available, else GridKit/OSM vertices).",
    geometry=("Point",),
    key="substation_id",
    columns=(
        _c("substation_id", "str", "", "source-prefixed id"),
        _c("name", "str", "", "name; empty if unknown"),
        Column("voltage_kv", "float64", "kV", "highest voltage; NaN if unknown", title="Voltage"),
        _c("kind", "str", "", "substation, station, plant, joint (source type)"),
        _c("operator", "str", "", "operator; empty if unknown"),
        _c("source", "str", "", "catalog source name"),
    ),
)

FLARE_SITES = LayerSchema(
    name="flare_sites",
    description="US gas flare sites detected by VIIRS Nightfire, one row per site and survey year.",
    geometry=("Point",),
    key="flare_id",
    columns=(
        _c("flare_id", "str", "", "source-prefixed id, e.g. vnf2017:8855"),
        _c("year", "int64", "", "survey year of volume_bcm"),
        _c("volume_bcm", "float64", "bcm/yr", "flared gas volume, billion m3 per year"),
        _c("avg_temp_k", "float64", "K", "mean flame temperature"),
        _c("detection_freq", "float64", "1", "share of clear observations with a detection"),
        _c("flare_type", "str", "", "upstream, downstream, refinery, lng, flare, gas (as the survey says)"),
        _c("setting", "str", "", "onshore or offshore"),
        _c("basin", "str", "", "EIA shale basin the site lies in; empty if none"),
        _c("state", "str", "", "two-letter state code; empty offshore"),
        _c("source", "str", "", "catalog source name"),
    ),
)

FLARE_BASINS = LayerSchema(
    name="flare_basins",
    description="EIA Lower-48 shale basins/plays with satellite-modelled flared gas (Flaring Monitor).",
    geometry=("Polygon", "MultiPolygon"),
    key="basin_id",
    columns=(
        _c("basin_id", "int64", "", "polygon id in the source"),
        _c("basin", "str", "", "basin name"),
        _c("shale_play", "str", "", "play name"),
        _c("area_km2", "float64", "km2", "area"),
        _c(
            "flared_bcm_2020",
            "float64",
            "bcm/yr",
            "VIIRS-modelled flared gas in 2020 for the basin (all its plays); NaN if not covered",
        ),
        _c("source", "str", "", "catalog source name"),
    ),
)

OFFSHORE_WELLS = LayerSchema(
    name="offshore_wells",
    description="BSEE Outer Continental Shelf boreholes in the Gulf (surface locations).",
    geometry=("Point",),
    key="api_well_number",
    columns=(
        _c("api_well_number", "int64", "", "12-digit API well number"),
        _c("well_name", "str", "", "well name"),
        _c("operator", "str", "", "operator (COMPANY_NAME)"),
        _c("status_code", "str", "", "BSEE borehole status code (COM completed, PA abandoned, TA, ST, ...)"),
        _c("well_type", "str", "", "D development, E exploratory"),
        _c("water_depth_ft", "float64", "ft", "water depth"),
        _c("spud_year", "Int64", "", "year drilling began"),
        _c("status_year", "Int64", "", "year of the status"),
        _c("region", "str", "", "BSEE region code"),
    ),
)

MILITARY_SITES = LayerSchema(
    name="military_sites",
    description="DoD installations (MIRTA points).",
    geometry=("Point",),
    key="site_id",
    columns=(
        _c("site_id", "int64", "", "row number in the source"),
        _c("name", "str", "", "site name"),
        _c("branch", "str", "", "service branch"),
        _c("component", "str", "", "Active, National Guard, Reserve, Unknown"),
        _c("site_status", "str", "", "Active, Caretaker, Closed, Excess, Semi-Active"),
        _c("joint_base", "bool", "", "joint base"),
        _c("state", "str", "", "two-letter state code"),
    ),
)

RESOURCE_GRID = LayerSchema(
    name="resource_grid",
    description="NREL solar (GHI) and wind power class on a 1-degree grid (contiguous US).",
    geometry=("Polygon",),
    key="cell_id",
    columns=(
        _c("cell_id", "str", "", "lon_lat of the cell's south-west corner"),
        _c(
            "ghi_kwh_m2_day", "float64", "kWh/m2/day", "annual mean global horizontal irradiance; NaN if none"
        ),
        _c("wind_class", "float64", "", "NREL 50 m wind power class 1-7; NaN if none"),
    ),
)

STATES = LayerSchema(
    name="states",
    description="US states (Census cartographic boundaries) with NREL technical potential.",
    geometry=("Polygon", "MultiPolygon"),
    key="state",
    columns=(
        _c("state", "str", "", "two-letter state code"),
        _c("state_fips", "str", "", "two-digit FIPS code"),
        _c("name", "str", "", "state name"),
        _c("land_area_km2", "float64", "km2", "land area"),
        _c(
            "pv_potential_gw",
            "float64",
            "GW",
            "NREL rural utility-scale PV technical potential",
            required=False,
        ),
        _c("wind_potential_gw", "float64", "GW", "NREL onshore wind technical potential", required=False),
    ),
)

COUNTIES = LayerSchema(
    name="counties",
    description="US counties (Census cartographic boundaries).",
    geometry=("Polygon", "MultiPolygon"),
    key="geoid",
    columns=(
        _c("geoid", "str", "", "five-digit FIPS code"),
        _c("state_fips", "str", "", "two-digit state FIPS"),
        _c("county_fips", "str", "", "three-digit county FIPS"),
        _c("name", "str", "", "county name"),
        _c("state", "str", "", "two-letter state code"),
        _c("land_area_km2", "float64", "km2", "land area"),
    ),
)

BTC_NETWORK = LayerSchema(
    name="btc_network",
    description="Bitcoin network history: daily hashrate and difficulty (Blockchain.com, Coin Metrics).",
    geometry=None,
    key="date",
    columns=(
        _c("date", "str", "", "day, YYYY-MM-DD"),
        _c("hashrate_ehs", "float64", "EH/s", "estimated network hashrate; NaN if unknown"),
        _c("difficulty", "float64", "", "mining difficulty; NaN if unknown"),
        _c("source", "str", "", "catalog source(s) of the row"),
    ),
)

ASIC_MODELS = LayerSchema(
    name="asic_models",
    description="SHA-256 ASIC models with nameplate hashrate and power.",
    geometry=None,
    key="model",
    columns=(
        _c("model", "str", "", "maker and model"),
        _c("maker", "str", "", "manufacturer"),
        _c("hashrate_ths", "float64", "TH/s", "nameplate hashrate"),
        _c("power_w", "float64", "W", "wall power at nameplate hashrate"),
        _c("efficiency_j_th", "float64", "J/TH", "power_w / hashrate_ths"),
        _c("release_year", "Int64", "", "year released"),
        _c("source", "str", "", "where the figures come from"),
    ),
)

MARKET_PRICES = LayerSchema(
    name="market_prices",
    description=(
        "Hourly wholesale hub prices (EIA market portal RT; ERCOT and CAISO OASIS DA), long format, "
        "key (node, kind, hour_utc); missing hours are absent rows, never zeros."
    ),
    geometry=None,
    columns=(
        _c("node", "str", "", "<MARKET>:<HUB>, e.g. ERCOT:HB_WEST, CAISO:SP15, PJM:WESTERN_HUB"),
        _c("market", "str", "", "ISO: ERCOT, CAISO, SPP, MISO or PJM"),
        _c("kind", "str", "", "rt (real-time) or da (day-ahead)"),
        _c("hour_utc", "str", "", "hour beginning in UTC, YYYY-MM-DDTHH:00Z"),
        _c(
            "price_usd_mwh",
            "float64",
            "$/MWh",
            "mean LMP of the intervals present in the hour",
            bounds=(-10_000.0, 20_000.0),
        ),
        _c("intervals", "int64", "", "intervals present in the hour", bounds=(1, 12)),
        _c("intervals_expected", "int64", "", "intervals per hour: 12 (5-min), 4 (15-min), 1 (hourly)"),
    ),
)

MARKET_MIX = LayerSchema(
    name="market_mix",
    description=(
        "Hourly ISO generation by fuel and load (EIA market portal), key (region, hour_utc); "
        "NaN where the source has no such column or hour."
    ),
    geometry=None,
    columns=(
        _c("market", "str", "", "ISO: ERCOT, MISO or PJM"),
        _c("region", "str", "", "ERCOT, ERCOT:<wind region>, MISO, MISO:CENTRAL|NORTH|SOUTH or PJM"),
        _c("hour_utc", "str", "", "hour beginning in UTC, YYYY-MM-DDTHH:00Z"),
        _c("coal_mw", "float64", "MW", "coal generation, hourly mean"),
        _c("gas_mw", "float64", "MW", "gas generation (ERCOT: Gas + Gas-CC), hourly mean"),
        _c("nuclear_mw", "float64", "MW", "nuclear generation, hourly mean"),
        _c("hydro_mw", "float64", "MW", "hydro generation, hourly mean"),
        _c("wind_mw", "float64", "MW", "wind generation, hourly mean"),
        _c("solar_mw", "float64", "MW", "solar generation, hourly mean"),
        _c("oil_mw", "float64", "MW", "oil generation, hourly mean (PJM only)"),
        _c("other_mw", "float64", "MW", "other, biomass, multiple fuels, other renewables, hourly mean"),
        _c("storage_mw", "float64", "MW", "storage output (ERCOT WSL: negative while charging)"),
        _c("total_mw", "float64", "MW", "total generation, hourly mean"),
        _c("load_mw", "float64", "MW", "actual load, hourly mean (ERCOT only)", required=False),
    ),
)

CURTAILMENT_DAILY = LayerSchema(
    name="curtailment_daily",
    description="Daily wind and solar curtailment (CAISO), key (market, date); NaN where unknown.",
    geometry=None,
    columns=(
        _c("market", "str", "", "ISO: CAISO"),
        _c("date", "str", "", "local day, YYYY-MM-DD"),
        _c("solar_mwh", "float64", "MWh", "solar curtailment", bounds=(0.0, 1e6)),
        _c("wind_mwh", "float64", "MWh", "wind curtailment", bounds=(0.0, 1e6)),
        _c("local_mwh", "float64", "MWh", "congestion (local) curtailment, wind + solar", bounds=(0.0, 1e6)),
        _c(
            "system_mwh",
            "float64",
            "MWh",
            "system-wide oversupply curtailment, wind + solar",
            bounds=(0.0, 1e6),
        ),
    ),
)

LAYER_SCHEMAS: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        PLANTS,
        PLANT_STATUS,
        TRANSMISSION_LINES,
        SUBSTATIONS,
        FLARE_SITES,
        FLARE_BASINS,
        OFFSHORE_WELLS,
        MILITARY_SITES,
        RESOURCE_GRID,
        STATES,
        COUNTIES,
        BTC_NETWORK,
        ASIC_MODELS,
        MARKET_PRICES,
        MARKET_MIX,
        CURTAILMENT_DAILY,
    )
}
"""Canonical source layers written to ``layers.gpkg``, in build order."""


def register(schema: LayerSchema) -> LayerSchema:
    """Add a schema defined by a later stage (e.g. ``candidate_sites``) to the registry."""
    SCHEMA_REGISTRY[schema.name] = schema
    return schema


SCHEMA_REGISTRY: dict[str, LayerSchema] = dict(LAYER_SCHEMAS)
"""Every schema known: the source layers plus those later stages register."""


def column_spec(name: str, layer: str | None = None) -> Column | None:
    """The registered column ``name`` of ``layer``, or of the first registered table that has it.

    Parameters
    ----------
    name
        column name, e.g. ``capacity_mw``.
    layer
        table to look in first (e.g. ``candidate_sites``); the other tables follow in registration
        order (source layers first, then the tables later stages register).

    Returns
    -------
    Column or None
        None when no registered table has the column.

    Examples
    --------
    >>> column_spec("capacity_mw", "plants").unit
    'MW'
    >>> column_spec("no_such_column") is None
    True
    """
    order = [SCHEMA_REGISTRY[layer]] if layer in SCHEMA_REGISTRY else []
    order += [s for s in SCHEMA_REGISTRY.values() if s.name != layer]
    for schema in order:
        for col in schema.columns:
            if col.name == name:
                return col
    return None


@dataclass(frozen=True)
class Key:
    """One key of ``estimates.json``, addressed by its path.

    ``path`` joins keys with ``.``; ``*`` stands for any key of a table keyed by data (a state
    code, a site id, a category) and ``[]`` for the items of a list, e.g. ``by_state.*.btc_per_year``
    or ``projection[].btc``. A registered path with nothing registered below it is a leaf: its
    value (a number, text, a list or a table) is described as a whole.

    Examples
    --------
    >>> Key("national.btc_per_year", "BTC/yr", "bitcoin the fleet mines a year").unit
    'BTC/yr'
    """

    path: str
    unit: str
    meaning: str
    digits: int | None = None
    """Decimals shown to people; None: by unit."""
    title: str = ""
    """Words for the figure (table headers); empty: from the last part of the path."""


KEY_REGISTRY: dict[str, Key] = {}
"""Every registered key of ``estimates.json``, by path (filled by :mod:`gis.estimates.keys`)."""


def register_keys(*keys: Key) -> tuple[Key, ...]:
    """Add keys of ``estimates.json`` to :data:`KEY_REGISTRY`; a path registered twice is an error."""
    for key in keys:
        if key.path in KEY_REGISTRY and KEY_REGISTRY[key.path] != key:
            raise ValueError(f"estimates key {key.path} registered twice")
        KEY_REGISTRY[key.path] = key
    return keys


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def key_spec(path: str, registry: dict[str, Key] | None = None) -> Key | None:
    """The registered key a concrete path matches (``by_state.TX.sites`` -> ``by_state.*.sites``).

    Examples
    --------
    >>> reg = {"groups.*.gw": Key("groups.*.gw", "GW", "power of the group")}
    >>> key_spec("groups.TX.gw", reg).path
    'groups.*.gw'
    >>> key_spec("groups.TX.nothing", reg) is None
    True
    """
    registry = KEY_REGISTRY if registry is None else registry
    pattern = ""
    for part in path.replace("[]", ".[]").split("."):
        if part == "[]":
            pattern += "[]"
            continue
        exact = _join(pattern, part)
        known = any(p == exact or p.startswith((exact + ".", exact + "[")) for p in registry)
        pattern = exact if known else _join(pattern, "*")
    return registry.get(pattern)


def unregistered_keys(payload: object, registry: dict[str, Key] | None = None) -> list[str]:
    """Paths of ``payload`` (an ``estimates.json`` content) no registered key describes, sorted.

    Examples
    --------
    >>> reg = {k.path: k for k in (Key("national.gw", "GW", "power"), Key("by_state.*.gw", "GW", "power"))}
    >>> unregistered_keys({"national": {"gw": 1.0, "tw": 2}, "by_state": {"TX": {"gw": 0.5}}}, reg)
    ['national.tw']
    """
    registry = KEY_REGISTRY if registry is None else registry
    prefixes: set[str] = set()
    for path in registry:
        for i, ch in enumerate(path):
            if ch in ".[":
                prefixes.add(path[:i])
        prefixes.add(path)
    missing: set[str] = set()

    def below(pattern: str) -> bool:
        return any(p.startswith((pattern + ".", pattern + "[")) for p in prefixes)

    def walk(value: object, pattern: str, concrete: str) -> None:
        if pattern in registry and not below(pattern):
            return
        if isinstance(value, dict):
            for k, v in value.items():
                child = _join(pattern, str(k))
                if child not in prefixes:
                    child = _join(pattern, "*")
                if child not in prefixes:
                    missing.add(_join(pattern, str(k)))
                    continue
                walk(v, child, _join(concrete, str(k)))
        elif isinstance(value, list):
            if not below(pattern):
                missing.add(pattern)
                return
            for v in value:
                walk(v, pattern + "[]", concrete + "[]")
        elif pattern not in registry:
            missing.add(pattern)

    walk(payload, "", "")
    return sorted(missing)


_NUMPY_DTYPES = {"float64": np.dtype("float64"), "int64": np.dtype("int64"), "bool": np.dtype("bool")}
"""Schema dtypes a numpy column may already have: such a column is returned as it is (a numpy
int64 or bool column cannot hold a missing value, and float64 may)."""


def _coerce(series: pd.Series, dtype: str) -> pd.Series:
    if dtype in _NUMPY_DTYPES and series.dtype == _NUMPY_DTYPES[dtype]:
        return series  # already the dtype: the casts below would return the same values
    if dtype == "str":
        if (
            pd.api.types.is_object_dtype(series.dtype)
            and pd.api.types.infer_dtype(series, skipna=False) == "string"
        ):
            return series  # every value is already text (no missing one): nothing to convert or fill
        out = series.astype("object").where(series.notna(), "")
        if pd.api.types.infer_dtype(out, skipna=False) in ("string", "empty"):
            return out  # already all text: skip the per-value conversion (a million-row layer)
        return out.map(lambda v: v if isinstance(v, str) else str(v)).astype(object)
    if dtype == "float64":
        return pd.to_numeric(series, errors="raise").astype("float64")
    if dtype == "int64":
        values = pd.to_numeric(series, errors="raise")
        if values.isna().any():
            raise ValueError("missing values in a column that must be complete")
        return values.astype("int64")
    if dtype == "Int64":
        return pd.to_numeric(series, errors="raise").astype("Int64")
    if dtype == "bool":
        if series.isna().any():
            raise ValueError("missing values in a boolean column")
        return series.astype(bool)
    raise ValueError(dtype)


def validate(frame: pd.DataFrame, schema: LayerSchema | str, *, source: str | Path = "") -> pd.DataFrame:
    """Check ``frame`` against a schema and return it with canonical dtypes and column order.

    Checks: required columns present, values castable to the column dtype, key unique,
    geometry type allowed, CRS is EPSG:4326 (coordinates in degrees within range).
    Optional columns that are missing are added as empty; extra columns are kept after the
    schema's own only when they start with one of ``schema.extra_prefixes``.

    Raises
    ------
    GisError
        naming ``source`` (the file the frame was read from), the column and the fix.
    """
    if isinstance(schema, str):
        schema = SCHEMA_REGISTRY[schema]
    where = str(source) or f"layer {schema.name}"
    missing = [c.name for c in schema.columns if c.required and c.name not in frame.columns]
    if missing:
        raise GisError(
            f"the {schema.name} layer lacks required column(s) {', '.join(missing)}",
            file=where,
            field=missing[0],
            fix="check that the file is the catalogued source and its column mapping in layers/*.toml",
        )
    out = _coerced(frame, schema, where)
    _check_values(out, schema, where)
    extras = (
        [c for c in out.columns if c.startswith(schema.extra_prefixes) and c not in schema.column_names]
        if schema.extra_prefixes
        else []
    )
    ordered = schema.column_names + extras
    if schema.geometry is None:
        return _selected(out, ordered)
    out = _in_storage_crs(out, schema, where)
    return gpd.GeoDataFrame(
        _selected(out, ordered), geometry=out.geometry.values, crs=STORAGE_CRS, copy=False
    )


def _selected(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame[columns]`` on a new default index, each column kept as it is.

    Selecting by a list consolidates the columns into one block per dtype, a copy of the frame
    (a third of :func:`validate`'s time on a grid chunk of 125,000 cells); a frame made from the
    columns themselves shares them (copy-on-write).
    """
    frame = frame.reset_index(drop=True)
    return pd.DataFrame({c: frame[c] for c in columns}, index=frame.index)


def schema_table(schema: LayerSchema | str) -> pd.DataFrame:
    """The schema as a table (column, dtype, unit, meaning) for docs, metadata and reports."""
    if isinstance(schema, str):
        schema = SCHEMA_REGISTRY[schema]
    return pd.DataFrame(
        [(c.name, c.dtype, c.unit, c.description) for c in schema.columns],
        columns=["column", "dtype", "unit", "meaning"],
    )


def _coerced(frame: pd.DataFrame, schema: LayerSchema, where: str) -> pd.DataFrame:
    """A copy of ``frame`` with each schema column cast to its dtype; missing optional columns
    added empty (NaN, or ``""`` for text).

    Parameters
    ----------
    frame
        the layer as read (any CRS).
    schema
        its schema.
    where
        the file named in errors.

    Returns
    -------
    pandas.DataFrame
        the copy (a GeoDataFrame stays one).

    Raises
    ------
    GisError
        when a column's values cannot be cast to its dtype.
    """
    out = frame.copy(deep=False)  # columns are replaced below, never written into
    for col in schema.columns:
        if col.name not in out.columns:
            out[col.name] = (
                _coerce(pd.Series([np.nan] * len(out), index=out.index), col.dtype)
                if col.dtype != "str"
                else ""
            )
            continue
        try:
            series = out[col.name]
            coerced = _coerce(series, col.dtype)
            if coerced is not series:  # a column already canonical is not set again (a copy)
                out[col.name] = coerced
        except (ValueError, TypeError) as exc:
            raise GisError(
                f"values in the {schema.name} layer are not {col.dtype} ({exc})",
                file=where,
                field=col.name,
                fix=f"the column must hold {col.description} as {col.dtype}",
            ) from exc
    return out


def _check_values(out: pd.DataFrame, schema: LayerSchema, where: str) -> None:
    """Check the columns' plausible ranges (in each column's unit) and the key's uniqueness.

    Parameters
    ----------
    out
        the layer with canonical dtypes.
    schema
        its schema.
    where
        the file named in errors.

    Raises
    ------
    GisError
        naming the first column with values outside its bounds, or the duplicated key.
    """
    for col in schema.columns:
        if col.bounds is None:
            continue
        values = out[col.name].astype("float64")
        outside = (values < col.bounds[0]) | (values > col.bounds[1])
        if outside.any():
            raise GisError(
                f"{int(outside.sum())} values of the {schema.name} layer lie outside the plausible range "
                f"{col.bounds[0]:g}..{col.bounds[1]:g} {col.unit}, e.g. {values[outside].head(3).tolist()}",
                file=where,
                field=col.name,
                fix="correct the values or rebuild the layer with `gis build` (its builder drops and counts them)",
            )
    if schema.key and out[schema.key].duplicated().any():
        dups = out.loc[out[schema.key].duplicated(), schema.key].head(3).tolist()
        raise GisError(
            f"duplicate {schema.key} values in the {schema.name} layer, e.g. {dups}",
            file=where,
            field=schema.key,
            fix="deduplicate the rows (the layer builder should count and drop duplicates)",
        )


def _in_storage_crs(out: pd.DataFrame, schema: LayerSchema, where: str) -> gpd.GeoDataFrame:
    """The layer in EPSG:4326 once its geometry is checked (present, of the schema's types, in range).

    Parameters
    ----------
    out
        the layer with canonical dtypes (a GeoDataFrame with a CRS).
    schema
        its schema (``geometry`` not None).
    where
        the file named in errors.

    Returns
    -------
    geopandas.GeoDataFrame
        ``out`` reprojected to EPSG:4326 when it was in another CRS.

    Raises
    ------
    GisError
        no geometry or CRS, an empty row, a type not allowed, a coordinate off -180..180 / -90..90 deg.
    """
    if not isinstance(out, gpd.GeoDataFrame) or out.geometry is None:
        raise GisError(
            f"the {schema.name} layer has no geometry", file=where, fix="build it as a GeoDataFrame"
        )
    if out.crs is None:
        raise GisError(
            f"the {schema.name} layer has no CRS",
            file=where,
            field="crs",
            fix=f"declare the source CRS in its catalog entry; layers are stored in {STORAGE_CRS}",
        )
    if out.crs != gpd.GeoSeries([], crs=STORAGE_CRS).crs:
        out = out.to_crs(STORAGE_CRS)
    geoms = out.geometry
    if geoms.isna().any() or geoms.is_empty.any():
        raise GisError(
            f"{int((geoms.isna() | geoms.is_empty).sum())} rows of the {schema.name} layer have no geometry",
            file=where,
            field="geometry",
            fix="the builder must drop (and count) rows without coordinates",
        )
    allowed = schema.geometry or ()
    bad_types = sorted(set(geoms.geom_type.unique()) - set(allowed))  # each type once, not each row
    if bad_types:
        raise GisError(
            f"the {schema.name} layer has geometry types {bad_types}, expected {list(allowed)}",
            file=where,
            field="geometry",
        )
    minx, miny, maxx, maxy = geoms.total_bounds if len(geoms) else (0, 0, 0, 0)
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise GisError(
            f"coordinates of the {schema.name} layer are outside longitude/latitude range",
            file=where,
            field="geometry",
            fix="the source may be in a projected CRS or have swapped lat/lon; declare its CRS",
        )
    return out
