"""The whole run in memory: layers -> sites -> estimates -> outputs, every output written once.

``gis run`` is :func:`run_pipeline`: each stage hands its frames to the next (the built or cached
layers, the scored sites, the estimates), and the files are written at the end by the outputs
stage (``layers.gpkg`` as soon as it is built, since it is also the layer cache's source). The stage
commands (``gis build``, ``gis score``, ``gis estimate``, ``gis report``) are thin wrappers over the
same stage functions: they read their inputs from OUT, call, and write theirs.

A warm run (sources, catalog and builders unchanged) takes the layers from the cache
(``$GIS_CACHE_DIR/layers/<key>``: the GeoPackage copied to OUT and the frames read from GeoParquet)
and does not parse a raw source. With ``reuse`` (the default of ``gis run``), the stages after it
also keep their results in the stage cache (:mod:`gis.memo`, ``$GIS_CACHE_DIR/stages``), each
keyed by the content of its inputs: the measured sites (candidate sites, hourly energy, measures:
keyed without the criteria weights, so a weight change reuses them), the estimates (keyed by the
scored sites) and the output files (keyed by the sites, the estimates and the layers). A result
is reused only when every input is the same; anything else computes it again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from rich.console import Console
from rich.table import Table

from gis.config.scenario import Scenario
from gis.energy.build import MarketTables
from gis.energy.keep import ProfileStore
from gis.layers import read_layers
from gis.sources import Resolver
from gis.timing import stage

__all__ = [
    "BuiltLayers",
    "Reuse",
    "estimate_and_write",
    "layers_stage",
    "outputs_stage",
    "print_build",
    "run_pipeline",
    "score_stage",
]


@dataclass
class BuiltLayers:
    """The layers stage's result: ``path`` (``layers.gpkg`` in OUT) and, when asked for, the frames
    (EPSG:4326, as :func:`gis.layers.read_layers` would read them from ``path``; else empty)."""

    path: Path
    layers: Mapping[str, pd.DataFrame]
    cached: bool
    key: str | None = None
    """What the layers are: the layer cache's key, or the file's stamp (None: unknown)."""
    writing: Background | None = None
    """The GeoPackage (and layer cache) still being written on another thread, or None."""

    def finish(self, *, check: bool = True, console: Console | None = None) -> Path:
        """Wait until ``path`` is written (raising the writer's error with ``check``; the lines it
        printed go to ``console``); ``path``."""
        if self.writing is not None:
            writing, self.writing = self.writing, None
            for line in writing.wait(check=check):
                if console is not None:
                    console.print(line)
        return self.path


class Background:
    """Work run beside the caller and waited for later, its printed lines kept until then.

    In a forked process when the machine has a second core (:func:`gis.forked.can_fork`), else on
    a thread. The GeoPackage writer (pyogrio's ``write_arrow``) holds the GIL while it inserts rows:
    on a thread it stalled the next stage for most of its ~4 s (measured: three builds of the
    candidate sites took 1.5 s alone, 5.2 s beside the writer thread); a process runs it on the
    other core.
    ``work`` returns the lines to print; its time is recorded as the timing row ``name``
    (:func:`gis.timing.record`) and its error, if any, raised by :meth:`wait`.
    """

    def __init__(self, name: str, work: Callable[[], list[str]]) -> None:
        import time

        from gis.forked import Forked, can_fork

        self.name = name
        self.start = time.perf_counter()
        self.outcome: tuple[list[str], float] = ([], 0.0)
        self.error: BaseException | None = None
        self.forked: Forked | None = Forked(lambda: _timed(work)) if can_fork() else None
        self.thread = None
        if self.forked is None:
            import threading

            def run() -> None:
                try:
                    self.outcome = _timed(work)
                except BaseException as exc:  # handed to the waiting thread
                    self.error = exc
                    self.outcome = ([], time.perf_counter() - self.start)

            self.thread = threading.Thread(target=run, name=f"gis-{name}", daemon=False)
            self.thread.start()

    def wait(self, *, check: bool = True) -> list[str]:
        """Wait for the work; record its time; raise its error when ``check``; the lines it printed."""
        from gis.timing import record

        if self.forked is not None:
            try:
                self.outcome = self.forked.result()
            except BaseException as exc:
                self.error = exc
        elif self.thread is not None:
            self.thread.join()
        lines, seconds = self.outcome
        record(self.name, self.start, seconds)
        if check and self.error is not None:
            raise self.error
        return lines


def _timed(work: Callable[[], list[str]]) -> tuple[list[str], float]:
    import time

    t0 = time.perf_counter()
    lines = work()
    return lines, time.perf_counter() - t0


def print_build(result, console: Console) -> None:
    """The layers built: rows read, kept and dropped (and why) per layer, notes and warnings."""
    table = Table(title="Layers built")
    for col in ("layer", "read", "kept", "dropped", "why dropped / repaired"):
        table.add_column(col, overflow="fold")
    for name, log in result.logs.items():
        why = "; ".join(f"{k}: {v:,}" for k, v in log.dropped.items())
        rep = "; ".join(f"repaired {k}: {v:,}" for k, v in log.repaired.items())
        table.add_row(
            name,
            f"{log.rows_read:,}",
            f"{log.rows_kept:,}",
            f"{log.rows_dropped:,}",
            "; ".join(x for x in (why, rep) if x),
        )
    console.print(table)
    for log in result.logs.values():
        for note in log.notes:
            console.print(f"[cyan]{log.name}:[/] {note}")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")


def layers_stage(
    resolver: Resolver,
    out: Path,
    *,
    console: Console,
    use_cache: bool = False,
    keep_frames: bool = False,
    spinner: bool = True,
    background: bool = False,
    while_waiting: Callable[[], object] | None = None,
) -> BuiltLayers:
    """Build the layers into ``out/layers.gpkg``; with ``use_cache``, reuse an unchanged build.

    The cache (:func:`gis.layers.build.layers_cache_key`) is keyed by the tool version, the
    builders' code, the catalog and every source file's path, size and mtime; an unwritable cache
    only warns. ``keep_frames``: also return the frames, from memory after a build or from the
    cache's GeoParquet copy (never by reading the GeoPackage back). ``background``: a build writes
    the GeoPackage and the cache on another thread while the caller goes on; the caller must call
    :meth:`BuiltLayers.finish` before anything reads the file. ``while_waiting``: work for later
    stages that a build does while it waits for its forked builder (:func:`gis.layers.build_layers`).
    """
    from gis.io import as_written
    from gis.layers.build import layers_cache_key, restore_cached_layers
    from gis.layers.plants import federal_summary

    target = out / "layers.gpkg"
    key = layers_cache_key(resolver) if use_cache else None
    if key is not None:
        with stage("build_cached"):
            cached = restore_cached_layers(key, target, with_frames=keep_frames)
        if cached is not None:
            print_build(cached, console)
            console.print(
                f"Sources unchanged since the last build: layers reused from the cache (key {key[:12]})"
            )
            console.print(f"Wrote {target}")
            return BuiltLayers(target, cached.layers if keep_frames else {}, cached=True, key=key)
    console.print(f"Building layers from {resolver.origin.describe()} ...")
    result = _build(resolver, console=console, spinner=spinner, while_waiting=while_waiting)
    print_build(result, console)
    if "plants" in result.layers:
        console.print(federal_summary(result.layers["plants"]))
    frames = {name: as_written(frame) for name, frame in result.layers.items()}
    if use_cache:
        key = key or layers_cache_key(resolver)  # first run on a mirror: files are local now

    store = key if use_cache else None
    built = BuiltLayers(target, frames if keep_frames else {}, cached=False, key=key)
    write = functools.partial(_write, result, resolver, store, frames, target)
    if background:
        built.writing = Background("layers/write_layers", write)
    else:
        with stage("write_layers"):
            for line in write():
                console.print(line)
    return built


def _build(
    resolver: Resolver, *, console: Console, spinner: bool, while_waiting: Callable[[], object] | None
):
    """:func:`gis.layers.build_layers` timed as the ``build`` stage, under a spinner if asked."""
    from gis.layers import build_layers

    with stage("build"):
        if not spinner:
            return build_layers(resolver, while_waiting=while_waiting)
        with console.status("building layers"):
            return build_layers(resolver, while_waiting=while_waiting)


def _write(result, resolver: Resolver, key: str | None, frames, target: Path) -> list[str]:
    """Write the built layers to ``target`` and, under ``key`` (None: no cache), into the layer
    cache; the lines to print."""
    from gis.layers import write_layers
    from gis.layers.build import store_cached_layers

    write_layers(result, resolver, target)
    problem = store_cached_layers(key, target, frames=frames) if key is not None else None
    return [*([f"[yellow]warning:[/] {problem}"] if problem else []), f"Wrote {target}"]


def run_pipeline(
    *,
    out: Path,
    scenario: Scenario,
    scenario_path: Path | None,
    console: Console,
    resolver: Resolver | None,
    use_cache: bool = True,
    reuse: bool = False,
    engine: str = "local",
    scheduler: str | None = None,
    grid_stage: Callable[..., dict[str, Path]] | None = None,
    step: Callable[[str], Callable[[], None]] = lambda name: lambda: None,
    spinner: bool = True,
    keep_in_process: bool = False,
) -> list[Path]:
    """Every stage in order, in memory; the files each writes into ``out`` (``gis run``: a staging
    folder swapped in on success). ``scenario_path``: the validated ``scenario``'s file (None: the
    packaged default); ``resolver``: where the sources come from (None: read ``out/layers.gpkg``,
    ``--layers``); ``use_cache`` reuses layers built from unchanged sources, ``reuse`` stage
    results keyed by their inputs (:mod:`gis.memo`); ``grid_stage`` (:func:`gis.grid.grid_command`)
    also scores the national grid cells; ``step`` is called with each stage's name as it starts
    and returns the callback for its end (progress bars). ``keep_in_process``: keep the measured
    sites and fleet tables for a next run in this process (``gis run --watch``), not let go."""
    from gis.memo import digest

    built = _run_layers(resolver, out, console=console, use_cache=use_cache, step=step, spinner=spinner)
    layers, layers_key = built.layers, built.key  # from the cache: each frame read when first used
    memo = Reuse(layers_key, console) if reuse and layers_key is not None else None
    # hourly market tables built once for both stages; the estimate's profiles kept (stage cache too)
    markets = MarketTables(layers, scenario.energy, ProfileStore(memo.layers_key if memo else None))
    where: dict[str, Any] = {"out": out, "console": console, "memo": memo}
    try:
        if grid_stage is not None:
            built.finish(console=console)  # grid mode reads OUT/layers.gpkg
        with _step(step, "score sites", "score"):
            grid: dict[str, Any] = {"engine": engine, "scheduler": scheduler, "grid_stage": grid_stage}
            sites, metadata, grid_files = score_stage(layers, scenario, markets=markets, **where, **grid)
        sites_digest = digest("sites", sites) if memo is not None else None  # both stages' keys
        with _step(step, "estimate", "estimate"):
            estimates, path = estimate_and_write(
                sites, layers, scenario, markets=markets, **where, sites_digest=sites_digest
            )
        if not keep_in_process:
            _release_process_keeps()  # a run scores and estimates once: its memory is the outputs' to have
        with _step(step, "write outputs", "outputs"):
            written = [built.finish(console=console), *grid_files, path]  # the outputs read its metadata
            written += outputs_stage(
                sites,
                estimates,
                layers,
                metadata,
                scenario_path=scenario_path,
                layers_key=layers_key,  # with the stage cache off too (--no-stage-cache)
                sites_digest=sites_digest,
                **where,
            )
    finally:  # an error elsewhere: the writer is done before OUT is cleaned
        built.finish(check=False, console=console)
    return written


def _release_process_keeps() -> None:
    """Forget what this process keeps for a next weight change in it: the measured sites
    (:func:`_measured`) and the fleet tables (:func:`gis.estimates.keep.release_fleet_tables`)."""
    from gis.estimates.keep import release_fleet_tables

    _MEASURED.clear()
    release_fleet_tables()


def _run_layers(
    resolver: Resolver | None,
    out: Path,
    *,
    console: Console,
    use_cache: bool,
    step: Callable[[str], Callable[[], None]],
    spinner: bool,
) -> BuiltLayers:
    """The layers stage of a run (frames kept), or the given ``out/layers.gpkg`` when ``resolver`` is
    None (``--layers``; known by the file's stamp)."""
    from gis.memo import file_stamp

    if resolver is None:
        path = out / "layers.gpkg"
        return BuiltLayers(path, read_layers(path), cached=False, key="file:" + file_stamp(path))
    with _step(step, "build layers", "layers"):
        return layers_stage(
            resolver,
            out,
            console=console,
            use_cache=use_cache,
            keep_frames=True,
            spinner=spinner,
            background=True,
            while_waiting=_estimate_imports,  # layers built anew: every later stage computes
        )


def _estimate_imports() -> None:
    """Import the Monte Carlo's sampler (``scipy.stats``, with the parts of scipy it loads that the
    scoring's flare clusters and shared interconnects use too: ~0.4 s) while the layer build waits
    for its forked builder (0.3-0.4 s on the national data), not later on the run's critical path.
    In this thread, not a background one: an import holds the interpreter lock, so a thread took
    the time from the scoring instead."""
    from scipy.stats import qmc  # noqa: F401


@contextlib.contextmanager
def _step(step: Callable[[str], Callable[[], None]], name: str, timed: str) -> Iterator[None]:
    """A stage of the run: its progress bar (``step``) and its timing row (``timed``)."""
    done = step(name)
    with stage(timed):
        yield
    done()


@dataclass
class Reuse:
    """The stage cache of one run (:mod:`gis.memo`): ``layers_key`` names the layers every stage
    reads; what the cache could not keep is warned about on ``console``."""

    layers_key: str
    console: Console

    def load(self, name: str, key: str) -> Path | None:
        """The entry of stage ``name`` for ``key``, or None."""
        from gis.memo import Memo

        return Memo(name).load(key)

    def store(self, name: str, key: str, fill: Callable[[Path], None]) -> None:
        """Keep an entry (``fill`` writes its files); a cache that cannot be written only warns."""
        from gis.memo import Memo

        problem = Memo(name).store(key, fill)
        if problem:
            self.console.print(f"[yellow]warning:[/] {problem}")


def _weight_free(scenario: Scenario) -> dict:
    """The ``[scoring]`` tables without the criteria weights (which only rank)."""
    scoring = scenario.scoring.model_dump(mode="json")
    for criterion in scoring.get("criteria", {}).values():
        criterion.pop("weight", None)
    return scoring


def _measured(
    layers: Mapping[str, pd.DataFrame],
    scenario: Scenario,
    runner,
    markets: MarketTables | None,
    memo: Reuse | None,
):
    """:func:`gis.scoring.api.measured_sites` on the layers it reads, from the stage cache when its
    inputs are the same (not with ``[scoring.roads]``: the street networks are fetched, not keyed);
    a hit reads no layer."""
    from gis.io import read_frames
    from gis.memo import digest
    from gis.rowlog import RowLog
    from gis.scoring.api import LAYER_NAMES, measured_sites

    def compute():
        wanted = {n: layers[n] for n in LAYER_NAMES if n in layers}
        return measured_sites(wanted, scenario, engine=runner, markets=markets)

    if memo is None or scenario.scoring.roads.enabled:
        return compute()
    table = scenario.scoring.sites.stranded.curtailment_table
    key = digest(
        "measured_sites",
        memo.layers_key,
        _weight_free(scenario),
        scenario.energy,
        Path(table) if table else "no curtailment table",
    )
    entry = memo.load("measured_sites", key)
    if entry is not None:
        kept = _MEASURED.get(str(entry))
        if kept is not None:  # the entry's frames, read or made by this process before
            _MEASURED.move_to_end(str(entry))
            memo.console.print(f"Measured sites unchanged (weights aside): reused (key {key[:12]})")
            return _measured_copy(kept)
        try:
            frames = read_frames(entry)
            record = json.loads((entry / "log.json").read_text(encoding="utf-8"))
            log = RowLog.from_dict(record)
            memo.console.print(f"Measured sites unchanged (weights aside): reused (key {key[:12]})")
            _keep_measured(entry, (frames["sites"], frames["measures"], record))
            return frames["sites"].copy(deep=False), frames["measures"].copy(deep=False), log
        except (OSError, ValueError, KeyError):
            pass  # damaged: computed again
    sites, measures, log = compute()
    record = {"layer": log.name, "rows_read": log.rows_read, "dropped": dict(log.dropped)}
    record |= {"repaired": dict(log.repaired), "notes": list(log.notes)}

    def fill(folder: Path) -> None:
        sites.to_parquet(folder / "sites.geo.parquet")
        measures.to_parquet(folder / "measures.table.parquet")
        (folder / "log.json").write_text(json.dumps(record), encoding="utf-8")

    memo.store("measured_sites", key, fill)
    stored = memo.load("measured_sites", key)
    if stored is not None:
        _keep_measured(stored, (sites, measures, record))
    return sites.copy(deep=False), measures.copy(deep=False), log  # the kept frames stay as made


_MEASURED: OrderedDict[str, tuple[gpd.GeoDataFrame, pd.DataFrame, dict]] = OrderedDict()
"""The frames of the last stage-cache entries of measured sites this process read or made (sites,
measures, the row log's record), by the entry's folder: a planner's next weight change in the same
process finds the entry whole (:meth:`gis.memo.Memo.load`, which checks the file sizes) and reads
no file. Only a whole entry is used, so the stage cache stays what decides (a damaged or removed
entry is computed again). The frames handed out are shallow copies: with pandas' copy-on-write a
caller's changes do not reach the kept ones."""

_MEASURED_MAX = 2


def _keep_measured(entry: Path, kept: tuple[gpd.GeoDataFrame, pd.DataFrame, dict]) -> None:
    key = str(entry)
    _MEASURED[key] = kept
    _MEASURED.move_to_end(key)
    while len(_MEASURED) > _MEASURED_MAX:
        _MEASURED.popitem(last=False)


def _measured_copy(kept: tuple[gpd.GeoDataFrame, pd.DataFrame, dict]):
    """Shallow copies of kept measured sites and a new row log (:func:`_measured`'s result)."""
    from gis.rowlog import RowLog

    sites, measures, record = kept
    return sites.copy(deep=False), measures.copy(deep=False), RowLog.from_dict(record)


def score_stage(
    layers: Mapping[str, pd.DataFrame],
    scenario: Scenario,
    *,
    out: Path,
    console: Console,
    engine: str = "local",
    scheduler: str | None = None,
    grid_stage: Callable[..., dict[str, Path]] | None = None,
    markets: MarketTables | None = None,
    memo: Reuse | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, str], list[Path]]:
    """Score the candidate sites on the layers (measures on ``engine``, cached); the sites (EPSG:4326,
    best first), the metadata their file will carry, and the grid-cell files ``grid_stage`` wrote.
    ``memo``: the run's stage cache (the measured sites reused when only weights changed)."""
    from gis.scoring.api import measures_engine, print_sites, score_sites_with_log, sites_metadata

    written: list[Path] = []
    with measures_engine(engine, scheduler, scenario) as runner:
        measured = _measured(layers, scenario, runner, markets, memo)
        sites, log = score_sites_with_log({}, scenario, measured=measured)
        print_sites(sites, log, console)
        if grid_stage is not None:
            written += grid_stage(out=out, scenario=scenario, engine=runner, console=console).values()
    return sites, sites_metadata(scenario, log), written


def estimate_and_write(
    sites: gpd.GeoDataFrame,
    layers: Mapping[str, pd.DataFrame],
    scenario: Scenario,
    *,
    out: Path,
    console: Console,
    markets: MarketTables | None = None,
    memo: Reuse | None = None,
    sites_digest: str | None = None,
) -> tuple[dict, Path]:
    """The estimates of the scored sites (:func:`gis.estimates.api.estimate_stage`), written to
    ``out/estimates.json``; the payload and the file. ``memo``: the run's stage cache (the
    estimates reused for the same sites, layers and scenario); ``sites_digest``: the sites'
    ``digest("sites", sites)`` when the caller has it (default: hashed here)."""
    from gis.estimates import rollup
    from gis.estimates.api import ESTIMATE_LAYERS, estimate_stage, print_estimates
    from gis.io import FrameSubset, atomic_path, write_json
    from gis.memo import digest

    rollup.check_sites(sites, source=f"{out / 'sites.gpkg'}:candidate_sites")
    target = out / "estimates.json"
    if memo is not None and sites_digest is None:
        sites_digest = digest("sites", sites)
    key = digest("estimates", memo.layers_key, sites_digest, scenario) if memo is not None else ""
    entry = memo.load("estimates", key) if memo is not None else None
    if entry is not None:
        with atomic_path(target) as tmp:
            shutil.copyfile(entry / "estimates.json", tmp)
        estimates = json.loads(target.read_text(encoding="utf-8"))
        print_estimates(estimates, console)
        console.print(f"Estimates unchanged (same sites, layers and scenario): reused (key {key[:12]})")
    else:
        wanted = FrameSubset(layers, ESTIMATE_LAYERS)  # read only if used (profiles not kept, ...)
        estimates = estimate_stage(sites, wanted, scenario, console=console, markets=markets)
        write_json(target, estimates)
        if memo is not None:
            memo.store("estimates", key, lambda folder: _copy(target, folder))
    console.print(f"Wrote {target}")
    return estimates, target


def outputs_stage(
    sites: gpd.GeoDataFrame,
    estimates: dict,
    layers: Mapping[str, pd.DataFrame],
    metadata: dict[str, str],
    *,
    out: Path,
    scenario_path: Path | None,
    console: Console,
    memo: Reuse | None = None,
    layers_key: str | None = None,
    sites_digest: str | None = None,
) -> list[Path]:
    """Every output from the frames in memory: maps, sites.gpkg, CSV, XLSX, explorer, report.
    ``memo``: the run's stage cache (the files reused for the same inputs). ``layers_key``: what
    names the layers' content (default: the stage cache's), by which the outputs find what they
    derive from the source layers alone (:attr:`gis.outputs.inputs.StageOutputs.layers_key`).
    ``sites_digest``: as for :func:`estimate_and_write`."""
    from gis.memo import digest

    key = None
    if memo is not None:  # the map's layers come from the packaged preset: in the package's digest
        scenario_text = scenario_path.read_bytes() if scenario_path is not None else b"<packaged default>"
        if sites_digest is None:
            sites_digest = digest("sites", sites)
        key = digest("outputs", memo.layers_key, sites_digest, estimates, metadata, scenario_text)
        entry = memo.load("outputs", key)
        if entry is not None:
            return _restore_outputs(entry, out, key, console)
    from gis.outputs.api import map_layer_names, outputs_command  # ~1 s of imports: only when drawing
    from gis.outputs.inputs import stage_outputs

    inputs = stage_outputs(
        out,
        sites=sites,
        estimates=estimates,
        layers=layers,
        sites_metadata=metadata,
        layer_names=map_layer_names(),
        layers_key=layers_key if layers_key is not None else (memo.layers_key if memo is not None else None),
    )
    written = outputs_command(out=out, scenario_path=scenario_path, console=console, inputs=inputs)
    if memo is not None and key is not None:
        memo.store("outputs", key, lambda folder: _keep_outputs(written, out, folder))
    return written


def _copy(path: Path, folder: Path) -> None:
    shutil.copyfile(path, folder / path.name)


def _keep_outputs(written: list[Path], out: Path, folder: Path) -> None:
    """Copy the files the outputs stage wrote in ``out`` into a stage-cache entry."""
    for path in written:
        if path.parent.resolve() != out.resolve() or not path.is_file():
            raise OSError(f"output {path} is not a file of {out}")
        shutil.copyfile(path, folder / path.name)


def _restore_outputs(entry: Path, out: Path, key: str, console: Console) -> list[Path]:
    """Copy a stage-cache entry's files into ``out`` (each atomically); the files, in order."""
    from gis.io import atomic_path
    from gis.memo import MANIFEST

    console.print(
        f"Outputs unchanged (same sites, estimates, layers and scenario): reused from the cache (key {key[:12]})"
    )
    written = []
    for source in sorted(entry.iterdir()):
        if source.name == MANIFEST:
            continue
        with atomic_path(out / source.name) as tmp:
            shutil.copyfile(source, tmp)
        console.print(f"Wrote {out / source.name}")
        written.append(out / source.name)
    return written
