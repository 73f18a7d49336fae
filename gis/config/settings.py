"""Where things live: data directory, mirror, download cache, output folder, packaged resources.

Every setting has one environment variable and one command-line option; the option wins.

========================  ==========================================================
``GIS_DATA_DIR``          a local directory laid out like the public data mirror
``GIS_DATA_MIRROR``       an HTTP(S) URL serving the same layout
``GIS_CACHE_DIR``         the download cache (default: the user's cache directory)
``GIS_REQUIRE_DATA``      ``1`` turns "real data absent" test skips into failures (CI)
========================  ==========================================================

Resource bounds (:func:`limits`), each with a default that fits the real data many times over:

=============================  =====================================================
``GIS_DOWNLOAD_DEADLINE_S``    longest one download may take, seconds (3600)
``GIS_DOWNLOAD_STALL_S``       longest wait for the next bytes, seconds (60)
``GIS_MAX_DOWNLOAD_MB``        largest download without a catalogued size, MB (8192)
``GIS_MAX_INFLATE_MB``         largest decompressed member or file, MB (4096)
=============================  =====================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

__all__ = [
    "APP_NAME",
    "DEFAULT_OUT",
    "MAX_INFLATE_RATIO",
    "SIZE_MARGIN",
    "WATCH_POLL_S",
    "DataOrigin",
    "Limits",
    "cache_dir",
    "catalog_dir",
    "data_origin",
    "limits",
    "require_real_data",
    "resource_dir",
]

APP_NAME = "gis-btc-sites"
DEFAULT_OUT = Path("out")
WATCH_POLL_S = 0.1
"""Seconds between two looks at the scenario file under ``gis run --watch`` (:mod:`gis.watch`):
a save is taken within one and a half polls (half a poll to see it hold still), and a look is
one ``stat`` call."""


@dataclass(frozen=True)
class DataOrigin:
    """Where source files come from: exactly one of a local directory, a mirror URL, or the
    official download URLs listed in the layer catalog (``data_dir`` and ``mirror`` both None)."""

    data_dir: Path | None = None
    mirror: str | None = None

    @property
    def kind(self) -> str:
        """``"dir"``, ``"mirror"`` or ``"official"``."""
        if self.data_dir is not None:
            return "dir"
        if self.mirror is not None:
            return "mirror"
        return "official"

    def describe(self) -> str:
        if self.data_dir is not None:
            return f"local directory {self.data_dir}"
        if self.mirror is not None:
            return f"mirror {self.mirror}"
        return "official download URLs"


def data_origin(data_dir: str | Path | None = None, mirror: str | None = None) -> DataOrigin:
    """Resolve the data origin from options, then ``GIS_DATA_DIR`` / ``GIS_DATA_MIRROR``."""
    if data_dir is not None and mirror is not None:
        from gis.errors import GisError

        raise GisError(
            "both a data directory and a mirror were given",
            field="--data-dir/--mirror",
            fix="pass only one of --data-dir DIR or --mirror URL",
        )
    if data_dir is None and mirror is None:
        data_dir = os.environ.get("GIS_DATA_DIR") or None
        if data_dir is None:
            mirror = os.environ.get("GIS_DATA_MIRROR") or None
    return DataOrigin(
        data_dir=Path(data_dir).expanduser().resolve() if data_dir else None,
        mirror=mirror.rstrip("/") if mirror else None,
    )


def cache_dir() -> Path:
    """The download cache: ``$GIS_CACHE_DIR`` or the user's cache directory."""
    env = os.environ.get("GIS_CACHE_DIR")
    path = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir(APP_NAME))
    return path


SIZE_MARGIN = 1.25
"""A download may be this many times its catalogued ``size_bytes`` (plus 1 MiB) before it is refused."""

MAX_INFLATE_RATIO = 200.0
"""A compressed member inflating more than this many times (and beyond 64 MiB) is refused as a bomb."""


@dataclass(frozen=True)
class Limits:
    """Bounds on downloads and decompression (see the module table for the variables).

    Attributes
    ----------
    deadline_s
        longest one download may take in all, seconds.
    stall_s
        longest wait for the next bytes (and for the connection), seconds.
    max_download_bytes
        largest download whose catalog entry gives no ``size_bytes``, bytes.
    max_inflate_bytes
        largest decompressed archive member, gzip file or HTTP body, bytes.
    """

    deadline_s: float = 3600.0
    stall_s: float = 60.0
    max_download_bytes: int = 8192 << 20
    max_inflate_bytes: int = 4096 << 20

    def download_cap(self, size_bytes: int | None) -> int:
        """Most bytes accepted for a file catalogued at ``size_bytes`` (None: not catalogued)."""
        if size_bytes is None or size_bytes <= 0:
            return self.max_download_bytes
        return min(int(size_bytes * SIZE_MARGIN) + (1 << 20), self.max_download_bytes)


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value < float("inf")):
        from gis.errors import GisError

        raise GisError(
            f"{name}={raw!r} is not a positive number", field=name, fix=f"unset {name} or give a number > 0"
        )
    return value


def limits() -> Limits:
    """The resource bounds, from the environment (``GIS_DOWNLOAD_DEADLINE_S`` ...) or defaults."""
    base = Limits()
    return Limits(
        deadline_s=_positive("GIS_DOWNLOAD_DEADLINE_S", base.deadline_s),
        stall_s=_positive("GIS_DOWNLOAD_STALL_S", base.stall_s),
        max_download_bytes=int(_positive("GIS_MAX_DOWNLOAD_MB", base.max_download_bytes / 2**20) * 2**20),
        max_inflate_bytes=int(_positive("GIS_MAX_INFLATE_MB", base.max_inflate_bytes / 2**20) * 2**20),
    )


def resource_dir(name: str) -> Path:
    """A folder of packaged resources (``"layers"`` catalog or ``"maps"`` presets).

    In a source checkout (editable install) this is the top-level folder of the repository;
    in an installed wheel it is ``gis/_resources/<name>``.
    """
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    packaged = resources.files("gis") / "_resources" / name
    return Path(str(packaged))


def catalog_dir() -> Path:
    """The folder of catalog files (``layers/*.toml``): ``$GIS_CATALOG_DIR`` or the packaged one."""
    folder = os.environ.get("GIS_CATALOG_DIR")
    return Path(folder) if folder else resource_dir("layers")


def processes() -> int:
    """Processes the Monte Carlo, the layer build and the outputs may use: ``$GIS_PROCESSES`` or
    the machine's cores (1: this one only)."""
    raw = os.environ.get("GIS_PROCESSES", "").strip()
    if not raw:
        return max(1, os.cpu_count() or 1)
    if not raw.isdigit() or int(raw) < 1:
        from gis.errors import GisError

        raise GisError(
            f"GIS_PROCESSES={raw!r} is not a whole number >= 1",
            field="GIS_PROCESSES",
            fix="unset GIS_PROCESSES or give the number of processes (1: no other process)",
        )
    return int(raw)


def require_real_data() -> bool:
    """True when tests must fail, not skip, if the real data is absent (CI sets it)."""
    return os.environ.get("GIS_REQUIRE_DATA", "").strip().lower() in {"1", "true", "yes"}
