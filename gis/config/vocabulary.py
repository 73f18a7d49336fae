"""The words every stage shares: site categories, owner classes, fuels and plant statuses.

Defined here, in the configuration package, because a scenario names them (weights by category,
owner classes per site model) and :mod:`gis.schema` validates layers against them.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "FUELS", "OWNER_CLASSES", "PLANT_STATUSES"]

OWNER_CLASSES = (
    "federal_tva",
    "federal_usace",
    "federal_usbr",
    "federal_other",
    "military",
    "public_other",
    "private",
)
"""Values of ``owner_class``: who operates a plant (EIA-860 operator, not equity owner)."""

FUELS = (
    "coal",
    "gas",
    "oil",
    "nuclear",
    "hydro",
    "pumped_storage",
    "wind",
    "solar",
    "geothermal",
    "biomass",
    "storage",
    "waste",
    "other",
)
"""Values of ``fuel``: the plant's primary energy source, harmonised across EIA and WRI."""

PLANT_STATUSES = ("operating", "retiring", "retired", "retooled")
"""Values of ``status``: EIA-860M operating state of a plant (``retooled``: some units retired,
others still running, e.g. coal units retired and gas units kept)."""

CATEGORIES = (
    "federal_hydro",
    "retired_coal",
    "nuclear_surplus",
    "military_backup",
    "flare_gas",
    "stranded_wind",
    "stranded_solar",
)
"""Values of ``category`` in ``candidate_sites`` (pinned in DESIGN.md)."""
