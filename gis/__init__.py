"""Where, and how much, could the United States mine Bitcoin on energy it already owns or wastes.

The package is a pipeline of plain functions, one subpackage per stage, each importing only the
stages before it (an import contract in ``pyproject.toml``, checked in CI)::

    config    -> gis.config    scenario, catalog, environment: typed settings, imports no stage
    sources   -> gis.sources   download / mirror / local directory, cached and hash-checked
    layers    -> gis.layers    canonical GeoDataFrames, validated against gis.schema
    sites     -> gis.sites     candidate sites with mineable MW
    energy    -> gis.energy    hourly wasted energy and buy prices per site (market data)
    measures  -> gis.measures  spatial measures per site (EPSG:5070 metres); gis.engine runs them
    scores    -> gis.scoring   0..1 suitability, breakdown, exclusions, rank, stability
    estimates -> gis.estimates fleets over the machines' life: GW, EH/s, BTC a year, NPV, CO2
    outputs   -> gis.outputs   folium map, GeoPackage, ranked CSV/XLSX, report, explorer

Coordinates are stored in EPSG:4326; every distance and area is measured in EPSG:5070
(CONUS Albers, metres) or geodesically.
"""

from collections.abc import Callable, Mapping

__all__ = ["METRIC_CRS", "STORAGE_CRS", "__version__", "lazy_exports"]

__version__ = "0.1.0"

STORAGE_CRS = "EPSG:4326"
"""CRS every layer is stored in (WGS 84 longitude/latitude, degrees)."""

METRIC_CRS = "EPSG:5070"
"""CRS every distance and area is measured in (NAD83 / CONUS Albers equal-area, metres)."""


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], object]:
    """A package's ``__getattr__`` (PEP 562) that imports each exported name from its module
    (``homes``: name -> submodule) when first used and keeps it in the package: importing one
    module of the package then does not import the others."""

    def __getattr__(name: str) -> object:
        import importlib
        import sys

        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
