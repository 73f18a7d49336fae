"""Hourly profiles kept for sites already seen: in the process and, when the layers are known by a
key, in the stage cache (:mod:`gis.memo`, stage ``profiles``).

The profiles of a set of sites depend on the sites (the columns :func:`gis.energy.build.surplus_profiles`
reads, in ``site_id`` order), the market layers and the ``[energy]`` table; not on the sites' rank.
So after a change of weights the estimate stage finds the profiles it computed before. An entry is
the arrays of :class:`gis.energy.profiles.SurplusProfiles` (``.npy``), its site table and the summary
(Parquet) and its ids and hours (JSON); a damaged entry is a miss.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gis.config.energy import EnergyConfig
from gis.energy.profiles import SurplusProfiles
from gis.memo import Memo, digest

__all__ = ["PROFILE_INPUTS", "ProfileStore"]

PROFILE_INPUTS = (
    "site_id",
    "category",
    "state",
    "offgrid",
    "capacity_mw",
    "asset_mw",
    "balancing_authority",
    "capacity_factor_max",
    "annual_wasted_mwh",
)
"""The site columns the profiles are computed from (with the points' coordinates)."""

_ARRAYS = ("price", "hour_weight", "intensity", "shapes")


class ProfileStore:
    """Profiles by the content of their inputs; ``layers_key`` (None: in the process only) names
    the layers they were computed on."""

    def __init__(self, layers_key: str | None = None) -> None:
        self.layers_key = layers_key
        self._kept: dict[str, tuple[SurplusProfiles, pd.DataFrame]] = {}

    def key(self, sites: pd.DataFrame, config: EnergyConfig) -> str:
        """Hex key of ``sites`` (in ``site_id`` order), their coordinates and the ``[energy]`` table."""
        wanted = [c for c in PROFILE_INPUTS if c in sites.columns]
        xy = pd.DataFrame({"x": sites.geometry.x.to_numpy(), "y": sites.geometry.y.to_numpy()})
        frame = pd.concat([pd.DataFrame(sites[wanted]).reset_index(drop=True), xy], axis=1)
        return digest("profiles", self.layers_key or "", frame, config)

    def get(self, key: str) -> tuple[SurplusProfiles, pd.DataFrame] | None:
        """The profiles and summary kept under ``key``, or None."""
        if key in self._kept:
            return self._kept[key]
        if self.layers_key is None:
            return None
        entry = Memo("profiles").load(key)
        if entry is None:
            return None
        try:
            found = _read(entry)
        except (OSError, ValueError, KeyError):
            return None  # damaged: computed again
        self._kept[key] = found
        return found

    def put(self, key: str, profiles: SurplusProfiles, summary: pd.DataFrame) -> None:
        """Keep ``profiles`` and ``summary`` under ``key`` (on disk too when the layers are keyed; a
        cache that cannot be written is only a miss next time)."""
        self._kept[key] = (profiles, summary)
        if self.layers_key is not None:
            Memo("profiles").store(key, lambda folder: _write(folder, profiles, summary))


def _write(folder: Path, profiles: SurplusProfiles, summary: pd.DataFrame) -> None:
    for name in _ARRAYS:
        np.save(folder / f"{name}.npy", getattr(profiles, name), allow_pickle=False)
    profiles.sites.to_parquet(folder / "sites.table.parquet")
    summary.to_parquet(folder / "summary.table.parquet")
    hours = profiles.hours  # its unit, zone, name and frequency kept as they are
    pd.DataFrame({"hour": hours}).to_parquet(folder / "hours.table.parquet")
    meta = {
        "year": profiles.year,
        "node_ids": list(profiles.node_ids),
        "shape_ids": list(profiles.shape_ids),
        "hours_name": hours.name,
        "hours_freq": hours.freqstr,
        "text_columns": {
            name: [str(c) for c, t in frame.dtypes.items() if pd.api.types.is_object_dtype(t)]
            for name, frame in (("sites", profiles.sites), ("summary", summary))
        },
    }
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _read(folder: Path) -> tuple[SurplusProfiles, pd.DataFrame]:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    tables = {
        name: pd.read_parquet(folder / f"{name}.table.parquet") for name in ("sites", "summary", "hours")
    }
    for name, columns in meta["text_columns"].items():  # Parquet reads object text back as strings
        frame = tables[name]
        for col in columns:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
    hours = pd.DatetimeIndex(tables["hours"]["hour"], name=meta["hours_name"], freq=meta["hours_freq"])
    profiles = SurplusProfiles(
        year=int(meta["year"]),
        hours=hours,
        node_ids=[str(n) for n in meta["node_ids"]],
        shape_ids=[str(s) for s in meta["shape_ids"]],
        sites=tables["sites"],
        **arrays,
    )
    return profiles, tables["summary"]
