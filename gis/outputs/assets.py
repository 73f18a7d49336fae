"""Offline maps: inline every JS/CSS asset a folium map references from the vendored copies.

folium emits ``<script src=CDN>`` / ``<link href=CDN>`` tags for the assets that the map and
each of its elements list in ``default_js`` / ``default_css``. :func:`collect_assets` walks the
whole element tree to list them; :func:`inline_assets` swaps each tag for the vendored file's
content (CSS ``url()`` references become ``data:`` URIs), so the page needs no network.
The vendored files and their provenance live in ``gis/outputs/vendor/`` (see
``scripts/vendor_assets.py``).
"""

from __future__ import annotations

import base64
import json
import mimetypes
import posixpath
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from gis.errors import GisError

if TYPE_CHECKING:
    from branca.element import Element

__all__ = [
    "VENDOR_DIR",
    "Asset",
    "collect_assets",
    "inline_assets",
    "inline_content",
    "load_manifest",
    "remote_asset_tags",
    "vendored_licences",
]

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"

_CSS_URL = re.compile(r"url\(\s*(['\"]?)(?!data:|https?:|#)([^'\")]+)\1\s*\)")
_REMOTE_TAG = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


@dataclass(frozen=True)
class Asset:
    """One JS or CSS asset a map references: folium's name for it, its CDN URL and kind."""

    name: str
    url: str
    kind: str  # "js" or "css"


@cache
def load_manifest() -> dict:
    """The vendored-asset manifest (``vendor/manifest.json``)."""
    path = VENDOR_DIR / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GisError(
            "the vendored map assets are missing",
            file=path,
            fix="reinstall gis-btc-sites, or run `python scripts/vendor_assets.py` in a checkout",
        ) from exc


def collect_assets(root: Element) -> list[Asset]:
    """Every JS/CSS asset of ``root`` and all its descendants, first occurrence first."""
    seen: dict[str, Asset] = {}

    def walk(element: Element) -> None:
        for kind, attr in (("js", "default_js"), ("css", "default_css")):
            for name, url in getattr(element, attr, None) or []:
                seen.setdefault(name, Asset(name, url, kind))
        for child in element._children.values():
            walk(child)

    walk(root)
    return list(seen.values())


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _css_with_data_uris(path: Path) -> str:
    css = path.read_text(encoding="utf-8")

    def swap(match: re.Match) -> str:
        ref = match.group(2).split("?")[0].split("#")[0]
        target = VENDOR_DIR / posixpath.normpath(
            posixpath.join(path.parent.relative_to(VENDOR_DIR).as_posix(), ref)
        )
        if not target.is_file():
            raise GisError(
                f"the vendored stylesheet refers to {ref}, which is not vendored",
                file=path,
                fix="run `python scripts/vendor_assets.py` to vendor the assets again",
            )
        return f'url("{_data_uri(target)}")'

    return _CSS_URL.sub(swap, css)


def inline_content(asset: Asset) -> str | None:
    """The ``<script>``/``<style>`` element that replaces ``asset``, or None if it is not needed."""
    manifest = load_manifest()
    entry = manifest["assets"].get(asset.name)
    if entry is None:
        if asset.name in manifest["not_vendored"]:
            return None
        raise GisError(
            f"the map uses asset {asset.name} ({asset.url}), which is not vendored for offline maps",
            file=VENDOR_DIR / "manifest.json",
            field=asset.name,
            fix="add its npm package to scripts/vendor_assets.py and run it",
        )
    path = VENDOR_DIR / entry["file"]
    if asset.kind == "js":
        code = re.sub(r"</(script)", r"<\\/\1", path.read_text(encoding="utf-8"), flags=re.IGNORECASE)
        return f"<script>/* {entry['file']} (vendored, see gis/outputs/vendor) */\n{code}\n</script>"
    css = re.sub(r"</(style)", r"<\\/\1", _css_with_data_uris(path), flags=re.IGNORECASE)
    return f"<style>/* {entry['file']} (vendored, see gis/outputs/vendor) */\n{css}\n</style>"


def inline_assets(html: str, assets: list[Asset]) -> str:
    """Replace each asset's CDN tag in ``html`` with its vendored content.

    Raises
    ------
    GisError
        when an asset is neither vendored nor declared unneeded, or a remote asset tag remains.
    """
    for asset in assets:
        tag = (
            f'<script src="{asset.url}"></script>'
            if asset.kind == "js"
            else f'<link rel="stylesheet" href="{asset.url}"/>'
        )
        replacement = inline_content(asset)
        html = html.replace(tag, replacement if replacement is not None else "")
    remaining = remote_asset_tags(html)
    if remaining:
        raise GisError(
            f"the offline map still loads {len(remaining)} asset(s) from the network, e.g. {remaining[0]}",
            field="offline",
            fix="vendor the asset (scripts/vendor_assets.py) so the map works without network",
        )
    return html


def remote_asset_tags(html: str) -> list[str]:
    """``<script src>`` / ``<link href>`` tags in ``html`` that point to the network."""
    return [html[m.start() : html.find(">", m.start()) + 1] for m in _REMOTE_TAG.finditer(html)]


def vendored_licences() -> list[dict]:
    """Name, version, tarball URL, sha256 and licence files of each vendored package."""
    return [
        {k: p[k] for k in ("package", "version", "tarball", "sha256", "licence_files")}
        for p in load_manifest()["packages"]
    ]
