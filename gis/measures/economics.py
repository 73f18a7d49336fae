"""Energy cost proxy ($/MWh) by category, plus an optional per-state adder, from the scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis.config.scoring import CostConfig

__all__ = ["energy_cost_usd_mwh"]


def energy_cost_usd_mwh(sites: pd.DataFrame, costs: CostConfig) -> NDArray[np.float64]:
    """``costs.usd_mwh[category] + costs.state_adder_usd_mwh[state]`` ($/MWh); NaN when no cost table."""
    base = sites["category"].map(pd.Series(costs.usd_mwh, dtype="float64")).to_numpy(dtype="float64")
    adder = sites["state"].map(pd.Series(costs.state_adder_usd_mwh, dtype="float64")).fillna(0.0)
    return base + adder.to_numpy(dtype="float64")
