"""The ``[explorer]`` table of a scenario: the axes of the grid of national scenarios.

The explorer (``OUT/explorer.html``) shows the national figures per ledger for any BTC price,
network growth, energy price cap and ASIC efficiency between the grid points below, by
multilinear interpolation of figures the Python model computed at every grid point
(:func:`gis.outputs.explorer.scenario_grid`). Units are in the names: ``_usd`` US dollars,
``_per_year`` a fraction a year, ``_usd_mwh`` US dollars per megawatt-hour, ``_j_th`` joules
per terahash.
"""

from __future__ import annotations

import itertools

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["AXIS_NAMES", "ExplorerConfig"]

AXIS_NAMES = ("btc_price_usd", "network_growth_per_year", "energy_price_cap_usd_mwh", "efficiency_j_th")
"""The grid's axes, in the order of the nested lists in ``estimates.json["explorer_grid"]``."""


class ExplorerConfig(BaseModel):
    """Grid points per axis (each list strictly increasing, at least two points)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    btc_price_usd: list[float] = [50_000.0, 70_000.0, 87_500.0, 110_000.0, 140_000.0]
    network_growth_per_year: list[float] = [0.0, 0.13, 0.26, 0.5]
    energy_price_cap_usd_mwh: list[float] = [0.0, 20.0, 40.0, 60.0, 80.0]
    efficiency_j_th: list[float] = [12.0, 15.0, 17.5, 21.0]

    @field_validator(*AXIS_NAMES)
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if len(value) < 2:
            raise ValueError(f"give at least two grid points, got {value}")
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"grid points must increase strictly, got {value}")
        return value

    def axes(self) -> dict[str, list[float]]:
        """The axes as ``{name: [values]}`` in :data:`AXIS_NAMES` order."""
        return {name: list(getattr(self, name)) for name in AXIS_NAMES}
