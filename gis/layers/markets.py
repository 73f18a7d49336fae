"""Hourly wholesale prices, ISO fuel mix and daily CAISO curtailment, as plain tables.

Layers
------
``market_prices``
    One row per (``node``, ``kind``, ``hour_utc``): the mean of the LMP intervals present in that
    UTC hour ($/MWh), how many were present and how many the market has per hour. Long format.
``market_mix``
    One row per (``region``, ``hour_utc``): hourly mean generation by fuel (MW), and ERCOT load.
``curtailment_daily``
    One row per (``market``, ``date``): CAISO wind and solar curtailment by local day (MWh).

Sources and node ids
--------------------
Real-time (``kind`` ``"rt"``) prices come from the EIA Wholesale Electricity Market Portal CSVs
(``eia_wm_*``: 3 preamble lines, a header, the UTC interval-ENDING stamp in the first column);
only the ``<hub> LMP`` columns are read, never the congestion / energy / loss components.
Day-ahead (``"da"``) prices come from the ERCOT ``lmp_da_hr_hubs`` files and the CAISO OASIS zip
(rows with ``XML_DATA_ITEM == "LMP_PRC"``; column ``MW`` is the price; ``INTERVALSTARTTIME_GMT``
is already the hour beginning; ``__MACOSX/`` members are skipped). Node ids, ``<MARKET>:<HUB>``,
are the keys of each catalog entry's ``[columns]`` table (``"price:<node>" = "<source column>"``):

* ERCOT (15-min RT, hourly DA): ``ERCOT:HB_BUSAVG`` (Bus average), ``ERCOT:HB_HOUSTON``,
  ``ERCOT:HB_HUBAVG`` (Hub average), ``ERCOT:HB_NORTH``, ``ERCOT:HB_PAN`` (Panhandle),
  ``ERCOT:HB_SOUTH``, ``ERCOT:HB_WEST``.
* CAISO (15-min FMM RT; DA at NP15 from OASIS): ``CAISO:NP15``, ``CAISO:SP15``, ``CAISO:ZP26``.
* SPP (5-min RT): ``SPP:NORTH``, ``SPP:SOUTH``.
* MISO (hourly RT): ``MISO:ARKANSAS``, ``MISO:ILLINOIS``, ``MISO:INDIANA``, ``MISO:LOUISIANA``,
  ``MISO:MICHIGAN``, ``MISO:MINNESOTA``, ``MISO:MISSISSIPPI``, ``MISO:TEXAS``.
* PJM (hourly RT): the hub name upper-cased, every run of non-alphanumerics as one ``_``:
  ``PJM:AEP_GEN_HUB``, ``PJM:ATSI_GEN_HUB``, ``PJM:AMERICAN_ELECTRIC_POWER_CO_INC_DAYTON``,
  ``PJM:CHICAGO_GEN_HUB``, ``PJM:CHICAGO_HUB``, ``PJM:DOMINION_HUB``, ``PJM:EASTERN_HUB``,
  ``PJM:NEW_JERSEY_HUB``, ``PJM:NORTH_ILLINOIS_HUB``, ``PJM:OHIO_HUB``, ``PJM:WEST_INT_HUB``,
  ``PJM:WESTERN_HUB``.

Time
----
``hour_utc`` is ``"YYYY-MM-DDTHH:00Z"``, the hour BEGINNING in UTC. The portal stamps the UTC
interval END, so each stamp is moved back by the interval length (5 min, 15 min or 1 h, read
from the file name) before it is floored to the hour: the ERCOT interval ending 06:15 UTC
(local 00:00-00:15 CST) belongs to hour 06:00Z. DST changes need no care: the UTC stamps run
evenly through them (local stamps repeat or skip). Hours with no interval are ABSENT, never
zero; an hour with some intervals missing keeps the mean of those present (``intervals`` <
``intervals_expected``). A calendar year in UTC starts 5-8 hours before the local year: the
2023 files begin at 2023-01-01 06:00Z in ERCOT, and the ERCOT 2024 Q4 file runs to 2025-01-01
05:00Z.

Fuel mix mapping (``market_mix``)
---------------------------------
Each ``mix:<column>`` entry of the catalog names the source column(s), several joined by
`` + `` and summed:

* ERCOT (15-min ``gen_all``, hourly mean): ``gas_mw`` = Gas + Gas-CC; ``other_mw`` = Other +
  Biomass; ``storage_mw`` = WSL (wholesale storage load, negative while charging); ``oil_mw``
  NaN (no column). The ``gen_all`` files were re-saved by a spreadsheet program: stamps are
  ``M/D/YYYY H:MM`` and the preamble lines end in commas (empty ``Unnamed:`` columns, which a
  re-save may add, are never read). Their FIRST column is still UTC interval ending (UTC -
  local beginning = 6 h 15 min in CST, 5 h 15 min in CDT on every row of the 2023 and 2024
  files); on 2023-11-05 the repeated local hour (07:00-08:00Z) is absent from the file, which
  is why 2023 has 35,036 rows, not 35,040.
* ERCOT regional wind (hourly ``gen_sun-wnd``): regions ``ERCOT:COASTAL``, ``ERCOT:NORTH``,
  ``ERCOT:PANHANDLE``, ``ERCOT:SOUTH``, ``ERCOT:WEST`` with only ``wind_mw`` set. The file's
  ERCOT totals fill ``wind_mw`` / ``solar_mw`` of region ``ERCOT`` only for hours the 15-min
  fuel mix lacks (2024: June, August, September), leaving the other fuels NaN there.
* ERCOT ``load_mw``: ``TOTAL Actual Load (MW)`` of the hourly ``load_act`` files (weather-zone
  loads are not read).
* MISO (hourly ``gen_all``): regions ``MISO`` (``MISO Total``), ``MISO:CENTRAL``,
  ``MISO:NORTH``, ``MISO:SOUTH``; ``other_mw`` = Other; ``storage_mw`` = Storage (none in
  South); ``oil_mw`` NaN. ``gen_wnd`` (system wind) fills ``wind_mw`` of ``MISO`` for hours the
  fuel mix lacks.
* PJM (hourly ``gen_all``): ``other_mw`` = Multiple Fuels + Other Renewables + Other (Other is
  empty in most hours; NaN parts count as 0 when another part is present); ``oil_mw`` = Oil.

Wind and solar values of the secondary (gap-filling) files above 1.5 x that file column's 99th
percentile are treated as errors, set to NaN and counted (13 hours of ERCOT solar of 78-127 GW
in the 2024 ``gen_sun-wnd`` file, ERCOT's fleet being about 20 GW then).

Curtailment
-----------
``solar_mwh`` / ``wind_mwh`` from ``daily_wind_vs_solar_curtailment.csv``; ``local_mwh`` /
``system_mwh`` from the long ``daily_curtailment_by_reason.csv`` (wind + solar, April 2022 on).
Days missing from one file are NaN in its columns. The monthly and yearly aggregate files are
read as cross-checks only: a difference above 0.5 % is noted in the row log.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from gis.errors import GisError
from gis.layers._dates import PLAIN_FORMS, iso_stamps, plain_stamps
from gis.rowlog import RowLog
from gis.sources import Fetched, Resolver
from gis.sources.archive import read_gzip

__all__ = [
    "FUEL_COLUMNS",
    "MIX_COLUMNS",
    "MIX_SOURCES",
    "PRICE_SOURCES",
    "build",
    "build_curtailment",
    "build_mix",
    "build_prices",
    "coverage",
    "file_kind",
    "hour_label",
    "mix_matrix",
    "price_matrix",
    "read_eia_csv",
    "read_oasis_zip",
    "year_hours",
]

PRICE_SOURCES = (
    "eia_wm_ercot",
    "eia_wm_caiso",
    "eia_wm_spp",
    "eia_wm_miso",
    "eia_wm_pjm",
    "caiso_oasis_np15_dam_2024",
)
"""Catalog entries feeding ``market_prices``."""
MIX_SOURCES = ("eia_wm_ercot", "eia_wm_miso", "eia_wm_pjm")
"""Catalog entries feeding ``market_mix``."""
CURTAILMENT_SOURCE = "caiso_curtailment_daily"

FUEL_COLUMNS = (
    "coal_mw",
    "gas_mw",
    "nuclear_mw",
    "hydro_mw",
    "wind_mw",
    "solar_mw",
    "oil_mw",
    "other_mw",
    "storage_mw",
    "total_mw",
)
"""Fuel columns of ``market_mix`` (MW, hourly mean)."""
MIX_COLUMNS = (*FUEL_COLUMNS, "load_mw")
"""Every value column of ``market_mix`` (MW)."""

UTC_COLUMN = "UTC Timestamp (Interval Ending)"
PREAMBLE_LINES = 3
HOUR_FORMAT = "%Y-%m-%dT%H:00Z"
STAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M")
INTERVAL_MINUTES = {"5min": 5, "15min": 15, "hr": 60}
MINUTE_NS = 60 * 10**9
HOUR_NS = 60 * MINUTE_NS
KINDS = ("da", "rt")
SPIKE_FACTOR = 1.5
"""Gap-filling wind/solar values above this multiple of the column's 99th percentile are errors."""
CHECK_TOLERANCE = 0.005
"""Relative difference above which the curtailment cross-checks are noted."""

_KEY = re.compile(
    r"^(?P<iso>[a-z]+)_(?P<what>lmp_rt|lmp_da|gen_all|gen_sun-wnd|gen_wnd|load_act)_(?P<res>5min|15min|hr)_"
)


def file_kind(key: str) -> tuple[str, str]:
    """``(what, resolution)`` of a market-portal file from its catalog key (its file name).

    >>> file_kind("ercot_lmp_rt_15min_hubs_2023Q1")
    ('lmp_rt', '15min')
    >>> file_kind("miso_gen_all_hr_2023")
    ('gen_all', 'hr')
    """
    match = _KEY.match(key)
    if not match:
        raise GisError(
            f"catalog key '{key}' is not a market-portal file name",
            field="files.key",
            fix="name the file <iso>_<lmp_rt|lmp_da|gen_all|gen_sun-wnd|gen_wnd|load_act>_<5min|15min|hr>_...",
        )
    return match["what"], match["res"]


def hour_label(hours: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """``"YYYY-MM-DDTHH:00Z"`` labels of UTC hours (formatted once per distinct hour).

    >>> hour_label(pd.DatetimeIndex(["2023-01-01 06:00", "2023-01-01 06:00"])).tolist()
    ['2023-01-01T06:00Z', '2023-01-01T06:00Z']
    """
    codes, uniques = pd.factorize(pd.DatetimeIndex(hours))
    labels = pd.DatetimeIndex(uniques).strftime(HOUR_FORMAT).to_numpy(dtype=object)
    return labels[codes]


def _text(values: object) -> pd.Series:
    """An object-dtype text column (kept as Python str: no per-value conversion on write)."""
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


def _parse_hours(labels: pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(labels, format="%Y-%m-%dT%H:%MZ", utc=True))


def _parse_stamps(values: pd.Series, *, file: str | Path, field: str) -> pd.Series:
    """Naive UTC datetimes from the portal's stamp column, in either of its two forms."""
    text = values.astype(object)
    sample = text.dropna()
    if sample.empty:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    first = str(sample.iloc[0]).strip()
    for fmt in STAMP_FORMATS:
        if pd.notna(pd.to_datetime(first, format=fmt, errors="coerce")):
            fast = plain_stamps(text, fmt) if fmt in PLAIN_FORMS else None  # ISO: pandas is fast
            return fast if fast is not None else pd.to_datetime(text, format=fmt, errors="coerce")
    raise GisError(
        f"timestamps like '{first}' are in no known form",
        file=file,
        field=field,
        fix="expected 'YYYY-MM-DD HH:MM:SS' (EIA portal) or 'M/D/YYYY H:MM' (spreadsheet re-save)",
    )


def _parts(spec: str) -> list[str]:
    return [p.strip() for p in spec.split(" + ") if p.strip()]


def _header(path: Path, content: bytes | None = None) -> list[str] | None:
    """The column names on the line after the preamble (None: unreadable; the full read says why).

    ``content``: the file's bytes, already inflated (else the file is read, gunzipped by name).
    """
    import csv
    import gzip

    try:
        fh: IO[str]
        if content is not None:
            fh = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
        else:
            opener = gzip.open if path.suffix == ".gz" else open
            fh = opener(path, "rt", encoding="utf-8-sig", newline="")
        with fh:
            for _ in range(PREAMBLE_LINES):
                fh.readline()
            return next(csv.reader([fh.readline()]))
    except (OSError, EOFError, UnicodeDecodeError, StopIteration, csv.Error):
        return None


def _read_arrow(path: Path, wanted: set[str], content: bytes | None = None) -> pd.DataFrame | None:
    """The wanted columns read by pyarrow's CSV reader, or None where it would not read pandas' values.

    The stamp column comes as text (object) and the others as float64, with pandas' NA strings as
    missing; a file whose header repeats a wanted name, or any value pyarrow will not convert
    (text in a number column, a short row), returns None and is read by pandas instead, so the
    values read are always those of ``pandas.read_csv``.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from pandas._libs.parsers import STR_NA_VALUES

    header = _header(path, content)
    if header is None or UTC_COLUMN not in header:
        return None
    names = [c for c in header if c in wanted]
    if len(set(names)) != len(names):
        return None
    try:
        table = pacsv.read_csv(
            path if content is None else pa.BufferReader(content),
            read_options=pacsv.ReadOptions(skip_rows=PREAMBLE_LINES, encoding="utf8"),
            convert_options=pacsv.ConvertOptions(
                include_columns=names,
                column_types={c: pa.string() if c == UTC_COLUMN else pa.float64() for c in names},
                null_values=sorted(STR_NA_VALUES),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    stamps = iso_stamps(table[UTC_COLUMN])  # parsed as pandas parses them, or None: text for pandas
    return pd.DataFrame(
        {
            c: table[c].to_numpy(zero_copy_only=False)
            if c != UTC_COLUMN
            else (stamps.to_numpy() if stamps is not None else np.asarray(table[c].to_pylist(), dtype=object))
            for c in names
        }
    )


def read_eia_csv(
    path: str | Path, columns: list[str], *, log: RowLog, label: str, optional: list[str] | None = None
) -> pd.DataFrame:
    """One portal CSV: ``utc_end`` (naive UTC datetime) and the wanted value columns as float64.

    Skips the 3 preamble lines, accepts the plain or gzipped file (by name) and the
    spreadsheet-saved form (trailing commas, ``M/D/YYYY H:MM``). Rows without a readable stamp
    and repeated stamps are dropped and counted. ``optional`` columns are read when present.
    Read by pyarrow's CSV reader where it gives pandas' values (:func:`_read_arrow`), else by
    ``pandas.read_csv``; a gzipped file is inflated once for its bomb check and its reading
    (:func:`gis.sources.archive.read_gzip`).

    Raises
    ------
    GisError
        when the header lacks the UTC column or a wanted column, naming the file and column.
    """
    path = Path(path)
    wanted = set(columns) | set(optional or ()) | {UTC_COLUMN}
    try:
        content = read_gzip(path) if path.suffix == ".gz" else None  # inflated once, when checked
        frame = _read_arrow(path, wanted, content)
        content = None
        if frame is None:
            frame = pd.read_csv(
                path,
                skiprows=PREAMBLE_LINES,
                usecols=lambda c: c in wanted,
                dtype={UTC_COLUMN: object},
                encoding="utf-8-sig",
            )
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as exc:
        raise GisError(
            f"cannot read the market CSV ({exc})", file=path, fix="re-download the file from the EIA portal"
        ) from exc
    missing = [c for c in [UTC_COLUMN, *columns] if c not in frame.columns]
    if missing:
        raise GisError(
            f"the market CSV lacks column '{missing[0]}' (expected after {PREAMBLE_LINES} preamble lines)",
            file=path,
            field=missing[0],
            fix="check the file against the [columns] table of its layers/*.toml entry",
        )
    log.read(len(frame))
    stamps = frame[UTC_COLUMN]
    if stamps.dtype != "datetime64[us]":  # text (stamps already parsed came as datetime64[us])
        stamps = _parse_stamps(stamps, file=path, field=UTC_COLUMN)
    present = [c for c in dict.fromkeys([*columns, *(optional or ())]) if c in frame.columns]
    values = frame[present]
    if not all(values.dtypes == "float64"):  # numbers already parsed need no coercion
        values = values.apply(pd.to_numeric, errors="coerce").astype("float64")
    out = pd.concat([pd.DataFrame({"utc_end": stamps}), values], axis=1)
    out = log.drop(out, out["utc_end"].isna(), f"{label}: no readable UTC timestamp")
    out = log.drop(out, out["utc_end"].duplicated(keep="first"), f"{label}: repeated UTC timestamp")
    return out


def _mapped(columns: Mapping[str, str], prefix: str) -> dict[str, str]:
    """``{canonical: source}`` for catalog keys ``"<prefix>:<canonical>"``."""
    return {k[len(prefix) + 1 :]: v for k, v in columns.items() if k.startswith(prefix + ":")}


def _source_files(resolver: Resolver, source: str, whats: tuple[str, ...]) -> list[tuple[Fetched, str, str]]:
    out = []
    for f in resolver.source(source).files:
        what, res = file_kind(f.key)
        if what not in whats:
            continue
        got = resolver.get(source, f.key)
        if got is not None:
            out.append((got, what, res))
    return out


def read_oasis_zip(path: str | Path, *, log: RowLog, columns: Mapping[str, str]) -> pd.DataFrame:
    """The LMP rows of a CAISO OASIS ``PRC_LMP`` zip, hourly: ``node, hour, price_usd_mwh, intervals``.

    Reads every ``.csv`` member outside ``__MACOSX/``; keeps ``XML_DATA_ITEM == "LMP_PRC"`` (the
    other price components are not read, and noted); maps OASIS node ids to ``CAISO:<hub>`` with
    the catalog's ``"price:<node>"`` entries. ``INTERVALSTARTTIME_GMT`` is the hour beginning.
    """
    path = Path(path)
    nodes = {v: k for k, v in _mapped(columns, "price").items()}
    fields = {
        k: columns.get(k, d)
        for k, d in (
            ("node", "NODE"),
            ("hour_start", "INTERVALSTARTTIME_GMT"),
            ("item", "XML_DATA_ITEM"),
            ("price", "MW"),
        )
    }
    try:
        with zipfile.ZipFile(path) as zf:
            members = [
                m
                for m in zf.namelist()
                if m.lower().endswith(".csv") and not m.startswith("__MACOSX/") and "/._" not in m
            ]
            if not members:
                raise GisError("the OASIS zip holds no CSV", file=path, fix="re-download the OASIS query")
            parts = [
                pd.read_csv(zf.open(m), usecols=list(fields.values()), dtype=str) for m in sorted(members)
            ]
    except (OSError, zipfile.BadZipFile, ValueError, pd.errors.ParserError) as exc:
        raise GisError(
            f"cannot read the OASIS zip ({exc})", file=path, fix="re-download it (CAISO OASIS, PRC_LMP, DAM)"
        ) from exc
    raw = pd.concat(parts, ignore_index=True).rename(columns={v: k for k, v in fields.items()})
    log.read(len(raw))
    lmp = raw["item"].str.strip() == "LMP_PRC"
    log.note(
        f"{path.name}: {int((~lmp).sum())} rows of other price components (energy, congestion, loss, GHG) not read"
    )
    raw = raw[lmp]
    frame = pd.DataFrame(
        {
            "node": raw["node"].str.strip().map(nodes),
            "hour": pd.to_datetime(raw["hour_start"], format="ISO8601", utc=True, errors="coerce"),
            "price_usd_mwh": pd.to_numeric(raw["price"], errors="coerce"),
        }
    )
    frame = log.drop(frame, frame["node"].isna(), "OASIS: node not in the catalog's price mapping")
    frame = log.drop(frame, frame["hour"].isna(), "OASIS: no readable interval start")
    frame = log.drop(frame, frame["price_usd_mwh"].isna(), "OASIS: no price")
    frame["hour"] = frame["hour"].dt.tz_localize(None)
    off_hour = frame["hour"] != frame["hour"].dt.floor("h")
    frame = log.drop(frame, off_hour, "OASIS: interval start not on the hour")
    frame = log.drop(frame, frame.duplicated(["node", "hour"]), "OASIS: repeated hour")
    return frame.assign(intervals=1)


def _hourly_means(
    utc_end: pd.Series, values: np.ndarray, res: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hourly means of interval values, NaN-aware, with numpy (no per-row Python).

    Returns ``(hours, mean, count)``: the sorted distinct hour beginnings (int64 ns since the
    epoch, UTC), the mean of the non-NaN values of each column in each hour (NaN where none) and
    their count, both shaped ``(n_hours, n_columns)``.
    """
    ends = utc_end.to_numpy(dtype="datetime64[ns]").view("int64")
    hours = (ends - INTERVAL_MINUTES[res] * MINUTE_NS) // HOUR_NS * HOUR_NS
    uniq, inv = np.unique(hours, return_inverse=True)
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    n, k = len(uniq), values.shape[1]
    sums = np.empty((n, k))
    counts = np.empty((n, k), dtype="int64")
    for j in range(k):  # a handful of columns, each summed in one vectorised pass
        sums[:, j] = np.bincount(inv, weights=filled[:, j], minlength=n)
        counts[:, j] = np.bincount(inv, weights=present[:, j], minlength=n).astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return uniq, mean, counts


def _codes(names: list[str], ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Object array of names sorted, and ``ids`` (indices into ``names``) renumbered to match."""
    order = np.argsort(np.array(names, dtype=object))
    rank = np.empty(len(names), dtype="int64")
    rank[order] = np.arange(len(names))
    return np.array(names, dtype=object)[order], rank[ids]


def _count_drop(log: RowLog, n: int, reason: str) -> None:
    if n:
        log.dropped[reason] = log.dropped.get(reason, 0) + int(n)


class _PriceParts:
    """Hourly price rows as they are read: node names in order of first sight, and column blocks."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self, names: list[str], index: np.ndarray, hours, price, intervals, kind: str, expected: int
    ) -> None:
        """Add rows: node ``names[index]``, hour (ns since epoch, UTC), price ($/MWh), intervals
        present/expected."""
        base = {n: i for i, n in enumerate(self.nodes)}
        for n in names:
            if n not in base:
                base[n] = len(self.nodes)
                self.nodes.append(n)
        codes = np.array([base[n] for n in names], dtype="int64")[np.asarray(index, dtype="int64")]
        self.parts.append(
            {
                "node": codes,
                "kind": np.full(len(codes), KINDS.index(kind), dtype="int64"),
                "hour": np.asarray(hours, dtype="int64"),
                "price": np.asarray(price, dtype="float64"),
                "intervals": np.asarray(intervals, dtype="int64"),
                "expected": np.full(len(codes), expected, dtype="int64"),
            }
        )


def _oasis_prices(resolver: Resolver, source: str, found: _PriceParts, log: RowLog) -> None:
    """Add the CAISO OASIS day-ahead hourly prices ($/MWh), one zip per query, to ``found``."""
    src = resolver.source(source)
    for f in src.files:  # one zip per query (the mirror holds 2024 in one)
        got = resolver.get(source, f.key)
        if got is not None:
            long = read_oasis_zip(got.path, log=log, columns=src.columns)
            hours = long["hour"].to_numpy(dtype="datetime64[ns]").view("int64")
            index, names = pd.factorize(long["node"].to_numpy(dtype=object))
            found.add(list(names), index, hours, long["price_usd_mwh"], long["intervals"], "da", 1)


def _eia_prices(resolver: Resolver, source: str, found: _PriceParts, log: RowLog) -> None:
    """Add one EIA portal source's hourly mean LMPs ($/MWh, RT and DA) to ``found``."""
    names = {v: k for k, v in _mapped(resolver.source(source).columns, "price").items()}
    groups: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for got, what, res in _source_files(resolver, source, ("lmp_rt", "lmp_da")):
        frame = read_eia_csv(got.path, list(names), log=log, label=got.file.key)
        groups.setdefault((what, res), []).append(frame)
    for (what, res), frames in groups.items():
        frame = pd.concat(frames, ignore_index=True)
        frame = log.drop(frame, frame["utc_end"].duplicated(), f"{source}: interval in two files")
        values = frame[list(names)].to_numpy(dtype="float64")
        empty = int(np.isnan(values).sum())
        if empty:
            log.note(f"{source} {what}: {empty} interval prices empty in the source (not averaged)")
        hours, mean, count = _hourly_means(frame["utc_end"], values, res)
        row, col = np.nonzero(count > 0)  # hours with no interval of a node make no row
        ids = list(names.values())
        found.add(
            ids,
            col,
            hours[row],
            mean[row, col],
            count[row, col],
            what.removeprefix("lmp_"),
            60 // INTERVAL_MINUTES[res],
        )


def _price_table(found: _PriceParts, log: RowLog) -> pd.DataFrame:
    """The ``market_prices`` rows sorted by node, kind and hour; a repeat from a second source dropped."""
    parts = found.parts
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    names_sorted, cols["node"] = _codes(found.nodes, cols["node"])
    order = np.lexsort((cols["hour"], cols["kind"], cols["node"]))
    cols = {k: v[order] for k, v in cols.items()}
    same = np.zeros(len(order), dtype=bool)
    same[1:] = (
        (cols["node"][1:] == cols["node"][:-1])
        & (cols["kind"][1:] == cols["kind"][:-1])
        & (cols["hour"][1:] == cols["hour"][:-1])
    )
    _count_drop(log, same.sum(), "same node, kind and hour from two sources")
    cols = {k: v[~same] for k, v in cols.items()}
    node_text = names_sorted[cols["node"]]
    market_of = np.array([n.split(":", 1)[0] for n in names_sorted], dtype=object)
    return pd.DataFrame(
        {
            "node": _text(node_text),
            "market": _text(market_of[cols["node"]]),
            "kind": _text(np.array(KINDS, dtype=object)[cols["kind"]]),
            "hour_utc": _text(hour_label(pd.DatetimeIndex(cols["hour"].astype("datetime64[ns]")))),
            "price_usd_mwh": cols["price"],
            "intervals": cols["intervals"],
            "intervals_expected": cols["expected"],
        }
    )


def build_prices(resolver: Resolver) -> tuple[pd.DataFrame, RowLog]:
    """The ``market_prices`` table and its row log (interval rows read; hourly rows kept)."""
    log = RowLog("market_prices")
    found = _PriceParts()
    for source in PRICE_SOURCES:
        if source == "caiso_oasis_np15_dam_2024":
            _oasis_prices(resolver, source, found, log)
        else:
            _eia_prices(resolver, source, found, log)
    if not found.parts:
        raise GisError(
            "no market price file is available",
            fix="add the eia_wm_* folders to the data directory or mirror (see layers/eia_wm_*.toml)",
        )
    out = _price_table(found, log)
    partial = int((out["intervals"] < out["intervals_expected"]).sum())
    log.note(
        f"{len(out):,} node-hours from {log.rows_kept:,} interval rows; {partial:,} hours with some "
        "intervals missing keep the mean of those present; hours with none are absent"
    )
    return out, log


def _drop_spikes(values: np.ndarray, labels: list[str], *, log: RowLog, label: str) -> np.ndarray:
    """Set values above SPIKE_FACTOR x the column's 99th percentile to NaN, counting them."""
    for j, name in enumerate(labels):
        col = values[:, j]
        if np.isnan(col).all():
            continue
        bad = col > SPIKE_FACTOR * np.nanquantile(col, 0.99)
        if bad.any():
            col[bad] = np.nan
            log.repair(
                int(bad.sum()), f"{label} {name}: above {SPIKE_FACTOR} x the 99th percentile, set to NaN"
            )
    return values


def _mix_plan(
    header: set[str] | None, what: str, columns: Mapping[str, str], *, path: Path
) -> dict[tuple[str, str], list[str]]:
    """``{(region, mix column): [source columns to sum]}`` for one kind of generation/load file.

    With ``header`` None: every candidate column; with the columns read: those present.
    """
    if what == "gen_all":
        plan = {}
        for region, prefix in _mapped(columns, "region").items():
            for fuel, spec in _mapped(columns, "mix").items():
                wanted = [f"{prefix} {part}".strip() for part in _parts(spec)]
                have = wanted if header is None else [c for c in wanted if c in header]
                if fuel == "total_mw" and not have:
                    raise GisError(
                        f"the fuel-mix file has no total column for region {region}",
                        file=path,
                        field=wanted[0],
                        fix="check the file against the region:/mix: entries of its layers/*.toml",
                    )
                if have:
                    plan[(region, fuel)] = have
        return plan
    kinds = {"gen_sun-wnd": ("wind", "solar"), "gen_wnd": ("wind",), "load_act": ("load",)}[what]
    return {(region, f"{kind}_mw"): [src] for kind in kinds for region, src in _mapped(columns, kind).items()}


def _mix_group(
    files: list[Fetched], what: str, res: str, columns: Mapping[str, str], log: RowLog
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Hourly mean MW of one kind of file (all its years/quarters): ``[(region, hours, values)]``.

    ``values`` is ``(n_hours, len(MIX_COLUMNS))`` with NaN for columns the file lacks; only
    hours with at least one value of the region are kept.
    """
    frames = []
    plan: dict[tuple[str, str], list[str]] = {}
    for got in files:
        candidates = sorted(
            {c for cols in _mix_plan(None, what, columns, path=got.path).values() for c in cols}
        )
        if what == "gen_all":  # fuels differ by region and ISO: read the ones present, in one pass
            frame = read_eia_csv(got.path, [], optional=candidates, log=log, label=got.file.key)
        else:
            frame = read_eia_csv(got.path, candidates, log=log, label=got.file.key)
        file_plan = _mix_plan(set(frame.columns), what, columns, path=got.path)
        data = {"utc_end": frame["utc_end"]}
        for (region, col), cols in file_plan.items():
            data[f"{region}|{col}"] = (
                frame[cols[0]] if len(cols) == 1 else frame[cols].sum(axis=1, min_count=1)
            )
        frames.append(pd.DataFrame(data))
        plan.update(file_plan)
    label = files[0].file.key.rsplit("_", 1)[0]
    frame = pd.concat(frames, ignore_index=True)
    frame = log.drop(frame, frame["utc_end"].duplicated(), f"{label}: interval in two files")
    keys = [c for c in frame.columns if c != "utc_end"]
    values = frame[keys].to_numpy(dtype="float64", copy=True)
    if what in ("gen_sun-wnd", "gen_wnd"):
        values = _drop_spikes(values, keys, log=log, label=label)
    hours, mean, _ = _hourly_means(frame["utc_end"], values, res)
    out = []
    for region in dict.fromkeys(k.split("|")[0] for k in keys):
        block = np.full((len(hours), len(MIX_COLUMNS)), np.nan)
        for j, key in enumerate(keys):
            reg, col = key.split("|")
            if reg == region:
                block[:, MIX_COLUMNS.index(col)] = mean[:, j]
        keep = ~np.isnan(block).all(axis=1)
        out.append((region, hours[keep], block[keep]))
    return out


def build_mix(resolver: Resolver) -> tuple[pd.DataFrame, RowLog]:
    """The ``market_mix`` table and its row log.

    Each column of a (region, hour) comes from the first file that has it, in the order fuel
    mix (``gen_all``), then wind/solar (``gen_sun-wnd``, ``gen_wnd``), then load.
    """
    log = RowLog("market_mix")
    order = {"gen_all": 0, "gen_sun-wnd": 1, "gen_wnd": 1, "load_act": 2}
    parts: list[tuple[int, str, np.ndarray, np.ndarray]] = []
    for source in MIX_SOURCES:
        columns = resolver.source(source).columns
        groups: dict[tuple[str, str], list[Fetched]] = {}
        for got, what, res in _source_files(resolver, source, tuple(order)):
            groups.setdefault((what, res), []).append(got)
        for (what, res), files in groups.items():
            for region, hours, values in _mix_group(files, what, res, columns, log):
                parts.append((order[what], region, hours, values))
    if not parts:
        raise GisError(
            "no fuel-mix file is available",
            fix="add eia_wm_ercot, eia_wm_miso and eia_wm_pjm to the data directory or mirror",
        )
    regions = list(dict.fromkeys(p[1] for p in parts))
    names_sorted, _ = _codes(regions, np.arange(len(regions)))
    rank = {name: i for i, name in enumerate(names_sorted)}
    key_parts = [rank[region] * (1 << 40) + hours // HOUR_NS for _, region, hours, _ in parts]
    keys, inverse = np.unique(np.concatenate(key_parts), return_inverse=True)
    result = np.full((len(keys), len(MIX_COLUMNS)), np.nan)
    primary = np.zeros(len(keys), dtype=bool)
    starts = np.cumsum([0] + [len(k) for k in key_parts])
    for i in sorted(range(len(parts)), key=lambda i: -parts[i][0]):  # lowest priority first
        idx = inverse[starts[i] : starts[i + 1]]
        vals = parts[i][3]
        for c in range(len(MIX_COLUMNS)):
            ok = ~np.isnan(vals[:, c])
            result[idx[ok], c] = vals[ok, c]
        if parts[i][0] == 0:
            primary[idx] = True
    region_idx = keys >> 40
    with_mix = np.isin(region_idx, np.unique(region_idx[primary]))
    filled = int((with_mix & ~primary).sum())
    if filled:
        log.note(
            f"{filled:,} hours of regions with a fuel mix lack it: wind/solar (and load) from the "
            "hourly files only, other fuels NaN"
        )
    market_of = np.array([n.split(":", 1)[0] for n in names_sorted], dtype=object)
    out = pd.DataFrame(
        {
            "market": _text(market_of[region_idx]),
            "region": _text(names_sorted[region_idx]),
            "hour_utc": _text(
                hour_label(pd.DatetimeIndex(((keys & ((1 << 40) - 1)) * HOUR_NS).astype("datetime64[ns]")))
            ),
        }
    )
    for c, col in enumerate(MIX_COLUMNS):
        out[col] = result[:, c]
    log.note(f"{len(out):,} region-hours from {log.rows_kept:,} interval rows (hourly means)")
    return out, log


def _read_small_csv(got: Fetched, cols: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(got.path, dtype=str, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise GisError(
            f"cannot read the curtailment CSV ({exc})", file=got.path, fix="re-download it"
        ) from exc
    for col in cols:
        if col not in frame.columns:
            raise GisError(
                f"the curtailment CSV lacks column '{col}'",
                file=got.path,
                field=col,
                fix="check the file against the [columns] table of layers/caiso_curtailment_daily.toml",
            )
    return frame


def _dated(frame: pd.DataFrame, date_col: str, log: RowLog, label: str) -> pd.DataFrame:
    stamp = pd.to_datetime(frame[date_col].str.strip(), format="%Y-%m-%d", errors="coerce")
    frame = frame.assign(date=stamp.dt.strftime("%Y-%m-%d"))
    return log.drop(frame, stamp.isna(), f"{label}: no readable date")


def _cross_check(log: RowLog, label: str, ours: pd.Series, theirs: pd.Series) -> None:
    both = pd.concat({"ours": ours, "theirs": theirs}, axis=1).dropna()
    rel = (both["ours"] - both["theirs"]).abs() / both["theirs"].abs().clip(lower=1.0)
    bad = rel[rel > CHECK_TOLERANCE]
    total = abs(both["ours"].sum() - both["theirs"].sum()) / max(abs(both["theirs"].sum()), 1.0)
    if len(bad):
        log.note(
            f"cross-check {label}: {len(bad)} of {len(both)} periods differ by > 0.5 % (e.g. {bad.index[0]}); "
            f"totals differ by {total:.3%}"
        )
    else:
        log.note(f"cross-check {label}: {len(both)} periods agree within 0.5 %")


_CURTAILMENT_COLUMNS = ("solar_mwh", "wind_mwh", "local_mwh", "system_mwh")


def _wind_solar_days(ws: Fetched, c: Mapping[str, str], date_col: str, log: RowLog) -> pd.DataFrame:
    """CAISO daily solar and wind curtailment (MWh) indexed by date, one row a day."""
    cols = [c.get("solar_mwh", "Solar Curtailment (MWh)"), c.get("wind_mwh", "Wind Curtailment (MWh)")]
    raw = _read_small_csv(ws, [date_col, *cols])
    log.read(len(raw))
    frame = _dated(raw, date_col, log, ws.file.key)
    frame = log.drop(frame, frame["date"].duplicated(), f"{ws.file.key}: repeated date")
    return pd.DataFrame(
        {
            "solar_mwh": pd.to_numeric(frame[cols[0]], errors="coerce").to_numpy(),
            "wind_mwh": pd.to_numeric(frame[cols[1]], errors="coerce").to_numpy(),
        },
        index=pd.Index(frame["date"], name="date"),
    )


def _reason_days(br: Fetched, c: Mapping[str, str], date_col: str, log: RowLog) -> pd.DataFrame:
    """CAISO daily curtailment (MWh) by reason, columns ``local_mwh`` and ``system_mwh``, by date."""
    reason_col = c.get("reason", "Reason")
    value_col = c.get("curtailment_mwh", "Curtailment (MWh)")
    raw = _read_small_csv(br, [date_col, reason_col, value_col])
    log.read(len(raw))
    frame = _dated(raw, date_col, log, br.file.key)
    reason = frame[reason_col].str.strip().str.lower()
    frame = log.drop(
        frame, ~reason.isin(["local", "system"]), f"{br.file.key}: reason neither Local nor System"
    )
    frame = frame.assign(reason=reason + "_mwh", value=pd.to_numeric(frame[value_col], errors="coerce"))
    frame = log.drop(frame, frame.duplicated(["date", "reason"]), f"{br.file.key}: repeated date and reason")
    return frame.pivot(index="date", columns="reason", values="value")


def build_curtailment(resolver: Resolver) -> tuple[pd.DataFrame, RowLog]:
    """The ``curtailment_daily`` table (CAISO) and its row log; empty, with a note, without files."""
    log = RowLog("curtailment_daily")
    c = resolver.source(CURTAILMENT_SOURCE).columns
    date_col = c.get("date", "Date")
    pieces = []
    ws = resolver.get(CURTAILMENT_SOURCE, "daily_wind_solar")
    if ws is not None:
        pieces.append(_wind_solar_days(ws, c, date_col, log))
    br = resolver.get(CURTAILMENT_SOURCE, "daily_by_reason")
    if br is not None:
        pieces.append(_reason_days(br, c, date_col, log))
    if not pieces:
        log.note("no CAISO curtailment file available (optional; the official form is an xlsx per year)")
        table = pd.DataFrame(columns=["date", *_CURTAILMENT_COLUMNS])
    else:
        table = pd.concat(pieces, axis=1).sort_index()
        table.index.name = "date"
        table = table.reset_index()
    for col in _CURTAILMENT_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    out = pd.DataFrame(
        {
            "market": "CAISO",
            "date": table["date"].astype(object),
            **{col: table[col].astype("float64") for col in _CURTAILMENT_COLUMNS},
        }
    )
    _curtailment_checks(resolver, out, log)
    return out, log


def _curtailment_checks(resolver: Resolver, out: pd.DataFrame, log: RowLog) -> None:
    """Compare the daily sums with the yearly-by-reason and monthly-solar aggregate files."""
    if out.empty:
        return
    c = resolver.source(CURTAILMENT_SOURCE).columns
    year = out["date"].str[:4].astype(int)
    yearly = resolver.get(CURTAILMENT_SOURCE, "yearly_by_reason")
    if yearly is not None:
        ycol, lcol, scol = c.get("year", "Year"), c.get("local_mwh", "Local"), c.get("system_mwh", "System")
        agg = _read_small_csv(yearly, [ycol, lcol, scol]).set_index(ycol)
        agg.index = agg.index.astype(int)
        for col, src in (("local_mwh", lcol), ("system_mwh", scol)):
            _cross_check(
                log, f"yearly {col}", out.groupby(year)[col].sum(min_count=1), pd.to_numeric(agg[src])
            )
    monthly = resolver.get(CURTAILMENT_SOURCE, "monthly_solar")
    if monthly is not None:
        agg = _read_small_csv(monthly, [c.get("date", "Date")]).set_index(c.get("date", "Date"))
        theirs = agg.apply(pd.to_numeric, errors="coerce").stack()
        theirs.index = [f"{y}-{int(m):02d}" for m, y in theirs.index]
        ours = out.groupby(out["date"].str[:7])["solar_mwh"].sum(min_count=1)
        _cross_check(log, "monthly solar_mwh", ours, theirs)
    solar = resolver.get(CURTAILMENT_SOURCE, "daily_solar_by_reason")
    if solar is not None:
        scol = c.get("solar_mwh", "Solar Curtailment (MWh)")
        raw = _read_small_csv(solar, [c.get("date", "Date"), scol])
        theirs = (
            pd.to_numeric(raw[scol], errors="coerce").groupby(raw[c.get("date", "Date")].str.strip()).sum()
        )
        _cross_check(log, "daily solar_mwh = solar by reason", out.set_index("date")["solar_mwh"], theirs)


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``market_prices``, ``market_mix`` and ``curtailment_daily`` (plain tables)."""
    return {
        "market_prices": build_prices(resolver),
        "market_mix": build_mix(resolver),
        "curtailment_daily": build_curtailment(resolver),
    }


def year_hours(year: int) -> pd.DatetimeIndex:
    """Every hour beginning of calendar ``year`` in UTC (8,760 or 8,784, tz-aware).

    >>> len(year_hours(2023)), len(year_hours(2024))
    (8760, 8784)
    >>> str(year_hours(2024)[0])
    '2024-01-01 00:00:00+00:00'
    """
    start = pd.Timestamp(year=year, month=1, day=1, tz="UTC")
    return pd.date_range(start, start + pd.DateOffset(years=1), freq="h", inclusive="left", name="hour_utc")


def _positions(labels: pd.Series, year: int) -> np.ndarray:
    hours = _parse_hours(labels)
    start = pd.Timestamp(year=year, month=1, day=1, tz="UTC")
    return ((hours - start) // pd.Timedelta(hours=1)).to_numpy(dtype="int64")


def price_matrix(
    market_prices: pd.DataFrame, *, year: int, kind: str = "rt", nodes: list[str] | None = None
) -> tuple[pd.DatetimeIndex, list[str], np.ndarray]:
    """Hourly prices of one UTC calendar year as a node x hour array.

    Parameters
    ----------
    market_prices
        the ``market_prices`` layer.
    year
        calendar year in UTC.
    kind
        ``"rt"`` or ``"da"``.
    nodes
        node ids in the order wanted (a node without data gives a row of NaN); default every
        node with ``kind`` prices in ``year``, sorted.

    Returns
    -------
    hours, nodes, prices
        :func:`year_hours`, the node ids, and a float64 array (n_nodes, n_hours) in $/MWh, NaN
        where the hour is missing.

    Examples
    --------
    >>> mp = pd.DataFrame({"node": ["SPP:NORTH", "SPP:NORTH"], "kind": ["rt", "rt"],
    ...                    "hour_utc": ["2023-01-01T00:00Z", "2023-01-01T02:00Z"],
    ...                    "price_usd_mwh": [10.0, -5.0]})
    >>> hours, ids, p = price_matrix(mp, year=2023)
    >>> ids, p.shape, p[0, :3].tolist()
    (['SPP:NORTH'], (1, 8760), [10.0, nan, -5.0])
    """
    hours = year_hours(year)
    sel = market_prices[
        (market_prices["kind"] == kind) & market_prices["hour_utc"].str.startswith(f"{year}-")
    ]
    ids = sorted(sel["node"].unique()) if nodes is None else list(nodes)
    out = np.full((len(ids), len(hours)), np.nan, dtype="float64")
    row = pd.Index(ids).get_indexer(sel["node"])
    keep = row >= 0
    col = _positions(sel["hour_utc"][keep], year)
    out[row[keep], col] = sel["price_usd_mwh"].to_numpy(dtype="float64")[keep]
    return hours, ids, out


def mix_matrix(market_mix: pd.DataFrame, *, year: int, region: str) -> pd.DataFrame:
    """One region's hourly fuel mix for a UTC calendar year, indexed by :func:`year_hours`.

    Columns are :data:`MIX_COLUMNS` (MW); NaN where the hour or the fuel is missing.

    >>> mm = pd.DataFrame({"region": ["PJM"], "hour_utc": ["2023-01-01T05:00Z"], "nuclear_mw": [33968.2]})
    >>> m = mix_matrix(mm, year=2023, region="PJM")
    >>> m.shape, float(m["nuclear_mw"].iloc[5]), bool(np.isnan(m["nuclear_mw"].iloc[4]))
    ((8760, 11), 33968.2, True)
    """
    hours = year_hours(year)
    sel = market_mix[(market_mix["region"] == region) & market_mix["hour_utc"].str.startswith(f"{year}-")]
    out = pd.DataFrame(np.nan, index=hours, columns=list(MIX_COLUMNS), dtype="float64")
    pos = _positions(sel["hour_utc"], year)
    for col in MIX_COLUMNS:
        if col in sel.columns:
            out.iloc[pos, out.columns.get_loc(col)] = sel[col].to_numpy(dtype="float64")
    return out


def coverage(market_prices: pd.DataFrame) -> pd.DataFrame:
    """Per node, kind and UTC year: hours present and their share, first/last hour, price stats.

    Columns: ``node, market, kind, year, hours_present, hours_in_year, share, first_hour,
    last_hour, hours_negative`` (< 0 $/MWh), ``hours_nonpositive`` (<= 0), ``mean_price_usd_mwh``.

    >>> mp = pd.DataFrame({"node": ["CAISO:SP15"] * 3, "market": ["CAISO"] * 3, "kind": ["rt"] * 3,
    ...                    "hour_utc": ["2024-03-01T18:00Z", "2024-03-01T19:00Z", "2024-03-01T20:00Z"],
    ...                    "price_usd_mwh": [-2.0, 0.0, 8.0]})
    >>> row = coverage(mp).iloc[0]
    >>> int(row.hours_present), int(row.hours_in_year), int(row.hours_negative), int(row.hours_nonpositive)
    (3, 8784, 1, 2)
    >>> float(row.mean_price_usd_mwh), row.first_hour, row.last_hour
    (2.0, '2024-03-01T18:00Z', '2024-03-01T20:00Z')
    """
    frame = market_prices.assign(
        year=market_prices["hour_utc"].str[:4].astype(int),
        neg=market_prices["price_usd_mwh"] < 0,
        nonpos=market_prices["price_usd_mwh"] <= 0,
    )
    if "market" not in frame.columns:
        frame["market"] = frame["node"].str.split(":", n=1).str[0]
    out = (
        frame.groupby(["node", "market", "kind", "year"], sort=True)
        .agg(
            hours_present=("hour_utc", "size"),
            first_hour=("hour_utc", "min"),
            last_hour=("hour_utc", "max"),
            hours_negative=("neg", "sum"),
            hours_nonpositive=("nonpos", "sum"),
            mean_price_usd_mwh=("price_usd_mwh", "mean"),
        )
        .reset_index()
    )
    leap = (out["year"] % 4 == 0) & ((out["year"] % 100 != 0) | (out["year"] % 400 == 0))
    out.insert(5, "hours_in_year", np.where(leap, 8784, 8760).astype("int64"))
    out.insert(6, "share", out["hours_present"] / out["hours_in_year"])
    out["hours_negative"] = out["hours_negative"].astype("int64")
    out["hours_nonpositive"] = out["hours_nonpositive"].astype("int64")
    cols = [
        "node",
        "market",
        "kind",
        "year",
        "hours_present",
        "hours_in_year",
        "share",
        "first_hour",
        "last_hour",
        "hours_negative",
        "hours_nonpositive",
        "mean_price_usd_mwh",
    ]
    return out[cols]
