"""A user's plant-level curtailment table (the scenario's ``[scoring.sites.stranded] curtailment_table``).

Read here, in the layers stage, like every other input; the sites stage receives the table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gis.errors import GisError

__all__ = ["read_curtailment_table"]


def read_curtailment_table(path: str | Path) -> pd.Series:
    """A user's plant-level curtailment, MWh/yr by EIA plant id, from CSV ``plant_id,curtailed_mwh_per_year``."""
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise GisError(
            f"cannot read the curtailment table ({exc})",
            file=path,
            field="scoring.sites.stranded.curtailment_table",
            fix="give a CSV with columns plant_id,curtailed_mwh_per_year",
        ) from exc
    for col in ("plant_id", "curtailed_mwh_per_year"):
        if col not in table.columns:
            raise GisError(
                "the curtailment table lacks a column",
                file=path,
                field=col,
                fix="give a CSV with columns plant_id,curtailed_mwh_per_year",
            )
    values = pd.to_numeric(table["curtailed_mwh_per_year"], errors="coerce")
    ids = pd.to_numeric(table["plant_id"], errors="coerce")
    bad = values.isna() | ids.isna() | (values < 0) | ids.duplicated()
    if bad.any():
        raise GisError(
            f"{int(bad.sum())} rows have a missing, negative or duplicate value",
            file=path,
            field="curtailed_mwh_per_year",
            fix="one row per plant_id, MWh per year >= 0",
        )
    return pd.Series(values.to_numpy(dtype="float64"), index=ids.astype("int64").to_numpy())
