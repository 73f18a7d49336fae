"""The outputs written by several threads at once: the same files as one after the other, the
set still all-or-nothing when one output fails (the first failure in output order raised), the
"Wrote ..." lines in a fixed order and each output's timing row under ``outputs``."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from fixtures.outputs.synthetic import make_out_dir
from rich.console import Console

from gis import timing
from gis.errors import GisError
from gis.io import atomic_path, staged_outputs
from gis.outputs import api, tables
from gis.outputs.api import outputs_command, run_outputs

QUIET = Console(quiet=True)


class _Printed:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, *args: object, **kwargs: object) -> None:
        self.lines.append(" ".join(str(a) for a in args))


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_run_outputs_prints_in_task_order_and_returns_by_name() -> None:
    def slow(console):
        time.sleep(0.05)
        console.print("first")
        return 1

    def fast(console):
        console.print("second")
        return 2

    printed = _Printed()
    results = run_outputs([("a", True, slow), ("b", True, fast)], console=printed, workers=2)
    assert results == {"a": 1, "b": 2}
    assert printed.lines == ["first", "second"]  # task order, not the order they finished


def test_run_outputs_raises_the_first_failure_in_order_after_the_others_end(tmp_path: Path) -> None:
    started = threading.Event()
    ended: list[str] = []

    def writer(console):  # still writing when the others fail; its file is complete or absent
        started.set()
        with atomic_path(tmp_path / "slow.txt") as tmp:
            time.sleep(0.2)
            tmp.write_text("all of it")
        ended.append("slow")
        console.print("slow written")

    def late_failure(console):
        started.wait(5)
        time.sleep(0.05)
        raise GisError("second output failed")

    def early_failure(console):
        started.wait(5)
        raise GisError("third output failed")

    never: list[str] = []
    tasks = [
        ("slow", True, writer),
        ("b", True, late_failure),
        ("c", True, early_failure),
        ("d", True, lambda console: never.append("d")),
    ]
    printed = _Printed()
    with pytest.raises(GisError, match="second output failed"):
        run_outputs(tasks, console=printed, workers=3)
    assert ended == ["slow"]  # the running writer ended before the error was raised
    assert (tmp_path / "slow.txt").read_text() == "all of it"
    assert never == []  # not started once a writer had failed
    assert printed.lines == ["slow written"]
    assert [p.name for p in tmp_path.iterdir()] == ["slow.txt"]  # no temporary file left


@pytest.mark.parametrize("workers", [1, 3])
def test_a_failing_output_leaves_the_previous_set(tmp_path: Path, monkeypatch, workers: int) -> None:
    out = make_out_dir(tmp_path / "out")
    with staged_outputs(out) as stage:
        outputs_command(out=stage, scenario_path=None, console=QUIET, workers=workers)
    before = _listing(out)

    def broken_xlsx(*args, **kwargs):
        raise GisError("the spreadsheet failed")

    def broken_report(*args, **kwargs):
        raise GisError("the report failed")

    monkeypatch.setattr(tables, "write_ranked_xlsx", broken_xlsx)  # imported by the xlsx task
    monkeypatch.setattr(api, "write_report", broken_report)
    # the first to fail of the outputs started (the spreadsheet, or the report when it ran first)
    with pytest.raises(GisError, match=r"the (spreadsheet|report) failed"), staged_outputs(out) as stage:
        outputs_command(out=stage, scenario_path=None, console=QUIET, workers=workers)
    assert _listing(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_threads_write_the_same_files_as_one_after_the_other(tmp_path: Path) -> None:
    one = make_out_dir(tmp_path / "one")
    many = make_out_dir(tmp_path / "many")
    printed_one, printed_many = _Printed(), _Printed()
    paths_one = outputs_command(out=one, scenario_path=None, console=printed_one, workers=1)
    paths_many = outputs_command(out=many, scenario_path=None, console=printed_many, workers=4)
    assert [p.name for p in paths_one] == [p.name for p in paths_many]
    for name in ("sites_ranked.csv", "scenario.toml"):
        assert (one / name).read_bytes() == (many / name).read_bytes()
    wrote = [
        "map.html",
        "map_offline.html",
        "sites_ranked.csv",
        "sites.gpkg",
        "sites_ranked.xlsx",
        "report.html",
    ]
    assert _wrote(printed_one) == _wrote(printed_many) == wrote


def _wrote(printed: _Printed) -> list[str]:
    """The names of the files in the "Wrote ..." lines, in the order printed."""
    return [Path(line.split()[1]).name for line in printed.lines if line.startswith("Wrote")]


def test_each_output_is_timed_under_the_outputs_stage(tmp_path: Path) -> None:
    out = make_out_dir(tmp_path / "out")
    timing.start()
    with timing.stage("outputs"):
        outputs_command(out=out, scenario_path=None, console=QUIET, workers=3)
    names = {row["stage"] for row in timing.timings()["stages"]}
    expected = {"map", "map_offline", "csv", "sites_gpkg", "xlsx", "report"}
    assert {f"outputs/{n}" for n in expected} <= names, names
    assert not [n for n in names if n.startswith(("map", "csv", "xlsx", "report"))]  # none outside


def _where(console) -> int:
    console.print(f"pid {os.getpid()}")
    return os.getpid()


def _wait_for(path: Path) -> None:
    """Poll until ``path`` exists (a signal from the other process); fail after 30 s."""
    for _ in range(600):
        if path.exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def _signal_failures(monkeypatch, tmp_path: Path) -> Path:
    """Two processes allowed; the file that appears once a failure has stopped every later output
    (the patched claims are inherited by the forked child)."""
    monkeypatch.setenv("GIS_PROCESSES", "2")
    gave_up = tmp_path / "nothing more to start"
    take_all = api._Claims.take_all

    def signalled(self) -> None:
        take_all(self)
        gave_up.touch()

    monkeypatch.setattr(api._Claims, "take_all", signalled)
    return gave_up


def test_forked_outputs_run_in_a_child_and_come_back_in_order(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIS_PROCESSES", "2")
    started = tmp_path / "b started"

    def b(console) -> int:
        started.touch()
        return _where(console)

    def a(console) -> int:  # busy until the child has taken b
        _wait_for(started)
        return _where(console)

    timing.start()
    printed = _Printed()
    with timing.stage("outputs"):
        got = run_outputs(
            [("a", True, a), ("b", True, b), ("c", True, _where)], console=printed, forked=("b",)
        )
    assert got["a"] == got["c"] == os.getpid() != got["b"]
    assert printed.lines == [f"pid {got['a']}", f"pid {got['b']}", f"pid {got['c']}"]
    assert {"outputs/a", "outputs/b", "outputs/c"} <= {row["stage"] for row in timing.timings()["stages"]}


def test_this_process_takes_the_shared_outputs_the_child_has_not(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIS_PROCESSES", "2")
    x_started, release = tmp_path / "x started", tmp_path / "release"

    def x(console) -> int:  # the child's first: holds it until y has run
        x_started.touch()
        _wait_for(release)
        return _where(console)

    def y(console) -> int:  # the last shared output: taken by this process while the child is busy
        _wait_for(x_started)
        release.touch()
        return _where(console)

    got = run_outputs([("x", True, x), ("y", True, y)], console=_Printed(), forked=("x", "y"))
    assert got["y"] == os.getpid() != got["x"]


def test_one_process_keeps_every_output_here(monkeypatch) -> None:
    monkeypatch.setenv("GIS_PROCESSES", "1")
    got = run_outputs([("a", True, _where), ("b", True, _where)], console=_Printed(), forked=("b",))
    assert got == {"a": os.getpid(), "b": os.getpid()}


def test_a_forked_failure_is_raised_here_with_its_fields_and_traceback(monkeypatch, tmp_path: Path) -> None:
    gave_up = _signal_failures(monkeypatch, tmp_path)

    def broken(console):
        console.print("before the failure")
        raise GisError("the child failed", file="x.xlsx", field="score", fix="do this")

    def a(console) -> int:  # busy until the child has failed
        _wait_for(gave_up)
        return _where(console)

    never: list[str] = []
    tasks = [("a", True, a), ("b", True, broken), ("c", True, lambda console: never.append("c"))]
    printed = _Printed()
    with pytest.raises(GisError) as caught:
        run_outputs(tasks, console=printed, forked=("b", "c"))
    err = caught.value
    assert (err.problem, err.file, err.field, err.fix) == ("the child failed", "x.xlsx", "score", "do this")
    assert any("in the forked process" in note and "broken" in note for note in err.__notes__)
    assert printed.lines == [f"pid {os.getpid()}", "before the failure"]
    assert never == []  # c was not started by either process once b had failed


def test_a_failure_here_stops_the_child(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIS_PROCESSES", "2")
    go = tmp_path / "go"

    def waits_for_go(console):  # in the child: would write its file once "go" exists
        for _ in range(600):
            if go.exists():
                (tmp_path / "child.txt").write_text("written")
                return
            time.sleep(0.05)

    def fails(console):
        raise GisError("here it failed")

    with pytest.raises(GisError, match="here it failed"):
        run_outputs([("a", True, waits_for_go), ("b", True, fails)], console=_Printed(), forked=("a",))
    go.touch()
    time.sleep(0.2)
    assert not (tmp_path / "child.txt").exists()  # the child was stopped, not waited for


def test_an_unpicklable_failure_still_reaches_the_parent(monkeypatch, tmp_path: Path) -> None:
    gave_up = _signal_failures(monkeypatch, tmp_path)

    class Odd(Exception):
        def __init__(self, a, b):
            super().__init__(a)
            self.lock = threading.Lock()  # cannot be pickled

    def broken(console):
        raise Odd("odd failure", 2)

    tasks = [("here", True, lambda console: _wait_for(gave_up)), ("a", True, broken)]
    with pytest.raises(RuntimeError, match="Odd: odd failure"):
        run_outputs(tasks, console=_Printed(), forked=("a",))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="the child's memory is read from /proc")
def test_forked_memory_is_added_to_the_peak(monkeypatch, tmp_path: Path) -> None:
    import numpy as np

    monkeypatch.setenv("GIS_PROCESSES", "2")
    started = tmp_path / "big started"
    timing.start()

    def big(console):
        started.touch()
        block = np.ones(60_000_000 // 8)  # 60 MB of the child's own
        return float(block.sum())

    before = timing.timings()["peak_rss_mb"]
    tasks = [("here", True, lambda console: _wait_for(started)), ("a", True, big)]
    run_outputs(tasks, console=_Printed(), forked=("a",))
    assert timing.timings()["peak_rss_mb"] >= before + 55


def test_gdal_outputs_are_shared_with_the_child_only_when_no_other_thread_may_hold_gdal(monkeypatch) -> None:
    import threading

    from gis.outputs.api import FORKED_OUTPUTS, FORKED_WHEN_ALONE, _shared_outputs

    me = threading.current_thread()

    class RefreshLike(threading.Thread):  # as rich's display refresh thread
        pass

    RefreshLike.__module__ = "rich.live"
    for others, shared in (
        ([], FORKED_OUTPUTS + FORKED_WHEN_ALONE),
        ([RefreshLike()], FORKED_OUTPUTS + FORKED_WHEN_ALONE),
        ([threading.Thread(name="gis-layers")], FORKED_OUTPUTS),  # e.g. a writer thread: not shared
        ([RefreshLike(), threading.Thread()], FORKED_OUTPUTS),
    ):
        monkeypatch.setattr(threading, "enumerate", lambda others=others: [me, *others])
        assert _shared_outputs() == shared
