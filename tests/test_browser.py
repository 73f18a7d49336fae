"""The offline map and the report in a real browser (Debian's chromium, driven by Playwright).

Network is blocked: every non-file request is aborted and counted (must be none). Checks that
Leaflet loads, every site is on the map (markers or clusters), a layer toggles off and on, a
popup shows a hostile plant name as literal text, no dialog fires and no console error occurs.
Screenshots go to the test's tmp folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures.outputs.synthetic import HOSTILE_NAME, make_out_dir

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if CHROMIUM.is_file():
        return
    reason = f"{CHROMIUM} is absent (apt-get install chromium)"
    if os.environ.get("GIS_REQUIRE_BROWSER", "").strip() in {"1", "true", "yes"}:
        pytest.fail(reason + " — GIS_REQUIRE_BROWSER=1 makes this a failure")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rich.console import Console

    from gis.outputs.api import map_command, report_command

    out = make_out_dir(tmp_path_factory.mktemp("out"))
    console = Console(quiet=True)
    map_command(out=out, offline=True, console=console)
    report_command(out=out, console=console)
    return out


class Watched:
    """A page with its blocked requests, dialogs and console errors recorded."""

    def __init__(self, browser) -> None:
        self.blocked: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.route("**/*", self._route)
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _route(self, route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def test_offline_map_in_browser(browser, outputs: Path, tmp_path: Path) -> None:
    import pandas as pd

    sites = pd.read_csv(outputs / "sites_ranked.csv")
    w = Watched(browser)
    page = w.page
    page.goto((outputs / "map.html").as_uri())
    page.wait_for_function("() => window.L !== undefined && document.querySelector('.leaflet-container')")
    page.wait_for_timeout(500)

    # every site is in a GeoJSON layer; the dense category sits in a marker cluster
    counts = page.evaluate(
        """() => {
        const layers = Object.values(window).filter(v => v instanceof L.GeoJSON);
        let sites = 0;
        for (const g of layers) { sites += g.getLayers().filter(l => l.feature.properties.site_id).length; }
        const clusters = Object.values(window).filter(v => L.MarkerClusterGroup && v instanceof L.MarkerClusterGroup);
        return {sites: sites, clusterGroups: clusters.length,
                clusterIcons: document.querySelectorAll('.marker-cluster').length,
                siteMarkers: document.querySelectorAll('path.gis-site').length};
    }"""
    )
    assert counts["sites"] == len(sites)
    assert counts["clusterGroups"] == 1
    assert counts["clusterIcons"] > 0
    assert counts["siteMarkers"] > 0

    # a layer toggled off and on through the layer control
    label = page.locator(".leaflet-control-layers-overlays label", has_text="Sites: Federal hydro")
    checkbox = label.locator("input")
    paths_on = page.locator("path.gis-site").count()
    checkbox.click()
    assert not checkbox.is_checked()
    paths_off = page.locator("path.gis-site").count()
    assert paths_off < paths_on
    checkbox.click()
    assert checkbox.is_checked()
    assert page.locator("path.gis-site").count() == paths_on

    # the hostile site's popup shows its name as text
    page.evaluate(
        """(name) => {
        for (const g of Object.values(window).filter(v => v instanceof L.GeoJSON)) {
            for (const l of g.getLayers()) {
                if (l.feature.properties.site_id && l.getElement && l.getElement()
                    && l.feature.properties.name.indexOf('alert(1)') >= 0) {
                    l.getElement().setAttribute('data-hostile', '1');
                }
            }
        }
    }""",
        HOSTILE_NAME,
    )
    target = page.locator("[data-hostile='1']")
    assert target.count() == 1
    target.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert HOSTILE_NAME in popup.inner_text()
    assert popup.locator("script").count() == 0
    assert popup.locator("img").count() == 0
    page.wait_for_timeout(400)  # let the popup finish fading in and panning
    page.screenshot(path=str(tmp_path / "map_offline.png"))

    assert w.blocked == []
    assert w.dialogs == []
    assert w.errors == []
    page.close()


def test_report_in_browser(browser, outputs: Path, tmp_path: Path) -> None:
    w = Watched(browser)
    page = w.page
    page.goto((outputs / "report.html").as_uri())
    page.wait_for_load_state("load")
    body = page.locator("body").inner_text()
    assert HOSTILE_NAME in body
    assert page.locator("body script").count() == 0
    assert page.locator("img[onerror]").count() == 0
    images = page.locator("img")
    assert images.count() >= 5
    assert all(page.evaluate("els => els.map(e => e.naturalWidth > 0)", images.element_handles()))
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert w.blocked == []
    assert w.dialogs == []
    assert w.errors == []
    page.close()
