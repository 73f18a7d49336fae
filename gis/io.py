"""Writing outputs atomically: a crash never leaves a half-written file behind.

Every writer renders into a temporary file in the target's own directory and renames it over
the target (``os.replace`` is atomic on one filesystem). A read-only or missing output
directory fails with a :class:`~gis.errors.GisError` that names it. Reading a GeoPackage
back (:func:`gpkg_layer_names`, :func:`read_gpkg_layer`) turns a file GDAL cannot open into
such an error too.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyogrio

from gis.errors import GisError

GPKG_VERSION = "1.2"
"""GeoPackage version written: GDAL >= 3.7 writes 1.4 by default, which GDAL 3.6 / QGIS 3.22 (the
long-term release in Debian 12) open with a "may only be partially supported" warning on every
open. Nothing written here needs a feature newer than 1.2."""

# GDAL would otherwise leave a "<file>.aux.xml" beside a GeoPackage it only read (its
# persistent auxiliary metadata): outputs hold exactly the files the commands name.
pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": "NO"})


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) or fail with a clear message."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GisError(
            f"cannot create the output directory ({exc.strerror})",
            file=path,
            fix="choose a writable folder with --out",
        ) from exc
    if not os.access(path, os.W_OK):
        raise GisError(
            "the output directory is not writable", file=path, fix="choose a writable folder with --out"
        )
    return path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it to ``target``.

    On any exception the temporary file is removed and ``target`` is left as it was.
    """
    target = Path(target)
    ensure_dir(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # writers such as GDAL want to create the file themselves
    try:
        yield tmp_path
        try:
            os.replace(tmp_path, target)
        except OSError as exc:  # e.g. a folder already has the output's name
            raise GisError(
                f"cannot replace the output file ({exc.strerror})",
                file=target,
                fix="move the folder or file of that name away, or choose another --out",
            ) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(target: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically (``\\n`` line endings)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Write bytes atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_json(target: str | Path, payload: object) -> Path:
    """Write JSON atomically, keys in the given order, 2-space indent, deterministic floats."""
    return write_text(target, json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def write_csv(target: str | Path, frame: pd.DataFrame) -> Path:
    """Write a CSV atomically (UTF-8, ``\\n`` line endings, no index)."""
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
    return Path(target)


def write_gpkg(
    target: str | Path,
    layers: Mapping[str, pd.DataFrame],
    *,
    dataset_metadata: Mapping[str, str] | None = None,
    layer_metadata: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """Write several layers into one GeoPackage atomically.

    GeoDataFrames become feature layers, plain DataFrames attribute tables. A layer mixing
    single and multi geometries (Polygon and MultiPolygon) is written as multi, so GIS programs
    see one geometry type per layer. Metadata values are strings (use JSON for structure); GDAL
    stores them in ``gpkg_metadata``. The file is GeoPackage :data:`GPKG_VERSION`.
    """
    import geopandas as gpd
    import pyogrio

    layer_metadata = layer_metadata or {}
    with atomic_path(target) as tmp:
        first = True
        for name, frame in layers.items():
            kwargs = {}
            if first:
                kwargs["dataset_options"] = {"VERSION": GPKG_VERSION}
            if first and dataset_metadata:
                kwargs["dataset_metadata"] = {k: str(v) for k, v in dataset_metadata.items()}
            if name in layer_metadata:
                kwargs["layer_metadata"] = {k: str(v) for k, v in layer_metadata[name].items()}
            data = frame if isinstance(frame, gpd.GeoDataFrame) else pd.DataFrame(frame)
            pyogrio.write_dataframe(data, tmp, layer=name, driver="GPKG", append=not first, **kwargs)
            first = False
    return Path(target)


def gpkg_layer_names(path: str | Path, *, fix: str) -> list[str]:
    """Layer names of a GeoPackage; a file that is not one (or is damaged) is a GisError naming it."""
    import pyogrio

    try:
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GisError(f"the file is not a readable GeoPackage ({exc})", file=path, fix=fix) from exc


def read_gpkg_layer(path: str | Path, layer: str, *, fix: str) -> pd.DataFrame:
    """One layer of a GeoPackage (a GeoDataFrame, or a DataFrame for an attribute table)."""
    import pyogrio

    try:
        return pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GisError(f"cannot read the GeoPackage layer ({exc})", file=path, field=layer, fix=fix) from exc
