"""National estimates: GW of mineable power -> EH/s -> BTC a year, money, CO2, hashrate share, bands.

Modules, one job each::

    config       the [estimates...] scenario tables (typed, defaults cited)
    asics        the ASIC catalogue (TH/s, W, J/TH, source)
    bitcoin      hashrate, subsidy by height, expected BTC with dilution, hashprice, supply
    economics    revenue, energy cost, capex, payback (USD)
    carbon       CO2 by fuel; avoided flaring as a reduction
    rollup       site selection, per-site figures, sums by category / state / owner class
    uncertainty  seeded Monte Carlo bands and one-at-a-time sensitivity
    projection   year-by-year BTC across halvings
    calculator   calculator mode and the seed-claim check
    api          estimate() and the `gis estimate` commands
"""

from gis.config.asics import asic_model, asic_table, known_models
from gis.config.estimates import EstimatesConfig
from gis.config.scenario import load_estimates_config
from gis.estimates.api import calculator_command, estimate, estimate_command, network_from_layer
from gis.estimates.calculator import calculator, seed_claim_check

__all__ = [
    "EstimatesConfig",
    "asic_model",
    "asic_table",
    "calculator",
    "calculator_command",
    "estimate",
    "estimate_command",
    "known_models",
    "load_estimates_config",
    "network_from_layer",
    "seed_claim_check",
]
