"""Running the layer builders and writing / reading ``layers.gpkg``."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gis import __version__
from gis.errors import GisError
from gis.io import gpkg_layer_names, read_gpkg_layer, write_gpkg
from gis.rowlog import RowLog
from gis.schema import LAYER_SCHEMAS, validate
from gis.sources import Resolver

BUILDERS: dict[str, str] = {
    "boundaries": "gis.layers.boundaries:build",
    "plants": "gis.layers.plants:build",
    "grid": "gis.layers.grid:build",
    "flares": "gis.layers.flares:build",
    "offshore": "gis.layers.offshore:build",
    "military": "gis.layers.military:build",
    "resource": "gis.layers.resource:build",
    "bitcoin": "gis.layers.bitcoin:build",
    "markets": "gis.layers.markets:build",
}
"""Theme -> builder function, in the order they run."""

Builder = Callable[[Resolver, Mapping[str, pd.DataFrame]], dict[str, tuple[pd.DataFrame, RowLog]]]


@dataclass
class BuildResult:
    """Layers by name (canonical, validated), their row logs, and what the resolver warned."""

    layers: dict[str, pd.DataFrame] = field(default_factory=dict)
    logs: dict[str, RowLog] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _builder(spec: str) -> Builder:
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def build_layers(resolver: Resolver, *, themes: Iterable[str] | None = None, on_layer=None) -> BuildResult:
    """Build every canonical layer from its sources and validate it.

    Parameters
    ----------
    resolver
        where the source files come from.
    themes
        a subset of :data:`BUILDERS` keys (default: all, in order).
    on_layer
        optional callback ``(name, frame, log)`` after each layer, e.g. for progress output.
    """
    result = BuildResult()
    wanted = list(themes) if themes is not None else list(BUILDERS)
    for theme in BUILDERS:
        if theme not in wanted:
            continue
        built = _builder(BUILDERS[theme])(resolver, result.layers)
        for name, (frame, log) in built.items():
            if name not in LAYER_SCHEMAS:
                raise GisError(f"builder {theme} made an unknown layer {name}")
            frame = validate(frame, LAYER_SCHEMAS[name], source=f"layer {name}")
            result.layers[name] = frame
            result.logs[name] = log
            if on_layer:
                on_layer(name, frame, log)
    result.warnings = list(resolver.warnings)
    used = {name for name, _ in resolver._seen}
    result.sources = sorted(used)
    return result


def provenance(resolver: Resolver, names: Iterable[str]) -> list[dict]:
    """Catalog facts (publisher, licence, vintage, URL) for the sources used."""
    out = []
    for name in sorted(set(names)):
        s = resolver.source(name)
        out.append(
            {
                "source": s.name,
                "title": s.title,
                "publisher": s.publisher,
                "licence": s.licence,
                "attribution": s.attribution,
                "vintage": s.vintage,
                "homepage": s.homepage,
                "origin": resolver.origin.describe(),
            }
        )
    return out


def write_layers(result: BuildResult, resolver: Resolver, target: Path) -> Path:
    """Write all layers into one GeoPackage (atomically) with provenance and row logs as metadata."""
    metadata = {
        "tool": f"gis-btc-sites {__version__}",
        "crs": "EPSG:4326",
        "sources": json.dumps(provenance(resolver, result.sources)),
        "build_report": json.dumps([log.as_dict() for log in result.logs.values()]),
        "warnings": json.dumps(result.warnings),
    }
    layer_meta = {
        name: {"row_log": json.dumps(log.as_dict()), "schema": json.dumps(LAYER_SCHEMAS[name].description)}
        for name, log in result.logs.items()
    }
    return write_gpkg(target, result.layers, dataset_metadata=metadata, layer_metadata=layer_meta)


def read_layers(path: Path, names: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read canonical layers back from ``layers.gpkg`` (all, or ``names``)."""
    path = Path(path)
    if not path.is_file():
        raise GisError(
            "the layers GeoPackage does not exist",
            file=path,
            fix="run `gis build` (or `gis run`) first, with the same --out",
        )
    rebuild = "rebuild it with `gis build` (or `gis run`), with the same --out"
    available = set(gpkg_layer_names(path, fix=rebuild))
    wanted = list(names) if names is not None else [n for n in LAYER_SCHEMAS if n in available]
    layers = {}
    for name in wanted:
        if name not in available:
            raise GisError(
                f"the GeoPackage has no layer {name}",
                file=path,
                field=name,
                fix="rebuild it with `gis build`",
            )
        frame = read_gpkg_layer(path, name, fix=rebuild)
        schema = LAYER_SCHEMAS[name]
        if schema.geometry is None and "geometry" in frame.columns:
            frame = pd.DataFrame(frame.drop(columns="geometry"))
        layers[name] = validate(frame, schema, source=f"{path}:{name}")
    return layers
