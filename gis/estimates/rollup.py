"""The candidate sites the estimates read: the columns they need, typed and checked.

The fleet itself (sizes, dispatch, dilution, sums) is :mod:`gis.estimates.fleet`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis.config.vocabulary import CATEGORIES
from gis.errors import GisError

__all__ = ["REQUIRED_COLUMNS", "check_sites"]

REQUIRED_COLUMNS: dict[str, str] = {
    "site_id": "str",
    "category": "str",
    "state": "str",
    "owner_class": "str",
    "fuel": "str",
    "mineable_mw": "float64",
    "score": "float64",
    "rank": "float64",
    "excluded": "bool",
    "energy_cost_usd_mwh": "float64",
    "co2_t_per_mwh": "float64",
}
"""candidate_sites columns the estimates read, with the dtype they are read as."""


def check_sites(sites: pd.DataFrame, *, source: str = "candidate_sites") -> pd.DataFrame:
    """Return the columns the estimates need, typed; GisError naming ``source`` and the column if one
    is missing or unreadable, or if a category is not one of :data:`gis.config.vocabulary.CATEGORIES`."""
    missing = [c for c in REQUIRED_COLUMNS if c not in sites.columns]
    if missing:
        raise GisError(
            f"the candidate sites lack column(s) {', '.join(missing)}",
            file=source,
            field=missing[0],
            fix="rerun `gis score` so sites.gpkg has the candidate_sites columns the estimates read",
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(sites)))
    for col, dtype in REQUIRED_COLUMNS.items():
        values = sites[col].reset_index(drop=True)
        try:
            if dtype == "str":
                out[col] = _text(values)
            elif dtype == "bool":
                if values.isna().any():
                    raise ValueError("missing values")
                out[col] = values.astype(bool).to_numpy()
            else:
                out[col] = pd.to_numeric(values, errors="raise").astype("float64").to_numpy()
        except (ValueError, TypeError) as exc:
            raise GisError(
                f"values of the candidate sites are not {dtype} ({exc})",
                file=source,
                field=col,
                fix="rerun `gis score`; the column must hold " + dtype,
            ) from exc
    out["setting"] = _text(sites["setting"]) if "setting" in sites.columns else ""
    unknown = sorted(set(out["category"]) - set(CATEGORIES))
    if unknown:
        raise GisError(
            f"unknown site categories {unknown[:5]}",
            file=source,
            field="category",
            fix="categories must be one of " + ", ".join(CATEGORIES),
        )
    return out


def _text(values: pd.Series) -> np.ndarray:
    """``values`` as Python strings (object array), ``""`` where missing, ``str(value)`` else.

    >>> _text(pd.Series(["TX", None, float("nan"), 3])).tolist()
    ['TX', '', '', '3']
    """
    raw = values.to_numpy(dtype=object)
    missing = pd.isna(raw)
    kept = raw[~missing]
    if pd.api.types.infer_dtype(kept, skipna=False) in {"string", "empty"}:
        out = raw.copy()
        out[missing] = ""
        return out
    return np.array(["" if m else str(v) for v, m in zip(raw, missing, strict=True)], dtype=object)
