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
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyogrio

from gis.errors import GisError

__all__ = [
    "STAGING_PREFIX",
    "FrameSubset",
    "LazyFrames",
    "add_gpkg_layers",
    "as_written",
    "atomic_path",
    "clean_stale",
    "disk_nearly_full",
    "ensure_dir",
    "frame_columns",
    "gpkg_layer_names",
    "landing_path",
    "read_frames",
    "read_gpkg_layer",
    "staged_outputs",
    "write_bytes",
    "write_csv",
    "write_frames",
    "write_gpkg",
    "write_json",
    "write_text",
]

STAGING_PREFIX = ".staging-"
"""Hidden folder inside OUT where a command writes its outputs before they are swapped in."""
_COMMIT_PREFIX = ".commit-"
_TEMP_SUFFIXES = ("-journal", "-wal", "-shm", ".part")

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
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(exc, Exception) and not isinstance(exc, GisError) and disk_nearly_full(target.parent):
            raise GisError(
                f"the disk is full: the output could not be written ({type(exc).__name__})",
                file=target,
                fix="free space on that disk or choose another folder with --out, then rerun",
            ) from exc
        raise


DISK_FULL_BYTES = 1 << 20
"""A failed write into a folder with less free space than this (bytes) is reported as a full disk."""


def disk_nearly_full(folder: Path) -> bool:
    """True when ``folder``'s file system has less than :data:`DISK_FULL_BYTES` free."""
    try:
        return shutil.disk_usage(folder).free < DISK_FULL_BYTES
    except OSError:
        return False


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
    """Write a CSV atomically (UTF-8, ``\\n`` line endings, no index).

    Text goes through :func:`gis.textsafe.csv_text` (one line per field, no control characters,
    formula-like cells neutralised); fields holding a comma or a quote are quoted. So a row is a
    row in any reader and a spreadsheet evaluates nothing.
    """
    from gis.textsafe import csv_frame

    with atomic_path(target) as tmp:
        csv_frame(frame).to_csv(tmp, index=False, lineterminator="\n")
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
    stores them in ``gpkg_metadata``. The file is GeoPackage :data:`GPKG_VERSION`. Rows go through
    Arrow (the same fields and values as the row-wise writer, about 40 % sooner).
    """
    with atomic_path(target) as tmp:
        add_gpkg_layers(tmp, layers, dataset_metadata=dataset_metadata, layer_metadata=layer_metadata)
    return Path(target)


def add_gpkg_layers(
    path: str | Path,
    layers: Mapping[str, pd.DataFrame],
    *,
    dataset_metadata: Mapping[str, str] | None = None,
    layer_metadata: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """Write ``layers`` into the GeoPackage ``path`` in place, as :func:`write_gpkg` does: the file
    is created (GeoPackage :data:`GPKG_VERSION`) when absent, else the layers are added to it.

    Not atomic: the caller writes into a temporary file (:func:`atomic_path`). ``dataset_metadata``
    goes with the first layer written and replaces the file's.
    """
    import geopandas as gpd
    import pyogrio

    layer_metadata = layer_metadata or {}
    first = True
    exists = Path(path).is_file()
    for name, frame in layers.items():
        kwargs = {}
        if first and not exists:
            kwargs["dataset_options"] = {"VERSION": GPKG_VERSION}
        if first and dataset_metadata:
            kwargs["dataset_metadata"] = {k: str(v) for k, v in dataset_metadata.items()}
        if name in layer_metadata:
            kwargs["layer_metadata"] = {k: str(v) for k, v in layer_metadata[name].items()}
        data = frame if isinstance(frame, gpd.GeoDataFrame) else pd.DataFrame(frame)
        pyogrio.write_dataframe(
            data, path, layer=name, driver="GPKG", append=exists or not first, use_arrow=True, **kwargs
        )
        first = False
    return Path(path)


_MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}


def as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as :func:`write_gpkg` stores it: a layer mixing single and multi geometries of one
    kind (Polygon and MultiPolygon) gets multi geometries only; anything else is returned as is.

    The in-memory pipeline uses it so that a layer used straight after it is built is the same as
    the layer read back from ``layers.gpkg``.

    >>> import geopandas as gpd
    >>> from shapely.geometry import MultiPolygon, box
    >>> mixed = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), MultiPolygon([box(2, 2, 3, 3)])], crs=4326)
    >>> list(as_written(mixed).geom_type)
    ['MultiPolygon', 'MultiPolygon']
    """
    import geopandas as gpd
    import shapely

    if not isinstance(frame, gpd.GeoDataFrame) or frame.empty:
        return frame
    types = frame.geom_type
    kinds = set(types.dropna())
    single = next((k for k in kinds if k in _MULTI), None)
    if single is None or kinds != {single, _MULTI[single]}:
        return frame
    make = {
        "Point": shapely.multipoints,
        "LineString": shapely.multilinestrings,
        "Polygon": shapely.multipolygons,
    }
    geoms = frame.geometry.to_numpy().copy()
    is_single = (types == single).to_numpy()
    geoms[is_single] = make[single](geoms[is_single][:, None])
    out = frame.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)
    return out


def write_frames(folder: str | Path, frames: Mapping[str, pd.DataFrame]) -> Path:
    """Write frames as one GeoParquet (or Parquet) file each into ``folder``, atomically as a whole.

    A fast cache format for layers already validated: read back by :func:`read_frames` with the same
    columns, dtypes (text as ``object``), CRS and index.
    """
    import geopandas as gpd

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, frame in frames.items():
            kind = "geo" if isinstance(frame, gpd.GeoDataFrame) else "table"
            frame.to_parquet(tmp / f"{name}.{kind}.parquet")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _read_frame(path: Path) -> pd.DataFrame:
    """One file :func:`write_frames` wrote, text columns as ``object`` (None where missing)."""
    kind = path.name.removesuffix(".parquet").rsplit(".", 1)[1]
    frame = _read_geoparquet(path) if kind == "geo" else pd.read_parquet(path)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.StringDtype):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


_PARQUET_CRS: dict[str, object] = {}
"""The pyproj CRS of each GeoParquet ``crs`` (PROJJSON) text read in this process."""


def _parquet_crs(column: dict) -> object:
    """The CRS of a GeoParquet geometry column's metadata, as ``geopandas.read_parquet`` makes it
    (no ``crs``: OGC:CRS84, per the GeoParquet specification; ``null``: none), built once per
    distinct PROJJSON text in this process: pyproj takes ~25 ms to parse one, and every layer and
    measure frame carries the same EPSG:4326 text. pyproj CRS objects may be shared between
    threads (each thread builds its own PROJ object from it)."""
    from pyproj import CRS

    if "crs" not in column:
        return "OGC:CRS84"
    if column["crs"] is None:
        return None
    text = json.dumps(column["crs"])  # in the file's order: pyproj keeps the text it was given
    crs = _PARQUET_CRS.get(text)
    if crs is None:
        projjson = json.loads(text)
        _without_member_ids(projjson)
        crs = _PARQUET_CRS.setdefault(text, CRS.from_user_input(projjson))
    return crs


def _without_member_ids(projjson: dict) -> None:
    """Drop the ids of datum ensemble members in place, as geopandas and GDAL do on reading:
    an older PROJ database does not know the ids a newer one wrote (GDAL pull 5872)."""
    for key, value in projjson.items():
        if isinstance(value, dict):
            _without_member_ids(value)
        elif key == "members" and isinstance(value, list):
            for member in value:
                if isinstance(member, dict):
                    member.pop("id", None)


def _read_geoparquet(path: Path) -> pd.DataFrame:
    """A GeoParquet file :func:`write_frames` wrote (one WKB geometry column), read as
    ``geopandas.read_parquet`` reads it (columns, order, index, dtypes, CRS) with the CRS built
    once per process (:func:`_parquet_crs`); any other layout is left to geopandas."""
    import geopandas as gpd
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    metadata = table.schema.metadata or {}
    geo = json.loads(metadata[b"geo"]) if b"geo" in metadata else None
    columns = (geo or {}).get("columns", {})
    if (
        geo is None
        or b"PANDAS_ATTRS" in metadata
        or len(columns) != 1
        or geo.get("primary_column") not in columns
        or geo["primary_column"] not in table.column_names
        or columns[geo["primary_column"]].get("encoding") != "WKB"
    ):
        return gpd.read_parquet(path)
    name = geo["primary_column"]
    order = list(table.slice(0, 0).to_pandas().columns)
    frame = table.drop([name]).to_pandas()
    geometry = gpd.array.from_wkb(table[name].to_numpy(), crs=_parquet_crs(columns[name]))
    frame.insert(order.index(name), name, geometry)
    return gpd.GeoDataFrame(frame, geometry=name)


def read_frames(folder: str | Path, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The frames :func:`write_frames` wrote (all, or ``names``), text columns as ``object``."""
    return dict(LazyFrames(folder, names))


class LazyFrames(Mapping[str, pd.DataFrame]):
    """The frames :func:`write_frames` wrote, each read on first access (then kept).

    A stage that finds its result in a cache never reads the layers it would have computed
    from; one that does pays for the frames it uses only. Opening checks every file's Parquet
    footer, so a damaged or truncated file fails here (``OSError`` or ``ValueError``), not later.
    """

    def __init__(self, folder: str | Path, names: list[str] | None = None) -> None:
        import pyarrow.parquet as pq

        self._paths: dict[str, Path] = {}
        for path in sorted(Path(folder).glob("*.parquet")):
            name = path.name.removesuffix(".parquet").rsplit(".", 1)[0]
            if names is None or name in names:
                pq.read_metadata(path)  # the footer: a damaged file fails now
                self._paths[name] = path
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = _read_frame(self._paths[name])
        return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, name: object) -> bool:
        """Whether the folder holds frame ``name`` (without reading it)."""
        return name in self._paths

    def columns(self, name: str) -> list[str]:
        """The columns of frame ``name`` in order, from its file's schema when not read yet."""
        import pyarrow.parquet as pq

        if name in self._frames:
            return [str(c) for c in self._frames[name].columns]
        return [str(c) for c in pq.read_schema(self._paths[name]).empty_table().to_pandas().columns]


class FrameSubset(Mapping[str, pd.DataFrame]):
    """The frames ``names`` of ``frames`` (those it holds; all when None), read from it only when
    used: a stage handed a :class:`LazyFrames` subset reads just what it uses. ``copies``: each
    frame given as a shallow copy of its own, made when first asked for (with pandas'
    copy-on-write, a user's changes to it reach neither ``frames`` nor another subset).

    >>> subset = FrameSubset({"a": pd.DataFrame(), "b": pd.DataFrame()}, ["b", "c"])
    >>> list(subset), "c" in subset, subset.base is not None
    (['b'], False, True)
    """

    def __init__(
        self, frames: Mapping[str, pd.DataFrame], names: Iterable[str] | None = None, *, copies: bool = False
    ) -> None:
        self.base = frames
        self._names = [name for name in (frames if names is None else names) if name in frames]
        self._copies: dict[str, pd.DataFrame] | None = {} if copies else None

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            raise KeyError(name)
        if self._copies is None:
            return self.base[name]
        if name not in self._copies:
            self._copies[name] = self.base[name].copy(deep=False)
        return self._copies[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


def frame_columns(frames: Mapping[str, pd.DataFrame], name: str) -> list[str]:
    """The columns of ``frames[name]`` in order; from the file's schema, without reading the frame,
    when ``frames`` reads lazily (:class:`LazyFrames`, or a :class:`FrameSubset` of one).

    >>> frame_columns({"a": pd.DataFrame({"x": [1], "y": [2]})}, "a")
    ['x', 'y']
    """
    if isinstance(frames, FrameSubset):
        if name not in frames:
            raise KeyError(name)
        return frame_columns(frames.base, name)
    if isinstance(frames, LazyFrames):
        return frames.columns(name)
    return [str(c) for c in frames[name].columns]


def gpkg_layer_names(path: str | Path, *, fix: str) -> list[str]:
    """Layer names of a GeoPackage; a file that is not one (or is damaged) is a GisError naming it."""
    import pyogrio

    try:
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GisError(f"the file is not a readable GeoPackage ({exc})", file=path, fix=fix) from exc


def read_gpkg_layer(path: str | Path, layer: str, *, fix: str) -> pd.DataFrame:
    """One layer of a GeoPackage (a GeoDataFrame, or a DataFrame for an attribute table), read
    through Arrow: the frame the row-wise reader gives (dtypes and values), several times sooner."""
    import pyogrio

    try:
        return pyogrio.read_dataframe(path, layer=layer, use_arrow=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GisError(f"cannot read the GeoPackage layer ({exc})", file=path, field=layer, fix=fix) from exc


# ------------------------------------------------------------------------------ transactions


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _owner_pid(name: str, prefix: str) -> int | None:
    rest = name[len(prefix) :].split("-", 1)[0].split(".", 1)[0]
    return int(rest) if rest.isdigit() else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _swap_in(out: Path, stage: Path, names: list[str]) -> None:
    """Move the staged ``names`` over their counterparts in ``out`` (files atomically)."""
    for name in names:
        src, dst = stage / name, out / name
        if not src.exists() and not src.is_symlink():
            continue  # already moved by an earlier, interrupted commit
        if src.is_dir() and dst.is_dir():
            _remove(dst)
        os.replace(src, dst)


def landing_path(path: str | Path) -> Path:
    """Where ``path`` will be once its command's outputs are swapped in: a file written inside a
    staging folder (:func:`staged_outputs`) lands in that folder's parent, OUT; any other path is
    where it is.

    >>> str(landing_path("out/.staging-12-ab/scenario.toml")), str(landing_path("out/x.csv"))
    ('out/scenario.toml', 'out/x.csv')
    """
    path = Path(path)
    return path.parent.parent / path.name if path.parent.name.startswith(STAGING_PREFIX) else path


def clean_stale(out: Path) -> list[str]:
    """Finish or remove what killed runs left in ``out``; return one line per thing done.

    A commit journal (``.commit-<pid>.json``) means a run was killed while swapping its outputs
    in: the swap is finished, so OUT holds that run's complete set. Staging folders of processes
    that are gone, and hidden temporary files of writers that were killed (``.<name>.*.tmp*``,
    GeoPackage ``-journal``/``-wal``/``-shm``), are deleted.
    """
    out = Path(out)
    done: list[str] = []
    if not out.is_dir():
        return done
    for journal in sorted(out.glob(f"{_COMMIT_PREFIX}*.json")):
        pid = _owner_pid(journal.name, _COMMIT_PREFIX)
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            continue
        try:
            plan = json.loads(journal.read_text(encoding="utf-8"))
            stage = out / str(plan["stage"])
            names = [str(n) for n in plan["names"]]
            if stage.parent.resolve() == out.resolve() and all(
                "/" not in n and n not in ("", ".", "..") for n in names
            ):
                _swap_in(out, stage, names)
                done.append(f"finished swapping in {len(names)} output(s) of a run killed while committing")
        except (OSError, ValueError, KeyError, TypeError):
            done.append(f"ignored an unreadable commit journal {journal.name}")
        journal.unlink(missing_ok=True)
    for entry in sorted(out.iterdir()):
        name = entry.name
        if name.startswith(STAGING_PREFIX):
            pid = _owner_pid(name, STAGING_PREFIX)
            if pid is not None and _pid_alive(pid):
                continue
            _remove(entry)
            done.append(f"removed the staging folder of a killed run ({name})")
        elif name.startswith(".") and (".tmp" in name or name.endswith(_TEMP_SUFFIXES)):
            _remove(entry)
            done.append(f"removed a temporary file of a killed run ({name})")
    return done


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _prepare_stage(out: Path) -> Path:
    """A new hidden staging folder in ``out`` holding a hard link (or copy) of every file of ``out``."""
    stage = out / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        stage.mkdir()
        for entry in out.iterdir():
            if entry.is_file() and not entry.name.startswith("."):
                _link_or_copy(entry, stage / entry.name)
    except OSError as exc:
        _remove(stage)
        raise GisError(
            f"cannot prepare the output folder ({exc.strerror})",
            file=out,
            fix="free space on that disk or choose a writable folder with --out",
        ) from exc
    return stage


def _changed_names(out: Path, stage: Path) -> list[str]:
    """Names of the files the command wrote in ``stage`` (new, or a new inode), sorted."""
    changed = []
    for entry in sorted(stage.iterdir()):
        if entry.name.startswith("."):
            continue
        target = out / entry.name
        if target.exists() and not entry.is_dir() and os.path.samefile(entry, target):
            continue
        if target.is_dir() and not entry.is_dir():
            raise GisError(
                "cannot replace the output file: a folder has its name",
                file=target,
                fix="move the folder or file of that name away, or choose another --out",
            )
        changed.append(entry.name)
    return changed


def _commit(out: Path, stage: Path, changed: list[str]) -> None:
    """Move ``changed`` from ``stage`` into ``out`` under a commit journal (removed once done)."""
    journal = out / f"{_COMMIT_PREFIX}{os.getpid()}.json"
    write_json(journal, {"stage": stage.name, "names": changed})
    try:
        _swap_in(out, stage, changed)
    except OSError as exc:
        raise GisError(
            f"cannot move the new outputs into place ({exc.strerror}); the next run finishes the swap",
            file=out,
            fix="free space on that disk or fix the folder's permissions, then rerun",
        ) from exc
    journal.unlink(missing_ok=True)


@contextlib.contextmanager
def staged_outputs(out: str | Path, *, report: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Run a command's writes in a staging folder and swap them into ``out`` together.

    Yields a hidden folder ``OUT/.staging-<pid>-<token>`` that starts with a hard link (or copy)
    of every file in ``out``, so commands read their inputs from it as from ``out``. On success,
    every file the command wrote (new, or replaced: a new inode) is moved into ``out`` under a
    commit journal, so a run killed at any moment leaves ``out`` with the previous complete set
    or the new complete set: a kill before the swap leaves it untouched, a kill during the swap
    is finished by the next run (:func:`clean_stale`). On any error the staging folder is
    deleted and ``out`` is unchanged. What earlier killed runs left behind is cleaned first and
    each action passed to ``report``.

    Raises
    ------
    GisError
        when ``out`` cannot be created or written, or an output's name is taken by a folder.
    """
    out = ensure_dir(Path(out))
    for line in clean_stale(out):
        if report is not None:
            report(line)
    stage = _prepare_stage(out)
    try:
        yield stage
        _commit(out, stage, _changed_names(out, stage))
    except BaseException:
        if not (out / f"{_COMMIT_PREFIX}{os.getpid()}.json").exists():
            _remove(stage)
        raise
    _remove(stage)
