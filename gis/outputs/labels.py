"""Words and units shown to users: category names, column headers with units, escaped text.

Units and words of a column come from the column registry (:mod:`gis.schema`, filled by
:mod:`gis.outputs.columns`); nothing here guesses a unit from a name.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import gis.outputs.columns  # noqa: F401  (registers every table and key before the titles are read)
from gis.config.vocabulary import CATEGORIES, OWNER_CLASSES
from gis.schema import SCHEMA_REGISTRY, column_spec, key_spec

__all__ = [
    "CATEGORY_LABELS",
    "CRITERION_TITLES",
    "FIELD_TITLES",
    "LEDGER_LABELS",
    "OWNER_CLASS_LABELS",
    "as_shown",
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
"""Display name of each candidate-site category (keys: :data:`gis.config.vocabulary.CATEGORIES`)."""

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
"""Display name of each ``owner_class`` (keys: :data:`gis.config.vocabulary.OWNER_CLASSES`)."""

assert set(OWNER_CLASS_LABELS) == set(OWNER_CLASSES), "an owner class lacks a display name"


def _field_titles() -> dict[str, str]:
    # the ranked list's words win over a source layer's for a name both have
    order = [SCHEMA_REGISTRY["sites_ranked"], *SCHEMA_REGISTRY.values()]
    titles: dict[str, str] = {}
    for schema in order:
        for col in schema.columns:
            if col.title:
                titles.setdefault(col.name, col.title)
    return titles


FIELD_TITLES: dict[str, str] = _field_titles()
"""Words for a column, shown in popups, report tables and GeoPackage field titles: the ``title`` of
each registered column (:class:`gis.schema.Column`), the ranked list's first."""

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


def title(name: str) -> str:
    """Words for a column (``s_<criterion>`` sub-scores included); the name itself if unknown.

    Examples
    --------
    >>> title("mineable_mw"), title("s_size"), title("made_up_column")
    ('Mineable power', 'Sub-score: Size', 'Made up column')
    """
    if name.startswith("s_"):
        crit = name.removeprefix("s_")
        return f"Sub-score: {CRITERION_TITLES.get(crit, (crit.replace('_', ' '),))[0]}"
    words = FIELD_TITLES.get(name, name.replace("_", " "))
    return words[:1].upper() + words[1:]


def column_unit(name: str, *, layer: str = "candidate_sites") -> str:
    """Unit of a column, from the registry (:mod:`gis.schema`): the column of ``layer``, else of
    any registered table, else the ``national`` figure of ``estimates.json`` of that name;
    ``0..1`` for a share and the ``s_`` sub-scores; '' for text, counts and unknown names.

    Examples
    --------
    >>> column_unit("btc_per_year"), column_unit("co2_mt_per_year", layer="state_summary")
    ('BTC/yr', 'Mt CO2/yr')
    >>> column_unit("s_size"), column_unit("name")
    ('0..1', '')
    """
    col = column_spec(name, layer)
    unit = col.unit if col is not None else None
    if unit is None and name.startswith("s_"):
        unit = "1"
    if unit is None:
        key = key_spec(f"national.{name}")
        unit = key.unit if key is not None else ""
    return "0..1" if unit == "1" else unit


def header(name: str, *, layer: str = "candidate_sites") -> str:
    """``name (unit)``, or ``name`` for a column without unit.

    Examples
    --------
    >>> header("mineable_mw"), header("site_id")
    ('mineable_mw (MW)', 'site_id')
    """
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


def as_shown(numbers: np.ndarray) -> np.ndarray:
    """Numbers rounded as the map's popups and tooltips show them (``gisValue`` in
    :mod:`gis.outputs.map`: no decimal from 100, one from 10, two below; shares as whole per cent),
    so the browser's own rounding of them is exact: rounding first to more digits and then to the
    shown ones could move a value (a score of 0.9049 kept as 0.905 was shown as 0.91). Halves go
    away from zero, as the browser rounds them.

    >>> as_shown(np.array([0.9049, 12.345, 181.516, -3.14159, np.nan])).tolist()
    [0.9, 12.3, 182.0, -3.14, nan]
    """
    a = np.abs(numbers)
    scale = np.where(a >= 100, 1.0, np.where(a >= 10, 10.0, 100.0))
    # halves away from zero, as the browser's number formatting rounds them (numpy rounds to even)
    return np.sign(numbers) * np.floor(a * scale + 0.5) / scale + 0.0  # + 0.0: no "-0"


def display_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The ``columns`` of ``frame`` ready to embed in HTML: text escaped, numbers rounded as they are
    shown (:func:`as_shown`).

    Booleans become ``yes``/``no``; non-finite numbers become None (JSON null).
    """
    out = {}
    for col in columns:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values):
            out[col] = np.where(values.to_numpy(dtype=bool), "yes", "no").astype(object)
        elif pd.api.types.is_numeric_dtype(values):
            numbers = as_shown(values.to_numpy(dtype="float64", na_value=np.nan))
            out[col] = pd.Series(numbers, index=frame.index).astype(object).where(np.isfinite(numbers), None)
        else:
            out[col] = escape_text(values)
    return pd.DataFrame(out, index=frame.index)
