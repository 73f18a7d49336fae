"""A GeoPackage layer written by a child process from Arrow record batches, for grid mode.

GDAL's GeoPackage insert (:func:`pyogrio.write_arrow`) holds the GIL for as long as it runs, so
no thread of the same process can make the CSV meanwhile. :class:`GpkgStream` hands the batches
to a child process (:mod:`gis.grid.gpkg_child`) through a pipe as an Arrow IPC stream: the child
inserts batch k while this process makes the CSV of batch k and the table of batch k + 1. The
child gets the same batches, schema and options as an in-process ``write_arrow`` call, so the
layer is the same.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import pyarrow as pa

from gis.errors import GisError

__all__ = ["CHILD_SCRIPT", "GDAL_CONFIG", "GpkgChild", "GpkgStream"]

CHILD_SCRIPT = Path(__file__).with_name("gpkg_child.py")
"""The child's script, run by path (it imports pyarrow and pyogrio, not this package)."""


GDAL_CONFIG = {"GDAL_PAM_ENABLED": "NO", "OGR_SQLITE_CACHE": "64"}
"""GDAL settings of the child: no ``.aux.xml`` beside a GeoPackage (as :mod:`gis.io` sets it
in this process), and a 64 MB SQLite page cache (``OGR_SQLITE_CACHE``, MB; SQLite's default
holds 2 MB), which spares re-reading and spilling pages while a million rows go in: the 2.5 km
grid's insert took 7.1-7.2 instead of 7.9-8.0 CPU-s, the child peaking ~70 MB higher. The cache
belongs to the connection, not the file: the layer is the same."""


class GpkgChild:
    """The child process, started ahead of its layer: Python and the libraries it imports take
    about a second to start, which then overlaps the caller's work. It waits for its options on
    stdin (:class:`GpkgStream` sends them); :meth:`stop` ends an unused one.

    Raises
    ------
    OSError
        when no process can be started.
    """

    def __init__(self) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by its user)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
            )
        except OSError:
            self.stderr.close()
            raise

    def stop(self) -> None:
        """End the child if it still runs (an unused or abandoned one); nothing is written."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        self.stderr.close()


class GpkgStream:
    """Write ``layer`` of the GeoPackage ``path`` from record batches, on a child process.

    Parameters
    ----------
    path
        the GeoPackage to create (the caller's temporary path: the child never renames it).
    schema
        the batches' schema; the geometry column is WKB (``binary``).
    layer, geometry_name, geometry_type, crs
        as for :func:`pyogrio.write_arrow` (``crs`` such as ``"EPSG:4326"``).
    dataset_options, layer_metadata
        GDAL dataset creation options and the layer's metadata (text values).
    process
        a child started beforehand (:class:`GpkgChild`), which has imported its libraries
        meanwhile; None starts one now.

    Use it as a context manager: on leaving, the stream is ended and the child waited for; a
    failed child raises :class:`gis.errors.GisError` naming ``path``. On an error in the block
    the child is stopped and nothing more is written.

    Attributes
    ----------
    wait_s
        seconds this process waited for the child (sending a batch it was not ready for, and
        at the end); the child's own work overlaps the rest.
    child
        after :meth:`close`, what the child reported about itself: ``cpu_s`` (CPU seconds) and
        ``peak_gb`` (its peak resident memory, GB).
    """

    def __init__(
        self,
        path: str | Path,
        schema: pa.Schema,
        *,
        layer: str,
        geometry_name: str,
        geometry_type: str,
        crs: str,
        dataset_options: dict[str, str],
        layer_metadata: dict[str, str],
        process: GpkgChild | None = None,
    ) -> None:
        self.path = Path(path)
        self.wait_s = 0.0
        self.child: dict[str, float] = {}
        options = {
            "path": str(self.path),
            "layer": layer,
            "geometry_name": geometry_name,
            "geometry_type": geometry_type,
            "crs": crs,
            "dataset_options": dataset_options,
            "layer_metadata": layer_metadata,
            "gdal_config": GDAL_CONFIG,
        }
        process = process or GpkgChild()
        self._stderr = process.stderr
        self._proc = process.proc
        assert self._proc.stdin is not None
        self._pipe = self._proc.stdin
        try:
            self._pipe.write(json.dumps(options).encode("utf-8") + b"\n")
            self._sink = pa.ipc.new_stream(pa.PythonFile(self._pipe, mode="w"), schema)
        except OSError as exc:
            self._failed(exc)

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        """Send ``table`` (the stream's schema) to the child, which inserts it in order."""
        t0 = time.perf_counter()
        try:
            self._sink.write(table)
        except OSError as exc:  # the child stopped reading: it failed
            self._failed(exc)
        self.wait_s += time.perf_counter() - t0

    def close(self) -> None:
        """End the stream and wait for the child; GisError when it did not write the layer."""
        t0 = time.perf_counter()
        try:
            self._sink.close()
            self._pipe.close()
        except OSError as exc:
            self._failed(exc)
        assert self._proc.stdout is not None
        said = self._proc.stdout.read()
        if self._proc.wait() != 0:
            self._failed(None)
        self.wait_s += time.perf_counter() - t0
        self._stderr.close()
        with contextlib.suppress(ValueError):  # a report is a courtesy, not part of the layer
            self.child = {k: float(v) for k, v in json.loads(said or b"{}").items()}

    def abort(self) -> None:
        """Stop the child without finishing the layer (the caller discards the file)."""
        self._proc.kill()
        self._proc.wait()
        with contextlib.suppress(OSError):  # the pipe's last bytes cannot reach a stopped child
            self._pipe.close()
        self._stderr.close()

    def _failed(self, exc: OSError | None) -> None:
        """Raise the child's error (its stderr) as a GisError, the child stopped first."""
        self._proc.kill()
        self._proc.wait()
        self._stderr.seek(0)
        said = self._stderr.read().decode("utf-8", "replace").strip()
        self._stderr.close()
        why = said or (str(exc) if exc is not None else f"exit status {self._proc.returncode}")
        raise GisError(
            f"the GeoPackage layer could not be written ({why})",
            file=self.path,
            fix="check the free disk space and that the folder is writable",
        ) from exc

    def __enter__(self) -> GpkgStream:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
