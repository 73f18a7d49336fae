"""Paging an ArcGIS FeatureServer layer (gis.sources.arcgis) against a local server on 127.0.0.1.

The fake service answers ``/FeatureServer/0/query`` like ArcGIS does: at most ``max_records``
features a request from ``resultOffset``, ``exceededTransferLimit`` while more remain, errors as
HTTP statuses or as a JSON ``error`` member with status 200.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from gis.errors import GisError
from gis.sources.arcgis import fetch_featureserver

Answer = Callable[[int, int, int], tuple[int, dict] | None]
"""(request number, offset, count) -> (status, body) to answer instead, or None for the page."""


def feature(oid: int) -> dict:
    lon, lat = -97.0 + oid / 100.0, 37.0 + oid / 200.0
    return {
        "type": "Feature",
        "id": oid,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"OBJECTID": oid, "NAME": f"station {oid}"},
    }


class FeatureService:
    """One layer of ``total`` point features, served ``max_records`` at a time."""

    def __init__(self, total: int, *, max_records: int, answer: Answer | None = None) -> None:
        self.features = [feature(oid) for oid in range(1, total + 1)]
        self.max_records = max_records
        self.answer = answer
        self.requests: list[dict[str, str]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path != "/arcgis/rest/services/Stations/FeatureServer/0/query":
                    self._send(404, {"error": {"code": 404, "message": "not found"}})
                    return
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                service.requests.append(params)
                offset = int(params.get("resultOffset", 0))
                count = min(int(params.get("resultRecordCount", service.max_records)), service.max_records)
                override = service.answer and service.answer(len(service.requests), offset, count)
                if override:
                    self._send(*override)
                    return
                page = service.features[offset : offset + count]
                body: dict = {"type": "FeatureCollection", "features": page}
                if offset + len(page) < len(service.features):
                    body["properties"] = {"exceededTransferLimit": True}  # where GeoJSON answers put it
                self._send(200, body)

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/geo+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{port}/arcgis/rest/services/Stations/FeatureServer/0"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def offsets(self) -> list[int]:
        return [int(p["resultOffset"]) for p in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def service() -> Iterator[Callable[..., FeatureService]]:
    started: list[FeatureService] = []

    def start(total: int, *, max_records: int, answer: Answer | None = None) -> FeatureService:
        started.append(FeatureService(total, max_records=max_records, answer=answer))
        return started[-1]

    yield start
    for s in started:
        s.close()


def read_ids(path: Path) -> list[int]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    return [f["properties"]["OBJECTID"] for f in data["features"]]


def test_every_page_fetched_in_order_without_duplicates(service, tmp_path: Path) -> None:
    server = service(11, max_records=4)
    dest = tmp_path / "stations.geojson"
    assert fetch_featureserver(server.url, dest, page=4) == dest
    assert read_ids(dest) == list(range(1, 12))  # every feature once, in service order
    assert server.offsets() == [0, 4, 8]
    for params in server.requests:
        assert params["resultRecordCount"] == "4"
        assert (params["f"], params["outSR"], params["outFields"], params["where"]) == (
            "geojson",
            "4326",
            "*",
            "1=1",
        )
        assert params["orderByFields"] == "OBJECTID"  # a stable order, so pages neither overlap nor skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stations.geojson"]


def test_a_service_capping_pages_below_the_request_is_followed(service, tmp_path: Path) -> None:
    """maxRecordCount 3 while 5 are asked for: the offset moves by what came back, not by the page size."""
    server = service(10, max_records=3)
    dest = fetch_featureserver(server.url, tmp_path / "stations.geojson", page=5)
    assert read_ids(dest) == list(range(1, 11))
    assert server.offsets() == [0, 3, 6, 9]


def test_a_count_that_is_a_multiple_of_the_page_ends_on_an_empty_page(service, tmp_path: Path) -> None:
    server = service(8, max_records=4)
    dest = fetch_featureserver(server.url, tmp_path / "stations.geojson", page=4)
    assert read_ids(dest) == list(range(1, 9))
    assert server.offsets() == [0, 4, 8]  # a full page may hide more: one more request, empty, ends it


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (500, {"error": "boom"}, "HTTP 500"),
        (200, {"error": {"code": 400, "message": "Invalid query parameters"}}, "reported an error"),
        (
            200,
            {"type": "FeatureCollection", "features": [], "properties": {"exceededTransferLimit": True}},
            "no features",
        ),
    ],
    ids=["http-500", "json-error", "empty-page-claiming-more"],
)
def test_an_error_mid_way_is_clear_and_writes_nothing(
    service, tmp_path: Path, status: int, body: dict, words: str
) -> None:
    server = service(12, max_records=4, answer=lambda n, offset, count: (status, body) if n == 2 else None)
    dest = tmp_path / "stations.geojson"
    with pytest.raises(GisError) as err:
        fetch_featureserver(server.url, dest, page=4)
    assert words in err.value.message
    assert err.value.file == server.url
    assert server.offsets() == [0, 4]  # stopped at the failing page
    assert list(tmp_path.iterdir()) == []  # no file, no temporary file: nothing half-written


def test_an_error_mid_way_keeps_the_previous_download(service, tmp_path: Path) -> None:
    dest = tmp_path / "stations.geojson"
    dest.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    before = dest.read_bytes()
    server = service(9, max_records=3, answer=lambda n, offset, count: (503, {}) if n == 3 else None)
    with pytest.raises(GisError):
        fetch_featureserver(server.url, dest, page=3)
    assert dest.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stations.geojson"]


def test_a_service_ignoring_the_offset_is_refused_not_duplicated(service, tmp_path: Path) -> None:
    """An old server that ignores resultOffset sends page one again: refused at once, not 500 times."""
    server = service(10, max_records=4)
    server.answer = lambda n, offset, count: (
        200,
        {
            "type": "FeatureCollection",
            "features": server.features[:4],
            "properties": {"exceededTransferLimit": True},
        },
    )
    dest = tmp_path / "stations.geojson"
    with pytest.raises(GisError) as err:
        fetch_featureserver(server.url, dest, page=4)
    assert "again" in err.value.message and "resultOffset" in (err.value.fix or "")
    assert len(server.requests) == 2
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_service_is_a_user_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(GisError):
        fetch_featureserver(f"http://127.0.0.1:{port}/x/FeatureServer/0", tmp_path / "s.geojson")
    assert list(tmp_path.iterdir()) == []
