"""What the outputs derive from data that a weight change leaves alone (the map's source layers,
the charts of prices and supply, the states' outline of the explorer), kept by the hash of that data:
in this process and in ``$GIS_CACHE_DIR/<kind>``. What is kept is exactly what making it gives; a
folder that cannot be written or a damaged file only means making it again."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely

from gis import memo

__all__ = ["KEPT_FILES", "geometry_digest", "kept_bytes", "kept_folder", "kept_text"]

KEPT_FILES = 64
"""Entries kept per kind unless the caller says otherwise; the least recently used go beyond it."""

_MEMORY: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_MEMORY_MAX = 96


def geometry_digest(geometry: object) -> bytes:
    """A hash of a geometry array's WKB (missing geometries counted apart from empty ones)."""
    wkb = shapely.to_wkb(np.asarray(geometry, dtype=object))
    sizes = np.fromiter((-1 if b is None else len(b) for b in wkb), dtype=np.int64, count=len(wkb))
    return hashlib.blake2b(
        sizes.tobytes() + b"".join(b for b in wkb if b is not None), digest_size=20
    ).digest()


def kept_folder(kind: str) -> Path:
    """``$GIS_CACHE_DIR/<kind>``: where the bytes of ``kind`` are kept."""
    from gis.config.settings import cache_dir

    return cache_dir() / kind


def kept_bytes(
    kind: str, key: str, make: Callable[[], bytes], *, suffix: str = ".bin", files: int = KEPT_FILES
) -> bytes:
    """``make()``, or the bytes it gave before for ``key`` (a hash of everything it depends on):
    from this process, else from ``kept_folder(kind)`` (:func:`gis.memo.kept_bytes`); the
    ``files`` most recently used entries of ``kind`` are kept."""
    return memo.kept_bytes(
        kind,
        key,
        make,
        memory=_MEMORY,
        memory_max=_MEMORY_MAX,
        root=kept_folder(kind).parent,
        suffix=suffix,
        files=files,
    )


def kept_text(kind: str, key: str, make: Callable[[], str]) -> str:
    """:func:`kept_bytes` of a text (UTF-8, in ``data.txt``)."""
    return kept_bytes(kind, key, lambda: make().encode("utf-8"), suffix=".txt").decode("utf-8")
