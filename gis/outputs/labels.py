"""Words and units shown to users: category names, column headers with units, escaped text.

Units come from the column registry (:mod:`gis.schema`) when a layer registers its columns, and
otherwise from the naming convention of the pipeline (``_mw`` megawatts, ``_km`` kilometres ...).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gis.schema import CATEGORIES, OWNER_CLASSES, SCHEMA_REGISTRY

__all__ = [
    "CATEGORY_LABELS",
    "CRITERION_TITLES",
    "FIELD_TITLES",
    "LEDGER_LABELS",
    "OWNER_CLASS_LABELS",
    "column_unit",
    "display_frame",
    "escape_text",
    "header",
    "title",
]

CATEGORY_LABELS: dict[str, str] = {
    "federal_hydro": "Federal hydro",
    "retired_coal": "Retired coal",
    "nuclear_surplus": "Nuclear surplus",
    "military_backup": "Military backup",
    "flare_gas": "Flare gas",
    "stranded_wind": "Stranded wind",
    "stranded_solar": "Stranded solar",
}
"""Display name of each candidate-site category (keys: :data:`gis.schema.CATEGORIES`)."""

assert set(CATEGORY_LABELS) == set(CATEGORIES), "a category lacks a display name"

OWNER_CLASS_LABELS: dict[str, str] = {
    "federal_tva": "Federal: Tennessee Valley Authority",
    "federal_usace": "Federal: US Army Corps of Engineers",
    "federal_usbr": "Federal: Bureau of Reclamation",
    "federal_other": "Federal: other agency",
    "military": "Military",
    "public_other": "Other public (state, municipal, cooperative)",
    "private": "Private",
}
"""Display name of each ``owner_class`` (keys: :data:`gis.schema.OWNER_CLASSES`)."""

assert set(OWNER_CLASS_LABELS) == set(OWNER_CLASSES), "an owner class lacks a display name"

FIELD_TITLES: dict[str, str] = {
    "site_id": "Site id",
    "name": "Name",
    "category": "Category",
    "setting": "Setting",
    "owner": "Owner / operator",
    "owner_class": "Owner class",
    "state": "State",
    "fuel": "Fuel",
    "capacity_mw": "Nameplate capacity",
    "asset_mw": "Mineable power of the asset alone",
    "mineable_mw": "Mineable power",
    "shared_cut_mw": "Cut by a shared interconnect",
    "score": "Score",
    "rank": "Rank",
    "p_top_n": "Stays in the top N under other weights",
    "dist_tx_km": "Distance to a transmission line",
    "tx_voltage_kv": "Voltage of that line",
    "dist_sub_km": "Distance to a substation",
    "headroom_mw": "Interconnection headroom",
    "energy_cost_usd_mwh": "Energy cost",
    "co2_t_per_mwh": "CO2 intensity of the energy",
    "flexible_load": "Flexible load",
    "ai_convertible": "Could host AI compute instead",
    "excluded": "Excluded",
    "exclusion_reason": "Why excluded",
    "confidence": "Confidence",
    "basis": "How the mineable power was counted",
    "offgrid": "Off-grid (own fuel, no line)",
    "interconnect_group": "Shared interconnect group",
    "retirement_date": "Retired",
    "members": "Flares in the cluster",
    "btc_per_year": "Bitcoin mined",
    "in_fleet": "In the national fleet",
    "ledger": "Ledger",
    "hours_mined": "Hours mined",
    "hours_curtailed": "Hours the fleet stops (price too high)",
    "node": "Market node",
    "price_basis": "Price basis",
    "price_year": "Price year",
    "wasted_peak_mw": "Wasted power, peak",
    "wasted_mwh_per_year": "Wasted energy",
    "wasted_hours_per_year": "Hours with wasted energy",
    "wasted_avg_mw": "Wasted power, average",
    "wasted_price_usd_mwh": "Mean price in the wasted hours",
    "node_mean_price_usd_mwh": "Mean price at the node",
    "no_surplus_reason": "Why no wasted energy",
    "fleet_mode": "Fleet mode",
    "fleet_mw": "Fleet size",
    "fleet_npv_usd": "Fleet NPV over the machines' life",
    "fleet_wasted_mwh_per_year": "Wasted energy the fleet uses",
    "fleet_bought_mwh_per_year": "Energy the fleet buys",
    "status": "Status",
    "voltage_kv": "Voltage",
    "mineable_gw": "Mineable power",
    "hashrate_ehs": "Hashrate",
    "co2_mt_per_year": "CO2 emitted",
    "sites": "Sites",
    "label": "Category",
}
"""Words for a column, shown in popups, report tables and GeoPackage field titles."""

LEDGER_LABELS: dict[str, str] = {
    "wasted": "wasted: energy thrown away today (the headline ledger)",
    "bought": "bought: energy bought at the market price",
}
"""Words for a site's ``ledger`` (see README "What surplus means here")."""

CRITERION_TITLES: dict[str, tuple[str, str, bool]] = {
    "grid_distance": ("Near a transmission line", "dist_tx_km", True),
    "substation_distance": ("Near a substation", "dist_sub_km", True),
    "headroom": ("Interconnection headroom", "headroom_mw", True),
    "size": ("Size", "mineable_mw", False),
    "energy_cost": ("Cheap energy", "energy_cost_usd_mwh", False),
    "carbon": ("Low or avoided CO2", "co2_t_per_mwh", False),
    "cooling": ("Cooling climate", "", False),
    "road_access": ("Road access", "dist_road_km", False),
}
"""Per ``s_<criterion>``: words, the measure column it transforms, and whether it is a grid criterion
(which does not apply to off-grid sites: they get the scenario's neutral value)."""

_EXPLICIT_UNITS = {
    "btc_per_year": "BTC/yr",
    "hours_mined": "h/yr",
    "hours_curtailed": "h/yr",
    "wasted_hours_per_year": "h/yr",
    "wasted_mwh_per_year": "MWh/yr",
    "fleet_wasted_mwh_per_year": "MWh/yr",
    "fleet_bought_mwh_per_year": "MWh/yr",
    "fleet_npv_usd": "USD",
    "price_year": "",
    "co2_mt_per_year": "Mt CO2/yr",
    "sites": "",
    "rank": "",
    "members": "",
}


def title(name: str) -> str:
    """Words for a column (``s_<criterion>`` sub-scores included); the name itself if unknown."""
    if name.startswith("s_"):
        crit = name.removeprefix("s_")
        return f"Sub-score: {CRITERION_TITLES.get(crit, (crit.replace('_', ' '),))[0]}"
    words = FIELD_TITLES.get(name, name.replace("_", " "))
    return words[:1].upper() + words[1:]


_SUFFIX_UNITS = (
    ("_usd_per_year", "USD/yr"),
    ("_usd_mwh", "USD/MWh"),
    ("_t_per_mwh", "t CO2/MWh"),
    ("_bcm", "bcm/yr"),
    ("_mw", "MW"),
    ("_gw", "GW"),
    ("_kv", "kV"),
    ("_km", "km"),
    ("_km2", "km2"),
    ("_ehs", "EH/s"),
    ("_usd", "USD"),
    ("_mt_per_year", "Mt/yr"),
)
_FRACTIONS = {"score", "p_top_n", "capacity_factor", "share_of_network"}


def column_unit(name: str, *, layer: str = "candidate_sites") -> str:
    """Unit of a column: from the registered schema if any, else from its name ('' if none)."""
    if name in _EXPLICIT_UNITS:
        return _EXPLICIT_UNITS[name]
    schema = SCHEMA_REGISTRY.get(layer)
    if schema is not None and name in schema.column_names:
        unit = schema.column(name).unit
        return "0..1" if unit == "1" else unit
    if name in _FRACTIONS or name.startswith("s_"):
        return "0..1"
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def header(name: str, *, layer: str = "candidate_sites") -> str:
    """``name (unit)``, or ``name`` for a column without unit."""
    unit = column_unit(name, layer=layer)
    return f"{name} ({unit})" if unit else name


def escape_text(values: pd.Series) -> pd.Series:
    """HTML-escape every value of a text column (quotes too); missing values become ''."""
    if isinstance(values.dtype, pd.StringDtype):  # text already: escape in one pass per character
        text = pa.array(values.fillna("").to_numpy(dtype=object), type=pa.large_string())
        for char, entity in _ENTITIES:
            text = pc.replace_substring(text, char, entity)
        return pd.Series(text.to_numpy(zero_copy_only=False), index=values.index, dtype=object)
    text = values.astype("object").where(values.notna(), "")
    return text.map(lambda v: html.escape(str(v), quote=True)).astype(object)


_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))
"""What ``html.escape(quote=True)`` replaces, in its order (``&`` first)."""


def display_frame(frame: pd.DataFrame, columns: list[str], *, decimals: int = 3) -> pd.DataFrame:
    """The ``columns`` of ``frame`` ready to embed in HTML: text escaped, numbers rounded.

    Booleans become ``yes``/``no``; non-finite numbers become None (JSON null).
    """
    out = {}
    for col in columns:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values):
            out[col] = np.where(values.to_numpy(dtype=bool), "yes", "no").astype(object)
        elif pd.api.types.is_numeric_dtype(values):
            numbers = values.to_numpy(dtype="float64", na_value=np.nan).round(decimals)
            out[col] = pd.Series(numbers, index=frame.index).astype(object).where(np.isfinite(numbers), None)
        else:
            out[col] = escape_text(values)
    return pd.DataFrame(out, index=frame.index)
