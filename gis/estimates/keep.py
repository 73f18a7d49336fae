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

import numpy as np
import pandas as pd

from gis import memo
from gis.config.estimates import EstimatesConfig
from gis.energy.profiles import SurplusProfiles
from gis.memo import digest

__all__ = ["RANKING_INPUTS", "kept_json", "kept_tables", "monte_carlo_key", "release_fleet_tables"]

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


def monte_carlo_key(
    profiles: SurplusProfiles, ranking: pd.DataFrame, config: EstimatesConfig, network_ehs: float
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
    """
    used = [c for c in RANKING_INPUTS[config.selection.rule] if c in ranking.columns]
    return digest(
        "monte_carlo",
        config,
        float(network_ehs),
        pd.DataFrame(ranking[used]).reset_index(drop=True),
        profiles.sites.reset_index(drop=True),
        [profiles.year, list(profiles.node_ids), list(profiles.shape_ids), str(profiles.hours.tz)],
        _array(profiles.hours.asi8),
        *(_array(getattr(profiles, name)) for name in ("price", "hour_weight", "intensity", "shapes")),
    )


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


def kept_tables(key: str, make: Callable[[], tuple]) -> tuple:
    """``make()`` (the fleet's energy tables, :func:`gis.estimates.fleet.fleet_tables`), or what
    it gave before in this process for ``key`` (:func:`monte_carlo_key`: the profiles and the
    ``[estimates]`` table they are made from, and more). Their arrays are made read-only, so a
    model that reused them cannot change them for the next."""
    with _TABLES_LOCK:
        if key in _TABLES:
            _TABLES.move_to_end(key)
            return _TABLES[key]
    made = make()
    for value in made:
        arrays = [value] if isinstance(value, np.ndarray) else list(vars(value).values())
        for array in arrays:
            if isinstance(array, np.ndarray):
                array.setflags(write=False)
    with _TABLES_LOCK:
        _TABLES[key] = made
        while len(_TABLES) > _TABLES_MAX:
            _TABLES.popitem(last=False)
    return made


def release_fleet_tables() -> None:
    """Forget the fleet tables :func:`kept_tables` holds (40 MB for the national sites): for a
    process that will not estimate again, such as ``gis run`` once its estimates are made."""
    with _TABLES_LOCK:
        _TABLES.clear()
