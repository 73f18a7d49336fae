"""Write one GeoPackage layer from an Arrow IPC stream on standard input (a child process).

Run by :class:`gis.grid.gpkg.GpkgStream` as a script (``python gpkg_child.py``), so it imports
pyarrow and pyogrio only, not the package. Standard input holds one line of JSON options
(``path``, ``layer``, ``geometry_name``, ``geometry_type``, ``crs``, ``dataset_options``,
``layer_metadata``, and ``gdal_config``: the parent's GDAL settings), then the record batches as
an Arrow IPC stream; they go to :func:`pyogrio.write_arrow` as they come, while the parent
process prepares the next ones. Exit status 0 when the layer is written (and one line of JSON on
stdout: the child's ``cpu_s``, CPU seconds, and ``peak_gb``, peak resident memory in GB); on an
error the message goes to stderr and the status is 1.
"""

from __future__ import annotations

import json
import sys
import time

__all__ = ["NOT_IMPORTED", "main"]


NOT_IMPORTED = ("pandas", "geopandas", "shapely", "pyproj")
"""Libraries pyogrio imports when they are installed but this child never uses (it hands Arrow
batches to GDAL): kept out, they spare it ~0.3-0.5 CPU-s of imports while the parent scores."""


def main() -> int:
    """Read the options line and the stream on stdin; write the layer."""
    for name in NOT_IMPORTED:  # pyogrio treats each as not installed
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    import pyarrow as pa
    import pyogrio

    source = sys.stdin.buffer
    try:
        options = json.loads(source.readline())
        pyogrio.set_gdal_config_options(options.get("gdal_config") or {})
        with pa.ipc.open_stream(pa.PythonFile(source, mode="r")) as reader:
            pyogrio.write_arrow(
                reader,
                options["path"],
                layer=options["layer"],
                driver="GPKG",
                geometry_name=options["geometry_name"],
                geometry_type=options["geometry_type"],
                crs=options["crs"],
                dataset_options=options["dataset_options"],
                layer_metadata=options["layer_metadata"],
            )
    except Exception as exc:  # reported to the parent, which raises it as a GisError
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"cpu_s": time.process_time(), "peak_gb": _peak_gb()}))
    return 0


def _peak_gb() -> float:
    """This process's peak resident memory (VmHWM), GB; NaN where /proc is absent."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return float("nan")


if __name__ == "__main__":
    sys.exit(main())
