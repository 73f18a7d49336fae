"""Dates and times written in a non-ISO form, parsed as pandas parses them, without ``strptime``.

pandas parses an ISO stamp in C but any other ``format=`` with Python-level ``strptime`` per
value (~2 microseconds each). :func:`plain_stamps` computes the same ``datetime64[us]`` values
with pyarrow string kernels and numpy when every value is plainly written, and otherwise says
so (None) so that the caller lets pandas parse, and coerce, as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PLAIN_FORMS", "plain_stamps"]

PLAIN_FORMS = {
    "%m/%d/%Y %H:%M": ("mdyHM", "// :", ((1, 2), (1, 2), (4, 4), (1, 2), (2, 2))),
    "%m/%d/%Y": ("mdy", "//", ((1, 2), (1, 2), (4, 4))),
}
"""Per stamp form, its plainest writing: fields in order, the separator after each, digits (min, max)."""


def plain_stamps(text: pd.Series, fmt: str) -> pd.Series | None:
    """``pd.to_datetime(text, format=fmt, errors="coerce")`` when every stamp is plainly written.

    Every value must be missing or written exactly as :data:`PLAIN_FORMS` ``[fmt]`` says (ASCII
    digits of the allowed widths between the format's separators, nothing else) with a real
    calendar date and time (month 1-12, a day of that month, hour 0-23, minute and second 0-59,
    year from 1); the stamps are then computed with pyarrow and numpy (pandas parses each one
    with ``strptime``). Else None: the caller lets pandas parse (and coerce) them.

    >>> plain_stamps(pd.Series(["1/2/2023 6:15", None], dtype=object), "%m/%d/%Y %H:%M").tolist()
    [Timestamp('2023-01-02 06:15:00'), NaT]
    >>> plain_stamps(pd.Series(["2/29/2023 6:15"], dtype=object), "%m/%d/%Y %H:%M") is None
    True
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    names, seps, widths = PLAIN_FORMS[fmt]
    try:
        arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if arr.null_count == len(arr):  # pandas gives an all-missing column its own unit
        return None
    unified = arr
    for sep in set(seps) - {"/"}:
        unified = pc.replace_substring(unified, sep, "/")
    pieces = pc.split_pattern(unified, "/")
    if pc.any(pc.not_equal(pc.list_value_length(pieces), len(names))).as_py():
        return None
    columns = [pc.list_element(pieces, i) for i in range(len(names))]
    joined = pc.binary_join_element_wise(
        *[x for c, s in zip(columns, [*seps, ""], strict=True) for x in (c, s)], ""
    )
    if pc.any(pc.not_equal(joined, arr)).as_py():  # separators other than the format's
        return None
    number = {}
    for name, column, (low, high) in zip(names, columns, widths, strict=True):
        size = pc.utf8_length(column)
        plain = pc.and_(
            pc.ascii_is_decimal(column), pc.and_(pc.greater_equal(size, low), pc.less_equal(size, high))
        )
        if pc.any(pc.invert(plain)).as_py():
            return None
        number[name] = pc.cast(pc.fill_null(column, "0"), pa.int64()).to_numpy(zero_copy_only=False)
    zero = np.zeros(len(arr), dtype="int64")
    return _from_parts(
        *(number.get(k, zero) for k in "ymdHMS"),
        missing=arr.is_null().to_numpy(zero_copy_only=False),
        like=text,
    )


def _from_parts(year, month, day, hour, minute, second, *, missing, like: pd.Series) -> pd.Series | None:
    """datetime64[us] stamps from whole-number parts (NaN where missing); None if one is no real time."""
    ok = missing | (
        (year >= 1)
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
    )
    if not ok.all():
        return None
    y, m = np.where(missing, 1970, year), np.where(missing, 1, month)
    first = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    days_in_month = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype("int64")
    if (~missing & (day > days_in_month)).any():
        return None
    seconds = (np.where(missing, 0, day) - 1) * 86400 + hour * 3600 + minute * 60 + second
    stamps = first.astype("datetime64[us]") + np.where(missing, 0, seconds).astype("timedelta64[s]")
    stamps[missing] = np.datetime64("NaT")
    return pd.Series(stamps, index=like.index, name=like.name)
