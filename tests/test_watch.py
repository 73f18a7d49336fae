"""``gis run --watch``: the scenario file watched, each save run again in the same process.

The watch itself (:class:`gis.watch.FileWatch`) on files the tests write, with a fake sleep that
plays an editor; then the command on the tiny data directory of the end-to-end test, in a
subprocess as a planner runs it: a save re-renders the outputs as a new ``gis run`` of that
scenario would, a scenario with an error is reported and writes nothing, Ctrl-C ends it with 0.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_run_end_to_end import tiny_data_dir

from gis.cli import main
from gis.config.scenario import load_scenario
from gis.watch import FileWatch, stamp


class Editor:
    """A fake ``sleep`` that makes the writes planned for its calls (call number -> text or None
    to remove the file)."""

    def __init__(self, path: Path, plan: dict[int, str | None]) -> None:
        self.path, self.plan, self.calls = path, plan, 0

    def __call__(self, seconds: float) -> None:
        self.calls += 1
        if self.calls in self.plan:
            text = self.plan[self.calls]
            if text is None:
                self.path.unlink()
            else:
                self.path.write_text(text, encoding="utf-8")


def test_stamp_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert stamp(tmp_path / "absent.toml") is None
    (tmp_path / "a.toml").write_text("x = 1\n")
    assert stamp(tmp_path / "a.toml") is not None


def test_a_save_with_other_bytes_is_a_change_once(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("weight = 0.2\n")
    watch = FileWatch(path, poll_s=0.0, sleep=Editor(path, {}))
    assert not watch.changed()
    path.write_text("weight = 0.25\n")
    assert watch.changed()
    assert not watch.changed()  # seen now


def test_a_save_of_the_same_bytes_is_no_change(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("weight = 0.2\n")
    watch = FileWatch(path, poll_s=0.0, sleep=Editor(path, {}))
    path.unlink()
    path.write_text("weight = 0.2\n")  # a new file (inode) with the same text: an editor's save
    assert stamp(path) != watch._stamp
    assert not watch.changed()


def test_a_file_still_being_written_is_taken_once_it_holds_still(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("weight = 0.2\n")
    editor = Editor(path, {1: "weight = 0.25\n[more]\n"})  # the second write lands during the settle
    watch = FileWatch(path, poll_s=0.0, sleep=editor)
    path.write_text("weight = 0.25\n")
    assert watch.changed()
    assert editor.calls == 2  # one poll saw the second write, the next saw it hold
    assert watch._content is not None and not watch.changed()
    assert path.read_text() == "weight = 0.25\n[more]\n"


def test_a_file_removed_for_a_moment_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("weight = 0.2\n")
    editor = Editor(path, {2: None, 4: "weight = 0.35\n"})  # removed, then written anew
    watch = FileWatch(path, poll_s=0.0, sleep=editor)
    watch.wait()
    assert editor.calls >= 4
    assert path.read_text() == "weight = 0.35\n"
    assert not watch.changed()


# ------------------------------------------------------------------------------ the command


def test_watch_needs_a_scenario_file(tmp_path: Path, capsys) -> None:
    assert main(["run", "--watch", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "--watch" in err and "--scenario" in err and "OUT/scenario.toml" in err


def test_watch_refuses_a_scenario_inside_the_output_folder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "scenario.toml").write_text('name = "x"\n')
    code = main(["run", "--watch", "--scenario", str(out / "scenario.toml"), "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "inside the output folder" in err and "copy it out" in err


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The tiny data directory and the environment a run on it needs (own caches)."""
    root = tmp_path_factory.mktemp("watch")
    data, catalog = tiny_data_dir(root)
    env = {**os.environ, "GIS_CATALOG_DIR": str(catalog), "GIS_CACHE_DIR": str(root / "cache")}
    for name in ("GIS_DATA_MIRROR", "GIS_DATA_DIR"):
        env.pop(name, None)
    return data, env


def _weights(path: Path, give: float) -> Path:
    """A scenario moving ``give`` of weight from the heaviest criterion to the next, written
    whole then renamed into place (as an editor saves)."""
    scenario = load_scenario()
    names = sorted(scenario.scoring.criteria, key=lambda n: -scenario.scoring.criteria[n].weight)
    w = {n: scenario.scoring.criteria[n].weight for n in names[:2]}
    text = (
        f'name = "watched"\n\n[scoring.criteria.{names[0]}]\nweight = {w[names[0]] - give!r}\n\n'
        f"[scoring.criteria.{names[1]}]\nweight = {w[names[1]] + give!r}\n"
    )
    staged = path.with_suffix(".saving")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)
    return path


class Watched:
    """``gis run --watch`` in a subprocess; its printed lines read on a thread."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gis.cli", *argv],
            env={**env, "COLUMNS": "200"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def until_watching(self, timeout: float = 240.0) -> str:
        """The lines printed up to the next "Watching" line (which the benchmark waits for too)."""
        got = []
        while True:
            line = self.lines.get(timeout=timeout)
            assert line is not None, "".join(self.seen)
            self.seen.append(line)
            got.append(line)
            if line.startswith("Watching "):
                return "".join(got)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def test_each_save_re_renders_every_output_as_a_new_run_would(tmp_path: Path, tiny) -> None:
    data, env = tiny
    scenario = _weights(tmp_path / "planner.toml", 0.05)
    out = tmp_path / "out"
    watched = Watched(
        ["run", "--watch", "--scenario", str(scenario), "--data-dir", str(data), "--out", str(out)], env
    )
    try:
        first = watched.until_watching()
        assert "Outputs (" in first and "error" not in first
        before = (out / "sites_ranked.csv").read_bytes()

        _weights(scenario, 0.1)
        again = watched.until_watching()
        assert "changed: running again" in again and "Outputs (" in again
        assert "Measured sites unchanged" in again  # kept from the first run
        after = (out / "sites_ranked.csv").read_bytes()
        assert after != before  # the weights moved the scores
        assert (
            "weight = " in (out / "scenario.toml").read_text()
            and "0.1" in (out / "scenario.toml").read_text()
        )

        kept = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
        scenario.write_text(scenario.read_text() + "\n[scoring.criteria.cooling]\nweight = 0.9\n")
        failed = watched.until_watching()
        assert "error:" in failed and "weights must sum to 1" in failed
        assert "Nothing of this run was written" in failed
        assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == kept  # the last complete run's

        assert watched.stop() == 0
        assert watched.lines.get(timeout=10) == "Stopped watching.\n"
    finally:
        if watched.proc.poll() is None:
            watched.proc.kill()

    # the same scenario in a new process, nothing reused: the same ranked sites and estimates
    fresh = tmp_path / "fresh"
    _weights(tmp_path / "fresh.toml", 0.1)
    code = subprocess.run(
        [sys.executable, "-m", "gis.cli", "run", "--scenario", str(tmp_path / "fresh.toml"), "--data-dir",
         str(data), "--out", str(fresh), "--no-stage-cache"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert code.returncode == 0, code.stderr
    assert (fresh / "sites_ranked.csv").read_bytes() == after
    assert (fresh / "estimates.json").read_bytes() == (out / "estimates.json").read_bytes()


def test_a_scenario_written_during_the_run_fails_it_and_writes_nothing(
    tmp_path: Path, tiny, monkeypatch, capsys
) -> None:
    import gis.pipeline

    data, env = tiny
    for name in ("GIS_CATALOG_DIR", "GIS_CACHE_DIR"):
        monkeypatch.setenv(name, env[name])
    scenario = _weights(tmp_path / "planner.toml", 0.05)
    real = gis.pipeline.run_pipeline

    def edited_meanwhile(**kwargs):
        made = real(**kwargs)
        _weights(scenario, 0.1)  # the planner saves while the outputs are written
        return made

    monkeypatch.setattr(gis.pipeline, "run_pipeline", edited_meanwhile)
    out = tmp_path / "out"
    assert main(["run", "--scenario", str(scenario), "--data-dir", str(data), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "written while the run read it" in err and str(scenario) in err
    assert not (out / "sites_ranked.csv").exists() and not (out / "estimates.json").exists()
    assert [p.name for p in out.iterdir()] == []  # nothing half-written either


class FakeWatch:
    """Stands in for FileWatch: each wait returns, until the planned Ctrl-C."""

    def __init__(self, path: Path, waits_before_ctrl_c: int) -> None:
        self.path, self.left = path, waits_before_ctrl_c

    def wait(self) -> None:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1


def test_a_failed_run_is_reported_and_the_watch_goes_on(tmp_path: Path, capsys) -> None:
    import gis.cli
    from gis.errors import GisError

    runs = []

    def again() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise GisError(
                "the weights moved too far", file=tmp_path / "s.toml", field="x", fix="move them back"
            )
        if len(runs) == 2:
            raise ValueError("a bug")

    gis.cli._watch(FakeWatch(tmp_path / "s.toml", 3), again, tmp_path / "out")
    err = capsys.readouterr().err
    assert len(runs) == 3  # each save ran, the failed ones too
    assert "error:" in err and "the weights moved too far" in err and "move them back" in err
    assert "unexpected error:" in err and "ValueError: a bug" in err
    assert err.count("Nothing of this run was written") == 2
    assert err.count("Watching ") == 4 and err.rstrip().endswith("Stopped watching.")


def test_ctrl_c_during_a_run_discards_it_with_status_130(tmp_path: Path, capsys) -> None:
    import typer

    import gis.cli

    def again() -> None:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as stopped:
        gis.cli._watch(FakeWatch(tmp_path / "s.toml", 1), again, tmp_path / "out")
    assert stopped.value.exit_code == 130
    assert "Interrupted: this run's outputs were not written" in capsys.readouterr().err
