"""Vendor the JavaScript/CSS that folium's maps reference, for offline (air-gapped) maps.

Downloads each package's tarball from the npm registry at the version folium's CDN URL names,
checks it against the registry's sha512 integrity, extracts only the files the map needs (plus
every file their CSS ``url()`` points to, and the licence) into ``gis/outputs/vendor/<package>/``
and writes ``gis/outputs/vendor/manifest.json`` (package, version, tarball URL, sha256, files,
and which folium asset name each file stands for).

Run it again after upgrading folium::

    python scripts/vendor_assets.py            # vendor, then check every folium asset is covered
    python scripts/vendor_assets.py --check    # only check the manifest against installed folium
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import posixpath
import re
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "gis" / "outputs" / "vendor"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    """An npm package and the files of it the maps use.

    ``assets`` maps folium's asset name (the key in ``default_js`` / ``default_css``) to the
    file's path inside the tarball (without the leading ``package/``). ``version_of`` is the
    folium asset whose CDN URL names the version to fetch.
    """

    name: str
    version_of: str
    assets: dict[str, str]
    licence_files: tuple[str, ...] = ()
    licence_note: str = ""
    extra: tuple[str, ...] = field(default_factory=tuple)


PACKAGES = (
    Package(
        "leaflet",
        "leaflet",
        {"leaflet": "dist/leaflet.js", "leaflet_css": "dist/leaflet.css"},
        ("LICENSE",),
    ),
    Package("jquery", "jquery", {"jquery": "dist/jquery.min.js"}, ("LICENSE.txt",)),
    Package(
        "bootstrap",
        "bootstrap",
        {"bootstrap": "dist/js/bootstrap.bundle.min.js", "bootstrap_css": "dist/css/bootstrap.min.css"},
        ("LICENSE",),
    ),
    Package(
        # the npm re-publication of lvoogdt/Leaflet.awesome-markers that cdnjs serves
        "drmonty-leaflet-awesome-markers",
        "awesome_markers",
        {
            "awesome_markers": "js/leaflet.awesome-markers.min.js",
            "awesome_markers_css": "css/leaflet.awesome-markers.css",
        },
        (),
        licence_note=(
            "MIT, as declared in the package's package.json ('licenses': "
            "http://github.com/lvoogdt/Leaflet.awesome-markers/blob/2.0/develop/LICENSE). "
            "The npm tarball ships no licence file; the full text is at that URL."
        ),
    ),
    Package(
        "leaflet.markercluster",
        "markerclusterjs",
        {
            "markerclusterjs": "dist/leaflet.markercluster.js",
            "markerclustercss": "dist/MarkerCluster.css",
            "markerclusterdefaultcss": "dist/MarkerCluster.Default.css",
        },
        ("MIT-LICENCE.txt",),
    ),
    Package(
        "leaflet.fullscreen",
        "Control.Fullscreen.js",
        {
            "Control.Fullscreen.js": "Control.FullScreen.js",
            "Control.FullScreen.css": "Control.FullScreen.css",
        },
        ("LICENSE",),
    ),
)

NOT_VENDORED = {
    "glyphicons_css": (
        "Bootstrap 3.0.0 glyphicons are not published on npm; they only style glyphicon-prefixed "
        "AwesomeMarkers icons, which these maps never draw"
    ),
    "awesome_markers_font_css": (
        "Font Awesome icon fonts (~1 MB) only style AwesomeMarkers icons, which these maps never draw"
    ),
    "awesome_rotate_css": (
        "folium's own rotation CSS for AwesomeMarkers icons (not on npm), which these maps never draw"
    ),
}
"""folium assets deliberately left out of offline maps, with the reason; the map builder refuses
to write an offline map that contains an icon marker, so leaving them out cannot break one."""

CSS_URL = re.compile(r"url\(\s*(['\"]?)(?!data:|https?:|#)([^'\")]+)\1\s*\)")


def folium_asset_urls() -> dict[str, str]:
    """Every asset name -> CDN URL that folium's Map and the plugins the maps use reference."""
    import folium
    from folium import plugins

    urls: dict[str, str] = {}
    for cls in (folium.Map, plugins.MarkerCluster, plugins.Fullscreen):
        for name, url in [*cls.default_js, *cls.default_css]:
            urls[name] = url
    return urls


def version_from_url(url: str) -> str:
    """The x.y.z version in a CDN URL (``pkg@1.2.3/...``, ``.../1.2.3/...`` or ``pkg-1.2.3.min.js``)."""
    m = re.search(r"[@/-](\d+\.\d+\.\d+)(?=[/.]min\.js|/)", url)
    if not m:
        raise SystemExit(f"cannot read a version from {url}")
    return m.group(1)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as resp:
        return resp.read()


def fetch_tarball(name: str, version: str) -> tuple[str, bytes]:
    """Download ``name@version`` from the npm registry, verified against its sha512 integrity."""
    meta = json.loads(_get(f"{REGISTRY}/{name}/{version}"))
    url = meta["dist"]["tarball"]
    data = _get(url)
    integrity = meta["dist"].get("integrity", "")
    if integrity.startswith("sha512-"):
        digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != integrity.removeprefix("sha512-"):
            raise SystemExit(f"{name}@{version}: tarball does not match the registry's sha512 integrity")
    elif hashlib.sha1(data).hexdigest() != meta["dist"]["shasum"]:
        raise SystemExit(f"{name}@{version}: tarball does not match the registry's shasum")
    return url, data


def _members(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                path = posixpath.normpath(member.name)
                if path.startswith("package/"):
                    path = path.removeprefix("package/")
                extracted = tar.extractfile(member)
                if extracted is not None and not path.startswith(("..", "/")):
                    out[path] = extracted.read()
    return out


def stored_path(path: str) -> str:
    """Where a tarball file is kept: without a leading ``dist/`` (build folders are git-ignored).

    Every file of a package loses the same prefix, so relative CSS ``url()`` references still hold.
    """
    return path.removeprefix("dist/")


def vendor_package(pkg: Package, version: str) -> dict:
    """Extract one package's files into ``VENDOR/<name>/`` and return its manifest entry."""
    url, data = fetch_tarball(pkg.name, version)
    files = _members(data)
    target = VENDOR / pkg.name
    shutil.rmtree(target, ignore_errors=True)
    wanted = dict.fromkeys([*pkg.assets.values(), *pkg.licence_files, *pkg.extra])
    for path in list(wanted):
        if path.endswith(".css"):
            css = files[path].decode("utf-8")
            for _, ref in CSS_URL.findall(css):
                ref = ref.split("?")[0].split("#")[0]
                wanted[posixpath.normpath(posixpath.join(posixpath.dirname(path), ref))] = None
    for path in wanted:
        if path not in files:
            raise SystemExit(f"{pkg.name}@{version}: {path} is not in the tarball")
        out = target / stored_path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(files[path])
    if pkg.licence_note:
        (target / "LICENSE.txt").write_text(f"{pkg.name} {version}: {pkg.licence_note}\n", encoding="utf-8")
    return {
        "package": pkg.name,
        "version": version,
        "tarball": url,
        "sha256": hashlib.sha256(data).hexdigest(),
        "licence_files": [f"{pkg.name}/{p}" for p in pkg.licence_files]
        or ([f"{pkg.name}/LICENSE.txt"] if pkg.licence_note else []),
        "files": sorted(f"{pkg.name}/{stored_path(p)}" for p in wanted),
    }


def check(manifest: dict, urls: dict[str, str]) -> list[str]:
    """Problems: folium assets neither vendored nor declared unneeded, or at another version."""
    problems = []
    for name, url in sorted(urls.items()):
        asset = manifest["assets"].get(name)
        if asset is None:
            if name not in manifest["not_vendored"]:
                problems.append(f"{name} ({url}) is not vendored")
            continue
        if asset["url"] != url:
            problems.append(f"{name}: folium now references {url}, vendored {asset['url']}")
        if not (VENDOR / asset["file"]).is_file():
            problems.append(f"{name}: {asset['file']} is missing")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the manifest against folium")
    args = parser.parse_args(argv)
    urls = folium_asset_urls()
    manifest_path = VENDOR / "manifest.json"
    if not args.check:
        VENDOR.mkdir(parents=True, exist_ok=True)
        packages, assets = [], {}
        for pkg in PACKAGES:
            version = version_from_url(urls[pkg.version_of])
            entry = vendor_package(pkg, version)
            packages.append(entry)
            for asset_name, path in pkg.assets.items():
                assets[asset_name] = {"file": f"{pkg.name}/{stored_path(path)}", "url": urls[asset_name]}
            print(f"vendored {pkg.name}@{version} ({len(entry['files'])} files)")
        manifest = {
            "about": "Third-party JS/CSS inlined into offline maps; written by scripts/vendor_assets.py.",
            "packages": packages,
            "assets": dict(sorted(assets.items())),
            "not_vendored": NOT_VENDORED,
        }
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    problems = check(manifest, urls)
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
