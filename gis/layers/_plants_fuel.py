"""Harmonising the primary energy source of a plant to :data:`gis.config.vocabulary.FUELS`.

Three vocabularies meet here: the EIA Atlas ``PrimSource`` (``natural gas``, ``batteries`` …),
WRI GPPD ``primary_fuel`` (``Gas``, ``Petcoke``, ``Cogeneration`` …) and the EIA technology text
of EIA-860M and the Atlas ``tech_desc`` (``Conventional Steam Coal`` …). Landfill gas, municipal
solid waste and "other waste biomass" are ``waste``; wood and agricultural fuels ``biomass``;
petroleum coke is a petroleum product (``oil``, as EIA counts it); blast-furnace and refinery
gases (EIA "Other Gases") are ``other``; fossil cogeneration without a fuel is ``other``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from gis.config.vocabulary import FUELS

__all__ = [
    "ATLAS_PRIMSOURCE",
    "COMPATIBLE_FUELS",
    "GPPD_PRIMARY_FUEL",
    "TECHNOLOGY_RULES",
    "fuel_from_atlas",
    "fuel_from_gppd",
    "fuel_from_technology",
    "fuels_compatible",
]

ATLAS_PRIMSOURCE: dict[str, str] = {
    "solar": "solar",
    "natural gas": "gas",
    "hydroelectric": "hydro",
    "wind": "wind",
    "petroleum": "oil",
    "biomass": "biomass",
    "batteries": "storage",
    "coal": "coal",
    "other": "other",
    "geothermal": "geothermal",
    "nuclear": "nuclear",
    "pumped storage": "pumped_storage",
}
"""EIA Atlas ``PrimSource`` -> fuel (``biomass`` is refined to ``waste`` by technology)."""

GPPD_PRIMARY_FUEL: dict[str, str] = {
    "solar": "solar",
    "gas": "gas",
    "hydro": "hydro",
    "wind": "wind",
    "oil": "oil",
    "waste": "waste",
    "coal": "coal",
    "biomass": "biomass",
    "storage": "storage",
    "geothermal": "geothermal",
    "nuclear": "nuclear",
    "cogeneration": "other",
    "other": "other",
    "petcoke": "oil",
    "wave and tidal": "other",
}
"""WRI GPPD ``primary_fuel`` (lowercased) -> fuel."""

TECHNOLOGY_RULES: tuple[tuple[str, str], ...] = (
    (r"pumped storage", "pumped_storage"),
    (r"hydroelectric|hydrokinetic", "hydro"),
    (r"\bcoal\b", "coal"),
    (r"nuclear", "nuclear"),
    (r"natural gas", "gas"),
    (r"petroleum", "oil"),
    (r"wind turbine|\bwind\b", "wind"),
    (r"solar", "solar"),
    (r"batter|flywheel|energy storage", "storage"),
    (r"geothermal", "geothermal"),
    (r"landfill gas|municipal solid waste|other waste biomass", "waste"),
    (r"wood|biomass|agricultur", "biomass"),
    (r"other gases|all other", "other"),
)
"""(regular expression over lowercased EIA technology text, fuel): the first match wins."""

_WASTE_TECH = re.compile(r"^(?:landfill gas|municipal solid waste|other waste biomass)")


def _lower(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), "").astype(str).str.strip().str.lower()


def fuel_from_technology(technology: pd.Series) -> pd.Series:
    """Fuel for EIA technology text (first listed technology decides); unknown text is ``other``.

    Each distinct text is matched once (a few dozen technologies over thousands of rows).
    """
    codes, distinct = pd.factorize(technology.to_numpy(dtype=object), use_na_sentinel=False)
    fuels = _fuel_of_each(pd.Series(distinct, dtype=object)).to_numpy(dtype=object)
    return pd.Series(fuels[codes], index=technology.index, dtype=object)


def _fuel_of_each(technology: pd.Series) -> pd.Series:
    text = _lower(technology).str.split(";").str[0].str.strip()
    out = np.full(len(text), "", dtype=object)
    for pattern, fuel in TECHNOLOGY_RULES:
        hit = text.str.contains(pattern, regex=True).to_numpy(dtype=bool) & (out == "")
        out[hit] = fuel
    out[out == ""] = "other"
    return pd.Series(out, index=technology.index, dtype=object)


def fuel_from_atlas(prim_source: pd.Series, technology: pd.Series) -> pd.Series:
    """Fuel for EIA Atlas rows: ``PrimSource`` mapped, biomass split into waste by ``tech_desc``."""
    fuel = _lower(prim_source).map(ATLAS_PRIMSOURCE)
    waste = fuel.eq("biomass") & _lower(technology).str.contains(_WASTE_TECH, regex=True)
    fuel = fuel.mask(waste, "waste")
    unknown = fuel.isna()
    fuel = fuel.astype(object)
    fuel[unknown] = fuel_from_technology(technology[unknown])
    return fuel


def fuel_from_gppd(primary_fuel: pd.Series) -> pd.Series:
    """Fuel for WRI GPPD rows; an empty ``primary_fuel`` (no operable generator) is ``other``."""
    return _lower(primary_fuel).map(GPPD_PRIMARY_FUEL).fillna("other").astype(object)


COMPATIBLE_FUELS: dict[str, frozenset[str]] = {
    "coal": frozenset({"coal", "gas", "oil"}),
    "gas": frozenset({"gas", "coal", "oil"}),
    "oil": frozenset({"oil", "gas", "coal"}),
    "hydro": frozenset({"hydro", "pumped_storage"}),
    "pumped_storage": frozenset({"pumped_storage", "hydro"}),
    "solar": frozenset({"solar", "storage"}),
    "wind": frozenset({"wind", "storage"}),
    "storage": frozenset({"storage", "solar", "wind"}),
    "biomass": frozenset({"biomass", "waste"}),
    "waste": frozenset({"waste", "biomass", "gas"}),
}
"""Fuels a status row may join to by distance alone: fossil units are converted (coal to gas),
hydro sites host pumped storage, batteries sit at solar and wind farms."""


def fuels_compatible(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Element-wise: may a plant of fuel ``left`` be the same site as one of fuel ``right``."""
    pairs = left.astype(str).to_numpy(dtype=object) + "|" + right.astype(str).to_numpy(dtype=object)
    allowed = {f"{a}|{b}" for a, group in COMPATIBLE_FUELS.items() for b in group}
    allowed |= {f"{f}|{f}" for f in FUELS}
    return pd.Series(pairs).isin(allowed).to_numpy(dtype=bool)
