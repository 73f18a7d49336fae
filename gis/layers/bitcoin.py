"""Bitcoin network history (hashrate, difficulty) and the 2020 F2Pool ASIC table.

``btc_network`` (plain table, one row per UTC day): the union of four series,

==========================  ===============================  =======================
source                      span                             fields
==========================  ===============================  =======================
blockchain_com_btc_2020_2025  2020-04-11 .. 2025-04-08, daily  hashrate, difficulty
coinmetrics_btc             2009-01-03 .. 2020-07-27, daily  HashRate, DiffMean
blockchain_com_btc          2009 .. 2022-10 every 3 days;    hashrate; difficulty
                            2021-10 .. 2022-10 daily
==========================  ===============================  =======================

Where they overlap, each field comes from the first source in that order that has it, and
``source`` names the source(s) used for the row. Hashrates arrive in TH/s and are stored in
EH/s (1 EH/s = 10^6 TH/s).

Blockchain.com files are read in any of their forms: the mirror CSVs (with a header), the
charts API CSV (``format=csv``, no header: timestamp, value) and the charts API JSON
(``{"values": [{"x": unix_seconds, "y": value}, ...]}``).

``asic_models``: the March 2020 F2Pool list (86 models up to the Antminer S19 Pro). Its column
names carry non-breaking spaces and trailing blanks; they are normalised before mapping. Newer
models are not added here: the estimates stage keeps its own cited catalogue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from gis.errors import GisError
from gis.rowlog import RowLog
from gis.sources import Fetched, Resolver

__all__ = [
    "HASHES_PER_DIFFICULTY",
    "TARGET_BLOCK_S",
    "TH_PER_EH",
    "build",
    "latest_network",
    "normalise_column",
    "read_asic_models",
    "read_series",
]

TH_PER_EH = 1e6
"""TH/s per EH/s."""
HASHES_PER_DIFFICULTY = 2**32
"""Expected hashes per block at difficulty 1 (Bitcoin Core, GetDifficulty / pow.cpp)."""
TARGET_BLOCK_S = 600
"""Target block spacing in seconds (Bitcoin Core chainparams, nPowTargetSpacing = 10 * 60)."""

SERIES = (
    # (priority, source, file key, field): lower priority number wins where series overlap
    (0, "blockchain_com_btc_2020_2025", "hashrate", "hashrate_ths"),
    (0, "blockchain_com_btc_2020_2025", "difficulty", "difficulty"),
    (1, "coinmetrics_btc", "btc", "hashrate_ths"),
    (1, "coinmetrics_btc", "btc", "difficulty"),
    (2, "blockchain_com_btc", "hashrate", "hashrate_ths"),
    (2, "blockchain_com_btc", "difficulty", "difficulty"),
)


def normalise_column(name: object) -> str:
    """Lower-case column name with non-breaking spaces, repeated and edge blanks removed."""
    text = str(name).replace("\xa0", " ").replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def _is_date(text: str) -> bool:
    return not pd.isna(pd.to_datetime(text, errors="coerce", format="mixed"))


def _csv_series(path: Path, *, date_col: str, value_col: str) -> pd.DataFrame:
    """Date and value columns of a CSV with a header, or of a headerless two-column API CSV."""
    try:
        raw = pd.read_csv(path, header=None, dtype=str, encoding="utf-8-sig", low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise GisError(f"cannot read the series ({exc})", file=path, fix="re-download the file") from exc
    if raw.empty:
        raise GisError("the series is empty", file=path, fix="re-download the file")
    if _is_date(str(raw.iat[0, 0])):  # the charts API CSV: no header
        return raw.iloc[:, :2].set_axis(["date", "value"], axis=1)
    header = [normalise_column(c) for c in raw.iloc[0]]
    body = raw.iloc[1:].set_axis(header, axis=1)
    for col in (date_col, value_col):
        if normalise_column(col) not in header:
            raise GisError(
                f"the series lacks column '{col}' (columns: {', '.join(header)})",
                file=path,
                field=col,
                fix="check the file against the [columns] table of its layers/*.toml entry",
            )
    return body[[normalise_column(date_col), normalise_column(value_col)]].set_axis(["date", "value"], axis=1)


def _json_series(path: Path) -> pd.DataFrame:
    """The charts API JSON: {"values": [{"x": unix_seconds, "y": value}, ...], "unit": ...}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise GisError(f"cannot read the JSON series ({exc})", file=path, fix="re-download the file") from exc
    values = data.get("values") if isinstance(data, dict) else None
    if not isinstance(values, list):
        raise GisError(
            "the JSON has no 'values' list",
            file=path,
            field="values",
            fix='expected the charts API form {"values": [{"x": unix_seconds, "y": value}, ...]}',
        )
    unit = str(data.get("unit", ""))
    if "hash" in unit.lower() and "TH/s" not in unit:
        raise GisError(
            f"hash rate unit '{unit}' is not TH/s",
            file=path,
            field="unit",
            fix="download the hash-rate chart in its default unit (TH/s)",
        )
    frame = pd.DataFrame(values)
    if frame.empty:
        return pd.DataFrame({"date": pd.Series(dtype=str), "value": pd.Series(dtype=float)})
    if not {"x", "y"} <= set(frame.columns):
        raise GisError("the JSON values lack 'x' or 'y'", file=path, field="values")
    seconds = pd.to_numeric(frame["x"], errors="coerce")
    dates = pd.to_datetime(seconds, unit="s", utc=True).dt.strftime("%Y-%m-%d")
    return pd.DataFrame({"date": dates, "value": frame["y"]})


def read_series(fetched: Fetched, *, date_col: str, value_col: str, log: RowLog, label: str) -> pd.DataFrame:
    """One dated series as (date 'YYYY-MM-DD', value float); undated / empty values counted."""
    path = Path(fetched.path)
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    frame = (
        _json_series(path)
        if head.startswith(b"{")
        else _csv_series(path, date_col=date_col, value_col=value_col)
    )
    log.read(len(frame))
    stamp = pd.to_datetime(frame["date"].astype("string").str.strip(), errors="coerce", format="mixed")
    value = pd.to_numeric(frame["value"], errors="coerce")
    frame = pd.DataFrame({"date": stamp.dt.strftime("%Y-%m-%d"), "value": value})
    frame = log.drop(frame, stamp.isna(), f"{label}: no readable date")
    frame = log.drop(frame, frame["value"].isna(), f"{label}: no value")
    frame = log.drop(frame, frame["date"].duplicated(keep="last"), f"{label}: second sample on the same day")
    return frame


def _series_columns(source: str, key: str, field: str, columns: Mapping[str, str]) -> tuple[str, str]:
    """(date column, value column) names of one series from the catalog entry's [columns]."""
    value_key = f"{key}_{field}" if f"{key}_{field}" in columns else field
    date_key = f"{key}_date" if f"{key}_date" in columns else "date"
    for k in (date_key, value_key):
        if k not in columns:
            raise GisError(
                f"the catalog entry maps no source column to '{k}'",
                file=f"layers/{source}.toml",
                field=k,
                fix=f'add `{k} = "<source column>"` to its [columns] table',
            )
    return columns[date_key], columns[value_key]


def build_network(resolver: Resolver) -> tuple[pd.DataFrame, RowLog]:
    """The ``btc_network`` table (one row per day, hashrate in EH/s) and its row log."""
    log = RowLog("btc_network")
    long = []
    for priority, source, key, field in SERIES:
        fetched = resolver.require(source, key)
        date_col, value_col = _series_columns(source, key, field, fetched.source.columns)
        series = read_series(
            fetched, date_col=date_col, value_col=value_col, log=log, label=f"{source}/{key}/{field}"
        )
        long.append(series.assign(field=field, priority=priority, source=source))
    stacked = pd.concat(long, ignore_index=True).sort_values(["date", "field", "priority"], kind="stable")
    best = stacked.drop_duplicates(["date", "field"], keep="first")
    overridden = len(stacked) - len(best)
    if overridden:
        log.note(f"{overridden} values superseded by a preferred source on the same day")
    values = best.pivot(index="date", columns="field", values="value")
    origin = best.pivot(index="date", columns="field", values="source")
    hr_src = origin.get("hashrate_ths", pd.Series(index=origin.index, dtype=object)).fillna("")
    diff_src = origin.get("difficulty", pd.Series(index=origin.index, dtype=object)).fillna("")
    both = (hr_src != "") & (diff_src != "") & (hr_src != diff_src)
    source = hr_src.where(hr_src != "", diff_src).where(~both, hr_src + ";" + diff_src)
    network = pd.DataFrame(
        {
            "date": values.index.astype(str),
            "hashrate_ehs": values.get("hashrate_ths", np.nan) / TH_PER_EH,
            "difficulty": values.get("difficulty", np.nan),
            "source": source.to_numpy(),
        }
    ).reset_index(drop=True)
    log.note(
        f"{len(network)} days {network['date'].iloc[0]} .. {network['date'].iloc[-1]}; "
        + ", ".join(f"{k}: {v}" for k, v in network["source"].value_counts().sort_index().items())
    )
    return network, log


def latest_network(btc_network: pd.DataFrame, *, window_days: int = 7) -> dict:
    """The network's state on its last day with a hashrate, for the estimates stage.

    Returns ``date`` (YYYY-MM-DD), ``hashrate_ehs`` (mean over the last ``window_days`` calendar
    days up to that date, EH/s), ``difficulty`` (last known), ``implied_hashrate_ehs`` =
    difficulty x 2^32 / 600 s / 1e18 (EH/s) and ``source``.
    """
    rows = btc_network.dropna(subset=["hashrate_ehs"])
    if rows.empty:
        raise GisError(
            "the btc_network table has no hashrate",
            field="hashrate_ehs",
            fix="rebuild the layers with the Bitcoin network sources",
        )
    dates = pd.to_datetime(rows["date"])
    last = dates.max()
    recent = rows.loc[dates > last - pd.Timedelta(days=window_days)]
    diffs = btc_network.dropna(subset=["difficulty"])
    difficulty = float(diffs["difficulty"].iloc[-1]) if len(diffs) else float("nan")
    return {
        "date": last.strftime("%Y-%m-%d"),
        "hashrate_ehs": float(recent["hashrate_ehs"].mean()),
        "hashrate_window_days": int(window_days),
        "difficulty": difficulty,
        "difficulty_date": str(diffs["date"].iloc[-1]) if len(diffs) else "",
        "implied_hashrate_ehs": difficulty * HASHES_PER_DIFFICULTY / TARGET_BLOCK_S / 1e18,
        "source": str(rows["source"].iloc[-1]),
    }


ASIC_FIELDS = ("maker", "device", "hashrate_ths", "power_w", "release_year")


def _asic_columns(fetched: Fetched, log: RowLog) -> pd.DataFrame:
    """The device table's :data:`ASIC_FIELDS` columns as text, blank rows left out (counted)."""
    try:
        raw = pd.read_csv(fetched.path, encoding="utf-8-sig", dtype=str)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise GisError(
            f"cannot read the ASIC table ({exc})", file=fetched.path, fix="re-download the file"
        ) from exc
    log.read(len(raw))
    raw = raw.set_axis([normalise_column(c) for c in raw.columns], axis=1)
    columns = fetched.source.columns
    picked = {}
    for field in ASIC_FIELDS:
        wanted = normalise_column(columns.get(field, field))
        if field not in columns or wanted not in raw.columns:
            raise GisError(
                f"the ASIC table lacks the column mapped to '{field}'",
                file=fetched.path,
                field=columns.get(field, field),
                fix="check the file against the [columns] table of layers/asic_models_2020.toml",
            )
        picked[field] = raw[wanted]
    frame = pd.DataFrame(picked)
    return log.drop(frame, frame.isna().all(axis=1), "blank rows")


def _model_names(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each device's model name (the maker prefixed unless the device name starts with it) and maker."""
    maker = frame["maker"].astype("string").str.strip().fillna("")
    device = frame["device"].astype("string").str.replace(r"\s+", " ", regex=True).str.strip().fillna("")
    device = device.str.replace(r"\(\s*(.*?)\s*\)", r"(\1)", regex=True)
    starts = np.char.startswith(device.str.lower().to_numpy(dtype=str), maker.str.lower().to_numpy(dtype=str))
    has_maker = pd.Series(starts, index=device.index) & (maker != "")
    return device.where(has_maker, (maker + " " + device).str.strip()), maker


def _distinct_models(out: pd.DataFrame, log: RowLog) -> pd.DataFrame:
    """A model name listed twice with other specs gets its hashrate (TH/s) and year appended."""
    repeated = out["model"].duplicated(keep=False)
    if repeated.any():
        suffix = (
            " ("
            + out["hashrate_ths"].map("{:g}".format)
            + " TH/s, "
            + out["release_year"].astype("string").fillna("?")
            + ")"
        )
        out.loc[repeated, "model"] = out.loc[repeated, "model"] + suffix[repeated]
        log.repair(
            int(repeated.sum()), "model name listed twice with other specs: hashrate and year appended"
        )
    return out


def read_asic_models(fetched: Fetched, *, log: RowLog) -> pd.DataFrame:
    """The F2Pool device table as ``asic_models`` rows (hashrate TH/s, power W, J/TH)."""
    frame = _asic_columns(fetched, log)
    model, maker = _model_names(frame)
    out = pd.DataFrame(
        {
            "model": model,
            "maker": maker,
            "hashrate_ths": pd.to_numeric(frame["hashrate_ths"], errors="coerce"),
            "power_w": pd.to_numeric(frame["power_w"], errors="coerce").astype("float64"),
            "release_year": pd.to_numeric(frame["release_year"], errors="coerce").astype("Int64"),
        }
    )
    out = log.drop(out, out["model"] == "", "no model name")
    out = log.drop(out, ~(out["hashrate_ths"] > 0) | ~(out["power_w"] > 0), "no positive hashrate or power")
    out = log.drop(out, out.duplicated(["model", "hashrate_ths", "power_w", "release_year"]), "duplicate row")
    out = _distinct_models(out, log)
    out["efficiency_j_th"] = out["power_w"] / out["hashrate_ths"]
    out["source"] = f"{fetched.source.name}: {fetched.source.title}"
    return out.reset_index(drop=True)


def build(resolver: Resolver, built: Mapping[str, pd.DataFrame]) -> dict[str, tuple[pd.DataFrame, RowLog]]:
    """Build ``btc_network`` and ``asic_models`` (plain tables)."""
    network, network_log = build_network(resolver)
    asic_log = RowLog("asic_models")
    asics = read_asic_models(resolver.require("asic_models_2020", "devices"), log=asic_log)
    return {"btc_network": (network, network_log), "asic_models": (asics, asic_log)}
