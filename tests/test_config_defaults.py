"""``gis/scenarios/default.toml`` is the only source of default values.

Every field of every configuration model either has no default (the packaged scenario must give it)
or a default equal to the packaged scenario's value, so the Python API and the command line give the
same numbers for the same "default".
"""

from __future__ import annotations

import tomllib
from typing import Any

from pydantic import BaseModel

from gis.config.scenario import DEFAULT_SCENARIO, Scenario, load_scenario


def _disagreements(model: BaseModel, prefix: str) -> list[str]:
    """Fields of ``model`` (and of its required sub-tables) whose default differs from its value.

    A table whose own default equals the packaged value is not searched further: its default supplies
    the whole table. Items of arrays and maps of tables (nodes, exclusions...) are records whose optional
    fields mean "no bound", not scenario defaults, so they are not searched.
    """
    found: list[str] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = f"{prefix}.{name}" if prefix else name
        if info.is_required():
            if isinstance(value, BaseModel):
                found.extend(_disagreements(value, key))
            continue
        default: Any = info.get_default(call_default_factory=True)
        dump = value.model_dump() if isinstance(value, BaseModel) else value
        default_dump = default.model_dump() if isinstance(default, BaseModel) else default
        if _plain(default_dump) != _plain(dump):
            found.append(f"{key}: model default {default_dump!r:.60} != packaged {dump!r:.60}")
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _plain(value.model_dump())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_every_model_default_equals_the_packaged_scenario() -> None:
    scenario = load_scenario(None)
    assert _disagreements(scenario, "") == []


def test_the_packaged_scenario_sets_every_table() -> None:
    raw = tomllib.loads(DEFAULT_SCENARIO.read_text(encoding="utf-8"))
    for table in ("scoring", "energy", "estimates", "explorer"):
        assert table in raw, table
    assert set(Scenario.model_fields) >= set(raw)
