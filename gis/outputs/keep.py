"""Text the outputs derive from data that rarely changes (the states' outline, unchanged when the
scoring weights change), kept by the hash of that data: in this process and in
``$GIS_CACHE_DIR/<kind>``. A kept text is the text the function makes; a folder that cannot be
written or a damaged file only means making it again."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely

__all__ = ["KEPT_FILES", "geometry_digest", "kept_text"]

KEPT_FILES = 64
"""Files kept per kind; the oldest go beyond this."""

_MEMORY: OrderedDict[tuple[str, str], str] = OrderedDict()
_MEMORY_MAX = 16
_LOCK = threading.Lock()
_MARK = "gis-kept-text/1 "


def geometry_digest(geometry: object) -> bytes:
    """A hash of a geometry array's WKB (missing geometries counted apart from empty ones)."""
    wkb = shapely.to_wkb(np.asarray(geometry, dtype=object))
    sizes = np.fromiter((-1 if b is None else len(b) for b in wkb), dtype=np.int64, count=len(wkb))
    return hashlib.blake2b(
        sizes.tobytes() + b"".join(b for b in wkb if b is not None), digest_size=20
    ).digest()


def _folder(kind: str) -> Path:
    from gis.config.settings import cache_dir

    return cache_dir() / kind


def kept_text(kind: str, key: str, make: Callable[[], str]) -> str:
    """``make()``, or the text it gave before for ``key`` (a hash of everything it depends on)."""
    with _LOCK:
        if (kind, key) in _MEMORY:
            _MEMORY.move_to_end((kind, key))
            return _MEMORY[(kind, key)]
    text = _read(kind, key)
    if text is None:
        text = make()
        _write(kind, key, text)
    with _LOCK:
        _MEMORY[(kind, key)] = text
        while len(_MEMORY) > _MEMORY_MAX:
            _MEMORY.popitem(last=False)
    return text


def _read(kind: str, key: str) -> str | None:
    try:
        text = (_folder(kind) / f"{key}.txt").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    head, _, body = text.partition("\n")
    if not head.startswith(_MARK) or head[len(_MARK) :] != str(len(body)):
        return None
    return body


def _write(kind: str, key: str, text: str) -> None:
    folder = _folder(kind)
    tmp = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(f"{_MARK}{len(text)}\n{text}", encoding="utf-8")
        os.replace(tmp, folder / f"{key}.txt")
        files = sorted(folder.glob("*.txt"), key=lambda p: p.stat().st_mtime_ns)
        for old in files[: max(0, len(files) - KEPT_FILES)]:
            old.unlink(missing_ok=True)
    except OSError:
        tmp.unlink(missing_ok=True)
