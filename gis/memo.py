"""Stage results reused when their inputs are the same: a content-keyed store of files.

A stage of ``gis run`` whose inputs did not change since an earlier run (the same layers, the
same scenario tables, the same code) need not be computed again: the scored sites before their
weights, the estimates, the outputs. Each result lives in ``$GIS_CACHE_DIR/stages/<stage>/<key>/``
under a key that hashes

- the package itself: every file under ``gis/`` (code, templates, vendored assets, the default
  scenario) and the tool version, so any change to the tool makes every entry a miss;
- the stage's inputs as its caller names them: frames by content (column names, length, CRS, WKB
  geometry, every value), configuration models by their JSON, files by path, size and
  modification time, other values by their JSON.

An entry is written into a temporary folder and renamed into place with a manifest of its files
and their sizes, so a reader sees a whole entry or none; an entry whose files are missing or of
another size is a miss, never trusted. An unwritable cache is not an error (the run goes on
without it). The ``keep`` most recently used entries of a stage are kept, older ones deleted.

>>> import pandas as pd
>>> a = digest("sites", pd.DataFrame({"x": [1.0, 2.0]}))
>>> a == digest("sites", pd.DataFrame({"x": [1.0, 2.0]}))
True
>>> a == digest("sites", pd.DataFrame({"x": [1.0, 2.5]}))
False
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import shapely

from gis import __version__

__all__ = ["Memo", "digest", "file_stamp", "kept_bytes", "package_digest"]

MANIFEST = "manifest.json"
"""The file of an entry naming its other files and their sizes in bytes; written last."""


@functools.cache
def package_digest() -> str:
    """Hex hash of the tool version and every file of the installed ``gis`` package (read once)."""
    root = Path(__file__).resolve().parent
    h = hashlib.blake2b(f"gis-btc-sites {__version__}".encode(), digest_size=16)
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def file_stamp(path: Path | str | None) -> str:
    """``path|size|mtime_ns`` of a file, ``path|<absent>`` when there is none (``""`` for None)."""
    if path is None:
        return ""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return f"{p}|<absent>"
    return f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _update_frame(h, frame: pd.DataFrame) -> None:
    """Hash a frame's columns, length, CRS, WKB geometry and values into ``h``."""
    h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(str(len(frame)).encode())
    geometry = getattr(frame, "_geometry_column_name", None)
    if geometry is not None and geometry in frame.columns:
        h.update(str(frame.crs).encode())
        h.update(b"".join(shapely.to_wkb(frame[geometry].values, hex=False, include_srid=False)))
        frame = pd.DataFrame(frame.drop(columns=geometry))
    if len(frame.columns):
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


def digest(*parts: object) -> str:
    """Hex key of ``parts`` in order, with :func:`package_digest` first.

    A part is hashed by kind: a (Geo)DataFrame by content, a model with ``model_dump_json`` by its
    JSON, bytes as they are, a string as UTF-8, a :class:`~pathlib.Path` by :func:`file_stamp`,
    anything else by its JSON (keys sorted).
    """
    h = hashlib.blake2b(package_digest().encode(), digest_size=16)
    for part in parts:
        h.update(b"\x00|")
        if isinstance(part, pd.DataFrame):
            _update_frame(h, part)
        elif hasattr(part, "model_dump_json"):
            h.update(part.model_dump_json().encode())
        elif isinstance(part, bytes):
            h.update(part)
        elif isinstance(part, str):
            h.update(part.encode())
        elif isinstance(part, Path):
            h.update(file_stamp(part).encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


class Memo:
    """The entries of one stage: ``<root>/<stage>/<key>/`` folders of files with a manifest.

    Parameters
    ----------
    stage
        the stage's name (a folder name).
    root
        the stages folder (default ``$GIS_CACHE_DIR/stages``).
    keep
        entries of this stage kept after a store (most recently used first).
    """

    def __init__(self, stage: str, root: Path | None = None, *, keep: int = 4) -> None:
        if root is None:
            from gis.config.settings import cache_dir

            root = cache_dir() / "stages"
        self.folder = Path(root) / stage
        self.keep = keep

    def load(self, key: str) -> Path | None:
        """The folder of the whole entry ``key`` (its files checked against the manifest); None on a miss."""
        entry = self.folder / key
        try:
            manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
            for name, size in manifest["files"].items():
                if (entry / name).stat().st_size != size:
                    return None
            os.utime(entry)  # recently used
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # absent, partial or damaged: a miss, never trusted
        return entry

    def store(self, key: str, fill: Callable[[Path], None]) -> str | None:
        """Make the entry ``key``: ``fill(folder)`` writes its files into an empty folder, which is
        then renamed into place whole. The warning text when the cache cannot be written, else None;
        an error of ``fill`` itself propagates."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.folder))
        except OSError as exc:
            return f"stage cache {self.folder} not writable ({exc.strerror or exc}); results not kept"
        try:
            fill(tmp)
            files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
            (tmp / MANIFEST).write_text(json.dumps({"key": key, "files": files}), encoding="utf-8")
            target = self.folder / key
            if target.exists():
                shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
        except OSError as exc:
            return f"stage cache {self.folder} not writable ({exc.strerror or exc}); results not kept"
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        self._prune()
        return None

    def _prune(self) -> None:
        """Delete all but the ``keep`` most recently used entries (and stale temporary folders)."""
        try:
            entries = [p for p in self.folder.iterdir() if p.is_dir()]
            entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return
        done = [p for p in entries if not p.name.startswith(".")]
        for old in done[self.keep :]:
            shutil.rmtree(old, ignore_errors=True)


_KEPT_LOCK = threading.Lock()


def kept_bytes(
    kind: str,
    key: str,
    make: Callable[[], bytes],
    *,
    memory: OrderedDict[tuple[str, str], bytes],
    memory_max: int,
    root: Path | None = None,
    suffix: str = ".bin",
    files: int = 4,
    disk: bool = True,
) -> bytes:
    """``make()``, or the bytes it gave before for ``key`` (a hash of everything it depends on):
    from ``memory`` (this process's, the ``memory_max`` most recently used), else, with ``disk``,
    from the :class:`Memo` of ``kind`` under ``root`` (an entry written whole with a manifest, a
    damaged one made again; the ``files`` most recently used entries kept). A cache that cannot be
    written only means making it again next time."""
    with _KEPT_LOCK:
        if (kind, key) in memory:
            memory.move_to_end((kind, key))
            return memory[(kind, key)]
    store = Memo(kind, root, keep=files) if disk else None
    name = f"data{suffix}"
    entry = store.load(key) if store is not None else None
    data = _read(entry / name) if entry is not None else None
    if data is None:
        made = data = make()

        def fill(folder: Path) -> None:
            (folder / name).write_bytes(made)

        if store is not None:
            store.store(key, fill)
    with _KEPT_LOCK:
        memory[(kind, key)] = data
        while len(memory) > memory_max:
            memory.popitem(last=False)
    return data


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
