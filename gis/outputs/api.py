"""Commands of the outputs stage, called by ``gis map`` and ``gis run``.

``gis map`` writes ``OUT/map.html`` (web tiles and CDN assets; ``--offline``: self-contained,
vector basemap). ``gis run`` and ``gis report`` write every output: ``map.html`` (online),
``map_offline.html`` (opens from disk on a machine without network), the styled ``sites.gpkg``,
``sites_ranked.xlsx`` and ``report.html`` (``gis report`` also ``sites_ranked.csv``). The map is
built once and written twice.
"""

from __future__ import annotations

import contextvars
import dataclasses
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gis.errors import GisError
from gis.io import FrameSubset, atomic_path
from gis.outputs.assets import vendored_licences
from gis.outputs.explorer import write_explorer, write_run_scenario
from gis.outputs.gpkg import write_sites_gpkg
from gis.outputs.inputs import StageOutputs, read_market_prices, read_stage_outputs
from gis.outputs.presets import DEFAULT_PRESET, MapPreset, load_preset
from gis.outputs.report import kept_price_curves, reference_year, sources_from_metadata, write_report
from gis.textsafe import csv_text
from gis.timing import stage

__all__ = [
    "FORKED_OUTPUTS",
    "FORKED_WHEN_ALONE",
    "MAP_SIZE_BUDGET_MB",
    "OUTPUT_WORKERS",
    "map_command",
    "map_layer_names",
    "outputs_command",
    "report_command",
    "run_outputs",
]

MAP_SIZE_BUDGET_MB = 20.0
"""A national map above this size is slow to open and to e-mail; the command warns. The offline
map of the real data is ~15.3 MB since every popup carries the site's energy and fleet figures."""


def _report_notes(console, notes: list[str]) -> None:
    for note in notes:
        console.print(f"[cyan]outputs:[/] {note}")


def _build_map(inputs: StageOutputs, preset: MapPreset, *, offline: bool | None):
    from gis.outputs.map import build_map  # folium: imported by the process that draws the map

    return build_map(
        layers=inputs.layers,
        sites=inputs.sites,
        estimates=inputs.estimates,
        preset=preset,
        offline=offline,
        layers_key=inputs.layers_key,
    )


def _write_map(fmap, target: Path, *, offline: bool, console) -> Path:
    from gis.outputs.map import write_map

    t0 = time.perf_counter()
    path = write_map(fmap, target, offline=offline)
    size_mb = path.stat().st_size / 1e6
    kind = "offline, self-contained" if offline else "online tiles"
    console.print(f"Wrote {path} ({kind}, {size_mb:.1f} MB, {time.perf_counter() - t0:.1f} s)")
    if size_mb > MAP_SIZE_BUDGET_MB:
        console.print(
            f"[yellow]warning:[/] {path.name} is {size_mb:.1f} MB (budget {MAP_SIZE_BUDGET_MB:g} MB): "
            "raise simplify_m or lower coordinate_decimals in the map preset"
        )
    return path


def map_command(*, out: Path, offline: bool, console, preset: str | Path = DEFAULT_PRESET) -> Path:
    """``gis map``: render ``OUT/map.html`` (``offline``: no network needed to open it)."""
    spec = load_preset(preset)
    inputs = read_stage_outputs(Path(out), layer_names=_map_layers(spec))
    _report_notes(console, inputs.notes)
    fmap = _build_map(inputs, spec, offline=offline)
    return _write_map(fmap, Path(out) / "map.html", offline=offline, console=console)


def report_command(*, out: Path, console) -> Path:
    """Write ``OUT/report.html`` and ``OUT/explorer.html``."""
    inputs = _with_price_curves(read_stage_outputs(Path(out), layer_names=["states"]), Path(out))
    _write_explorer(inputs, Path(out), console=console)
    return _write_report(inputs, Path(out), console=console)


def _with_price_curves(inputs: StageOutputs, out: Path) -> StageOutputs:
    """``inputs`` with the report's price curves (:func:`gis.outputs.report.kept_price_curves`),
    the prices read from ``OUT/layers.gpkg`` when the curves are not kept (here, before any output
    is handed to a forked process: GDAL is called in this one only)."""
    if inputs.price_curves is not None:
        return inputs
    curves = kept_price_curves(
        lambda: read_market_prices(out / "layers.gpkg"), reference_year(inputs.estimates), inputs.layers_key
    )
    return dataclasses.replace(inputs, price_curves=curves)


def _write_explorer(inputs: StageOutputs, out: Path, *, console) -> Path | None:
    """``OUT/explorer.html``; when the sites cannot feed it (no sub-scores), say why and go on."""
    t0 = time.perf_counter()
    try:
        path, notes = write_explorer(
            out / "explorer.html",
            sites=inputs.sites,
            estimates=inputs.estimates,
            out=out,
            states=inputs.layers.get("states"),
        )
    except GisError as exc:
        console.print(f"[yellow]warning:[/] explorer.html not written: {exc.message}")
        return None
    _report_notes(console, notes)
    size_mb = path.stat().st_size / 1e6
    console.print(f"Wrote {path} (offline explorer, {size_mb:.1f} MB, {time.perf_counter() - t0:.1f} s)")
    return path


def _write_report(inputs: StageOutputs, out: Path, *, console) -> Path:
    path = write_report(
        out / "report.html",
        sites=inputs.sites,
        estimates=inputs.estimates,
        sources=sources_from_metadata(inputs.layers_metadata),
        vendored=vendored_licences(),
        layer_notes=inputs.layer_notes,
        curves=inputs.price_curves,  # made by _with_price_curves (none without a price table)
    )
    console.print(f"Wrote {path}")
    return path


_CSV_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Any character :func:`gis.textsafe.csv_text` replaces or removes (line breaks, controls)."""
_CSV_FORMULA_LINE = re.compile(r"^[=+\-@]", re.MULTILINE)
"""A cell starting like a formula, in cells joined by line breaks (none of them holding one)."""


def _write_csv(target: Path, frame: pd.DataFrame) -> Path:
    """:func:`gis.io.write_csv`, byte for byte, without a Python call per cell: a text column in
    which :func:`gis.textsafe.csv_text` would change nothing (one search over its joined text, no
    cell starting like a formula; the usual case) is written as it is, numbers are written once
    per distinct value, and the rows are joined a column at a time (:func:`_csv_cells`), not by
    pandas' writer; a column of another kind goes through pandas as before."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            texts = [v for v in series.tolist() if isinstance(v, str)]
            if _CSV_UNSAFE.search("".join(texts)) or _CSV_FORMULA_LINE.search("\n".join(texts)):
                out[col] = series.map(lambda v: csv_text(v) if isinstance(v, str) else v)
        elif series.dtype == np.float64:  # the text pandas writes (repr, '' for NaN), once per value
            codes, uniques = pd.factorize(series.to_numpy().view(np.int64))
            floats = np.asarray(uniques, dtype=np.int64).view(np.float64).tolist()
            text = np.asarray([repr(v) if v == v else "" for v in floats], dtype=object)
            out[col] = pd.Series(text[codes], index=out.index, dtype=object)
    out.columns = [csv_text(str(c)) for c in out.columns]
    columns = [_csv_cells(out.iloc[:, j]) for j in range(out.shape[1])]
    with atomic_path(target) as tmp:
        if any(cells is None for cells in columns):  # a kind of column this writer does not know
            out.to_csv(tmp, index=False, lineterminator="\n")
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(",".join(_csv_quoted([str(c) for c in out.columns])) + "\n")
                if len(out):
                    f.writelines(",".join(row) + "\n" for row in zip(*columns, strict=True))
    return Path(target)


_CSV_QUOTE = re.compile(r'[,"\r\n]')
"""A character that makes Python's csv writer (pandas' ``to_csv``, QUOTE_MINIMAL) quote a field."""


def _csv_quoted(cells: list[str]) -> list[str]:
    """``cells`` as the csv writer writes them: a field holding a comma, a quote or a line break
    in quotes, its quotes doubled (one search over the joined text for the usual clean column)."""
    if not _CSV_QUOTE.search("".join(cells)):
        return cells
    return ['"' + c.replace('"', '""') + '"' if _CSV_QUOTE.search(c) else c for c in cells]


def _csv_cells(series: pd.Series) -> list[str] | None:
    """The fields pandas' ``to_csv`` writes for a column (missing values as ""), or None for a
    kind of column not handled here (dates, categories, ...).

    Text and Python objects are written with ``str``, booleans as ``True``/``False``, integers
    (nullable ones too) in decimal; floats reach here as text already (:func:`_write_csv`)."""
    dtype = series.dtype
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        values = series.tolist()
        cells = [
            v if isinstance(v, str) else ("" if v is None or v is pd.NA or v != v else str(v)) for v in values
        ]
        return _csv_quoted(cells)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        text = np.asarray([*(str(v) for v in uniques.tolist()), ""], dtype=object)
        return text[codes].tolist()
    return None


def _map_layers(preset: MapPreset) -> list[str]:
    return sorted({"states", *(spec.layer for spec in preset.layers)})


def map_layer_names(preset: str | Path = DEFAULT_PRESET) -> list[str]:
    """The source layers the outputs draw with ``preset`` (the states and the preset's layers)."""
    return _map_layers(load_preset(preset))


OUTPUT_WORKERS = 1
"""Threads writing the outputs at once. Some of each output's time is spent in code that lets other
threads run (zlib compressing the spreadsheet and the chart PNGs, GDAL writing sites.gpkg), but
most is Python holding the lock: measured on two idle cores with the national outputs, one thread
took 5.2-5.6 s (peak 543 MB), two 5.8 s (608 MB), three 6.1-7.0 s (661 MB). One it is; callers may
ask for more (``workers``) on machines where it pays."""

FORKED_OUTPUTS = ("report", "xlsx", "csv")
"""The outputs written by a forked child process beside the others when the machine has a second
core (:func:`gis.forked.can_fork`): a process, unlike a thread, runs Python on that core. They are
about half the work (national outputs, CPU seconds after a weight change: the spreadsheet ~1.1, the
report ~0.1 (its charts ~1.5 more when computed), the CSV ~0.3, against the maps ~1.0, the GeoPackage
~0.2 and the explorer ~0.2) and call neither GDAL nor PROJ, whose locks another thread of the
parent may hold at the fork."""

FORKED_WHEN_ALONE = ("explorer", "sites_gpkg")
"""Outputs that call PROJ (the explorer's states outline) or GDAL (the GeoPackage), shared with the
forked child too when no other thread of this process can be inside those libraries at the fork
(:func:`_shared_outputs`). A new process after a weight change spends about a second more on the
maps (imports, kept drawings read back), which the child then evens out."""


def _shared_outputs() -> tuple[str, ...]:
    """:data:`FORKED_OUTPUTS`, and :data:`FORKED_WHEN_ALONE` when every other thread of this process
    is known not to call GDAL or PROJ (a lock held at the fork would never be released in the
    child): here, only rich's display refresh (``gis run``'s progress bars on a terminal)."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    alone = all(type(t).__module__ == "rich.live" for t in others)
    return FORKED_OUTPUTS + (FORKED_WHEN_ALONE if alone else ())


def outputs_command(
    *,
    out: Path,
    scenario_path: Path | None,
    console,
    preset: str | Path = DEFAULT_PRESET,
    csv: bool = False,
    record_scenario: bool = True,
    inputs: StageOutputs | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Both maps, the styled GeoPackage, the spreadsheet, ``sites_ranked.csv`` (with the fleet rows
    of ``estimates.json`` joined on) and the report (``gis run``'s last step and ``gis report``;
    ``csv`` is kept for callers and changes nothing). ``record_scenario``:
    write ``OUT/scenario.toml`` from ``scenario_path`` (the packaged default when None). ``inputs``:
    the sites, estimates and layers already in memory (:func:`gis.outputs.inputs.stage_outputs`);
    read from OUT when None.

    The outputs are written by ``workers`` threads at once (None: :data:`OUTPUT_WORKERS`; 1: one
    after the other); each is
    written to a temporary file renamed into place when complete (:func:`gis.io.atomic_path`).
    When one fails, the outputs not yet started are not started, the ones running are let finish,
    and the error of the first failed output (in the order of the list returned) is raised; the
    files are all-or-nothing as a set through the staging folder the command writes into
    (:func:`gis.io.staged_outputs`). The "Wrote ..." lines are printed in that order too.
    """
    out = Path(out)
    spec = load_preset(preset)
    if inputs is None:
        with stage("read"):
            inputs = read_stage_outputs(out, layer_names=_map_layers(spec))
    _report_notes(console, inputs.notes)
    if record_scenario:  # OUT/scenario.toml: the scenario the sites were scored with
        scenario_file = write_run_scenario(out, scenario_path)
    tasks = _output_tasks(_with_price_curves(inputs, out), spec, out, scenario_path)
    results = run_outputs(tasks, console=console, workers=OUTPUT_WORKERS if workers is None else workers)
    written = [*results["map"], results["csv"]]
    if record_scenario:
        written.append(scenario_file)
    if results["explorer"] is not None:
        written.append(results["explorer"])
    return [*written, results["sites_gpkg"], results["xlsx"], results["report"]]


def _output_tasks(
    inputs: StageOutputs, spec: MapPreset, out: Path, scenario_path: Path | None
) -> list[tuple[str, bool, Callable[[Any], Any]]]:
    """The outputs as (name, timed as a stage, writer taking a console), in the order their lines are printed;
    each writer works on its own shallow copy of the frames (pandas caches columns it reads)."""

    def own() -> StageOutputs:
        return dataclasses.replace(
            inputs,
            sites=inputs.sites.copy(deep=False),
            layers=FrameSubset(inputs.layers, copies=True),  # each copied, and read, when used
        )

    def gpkg(console) -> Path:
        mine = own()
        path = write_sites_gpkg(
            out / "sites.gpkg",
            sites=mine.sites,
            source_layers=mine.layers,
            estimates=mine.estimates,
            preset=spec,
            layers_metadata=mine.layers_metadata,
            sites_metadata=mine.sites_metadata,
            scenario_path=scenario_path,
            layers_key=mine.layers_key,
        )
        console.print(
            f"Wrote {path} (candidate sites, summaries, {len(mine.layers)} source layers, QGIS styles)"
        )
        return path

    def xlsx(console) -> Path:
        # XlsxWriter (~0.2 s to import): imported by the process that writes the spreadsheet, the
        # forked one on two cores, not by the parent before the fork
        from gis.outputs.tables import write_ranked_xlsx

        path = write_ranked_xlsx(
            out / "sites_ranked.xlsx", own().sites, estimates=inputs.estimates, scenario_path=scenario_path
        )
        console.print(f"Wrote {path}")
        return path

    return [
        ("map", False, lambda console: _write_maps(own(), spec, out, console=console)),  # its own stages
        ("csv", True, lambda console: _write_ranked_csv(own(), out, console=console)),
        ("sites_gpkg", True, gpkg),
        ("xlsx", True, xlsx),
        ("explorer", True, lambda console: _write_explorer(own(), out, console=console)),
        ("report", True, lambda console: _write_report(own(), out, console=console)),
    ]


def _cancel(futures) -> None:
    """Cancel the futures not started; the running ones end before the pool does."""
    for future in futures:
        future.cancel()


class _Lines:
    """Stands in for the console in a writer thread: keeps what it prints, to print in order."""

    def __init__(self) -> None:
        self.lines: list[tuple[tuple, dict]] = []

    def print(self, *args: object, **kwargs: object) -> None:
        self.lines.append((args, kwargs))


def run_outputs(
    tasks: list[tuple[str, bool, Callable[[Any], Any]]],
    *,
    console,
    workers: int = OUTPUT_WORKERS,
    forked: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Run ``tasks`` (name, timed, writer taking a console); their results by name.

    The tasks named in ``forked`` (default :func:`_shared_outputs`) may run in a forked child
    process (when :func:`gis.forked.can_fork`): the child takes them one after the other in the
    order of ``forked`` (the longest first), while this process runs the other tasks on ``workers`` threads
    and then takes the child's remaining ones from the end of that order (the shortest), so the two
    processes end close together whatever each output costs on this machine. Without a child every
    task runs here.

    A ``timed`` writer is timed as stage ``name`` under the caller's open stage (:mod:`gis.timing`;
    the stages a writer opens itself nest there too, the child's rows included). Each writer prints
    into a buffer; the buffers go to ``console`` in the order of ``tasks`` once every writer has
    ended. When a writer raises (or the wait is interrupted), the writers not yet started are not
    started (the child stopped when the error is this process's), the running ones finish, and the
    exception of the first failed task in the order of ``tasks`` is raised. Peak memory grows with
    ``workers``: each running writer holds its own output's text.
    """
    from gis.forked import Forked, can_fork

    lines = {name: _Lines() for name, _, _ in tasks}

    def run(name: str, timed: bool, write: Callable[[Any], Any]) -> Any:
        if not timed:
            return write(lines[name])
        with stage(name):
            return write(lines[name])

    by_name = {task[0]: task for task in tasks}
    if forked is None:
        forked = _shared_outputs()  # asked here, at the fork
    shared = [by_name[name] for name in forked if name in by_name] if can_fork() else []
    here = [task for task in tasks if task not in shared]
    claims = _Claims(len(shared)) if shared else None
    child = Forked(lambda: _run_claimed(shared, run, lines, claims)) if claims is not None else None
    done: dict[str, tuple[Any, BaseException | None]] = {}
    try:
        failed = _run_here(here, run, workers, done)
        if claims is not None and not failed:
            failed = _run_claimed_here(shared, run, claims, done)
        if child is not None:
            if failed:
                child.cancel()  # this process failed: the child's files are not wanted
            else:
                for name, (result, error, printed) in child.result().items():
                    lines[name].lines = printed
                    done[name] = (result, error)
            child = None
    finally:
        if child is not None:
            child.cancel()
    return _in_task_order(tasks, lines, done, console)


class _Claims:
    """Which of the shared outputs a process has taken: flags in memory shared with the forked
    child (made before the fork), each set once under a lock."""

    def __init__(self, n: int) -> None:
        import multiprocessing

        self.flags = multiprocessing.get_context("fork").Array("b", n)

    def take(self, i: int) -> bool:
        """Take output ``i``: True when no process had."""
        with self.flags.get_lock():
            if self.flags[i]:
                return False
            self.flags[i] = 1
            return True

    def take_all(self) -> None:
        """Leave nothing to start (after a failure)."""
        with self.flags.get_lock():
            for i in range(len(self.flags)):
                self.flags[i] = 1


class _NotStarted(Exception):
    """An output a thread took after another had failed: left unstarted, as a cancelled one."""


def _run_here(here: list, run: Callable[..., Any], workers: int, done: dict[str, tuple]) -> bool:
    """This process's own outputs on ``workers`` threads into ``done``; True when one failed.

    Once one fails no other is started: those still queued are cancelled, and one a thread takes
    before that (a thread freed by the failure takes the next at once) is not run."""
    futures: dict[str, Future] = {}
    failed = threading.Event()

    def guarded(name: str, timed: bool, write: Callable[[Any], Any]) -> Any:
        if failed.is_set():
            raise _NotStarted(name)
        try:
            return run(name, timed, write)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gis-outputs") as pool:
        try:
            for name, timed, write in here:
                futures[name] = pool.submit(contextvars.copy_context().run, guarded, name, timed, write)
            wait(futures.values(), return_when=FIRST_EXCEPTION)
            if any(f.done() and f.exception() is not None for f in futures.values()):
                _cancel(futures.values())
            wait(futures.values())
        except BaseException:  # e.g. Ctrl-C while waiting: start nothing more
            failed.set()
            _cancel(futures.values())
            raise
    for name, future in futures.items():
        if not future.cancelled() and not isinstance(future.exception(), _NotStarted):
            done[name] = (future.result() if future.exception() is None else None, future.exception())
    return any(error is not None for _, error in done.values())


def _run_claimed_here(shared: list, run: Callable[..., Any], claims: _Claims, done: dict[str, tuple]) -> bool:
    """The shared outputs the child has not taken, shortest first, into ``done``; True when one failed."""
    for i in reversed(range(len(shared))):
        name, timed, write = shared[i]
        if not claims.take(i):
            continue
        try:
            done[name] = (run(name, timed, write), None)
        except Exception as exc:
            claims.take_all()
            done[name] = (None, exc)
            return True
    return False


def _in_task_order(tasks: list, lines: dict[str, _Lines], done: dict[str, tuple], console) -> dict[str, Any]:
    """Print each task's lines in the order of ``tasks`` and raise the first error met; the results by name."""
    for name, _, _ in tasks:
        if name not in done:
            continue
        for args, kwargs in lines[name].lines:
            console.print(*args, **kwargs)
        error: BaseException | None = done[name][1]
        if error is not None:
            raise error
    return {name: done[name][0] for name, _, _ in tasks if name in done}


def _run_claimed(
    shared: list[tuple[str, bool, Callable[[Any], Any]]],
    run: Callable[..., Any],
    lines: dict[str, _Lines],
    claims: _Claims,
) -> dict[str, tuple[Any, BaseException | None, list]]:
    """In the forked child: the shared outputs not yet taken, in order, until one fails (then
    none is started by either process); per output run, its result (None when it failed), its
    exception (None when it did not) and what it printed."""
    from gis.forked import carried

    ran: dict[str, tuple[Any, BaseException | None, list]] = {}
    for i, (name, timed, write) in enumerate(shared):
        if not claims.take(i):
            continue
        try:
            ran[name] = (run(name, timed, write), None, lines[name].lines)
        except Exception as exc:
            claims.take_all()
            ran[name] = (None, carried(exc), lines[name].lines)
            break
    return ran


def _write_maps(inputs: StageOutputs, spec: MapPreset, out: Path, *, console) -> list[Path]:
    """Write ``OUT/map.html`` and ``OUT/map_offline.html`` from one built map (EPSG:4326).

    Parameters
    ----------
    inputs
        the sites, estimates and layers in memory.
    spec
        the map preset.
    out
        the output directory.
    console
        where "Wrote ..." lines go.

    Returns
    -------
    list of Path
        the two files, online map first.
    """
    with stage("map"):
        fmap = _build_map(inputs, spec, offline=None)  # both basemaps; each write keeps its own
        written = [_write_map(fmap, out / "map.html", offline=False, console=console)]
    with stage("map_offline"):
        written.append(_write_map(fmap, out / "map_offline.html", offline=True, console=console))
    return written


def _write_ranked_csv(inputs: StageOutputs, out: Path, *, console) -> Path:
    """Write ``OUT/sites_ranked.csv`` with the fleet rows of ``estimates.json`` joined on.

    Parameters
    ----------
    inputs
        the sites (EPSG:4326 points) and estimates in memory.
    out
        the output directory.
    console
        where the "Wrote ..." line goes.

    Returns
    -------
    Path
        the file written.
    """
    from gis.scoring.api import ranked_csv_frame

    path = _write_csv(out / "sites_ranked.csv", ranked_csv_frame(inputs.sites))
    console.print(f"Wrote {path}")
    return path
