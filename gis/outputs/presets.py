"""Map presets: which layers a map draws and how (styles, colour ramps, basemap), as TOML in ``maps/``.

A preset is validated by :class:`MapPreset` (unknown keys refused) before any drawing starts.
The default preset is ``maps/national.toml``; ``gis map`` reads presets through
:func:`gis.config.settings.resource_dir` so an installed wheel finds them too.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gis.config.settings import resource_dir
from gis.errors import GisError
from gis.schema import LAYER_SCHEMAS

__all__ = [
    "DEFAULT_PRESET",
    "Basemap",
    "Choropleth",
    "HexColour",
    "MapPreset",
    "Ramp",
    "SiteStyle",
    "SourceLayer",
    "load_preset",
    "preset_path",
]

DEFAULT_PRESET = "national"

HexColour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
"""A colour as ``#rrggbb``."""

Ramp = Annotated[list[HexColour], Field(min_length=2)]
"""Colours from low to high values."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Basemap(_Strict):
    """Basemap: web tiles online; state polygons (vector, no network) offline."""

    tiles: str = Field("OpenStreetMap", description="folium tile name used by online maps")
    offline_fill: HexColour = Field("#f2efe9", description="land colour of the offline vector basemap")
    offline_line: HexColour = Field("#9e9e9e", description="state border colour of the offline basemap")
    offline_background: HexColour = Field("#cfe3ef", description="sea colour behind the offline basemap")


class SiteStyle(_Strict):
    """Candidate sites: one toggleable layer per category, sized by MW, coloured by score."""

    size_by: Literal["mineable_mw", "capacity_mw"] = "mineable_mw"
    min_radius_px: float = Field(3.0, gt=0, le=30)
    max_radius_px: float = Field(16.0, gt=0, le=60)
    ramp: Ramp = Field(default_factory=lambda: ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"])
    cluster_above: int = Field(
        200, ge=0, description="a category with more sites than this is clustered (0: always)"
    )
    show_excluded: bool = Field(True, description="draw excluded sites in a grey layer, off by default")
    excluded_colour: HexColour = "#7f7f7f"

    @model_validator(mode="after")
    def _radii(self) -> SiteStyle:
        if self.min_radius_px > self.max_radius_px:
            raise ValueError("min_radius_px must not exceed max_radius_px")
        return self


class Choropleth(_Strict):
    """State choropleth of a metric from ``estimates.json`` ``by_state``."""

    metric: Literal["mineable_gw", "hashrate_ehs", "btc_per_year"] = "mineable_gw"
    ramp: Ramp = Field(default_factory=lambda: ["#f7fbff", "#6baed6", "#08306b"])
    opacity: float = Field(0.55, ge=0, le=1)
    show: bool = True


class SourceLayer(_Strict):
    """One source layer from ``layers.gpkg`` drawn as a toggleable overlay."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="identifier of the overlay")
    label: str = Field(min_length=1, description="name shown in the layer control")
    layer: str = Field(description="canonical layer name in layers.gpkg (gis.schema)")
    where: dict[str, list[str]] = Field(
        default_factory=dict, description="keep rows whose text column takes one of these values"
    )
    at_least: dict[str, float] = Field(
        default_factory=dict, description="keep rows whose numeric column is at least this value"
    )
    show: bool = True
    colour: HexColour = "#555555"
    colour_by: str | None = Field(None, description="numeric column that sets the colour")
    ramp: list[HexColour] = Field(default_factory=list, description="colours, low to high")
    breaks: list[float] = Field(
        default_factory=list, description="class limits for a stepped ramp (len(ramp) - 1 values)"
    )
    legend_unit: str = ""
    radius_px: float = Field(3.0, gt=0, le=30)
    weight_px: float = Field(1.5, gt=0, le=20)
    opacity: float = Field(0.8, ge=0, le=1)
    fill_opacity: float = Field(0.6, ge=0, le=1)
    tooltip: list[str] = Field(default_factory=list, description="columns shown on hover")
    simplify_m: float = Field(0.0, ge=0, description="display simplification tolerance, EPSG:5070 metres")
    dissolve: bool = Field(
        False,
        description="draw lines of one colour class as one multi-line (much smaller file; the "
        "tooltip then shows the class, not each line's fields)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SourceLayer:
        schema = LAYER_SCHEMAS.get(self.layer)
        if schema is None:
            raise ValueError(f"unknown layer {self.layer!r}; known: {', '.join(LAYER_SCHEMAS)}")
        if schema.geometry is None:
            raise ValueError(f"layer {self.layer!r} has no geometry to draw")
        known = set(schema.column_names)
        for col in [
            *self.where,
            *self.at_least,
            *self.tooltip,
            *([self.colour_by] if self.colour_by else []),
        ]:
            if col not in known:
                raise ValueError(f"layer {self.layer!r} has no column {col!r}")
        if self.colour_by and len(self.ramp) < 2:
            raise ValueError("colour_by needs a ramp of at least two colours")
        if self.breaks and len(self.breaks) != len(self.ramp) - 1:
            raise ValueError("breaks must have one value fewer than ramp")
        if self.breaks != sorted(self.breaks):
            raise ValueError("breaks must increase")
        if self.dissolve and schema.geometry != ("LineString", "MultiLineString"):
            raise ValueError("dissolve applies to line layers only")
        return self


class MapPreset(_Strict):
    """A whole map preset file."""

    name: str
    title: str
    description: str = ""
    center_lat: float = Field(39.5, ge=-90, le=90)
    center_lon: float = Field(-98.35, ge=-180, le=180)
    zoom: int = Field(4, ge=1, le=18)
    fit_bounds: tuple[float, float, float, float] | None = Field(
        None, description="west, south, east, north (degrees) to fit the first view to; overrides zoom"
    )
    coordinate_decimals: int = Field(
        4, ge=2, le=7, description="decimals kept in drawn coordinates (4 = about 11 m)"
    )
    basemap: Basemap = Field(default_factory=Basemap)
    sites: SiteStyle = Field(default_factory=SiteStyle)
    choropleth: Choropleth = Field(default_factory=Choropleth)
    layers: list[SourceLayer] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_keys(self) -> MapPreset:
        keys = [layer.key for layer in self.layers]
        dups = sorted({k for k in keys if keys.count(k) > 1})
        if dups:
            raise ValueError(f"duplicate layer keys {dups}")
        return self


def preset_path(name_or_path: str | Path) -> Path:
    """The file of a preset: an existing path, or ``maps/<name>.toml``."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.is_file():
        return candidate
    return resource_dir("maps") / f"{name_or_path}.toml"


def load_preset(name_or_path: str | Path = DEFAULT_PRESET) -> MapPreset:
    """Read and validate a map preset (a name in ``maps/`` or a TOML path).

    Raises
    ------
    GisError
        naming the file, the offending key (dotted path) and the fix.
    """
    path = preset_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        available = sorted(p.stem for p in resource_dir("maps").glob("*.toml"))
        raise GisError(
            "the map preset does not exist",
            file=path,
            fix=f"use one of the presets in maps/ ({', '.join(available) or 'none found'}) or a TOML path",
        ) from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GisError(f"cannot read the map preset ({exc})", file=path, fix="fix the TOML syntax") from exc
    try:
        return MapPreset.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise GisError(
            f"invalid map preset value: {err['msg']}",
            file=path,
            field=field,
            fix=f"compare with {resource_dir('maps') / (DEFAULT_PRESET + '.toml')}",
        ) from exc
