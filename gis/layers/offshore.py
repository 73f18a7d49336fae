"""Gulf of Mexico (Gulf of America) offshore wells from BSEE's borehole master list.

Layer ``offshore_wells``: one point per borehole at its surface location, Gulf region only
(``REGION_CODE`` ``G``), stored in EPSG:4326.

Datum: BSEE publishes geographic coordinates on NAD27 (EPSG:4267). They are transformed to
WGS 84 with ``GeoSeries.to_crs`` (PROJ picks the best available operation: the NADCON grid
when PROJ's ``us_noaa_conus.tif`` is installed, otherwise a three-parameter datum shift good
to a few metres); the shift in the Gulf is about 30 m, small for screening but not zero.

Two source forms are read: the mirror's gzipped ``mv_boreholes_all.txt.gz`` and BSEE's
``BoreholeRawData.zip`` holding ``mv_boreholes_all.txt`` (read in place from the zip; a member
that would escape the archive is refused). Both are comma-separated with every value quoted.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis import STORAGE_CRS
from gis.errors import GisError
from gis.layers._dates import plain_stamps
from gis.layers._textcsv import read_text_csv
from gis.rowlog import RowLog
from gis.sources import Fetched, Resolver
from gis.sources.archive import find_member, open_member, read_gzip

__all__ = ["SOURCE_CRS", "build", "parse_year", "read_boreholes"]

SOURCE_CRS = "EPSG:4267"
"""BSEE surface coordinates are NAD27 geographic degrees."""

GULF = "G"
MEMBER_PATTERN = "*mv_boreholes_all.txt"

WANTED = (
    "api_well_number",
    "well_name",
    "operator",
    "status_code",
    "well_type",
    "water_depth_ft",
    "spud_date",
    "status_date",
    "region",
    "latitude",
    "longitude",
)


def _read_csv(
    opener: Callable[[], ContextManager], *, file: str | Path, columns: set[str] | None
) -> pd.DataFrame:
    """The table as text (only ``columns`` when given: names absent from the file are left out).

    Read by pyarrow when it reads it as pandas would (:func:`gis.layers._textcsv.read_text_csv`),
    else by pandas, every column (a row with too many fields is an error).
    """
    try:
        with opener() as handle:
            frame = read_text_csv(handle.read(), na_values=[""], columns=columns)
        if frame is not None:
            return frame
        with opener() as handle:
            frame = pd.read_csv(handle, dtype=str, low_memory=False, keep_default_na=False, na_values=[""])
            return frame if columns is None else frame[[c for c in frame.columns if c in columns]]
    except (ValueError, pd.errors.ParserError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise GisError(
            f"cannot read the borehole table ({exc})",
            file=file,
            fix="delete the file from the cache and fetch again",
        ) from exc


def read_boreholes(fetched: Fetched, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The borehole table (as text) from the gzipped text file or BSEE's zip.

    ``columns``: read only these (those the file has); default every column.
    """
    path = Path(fetched.path)
    wanted = None if columns is None else set(columns)
    if zipfile.is_zipfile(path):
        member = find_member(path, MEMBER_PATTERN)
        return _read_csv(lambda: open_member(path, member), file=f"{path}!{member}", columns=wanted)
    return _read_csv(lambda: _open_plain(path), file=path, columns=wanted)


def _open_plain(path: Path) -> ContextManager:
    """The file, inflated when gzipped (by its name, as pandas infers it; inflated once for its
    bomb check and its reading, :func:`gis.sources.archive.read_gzip`)."""
    import gzip
    import io

    if path.suffix != ".gz":
        return open(path, "rb")
    content = read_gzip(path)
    return io.BytesIO(content) if content is not None else gzip.open(path, "rb")


def parse_year(values: pd.Series) -> pd.Series:
    """Year (nullable Int64) of M/D/YYYY dates; empty or unparseable text gives <NA>.

    >>> parse_year(pd.Series(["6/30/2000", "", "2/30/2001", None])).tolist()
    [2000, <NA>, <NA>, <NA>]
    """
    text = values.astype(object)
    dates = plain_stamps(text, "%m/%d/%Y")
    if dates is None:  # not every date plainly written: pandas parses (and coerces) them
        dates = pd.to_datetime(values, format="%m/%d/%Y", errors="coerce")
    return dates.dt.year.astype("Int64")


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``offshore_wells`` (Gulf surface locations, EPSG:4326 from NAD27)."""
    log = RowLog("offshore_wells")
    fetched = resolver.require("bsee_boreholes_gom", "boreholes")
    columns = fetched.source.columns
    raw = read_boreholes(fetched, [columns[c] for c in WANTED if c in columns])
    log.read(len(raw))
    for canonical in WANTED:
        if canonical not in columns or columns[canonical] not in raw.columns:
            raise GisError(
                f"the borehole table lacks the column mapped to '{canonical}'",
                file=fetched.path,
                field=columns.get(canonical, canonical),
                fix="check the file against the [columns] table of layers/bsee_boreholes_gom.toml",
            )
    frame = raw[[columns[c] for c in WANTED]].set_axis(list(WANTED), axis=1)
    region = frame["region"].astype("string").str.strip().str.upper()
    frame = log.drop(frame, region != GULF, "outside the Gulf region (REGION_CODE not G)")
    lat = pd.to_numeric(frame["latitude"], errors="coerce")
    lon = pd.to_numeric(frame["longitude"], errors="coerce")
    no_xy = lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180)
    frame = log.drop(frame, no_xy, "no surface coordinates")
    api = pd.to_numeric(frame["api_well_number"], errors="coerce")
    frame = log.drop(frame, api.isna(), "no API well number")
    frame = frame.assign(api_well_number=api.astype("Int64"))
    frame = log.drop(frame, frame["api_well_number"].duplicated(), "duplicate API well number")
    depth = pd.to_numeric(frame["water_depth_ft"], errors="coerce")
    log.repair(int((depth.isna() & frame["water_depth_ft"].notna()).sum()), "water depth not a number")
    spud = parse_year(frame["spud_date"])
    status_year = parse_year(frame["status_date"])
    log.repair(int((spud.isna() & frame["spud_date"].notna()).sum()), "spud date not M/D/YYYY")
    text = {
        c: frame[c].astype("string").str.strip().fillna("")
        for c in ("well_name", "operator", "status_code", "well_type")
    }
    wells = gpd.GeoDataFrame(
        {
            "api_well_number": frame["api_well_number"].astype("int64"),
            **text,
            "water_depth_ft": depth.astype("float64"),
            "spud_year": spud,
            "status_year": status_year,
            "region": GULF,
        },
        geometry=gpd.points_from_xy(lon[frame.index], lat[frame.index]),
        crs=SOURCE_CRS,
    ).to_crs(STORAGE_CRS)
    log.note("surface coordinates transformed from NAD27 (EPSG:4267) to WGS 84 (EPSG:4326)")
    return {"offshore_wells": (wells, log)}
