"""A mirror on 127.0.0.1 that misbehaves: every failure is a user error, bounded, with no partial file.

The server trickles, inflates a gzip body, sends endless data, cuts the body short, redirects
in a loop; the bounds come from the environment (a 2 s deadline, a 1 s stall timeout), so each
case ends within seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gis.config.catalog import SourceFile
from gis.errors import DataUnavailableError, GisError
from gis.sources.archive import check_compressed, keep_inflated, open_member, read_gzip
from gis.sources.fetch import LimitExceeded, download
from gis.sources.resolve import inside

BODY = b"name,capacity_mw\nA,1.5\nB,2.5\n"
_real_decompressobj = zlib.decompressobj
BOMB = gzip.compress(b"0" * (16 << 20), compresslevel=9)  # 16 MiB of zeros in ~16 kB


class Misbehaving(BaseHTTPRequestHandler):
    """One path per fault."""

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        path = self.path
        try:
            if path == "/ok.csv":
                self._send(BODY)
            elif path == "/trickle.csv":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.3)
            elif path == "/stall.csv":
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(5)
            elif path == "/bomb.csv":
                body = BOMB
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif path == "/gzip-ok.csv":
                body = gzip.compress(BODY)
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif path == "/endless.csv":
                self.send_response(200)
                self.end_headers()
                block = b"y" * 65536
                for _ in range(2000):  # 128 MiB at most, if the client never stops
                    self.wfile.write(block)
            elif path == "/cut.csv":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"z" * 100)
                self.wfile.flush()
                self.close_connection = True
            elif path == "/loop.csv":
                self.send_response(302)
                self.send_header("Location", "/loop.csv")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def bad_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIS_DOWNLOAD_DEADLINE_S", "2")
    monkeypatch.setenv("GIS_DOWNLOAD_STALL_S", "1")


def _no_leftovers(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".part") or "tmp" in p.name.lower()]


def test_a_plain_download_works(bad_server: str, tmp_path: Path) -> None:
    got = download(f"{bad_server}/ok.csv", tmp_path / "ok.csv", progress=False, size_bytes=len(BODY))
    assert got.read_bytes() == BODY


def test_a_gzip_encoded_body_is_decoded(bad_server: str, tmp_path: Path) -> None:
    sha = hashlib.sha256(BODY).hexdigest()
    got = download(f"{bad_server}/gzip-ok.csv", tmp_path / "g.csv", known_hash=sha, progress=False)
    assert got.read_bytes() == BODY


def test_a_trickling_mirror_hits_the_overall_deadline(bad_server: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    with pytest.raises(LimitExceeded, match="deadline of 2 s") as err:
        download(f"{bad_server}/trickle.csv", tmp_path / "t.csv", progress=False)
    assert time.monotonic() - t0 < 10
    assert "trickle.csv" in err.value.message and "GIS_DOWNLOAD_DEADLINE_S" in err.value.message
    _no_leftovers(tmp_path)
    assert not (tmp_path / "t.csv").exists()


def test_a_stalled_mirror_hits_the_stall_timeout(bad_server: str, tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="stalled") as err:
        download(f"{bad_server}/stall.csv", tmp_path / "s.csv", progress=False)
    assert "stall.csv" in err.value.message and "Fix:" in err.value.message


def test_a_gzip_bomb_is_stopped_at_the_catalogued_size(bad_server: str, tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded, match="larger than its limit") as err:
        download(f"{bad_server}/bomb.csv", tmp_path / "b.csv", progress=False, size_bytes=7759)
    assert "size_bytes" in err.value.message
    _no_leftovers(tmp_path)
    assert not (tmp_path / "b.csv").exists()


def test_an_endless_body_is_stopped_by_the_cap(
    bad_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIS_MAX_DOWNLOAD_MB", "2")
    with pytest.raises(LimitExceeded, match="2,097,152 bytes"):
        download(f"{bad_server}/endless.csv", tmp_path / "e.csv", progress=False)
    _no_leftovers(tmp_path)


def test_a_declared_length_over_the_cap_is_refused_before_reading(bad_server: str, tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded):
        download(f"{bad_server}/trickle.csv", tmp_path / "c.csv", progress=False, size_bytes=10)


def test_a_body_cut_short_is_a_user_error(bad_server: str, tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="cut short") as err:
        download(f"{bad_server}/cut.csv", tmp_path / "cut.csv", progress=False)
    assert "cut.csv" in err.value.message and "resumes" in err.value.message
    assert not (tmp_path / "cut.csv").exists()


def test_a_redirect_loop_is_a_user_error(bad_server: str, tmp_path: Path) -> None:
    with pytest.raises(GisError, match="redirects in a loop"):
        download(f"{bad_server}/loop.csv", tmp_path / "l.csv", progress=False)


def test_an_unsupported_scheme_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(GisError, match="http:// or https://"):
        download("ftp://127.0.0.1/x.csv", tmp_path / "x.csv", progress=False)


def test_an_unreachable_host_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="cannot reach"):
        download("http://127.0.0.1:9/x.csv", tmp_path / "x.csv", progress=False)


def test_a_cache_folder_that_cannot_be_created_is_a_user_error(bad_server: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GisError, match="GIS_CACHE_DIR"):
        download(f"{bad_server}/ok.csv", blocker / "sub" / "ok.csv", progress=False)


@pytest.mark.parametrize("name", ["../../pwned.csv", "/tmp/pwned.csv", "a/../../b.csv", ".."])
def test_catalogued_names_cannot_leave_their_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(GisError, match="leads outside") as err:
        inside(tmp_path / "cache", name, field="official_name")
    assert "official_name" in err.value.message


def test_a_plain_catalogued_name_stays_put(tmp_path: Path) -> None:
    assert inside(tmp_path, "src/a.csv", field="path") == (tmp_path / "src" / "a.csv").resolve()
    assert SourceFile  # the catalog model the names come from


def test_a_zip_member_inflating_beyond_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIS_MAX_INFLATE_MB", "1")
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.csv", b"0" * (2 << 20))
    with pytest.raises(GisError, match="decompression bomb") as err, open_member(archive, "data.csv"):
        pass
    assert "bomb.zip!data.csv" in err.value.message and "GIS_MAX_INFLATE_MB" in err.value.message


def test_an_xlsx_with_a_huge_sheet_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIS_MAX_INFLATE_MB", "1")
    book = tmp_path / "plants.xlsx"
    with zipfile.ZipFile(book, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<row/>" * 400_000)
    with pytest.raises(GisError, match=r"sheet1\.xml"):
        check_compressed(book)


def _gzip_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``rows.csv.gz``: 3 MB of zeros deflated, with the inflation limit at 1 MB."""
    monkeypatch.setenv("GIS_MAX_INFLATE_MB", "1")
    path = tmp_path / "rows.csv.gz"
    path.write_bytes(gzip.compress(b"0" * (3 << 20)))
    return path


def test_a_gzip_file_inflating_beyond_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _gzip_bomb(tmp_path, monkeypatch)
    with pytest.raises(GisError, match=r"rows\.csv\.gz"):
        check_compressed(path)
    small = tmp_path / "small.csv.gz"
    small.write_bytes(gzip.compress(BODY))
    check_compressed(small)  # passes


def test_a_gzip_file_is_inflated_once_for_its_check_and_its_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rows.csv.gz"
    path.write_bytes(gzip.compress(BODY))
    inflations = []
    monkeypatch.setattr(zlib, "decompressobj", lambda *a: inflations.append(a) or _real_decompressobj(*a))
    with keep_inflated():
        check_compressed(path)
        assert read_gzip(path) == BODY and len(inflations) == 1  # the checked content, handed over
        assert read_gzip(path) == BODY and len(inflations) == 2  # once only: then inflated again
        check_compressed(path)
        path.write_bytes(gzip.compress(BODY + b"more"))  # changed since its check: not the kept bytes
        assert read_gzip(path) == BODY + b"more"
        check_compressed(path)
    assert read_gzip(path) == BODY + b"more" and len(inflations) == 6  # nothing kept outside the block
    check_compressed(path)
    assert read_gzip(path) == BODY + b"more" and len(inflations) == 8


def test_read_gzip_refuses_a_bomb_and_leaves_odd_files_to_their_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = _gzip_bomb(tmp_path, monkeypatch)
    with pytest.raises(GisError, match=r"rows\.csv\.gz"):
        read_gzip(bomb)
    plain = tmp_path / "plain.csv.gz"
    plain.write_bytes(BODY)  # named .gz, not gzip
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(BODY)[:-12])
    two = tmp_path / "two.csv.gz"
    two.write_bytes(gzip.compress(BODY) + gzip.compress(BODY))  # two members: gzip reads both
    for path in (plain, truncated, two, tmp_path / "absent.gz"):
        check_compressed(path)
        assert read_gzip(path) is None
