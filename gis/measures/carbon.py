"""Carbon intensity (t CO2 per MWh) of the energy a site would use.

Factors by energy fuel come from the scenario (EIA / EPA figures cited there). Flare gas is
derived from the flare model so the two cannot disagree::

    t/MWh = co2_kg_per_mmbtu x 3.412 MMBtu/MWh / genset_efficiency / 1000

This is the combustion factor; the avoided flaring (the gas burns anyway) is credited by the
estimates stage, not here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis.config.scoring import CarbonConfig, FlareGasModel
from gis.measures.economics import lookup

__all__ = ["MMBTU_PER_MWH", "co2_t_per_mwh", "flare_co2_t_per_mwh"]

MMBTU_PER_MWH = 3.412
"""Heat content of one MWh, million Btu (3,412,142 Btu)."""


def flare_co2_t_per_mwh(model: FlareGasModel) -> float:
    """Combustion CO2 of flare gas burnt in a genset, t per MWh electric."""
    return model.co2_kg_per_mmbtu * MMBTU_PER_MWH / model.genset_efficiency / 1000.0


def co2_t_per_mwh(sites: pd.DataFrame, carbon: CarbonConfig, flare: FlareGasModel) -> NDArray[np.float64]:
    """Emission factor per site from its ``energy_fuel`` (NaN where the scenario has no factor)."""
    table = dict(carbon.t_per_mwh)
    table["flare_gas"] = flare_co2_t_per_mwh(flare)
    return lookup(sites["energy_fuel"], table)
