"""The scenario: every number a user may want to change, in one TOML file.

The file has two top-level tables, each validated by the model of the stage that uses it
(unknown keys are refused, invariants such as "weights sum to 1" checked before any work):

- ``[scoring...]``   candidate sites, mineable-MW models, criteria, weights, exclusions,
  stability draws (:class:`gis.scoring.config.ScoringConfig`);
- ``[energy...]``    reference year, market nodes, the wasted-energy model per category
  (:class:`gis.energy.config.EnergyConfig`);
- ``[estimates...]`` site selection, ASICs, network, prices, costs, CO2, uncertainty
  (:class:`gis.estimates.config.EstimatesConfig`).

The packaged default is ``gis/scenarios/default.toml``; every figure in it cites its source.
A user's scenario file is laid over it table by table, so it need only hold what it changes::

    name = "cheap-power"
    [estimates.market]
    energy_cost_usd_mwh = 25.0
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from gis.energy.config import EnergyConfig
from gis.errors import GisError
from gis.estimates.config import EstimatesConfig
from gis.explorer_config import ExplorerConfig
from gis.scoring.config import ScoringConfig

DEFAULT_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "default.toml"


class Scenario(BaseModel):
    """A whole scenario file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
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


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
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
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise GisError(
            f"invalid scenario value: {err['msg']}{more}",
            file=path,
            field=field,
            fix=f"compare with the documented default scenario {DEFAULT_SCENARIO}",
        ) from exc
