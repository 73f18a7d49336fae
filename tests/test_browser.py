"""The maps and the report in a real browser (Debian's chromium, driven by Playwright).

Network is blocked: every non-file request is aborted and counted (the offline map and the report
must make none). Checks that Leaflet loads, every site is on the map (markers or clusters), a layer
toggles off and on through the collapsed layer control, a popup shows a hostile plant name as
literal text and is never under a panel, no panel covers the top sites at 1400x900, the online map
points to the offline one when Leaflet cannot load, the report has no horizontal scroll at 1400 px,
no dialog fires and no console error occurs. Screenshots go to the test's tmp folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.outputs.synthetic import HOSTILE_NAME, make_out_dir

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rich.console import Console

    from gis.outputs.api import outputs_command

    out = make_out_dir(tmp_path_factory.mktemp("out"))
    outputs_command(out=out, scenario_path=None, console=Console(quiet=True))
    return out


def _open_map(browser, path: Path) -> Watched:
    w = Watched(browser)
    w.page.goto(path.as_uri())
    w.page.wait_for_function("() => window.L !== undefined && document.querySelector('.leaflet-container')")
    w.page.wait_for_timeout(500)
    return w


_COVERED_JS = """() => {
  // points of the open popup that something else is drawn over
  const pops = document.querySelectorAll('.leaflet-popup');
  if (!pops.length) { return null; }
  const pop = pops[pops.length - 1];
  const r = pop.getBoundingClientRect(), bad = [];
  for (let x = r.left + 4; x < r.right - 4; x += 15) {
    for (let y = r.top + 4; y < r.bottom - 4; y += 15) {
      if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) { continue; }
      const e = document.elementFromPoint(x, y);
      if (e && !pop.contains(e)) { bad.push(String(e.className)); }
    }
  }
  return bad;
}"""


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
    w = _open_map(browser, outputs / "map_offline.html")
    page = w.page

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

    # a layer toggled off and on through the layer control (collapsed: it opens on hover)
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    page.hover(".leaflet-control-layers")
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
    page.mouse.move(700, 450)

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
    text = popup.inner_text()
    assert HOSTILE_NAME in text
    # the energy model and the fleet join, in words with units
    for words in ("Ledger", "Market node", "Price basis", "Wasted energy", "MWh/yr", "In the national fleet"):
        assert words in text, words
    assert popup.locator("script").count() == 0
    assert popup.locator("img").count() == 0
    page.wait_for_timeout(600)  # let the popup finish fading in and panning
    page.screenshot(path=str(tmp_path / "map_offline.png"))
    assert page.evaluate(_COVERED_JS) == []

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
    assert images.count() >= 7
    for heading in (
        "The finding",
        "Supply curve",
        "Cash flow",
        "Wasted energy found, beside published figures",
    ):
        assert heading in body, heading
    assert all(page.evaluate("els => els.map(e => e.naturalWidth > 0)", images.element_handles()))
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    # no horizontal scroll at 1400 px: every table fits the page
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    wide = page.evaluate(
        "() => [...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right"
        " > document.body.getBoundingClientRect().right + 1).map(t => t.closest('section')?.id)"
    )
    assert wide == [], wide  # and no table spills out of the page column
    # charts are shown at the width they are drawn at (CSS px; PNGs drawn at 2x for sharpness, the
    # SVG score histogram is vector: its own width)
    sizes = page.evaluate(
        "els => els.map(e => [e.naturalWidth, e.getBoundingClientRect().width, e.src.startsWith('data:image/svg')])",
        images.element_handles(),
    )
    assert all(abs(natural / (1 if svg else 2) - shown) <= 1 for natural, shown, svg in sizes), sizes
    assert sum(svg for _, _, svg in sizes) == 1, sizes
    assert w.blocked == []
    assert w.dialogs == []
    assert w.errors == []
    page.close()


def test_no_panel_over_top_sites_or_popups(browser, outputs: Path, tmp_path: Path) -> None:
    """At 1400x900 the title, legend and controls leave the best sites visible; a popup opened next
    to a panel is never drawn under it."""
    w = _open_map(browser, outputs / "map_offline.html")
    page = w.page
    page.screenshot(path=str(tmp_path / "overview.png"))
    covered = page.evaluate(
        """() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const panels = [...document.querySelectorAll('.gis-box, .leaflet-control-container .leaflet-control')]
            .map(e => e.getBoundingClientRect());
        const sites = [];
        for (const g of Object.values(window).filter(v => v instanceof L.GeoJSON)) {
            for (const l of g.getLayers()) {
                const p = l.feature.properties;
                if (p.site_id && p._s >= 0) { sites.push([p._s, p.name, l.getLatLng()]); }
            }
        }
        sites.sort((a, b) => b[0] - a[0]);
        const box = map.getContainer().getBoundingClientRect();
        return sites.slice(0, 15).filter(s => {
            const pt = map.latLngToContainerPoint(s[2]), x = pt.x + box.left, y = pt.y + box.top;
            return panels.some(b => x >= b.left && x <= b.right && y >= b.top && y <= b.bottom);
        }).map(s => s[1]);
    }"""
    )
    assert covered == []
    # open the popup of the drawn site closest to each panel: nothing may cover it
    for panel in (".gis-title", ".gis-legend", ".leaflet-control-layers"):
        page.evaluate(
            "() => { const m = Object.values(window).find(v => v instanceof L.Map); m.closePopup(); }"
        )
        page.evaluate(
            """(sel) => {
            const b = document.querySelector(sel).getBoundingClientRect();
            const cx = (b.left + b.right) / 2, cy = (b.top + b.bottom) / 2;
            let best = null, dist = Infinity;
            document.querySelectorAll('path.gis-site').forEach(e => {
                e.removeAttribute('data-near');
                const r = e.getBoundingClientRect();
                if (r.width === 0) { return; }
                const d = Math.hypot((r.left + r.right) / 2 - cx, (r.top + r.bottom) / 2 - cy);
                if (d < dist) { dist = d; best = e; }
            });
            if (best) { best.setAttribute('data-near', '1'); }
        }""",
            panel,
        )
        page.locator("[data-near='1']").dispatch_event("click")
        page.locator(".leaflet-popup-content").last.wait_for()
        page.wait_for_timeout(600)
        page.screenshot(path=str(tmp_path / f"popup_near{panel.replace('.', '_')}.png"))
        assert page.evaluate(_COVERED_JS) == [], panel
    assert w.blocked == [] and w.errors == []
    page.close()


def test_online_map_points_to_the_offline_one_without_network(browser, outputs: Path, tmp_path: Path) -> None:
    """map.html with its CDN blocked: Leaflet is missing, and the page says to open map_offline.html."""
    w = Watched(browser)
    page = w.page
    page.goto((outputs / "map.html").as_uri())
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert page.evaluate("() => typeof L") == "undefined"
    assert w.blocked  # the CDN requests were made, and blocked
    fallback = page.locator("#gis-fallback")
    assert fallback.is_visible()
    assert fallback.locator("a[href='map_offline.html']").count() == 1
    page.screenshot(path=str(tmp_path / "map_online_blocked.png"))
    page.close()
