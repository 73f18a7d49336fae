"""Grid cells as file content straight from Arrow columns: CSV bytes and GeoPackage tables.

The streamed writer (:func:`gis.grid.api.write_grid`) holds the scored cells as Arrow columns; these
functions turn a slice of them into the two files' content without building pandas frames or
geometry objects, and without per-cell Python:

* :func:`csv_bytes` gives the bytes ``DataFrame.to_csv(index=False, lineterminator="\\n")`` writes for
  the same rows (floats rounded to their CSV decimals and written as Python writes them, text
  made safe by :func:`gis.textsafe.csv_text`, quoted as ``csv.writer`` does);
* :func:`point_wkb` gives the WKB of EPSG:4326 points from their coordinates, as shapely writes it;
* :func:`float_words` formats floats as ``numpy.ndarray.astype(str)`` does (Python's ``repr``),
  with Arrow's cast to text.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gis.textsafe import csv_text

__all__ = ["csv_bytes", "csv_header", "float_words", "point_wkb", "text_field"]

CSV_TEXT_TOUCHES = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]|^[=+\-@]"
"""Text that :func:`gis.textsafe.csv_text` changes: a line break or control character anywhere, or
a formula's first character (tab and carriage return are control characters)."""

_TOUCHES = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]|^[=+\\-@]")

_CHANGED = r'[\x00-\x1f\x7f-\x9f\x{2028}\x{2029},"]|^[=+\-@]'
"""Text that :func:`text_field` changes: what :data:`CSV_TEXT_TOUCHES` matches, or a comma or a
quote (quoted; line breaks are control characters), in one pattern: one pass over a column."""

_WKB_POINT = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
"""A 2D point's WKB, 21 bytes: byte order (1: little endian), type (1: Point), x, y."""


def point_wkb(x: np.ndarray, y: np.ndarray) -> pa.Array:
    """WKB (binary, little endian, 2D) of the points ``(x, y)``, as ``shapely.to_wkb`` writes them.

    Parameters
    ----------
    x, y
        coordinates (any CRS; EPSG:4326 lon/lat in grid mode), finite.

    Returns
    -------
    pyarrow.Array
        ``binary``, 21 bytes per point.
    """
    n = len(x)
    rec = np.empty(n, dtype=_WKB_POINT)
    rec["order"] = 1
    rec["kind"] = 1
    rec["x"] = x
    rec["y"] = y
    offsets = np.arange(0, _WKB_POINT.itemsize * (n + 1), _WKB_POINT.itemsize, dtype="int32")
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())])


def float_words(values: np.ndarray, digits: int | None = None) -> pa.Array:
    """Floats as text, as ``numpy.ndarray.astype(str)`` writes them after ``numpy.round(values, digits)``.

    Python writes a float as its shortest round-trip decimal (``repr``), positional while
    ``1e-4 <= |v| < 1e16``, with at least one decimal (``1.0``). Arrow's cast to text writes the
    same shortest decimal, positional while ``|v| < 1e10``, without the ``.0`` of a whole number:
    the values rounded to ``digits`` that are 0 or lie in ``1e-4 <= |v| < 1e10`` are cast by
    Arrow in C++ (``.0`` added to whole numbers), the others (too small or too large for that,
    infinities, or no ``digits``) formatted by numpy. NaN is ``""`` (a missing field).

    Parameters
    ----------
    values
        float64 values.
    digits
        decimals to round to first (as ``DataFrame.round``), or None to write them as they are.

    Returns
    -------
    pyarrow.Array
        ``string``, one per value.
    """
    v = np.asarray(values, dtype="float64")
    if digits is not None:
        v = np.round(v, digits)
    if _repeats(v):  # a few values repeated: each written once
        codes, distinct = pd.factorize(v.view("int64"))  # by bits: -0.0 and 0.0 stay apart
        return _rounded_words(distinct.view("float64"), digits).take(pa.array(codes))
    return _rounded_words(v, digits)


_ARROW_POSITIONAL = 1e10
"""Arrow writes a float positionally below this magnitude (and with an exponent from it on),
Python below ``1e16``: Arrow writes the values below it."""

_REPEATS = 4
"""Floats are written once per distinct value when they repeat this many times on average."""

_REPEAT_SAMPLE = 4_096
"""Values looked at first to tell a column of a few repeated values from one of distinct values."""


def _repeats(v: np.ndarray) -> bool:
    """True when ``v``'s values repeat :data:`_REPEATS` times on average: judged on its first
    :data:`_REPEAT_SAMPLE` values (a column of distinct values is not hashed whole), then on all.

    Either answer writes the same text; it only says which way is quicker.
    """
    sample = v[:_REPEAT_SAMPLE].view("int64")
    if len(v) > len(sample) and len(np.unique(sample)) * _REPEATS >= len(sample):
        return False
    return len(pd.unique(v.view("int64"))) * _REPEATS < len(v)


def _rounded_words(v: np.ndarray, digits: int | None) -> pa.Array:
    """:func:`float_words` of values already rounded to ``digits`` decimals."""
    n = len(v)
    a = np.abs(v)
    with np.errstate(invalid="ignore"):
        fast = (
            np.zeros(n, dtype=bool) if digits is None else (a == 0) | ((a >= 1e-4) & (a < _ARROW_POSITIONAL))
        )
    slow = ~fast & ~np.isnan(v)
    if not fast.any() and not slow.any():  # all NaN
        return pc.if_else(pa.array(fast), "", "")
    if not fast.any():
        words = np.full(n, "", dtype=object)
        words[slow] = v[slow].astype(str)
        return pa.array(words, type=pa.string())
    words = _shortest_words(v, whole=fast & (v == np.trunc(v)))
    if slow.any():
        other = np.full(n, "", dtype=object)
        other[slow] = v[slow].astype(str)
        return pc.if_else(pa.array(fast), words, pa.array(other, type=pa.string()))
    return pc.if_else(pa.array(fast), words, "")


def _shortest_words(v: np.ndarray, *, whole: np.ndarray) -> pa.Array:
    """Arrow's text of ``v`` (the shortest round-trip decimal), ``.0`` added where ``whole``.

    Parameters
    ----------
    v
        float64 values; those read are 0 or ``1e-4 <= |v| < 1e10`` (written positionally by
        Arrow, as by Python).
    whole
        the values that are whole numbers (``-0.0`` included), which Arrow writes without ``.0``.

    Returns
    -------
    pyarrow.Array
        ``string``, one per value (the values not read are written too, and replaced by the caller).
    """
    words = pc.cast(pa.array(v), pa.string())
    if not whole.any():
        return words
    return pc.if_else(pa.array(whole), pc.binary_join_element_wise(words, ".0", ""), words)


def text_field(text: str | None) -> str:
    """One text value as a CSV field: made safe (:func:`gis.textsafe.csv_text`), quoted as
    ``csv.writer`` does (QUOTE_MINIMAL, quotes doubled); None is ``""``."""
    if text is None:
        return ""
    if _TOUCHES.search(text):
        text = csv_text(text)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _text_words(column: pa.Array) -> pa.Array | pa.Scalar:
    """CSV fields of a text column (plain or dictionary-encoded), each distinct value handled once
    when encoded, else only the values that need a change handled in Python."""
    if pa.types.is_dictionary(column.type):
        fields = pa.array([text_field(v) for v in column.dictionary.to_pylist()], type=pa.string())
        if len(fields) == 1 and column.null_count == 0:
            return fields[0]
        return pc.fill_null(fields.take(column.indices), "")
    column = column.cast(pa.string())
    odd = pc.fill_null(pc.match_substring_regex(column, _CHANGED), False)
    if not pc.any(odd).as_py():
        return pc.fill_null(column, "")
    plain = column.to_numpy(zero_copy_only=False)
    pick = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
    plain[pick] = [text_field(v) for v in plain[pick]]
    return pc.fill_null(pa.array(plain, type=pa.string()), "")


def _words(column: pa.Array, digits: int | None) -> pa.Array | pa.Scalar:
    """One column's CSV fields, as ``DataFrame.to_csv`` writes that column's pandas form."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _text_words(column)
    if column.null_count == len(column):
        return pa.scalar("")
    if pa.types.is_floating(kind):
        if pc.all(pc.is_nan(column)).as_py():
            return pa.scalar("")
        return float_words(column.to_numpy(zero_copy_only=False), digits)
    if pa.types.is_boolean(kind):
        return pc.fill_null(pc.if_else(column, "True", "False"), "")
    if pa.types.is_integer(kind):
        return pc.fill_null(pc.cast(column, pa.string()), "")
    raise TypeError(f"no CSV form for a {column.type} column")


def _merged_constants(fields: list[pa.Array | pa.Scalar]) -> list[pa.Array | pa.Scalar]:
    """``fields`` with each run of constant fields (scalars) joined by commas into one: the same
    rows once joined by commas, from fewer columns."""
    merged: list[pa.Array | pa.Scalar] = []
    for field in fields:
        if isinstance(field, pa.Scalar) and merged and isinstance(merged[-1], pa.Scalar):
            merged[-1] = pa.scalar(merged[-1].as_py() + "," + field.as_py(), type=pa.string())
        else:
            merged.append(field)
    return merged


def csv_header(names: list[str]) -> bytes:
    """The CSV header line (names made safe and quoted as the values are)."""
    return (",".join(text_field(str(c)) for c in names) + "\n").encode("utf-8")


def csv_bytes(columns: dict[str, pa.Array], digits: dict[str, int]) -> pa.Buffer:
    """Rows of CSV (no header), ``"\\n"`` after each, from equal-length Arrow columns in file order.

    Parameters
    ----------
    columns
        name -> column (text, dictionary-encoded text, float, integer or bool; nulls allowed).
    digits
        decimals per float column (rounded as ``DataFrame.round``); floats not named are written
        in full.

    Returns
    -------
    pyarrow.Buffer
        UTF-8 text (``bytes(...)`` or written to a binary file as it is), byte for byte what ``DataFrame.to_csv(index=False, header=False,
        lineterminator="\\n")`` writes for the same values in pandas.
    """
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        return pa.py_buffer(b"")
    fields = [
        _words(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column, digits.get(name))
        for name, column in columns.items()
    ]
    fields = _merged_constants(fields)
    if len(fields) == 1 and isinstance(fields[0], pa.Scalar):  # every column constant: broadcast
        fields[0] = pa.array([fields[0].as_py()] * n, type=pa.string())
    rows = pc.binary_join_element_wise(*fields, ",") if len(fields) > 1 else fields[0]
    lines = pc.binary_join_element_wise(rows, "\n", "")
    offsets = np.frombuffer(lines.buffers()[1], dtype="int32")[lines.offset : lines.offset + n + 1]
    return lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
