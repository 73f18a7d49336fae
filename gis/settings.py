"""Where things live: data directory, mirror, download cache, output folder, packaged resources.

Every setting has one environment variable and one command-line option; the option wins.

========================  ==========================================================
``GIS_DATA_DIR``          a local directory laid out like the public data mirror
``GIS_DATA_MIRROR``       an HTTP(S) URL serving the same layout
``GIS_CACHE_DIR``         the download cache (default: the user's cache directory)
``GIS_REQUIRE_DATA``      ``1`` turns "real data absent" test skips into failures (CI)
========================  ==========================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "gis-btc-sites"
DEFAULT_OUT = Path("out")


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


def resource_dir(name: str) -> Path:
    """A folder of packaged resources (``"layers"`` catalog or ``"maps"`` presets).

    In a source checkout (editable install) this is the top-level folder of the repository;
    in an installed wheel it is ``gis/_resources/<name>``.
    """
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    packaged = resources.files("gis") / "_resources" / name
    return Path(str(packaged))


def require_real_data() -> bool:
    """True when tests must fail, not skip, if the real data is absent (CI sets it)."""
    return os.environ.get("GIS_REQUIRE_DATA", "").strip().lower() in {"1", "true", "yes"}
