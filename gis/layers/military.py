"""DoD installations from MIRTA (Military Installations, Ranges and Training Areas) as points.

Layer ``military_sites`` (EPSG:4326), one row per installation. Two source forms are read:

* mirror: the processed JSON ``{"metadata": {...}, "installations": [...]}`` with readable
  labels (``name, branch, status, state, lat, lon, component, jointBase``);
* official: the MIRTA ArcGIS FeatureServer points layer 0 paged into GeoJSON, with MIRTA's
  coded attributes (``SITENAME``, ``SITEREPORTINGCOMPONENT`` e.g. ``usar``,
  ``SITEOPERATIONALSTATUS`` e.g. ``act``, ``STATENAMECODE`` e.g. ``md``, ``ISJOINTBASE``
  ``yes``/``no``). The older HIFLD MIRTA attribute names (``SITE_NAME``, ``COMPONENT``,
  ``STATE_TERR``, ``OPER_STAT``, ``JOINT_BASE``) are accepted too.

State names and codes become two-letter codes, territories included (PR, GU, VI, AS, MP).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import STORAGE_CRS
from gis.errors import GisError
from gis.layers.boundaries import state_code
from gis.rowlog import RowLog
from gis.sources import Fetched, Resolver

__all__ = ["build", "read_mirta", "state_code"]


BRANCHES = {
    "usa": "Army", "usar": "Army Reserve", "armynationalguard": "Army National Guard",
    "usaf": "Air Force", "afr": "Air Force Reserve", "airnationalguard": "Air National Guard",
    "usmc": "Marine Corps", "usmcr": "Marine Corps Reserve", "usn": "Navy", "usnr": "Navy Reserve",
    "whs": "Washington Headquarters Services", "other": "Other",
}  # fmt: skip
"""MIRTA ``SITEREPORTINGCOMPONENT`` codes -> service branch."""

COMPONENTS = {
    "usa": "Active", "usaf": "Active", "usmc": "Active", "usn": "Active", "whs": "Active",
    "usar": "Reserve", "afr": "Reserve", "usmcr": "Reserve", "usnr": "Reserve",
    "armynationalguard": "National Guard", "airnationalguard": "National Guard",
}  # fmt: skip
"""MIRTA ``SITEREPORTINGCOMPONENT`` codes -> component (Active, Reserve, National Guard)."""

STATUSES = {"act": "Active", "clsd": "Closed", "semi": "Semi-Active", "care": "Caretaker", "excs": "Excess"}
"""MIRTA ``SITEOPERATIONALSTATUS`` codes -> status label."""

OFFICIAL_FIELDS = {
    "name": ("SITENAME", "SITE_NAME", "FEATURENAME"),
    "branch": ("SITEREPORTINGCOMPONENT", "COMPONENT"),
    "status": ("SITEOPERATIONALSTATUS", "OPER_STAT"),
    "state": ("STATENAMECODE", "STATE_TERR"),
    "joint_base": ("ISJOINTBASE", "JOINT_BASE"),
}
"""Canonical -> candidate attribute names of the official MIRTA points layer (current first)."""

TRUE_WORDS = {"true", "yes", "y", "1", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "f", "", "n/a", "na", "none"}


def _flag(values: pd.Series) -> pd.Series:
    """Booleans from bool / yes-no text; any other text (an old-style joint-base name) is True."""
    if values.dtype == bool:
        return values
    text = values.astype("string").str.strip().str.lower().fillna("")
    return ~text.isin(FALSE_WORDS) | text.isin(TRUE_WORDS)


def _read_processed(fetched: Fetched) -> pd.DataFrame:
    try:
        data = json.loads(Path(fetched.path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GisError(
            f"cannot read the MIRTA JSON ({exc})", file=fetched.path, fix="re-download the file"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("installations"), list):
        raise GisError(
            "the JSON has no 'installations' list",
            file=fetched.path,
            field="installations",
            fix='expected {"metadata": {...}, "installations": [...]}',
        )
    if not data["installations"]:
        raise GisError(
            "the file lists no installations",
            file=fetched.path,
            field="installations",
            fix="fetch the source again; the catalogued file lists several hundred installations",
        )
    frame = pd.DataFrame(data["installations"])
    columns = fetched.source.columns
    wanted = ("name", "branch", "component", "site_status", "joint_base", "state", "latitude", "longitude")
    for canonical in wanted:
        source_col = columns.get(canonical)
        if source_col is None or source_col not in frame.columns:
            raise GisError(
                f"installations lack the field mapped to '{canonical}'",
                file=fetched.path,
                field=source_col or canonical,
                fix="check the file against the [columns] table of layers/mirta_dod_sites.toml",
            )
    out = frame[[columns[c] for c in wanted]].set_axis(list(wanted), axis=1)
    out["state"] = out["state"].astype("string")
    return out


def _read_featureserver(fetched: Fetched) -> pd.DataFrame:
    try:
        frame = gpd.read_file(fetched.path)
    except Exception as exc:  # pyogrio raises several types for unreadable GeoJSON
        raise GisError(
            f"cannot read the MIRTA GeoJSON ({exc})",
            file=fetched.path,
            fix="delete it from the cache and fetch again",
        ) from exc
    picked = {}
    for canonical, candidates in OFFICIAL_FIELDS.items():
        found = next((c for c in candidates if c in frame.columns), None)
        if found is None:
            raise GisError(
                f"the MIRTA points layer has none of the fields {', '.join(candidates)}",
                file=fetched.path,
                field=candidates[0],
                fix="check the FeatureServer layer (points = layer 0) and its field names",
            )
        picked[canonical] = frame[found]
    code = picked["branch"].astype("string").str.strip().str.lower().fillna("")
    status = picked["status"].astype("string").str.strip()
    geoms = frame.geometry
    points = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
    return pd.DataFrame(
        {
            "name": picked["name"],
            "branch": code.map(BRANCHES).fillna(picked["branch"].astype("string")),
            "component": code.map(COMPONENTS).fillna("Unknown"),
            "site_status": status.str.lower().map(STATUSES).fillna(status),
            "joint_base": _flag(picked["joint_base"]),
            "state": picked["state"].astype("string"),
            "latitude": points.y.where(points.notna()),
            "longitude": points.x.where(points.notna()),
        }
    )


def read_mirta(fetched: Fetched) -> pd.DataFrame:
    """MIRTA installations as a table with canonical columns and latitude/longitude (degrees).

    The form is recognised from the file's content: a processed JSON object with
    ``installations``, or a GeoJSON FeatureCollection from the FeatureServer.
    """
    try:
        with open(fetched.path, encoding="utf-8") as fh:
            head = fh.read(4096)
    except UnicodeDecodeError as exc:
        raise GisError(
            "the file is not UTF-8 JSON (a binary or other format was saved under this name)",
            file=fetched.path,
            fix="delete it and fetch the source again (gis fetch)",
        ) from exc
    if '"FeatureCollection"' in head or '"features"' in head:
        return _read_featureserver(fetched)
    return _read_processed(fetched)


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``military_sites`` (EPSG:4326); ``site_id`` is the row number in the source."""
    log = RowLog("military_sites")
    fetched = resolver.require("mirta_dod_sites", "sites")
    frame = read_mirta(fetched)
    log.read(len(frame))
    frame = frame.assign(site_id=np.arange(len(frame)))
    lat = pd.to_numeric(frame["latitude"], errors="coerce")
    lon = pd.to_numeric(frame["longitude"], errors="coerce")
    swapped = (lat < 0) & (lon > 0)  # no US site lies south of the equator and east of Greenwich
    lat, lon = lat.where(~swapped, lon), lon.where(~swapped, lat)
    log.repair(int(swapped.sum()), "latitude/longitude swapped")
    bad = lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180)
    frame = log.drop(frame.assign(latitude=lat, longitude=lon), bad, "no valid coordinates")
    codes = state_code(frame["state"])
    unknown = codes == ""
    if unknown.any():
        names = sorted(set(frame.loc[unknown, "state"].astype("string").fillna("<empty>")))
        log.repair(int(unknown.sum()), "state name not recognised, state left empty")
        log.note("unrecognised MIRTA state values: " + ", ".join(names[:10]))
    frame = frame.assign(
        state=codes,
        name=frame["name"].astype("string").str.strip().fillna(""),
        branch=frame["branch"].astype("string").str.strip().fillna("Unknown"),
        component=frame["component"].astype("string").str.strip().fillna("Unknown"),
        site_status=frame["site_status"].astype("string").str.strip().fillna(""),
        joint_base=_flag(frame["joint_base"]),
    )
    sites = gpd.GeoDataFrame(
        frame.drop(columns=["latitude", "longitude"]),
        geometry=gpd.points_from_xy(frame["longitude"], frame["latitude"]),
        crs=STORAGE_CRS,
    )
    return {"military_sites": (sites, log)}
