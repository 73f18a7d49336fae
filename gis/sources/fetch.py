"""Downloads: cached, resumable, atomic and hash-checked, with a progress bar per file.

:func:`download` wraps :func:`pooch.retrieve` (hash check, atomic move into the cache) with a
downloader that keeps a ``.part`` file and resumes it with an HTTP ``Range`` request when a
transfer was cut off. Connection errors fail fast (10 s connect timeout) with a message that
says how to use local files instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from gis.config.settings import Limits, limits
from gis.errors import DataUnavailableError, GisError

if TYPE_CHECKING:
    import requests

# pooch, requests and urllib3 (~80 ms to import, with charset_normalizer) are imported when a
# transfer is made: a run on local files or cached layers never makes one

__all__ = [
    "LimitExceeded",
    "ResumableDownloader",
    "download",
    "network_error",
    "sha256_of",
    "transfer_error",
]

CONNECT_TIMEOUT_S = 10

CHUNK = 1 << 20

OFFLINE_FIX = (
    "point the tool at local files with --data-dir DIR (or GIS_DATA_DIR), laid out like the public "
    "data mirror (e.g. gppd_usa/database_USA.csv), or at a mirror with --mirror URL (or GIS_DATA_MIRROR)"
)
RETRY_FIX = "rerun later (the download resumes where it stopped), or " + OFFLINE_FIX
CACHE_FIX = "free space on that disk, or point GIS_CACHE_DIR at a writable folder with room"


class LimitExceeded(GisError):
    """A download or decompression went beyond its bound (deadline, stall, size)."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def transfer_error(exc: BaseException) -> GisError | None:
    """The user error for an exception raised by requests/urllib3 anywhere in a run, or None."""
    module = type(exc).__module__ or ""
    if not module.startswith(("requests", "urllib3")):
        return None
    url = getattr(getattr(exc, "request", None), "url", None) or ""
    return network_error(exc, url, limits().stall_s)


def network_error(exc: BaseException, url: str, stall_s: float) -> GisError:
    """A user error for any failure of an HTTP transfer (no network, loop, cut short, bad URL)."""
    import requests
    import urllib3

    host = urlparse(url).netloc or url
    rq = requests.exceptions
    if isinstance(exc, rq.TooManyRedirects):
        return GisError(
            "the server redirects in a loop (more than 30 redirects)",
            file=url,
            fix="check the URL in the layer catalog or --mirror; " + OFFLINE_FIX,
        )
    if isinstance(exc, (rq.InvalidSchema, rq.MissingSchema, rq.InvalidURL, rq.URLRequired)):
        return GisError(
            f"the URL cannot be downloaded ({exc})",
            file=url,
            fix="give an http:// or https:// URL (--mirror, GIS_DATA_MIRROR or the layer catalog)",
        )
    if isinstance(exc, (rq.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
        return DataUnavailableError(
            f"{host} sent nothing for {stall_s:g} s (stalled; GIS_DOWNLOAD_STALL_S)", file=url, fix=RETRY_FIX
        )
    if isinstance(exc, rq.ConnectionError) and not isinstance(exc, rq.ChunkedEncodingError):
        return DataUnavailableError(
            f"cannot reach {host} to download {url} (no network?)", file=url, fix=OFFLINE_FIX
        )
    return DataUnavailableError(
        f"the transfer from {host} was cut short ({type(exc).__name__})", file=url, fix=RETRY_FIX
    )


class _Inflater:
    """Decodes an HTTP ``Content-Encoding`` (gzip, deflate) in bounded steps."""

    def __init__(self, encoding: str, url: str) -> None:
        self.url = url
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self.zobj = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self.zobj = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        else:
            raise GisError(
                f"the server sent the file with an unsupported content encoding {encoding!r}",
                file=url,
                fix="use a mirror that serves plain files, or --data-dir",
            )

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.zobj is None:
            yield data
            return
        while data:
            try:
                out = self.zobj.decompress(data, CHUNK)
            except zlib.error as exc:
                raise DataUnavailableError(
                    f"the server sent a damaged compressed body ({exc})", file=self.url, fix=RETRY_FIX
                ) from exc
            yield out
            data = self.zobj.unconsumed_tail


class ResumableDownloader:
    """A pooch downloader that resumes an interrupted transfer from ``<dest>.part``.

    Bounded: the whole transfer must end within ``limits.deadline_s``, no read may wait longer than
    ``limits.stall_s``, and at most ``max_bytes`` (after any HTTP content decoding, which is done
    here in bounded steps) are written. Exceeding a bound deletes the ``.part`` file and raises
    :class:`LimitExceeded`; a transfer cut short keeps it, to resume.
    """

    def __init__(
        self,
        part: Path,
        *,
        progress: bool = True,
        label: str = "",
        max_bytes: int | None = None,
        bounds: Limits | None = None,
    ) -> None:
        self.part = part
        self.progress = progress
        self.label = label
        self.bounds = bounds or limits()
        self.max_bytes = max_bytes or self.bounds.max_download_bytes

    def __call__(
        self, url: str, output_file: str, pooch_obj: object = None, check_only: bool = False
    ) -> None:
        import requests
        import urllib3

        try:
            self._fetch(url)
        except LimitExceeded:
            self.part.unlink(missing_ok=True)
            raise
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise network_error(exc, url, self.bounds.stall_s) from exc
        os.replace(self.part, output_file)

    def _fetch(self, url: str) -> None:
        import requests

        started = time.monotonic()
        offset = self.part.stat().st_size if self.part.exists() else 0
        headers = {"User-Agent": "gis-btc-sites (public-data site selection)", "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        timeout = (min(CONNECT_TIMEOUT_S, self.bounds.stall_s), self.bounds.stall_s)
        resp = requests.get(url, headers=headers, stream=True, timeout=timeout)
        with resp:
            if resp.status_code == 416:  # the part is already whole
                return
            if resp.status_code >= 400:
                raise GisError(
                    f"the server answered HTTP {resp.status_code} for {url}",
                    file=url,
                    fix="check the URL in the layer catalog, or use --data-dir / --mirror",
                )
            encoding = resp.headers.get("Content-Encoding", "")
            inflater = _Inflater(encoding, url)
            if not (offset and resp.status_code == 206) or inflater.zobj is not None:
                offset = 0
            length = resp.headers.get("Content-Length", "")
            expected = int(length) if length.isdigit() and inflater.zobj is None else None
            if expected is not None and offset + expected > self.max_bytes:
                raise self._too_big(url, offset + expected)
            total = offset + expected if expected is not None else None
            self._stream(resp, url, inflater, offset, total, started)

    def _too_big(self, url: str, got: int) -> LimitExceeded:
        return LimitExceeded(
            f"the download is larger than its limit of {self.max_bytes:,} bytes ({got:,} bytes or more)",
            file=url,
            field="size_bytes",
            fix="check the mirror or URL serves the catalogued file; if the publisher's file grew, update "
            "size_bytes in its layers/*.toml entry (or raise GIS_MAX_DOWNLOAD_MB)",
        )

    def _stream(
        self,
        resp: requests.Response,
        url: str,
        inflater: _Inflater,
        offset: int,
        total: int | None,
        started: float,
    ) -> None:
        deadline = started + self.bounds.deadline_s
        written = offset
        bar = None
        if self.progress:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                transient=True,
            )
            task = bar.add_task(self.label or Path(urlparse(url).path).name, total=total, completed=offset)
            bar.start()
        try:
            with open(self.part, "ab" if offset else "wb") as fh:
                while True:
                    raw = resp.raw.read1(CHUNK, decode_content=False)
                    if not raw:
                        break
                    for block in inflater.feed(raw):
                        written += len(block)
                        if written > self.max_bytes:
                            raise self._too_big(url, written)
                        fh.write(block)
                        if bar is not None:
                            bar.advance(task, len(block))
                    if time.monotonic() > deadline:
                        raise LimitExceeded(
                            f"the download did not finish within its deadline of {self.bounds.deadline_s:g} s "
                            f"({written:,} bytes received)",
                            file=url,
                            field="GIS_DOWNLOAD_DEADLINE_S",
                            fix="retry on a faster connection or raise GIS_DOWNLOAD_DEADLINE_S; "
                            + OFFLINE_FIX,
                        )
        finally:
            if bar is not None:
                bar.stop()
        if total is not None and written < total:
            raise DataUnavailableError(
                f"the transfer was cut short ({written:,} of {total:,} bytes)", file=url, fix=RETRY_FIX
            )


def _make_cache_folder(folder: Path) -> None:
    """Create the download cache folder, refusing with the folder named."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GisError(
            f"cannot create the download cache folder ({exc.strerror})", file=folder, fix=CACHE_FIX
        ) from exc


def _retrieve(
    url: str, dest: Path, known_hash: str | None, downloader: ResumableDownloader, part: Path
) -> Path:
    """``pooch.retrieve`` of ``url`` into ``dest``: a sha256 mismatch is downloaded once more, then refused."""
    import pooch

    pooch.get_logger().setLevel(logging.WARNING)
    spec = f"sha256:{known_hash}" if known_hash else None
    for attempt in (1, 2):
        try:
            got = pooch.retrieve(
                url, spec, fname=dest.name, path=dest.parent, downloader=downloader, progressbar=False
            )
            break
        except ValueError as exc:
            if "hash" not in str(exc).lower():
                raise
            part.unlink(missing_ok=True)
            if attempt == 2:
                raise GisError(
                    "the downloaded file does not match its catalogued sha256 (corrupted or changed at the source)",
                    file=url,
                    field="sha256",
                    fix="retry later; if the publisher changed the file on purpose, update sha256 in its layers/*.toml entry",
                ) from exc
        except OSError as exc:  # disk full, folder made read-only meanwhile
            part.unlink(missing_ok=True)
            raise GisError(
                f"cannot write the download ({exc.strerror or exc})", file=dest, fix=CACHE_FIX
            ) from exc
    return Path(got)


def _write_sidecar(sidecar: Path, got: Path) -> None:
    """Keep the first download's sha256 beside it (``<dest>.sha256``)."""
    try:
        sidecar.write_text(sha256_of(got) + "\n")
    except OSError as exc:
        raise GisError(
            f"cannot write to the download cache ({exc.strerror})", file=sidecar, fix=CACHE_FIX
        ) from exc


def download(
    url: str,
    dest: Path,
    *,
    known_hash: str | None = None,
    progress: bool = True,
    label: str = "",
    size_bytes: int | None = None,
) -> Path:
    """Download ``url`` to ``dest`` (cached) and return ``dest``.

    With ``known_hash`` (sha256 hex) a cached or downloaded file must match it: a mismatch is
    downloaded once more, then refused. Without it the first download's hash is kept beside the
    file (``<dest>.sha256``) and checked on every later use, so a corrupted cache is caught.
    ``size_bytes`` (the catalogued size) bounds the download (:meth:`gis.config.settings.Limits.download_cap`);
    every failure -- network, bound, disk -- is a :class:`~gis.errors.GisError` naming the URL or file.
    """
    dest = Path(dest)
    bounds = limits()
    _make_cache_folder(dest.parent)
    sidecar = dest.with_name(dest.name + ".sha256")
    if known_hash is None and dest.exists() and sidecar.exists():
        if sha256_of(dest) == sidecar.read_text().strip():
            return dest
        dest.unlink()
    part = dest.with_name(dest.name + ".part")
    downloader = ResumableDownloader(
        part, progress=progress, label=label, max_bytes=bounds.download_cap(size_bytes), bounds=bounds
    )
    got = _retrieve(url, dest, known_hash, downloader, part)
    if known_hash is None:
        _write_sidecar(sidecar, got)
    return got
