"""The ``grid_cells`` schema (OUT/grid_cells.gpkg, OUT/grid_cells_ranked.csv), registered in gis.schema.

The candidate-site columns (same meaning, same ``s_<criterion>`` sub-scores and score) plus the
cell's own. Grid cells are potential, not assets: they are never added to the national estimates
(which read ``candidate_sites`` only), so a cell and a stranded plant inside it are not counted twice.
"""

from __future__ import annotations

from gis.schema import Column, LayerSchema, register
from gis.scoring.columns import CANDIDATE_SITES, CSV_FLOAT_DIGITS

__all__ = ["GRID_CELLS", "GRID_CSV_FLOAT_DIGITS"]

GRID_CELLS = register(
    LayerSchema(
        name="grid_cells",
        description=(
            "National grid cells (square, EPSG:5070) scored for a co-located wind or solar plant feeding "
            "miners, with the same criteria and weights as candidate_sites, best first. Potential, not "
            "assets: never added to the national estimates."
        ),
        geometry=("Point",),
        key="site_id",
        extra_prefixes=("s_",),
        columns=(
            *CANDIDATE_SITES.columns,
            Column("cell_id", "str", "", "g<cell_km>km:<ix>_<iy>, ix = floor(x / cell) in EPSG:5070"),
            Column("cell_km", "float64", "km", "side of the square cell"),
            Column("area_km2", "float64", "km2", "cell area (EPSG:5070 is equal-area)"),
            Column("ghi_kwh_m2_day", "float64", "kWh/m2/day", "GHI at the cell centre (resource raster)"),
            Column("wind_class", "float64", "", "NREL 50 m wind power class at the cell centre"),
        ),
    )
)
"""The registered ``grid_cells`` schema."""

GRID_CSV_FLOAT_DIGITS: dict[str, int] = CSV_FLOAT_DIGITS | {
    "cell_km": 3,
    "area_km2": 3,
    "ghi_kwh_m2_day": 3,
    "wind_class": 3,
}
"""Decimals kept per float column in grid_cells_ranked.csv."""
