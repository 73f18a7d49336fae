"""The outputs' caches give the bytes drawing or rendering gives, and notice a change: the report
charts (by their data), the report templates (compiled once per process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jinja2
import numpy as np
import pytest

from gis.outputs import charts, report

ROOT = Path(__file__).resolve().parents[1]
SENSITIVITY = [
    {
        "input": "a",
        "meaning": "first input",
        "low": 1,
        "high": 2,
        "npv_usd_at_low": -1e6,
        "npv_usd_at_high": 2e6,
    },
    {
        "input": "b",
        "meaning": "second input",
        "low": 3,
        "high": 4,
        "npv_usd_at_low": 5e5,
        "npv_usd_at_high": 7e5,
    },
]


@pytest.fixture
def fresh_charts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An empty in-process chart cache; the names of the charts actually drawn."""
    monkeypatch.setattr(charts, "_MEMORY", type(charts._MEMORY)())
    drawn: list[str] = []
    real = charts._png

    def counting(fig, **kwargs):
        drawn.append(fig.axes[0].get_title() if fig.axes else "")
        return real(fig, **kwargs)

    monkeypatch.setattr(charts, "_png", counting)
    return drawn


def test_a_chart_with_the_same_data_is_not_drawn_again(fresh_charts: list[str]) -> None:
    scores, excluded = np.array([0.1, 0.5, 0.9]), np.array([False, True, False])
    first = charts.score_distribution(scores, excluded)
    again = charts.score_distribution(scores.copy(), excluded.copy())
    assert again == first and len(fresh_charts) == 1
    other = charts.score_distribution(np.array([0.2, 0.5, 0.9]), excluded)
    assert other != first and len(fresh_charts) == 2  # new data: drawn


def test_the_chart_cache_on_disk_serves_a_new_process(fresh_charts: list[str], monkeypatch) -> None:
    first = charts.npv_tornado(SENSITIVITY)
    assert len(list(charts.chart_cache_dir().glob("*.png"))) == 1
    monkeypatch.setattr(charts, "_MEMORY", type(charts._MEMORY)())  # as in a new process
    assert charts.npv_tornado(SENSITIVITY) == first and len(fresh_charts) == 1


def test_a_damaged_cached_chart_is_drawn_again(fresh_charts: list[str], monkeypatch) -> None:
    first = charts.npv_tornado(SENSITIVITY)
    (cached,) = charts.chart_cache_dir().glob("*.png")
    cached.write_bytes(first[: len(first) // 2])  # e.g. a disk that filled while writing
    monkeypatch.setattr(charts, "_MEMORY", type(charts._MEMORY)())
    assert charts.npv_tornado(SENSITIVITY) == first and len(fresh_charts) == 2


def test_the_cache_gives_the_bytes_drawing_gives(fresh_charts: list[str], monkeypatch) -> None:
    cached = charts.supply_curve([{"price_cap_usd_mwh": 20.0, "bought_gw_average": 1.5}], wasted_gw=0.5)
    monkeypatch.setattr(charts, "_read_cached", lambda key: None)
    monkeypatch.setattr(charts, "_MEMORY", type(charts._MEMORY)())
    drawn = charts.supply_curve([{"price_cap_usd_mwh": 20.0, "bought_gw_average": 1.5}], wasted_gw=0.5)
    assert drawn == cached and len(fresh_charts) == 2


def test_matplotlib_is_imported_only_to_draw() -> None:
    code = (
        "import sys; import gis.outputs.api, gis.outputs.report, gis.outputs.charts; "
        "print('matplotlib' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.fixture
def fresh_environment():
    report._environment.cache_clear()
    yield report._environment
    report._environment.cache_clear()


def test_the_report_templates_are_compiled_once_per_process(fresh_environment) -> None:
    env = fresh_environment()
    assert fresh_environment() is env
    template = env.get_template("report.html.j2")
    assert env.get_template("report.html.j2") is template  # from the environment's cache


def test_compiled_templates_serve_a_new_process_and_damage_is_ignored(fresh_environment, monkeypatch) -> None:
    folder = Path(fresh_environment().bytecode_cache.directory)
    fresh_environment().get_template("sections/finding.html.j2")
    (code,) = folder.glob("__jinja2_*.cache")
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    fresh_environment.cache_clear()  # as in a new process
    fresh_environment().get_template("sections/finding.html.j2")
    assert compiled == []  # read from the compiled file
    code.write_bytes(code.read_bytes()[:20])  # damaged
    fresh_environment.cache_clear()
    fresh_environment().get_template("sections/finding.html.j2")
    assert compiled == ["sections/finding.html.j2"]
