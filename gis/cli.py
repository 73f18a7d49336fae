"""The ``gis`` command line (pinned in DESIGN.md; scripts outside the repo rely on it).

Every command exits 0 on success and non-zero with a one-paragraph message on any error; the
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from gis import __version__
from gis.config.settings import DEFAULT_OUT, data_origin
from gis.errors import GisError, environment_error
from gis.textsafe import SafeConsole

__all__ = ["app", "entry", "main"]

app = typer.Typer(
    name="gis",
    help="Where, and how much, could the United States mine Bitcoin on energy it already owns or wastes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: flags show as flags (the rich help printed "--debug <bool>")
    rich_markup_mode=None,
)
console = SafeConsole(stderr=True, width=None if sys.stderr.isatty() else 132)
_state = {"debug": False}

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Local folder laid out like the data mirror (env GIS_DATA_DIR).",
        show_default=False,
    ),
]
MirrorOpt = Annotated[
    str | None,
    typer.Option("--mirror", help="HTTP mirror of the data (env GIS_DATA_MIRROR).", show_default=False),
]
OutOpt = Annotated[Path, typer.Option("--out", help="Output folder.")]
EngineOpt = Annotated[
    str,
    typer.Option("--engine", help="Where the measures run: local (this process) or dask (a cluster)."),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Address of a running dask scheduler, e.g. tcp://10.0.0.5:8786 (with --engine dask; "
        "default: a local cluster).",
        show_default=False,
    ),
]
GridOpt = Annotated[
    bool,
    typer.Option("--grid", help="Also score the national grid cells: OUT/grid_cells.gpkg and .csv."),
]
LayersOpt = Annotated[
    Path | None,
    typer.Option(
        "--layers",
        help="layers.gpkg to read instead of OUT/layers.gpkg (e.g. one built once for several "
        "scenarios); OUT/layers.gpkg becomes a link to it.",
        show_default=False,
    ),
]
ScenarioOpt = Annotated[
    Path | None,
    typer.Option(
        "--scenario", help="Scenario TOML (default: the packaged default scenario).", show_default=False
    ),
]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    _state["debug"] = debug


def use_layers(out: Path, layers: Path | None) -> None:
    """Make ``OUT/layers.gpkg`` read ``layers`` (a symbolic link), so every stage finds it there.

    Raises
    ------
    GisError
        if ``layers`` is not a file, or ``OUT`` already holds a layers.gpkg of its own (not a link).
    """
    if layers is None:
        return
    from gis.io import ensure_dir

    source = Path(layers).expanduser().resolve()
    if not source.is_file():
        raise GisError(
            "the layers file does not exist", file=layers, fix="pass a layers.gpkg written by `gis build`"
        )
    target = ensure_dir(Path(out)) / "layers.gpkg"
    if target.is_symlink():
        if target.resolve() == source:
            return
        target.unlink()
    elif target.exists():
        if target.resolve() == source:
            return
        raise GisError(
            "the output folder already holds its own layers.gpkg",
            file=target,
            field="--layers",
            fix="drop --layers to use it, or move it away to read the other one",
        )
    target.symlink_to(source)
    console.print(f"Reading layers from {source} (linked as {target})")


def _stages(enabled: bool) -> Progress:
    """One progress bar per stage of ``gis run`` (elapsed time each); silent when not a terminal."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
    )


def _progress_steps(progress: Progress, stages: list[str]):
    """A ``step(name)`` for :func:`gis.pipeline.run_pipeline`: starts the stage's bar and returns the
    callback that completes it."""
    tasks = {
        name: progress.add_task(f"{i}/{len(stages)} {name}", total=1, start=False)
        for i, name in enumerate(stages, 1)
    }

    def step(name: str):
        progress.start_task(tasks[name])
        return lambda: progress.update(tasks[name], completed=1)

    return step


def _resolver(data_dir: Path | None, mirror: str | None):
    from gis.sources import Resolver

    return Resolver(data_origin(data_dir, mirror), progress=sys.stderr.isatty())


@app.command()
def fetch(data_dir: DataDirOpt = None, mirror: MirrorOpt = None) -> None:
    """Download / cache every source listed in layers/ (or check a local data directory)."""
    resolver = _resolver(data_dir, mirror)
    table = Table(title=f"Sources ({resolver.origin.describe()})")
    for col in ("source", "file", "form", "MB", "path"):
        table.add_column(col)
    assert resolver.catalog is not None
    for source in resolver.catalog.values():
        for f in source.files:
            got = resolver.get(source.name, f.key)
            if got is None:
                table.add_row(source.name, f.key, "-", "-", "not available (optional)")
            else:
                table.add_row(
                    source.name, f.key, got.form, f"{got.path.stat().st_size / 1e6:.1f}", str(got.path)
                )
    console.print(table)
    for w in resolver.warnings:
        console.print(f"[yellow]warning:[/] {w}")


@contextlib.contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """The command's outputs go to a staging folder inside OUT, swapped in together on success."""
    from gis.io import staged_outputs

    with staged_outputs(out, report=lambda line: console.print(f"[cyan]cleaned up:[/] {line}")) as stage:
        console.aliases[str(stage)] = str(out)
        try:
            yield stage
        except GisError as exc:  # name the file the user knows, not its staged copy
            if exc.file:
                exc.file = exc.file.replace(str(stage), str(out))
            raise
        finally:
            console.aliases.pop(str(stage), None)


@app.command()
def build(data_dir: DataDirOpt = None, mirror: MirrorOpt = None, out: OutOpt = DEFAULT_OUT) -> None:
    """Build the canonical source layers into OUT/layers.gpkg."""
    from gis.pipeline import layers_stage

    with _staged(out) as stage:
        layers_stage(_resolver(data_dir, mirror), stage, console=console)


@app.command()
def score(
    scenario: ScenarioOpt = None,
    out: OutOpt = DEFAULT_OUT,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    grid: GridOpt = False,
    layers: LayersOpt = None,
) -> None:
    """Score candidate sites: OUT/sites.gpkg and OUT/sites_ranked.csv."""
    from gis.grid import grid_command
    from gis.scoring.api import score_command

    use_layers(out, layers)
    with _staged(out) as stage:
        score_command(
            out=stage,
            scenario_path=scenario,
            console=console,
            engine=engine,
            scheduler=scheduler,
            grid=grid,
            grid_stage=grid_command,
        )


@app.command()
def estimate(
    scenario: ScenarioOpt = None,
    out: OutOpt = DEFAULT_OUT,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    gw: Annotated[float | None, typer.Option("--gw", help="Calculator mode: site power in GW.")] = None,
    asic_watts: Annotated[
        float | None, typer.Option("--asic-watts", help="Calculator: W per machine.")
    ] = None,
    asic_ths: Annotated[
        float | None, typer.Option("--asic-ths", help="Calculator: TH/s per machine.")
    ] = None,
    network_ehs: Annotated[
        float | None, typer.Option("--network-ehs", help="Network hashrate, EH/s.")
    ] = None,
    pue: Annotated[
        float | None, typer.Option("--pue", help="Power usage effectiveness (calculator default 1.0).")
    ] = None,
    uptime: Annotated[
        float | None, typer.Option("--uptime", help="Share of time mining (calculator default 1.0).")
    ] = None,
    subsidy: Annotated[
        float | None, typer.Option("--subsidy", help="Calculator: BTC per block subsidy.")
    ] = None,
    fees: Annotated[
        float | None, typer.Option("--fees", help="Calculator: mean fees per block, BTC.")
    ] = None,
    layers: LayersOpt = None,
) -> None:
    """National roll-up to OUT/estimates.json, or calculator mode with --gw (no sites)."""
    from gis.estimates.api import calculator_command, estimate_command

    if gw is not None:
        calculator_command(
            gw=gw,
            asic_watts=asic_watts,
            asic_ths=asic_ths,
            network_ehs=network_ehs,
            pue=pue,
            uptime=uptime,
            subsidy=subsidy,
            fees=fees,
            as_json=json_,
            console=console,
        )
        return
    use_layers(out, layers)
    with _staged(out) as stage:
        estimate_command(
            out=stage, scenario_path=scenario, as_json=json_, network_ehs=network_ehs, console=console
        )


@app.command("map")
def map_(
    out: OutOpt = DEFAULT_OUT,
    offline: Annotated[
        bool, typer.Option("--offline", help="Self-contained HTML: no CDN, vector basemap.")
    ] = False,
    layers: LayersOpt = None,
) -> None:
    """Render the interactive map: OUT/map.html."""
    from gis.outputs.api import map_command

    use_layers(out, layers)
    with _staged(out) as stage:
        map_command(out=stage, offline=offline, console=console)


@app.command()
def report(scenario: ScenarioOpt = None, out: OutOpt = DEFAULT_OUT, layers: LayersOpt = None) -> None:
    """Re-render every output from the stage files in OUT (after `gis score` / `gis estimate`):
    map.html, map_offline.html, sites.gpkg, sites_ranked.xlsx, sites_ranked.csv, report.html."""
    from gis.outputs.api import outputs_command

    use_layers(out, layers)
    with _staged(out) as stage:
        written = outputs_command(
            out=stage, scenario_path=scenario, console=console, csv=True, record_scenario=scenario is not None
        )
        names = {
            Path(p).relative_to(stage) if Path(p).is_relative_to(stage) else Path(p).name for p in written
        }
    _print_written([out / name for name in names], title="Outputs")


TimingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--timings",
        help="Write the seconds and peak memory (MB) of every stage and output to this JSON file.",
        show_default=False,
    ),
]


StageCacheOpt = Annotated[
    bool,
    typer.Option(
        "--stage-cache/--no-stage-cache",
        help="Reuse the measured sites, estimates and outputs of an earlier run whose inputs were "
        "the same ($GIS_CACHE_DIR/stages; keyed by content: a weight change reuses the measures only).",
    ),
]


WatchOpt = Annotated[
    bool,
    typer.Option(
        "--watch",
        help="After the run, run again each time the --scenario file is saved with other content, in "
        "this process: what does not depend on the weights is kept, so every output is re-rendered in "
        "seconds. A scenario with an error is reported and not run; Ctrl-C stops.",
    ),
]


@app.command()
def run(
    data_dir: DataDirOpt = None,
    mirror: MirrorOpt = None,
    scenario: ScenarioOpt = None,
    out: OutOpt = DEFAULT_OUT,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    grid: GridOpt = False,
    layers: LayersOpt = None,
    layer_cache: Annotated[
        bool,
        typer.Option(
            "--layer-cache/--no-layer-cache",
            help="Reuse the layers built from unchanged sources ($GIS_CACHE_DIR/layers).",
        ),
    ] = True,
    stage_cache: StageCacheOpt = True,
    timings: TimingsOpt = None,
    watch: WatchOpt = False,
) -> None:
    """Everything in order: build (skipped with --layers), score, estimate, map, GeoPackage,
    ranked lists, report. The scenario is checked before any work starts. With --watch, again
    on each save of the scenario file."""
    from gis import timing

    timing.start()
    with timing.stage("imports"):
        from gis.config.scenario import load_scenario
        from gis.io import ensure_dir
        from gis.watch import FileWatch, stamp

    watcher = FileWatch(_watchable(scenario, out)) if watch else None  # a save from now on is a change
    if watch:
        _stop_on_sigterm()
    seen = stamp(scenario) if scenario is not None else None
    loaded = load_scenario(scenario)  # every scenario problem, before 20 s of layer building
    ensure_dir(Path(out))
    use_layers(out, layers)
    once = functools.partial(
        _run_once,
        scenario=scenario,
        out=out,
        resolver=_resolver(data_dir, mirror) if layers is None else None,
        timings=timings,
        grid=grid,
        pipeline={
            "use_cache": layer_cache,
            "reuse": stage_cache,
            "engine": engine,
            "scheduler": scheduler,
            "keep_in_process": watch,  # the measured sites and fleet tables, for the next save
        },
    )
    once(loaded, seen)
    if watcher is not None:
        _watch(watcher, functools.partial(_again, once, watcher.path), out)


def _again(once: Callable[..., None], path: Path) -> None:
    """``once`` (a :func:`_run_once`) on the scenario file as it is now, timed anew."""
    from gis import timing
    from gis.config.scenario import load_scenario
    from gis.watch import stamp

    timing.start()
    seen = stamp(path)
    once(load_scenario(path), seen)


def _run_once(
    loaded,
    seen: tuple[int, int, int] | None,
    *,
    scenario: Path | None,
    out: Path,
    resolver,
    timings: Path | None,
    grid: bool,
    pipeline: dict,
) -> None:
    """One run of every stage into a staging folder, swapped into ``out`` on success; ``loaded``
    is the validated scenario read from ``scenario`` when its stamp was ``seen``
    (:func:`gis.watch.stamp`): a file written during the run fails it before the swap, as its
    outputs could mix two versions (``OUT/scenario.toml``, ``sites.gpkg``'s scenario digest).
    ``grid``: score the grid cells too (also when the scenario enables them); ``pipeline``: the
    other options of :func:`gis.pipeline.run_pipeline`."""
    from gis import timing
    from gis.pipeline import run_pipeline
    from gis.watch import stamp

    t0 = time.perf_counter()
    stages = ["build layers", "score sites", "estimate", "write outputs"][0 if resolver is not None else 1 :]
    # all outputs swap in together: a killed run leaves the old set
    with _staged(out) as staged, _stages(sys.stderr.isatty()) as progress:
        made = run_pipeline(
            out=staged,
            scenario=loaded,
            scenario_path=scenario,
            console=console,
            resolver=resolver,
            step=_progress_steps(progress, stages),
            spinner=progress.disable,
            grid_stage=_grid_command() if grid or loaded.scoring.national_grid.enabled else None,
            **pipeline,
        )
        if scenario is not None and stamp(scenario) != seen:
            raise GisError(
                "the scenario file was written while the run read it, so its outputs could mix two "
                "versions: none were written",
                file=scenario,
                field="--scenario",
                fix=f"run again once the file is saved ({out} holds the outputs of the last complete run)",
            )
        names = {
            Path(p).relative_to(staged) if Path(p).is_relative_to(staged) else Path(p).name for p in made
        }
    seconds = time.perf_counter() - t0
    _print_written([out / name for name in names], title=f"Outputs ({seconds:.1f} s)")
    if timings is not None:
        timing.write_timings(timings, command="run", tool_version=__version__)


def _watchable(scenario: Path | None, out: Path) -> Path:
    """The scenario file ``gis run --watch`` watches.

    Raises
    ------
    GisError
        without ``--scenario``, or for a file inside OUT (each run replaces OUT's files: a save
        there during a run would be lost).
    """
    if scenario is None:
        raise GisError(
            "--watch runs again when the scenario file changes, and no scenario file was given",
            field="--scenario",
            fix="add --scenario FILE; every run writes the scenario it used to OUT/scenario.toml, a "
            "copy of which (outside OUT) is a file to start from",
        )
    if Path(scenario).resolve().is_relative_to(Path(out).resolve()):
        raise GisError(
            "the watched scenario file is inside the output folder, whose files each run replaces: "
            "a save during a run would be lost",
            file=scenario,
            field="--scenario",
            fix=f"copy it out of {out} and watch the copy",
        )
    return Path(scenario)


def _stop_on_sigterm() -> None:
    """Make SIGTERM (``kill``, a service manager) end ``gis run --watch`` as Ctrl-C does: between
    runs it stops with status 0, during one it discards that run (status 130); the staging folder
    is cleaned up either way."""
    import signal

    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _watch(watcher, again, out: Path) -> None:
    """Call ``again`` each time ``watcher``'s file changes (:class:`gis.watch.FileWatch`), until
    Ctrl-C. A run that fails prints its message, and the watch goes on: nothing of it was written,
    so OUT keeps the outputs of the last complete run. Ctrl-C during a run discards it (exit 130)."""
    # folium, the templates and XlsxWriter: imported while waiting, not after a save (nor by each
    # save's forked process again)
    import gis.outputs.map
    import gis.outputs.tables  # noqa: F401

    while True:
        console.print(f"Watching {watcher.path} (each save runs again; Ctrl-C stops)", soft_wrap=True)
        try:
            watcher.wait()
        except KeyboardInterrupt:
            console.print("Stopped watching.", soft_wrap=True)
            return
        console.print(f"{watcher.path} changed: running again", soft_wrap=True)
        try:
            again()
        except KeyboardInterrupt:
            console.print(
                f"Interrupted: this run's outputs were not written; {out} holds the last complete run's.",
                soft_wrap=True,
            )
            raise typer.Exit(130) from None
        except Exception as exc:  # reported, and the next save is waited for
            message, _ = _error_message(exc, _state["debug"])
            console.print(message, highlight=False, soft_wrap=True)
            console.print(
                f"Nothing of this run was written: {out} holds the outputs of the last complete run.",
                soft_wrap=True,
            )


def _grid_command():
    """:func:`gis.grid.grid_command`, imported only when grid mode runs."""
    from gis.grid import grid_command

    return grid_command


def _print_written(paths, *, title: str) -> None:
    table = Table(title=title)
    table.add_column("file")
    table.add_column("MB", justify="right")
    for path in sorted(set(paths)):
        if path.exists():
            table.add_row(str(path), f"{path.stat().st_size / 1e6:.2f}")
    console.print(table)


@app.command()
def compare(
    out_a: Annotated[Path, typer.Argument(help="Output folder of the first run (A).")],
    out_b: Annotated[Path, typer.Argument(help="Output folder of the second run (B).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Where to write compare.html and compare.csv (default: OUT_B).", show_default=False
        ),
    ] = None,
) -> None:
    """Two runs side by side: per-site rank, score, MW and fleet changes, national deltas, scenario keys."""
    from gis.compare import compare_command

    compare_command(out_a, out_b, out=out, console=console)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turn errors into one-paragraph messages and exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="gis")  # click's standalone mode: usage errors print usage, exit 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # the last line of defence for users
        message, code = _error_message(exc, debug)
        console.print(message, highlight=False, soft_wrap=True)
        return code
    return 0


def _error_message(exc: Exception, debug: bool) -> tuple[str, int]:
    """The one-paragraph message for an error and the exit code: 1 for what the user can fix (a
    :class:`GisError`, a full disk, an unwritable folder, the network), 2 for a bug. With
    ``debug`` the traceback is printed first."""
    if debug:
        traceback.print_exception(exc)
    if isinstance(exc, GisError):
        return f"[bold red]error:[/] {exc.message}", 1
    from gis.sources.fetch import transfer_error

    # disk full, unwritable folder, network: the user can fix it
    user = environment_error(exc) or transfer_error(exc)
    if user is not None:
        return f"[bold red]error:[/] {user.message}", 1
    return (
        f"[bold red]unexpected error:[/] {type(exc).__name__}: {exc}. This is a bug in gis; rerun with "
        "--debug for the traceback and report it with the command you ran.",
        2,
    )


def entry() -> None:
    """The ``gis`` console script: :func:`main`, then a prompt end of the process.

    Once the command has written and closed its files, the exit handlers run (:mod:`atexit`:
    logging, temporary folders, thread pools) and the process ends with :func:`os._exit`,
    skipping the interpreter's teardown, which frees every frame and module one by one (about
    1 s after a national run) and does nothing the user needs.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    entry()
