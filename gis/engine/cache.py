"""Measures cached by a hash of their inputs, so a weight change re-scores without geometry.

The key hashes the sites (attributes and WKB geometry), the measured layers, the scenario
tables the measures read (grid, costs, carbon, site models, roads), the tool version and the
measure function: its name (with any ``functools.partial`` arguments), its own source and
the source code of its module and of :mod:`gis.measures`, so a changed measure is recomputed,
never read back stale.
A hit is read back from ``<cache_dir>/measures-<key>.parquet`` (or memory); a miss runs the
wrapped engine and stores the result atomically.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import sys
from collections import OrderedDict
from functools import cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from gis import __version__
from gis.config.scoring import ScoringConfig
from gis.engine.base import MEASURE_LAYERS, Engine, MeasureFunc
from gis.errors import GisError
from gis.io import atomic_path
from gis.measures import measure_sites
from gis.textsafe import terminal_text

__all__ = ["CachedEngine", "measures_key"]

CONFIG_TABLES = {"grid", "costs", "carbon", "sites", "roads"}
"""``[scoring]`` tables the measures depend on (criteria, weights and exclusions do not)."""


def _hash_frame(digest: hashlib.blake2b, frame: pd.DataFrame | None) -> None:
    if frame is None:
        digest.update(b"<absent>")
        return
    digest.update(repr(list(frame.columns)).encode())
    digest.update(str(len(frame)).encode())
    if isinstance(frame, gpd.GeoDataFrame):
        digest.update(str(frame.crs).encode())
        digest.update(b"".join(shapely.to_wkb(frame.geometry.values, hex=False)))
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if len(frame.columns):
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


@cache
def _measures_code() -> bytes:
    """Hash of the source code of :mod:`gis.measures` (every measure's building blocks), read once."""
    import gis.measures

    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(gis.measures.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.digest()


def _unwrap(func: MeasureFunc) -> tuple[MeasureFunc, str]:
    """The function under any :func:`functools.partial`, and its name with the bound arguments."""
    bound = ""
    while isinstance(func, functools.partial):
        bound += f"|{func.args!r}|{sorted(func.keywords.items())!r}"
        func = func.func
    name = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', type(func).__qualname__)}"
    return func, name + bound


def _code_digest(func: MeasureFunc) -> bytes:
    """The measure code: :mod:`gis.measures`, the file of ``func``'s module and ``func``'s own source.

    The module file is read on every call, so an edited measure is seen without a restart; the
    function's own source tells apart two functions of one name in one file (e.g. lambdas).
    """
    func, _ = _unwrap(func)
    digest = hashlib.blake2b(_measures_code(), digest_size=16)
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    path = getattr(module, "__file__", None)
    if path and Path(path).is_file():
        digest.update(Path(path).read_bytes())
    try:
        digest.update(inspect.getsource(func).encode())
    except (OSError, TypeError):  # defined interactively: its compiled code stands in for the source
        code = getattr(func, "__code__", None)
        digest.update(code.co_code if code is not None else type(func).__qualname__.encode())
    return digest.digest()


def measures_key(
    sites: gpd.GeoDataFrame,
    layers: dict[str, pd.DataFrame],
    config: ScoringConfig,
    *,
    func: MeasureFunc | None = None,
) -> str:
    """Hex key of everything the measures of ``sites`` depend on."""
    func = func or measure_sites
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"gis-btc-sites {__version__}".encode())
    digest.update(_unwrap(func)[1].encode())
    digest.update(_code_digest(func))
    digest.update(config.model_dump_json(include=CONFIG_TABLES).encode())
    _hash_frame(digest, sites)
    for name in MEASURE_LAYERS:
        digest.update(name.encode())
        _hash_frame(digest, layers.get(name))
    return digest.hexdigest()


class CachedEngine:
    """Wrap an engine: measures come from ``cache_dir`` (or memory) when their inputs are unchanged.

    Parameters
    ----------
    inner
        the engine that measures on a miss.
    cache_dir
        folder of the parquet files (e.g. ``OUT/.cache``); None keeps them in memory only.
    memory_items
        measures tables kept in memory (most recent first).
    disk_items
        files kept in ``cache_dir``; the least recently used beyond it are deleted.
    """

    def __init__(
        self,
        inner: Engine,
        *,
        cache_dir: str | Path | None = None,
        memory_items: int = 4,
        disk_items: int = 8,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.memory_items = memory_items
        self.disk_items = disk_items
        self._memory: OrderedDict[str, pd.DataFrame] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.warnings: list[str] = []

    def measure(
        self,
        sites: gpd.GeoDataFrame,
        layers: dict[str, pd.DataFrame],
        config: ScoringConfig,
        *,
        func: MeasureFunc | None = None,
    ) -> pd.DataFrame:
        """Cached measures of ``sites``; computed by the wrapped engine on a miss."""
        key = measures_key(sites, layers, config, func=func)
        if key in self._memory:
            self.hits += 1
            self._memory.move_to_end(key)
            return self._memory[key].copy()
        path = self.cache_dir / f"measures-{key}.parquet" if self.cache_dir is not None else None
        measures = None
        if path is not None and path.is_file():
            try:
                measures = _restore_text(pd.read_parquet(path))
                path.touch()
                self.hits += 1
            except Exception as exc:  # a damaged or unreadable cache file is only a miss
                self._without_disk(f"cannot read {path} ({exc})")
                measures = None
        if measures is None:
            self.misses += 1
            measures = self.inner.measure(sites, layers, config, func=func)
            if path is not None and self.cache_dir is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with atomic_path(path) as tmp:
                        measures.to_parquet(tmp, index=False)
                    self._prune()
                except (OSError, GisError) as exc:
                    self._without_disk(
                        f"cannot write to {path.parent} ({getattr(exc, 'strerror', None) or exc})"
                    )
        self._remember(key, measures)
        return measures.copy()

    def _without_disk(self, why: str) -> None:
        """Go on without the disk cache (it is only an optimisation), saying so once on stderr."""
        message = (
            f"warning: measures cache disabled: {why}. The run goes on without it; set GIS_CACHE_DIR "
            "to a writable folder to keep measures between runs."
        )
        self.warnings.append(message)
        self.cache_dir = None
        print(terminal_text(message), file=sys.stderr)

    def _remember(self, key: str, measures: pd.DataFrame) -> None:
        self._memory[key] = measures
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)

    def _prune(self) -> None:
        if self.cache_dir is None:
            return
        files = sorted(self.cache_dir.glob("measures-*.parquet"), key=lambda p: p.stat().st_mtime)
        for old in files[: max(0, len(files) - self.disk_items)]:
            old.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the wrapped engine."""
        self.inner.close()

    def __enter__(self) -> CachedEngine:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _restore_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns back to object dtype, as the measure functions return them."""
    for col in frame.columns:
        if pd.api.types.is_string_dtype(frame[col]) and not pd.api.types.is_object_dtype(frame[col]):
            frame[col] = frame[col].to_numpy(dtype=object)
    return frame
