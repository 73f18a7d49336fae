"""Paging an ArcGIS FeatureServer layer into one GeoJSON file.

HIFLD transmission lines and substations, MIRTA sites and the EIA Atlas plants are published
as ArcGIS feature services; their "download" is a series of ``/query`` requests of at most
2,000 features each (``resultOffset`` / ``resultRecordCount``), in EPSG:4326.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from gis.config.settings import limits
from gis.errors import GisError
from gis.io import atomic_path
from gis.sources.fetch import CONNECT_TIMEOUT_S, OFFLINE_FIX, LimitExceeded, network_error

__all__ = ["PAGE", "fetch_featureserver"]

PAGE = 2000


def _query_page(url: str, *, where: str, offset: int, page: int, stall_s: float) -> tuple[list[dict], bool]:
    """One page of the layer's ``/query`` (GeoJSON, EPSG:4326, in ``OBJECTID`` order from ``offset``):
    its features, and whether the service says more remain.

    Raises
    ------
    GisError
        on a network failure, an HTTP error, an answer that is not JSON or an ``error`` answer, or
        a page that claims more features but holds none.
    """
    params = {
        "where": where,
        "outFields": "*",
        "outSR": "4326",
        "f": "geojson",
        "resultOffset": str(offset),
        "resultRecordCount": str(page),
        "orderByFields": "OBJECTID",
    }
    try:
        resp = requests.get(url.rstrip("/") + "/query", params=params, timeout=(CONNECT_TIMEOUT_S, stall_s))
    except requests.exceptions.RequestException as exc:
        raise network_error(exc, url, stall_s) from exc
    if resp.status_code >= 400:
        raise GisError(
            f"the feature service answered HTTP {resp.status_code}",
            file=url,
            fix="check the service URL in the layer catalog, or use --data-dir / --mirror",
        )
    try:
        data = resp.json()
    except ValueError as exc:
        raise GisError("the feature service did not answer with JSON", file=url) from exc
    if "error" in data:
        raise GisError(f"the feature service reported an error: {data['error']}", file=url)
    batch = data.get("features", [])
    more = bool(
        data.get("exceededTransferLimit") or (data.get("properties") or {}).get("exceededTransferLimit")
    )
    if not batch and more:
        raise GisError(
            f"the feature service returned no features at offset {offset} but says more remain",
            file=url,
            fix="retry later; if it persists, the service cannot be paged: use --data-dir / --mirror",
        )
    return batch, more


def fetch_featureserver(
    url: str, dest: Path, *, where: str = "1=1", page: int = PAGE, max_pages: int = 500
) -> Path:
    """Query every feature of the layer at ``url`` (``.../FeatureServer/0``) into GeoJSON ``dest``.

    Pages of at most ``page`` features (fewer if the service caps them) are requested from
    ``resultOffset`` 0 on, in ``OBJECTID`` order, while the service says ``exceededTransferLimit``
    or fills the page. ``dest`` is written once, after the last page; on any error it is left as
    it was.

    Raises
    ------
    GisError
        on an HTTP error, an ``error`` answer, a page that claims more features but holds none, or
        a page repeating features already received (a service that ignores ``resultOffset``).
    """
    features: list[dict] = []
    seen: set[object] = set()
    offset = 0
    bounds = limits()
    deadline = time.monotonic() + bounds.deadline_s
    for _ in range(max_pages):
        if time.monotonic() > deadline:
            raise LimitExceeded(
                f"the feature service did not finish within {bounds.deadline_s:g} s",
                file=url,
                field="GIS_DOWNLOAD_DEADLINE_S",
                fix="retry later or raise GIS_DOWNLOAD_DEADLINE_S; " + OFFLINE_FIX,
            )
        batch, more = _query_page(url, where=where, offset=offset, page=page, stall_s=bounds.stall_s)
        ids = [_feature_id(f) for f in batch]
        if any(i is not None and i in seen for i in ids):
            raise GisError(
                f"the feature service sent features again at offset {offset}",
                file=url,
                fix="the service seems to ignore resultOffset (no paging support); use a mirror or "
                "--data-dir copy of the layer",
            )
        seen.update(i for i in ids if i is not None)
        features.extend(batch)
        if not batch or (len(batch) < page and not more):
            break
        offset += len(batch)
    else:
        raise GisError(f"the feature service returned more than {max_pages} pages", file=url)
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return dest


def _feature_id(feature: object) -> object:
    """The feature's ``id`` or ``OBJECTID`` property; None when it has neither."""
    if not isinstance(feature, dict):
        return None
    fid = feature.get("id")
    if fid is None:
        fid = (feature.get("properties") or {}).get("OBJECTID")
    return fid
