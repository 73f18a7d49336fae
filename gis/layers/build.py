"""Running the layer builders and writing / reading ``layers.gpkg``."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
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
from gis.sources.archive import keep_inflated

BUILDERS: dict[str, str] = {
    "boundaries": "gis.layers.boundaries:build",
    "plants": "gis.layers.plants:build",
    "transmission": "gis.layers.transmission:build",
    "flares": "gis.layers.flares:build",
    "offshore": "gis.layers.offshore:build",
    "military": "gis.layers.military:build",
    "resource": "gis.layers.resource:build",
    "bitcoin": "gis.layers.bitcoin:build",
    "markets": "gis.layers.markets:build",
}
"""Theme -> builder function, in the order they run."""

__all__ = [
    "BUILDERS",
    "FORKED_THEMES",
    "BuildResult",
    "build_layers",
    "cached_layers_path",
    "layers_cache_key",
    "read_layers",
    "restore_cached_layers",
    "store_cached_layers",
    "write_layers",
]

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


def build_layers(
    resolver: Resolver,
    *,
    themes: Iterable[str] | None = None,
    on_layer=None,
    while_waiting: Callable[[], object] | None = None,
) -> BuildResult:
    """Build every canonical layer from its sources and validate it.

    ``boundaries`` is built first (the other builders read its ``states``); then, when the sources
    are a local folder and the machine has a second core (:func:`gis.forked.can_fork`), the themes
    of :data:`FORKED_THEMES` are built by a forked process while this one builds the others, and
    their layers, logs, warnings and sources come back and take their places in :data:`BUILDERS`
    order, so the result is the same as one after the other.

    Parameters
    ----------
    resolver
        where the source files come from.
    themes
        a subset of :data:`BUILDERS` keys (default: all, in order).
    on_layer
        optional callback ``(name, frame, log)`` after each layer, e.g. for progress output.
    while_waiting
        optional work (no argument) this process does once its own themes are built, before it
        waits for the forked process's: what a later stage needs, done in a wait (``gis run``
        imports the Monte Carlo's sampler). Not called when nothing is forked.
    """
    from gis.forked import Forked, can_fork

    wanted = [theme for theme in BUILDERS if themes is None or theme in set(themes)]
    before = len(resolver.warnings)
    done: dict[str, _Built] = {}
    with keep_inflated():  # a gzip source is inflated once, for its check and its reader
        first = [theme for theme in wanted if theme == "boundaries"]
        rest = [theme for theme in wanted if theme != "boundaries"]
        done.update(_build_themes(resolver, first, {}))
        states = {name: built.layers[name] for built in done.values() for name in built.layers}
        away = [theme for theme in rest if theme in FORKED_THEMES]
        if away and len(rest) > len(away) and resolver.origin.kind == "dir" and can_fork():
            child = Forked(lambda: _build_themes(resolver, away, states))
            try:
                done.update(_build_themes(resolver, [t for t in rest if t not in away], states))
                if while_waiting is not None:
                    while_waiting()
            except BaseException:
                child.cancel()
                raise
            done.update(child.result())
        else:
            done.update(_build_themes(resolver, rest, states))
    return _assemble(resolver, [done[theme] for theme in wanted], before, on_layer)


FORKED_THEMES = ("markets", "offshore")
"""Themes built by the forked process (:func:`build_layers`): about half the build's work (CPU
seconds on the national data: markets ~1.7, offshore ~0.7, against plants ~1.1, transmission
~0.7 and the rest ~0.8) and nothing the others read."""


@dataclass
class _Built:
    """One theme built: its validated layers and logs, and what the resolver saw while building it."""

    layers: dict[str, pd.DataFrame]
    logs: dict[str, RowLog]
    warnings: list[str]
    seen: dict


def _build_themes(
    resolver: Resolver, themes: list[str], built: Mapping[str, pd.DataFrame]
) -> dict[str, _Built]:
    """Build and validate ``themes`` in order (``built``: the layers they may read, ``states``)."""
    out: dict[str, _Built] = {}
    known = dict(built)
    for theme in themes:
        warned, seen = len(resolver.warnings), set(resolver._seen)
        layers: dict[str, pd.DataFrame] = {}
        logs: dict[str, RowLog] = {}
        for name, (frame, log) in _builder(BUILDERS[theme])(resolver, known).items():
            if name not in LAYER_SCHEMAS:
                raise GisError(f"builder {theme} made an unknown layer {name}")
            layers[name] = known[name] = validate(frame, LAYER_SCHEMAS[name], source=f"layer {name}")
            logs[name] = log
        new_seen = {k: v for k, v in resolver._seen.items() if k not in seen}
        out[theme] = _Built(layers, logs, resolver.warnings[warned:], new_seen)
    return out


def _assemble(resolver: Resolver, parts: list[_Built], before: int, on_layer) -> BuildResult:
    """The themes' layers, logs, warnings and sources in order, as one :class:`BuildResult`; what a
    forked process saw is added to ``resolver`` too (its warnings after the ``before`` it had)."""
    result = BuildResult()
    warnings: list[str] = []
    for part in parts:
        warnings += part.warnings
        for key, fetched in part.seen.items():
            resolver._seen.setdefault(key, fetched)
        for name, frame in part.layers.items():
            result.layers[name] = frame
            result.logs[name] = part.logs[name]
            if on_layer:
                on_layer(name, frame, part.logs[name])
    resolver.warnings[before:] = warnings
    result.warnings = list(resolver.warnings)
    result.sources = sorted({name for name, _ in resolver._seen})
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


# ---------------------------------------------------------------- layer cache

_CODE = ("layers", "sources", "schema.py", "config/catalog.py", "rowlog.py")
"""Parts of the package (under ``gis/``) whose source code the built layers depend on."""


def _code_digest() -> bytes:
    """Hash of the source code of the builders, readers and schemas (a code change rebuilds)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=16)
    for part in _CODE:
        path = root / part
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            digest.update(str(f.relative_to(root)).encode())
            digest.update(f.read_bytes())
    return digest.digest()


def _local_path(resolver: Resolver, source, file) -> Path | None:
    """Where the resolver would find ``file`` locally, without downloading (None: unknown)."""
    from urllib.parse import urlparse

    origin = resolver.origin
    if origin.data_dir is not None:  # kind "dir"
        return origin.data_dir / file.path
    assert resolver.cache is not None  # set by Resolver.__post_init__
    if origin.mirror is not None:  # kind "mirror"
        slug = hashlib.sha1(origin.mirror.encode()).hexdigest()[:10]
        return resolver.cache / f"mirror-{slug}" / file.path
    if not file.url:
        return None
    name = file.official_name or Path(urlparse(file.url).path).name or file.key
    return resolver.cache / "official" / source.name / name


def layers_cache_key(resolver: Resolver) -> str | None:
    """Hex key of everything the built layers depend on, or None when it cannot be known yet.

    Hashed: the tool version, the source code of the builders (``gis/layers``, ``gis/sources``,
    schemas, catalog model), the catalog TOML files (their bytes) and the loaded entries, the
    data origin and, for
    every catalogued file, its resolved local path with size and modification time (the files
    themselves are not read: a changed file changes its mtime). None when a required file is not
    available locally yet (first run against a mirror or the official URLs: build, which
    downloads, and the next run has a key).
    """
    assert resolver.catalog is not None
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"gis-btc-sites {__version__}".encode())
    digest.update(_code_digest())
    digest.update(resolver.origin.describe().encode())
    digest.update(json.dumps(sorted(BUILDERS.items())).encode())
    from gis.config.settings import catalog_dir

    folder = catalog_dir()
    for toml in sorted(folder.glob("*.toml")):  # the catalog files as they are on disk now
        digest.update(toml.name.encode())
        digest.update(toml.read_bytes())
    for name in sorted(resolver.catalog):
        source = resolver.catalog[name]
        digest.update(source.model_dump_json().encode())
        for f in source.files:
            path = _local_path(resolver, source, f)
            if path is not None and path.is_file():
                st = path.stat()
                digest.update(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode())
            elif f.optional:
                digest.update(f"{f.path}|<absent>".encode())
            else:
                return None
    return digest.hexdigest()


def cached_layers_path(key: str, cache_root: Path | None = None) -> Path:
    """``<cache>/layers/<key>.gpkg`` (cache: ``$GIS_CACHE_DIR`` or the user's cache directory)."""
    from gis.config.settings import cache_dir

    return (cache_root or cache_dir()) / "layers" / f"{key}.gpkg"


def cached_frames_path(key: str, cache_root: Path | None = None) -> Path:
    """``<cache>/layers/<key>.frames``: the same layers as GeoParquet files, read fast on a warm run."""
    return cached_layers_path(key, cache_root).with_suffix(".frames")


def restore_cached_layers(
    key: str, target: Path, *, cache_root: Path | None = None, with_frames: bool = False
) -> BuildResult | None:
    """Copy the cached layers for ``key`` to ``target`` (atomically); None on a miss.

    The returned :class:`BuildResult` has the row logs, warnings and sources of the build that
    made the cache file (read from its metadata); with ``with_frames`` also the layer frames from
    the GeoParquet copy, as a read-only mapping that reads each frame when first asked for
    (:class:`gis.io.LazyFrames`; a miss when the copy is absent or a file's footer is damaged),
    else none: read them with :func:`read_layers`. An unreadable cache file counts as a miss.
    """
    from gis.io import LazyFrames, atomic_path

    cached = cached_layers_path(key, cache_root)
    if not cached.is_file():
        return None
    frames: Mapping[str, pd.DataFrame] = {}
    if with_frames:
        try:
            frames = LazyFrames(cached_frames_path(key, cache_root))  # read as the stages ask
        except Exception:  # a damaged cache is rebuilt, never trusted
            return None
        if not frames:
            return None
    try:
        import pyogrio

        first = pyogrio.list_layers(cached)[0][0]
        meta = dict(pyogrio.read_info(cached, layer=first).get("dataset_metadata") or {})
        logs = {}
        for entry in json.loads(meta["build_report"]):
            log = RowLog.from_dict(entry)
            logs[log.name] = log
        result = BuildResult(
            logs=logs,
            warnings=list(json.loads(meta.get("warnings", "[]"))),
            sources=[s["source"] for s in json.loads(meta.get("sources", "[]"))],
        )
        if with_frames and set(frames) != set(logs):
            return None
        result.layers = frames if with_frames else {}  # type: ignore[assignment]  # read-only mapping
    except Exception:  # a damaged cache file is rebuilt, never trusted
        return None
    with atomic_path(target) as tmp:
        shutil.copyfile(cached, tmp)
    os.utime(cached)  # recently used
    return result


def store_cached_layers(
    key: str,
    built: Path,
    *,
    cache_root: Path | None = None,
    keep: int = 4,
    frames: dict[str, pd.DataFrame] | None = None,
) -> str | None:
    """Copy ``built`` (a layers.gpkg) into the cache under ``key``; the warning text on failure.

    ``frames``: the same layers in memory, also stored as GeoParquet (:func:`gis.io.write_frames`)
    for a warm run to read instead of the GeoPackage. An unwritable cache is not an error: the run
    goes on without a cache and says so. The ``keep`` most recently used cache files are kept,
    older ones deleted.
    """
    from gis.io import write_frames

    target = cached_layers_path(key, cache_root)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if frames is not None:  # the frames first: a GeoPackage without frames is a frames miss only
            write_frames(cached_frames_path(key, cache_root), frames)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(built, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        files = sorted(target.parent.glob("*.gpkg"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[keep:]:
            old.unlink(missing_ok=True)
            shutil.rmtree(old.with_suffix(".frames"), ignore_errors=True)
    except OSError as exc:
        return (
            f"the layer cache {target.parent} is not writable ({exc.strerror or exc}); layers will be "
            "rebuilt on every run (set GIS_CACHE_DIR to a writable folder)"
        )
    except (ValueError, TypeError) as exc:  # pyarrow could not store a frame: no warm reuse, say why
        return f"the layers could not be cached as GeoParquet ({exc}); layers will be rebuilt on every run"
    return None
