"""Words and units shown to users: category names, column headers with units, escaped text.

Units come from the column registry (:mod:`gis.schema`) when a layer registers its columns, and
otherwise from the naming convention of the pipeline (``_mw`` megawatts, ``_km`` kilometres ...).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from gis.schema import CATEGORIES, SCHEMA_REGISTRY

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
    ("_per_year", "1/yr"),
)
_FRACTIONS = {"score", "p_top_n", "capacity_factor", "share_of_network"}


def column_unit(name: str, *, layer: str = "candidate_sites") -> str:
    """Unit of a column: from the registered schema if any, else from its name ('' if none)."""
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
    text = values.astype("object").where(values.notna(), "")
    return text.map(lambda v: html.escape(str(v), quote=True)).astype(object)


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
