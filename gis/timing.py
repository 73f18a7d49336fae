"""Stage timings of a command: wall seconds and peak memory per stage, for ``gis run --timings``.

A stage is a named block of work (``with stage("score"): ...``). Stages nest: a stage opened
inside another is reported as ``outer/inner`` (e.g. ``outputs/map``), so a new model that wraps
its work in ``stage("hourly")`` inside the estimate stage appears as ``estimate/hourly`` in the
timings file and in ``scripts/bench.py`` without any change there.

The recorder is process-wide and off until :func:`start` is called; :func:`stage` is then cheap
(two clock reads and one ``getrusage``). Stages timed in a forked child (:mod:`gis.forked`) are
sent back and added to the parent's rows; the child's memory above what it inherited is added to
the command's peak. The open stages are a context variable, so a stage opened
in a worker thread started with a copy of the caller's context (``contextvars.copy_context().run``)
nests under the caller's stage and does not mix with the stages of other threads.
"""

from __future__ import annotations

import contextlib
import contextvars
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "add_forked",
    "forked_child",
    "forked_extra_mb",
    "forked_rows",
    "peak_rss_mb",
    "record",
    "stage",
    "start",
    "timings",
    "write_timings",
]

_state: dict = {"on": False, "t0": 0.0, "rows": [], "forked_mb": 0.0, "rss_at_fork_mb": None}
_open: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("gis_timing_open", default=())
"""The names of the stages open in this context, outermost first."""


def _status_mb(field: str) -> float | None:
    """A ``kB`` line of ``/proc/self/status`` in MB (``VmHWM``, ``VmRSS``); None where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1e3
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the peak of this program's own memory. (The
    ``getrusage`` maximum also counts the parent's memory at the moment it started this
    process, which inflates a small command started by a large one.) Elsewhere ``getrusage``
    (macOS reports bytes).
    """
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return raw / 1e6 if sys.platform == "darwin" else raw / 1e3


def start() -> None:
    """Start (or restart) recording stages in this process."""
    _state.update(on=True, t0=time.perf_counter(), rows=[], forked_mb=0.0)
    _open.set(())


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` (nested stages are ``outer/inner``); no-op when off."""
    if not _state["on"]:
        yield
        return
    names = (*_open.get(), name)
    token = _open.set(names)
    full = "/".join(names)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _open.reset(token)
        _state["rows"].append(
            {
                "stage": full,
                "start_s": t0 - _state["t0"],
                "seconds": time.perf_counter() - t0,
                "peak_rss_mb": peak_rss_mb(),
            }
        )


def record(name: str, start: float, seconds: float) -> None:
    """Add the row ``name`` for work timed outside the stage stack (another thread): it began at
    ``start`` (:func:`time.perf_counter`) and took ``seconds``; no-op when off."""
    if _state["on"]:
        row = {
            "stage": name,
            "start_s": start - _state["t0"],
            "seconds": seconds,
            "peak_rss_mb": peak_rss_mb(),
        }
        _state["rows"].append(row)


def forked_child() -> None:
    """In a process just forked: keep only the rows recorded from now on, and note the memory it
    inherited (its resident set now: ``VmRSS``)."""
    _state["rows"] = []
    _state["rss_at_fork_mb"] = _status_mb("VmRSS")


def forked_rows() -> list[dict]:
    """In a forked child: the rows recorded since :func:`forked_child`."""
    return list(_state["rows"])


def _private_mb() -> float | None:
    """This process's private memory now (``Private_Clean`` + ``Private_Dirty`` of
    ``/proc/self/smaps_rollup``), MB; None where the file is absent."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
            kb = sum(
                int(line.split()[1])
                for line in rollup
                if line.startswith(("Private_Clean:", "Private_Dirty:"))
            )
    except (OSError, ValueError, IndexError):
        return None
    return kb / 1e3


def forked_extra_mb() -> float:
    """In a forked child: the memory it adds to its parent's, MB (0 where unknown).

    The larger of two measures, as neither sees all of it. Its peak resident set above the one
    it inherited counts the pages it mapped anew (large arrays). But a page the child writes
    where the parent's freed memory lay (the heap it inherited) is copied on writing, which moves
    no resident-set figure: :func:`_private_mb` counts those, the pages only this process maps
    now (a page either process wrote since the fork: one copy each), as the child ends."""
    start, peak = _state["rss_at_fork_mb"], _status_mb("VmHWM")
    grown = max(0.0, peak - start) if start is not None and peak is not None else 0.0
    return max(grown, _private_mb() or 0.0)


def add_forked(rows: list[dict], extra_mb: float) -> None:
    """In the parent, once a forked child has ended: add its rows, and its own memory
    (:func:`forked_extra_mb`) on top of this process's peak so far (:func:`timings`)."""
    if _state["on"]:
        _state["rows"].extend(rows)
        _state["forked_mb"] = max(_state["forked_mb"], peak_rss_mb() + float(extra_mb))


def timings() -> dict:
    """Recorded stages (in the order they finished), total seconds and peak memory (MB).

    The peak is the larger of this process's and, for each forked child, this process's peak up
    to the moment the child's result was taken plus the child's own memory (:func:`add_forked`):
    an upper bound on the memory of both at once, as if the child's peak fell at the parent's
    peak so far, which never adds a child's memory to a peak of the parent's that came after the
    child had ended."""
    return {
        "total_s": time.perf_counter() - _state["t0"] if _state["on"] else 0.0,
        "peak_rss_mb": max(peak_rss_mb(), _state["forked_mb"]),
        "stages": list(_state["rows"]),
    }


def write_timings(target: str | Path, **extra: object) -> Path:
    """Write :func:`timings` (plus ``extra`` keys) as JSON, atomically."""
    from gis.io import write_json

    return write_json(target, {**timings(), **extra})
