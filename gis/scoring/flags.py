"""Grid-ready and convertible sites: two boolean flags with rules from ``[scoring.flags]``.

``flexible_load`` (demand response: the site can drop its load when the grid needs power, as
ERCOT's large flexible loads do)::

    category in rule.categories and grid-connected and not excluded
    and mineable_mw >= min_mineable_mw and tx_voltage_kv >= min_voltage_kv
    and dist_tx_km <= max_dist_tx_km

``ai_convertible`` (later conversion to an AI / HPC data centre: large, firm, high-voltage,
onshore)::

    category in rule.categories and onshore and grid-connected and not excluded
    and mineable_mw >= min_mineable_mw and tx_voltage_kv >= min_voltage_kv
    and dist_tx_km <= max_dist_tx_km

NaN voltages or distances never pass a threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis.config.scoring import AiConvertibleRule, FlagsConfig, FlexibleLoadRule

__all__ = ["ai_convertible", "flexible_load", "site_flags"]


def _rule(frame: pd.DataFrame, rule: FlexibleLoadRule | AiConvertibleRule) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        ok = (
            frame["category"].isin(rule.categories).to_numpy()
            & ~frame["offgrid"].to_numpy(dtype=bool)
            & ~frame["excluded"].to_numpy(dtype=bool)
            & (frame["mineable_mw"].to_numpy(dtype="float64") >= rule.min_mineable_mw)
            & (frame["tx_voltage_kv"].to_numpy(dtype="float64") >= rule.min_voltage_kv)
            & (frame["dist_tx_km"].to_numpy(dtype="float64") <= rule.max_dist_tx_km)
        )
    return ok


def flexible_load(frame: pd.DataFrame, rule: FlexibleLoadRule) -> NDArray[np.bool_]:
    """Sites fit for demand response (see module docstring)."""
    return _rule(frame, rule)


def ai_convertible(frame: pd.DataFrame, rule: AiConvertibleRule) -> NDArray[np.bool_]:
    """Sites fit for later AI/HPC conversion (see module docstring)."""
    return _rule(frame, rule) & (frame["setting"].to_numpy(dtype=object) != "offshore")


def site_flags(frame: pd.DataFrame, flags: FlagsConfig) -> pd.DataFrame:
    """Both flags as a two-column boolean frame with ``frame``'s index."""
    return pd.DataFrame(
        {
            "flexible_load": flexible_load(frame, flags.flexible_load),
            "ai_convertible": ai_convertible(frame, flags.ai_convertible),
        },
        index=frame.index,
    )
