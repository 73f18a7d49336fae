"""Reading the four plant sources in either form (mirror copy or official download).

Each reader returns a plain DataFrame whose columns are the keys of the source's catalog
``[columns]`` mapping (``resolver.source(name).columns``: key = our name, value = the source
column), so a renamed source column fails here, naming the file and the column, and not deep
inside the merge. Forms, by file suffix (``Fetched.form`` only names the origin):

===========================  ===============================  ===================================
source                       mirror copy                      official download
===========================  ===============================  ===================================
``gppd_usa``                 ``database_USA.csv`` (US table)  WRI zip with the global CSV;
                                                              rows with ``country == "USA"``
``eia_atlas_power_plants``   ``Power_Plants.csv``             FeatureServer pages as GeoJSON
``eia860_plant_2019``        ``2___Plant_Y2019.csv`` (text)   ``eia8602019.zip`` holding
                                                              ``2___Plant_Y2019.xlsx`` (header
                                                              on row 2)
``eia860m_plants_dec2025``   plant-level GeoJSON (≥ 50 MW)    generator workbook: sheets
                                                              ``Operating`` and ``Retired``,
                                                              aggregated here to the mirror's
                                                              plant-level layout
===========================  ===============================  ===================================
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from gis.errors import GisError
from gis.rowlog import RowLog
from gis.sources import Fetched
from gis.sources.archive import find_member, open_member

__all__ = [
    "EIA860M_DATE_COLUMNS",
    "EIA860M_WORKBOOK_COLUMNS",
    "MIN_STATUS_PLANT_MW",
    "aggregate_eia860m_workbook",
    "apply_columns",
    "form_of",
    "max_voltage_kv",
    "read_atlas",
    "read_eia860",
    "read_eia860m",
    "read_gppd",
]

MIN_STATUS_PLANT_MW = 50.0
"""EIA-860M plants below this nameplate (MW, summed per plant and sheet) are left out, as in the
mirror copy (gridsite ``scripts/process-eia.py`` keeps plants of 50 MW or more)."""


EIA860M_WORKBOOK_COLUMNS: dict[str, str] = {
    "plant_id": "Plant ID",
    "plant_name": "Plant Name",
    "state": "Plant State",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "capacity_mw": "Nameplate Capacity (MW)",
    "technology": "Technology",
    "entity_name": "Entity Name",
    "entity_id": "Entity ID",
}
"""Columns of both sheets of the EIA-860M generator workbook (the publisher's layout)."""

EIA860M_DATE_COLUMNS: dict[str, tuple[str, str]] = {
    "Operating": ("Planned Retirement Month", "Planned Retirement Year"),
    "Retired": ("Retirement Month", "Retirement Year"),
}
"""Per sheet: the (month, year) columns of the planned or actual retirement."""


def form_of(fetched: Fetched) -> str:
    """The file's layout by suffix: ``zip``, ``xlsx``, ``geojson`` or ``csv``."""
    name = fetched.path.name.lower()
    for suffix, kind in (
        (".zip", "zip"),
        (".xlsx", "xlsx"),
        (".geojson", "geojson"),
        (".geojson.gz", "geojson"),
        (".json", "geojson"),
        (".csv", "csv"),
        (".csv.gz", "csv"),
    ):
        if name.endswith(suffix):
            return kind
    if zipfile.is_zipfile(fetched.path):
        return "xlsx" if fetched.file.format == "xlsx" else "zip"
    return "csv"


def apply_columns(
    frame: pd.DataFrame, fetched: Fetched, *, file: str | Path | None = None, optional: Iterable[str] = ()
) -> pd.DataFrame:
    """Keep and rename the catalog-mapped columns (source column -> our key).

    Raises
    ------
    GisError
        naming the file and the first mapped source column the frame lacks.
    """
    mapping = fetched.source.columns
    optional = set(optional)
    header = {str(c).strip().lstrip("\ufeff"): c for c in frame.columns}
    missing = [src for key, src in mapping.items() if src not in header and key not in optional]
    if missing:
        raise GisError(
            f"the {fetched.source.title} file lacks the column '{missing[0]}'"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            file=file or fetched.path,
            field=missing[0],
            fix=f"check that it is the catalogued file, or correct [columns] in layers/{fetched.source.name}.toml",
        )
    out = pd.DataFrame(index=frame.index)
    for key, src in mapping.items():
        out[key] = frame[header[src]] if src in header else np.nan
    return out


def _text(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), "").astype(str).str.strip()


def _number(values: pd.Series) -> pd.Series:
    """Numbers from text or numbers; blanks and junk become NaN."""
    return pd.to_numeric(_text(values).str.replace(",", "", regex=False), errors="coerce")


# --- EIA Atlas --------------------------------------------------------------------------------


def read_atlas(fetched: Fetched) -> pd.DataFrame:
    """EIA Atlas plants: CSV (mirror) or GeoJSON from the FeatureServer (official).

    Returns the mapped columns with ``latitude``/``longitude`` in degrees (EPSG:4326);
    GeoJSON features without the coordinate fields take them from their point geometry.
    """
    kind = form_of(fetched)
    if kind == "geojson":
        gdf = _read_geojson(fetched)
        frame = pd.DataFrame(gdf.drop(columns="geometry"))
        mapping = fetched.source.columns
        for key, fn in (("longitude", "x"), ("latitude", "y")):
            col = mapping.get(key)
            if col and col not in frame.columns:
                frame[col] = getattr(gdf.geometry, fn).where(~gdf.geometry.is_empty)
        return apply_columns(frame, fetched)
    frame = _read_csv(fetched, encoding="utf-8-sig", low_memory=False)
    return apply_columns(frame, fetched)


# --- WRI GPPD ---------------------------------------------------------------------------------


def read_gppd(fetched: Fetched) -> pd.DataFrame:
    """WRI GPPD US rows: the US source table (mirror) or the global CSV in WRI's zip (official)."""
    if form_of(fetched) == "zip":
        member = find_member(fetched.path, "*global_power_plant_database*.csv")
        with open_member(fetched.path, member) as handle:
            frame = pd.read_csv(handle, low_memory=False)
        where = f"{fetched.path}:{member}"
        out = apply_columns(frame, fetched, file=where)
        return out.loc[_text(out["country"]).eq("USA")]
    return apply_columns(_read_csv(fetched, low_memory=False), fetched)


# --- EIA-860 2019 plant table -----------------------------------------------------------------


def read_eia860(fetched: Fetched) -> pd.DataFrame:
    """EIA-860 2019 plant table as text: the CSV (mirror) or the ``Plant`` sheet of the xlsx
    inside the annual zip (official; header on row 2, found by looking for ``Plant Code``)."""
    kind = form_of(fetched)
    if kind in {"zip", "xlsx"}:
        data: io.BytesIO | Path
        if kind == "zip":
            member = find_member(fetched.path, "2___plant_y*.xlsx")
            with zipfile.ZipFile(fetched.path) as zf:
                data = io.BytesIO(zf.read(member))
            where = f"{fetched.path}:{member}"
        else:
            data, where = fetched.path, str(fetched.path)
        frame = _read_sheet(data, "Plant", marker="Plant Code", where=where)
        return apply_columns(frame, fetched, file=where)
    return apply_columns(_read_csv(fetched, dtype=str, keep_default_na=False), fetched)


def max_voltage_kv(frame: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    """Row-wise maximum (kV) of several text voltage columns; blanks ignored, none -> NaN."""
    values = pd.concat([_number(frame[c]) for c in columns], axis=1)
    return values.max(axis=1, skipna=True)


# --- EIA-860M ---------------------------------------------------------------------------------


def read_eia860m(fetched: Fetched, log: RowLog) -> pd.DataFrame:
    """EIA-860M plants with status: the plant-level GeoJSON (mirror) or the generator workbook
    (official), aggregated to the same plant-level layout with an extra ``plant_id`` column.

    Counts the plant rows read in ``log`` (for the workbook: the aggregated plant records).
    """
    if form_of(fetched) == "xlsx":
        frame = aggregate_eia860m_workbook(fetched.path, log)
        out = apply_columns(frame, fetched)
        out["plant_id"] = frame["plant_id"]
        return out
    gdf = _read_geojson(fetched)
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    out = apply_columns(frame, fetched)
    out["plant_id"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    log.read(len(out))
    return out


def _eia860m_generators(path: Path, sheet: str, month_col: str, year_col: str, log: RowLog) -> pd.DataFrame:
    """One sheet's generator rows: canonical columns, ``capacity_mw`` (MW), ``date`` ``YYYY-MM`` or ""."""
    raw = _read_sheet(path, sheet, marker="Plant ID", where=str(path))
    wanted = {**EIA860M_WORKBOOK_COLUMNS, "month": month_col, "year": year_col}
    header = {str(c).strip(): c for c in raw.columns}
    for col in wanted.values():
        if col not in header:
            raise GisError(
                f"the EIA-860M workbook sheet '{sheet}' lacks the column '{col}'",
                file=path,
                field=col,
                fix="use the monthly generator workbook from https://www.eia.gov/electricity/data/eia860m/",
            )
    gen = pd.DataFrame({key: raw[header[col]] for key, col in wanted.items()})
    gen["plant_id"] = _number(gen["plant_id"])
    notes = gen["plant_id"].isna()
    if notes.any():
        log.note(f"EIA-860M sheet {sheet}: {int(notes.sum())} note/blank lines without a Plant ID skipped")
    gen = gen.loc[~notes]
    log.note(f"EIA-860M sheet {sheet}: {len(gen):,} generator rows")
    gen["capacity_mw"] = _number(gen["capacity_mw"]).fillna(0.0)
    month = _number(gen["month"])
    year = _number(gen["year"])
    ok = year.notna() & month.between(1, 12)
    gen["date"] = np.where(
        ok,
        year.fillna(0).astype(int).astype(str) + "-" + month.fillna(0).astype(int).astype(str).str.zfill(2),
        "",
    )
    gen["sheet"] = sheet
    return gen


def _eia860m_plants(gen: pd.DataFrame) -> pd.DataFrame:
    """Generators summed per (sheet, plant): MW, dominant technology and operator, retirement month."""
    keys = ["sheet", "plant_id"]
    plants = gen.groupby(keys, sort=True).agg(
        plant_name=("plant_name", "first"),
        state=("state", "first"),
        latitude=("latitude", "first"),
        longitude=("longitude", "first"),
        total_capacity_mw=("capacity_mw", "sum"),
    )
    plants["fuel_type"] = _dominant(gen, keys, "technology")
    plants["owner_name"] = _dominant(gen, keys, "entity_name")
    plants["utility_id"] = _number(_dominant(gen, keys, "entity_id")).astype("Int64")
    dated = gen.loc[gen["date"] != ""]
    planned = dated.loc[dated["sheet"] == "Operating"].groupby(keys)["date"].min()
    retired = dated.loc[dated["sheet"] == "Retired"].groupby(keys)["date"].max()
    plants["planned_retirement_date"] = planned.combine_first(retired).reindex(plants.index)
    plants = plants.reset_index()
    on_operating = plants["plant_id"].isin(plants.loc[plants["sheet"] == "Operating", "plant_id"])
    plants["status"] = np.select(
        [
            (plants["sheet"] == "Retired") & on_operating,
            plants["sheet"] == "Retired",
            plants["planned_retirement_date"].notna(),
        ],
        ["retooled", "retired", "retiring"],
        default="operating",
    )
    return plants


def aggregate_eia860m_workbook(path: Path, log: RowLog) -> pd.DataFrame:
    """Sum the generators of the ``Operating`` and ``Retired`` sheets per plant and sheet.

    Mirrors the plant-level copy: nameplate MW summed; technology and operator of the
    generators with the most MW; status ``retired`` on the Retired sheet (``retooled`` when the
    plant also has operating generators), ``retiring`` on the Operating sheet when a generator
    has a planned retirement (earliest month), else ``operating``; plants below
    :data:`MIN_STATUS_PLANT_MW` left out (counted).
    """
    sheets = [
        _eia860m_generators(path, sheet, month_col, year_col, log)
        for sheet, (month_col, year_col) in EIA860M_DATE_COLUMNS.items()
    ]
    gen = pd.concat(sheets, ignore_index=True)
    gen["plant_id"] = gen["plant_id"].astype("int64")
    plants = _eia860m_plants(gen)
    log.read(len(plants))
    plants = log.drop(
        plants,
        plants["total_capacity_mw"] < MIN_STATUS_PLANT_MW,
        f"EIA-860M plant below {MIN_STATUS_PLANT_MW:g} MW (as the plant-level copy)",
    )
    plants = plants.assign(_order=plants["sheet"].map({"Operating": 0, "Retired": 1}))
    plants = plants.sort_values(["_order", "plant_id"], kind="stable")
    return plants.drop(columns=["sheet", "_order"]).reset_index(drop=True)


def _dominant(gen: pd.DataFrame, keys: list[str], column: str) -> pd.Series:
    """Per group of ``keys``: the value of ``column`` with the most MW."""
    mw = gen.assign(_v=_text(gen[column])).groupby([*keys, "_v"], sort=True)["capacity_mw"].sum()
    best = mw.reset_index().sort_values([*keys, "capacity_mw"], ascending=[True] * len(keys) + [False])
    best = best.drop_duplicates(keys).set_index(keys)["_v"]
    return best


# --- file helpers -----------------------------------------------------------------------------


def _read_csv(fetched: Fetched, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(fetched.path, **kwargs)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise GisError(
            f"cannot read the {fetched.source.title} CSV ({exc})",
            file=fetched.path,
            fix="delete it from the cache or data directory and fetch it again",
        ) from exc


def _read_geojson(fetched: Fetched):
    try:
        return pyogrio.read_dataframe(fetched.path)
    except Exception as exc:  # pyogrio raises several GDAL error types
        raise GisError(
            f"cannot read the {fetched.source.title} GeoJSON ({exc})",
            file=fetched.path,
            fix="delete it from the cache or data directory and fetch it again",
        ) from exc


def _read_sheet(data, sheet: str, *, marker: str, where: str, search_rows: int = 15) -> pd.DataFrame:
    """One sheet as text, its header being the first of ``search_rows`` rows holding ``marker``."""
    try:
        head = pd.read_excel(data, sheet_name=sheet, header=None, nrows=search_rows, dtype=str)
    except ValueError as exc:
        raise GisError(
            f"the workbook has no sheet '{sheet}' ({exc})",
            file=where,
            field=sheet,
            fix="use the workbook the catalog entry names (the publisher may have changed its layout)",
        ) from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise GisError(
            f"cannot read the workbook ({exc})", file=where, fix="delete it from the cache and fetch it again"
        ) from exc
    hits = head.apply(lambda col: _text(col).eq(marker)).any(axis=1)
    if not hits.any():
        raise GisError(
            f"no header row with '{marker}' in the first {search_rows} rows of sheet '{sheet}'",
            file=where,
            field=marker,
            fix="use the workbook the catalog entry names (the publisher may have changed its layout)",
        )
    header_row = int(np.flatnonzero(hits.to_numpy())[0])
    if isinstance(data, io.BytesIO):
        data.seek(0)
    return pd.read_excel(data, sheet_name=sheet, header=header_row, dtype=str)
