"""The declarative layer catalog: one TOML file per source dataset in ``layers/``.

Adding a source is adding a file. A catalog entry says where the data comes from (official URL
and the path of the same file in a mirror or local data directory), what it is (publisher,
licence, vintage), how to check it (sha256 where the file is stable) and how its columns map
onto the canonical schema (:mod:`gis.schema`).

Example ``layers/example.toml``::

    name = "example"
    title = "Example plants"
    publisher = "U.S. EIA"
    licence = "Public domain (US Government work)"
    attribution = "U.S. Energy Information Administration"
    vintage = "2023-11"
    homepage = "https://www.eia.gov/"
    feeds = ["plants"]

    [[files]]
    key = "table"                      # how the loader asks for it
    path = "example/plants.csv"        # layout of a mirror / GIS_DATA_DIR
    url = "https://example.gov/plants.csv"   # official download
    official_form = "same"             # or a note when the official file differs in form
    format = "csv"
    sha256 = "..."                     # of the mirror-layout file, where stable

    [columns]                          # canonical column = source column
    plant_id = "Plant_Code"
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gis.config.settings import catalog_dir
from gis.errors import GisError

__all__ = ["Source", "SourceFile", "get_source", "load_catalog", "load_source"]

Protocol = Literal["http", "arcgis"]


class SourceFile(BaseModel):
    """One file of a source, as found in a mirror/data directory and at its official URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="name the loader asks for")
    path: str = Field(description="relative path in a mirror or GIS_DATA_DIR")
    url: str | None = Field(default=None, description="official download URL (or service URL)")
    protocol: Protocol = Field(
        default="http", description="http: plain download; arcgis: paged FeatureServer query"
    )
    official_form: str = Field(default="same", description="'same', or how the official file differs in form")
    official_name: str | None = Field(
        default=None, description="file name to cache the official download under"
    )
    format: str = Field(description="csv, csv.gz, geojson, geojson.gz, json, xlsx, zip, txt.gz ...")
    sha256: str | None = Field(default=None, description="sha256 of the mirror-layout file, where stable")
    url_sha256: str | None = Field(default=None, description="sha256 of the official download, where stable")
    optional: bool = Field(default=False, description="a missing optional file is noted, not an error")
    size_bytes: int | None = Field(default=None, description="expected size of the mirror-layout file")

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        p = Path(value)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError("path must be relative and stay inside the data directory")
        return value

    @field_validator("sha256", "url_sha256")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value)):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        return value


class Source(BaseModel):
    """A catalogued source dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    publisher: str
    licence: str
    attribution: str
    vintage: str
    homepage: str
    feeds: list[str] = Field(description="canonical layers this source feeds")
    role: str = Field(default="primary", description="primary, fallback or supplement")
    notes: str = ""
    files: list[SourceFile]
    columns: dict[str, str] = Field(default_factory=dict, description="canonical column = source column")

    def file(self, key: str) -> SourceFile:
        """The file with ``key``."""
        for f in self.files:
            if f.key == key:
                return f
        raise GisError(
            f"source {self.name} has no file '{key}'", field="files", fix=f"add it to layers/{self.name}.toml"
        )


def load_source(path: Path) -> Source:
    """Read and validate one catalog file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GisError(
            f"cannot read the catalog entry ({exc})", file=path, fix="fix the TOML syntax"
        ) from exc
    try:
        source = Source.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise GisError(
            f"invalid catalog entry: {err['msg']}",
            file=path,
            field=field,
            fix="see the example in gis/config/catalog.py",
        ) from exc
    if source.name != path.stem:
        raise GisError(
            f"catalog name '{source.name}' differs from the file name",
            file=path,
            field="name",
            fix=f"rename the file to {source.name}.toml or the name to {path.stem}",
        )
    return source


@cache
def _load_catalog(folder: str) -> dict[str, Source]:
    files = sorted(Path(folder).glob("*.toml"))
    if not files:
        raise GisError(
            "the layer catalog is empty", file=folder, fix="reinstall the package or set GIS_CATALOG_DIR"
        )
    return {s.name: s for s in (load_source(f) for f in files)}


def load_catalog(folder: str | Path | None = None) -> dict[str, Source]:
    """All catalog entries by name (default folder: ``$GIS_CATALOG_DIR`` or the packaged ``layers/``)."""
    folder = folder or catalog_dir()
    return _load_catalog(str(Path(folder)))


def get_source(name: str, folder: str | Path | None = None) -> Source:
    """One catalog entry by name."""
    catalog = load_catalog(folder)
    if name not in catalog:
        raise GisError(f"no catalog entry named '{name}'", fix=f"add layers/{name}.toml")
    return catalog[name]
