"""Fuzzing the scenario loader: hand-edits of the default scenario, random and hostile.

Whatever a user does to the TOML (a value of another type, NaN or infinity, a huge number, a
deleted or duplicated line, an unknown key, a renamed table, a file cut short, stray bytes),
:func:`gis.config.scenario.load_scenario` either raises :class:`~gis.errors.GisError` naming the file
or returns a valid :class:`~gis.config.scenario.Scenario`; never another exception.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gis.config.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from gis.errors import GisError

DEFAULT_TEXT = DEFAULT_SCENARIO.read_text(encoding="utf-8")
LINES = DEFAULT_TEXT.splitlines()
ASSIGNMENT = re.compile(r"^\s*[A-Za-z_][\w-]*\s*=")

SPECIAL_NUMBERS = [
    "nan",
    "+nan",
    "-nan",
    "inf",
    "-inf",
    "0",
    "-0.0",
    "1e308",
    "-1e308",
    "5e-324",
    "-1",
    "0.0",
]
scalars = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(SPECIAL_NUMBERS),
    st.text(max_size=12).map(json.dumps),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.dates().map(str),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.sampled_from(["{}", '{ kind = "step" }', '{ kind = "linear", low = 1.0, high = 1.0 }', "[]", '""']),
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The default scenario's text after one to three random edits."""
    lines = list(LINES)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(
            st.sampled_from(
                ["value", "value", "value", "delete", "duplicate", "unknown_key", "header", "cut", "bytes"]
            )
        )
        assignments = [i for i, line in enumerate(lines) if ASSIGNMENT.match(line)]
        headers = [i for i, line in enumerate(lines) if line.startswith("[")]
        if kind == "value" and assignments:
            i = draw(st.sampled_from(assignments))
            lines[i] = f"{lines[i].split('=', 1)[0]}= {draw(values)}"
        elif kind == "delete" and lines:
            del lines[draw(st.integers(min_value=0, max_value=len(lines) - 1))]
        elif kind == "duplicate" and lines:
            i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines.insert(i, lines[i])
        elif kind == "unknown_key" and headers:
            i = draw(st.sampled_from(headers))
            key = draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
            lines.insert(i + 1, f"{key} = {draw(values)}")
        elif kind == "header" and headers:
            lines[draw(st.sampled_from(headers))] = (
                "[" + draw(st.from_regex(r"[a-z_.]{1,24}", fullmatch=True)) + "]"
            )
        elif kind == "cut":
            text = "\n".join(lines)
            lines = text[: draw(st.integers(min_value=0, max_value=len(text)))].split("\n")
        elif kind == "bytes":
            i = draw(st.integers(min_value=0, max_value=len(lines)))
            lines.insert(i, draw(st.text(max_size=20)))
    return "\n".join(lines) + "\n"


def numbers_in(value: object) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in numbers_in(v)]
    if isinstance(value, list | tuple):
        return [x for v in value for x in numbers_in(v)]
    if isinstance(value, float | int) and not isinstance(value, bool):
        return [float(value)]
    return []


def assert_valid(scenario: Scenario) -> None:
    """A scenario the loader accepts holds only finite numbers and weights that sum to 1."""
    dumped = scenario.model_dump(mode="python")
    assert all(math.isfinite(x) for x in numbers_in(dumped)), "a NaN or infinite number was accepted"
    weights = [c.weight for c in scenario.scoring.criteria.values()]
    assert abs(sum(weights) - 1.0) < 1e-6 and min(weights) >= 0.0
    assert Scenario.model_validate(dumped) == scenario


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated())
def test_load_scenario_raises_gis_error_or_returns_a_valid_scenario(text: str, tmp_path: Path) -> None:
    path = tmp_path / "edited.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        scenario = load_scenario(path)
    except GisError as exc:
        event(f"refused: {exc.field or exc.problem.split(' (')[0]}"[:60])
        assert exc.file == str(path), exc.message
        assert exc.fix, exc.message
        return
    event("accepted")
    assert_valid(scenario)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_load_scenario_on_arbitrary_bytes(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "garbage.toml"
    path.write_bytes(data)
    try:
        assert_valid(load_scenario(path))
    except GisError as exc:
        assert exc.file == str(path)


def test_the_default_itself_is_valid() -> None:
    assert_valid(load_scenario())
