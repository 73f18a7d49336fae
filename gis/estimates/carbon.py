"""CO2 of the energy a fleet uses, with avoided flaring counted as a reduction.

Units: emission factors in t CO2 (or CO2e) per MWh of electricity, power in MW, emissions in
t a year. For flare-gas sites the generator burns gas that would otherwise be flared: the flare
would have emitted its CO2 plus the methane it fails to destroy (about 9 % in US basins), so the
baseline flare emissions are credited and the site's net CO2e is usually negative.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["CO2_PER_CH4", "flare_factors_t_per_mwh"]

CO2_PER_CH4 = 44.009 / 16.043
"""t CO2 from burning 1 t CH4 (molar masses): pipeline-quality gas is treated as methane."""


def flare_factors_t_per_mwh(
    combustion_t_per_mwh: ArrayLike,
    *,
    flare_efficiency: float,
    genset_efficiency: float,
    methane_gwp100: float,
    avoided_share: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Emitted and avoided t CO2e per MWh for electricity from otherwise-flared gas.

    ``combustion_t_per_mwh`` is the CO2 of burning all the gas per MWh (heat rate x fuel factor).
    A burner that destroys a share ``e`` of the methane emits ``combustion x e`` CO2 plus the
    unburnt methane ``combustion / 2.74 x (1 - e)`` times its GWP. Returns (generator emissions,
    flare emissions avoided x ``avoided_share``).
    """
    c = np.asarray(combustion_t_per_mwh, dtype=float)
    methane_t = c / CO2_PER_CH4

    def burnt(efficiency: float) -> np.ndarray:
        return c * efficiency + methane_t * (1.0 - efficiency) * methane_gwp100

    return burnt(genset_efficiency), burnt(flare_efficiency) * avoided_share
