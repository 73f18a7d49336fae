"""Dates and times written in a non-ISO form, parsed as pandas parses them, without ``strptime``.

pandas parses an ISO stamp in C but any other ``format=`` with Python-level ``strptime`` per
value (~2 microseconds each). :func:`plain_stamps` computes the same ``datetime64[us]`` values
with pyarrow string kernels and numpy when every value is plainly written, and otherwise says
so (None) so that the caller lets pandas parse, and coerce, as before. :func:`iso_stamps` does
the same for ``YYYY-MM-DD HH:MM:SS`` text still in a pyarrow array (no Python string per value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ISO_STAMP", "PLAIN_FORMS", "iso_stamps", "plain_stamps"]

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


ISO_STAMP = "%Y-%m-%d %H:%M:%S"
"""The one form :func:`iso_stamps` reads: 19 characters, digits at fixed places."""

_ISO_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_ISO_MARKS = {4: ord("-"), 7: ord("-"), 10: ord(" "), 13: ord(":"), 16: ord(":")}


def iso_stamps(values) -> pd.Series | None:
    """``pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce")`` of a pyarrow string
    array whose every value is missing or exactly ``YYYY-MM-DD HH:MM:SS`` (ASCII digits) with a
    real date and time (:func:`plain_stamps`' rules); None otherwise, or when all are missing.

    The characters are read as one byte matrix from the array's buffers.

    >>> import pyarrow as pa
    >>> iso_stamps(pa.array(["2023-01-01 06:15:00", None])).tolist()
    [Timestamp('2023-01-01 06:15:00'), NaT]
    >>> iso_stamps(pa.array(["2023-01-01T06:15:00"])) is None
    True
    """
    import pyarrow as pa

    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not pa.types.is_string(arr.type) or arr.null_count == len(arr):
        return None
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    if not (np.diff(offsets)[valid] == 19).all():
        return None
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    chars = data[offsets[:-1][valid][:, None] + np.arange(19)]
    digits = chars[:, _ISO_DIGITS].astype(np.int64) - ord("0")
    if ((digits < 0) | (digits > 9)).any() or any((chars[:, i] != c).any() for i, c in _ISO_MARKS.items()):
        return None
    n = len(arr)
    parts = []
    for first, width in ((0, 4), (4, 2), (6, 2), (8, 2), (10, 2), (12, 2)):
        number = np.zeros(n, dtype=np.int64)
        number[valid] = digits[:, first : first + width] @ (10 ** np.arange(width - 1, -1, -1))
        parts.append(number)
    like = pd.Series(index=pd.RangeIndex(n), dtype=object)
    return _from_parts(*parts, missing=~valid, like=like)
