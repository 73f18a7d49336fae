"""Choosing an engine by name (``--engine local|dask``, ``--scheduler ADDRESS``)."""

from __future__ import annotations

from pathlib import Path

from gis.engine.base import Engine
from gis.engine.cache import CachedEngine
from gis.engine.cluster import DaskEngine
from gis.engine.local import LocalEngine
from gis.errors import GisError

__all__ = ["ENGINES", "get_engine"]

ENGINES = ("local", "dask")
"""Engine names the command line accepts."""


def get_engine(
    name: str = "local",
    *,
    scheduler: str | None = None,
    partitions: int | None = None,
    chunk_rows: int = 250_000,
    cache_dir: str | Path | None = None,
) -> Engine:
    """The engine called ``name``, wrapped in a measures cache when ``cache_dir`` is given.

    Raises
    ------
    GisError
        for an unknown name, or a scheduler address given to the local engine.
    """
    if name not in ENGINES:
        raise GisError(f"unknown engine '{name}'", field="--engine", fix=f"use one of {', '.join(ENGINES)}")
    if name == "local":
        if scheduler:
            raise GisError(
                "a scheduler address needs the dask engine",
                field="--scheduler",
                fix="add --engine dask, or leave out --scheduler",
            )
        engine: Engine = LocalEngine(chunk_rows=chunk_rows)
    else:
        engine = DaskEngine(scheduler=scheduler, partitions=partitions, chunk_rows=chunk_rows)
    if cache_dir is not None:
        return CachedEngine(engine, cache_dir=cache_dir)
    return engine
