"""The folium map: layers per source and category, escaping, offline inlining, presets, size."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyogrio
import pytest
from fixtures.outputs.synthetic import HOSTILE_NAME, HOSTILE_OWNER, N_FLARE_SITES, make_out_dir

from gis.errors import GisError
from gis.layers import read_layers
from gis.outputs.assets import collect_assets, load_manifest, remote_asset_tags
from gis.outputs.map import build_map, colour_values, display_geometry, render_map_html
from gis.outputs.presets import MapPreset, load_preset


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_out_dir(tmp_path_factory.mktemp("out"))


@pytest.fixture(scope="module")
def inputs(out_dir: Path) -> dict:
    return {
        "layers": read_layers(out_dir / "layers.gpkg"),
        "sites": pyogrio.read_dataframe(out_dir / "sites.gpkg", layer="candidate_sites"),
        "estimates": json.loads((out_dir / "estimates.json").read_text()),
        "preset": load_preset(),
    }


def _html(inputs: dict, *, offline: bool) -> str:
    return render_map_html(build_map(**inputs, offline=offline), offline=offline)


def test_online_map_has_a_layer_per_source_and_category(inputs: dict) -> None:
    page = _html(inputs, offline=False)
    names = set(re.findall(r'"((?:Sites: )?[A-Z][^"]*\(\d[\d,]*\))"', page))
    for expected in (
        "Federal power plants (TVA, USACE, USBR, other) (4)",
        "Transmission lines (by kV) (4)",
        "Gas flare sites (VIIRS) (12)",
        "Sites: Federal hydro (3)",
        f"Sites: Flare gas ({N_FLARE_SITES - 3})",
        "Sites: Excluded sites (3)",
    ):
        assert expected in names
    assert "tile.openstreetmap.org" in page
    assert "leaflet.markercluster" in page  # the dense category is clustered
    assert "L.control.fullscreen" in page
    assert "L.control.scale" in page


def test_every_text_value_is_escaped(inputs: dict) -> None:
    for offline in (False, True):
        page = _html(inputs, offline=offline)
        assert HOSTILE_NAME not in page
        assert HOSTILE_OWNER not in page
        assert "<b>test</b>" not in page  # the scenario name in the title box
        assert "&lt;b&gt;test&lt;/b&gt;" in page
        # in the GeoJSON the name is escaped once by us (&lt;) and once more by the JSON encoder
        assert "\\u0026lt;script\\u0026gt;alert(1)" in page


def test_offline_map_inlines_every_asset(inputs: dict) -> None:
    fmap = build_map(**inputs, offline=True)
    page = render_map_html(fmap, offline=True)
    assert remote_asset_tags(page) == []
    assert "tile.openstreetmap.org" not in page
    manifest = load_manifest()
    for asset in collect_assets(fmap.get_root()):
        assert asset.name in manifest["assets"] or asset.name in manifest["not_vendored"]
    assert "Basemap: states (offline)" in page
    assert "url(images/" not in page  # CSS images became data URIs


def test_online_map_keeps_cdn_assets(inputs: dict) -> None:
    page = _html(inputs, offline=False)
    assert any("cdn.jsdelivr.net/npm/leaflet@" in tag for tag in remote_asset_tags(page))


def test_offline_map_needs_states(inputs: dict) -> None:
    layers = {k: v for k, v in inputs["layers"].items() if k != "states"}
    with pytest.raises(GisError, match="states"):
        build_map(**{**inputs, "layers": layers}, offline=True)


def test_display_geometry_rounds_and_simplifies(inputs: dict) -> None:
    lines = inputs["layers"]["transmission_lines"]
    shown = display_geometry(lines, simplify_m=50_000, decimals=2)
    coords = [c for g in shown for c in g.coords]
    assert all(round(x, 2) == x and round(y, 2) == y for x, y in coords)
    assert len(coords) < sum(len(g.coords) for g in lines.geometry)


def test_colour_values_linear_and_stepped() -> None:
    ramp = ["#000000", "#ffffff"]
    linear = colour_values([0.0, 1.0, float("nan")], ramp, vmin=0, vmax=1, missing="#123456")
    assert list(linear) == ["#000000", "#ffffff", "#123456"]
    stepped = colour_values([50, 150, 700], ["#111111", "#222222", "#333333"], breaks=[100, 300])
    assert list(stepped) == ["#111111", "#222222", "#333333"]


def test_preset_rejects_unknown_keys_and_bad_values(tmp_path: Path) -> None:
    good = load_preset("national")
    assert isinstance(good, MapPreset)
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ntitle = "x"\nbogus = 1\n')
    with pytest.raises(GisError, match="bogus"):
        load_preset(bad)
    bad.write_text(
        'name = "x"\ntitle = "x"\n[[layers]]\nkey = "a"\nlabel = "A"\nlayer = "plants"\ncolour = "red"\n'
    )
    with pytest.raises(GisError, match=r"layers\.0\.colour"):
        load_preset(bad)
    bad.write_text(
        'name = "x"\ntitle = "x"\n[[layers]]\nkey = "a"\nlabel = "A"\nlayer = "plants"\ntooltip = ["nope"]\n'
    )
    with pytest.raises(GisError, match="no column 'nope'"):
        load_preset(bad)
    with pytest.raises(GisError, match="does not exist"):
        load_preset("no_such_preset")


def test_vendored_files_are_all_present() -> None:
    from gis.outputs.assets import VENDOR_DIR

    manifest = load_manifest()
    for package in manifest["packages"]:
        assert len(package["sha256"]) == 64 and package["tarball"].startswith("https://registry.npmjs.org/")
        assert package["licence_files"]
        for path in [*package["files"], *package["licence_files"]]:
            assert (VENDOR_DIR / path).is_file(), path
    for asset in manifest["assets"].values():
        assert (VENDOR_DIR / asset["file"]).is_file()


def test_popups_in_words_with_fleet_columns_when_present(inputs: dict) -> None:
    """Popup labels are words with units (no raw field names); the national model's per-site
    columns show when the sites carry them; one map writes both the online and offline pages."""
    sites = inputs["sites"].copy()
    sites["btc_per_year"] = 12.5
    sites["in_fleet"] = sites.index % 2 == 0
    sites["ledger"] = "wasted"
    sites["hours_mined"] = 4380.0
    sites.loc[sites.index[0], "name"] = "Basin flare cluster (1 flares)"
    fmap = build_map(**{**inputs, "sites": sites}, offline=None)
    online = render_map_html(fmap, offline=False)
    offline = render_map_html(fmap, offline=True)
    for page in (online, offline):
        assert "energy_cost_usd_mwh (USD/MWh)" not in page
        for words in (
            "Energy cost",
            "Bitcoin mined",
            "In the national fleet",
            "Ledger",
            "Hours mined",
            "h/yr",
        ):
            assert words in page, words
        assert "grid criteria do not apply" in page and "(1 flare)" in page and "(1 flares)" not in page
    assert "map_offline.html" in online and 'id="gis-fallback"' not in offline
    assert "tile.openstreetmap" in online and "tile.openstreetmap" not in offline
    assert re.search(r'"collapsed":\s*true', online)


def test_popup_numbers_are_rounded_once_as_the_page_shows_them() -> None:
    import pandas as pd

    from gis.outputs import map as fmap
    from gis.outputs.labels import display_frame

    # the page's rule, which as_shown mirrors: no decimal from 100, one from 10, two below
    assert "Math.abs(v) >= 100 ? 0 : (Math.abs(v) >= 10 ? 1 : 2)" in fmap._TABLE_JS
    frame = pd.DataFrame({"score": [0.9049, 0.90499], "mw": [181.516, 12.349], "share": [0.4583, 0.005]})
    shown = display_frame(frame, ["score", "mw", "share"])
    assert shown["score"].tolist() == [0.9, 0.9]  # not 0.905, which the page showed as 0.91
    assert shown["mw"].tolist() == [182.0, 12.3]
    assert shown["share"].tolist() == [0.46, 0.01]  # 46 %, 1 %
