"""The Monte Carlo's bands and the explorer's grid kept for the inputs they depend on: a weight
change does not redraw them.

:func:`gis.estimates.fleet.monte_carlo` re-sizes and re-selects the fleet in every draw from the
sites' hourly energy (:class:`gis.energy.profiles.SurplusProfiles`, after
:func:`gis.estimates.api._fleet_profiles`), their eligibility and the ``[estimates]`` table. The
sites' rank and score enter a draw only through the selection rule: ``target_gw`` fills the fleet
in rank order, ``score_threshold`` keeps the sites scoring at or above the threshold; under
``npv`` (the default) every site whose own fleet has NPV > 0 is in, and the national sums of a
draw do not depend on which marginal site enters first. So the key of the bands
(:func:`monte_carlo_key`) hashes the profiles, the eligibility, the rank only under ``target_gw``,
the score only under ``score_threshold``, the table, the network hashrate and the code
(:func:`gis.memo.package_digest`): new criteria weights reuse the bands, bit for bit.

The explorer's grid (:func:`gis.estimates.fleet.evaluate_points` on the same model) depends on the
same inputs and its axes. :func:`kept_json` keeps either in this process and, when asked, in the
stage cache (``$GIS_CACHE_DIR/stages/<kind>``, :class:`gis.memo.Memo`) as JSON, which gives back
the same floats.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from gis import memo
from gis.config.estimates import EstimatesConfig
from gis.energy.profiles import SurplusProfiles
from gis.memo import digest

__all__ = [
    "RANKING_INPUTS",
    "kept_json",
    "kept_tables",
    "monte_carlo_key",
    "profiles_key",
    "release_fleet_tables",
    "tables_key",
]

RANKING_INPUTS: dict[str, tuple[str, ...]] = {
    "npv": ("excluded",),
    "score_threshold": ("excluded", "score"),
    "target_gw": ("excluded", "rank"),
}
"""The ranking columns the Monte Carlo reads, by selection rule."""

_KEPT: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_KEPT_MAX = 8

_TABLES: OrderedDict[str, tuple] = OrderedDict()
_TABLES_MAX = 2
_TABLES_LOCK = threading.Lock()


def _array(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    return f"{a.dtype.str}{a.shape}".encode() + a.tobytes()


def profiles_key(profiles: SurplusProfiles) -> str:
    """Hex key of the sites' hourly energy: their rows, the hours, prices, weights, intensities and shapes."""
    return digest(
        "profiles",
        profiles.sites.reset_index(drop=True),
        [profiles.year, list(profiles.node_ids), list(profiles.shape_ids), str(profiles.hours.tz)],
        _array(profiles.hours.asi8),
        *(_array(getattr(profiles, name)) for name in ("price", "hour_weight", "intensity", "shapes")),
    )


def monte_carlo_key(
    profiles: SurplusProfiles,
    ranking: pd.DataFrame,
    config: EstimatesConfig,
    network_ehs: float,
    *,
    profiles_digest: str | None = None,
) -> str:
    """Hex key of what the Monte Carlo's bands depend on (module docstring).

    Parameters
    ----------
    profiles
        the fleet's profiles, row for row with ``ranking``.
    ranking
        ``score``, ``rank`` (lower is better) and ``excluded`` of the sites.
    config
        the ``[estimates]`` table (draws, seed and ranges included).
    network_ehs
        the network hashrate the fleet is priced against, EH/s.
    profiles_digest
        :func:`profiles_key` of ``profiles`` when the caller has it.
    """
    used = [c for c in RANKING_INPUTS[config.selection.rule] if c in ranking.columns]
    return digest(
        "monte_carlo",
        config,
        float(network_ehs),
        pd.DataFrame(ranking[used]).reset_index(drop=True),
        profiles_digest if profiles_digest is not None else profiles_key(profiles),
    )


def tables_key(config: EstimatesConfig, profiles_digest: str) -> str:
    """Hex key of the fleet's energy tables (:func:`gis.estimates.fleet.fleet_tables`): the sites'
    hourly energy (:func:`profiles_key`) and the ``[estimates.fleet]`` table (slabs, revenue grid);
    neither the ranking nor the network, nor the rest of the scenario."""
    return digest("fleet_tables", config.fleet, profiles_digest)


def kept_json(kind: str, key: str, make: Callable[[], dict], *, on_disk: bool) -> dict:
    """``make()``, or what it gave before for ``key``: from this process, else (``on_disk``) from
    the stage cache's ``kind`` folder (:func:`gis.memo.kept_bytes`, as JSON); a fresh dict each time
    (callers may change it).

    ``kind``: ``"monte_carlo"`` or ``"explorer_grid"``; ``make`` returns a JSON-able dict."""
    text = memo.kept_bytes(
        kind,
        key,
        lambda: json.dumps(make()).encode("utf-8"),
        memory=_KEPT,
        memory_max=_KEPT_MAX,
        suffix=".json",
        disk=on_disk,
    )
    return json.loads(text)


def kept_tables(key: str, make: Callable[[], tuple], *, on_disk: bool = False) -> tuple:
    """``make()`` (the fleet's energy tables, :func:`gis.estimates.fleet.fleet_tables`: the
    :class:`~gis.estimates.fleet.Tables` and each site's pair), or what it gave before for ``key``
    (:func:`tables_key`): from this process, else (``on_disk``) from the stage cache's
    ``fleet_tables`` folder, one ``.npy`` file per array mapped read-only (40 MB for the national
    sites, ~0.1 s to make; a damaged entry is made again). Their arrays are read-only, so a model
    that reused them cannot change them for the next."""
    with _TABLES_LOCK:
        if key in _TABLES:
            _TABLES.move_to_end(key)
            return _TABLES[key]
    made = _load_tables(key) if on_disk else None
    if made is None:
        made = make()
        for value in made:
            arrays = [value] if isinstance(value, np.ndarray) else list(vars(value).values())
            for array in arrays:
                if isinstance(array, np.ndarray):
                    array.setflags(write=False)
        if on_disk:
            _store_tables(key, made)
    with _TABLES_LOCK:
        _TABLES[key] = made
        while len(_TABLES) > _TABLES_MAX:
            _TABLES.popitem(last=False)
    return made


TABLES_KEPT = 2
"""Entries of fleet tables kept in the stage cache (most recent first)."""


def _store_tables(key: str, made: tuple) -> None:
    """Write the tables and the sites' pairs as ``.npy`` files and their scalars as JSON."""
    tables, site_pair = made
    arrays = {name: value for name, value in vars(tables).items() if isinstance(value, np.ndarray)}
    scalars = {name: value for name, value in vars(tables).items() if name not in arrays}

    def fill(folder: Path) -> None:
        for name, array in {**arrays, "site_pair": site_pair}.items():
            np.save(folder / f"{name}.npy", array, allow_pickle=False)
        (folder / "tables.json").write_text(json.dumps({"scalars": scalars, "arrays": list(arrays)}))

    memo.Memo("fleet_tables", keep=TABLES_KEPT).store(key, fill)


def _load_tables(key: str) -> tuple | None:
    """The tables kept for ``key`` in the stage cache, their arrays mapped read-only; None on a miss."""
    from gis.estimates.fleet import Tables

    entry = memo.Memo("fleet_tables", keep=TABLES_KEPT).load(key)
    if entry is None:
        return None
    try:
        layout = json.loads((entry / "tables.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(entry / f"{name}.npy", mmap_mode="r") for name in layout["arrays"]}
        site_pair = np.load(entry / "site_pair.npy", mmap_mode="r")
        return Tables(**layout["scalars"], **arrays), site_pair
    except (OSError, ValueError, KeyError, TypeError):
        return None  # damaged or of another layout: made again


def release_fleet_tables() -> None:
    """Forget the fleet tables :func:`kept_tables` holds (40 MB for the national sites): for a
    process that will not estimate again, such as ``gis run`` once its estimates are made."""
    with _TABLES_LOCK:
        _TABLES.clear()
