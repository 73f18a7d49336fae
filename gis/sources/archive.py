"""Reading members of downloaded archives safely.

Official downloads are often zips (WRI's global GPPD, EIA-860, Census shapefiles). Members are
read in place; a member whose name would escape the archive (``../`` or an absolute path,
"zip-slip") is refused rather than trusted.
"""

from __future__ import annotations

import contextlib
import fnmatch
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from gis.config.settings import MAX_INFLATE_RATIO, limits
from gis.errors import GisError

__all__ = [
    "check_compressed",
    "extract_member",
    "find_member",
    "keep_inflated",
    "open_member",
    "read_gzip",
    "safe_members",
]

_BOMB_FLOOR = 64 << 20  # below this, any inflation ratio is harmless


def _refuse_inflation(where: str, inflated: int, packed: int, limit: int) -> GisError:
    return GisError(
        f"decompresses to {inflated:,} bytes or more from {packed:,} (limit {limit:,} bytes, or "
        f"{MAX_INFLATE_RATIO:g} times the packed size beyond {_BOMB_FLOOR >> 20} MiB): a decompression bomb "
        "or the wrong file",
        file=where,
        fix="get the file from the official source again; if it is genuine, raise GIS_MAX_INFLATE_MB",
    )


def _over(inflated: int, packed: int, limit: int) -> bool:
    return inflated > limit or (inflated > _BOMB_FLOOR and inflated > MAX_INFLATE_RATIO * max(packed, 1))


def check_compressed(path: Path) -> None:
    """Refuse a zip (or XLSX) member or a gzip file that would inflate beyond the bounds.

    A member may not exceed ``GIS_MAX_INFLATE_MB`` nor, beyond 64 MiB, inflate more than
    :data:`~gis.config.settings.MAX_INFLATE_RATIO` times. Zip members are judged by their declared
    sizes (Python's reader stops at the declared size and checks the CRC, so a lie fails there);
    a gzip file is inflated once, in bounded steps, up to the limit (its content is kept for its
    reader: :func:`read_gzip`). Other files pass.

    Raises
    ------
    GisError
        naming the file (and member) and the limit.
    """
    path = Path(path)
    bound = limits().max_inflate_bytes
    if not path.is_file():
        return
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if zipfile.is_zipfile(path):  # by content: a zip saved under a .gz name is still a zip
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError):
            return  # damaged: the reader's own message names it
        for info in infos:
            if _over(info.file_size, info.compress_size, bound):
                raise _refuse_inflation(f"{path}!{info.filename}", info.file_size, info.compress_size, bound)
    elif magic == b"\x1f\x8b":
        content = _inflate_checked(path, bound, want=bool(_keeping))
        if content is not None and _keeping:
            _keep(_stamp(path), content)


KEEP_INFLATED_BYTES = 64 << 20
"""Most bytes of checked gzip content kept for the reader (:func:`read_gzip`), all files together."""

_kept: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
_kept_lock = threading.Lock()
_keeping = 0  # how many keep_inflated() blocks are open


@contextlib.contextmanager
def keep_inflated() -> Iterator[None]:
    """Within this block, gzip content checked by :func:`check_compressed` is kept for
    :func:`read_gzip` (a layer build); on leaving it, what no reader took is dropped."""
    global _keeping
    with _kept_lock:
        _keeping += 1
    try:
        yield
    finally:
        with _kept_lock:
            _keeping -= 1
            if not _keeping:
                _kept.clear()


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def _inflate_checked(path: Path, bound: int, *, want: bool) -> bytes | None:
    """Inflate a gzip file in bounded steps, refusing it past the bounds (a decompression bomb).

    With ``want``, returns the content of a whole single-member file of at most
    :data:`KEEP_INFLATED_BYTES`; else, or for a damaged, truncated or multi-member file (its
    reader reads it from the file and names the problem), None.
    """
    packed = path.stat().st_size
    inflated = 0
    parts: list[bytes] | None = [] if want else None
    zobj = zlib.decompressobj(zlib.MAX_WBITS | 32)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            data = block
            while data:
                try:
                    chunk = zobj.decompress(data, 1 << 22)
                except zlib.error:
                    return None  # damaged: the reader's own message names it
                inflated += len(chunk)
                if _over(inflated, packed, bound):
                    raise _refuse_inflation(str(path), inflated, packed, bound)
                if parts is not None:
                    parts.append(chunk)
                    if inflated > KEEP_INFLATED_BYTES:
                        parts = None  # checked, too large to hold
                data = zobj.unconsumed_tail
            if zobj.eof:
                break
    if parts is None or not zobj.eof or zobj.unused_data:
        return None
    return b"".join(parts)


def _keep(key: tuple[str, int, int], content: bytes) -> None:
    with _kept_lock:
        if not _keeping:  # the block closed meanwhile: nothing is kept outside it
            return
        _kept.pop(key, None)
        _kept[key] = content
        total = sum(len(v) for v in _kept.values())
        while total > KEEP_INFLATED_BYTES and _kept:
            total -= len(_kept.popitem(last=False)[1])


def read_gzip(path: str | Path) -> bytes | None:
    """The inflated content of a gzip file, checked like :func:`check_compressed`, or None.

    The content :func:`check_compressed` kept for this file inside :func:`keep_inflated` (same
    path, size and modification time) is handed over once, so a file is inflated once for its
    check and its reading; otherwise it is inflated here, with the same bounds. None when the
    file is not gzip, is damaged, truncated or multi-member, or inflates beyond
    :data:`KEEP_INFLATED_BYTES`: read it from the file as before (which names any problem).

    Raises
    ------
    GisError
        when the file would inflate beyond the bounds.
    """
    path = Path(path)
    try:
        key = _stamp(path)
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except OSError:
        return None
    if magic != b"\x1f\x8b":
        return None
    with _kept_lock:
        content = _kept.pop(key, None)
    if content is not None:
        return content
    return _inflate_checked(path, limits().max_inflate_bytes, want=True)


def safe_members(archive: Path) -> list[str]:
    """Member names of a zip, refusing any that would escape the archive."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile as exc:
        raise GisError(
            "not a readable zip archive (truncated or corrupted download?)",
            file=archive,
            fix="delete the file from the cache and fetch again",
        ) from exc
    for name in names:
        p = PurePosixPath(name.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":"):
            raise GisError(
                f"the archive holds a member that escapes it: {name!r}",
                file=archive,
                field=name,
                fix="this archive is unsafe; get the file from the official source",
            )
    return names


def find_member(archive: Path, pattern: str) -> str:
    """The one member matching a glob ``pattern`` (case-insensitive)."""
    matches = [n for n in safe_members(archive) if fnmatch.fnmatch(n.lower(), pattern.lower())]
    if not matches:
        raise GisError(
            f"no member matching {pattern!r} in the archive",
            file=archive,
            fix="check the official download's layout against the catalog entry",
        )
    return sorted(matches, key=len)[0]


def extract_member(archive: Path, member: str, dest_dir: Path) -> Path:
    """Extract one (safe) member to ``dest_dir`` and return its path; reuses an earlier extract."""
    safe_members(archive)
    check_compressed(archive)
    target = dest_dir / PurePosixPath(member).name
    if target.exists() and target.stat().st_mtime >= archive.stat().st_mtime:
        return target
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(tmp, "wb") as out:
        while block := src.read(1 << 20):
            out.write(block)
    tmp.replace(target)
    return target


@contextlib.contextmanager
def open_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    """Open one (safe) member for reading.

    A damaged archive (bad local header, CRC mismatch, truncated data) is a GisError naming
    the archive and member, whether it shows when opening the member or while reading it.
    """
    safe_members(archive)
    check_compressed(archive)
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(member) as handle:
            yield handle
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise GisError(
            f"the archive member is damaged ({exc})",
            file=f"{archive}!{member}",
            fix="delete the file from the cache or data directory and fetch it again",
        ) from exc
