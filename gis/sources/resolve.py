"""Resolving a catalogued file to a local path, whatever the data origin."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from gis.config.catalog import Source, SourceFile, load_catalog
from gis.config.settings import DataOrigin, cache_dir
from gis.errors import DataUnavailableError, GisError
from gis.sources.archive import check_compressed
from gis.sources.fetch import OFFLINE_FIX, download, sha256_of

__all__ = ["Fetched", "Resolver", "inside"]


def inside(base: Path, relative: str, *, field: str) -> Path:
    """``base / relative``, refused unless it stays inside ``base`` once resolved.

    Catalog entries (``path``, ``official_name``) are text anyone can edit through
    ``GIS_CATALOG_DIR``; a ``../`` or an absolute path must not make a download land elsewhere.
    """
    root = Path(base).resolve()
    target = (root / relative).resolve()
    if relative.startswith(("/", "\\")) or not target.is_relative_to(root) or target == root:
        raise GisError(
            f"the catalogued file name {relative!r} leads outside its folder {root}",
            field=field,
            file=relative,
            fix=f"give a plain relative file name in the layers/*.toml entry's '{field}'",
        )
    return target


Form = Literal["mirror", "official"]


@dataclass(frozen=True)
class Fetched:
    """A local copy of a catalogued file.

    ``form`` says which layout it has: ``"mirror"`` (as in a mirror / ``GIS_DATA_DIR``, e.g. the
    WRI US table) or ``"official"`` (as the publisher serves it, e.g. WRI's global zip).
    Readers must accept both.
    """

    path: Path
    form: Form
    source: Source
    file: SourceFile


@dataclass
class Resolver:
    """Turns (source, file key) into a local :class:`Fetched`, downloading when needed.

    Parameters
    ----------
    origin
        where files come from (:func:`gis.config.settings.data_origin`).
    cache
        the download cache (default :func:`gis.config.settings.cache_dir`).
    catalog
        catalog entries by name (default: the packaged ``layers/``).
    progress
        show a progress bar per download.
    """

    origin: DataOrigin
    cache: Path | None = None
    catalog: dict[str, Source] | None = None
    progress: bool = True
    warnings: list[str] = field(default_factory=list)
    _seen: dict[tuple[str, str], Fetched | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.origin.data_dir is not None and not self.origin.data_dir.is_dir():
            raise GisError(
                "the data directory does not exist",
                file=self.origin.data_dir,
                fix="pass an existing folder with --data-dir (or GIS_DATA_DIR)",
            )
        if self.catalog is None:
            self.catalog = load_catalog()
        if self.cache is None:
            self.cache = cache_dir()

    def source(self, name: str) -> Source:
        """The catalog entry ``name``."""
        assert self.catalog is not None
        if name not in self.catalog:
            raise GisError(f"no catalog entry named '{name}'", fix=f"add layers/{name}.toml")
        return self.catalog[name]

    def get(self, source_name: str, key: str) -> Fetched | None:
        """The local copy of one file; None only for an optional file that is not available."""
        memo = (source_name, key)
        if memo not in self._seen:
            source = self.source(source_name)
            self._seen[memo] = self._resolve(source, source.file(key))
        return self._seen[memo]

    def require(self, source_name: str, key: str) -> Fetched:
        """Like :meth:`get`, but an unavailable file is an error even when optional."""
        got = self.get(source_name, key)
        if got is None:
            src = self.source(source_name)
            raise GisError(
                "the source file is not available",
                file=src.file(key).path,
                fix=f"add it to the data directory or mirror ({src.homepage})",
            )
        return got

    def _resolve(self, source: Source, file: SourceFile) -> Fetched | None:
        if self.origin.kind == "dir":
            got = self._from_dir(source, file)
        elif self.origin.kind == "mirror":
            got = self._from_mirror(source, file)
        else:
            got = self._from_official(source, file)
        if got is not None:
            check_compressed(got.path)
        return got

    def _from_dir(self, source: Source, file: SourceFile) -> Fetched | None:
        assert self.origin.data_dir is not None
        if not self.origin.data_dir.is_dir():
            raise GisError(
                "the data directory does not exist",
                file=self.origin.data_dir,
                fix="pass an existing folder with --data-dir (or GIS_DATA_DIR)",
            )
        path = inside(self.origin.data_dir, file.path, field="path")
        if not path.is_file():
            if file.optional:
                self.warnings.append(f"{source.name}: optional file {file.path} not in the data directory")
                return None
            raise GisError(
                f"the data directory lacks the {source.title} file",
                file=path,
                fix=f"download it from {file.url or source.homepage} into {path}, or use --mirror",
            )
        if file.sha256 and sha256_of(path) != file.sha256:
            self.warnings.append(
                f"{source.name}: {file.path} differs from the catalogued version (sha256); read as found"
            )
        return Fetched(path, "mirror", source, file)

    def _from_mirror(self, source: Source, file: SourceFile) -> Fetched | None:
        assert self.origin.mirror is not None and self.cache is not None
        url = f"{self.origin.mirror}/{file.path}"
        slug = hashlib.sha1(self.origin.mirror.encode()).hexdigest()[:10]
        dest = inside(self.cache / f"mirror-{slug}", file.path, field="path")
        try:
            path = download(
                url,
                dest,
                known_hash=file.sha256,
                progress=self.progress,
                label=file.path,
                size_bytes=file.size_bytes,
            )
        except GisError as exc:
            if file.optional and "HTTP 404" in exc.problem:
                self.warnings.append(f"{source.name}: optional file {file.path} not on the mirror")
                return None
            raise
        return Fetched(path, "mirror", source, file)

    def _from_official(self, source: Source, file: SourceFile) -> Fetched | None:
        assert self.cache is not None
        if not file.url:
            if file.optional:
                self.warnings.append(f"{source.name}: {file.path} has no official download; skipped")
                return None
            raise DataUnavailableError(
                f"{source.title} has no direct download URL", file=file.path, fix=OFFLINE_FIX
            )
        name = file.official_name or Path(urlparse(file.url).path).name or file.key
        dest = inside(self.cache / "official", f"{source.name}/{name}", field="official_name")
        if file.protocol == "arcgis":
            from gis.sources.arcgis import fetch_featureserver

            if not dest.exists():
                fetch_featureserver(file.url, dest)
            return Fetched(dest, "official", source, file)
        try:
            path = download(file.url, dest, known_hash=file.url_sha256, progress=self.progress, label=name)
        except GisError as exc:
            if file.optional and not isinstance(exc, DataUnavailableError):
                self.warnings.append(f"{source.name}: optional download failed: {exc.problem}")
                return None
            raise
        return Fetched(path, "official", source, file)
