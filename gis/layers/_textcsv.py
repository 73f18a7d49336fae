"""CSV tables read as text by pyarrow, giving what ``pandas.read_csv(..., dtype=str)`` gives.

pandas' C parser tokenises and converts every column of every row in one thread; pyarrow's
reader converts only the columns asked for. :func:`read_text_csv` reads a table whose header is
plain (no empty or repeated name, so pandas would not rename a column) with the same missing
values, and returns None for anything else, or any file pyarrow will not read as a clean
table (a row with too many or too few fields, bad UTF-8): the caller then reads it with pandas,
which keeps pandas' values and errors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

__all__ = ["header_of", "read_text_csv"]


def header_of(data: bytes) -> list[str] | None:
    """The column names on the first line of CSV ``data`` (UTF-8, BOM skipped); None if unreadable."""
    try:
        with io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader([fh.readline()]))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return None


def read_text_csv(
    data: bytes | Path, *, na_values: Iterable[str], columns: Iterable[str] | None = None
) -> pd.DataFrame | None:
    """The table's columns (only ``columns``, those present, when given) as text, in file order.

    ``na_values``: the fields read as missing (pandas' ``na_values`` with its defaults kept or
    not). ``data``: the file's bytes (already inflated) or a plain (not compressed) file. The
    columns are pandas' ``str`` dtype, missing as NaN. None when pandas might read the file
    otherwise (see the module).

    >>> read_text_csv(b'a,b\\n"x",NA\\n,y\\n', na_values=["", "NA"]).to_dict("list")
    {'a': ['x', nan], 'b': [nan, 'y']}
    >>> read_text_csv(b"a,a\\n1,2\\n", na_values=[""]) is None
    True
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    raw = data if isinstance(data, bytes) else Path(data).read_bytes()
    header = header_of(raw[: 1 << 20])
    if not header or "" in header or len(set(header)) != len(header):
        return None
    wanted = header if columns is None else [c for c in header if c in set(columns)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(raw),
            read_options=pacsv.ReadOptions(encoding="utf8"),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={c: pa.string() for c in wanted},
                null_values=sorted(set(na_values)),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowException:
        return None
    return pd.DataFrame({c: table.column(c).to_pandas() for c in wanted}, index=pd.RangeIndex(table.num_rows))
