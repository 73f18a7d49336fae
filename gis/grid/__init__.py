"""National grid mode: square cells in EPSG:5070 scored for stranded wind/solar potential.

::

    cells       cell generation (numpy + one rasterisation of the state polygons)
    resource    resource values at cell centres through rasterio windowed reads
    potential   cell -> candidate row: average MW of a co-located wind or solar plant
    columns     the ``grid_cells`` schema
    api         ``score_grid(layers, scenario)``, ``write_grid`` (streamed files) and ``gis score --grid``

Cells are scored with the same measures, criteria and weights as the asset sites and written
as their own layer; they are never added to the national estimates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gis import lazy_exports

if TYPE_CHECKING:
    from gis.grid.api import (
        GRID_LAYERS,
        grid_command,
        measure_cells,
        score_grid,
        score_grid_with_log,
        write_grid,
    )
    from gis.grid.cells import cell_ids, square_cells
    from gis.grid.columns import GRID_CELLS
    from gis.grid.potential import cell_sites
    from gis.grid.resource import resource_raster_for, sample_points

__all__ = [
    "GRID_CELLS",
    "GRID_LAYERS",
    "cell_ids",
    "cell_sites",
    "grid_command",
    "measure_cells",
    "resource_raster_for",
    "sample_points",
    "score_grid",
    "score_grid_with_log",
    "square_cells",
    "write_grid",
]

_HOMES = {
    "GRID_CELLS": "columns",
    "GRID_LAYERS": "api",
    "cell_ids": "cells",
    "cell_sites": "potential",
    "grid_command": "api",
    "measure_cells": "api",
    "resource_raster_for": "resource",
    "sample_points": "resource",
    "score_grid": "api",
    "score_grid_with_log": "api",
    "square_cells": "cells",
    "write_grid": "api",
}
"""The module of each name of the flat API, imported when the name is first used (PEP 562): the
outputs register the ``grid_cells`` schema through :mod:`gis.grid.columns` without importing the
grid's engine, rasterio among it (0.3 s of a run that draws no grid)."""


__getattr__ = lazy_exports(__name__, _HOMES)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
