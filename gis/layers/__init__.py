"""Canonical source layers: one validated GeoDataFrame per layer (see :mod:`gis.schema`).

Each module builds the layers of one theme from catalogued sources::

    boundaries  states, counties
    plants      plants, plant_status
    grid        transmission_lines, substations
    flares      flare_sites, flare_basins
    offshore    offshore_wells
    military    military_sites
    resource    resource_grid
    bitcoin     btc_network, asic_models

A builder is ``build(resolver, built) -> {layer: (frame, RowLog)}``; ``built`` holds the
layers made before it (e.g. ``states`` for point-in-state joins). :func:`build_layers` runs
them in order, validates every frame against its schema and returns them with their logs.
"""

from gis.layers.build import BUILDERS, BuildResult, build_layers, read_layers, write_layers

__all__ = ["BUILDERS", "BuildResult", "build_layers", "read_layers", "write_layers"]
