"""Spatial and economic measures per candidate site, one module per family (flat API).

::

    grid        nearest line distance and voltage, nearest substation, headroom by voltage
    land        within the US states (exclusions are rules over measures, in the scenario)
    economics   energy cost proxy, $/MWh
    carbon      emission factor of the energy used, t CO2/MWh
    climate     latitude as an air-cooling proxy
    roads       distance to the nearest OSM road (optional)
    measure     all of them at once: ``measure_sites(sites, layers, config)``

Distances are computed in EPSG:5070 metres and reported in km.
"""

from gis.measures.carbon import co2_t_per_mwh, flare_co2_t_per_mwh
from gis.measures.climate import latitude_deg
from gis.measures.economics import energy_cost_usd_mwh
from gis.measures.interconnect import headroom_mw, line_vertices, nearest_line, nearest_substation
from gis.measures.land import within_states
from gis.measures.measure import MEASURE_COLUMNS, MEASURES_ON_SITES, measure_sites
from gis.measures.roads import road_distance_km

__all__ = [
    "MEASURES_ON_SITES",
    "MEASURE_COLUMNS",
    "co2_t_per_mwh",
    "energy_cost_usd_mwh",
    "flare_co2_t_per_mwh",
    "headroom_mw",
    "latitude_deg",
    "line_vertices",
    "measure_sites",
    "nearest_line",
    "nearest_substation",
    "road_distance_km",
    "within_states",
]
