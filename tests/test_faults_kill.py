"""A run killed with SIGKILL at several moments leaves the previous complete outputs or the new ones.

A real ``gis`` process (the same staging transaction as ``gis run``: score, estimate, the
GeoPackage and lists, in one staging folder) is stopped with SIGKILL after scoring and, once
every output is written, in the middle of swapping them in. Each time the
output folder is then opened and checked: byte-identical to the previous set, or (the kill during
the swap) completed by the next command into the whole new set; no hidden file is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from fixtures.scoring.tiny_layers import tiny_layers

from gis.config.scenario import DEFAULT_SCENARIO
from gis.io import STAGING_PREFIX, clean_stale, staged_outputs, write_gpkg

REPO = Path(__file__).resolve().parent.parent

DRIVER = r"""
import sys, time
from pathlib import Path
import gis.io as gio
from gis import cli
from gis.estimates.api import estimate_command
from gis.outputs.api import outputs_command
from gis.scoring.api import score_command

out, scenario, point, flag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])

def pause(name):
    if name == point:
        flag.write_text(name)
        time.sleep(120)

real_swap = gio._swap_in
def swap(out_, stage, names):
    real_swap(out_, stage, names[:1])
    pause("swap")
    real_swap(out_, stage, names[1:])
gio._swap_in = swap

with cli._staged(out) as stage:
    score_command(out=stage, scenario_path=scenario, console=cli.console, engine="local", scheduler=None,
                  grid=False)
    pause("score")
    estimate_command(out=stage, scenario_path=scenario, as_json=False, network_ehs=None, console=cli.console)
    pause("estimate")
    outputs_command(out=stage, scenario_path=scenario, console=cli.console)
    pause("outputs")
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["GIS_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _run(tmp_path: Path, out: Path, scenario: Path, point: str) -> subprocess.Popen:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    flag = tmp_path / f"reached-{point}"
    proc = subprocess.Popen(
        [sys.executable, str(driver), str(out), str(scenario), point, str(flag)],
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(3000):
        if flag.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert flag.exists(), proc.stderr.read().decode() if proc.poll() is not None else "never reached"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return proc


def _run_in_process(out: Path, scenario: Path) -> None:
    """The same transaction as the driver, whole, in this process (the previous complete set)."""
    from rich.console import Console

    from gis.estimates.api import estimate_command
    from gis.outputs.api import outputs_command
    from gis.scoring.api import score_command

    quiet = Console(quiet=True)
    with staged_outputs(out) as stage:
        score_command(
            out=stage, scenario_path=scenario, console=quiet, engine="local", scheduler=None, grid=False
        )
        estimate_command(out=stage, scenario_path=scenario, as_json=False, network_ehs=None, console=quiet)
        outputs_command(out=stage, scenario_path=scenario, console=quiet)


def _check_complete(out: Path) -> None:
    """Every output opens and the set is consistent (one scoring behind all of them)."""
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")], names
    layers = [str(r[0]) for r in pyogrio.list_layers(out / "sites.gpkg")]
    assert "candidate_sites" in layers and len(layers) > 1, layers  # the full GeoPackage, not score's
    sites = pyogrio.read_dataframe(out / "sites.gpkg", layer="candidate_sites")
    ranked = pd.read_csv(out / "sites_ranked.csv")
    assert sorted(ranked["site_id"]) == sorted(sites["site_id"])
    assert (out / "estimates.json").stat().st_size > 0
    assert (out / "sites_ranked.xlsx").stat().st_size > 0


def test_a_run_killed_at_any_moment_leaves_a_complete_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_gpkg(out / "layers.gpkg", tiny_layers())
    _run_in_process(out, DEFAULT_SCENARIO)
    _check_complete(out)
    before = _listing(out)
    changed = tmp_path / "changed.toml"
    text = DEFAULT_SCENARIO.read_text(encoding="utf-8")
    changed.write_text(text.replace("spill_offpeak_fraction = 0.25", "spill_offpeak_fraction = 0.5"))

    # killed after scoring: sites.gpkg staged with candidate_sites only, OUT untouched
    _run(tmp_path, out, changed, "score")
    assert _listing(out) == before  # byte for byte the previous complete set
    assert any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir())

    # killed in the middle of the swap (every output written): one new file in place, the
    # journal left behind; this run first removed the staging folder of the one killed above
    proc = _run(tmp_path, out, changed, "swap")
    assert "staging folder of a killed run" in proc.stderr.read().decode()
    staged = next(p for p in sorted(out.iterdir()) if p.name.startswith(STAGING_PREFIX) and any(p.iterdir()))
    assert list(out.glob(".commit-*.json"))
    new = _listing(staged)
    done = clean_stale(out)  # what the next command does first
    assert any("finished swapping in" in line for line in done), done
    after = _listing(out)
    assert after != before
    for name, data in new.items():
        assert after[name] == data  # the whole new set
    _check_complete(out)


def test_hidden_temporary_files_of_killed_writers_are_removed_and_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.csv").write_text("a\n1\n")
    leftovers = [
        ".sites.gpkg.abc123.tmp.gpkg",
        ".sites.gpkg.abc123.tmp.gpkg-journal",
        ".sites_ranked.xlsx.x.tmp.xlsx",
    ]
    for name in leftovers:
        (out / name).write_bytes(b"half")
    (out / f"{STAGING_PREFIX}999999999-dead").mkdir()  # no such process
    lines: list[str] = []
    with staged_outputs(out, report=lines.append) as stage:
        (stage / "new.csv").write_text("b\n2\n")
    assert len(lines) == 4
    assert sorted(p.name for p in out.iterdir()) == ["keep.csv", "new.csv"]


def test_a_failed_command_leaves_the_folder_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old\n")
    with pytest.raises(RuntimeError), staged_outputs(out) as stage:
        (stage / "a.csv").unlink()
        (stage / "a.csv").write_text("new\n")
        raise RuntimeError("boom")
    assert (out / "a.csv").read_text() == "old\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]
