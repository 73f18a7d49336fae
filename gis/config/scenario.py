"""The scenario: every number a user may want to change, in one TOML file.

The file has two top-level tables, each validated by the model of the stage that uses it
(unknown keys are refused, invariants such as "weights sum to 1" checked before any work):

- ``[scoring...]``   candidate sites, mineable-MW models, criteria, weights, exclusions,
  stability draws (:class:`gis.config.scoring.ScoringConfig`);
- ``[energy...]``    reference year, market nodes, the wasted-energy model per category
  (:class:`gis.config.energy.EnergyConfig`);
- ``[estimates...]`` site selection, ASICs, network, prices, costs, CO2, uncertainty
  (:class:`gis.config.estimates.EstimatesConfig`).

The packaged default is ``gis/scenarios/default.toml``; every figure in it cites its source.
A user's scenario file is laid over it table by table, so it need only hold what it changes::

    name = "cheap-power"
    [estimates.market]
    energy_cost_usd_mwh = 25.0
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from gis.config.energy import EnergyConfig
from gis.config.estimates import EstimatesConfig
from gis.config.explorer import ExplorerConfig
from gis.config.scoring import ScoringConfig
from gis.errors import GisError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

__all__ = [
    "DEFAULT_SCENARIO",
    "MAX_DEPTH",
    "MAX_DESCRIPTION_CHARS",
    "MAX_FILE_BYTES",
    "MAX_NAME_CHARS",
    "Scenario",
    "describe_errors",
    "load_estimates_config",
    "load_scenario",
    "merge_tables",
]

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "default.toml"

MAX_FILE_BYTES = 1_000_000
"""A scenario file larger than this (bytes) is refused before parsing; the default is ~30 kB."""
MAX_DEPTH = 12
"""Deepest table/array nesting accepted; the default scenario nests 4 deep."""
MAX_NAME_CHARS = 80
"""Longest scenario ``name`` (it titles the map, the report and file metadata)."""
MAX_DESCRIPTION_CHARS = 2000
"""Longest scenario ``description``."""


class Scenario(BaseModel):
    """A whole scenario file."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
    description: Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_CHARS)]
    scoring: ScoringConfig
    estimates: EstimatesConfig
    energy: EnergyConfig
    explorer: ExplorerConfig = ExplorerConfig()


def merge_tables(base: dict, override: dict) -> dict:
    """``override`` laid over ``base``: tables merged key by key, any other value replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged


def _depth(value: object, limit: int) -> int:
    """Nesting depth of tables/arrays in ``value``, counted iteratively and stopped at ``limit`` + 1."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else (item if isinstance(item, list) else ())
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _read_toml(path: Path) -> dict:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise GisError(
                f"the scenario file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} accepted",
                file=path,
                fix="a scenario holds only the values it changes; pass the TOML scenario, not another file",
            )
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except RecursionError as exc:
        raise GisError(
            f"the scenario nests tables or arrays too deeply (more than {MAX_DEPTH} levels)",
            file=path,
            fix="use the flat [table] layout of the default scenario",
        ) from exc
    except FileNotFoundError as exc:
        raise GisError(
            "the scenario file does not exist",
            file=path,
            fix=f"pass an existing TOML with --scenario, or copy {DEFAULT_SCENARIO}",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise GisError(
            f"cannot read the scenario file ({exc})", file=path, fix="pass a UTF-8 TOML file"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise GisError(
            f"the scenario is not valid TOML ({exc})", file=path, fix="fix the TOML syntax"
        ) from exc
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise GisError(
            f"the scenario nests tables or arrays too deeply (more than {MAX_DEPTH} levels)",
            file=path,
            fix="use the flat [table] layout of the default scenario",
        )
    return data


def _allowed_keys(loc: tuple) -> list[str]:
    """Keys the scenario model accepts at the table ``loc`` (a pydantic error location), [] if unknown."""
    model: type[BaseModel] | None = Scenario
    for part in loc:
        if model is None or not isinstance(part, str):
            return []
        info = model.model_fields.get(part)
        if info is None:
            return []
        annotation = info.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return list(model.model_fields) if model is not None else []


def _plain(err: ErrorDetails) -> str:
    """One pydantic error in plain words, with a did-you-mean for an unknown key."""
    loc = tuple(err["loc"])
    where = ".".join(str(x) for x in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        if allowed and not close:
            hint = f" (allowed here: {', '.join(allowed)})"
        return f"'{where}' is not a known key{hint}"
    if err["type"] == "missing":
        return f"'{where}' is required but missing"
    value = err.get("input")
    shown = (
        repr(value) if isinstance(value, str | int | float | bool) or value is None else type(value).__name__
    )
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"'{where}' = {shown}: {err['msg'][:1].lower()}{err['msg'][1:]}"


def describe_errors(exc: ValidationError) -> list[str]:
    """Every problem of a failed scenario validation, one plain sentence each."""
    return [_plain(err) for err in exc.errors()]


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read and validate a scenario TOML laid over the packaged default (default: the default itself).

    Raises
    ------
    GisError
        naming the file, the offending key (dotted path) and what is allowed.
    """
    data = _read_toml(DEFAULT_SCENARIO)
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    if path != DEFAULT_SCENARIO:
        own = _read_toml(path)
        data = merge_tables(data, own)
        data["name"] = own.get("name", path.stem)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc)
        first = exc.errors()[0]
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        listing = (
            "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1)) if len(problems) > 1 else problems[0]
        )
        raise GisError(
            f"the scenario has {count}: {listing}",
            file=path,
            field=".".join(str(x) for x in first["loc"]) or "(top level)",
            fix=f"correct each key listed; every key and its allowed values are documented in {DEFAULT_SCENARIO}",
        ) from exc


def load_estimates_config(path: str | Path | None = None) -> tuple[str, EstimatesConfig]:
    """The scenario's name and its ``[estimates...]`` tables (default: the packaged default scenario).

    The file is read and checked whole by :func:`gis.config.scenario.load_scenario` (so a value that is
    wrong anywhere in it is reported, whichever command reads it).

    Raises
    ------
    GisError
        naming the file, the offending key (dotted path) and what is allowed.
    """
    scenario = load_scenario(path)
    return scenario.name, scenario.estimates
