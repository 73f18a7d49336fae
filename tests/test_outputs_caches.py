"""The outputs' caches give the bytes drawing or rendering gives, and notice a change: the report
charts (by their data), the report templates (compiled once per process), the map's source
layers and the explorer's state outline (by their content)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import jinja2
import numpy as np
import pytest
from fixtures.outputs.synthetic import make_out_dir

from gis import memo
from gis.errors import GisError
from gis.outputs import charts, explorer, keep, report
from gis.outputs import map as fmap
from gis.outputs.api import map_layer_names
from gis.outputs.inputs import read_stage_outputs
from gis.outputs.presets import DEFAULT_PRESET, load_preset

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
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    drawn: list[str] = []
    real = charts._png

    def counting(fig, **kwargs):
        drawn.append(fig.axes[0].get_title() if fig.axes else "")
        return real(fig, **kwargs)

    monkeypatch.setattr(charts, "_png", counting)
    return drawn


def test_a_chart_with_the_same_data_is_not_drawn_again(fresh_charts: list[str]) -> None:
    groups = {"flare_gas": {"mineable_gw": 1.5}, "federal_hydro": {"mineable_gw": 0.5}}
    first = charts.gw_by_category(groups)
    again = charts.gw_by_category({k: dict(v) for k, v in groups.items()})
    assert again == first and len(fresh_charts) == 1
    other = charts.gw_by_category({**groups, "flare_gas": {"mineable_gw": 1.6}})
    assert other != first and len(fresh_charts) == 2  # new data: drawn


def test_the_chart_cache_on_disk_serves_a_new_process(fresh_charts: list[str], monkeypatch) -> None:
    first = charts.npv_tornado(SENSITIVITY)
    assert len(list(charts.chart_cache_dir().rglob("*.png"))) == 1
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())  # as in a new process
    assert charts.npv_tornado(SENSITIVITY) == first and len(fresh_charts) == 1


def test_a_damaged_cached_chart_is_drawn_again(fresh_charts: list[str], monkeypatch) -> None:
    first = charts.npv_tornado(SENSITIVITY)
    (cached,) = charts.chart_cache_dir().rglob("*.png")
    cached.write_bytes(first[: len(first) // 2])  # e.g. a disk that filled while writing
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    assert charts.npv_tornado(SENSITIVITY) == first and len(fresh_charts) == 2


def test_the_cache_gives_the_bytes_drawing_gives(fresh_charts: list[str], monkeypatch) -> None:
    cached = charts.supply_curve([{"price_cap_usd_mwh": 20.0, "bought_gw_average": 1.5}], wasted_gw=0.5)
    monkeypatch.setattr(memo, "_read", lambda path: None)  # every file on disk unreadable
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    drawn = charts.supply_curve([{"price_cap_usd_mwh": 20.0, "bought_gw_average": 1.5}], wasted_gw=0.5)
    assert drawn == cached and len(fresh_charts) == 2


@pytest.mark.parametrize(
    ("modules", "library"),
    [
        ("gis.outputs.api, gis.outputs.report, gis.outputs.charts", "matplotlib"),
        # XlsxWriter (~0.2 s): on two cores only the forked process writing the spreadsheet
        # imports it, after the fork, not the parent before it
        ("gis.outputs.api", "xlsxwriter"),
    ],
)
def test_a_drawing_library_is_imported_only_to_draw(modules: str, library: str) -> None:
    code = f"import sys; import {modules}; print({library!r} in sys.modules)"
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


@pytest.fixture(scope="module")
def map_inputs(tmp_path_factory: pytest.TempPathFactory):
    out = make_out_dir(tmp_path_factory.mktemp("out"))
    return read_stage_outputs(out, layer_names=map_layer_names())


def _ids(text: str) -> str:
    """folium names its elements at random: number them in order of appearance instead."""
    seen: dict[str, str] = {}
    return re.sub(r"_[0-9a-f]{32}", lambda m: seen.setdefault(m.group(0), f"_id{len(seen)}"), text)


@pytest.fixture
def counted_drawings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An empty in-process layer cache; the keys of the layers actually drawn."""
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    drawn: list[str] = []
    real = fmap._draw_layer

    def counting(rows, spec, *, decimals):
        drawn.append(spec.key)
        return real(rows, spec, decimals=decimals)

    monkeypatch.setattr(fmap, "_draw_layer", counting)
    return drawn


def _lines_spec():
    preset = load_preset(DEFAULT_PRESET)
    return next(s for s in preset.layers if s.layer == "transmission_lines"), preset.coordinate_decimals


def test_a_drawn_layer_is_reused_in_the_process_and_from_disk(
    map_inputs, counted_drawings, monkeypatch
) -> None:
    spec, decimals = _lines_spec()
    rows = map_inputs.layers["transmission_lines"]
    first = fmap.layer_drawing(rows, spec, decimals=decimals)
    assert fmap.layer_drawing(rows.copy(), spec, decimals=decimals) == first  # from the process
    assert counted_drawings == [spec.key]
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())  # as in a new process
    again = fmap.layer_drawing(rows, spec, decimals=decimals)
    assert again == first and counted_drawings == [spec.key]


def test_the_layer_cache_notices_a_changed_layer(map_inputs, counted_drawings) -> None:
    spec, decimals = _lines_spec()
    rows = map_inputs.layers["transmission_lines"]
    first = fmap.layer_drawing(rows, spec, decimals=decimals)
    moved = rows.copy()
    moved.geometry = moved.geometry.translate(xoff=0.5)
    assert fmap.layer_key(moved, spec, decimals=decimals) != fmap.layer_key(rows, spec, decimals=decimals)
    assert fmap.layer_drawing(moved, spec, decimals=decimals).json_text != first.json_text
    relabelled = rows.copy()
    column = spec.tooltip[0] if spec.tooltip else spec.colour_by
    relabelled[column] = relabelled[column].iloc[::-1].to_numpy()
    assert fmap.layer_key(relabelled, spec, decimals=decimals) != fmap.layer_key(
        rows, spec, decimals=decimals
    )
    wider = spec.model_copy(update={"weight_px": spec.weight_px + 1})
    assert fmap.layer_key(rows, wider, decimals=decimals) != fmap.layer_key(rows, spec, decimals=decimals)
    assert fmap.layer_key(rows, spec, decimals=decimals + 1) != fmap.layer_key(rows, spec, decimals=decimals)
    assert len(counted_drawings) == 2


def test_a_layer_found_by_the_layers_key_is_the_layer_drawn(map_inputs, counted_drawings) -> None:
    spec, decimals = _lines_spec()
    rows = map_inputs.layers["transmission_lines"]
    hashed = fmap.layer_drawing(rows, spec, decimals=decimals)
    by_key = fmap.layer_drawing(rows, spec, decimals=decimals, layers_key="layers-v1")
    assert by_key == hashed and len(counted_drawings) == 2  # another key: drawn, the same drawing
    assert fmap.layer_drawing(rows.iloc[:0], spec, decimals=decimals, layers_key="layers-v1") == hashed
    assert len(counted_drawings) == 2  # found by the key alone: the rows are not read
    fmap.layer_drawing(rows, spec, decimals=decimals, layers_key="layers-v2")
    assert len(counted_drawings) == 3  # new layers, drawn again


def test_a_damaged_cached_layer_is_drawn_again(map_inputs, counted_drawings, monkeypatch) -> None:
    spec, decimals = _lines_spec()
    rows = map_inputs.layers["transmission_lines"]
    first = fmap.layer_drawing(rows, spec, decimals=decimals)
    (kept,) = fmap.layer_cache_dir().rglob("*.txt")
    kept.write_text(kept.read_text(encoding="utf-8")[:-10], encoding="utf-8")  # cut short
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    assert fmap.layer_drawing(rows, spec, decimals=decimals) == first and len(counted_drawings) == 2


def _map_page(
    inputs,
    *,
    offline: bool,
    layers: Mapping | None = None,
    estimates: dict | None = None,
    layers_key: str | None = None,
) -> str:
    """The test map built with both basemaps and rendered (``offline`` or not), folium's ids numbered."""
    built = fmap.build_map(
        layers=inputs.layers if layers is None else layers,
        sites=inputs.sites,
        estimates=inputs.estimates if estimates is None else estimates,
        preset=load_preset(DEFAULT_PRESET),
        offline=None,
        layers_key=layers_key,
    )
    return _ids(fmap.render_map_html(built, offline=offline))


def test_the_map_from_cached_layers_is_the_map_drawn(map_inputs, counted_drawings) -> None:
    drawn = _map_page(map_inputs, offline=False)
    drawn_count = len(counted_drawings)
    assert drawn_count > 0
    assert (
        _map_page(map_inputs, offline=False) == drawn and len(counted_drawings) == drawn_count
    )  # nothing drawn the second time


class _CountedLayers(Mapping):
    """Layers by name that note each one read (as :class:`gis.io.LazyFrames` reads a file)."""

    def __init__(self, frames: Mapping) -> None:
        self.frames, self.read = frames, []

    def __getitem__(self, name: str):
        self.read.append(name)
        return self.frames[name]

    def __iter__(self):
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __contains__(self, name: object) -> bool:
        return name in self.frames


def test_a_map_whose_drawings_are_kept_reads_no_source_layer(
    map_inputs, counted_drawings, monkeypatch
) -> None:
    def page(layers: Mapping) -> str:
        no_choropleth = {**map_inputs.estimates, "by_state": {}}  # the choropleth colours the states
        return _map_page(
            map_inputs, offline=True, layers=layers, estimates=no_choropleth, layers_key="layers-v1"
        )

    first = _CountedLayers(map_inputs.layers)
    drawn = page(first)
    assert "states" in first.read and counted_drawings  # drawn: each layer read once
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())  # as in a new process: from disk
    monkeypatch.setattr(fmap, "_SIMPLIFIED", type(fmap._SIMPLIFIED)())
    again = _CountedLayers(map_inputs.layers)
    assert page(again) == drawn and again.read == []
    preset = load_preset(DEFAULT_PRESET)
    other = _CountedLayers(map_inputs.layers)
    fmap.build_map(  # other layers (another key): each drawn again, so read
        layers=other,
        sites=map_inputs.sites,
        estimates={},
        preset=preset,
        offline=False,
        layers_key="layers-v2",
    )
    assert set(other.read) == {spec.layer for spec in preset.layers if spec.layer in map_inputs.layers}


def test_the_kept_offline_basemap_is_the_one_drawn_and_follows_the_states(map_inputs, monkeypatch) -> None:
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    preset = load_preset(DEFAULT_PRESET)
    states = map_inputs.layers["states"]
    made = fmap.offline_basemap_text(states, preset)
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    monkeypatch.setattr(fmap, "_SIMPLIFIED", type(fmap._SIMPLIFIED)())
    assert fmap.offline_basemap_text(lambda: states.copy(), preset) == made  # by the geometry, from disk
    collection = json.loads(made)
    assert len(collection["features"]) == len(states)
    assert {f["properties"]["_c"] for f in collection["features"]} == {preset.basemap.offline_line}
    moved = states.copy()
    moved.geometry = moved.geometry.translate(xoff=1.0)
    assert fmap.offline_basemap_text(moved, preset) != made
    with pytest.raises(GisError, match="states layer"):
        fmap.offline_basemap_text(lambda: states.iloc[:0], preset, layers_key="another")
    assert fmap.offline_basemap_text(lambda: states, preset, layers_key="kept") == made
    with pytest.raises(GisError, match="states layer"):  # no states layer: whatever is kept
        fmap.offline_basemap_text(None, preset, layers_key="kept")


def test_the_explorer_outline_is_kept_and_follows_the_states(map_inputs, monkeypatch) -> None:
    states = map_inputs.layers["states"]
    made: list[int] = []
    real = explorer.display_geometry

    def counting(frame, **kwargs):
        made.append(len(frame))
        return real(frame, **kwargs)

    monkeypatch.setattr(explorer, "display_geometry", counting)
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    first = explorer.states_geojson(states)
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())  # as in a new process: from disk
    assert explorer.states_geojson(states.copy()) == first and len(made) == 1
    moved = states.copy()
    moved.geometry = moved.geometry.translate(xoff=1.0)
    assert explorer.states_geojson(moved) != first and len(made) == 2


def _sites_gpkg(inputs, target: Path, *, layers_key: str | None) -> Path:
    from gis.outputs.gpkg import write_sites_gpkg

    return write_sites_gpkg(
        target,
        sites=inputs.sites,
        source_layers=inputs.layers,
        estimates=inputs.estimates,
        preset=load_preset(DEFAULT_PRESET),
        layers_metadata=inputs.layers_metadata,
        sites_metadata=inputs.sites_metadata,
        layers_key=layers_key,
    )


def _layers_of(path: Path) -> dict:
    import pyogrio

    frames = {}
    for name in pyogrio.list_layers(path)[:, 0]:
        frame = pyogrio.read_dataframe(path, layer=name)
        frames[str(name)] = (
            frame.drop(columns="update_time", errors="ignore"),
            pyogrio.read_info(path, layer=name),
        )
    return frames


def test_sites_gpkg_starts_from_the_kept_source_layers(map_inputs, tmp_path: Path, monkeypatch) -> None:
    import pyogrio
    from pandas.testing import assert_frame_equal

    from gis.outputs import gpkg

    written: list[list[str]] = []
    real = gpkg.add_gpkg_layers

    def counting(path, layers, **kwargs):
        written.append(list(layers))
        return real(path, layers, **kwargs)

    monkeypatch.setattr(gpkg, "add_gpkg_layers", counting)
    first = _sites_gpkg(map_inputs, tmp_path / "a.gpkg", layers_key=map_inputs.layers_key)
    again = _sites_gpkg(map_inputs, tmp_path / "b.gpkg", layers_key=map_inputs.layers_key)
    hashed = _sites_gpkg(map_inputs, tmp_path / "c.gpkg", layers_key=None)  # keyed by the frames
    sources = sorted(n for n in map_inputs.layers)
    own = sorted(["candidate_sites", "state_summary", "category_summary"])
    assert [sorted(w) for w in written] == [sources, own, own, sources, own]  # sources written twice
    names = [str(n) for n in pyogrio.list_layers(first)[:, 0]]
    assert names[:2] == ["candidate_sites", "state_summary"]  # listed first, as when written first
    for path in (again, hashed):
        assert [str(n) for n in pyogrio.list_layers(path)[:, 0]] == names
        got, want = _layers_of(path), _layers_of(first)
        for name, (frame, info) in want.items():
            assert_frame_equal(got[name][0], frame, check_exact=True)
            assert got[name][1]["layer_metadata"] == info["layer_metadata"], name
            assert got[name][1]["dataset_metadata"] == info["dataset_metadata"], name


def test_sites_gpkg_reads_a_kept_source_layer_only_for_its_columns(map_inputs, tmp_path: Path) -> None:
    import dataclasses

    from pandas.testing import assert_frame_equal

    from gis.io import LazyFrames, write_frames

    folder = write_frames(tmp_path / "frames", {name: map_inputs.layers[name] for name in map_inputs.layers})
    first = _sites_gpkg(map_inputs, tmp_path / "a.gpkg", layers_key="lazy-v1")  # the sources kept
    lazy = LazyFrames(folder)
    again = _sites_gpkg(
        dataclasses.replace(map_inputs, layers=lazy), tmp_path / "b.gpkg", layers_key="lazy-v1"
    )
    assert set(lazy._frames) <= {"states"}  # read for the state summary's outlines only
    got, want = _layers_of(again), _layers_of(first)
    assert list(got) == list(want)
    for name, (frame, info) in want.items():
        assert_frame_equal(got[name][0], frame, check_exact=True)
        assert got[name][1]["layer_metadata"] == info["layer_metadata"], name


def test_a_damaged_kept_source_gpkg_is_written_again(map_inputs, tmp_path: Path) -> None:
    first = _sites_gpkg(map_inputs, tmp_path / "a.gpkg", layers_key="layers-v1")
    (kept,) = (Path(os.environ["GIS_CACHE_DIR"]) / "sites_gpkg_sources").rglob("sources.gpkg")
    kept.write_bytes(kept.read_bytes()[:-100])  # the manifest's size disagrees: a miss
    again = _sites_gpkg(map_inputs, tmp_path / "b.gpkg", layers_key="layers-v1")
    got, want = _layers_of(again), _layers_of(first)
    assert list(got) == list(want)


def test_simplified_outlines_are_kept_by_their_geometry(map_inputs, monkeypatch) -> None:
    monkeypatch.setattr(fmap, "_SIMPLIFIED", type(fmap._SIMPLIFIED)())
    states = map_inputs.layers["states"]
    first = fmap.display_geometry(states, simplify_m=1000.0, decimals=4)
    again = fmap.display_geometry(states.copy(), simplify_m=1000.0, decimals=4)
    assert len(fmap._SIMPLIFIED) == 1 and again.geom_equals_exact(first, tolerance=0).all()
    assert again.values is not first.values  # each caller gets its own array
    moved = states.copy()
    moved.geometry = moved.geometry.translate(xoff=0.5)
    assert not fmap.display_geometry(moved, simplify_m=1000.0, decimals=4).geom_equals(first).all()
    fmap.display_geometry(states, simplify_m=2000.0, decimals=4)
    assert len(fmap._SIMPLIFIED) == 3


def test_a_damaged_kept_text_is_made_again(monkeypatch) -> None:
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    assert keep.kept_text("t", "k", lambda: "first text") == "first text"
    (kept,) = (Path(os.environ["GIS_CACHE_DIR"]) / "t").rglob("*.txt")
    kept.write_text(kept.read_text(encoding="utf-8")[:-3], encoding="utf-8")
    monkeypatch.setattr(keep, "_MEMORY", type(keep._MEMORY)())
    assert keep.kept_text("t", "k", lambda: "made again") == "made again"


def test_one_module_of_the_package_does_not_import_the_rest() -> None:
    code = (
        "import sys; import gis.outputs.explorer; "
        "print(sorted(m for m in ('xlsxwriter', 'gis.outputs.api', 'gis.outputs.report') if m in sys.modules)); "
        "from gis.outputs import outputs_command, MapPreset; print(outputs_command.__module__, MapPreset.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "gis.outputs.api MapPreset"]


def test_score_histogram_bars_by_hand() -> None:
    import re
    import xml.dom.minidom

    # bins of 0.05: 0.02 and 0.03 in bin 0 (one candidate, one excluded), 0.51 in bin 10, 1.0 in
    # the last bin (numpy's closed last edge); NaN counted in the title
    scores = np.array([0.02, 0.03, 0.51, 1.0, np.nan])
    excluded = np.array([False, True, False, False, False])
    svg = charts.score_distribution(scores, excluded).decode()
    xml.dom.minidom.parseString(svg)  # well-formed
    bars = re.findall(
        r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="(#\w+)" shape-rendering',
        svg,
    )
    tips = re.findall(r"<title>([^<]+)</title>", svg)
    assert tips == ["0.00-0.05: 1", "0.00-0.05: 1", "0.50-0.55: 1", "0.95-1.00: 1"]
    assert [b[4] for b in bars] == ["#41ab5d", "#bdbdbd", "#41ab5d", "#41ab5d"]
    # one site is 1/y_max of the plot's 230 px; y_max = 2 (tick step 1): 115 px, stacked from the axis at 272
    heights = [float(b[3]) for b in bars]
    assert heights == pytest.approx([115.0, 115.0, 115.0, 115.0])
    assert float(bars[1][1]) + 115.0 == pytest.approx(float(bars[0][1]))  # excluded above the candidate
    assert float(bars[0][1]) + 115.0 == pytest.approx(272.0)
    assert "1 site without a score, not shown" in svg


@pytest.fixture
def new_process_templates(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kept template code as a new process finds it (read from disk at first use); the
    sources jinja2 compiled since (the others were taken from the kept code)."""
    from gis.outputs import compiled

    compiled.install()
    monkeypatch.setattr(compiled, "_STATE", {"code": None, "new": False, "used": set()})
    made: list[str] = []
    real = compiled._COMPILE

    def counting(env, source, name=None, filename=None, raw=False, defer_init=False):
        made.append(source if isinstance(source, str) else "<nodes>")
        return real(env, source, name, filename, raw, defer_init)

    monkeypatch.setattr(compiled, "_COMPILE", counting)
    return made


def _as_new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from gis.outputs import compiled

    compiled.save()
    monkeypatch.setattr(compiled, "_STATE", {"code": None, "new": False, "used": set()})


def test_a_template_made_from_text_is_compiled_once_per_machine(new_process_templates, monkeypatch) -> None:
    env = jinja2.Environment()
    first = env.from_string("Hello {{ name | upper }}!")
    assert new_process_templates == ["Hello {{ name | upper }}!"]
    _as_new_process(monkeypatch)
    again = env.from_string("Hello {{ name | upper }}!")
    assert new_process_templates == ["Hello {{ name | upper }}!"]  # taken from the kept code
    assert again.render(name="hoover") == first.render(name="hoover") == "Hello HOOVER!"
    jinja2.Environment(trim_blocks=True).from_string("Hello {{ name | upper }}!")  # other settings
    filtered = jinja2.Environment()
    filtered.filters["upper"] = lambda text: text.lower()  # another filter: other code
    assert filtered.from_string("Hello {{ name | upper }}!").render(name="HOOVER") == "Hello hoover!"
    assert len(new_process_templates) == 3


def test_templates_loaded_from_files_and_a_damaged_file_are_compiled(
    new_process_templates, monkeypatch
) -> None:
    from gis.outputs import compiled

    loaded = jinja2.Environment(loader=jinja2.DictLoader({"page.html": "<p>{{ x }}</p>"}))
    assert loaded.get_template("page.html").render(x=1) == "<p>1</p>"
    assert new_process_templates == ["<p>{{ x }}</p>"] and compiled._STATE["used"] == set()  # not kept
    jinja2.Environment().from_string("{{ 1 + 1 }}")
    _as_new_process(monkeypatch)
    compiled.kept_code_file().write_bytes(b"\x00not marshal")
    assert jinja2.Environment().from_string("{{ 1 + 1 }}").render() == "2"  # compiled again
    assert new_process_templates[-1] == "{{ 1 + 1 }}" and len(new_process_templates) == 3


def test_the_kept_template_code_holds_what_the_last_process_used(new_process_templates, monkeypatch) -> None:
    import marshal

    from gis.outputs import compiled

    env = jinja2.Environment()
    env.from_string("{{ a }}")
    env.from_string("{{ b }}")
    _as_new_process(monkeypatch)
    env.from_string("{{ a }}")
    env.from_string("{{ c }}")  # one map's own text: compiled, and kept only while used
    _as_new_process(monkeypatch)
    kept = marshal.loads(compiled.kept_code_file().read_bytes())
    assert set(kept) == {compiled.code_key(env, text) for text in ("{{ a }}", "{{ c }}")}


def test_the_map_drawn_from_kept_template_code_is_the_map_compiled(
    map_inputs, new_process_templates, monkeypatch
) -> None:
    compiled_page = _map_page(map_inputs, offline=True)
    first = len(new_process_templates)  # the elements made at render time
    _as_new_process(monkeypatch)
    assert _map_page(map_inputs, offline=True) == compiled_page
    assert 0 < len(new_process_templates) - first < first  # those carrying the map's own names compiled


def test_a_new_process_takes_folium_s_templates_compiled(tmp_path: Path) -> None:
    code = (
        "import gis.outputs.map; from gis.outputs import compiled; "
        "print(compiled._STATE['new'], len(compiled._STATE['used'])); compiled.save()"
    )
    env = {**os.environ, "GIS_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0][0] == "True" and int(runs[0][1]) > 50  # folium's and branca's, compiled at import
    assert runs[1] == ["False", runs[0][1]]  # the same ones, none compiled
