"""Non-ISO dates parsed without strptime (``gis.layers._dates``) give pandas' values, or defer to pandas."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.layers._dates import ISO_STAMP, PLAIN_FORMS, iso_stamps, plain_stamps

_NUMBER = st.one_of(
    st.integers(0, 13).map(str),
    st.integers(0, 99).map(lambda v: f"{v:02d}"),
    st.integers(0, 2100).map(lambda v: f"{v:04d}"),
    st.sampled_from(["", " 5", "5 ", "x", "٣", "+1", "-1", "007", "1.0"]),
)
_SEP = st.sampled_from(["/", "/", "/", " ", ":", "-", "//", ""])


@st.composite
def _stamp(draw) -> object:
    """A value near the M/D/YYYY [H:MM] forms: plain, odd, missing or not text at all."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([None, float("nan"), "", "NaT", "nan", 3.5]))
    parts = [draw(_NUMBER) for _ in range(4)]
    seps = ["/", "/", " ", ":"] if kind < 6 else [draw(_SEP) for _ in range(4)]
    text = "".join(p + s for p, s in zip(parts, seps, strict=True)) + draw(_NUMBER)
    return text if kind % 2 else text.rsplit(" ", 1)[0]


@settings(max_examples=300, deadline=None)
@given(st.lists(_stamp(), min_size=1, max_size=6), st.sampled_from(sorted(PLAIN_FORMS)))
def test_plain_stamps_are_pandas_stamps_or_none(values: list, fmt: str) -> None:
    text = pd.Series(values, dtype=object, index=range(10, 10 + len(values)), name="stamp")
    fast = plain_stamps(text, fmt)
    if fast is not None:
        pd.testing.assert_series_equal(fast, pd.to_datetime(text, format=fmt, errors="coerce"))


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["1/1/2023 6:15", "12/31/2024 23:45", None, "2/29/2024 0:00"], "%m/%d/%Y %H:%M"),
        (["6/30/2000", "07/05/2000", float("nan"), "1/1/0001", "12/31/9999"], "%m/%d/%Y"),
    ],
)
def test_plainly_written_stamps_take_the_fast_path(values: list, fmt: str) -> None:
    text = pd.Series(values, dtype=object)
    fast = plain_stamps(text, fmt)
    assert fast is not None
    pd.testing.assert_series_equal(fast, pd.to_datetime(text, format=fmt, errors="coerce"))


@pytest.mark.parametrize(
    "value",
    ["2/29/2023", "13/1/2023", "0/1/2023", "1/0/2023", "4/31/2023", " 1/1/2023", "1/1/23", "1-1-2023"],
)
def test_a_value_pandas_might_read_otherwise_defers_to_pandas(value: str) -> None:
    assert plain_stamps(pd.Series(["1/1/2023", value], dtype=object), "%m/%d/%Y") is None


@st.composite
def _iso(draw) -> str | None:
    """A value near ``YYYY-MM-DD HH:MM:SS``: plain, one character off, or missing."""
    if draw(st.integers(0, 9)) == 0:
        return None
    parts = [draw(st.integers(0, 2100)), draw(st.integers(0, 13)), draw(st.integers(0, 32))]
    parts += [draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))]
    text = "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}".format(*parts)
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(["T", "/", "x", "", "  ", "٣", "0"])) + text[at + 1 :]
    return text


@settings(max_examples=300, deadline=None)
@given(st.lists(_iso(), min_size=1, max_size=6), st.integers(0, 2))
def test_iso_stamps_are_pandas_stamps_or_none(values: list, skip: int) -> None:
    import pyarrow as pa

    array = pa.array(["pad"] * skip + values)[skip:]  # a slice too: offsets into the buffers
    fast = iso_stamps(pa.chunked_array([array]))
    if fast is not None:
        expected = pd.to_datetime(pd.Series(values, dtype=object), format=ISO_STAMP, errors="coerce")
        pd.testing.assert_series_equal(fast, expected)
