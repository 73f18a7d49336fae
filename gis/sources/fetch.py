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
from pathlib import Path
from urllib.parse import urlparse

import pooch
import requests

from gis.errors import DataUnavailableError, GisError

CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 120
CHUNK = 1 << 20

pooch.get_logger().setLevel(logging.WARNING)

OFFLINE_FIX = (
    "point the tool at local files with --data-dir DIR (or GIS_DATA_DIR), laid out like the public "
    "data mirror (e.g. gppd_usa/database_USA.csv), or at a mirror with --mirror URL (or GIS_DATA_MIRROR)"
)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


class ResumableDownloader:
    """A pooch downloader that resumes an interrupted transfer from ``<dest>.part``."""

    def __init__(self, part: Path, *, progress: bool = True, label: str = "") -> None:
        self.part = part
        self.progress = progress
        self.label = label

    def __call__(
        self, url: str, output_file: str, pooch_obj: object = None, check_only: bool = False
    ) -> None:
        self.part.parent.mkdir(parents=True, exist_ok=True)
        offset = self.part.stat().st_size if self.part.exists() else 0
        headers = {"User-Agent": "gis-btc-sites (public-data site selection)"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            resp = requests.get(
                url, headers=headers, stream=True, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
            )
        except requests.exceptions.ConnectionError as exc:
            host = urlparse(url).netloc
            raise DataUnavailableError(
                f"cannot reach {host} to download {url} (no network?)", file=url, fix=OFFLINE_FIX
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise DataUnavailableError(f"the download of {url} timed out", file=url, fix=OFFLINE_FIX) from exc
        with resp:
            if resp.status_code == 416:  # the part is already whole
                resp.close()
            elif resp.status_code >= 400:
                raise GisError(
                    f"the server answered HTTP {resp.status_code} for {url}",
                    file=url,
                    fix="check the URL in the layer catalog, or use --data-dir / --mirror",
                )
            else:
                mode = "ab" if (offset and resp.status_code == 206) else "wb"
                if mode == "wb":
                    offset = 0
                length = resp.headers.get("Content-Length")
                total = offset + int(length) if length and length.isdigit() else None
                self._stream(resp, mode, offset, total)
        os.replace(self.part, output_file)

    def _stream(self, resp: requests.Response, mode: str, offset: int, total: int | None) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        with open(self.part, mode) as fh:
            if not self.progress:
                for chunk in resp.iter_content(CHUNK):
                    fh.write(chunk)
                return
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
            with Progress(*columns, transient=True) as bar:
                task = bar.add_task(
                    self.label or Path(urlparse(resp.url).path).name, total=total, completed=offset
                )
                for chunk in resp.iter_content(CHUNK):
                    fh.write(chunk)
                    bar.advance(task, len(chunk))


def download(
    url: str, dest: Path, *, known_hash: str | None = None, progress: bool = True, label: str = ""
) -> Path:
    """Download ``url`` to ``dest`` (cached) and return ``dest``.

    With ``known_hash`` (sha256 hex) a cached or downloaded file must match it: a mismatch is
    downloaded once more, then refused. Without it the first download's hash is kept beside the
    file (``<dest>.sha256``) and checked on every later use, so a corrupted cache is caught.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sidecar = dest.with_name(dest.name + ".sha256")
    if known_hash is None and dest.exists() and sidecar.exists():
        if sha256_of(dest) == sidecar.read_text().strip():
            return dest
        dest.unlink()
    part = dest.with_name(dest.name + ".part")
    downloader = ResumableDownloader(part, progress=progress, label=label)
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
    got = Path(got)
    if known_hash is None:
        sidecar.write_text(sha256_of(got) + "\n")
    return got
