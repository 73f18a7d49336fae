"""Shared fixtures: the real data directory, a local HTTP mirror, an isolated download cache."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gis.config.settings import require_real_data

# helper scripts and fixture builders, not tests: --doctest-modules (pyproject) must not import them
# (tests/qgis runs under the system Python with PyQGIS)
collect_ignore_glob = ["fixtures/*", "qgis/*"]

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def real_data_path() -> Path | None:
    """``$GIS_DATA_DIR`` or ``../shared/data`` beside the repository, if it exists."""
    env = os.environ.get("GIS_DATA_DIR")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate.resolve()
    return None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real public data; skips (or fails under GIS_REQUIRE_DATA=1) when absent."""
    path = real_data_path()
    if path is None:
        reason = (
            "real data absent: set GIS_DATA_DIR to a copy of the public data (or put it in ../shared/data)"
        )
        if require_real_data():
            pytest.fail(reason + " — GIS_REQUIRE_DATA=1 makes this a failure")
        pytest.skip(reason)
    return path


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own download cache and no mirror from the user's environment."""
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GIS_DATA_MIRROR", raising=False)


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single-range ``Range: bytes=N-`` support (for resume tests) and a request log."""

    requests_seen: list[tuple[str, str | None]]

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.requests_seen.append((self.path, self.headers.get("Range")))
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if rng and path.is_file():
            m = re.fullmatch(r"bytes=(\d+)-", rng)
            size = path.stat().st_size
            start = int(m.group(1)) if m else 0
            if start >= size:
                self.send_response(416)
                self.end_headers()
                return
            data = path.read_bytes()[start:]
            self.send_response(206)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()


class QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-transfer (as the download limits make ours do) is not a server
    error: no traceback on stderr, where the tests read the command's own messages."""

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LocalServer:
    """A static HTTP server on 127.0.0.1 serving ``root``; ``url`` is its base URL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str | None]] = []
        handler = type("H", (RangeHandler,), {"requests_seen": self.requests})
        self.httpd = QuietServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve_dir() -> Iterator:
    """Factory: ``serve_dir(path)`` starts a local HTTP server over ``path`` for the test."""
    servers: list[LocalServer] = []

    def start(root: Path) -> LocalServer:
        server = LocalServer(Path(root)).__enter__()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.__exit__()


@pytest.fixture(scope="session")
def real_mirror(real_data_dir: Path) -> Iterator[LocalServer]:
    """The real data served on 127.0.0.1, as a user's HTTP mirror would."""
    with LocalServer(real_data_dir) as server:
        yield server


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, driven by Playwright (no browser download)."""


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the browser tests; skipped (or failed with GIS_REQUIRE_BROWSER=1) without it."""
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is absent (apt-get install chromium)"
        if os.environ.get("GIS_REQUIRE_BROWSER", "").strip() in {"1", "true", "yes"}:
            pytest.fail(reason + " — GIS_REQUIRE_BROWSER=1 makes this a failure")
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()
