"""Work run in a forked child process while the parent does its own: a second core for Python code.

Threads do not help pure-Python work (the GIL); a forked child inherits the parent's memory as it
is (copy-on-write: nothing is pickled on the way in) and sends back only its result, through a
pipe. :class:`Forked` starts ``work()`` in a child and :meth:`Forked.result` waits for it: the value
``work`` returned, or the exception it raised (with the child's traceback as a note), and the
child's :mod:`gis.timing` rows and its memory above what it inherited are added to the parent's.

Use it only for work that touches no library lock another thread of the parent may hold at the
fork (GDAL, PROJ): a forked child has one thread, and a lock held by another thread stays locked in
it for ever. A child never runs the parent's exit handlers (it leaves with ``os._exit``).
"""

from __future__ import annotations

import multiprocessing
import pickle
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Forked", "can_fork", "carried"]

T = TypeVar("T")


def can_fork() -> bool:
    """True when this platform forks and :func:`gis.config.settings.processes` allows a second process."""
    from gis.config.settings import processes

    return "fork" in multiprocessing.get_all_start_methods() and processes() >= 2


def carried(exc: BaseException) -> BaseException:
    """``exc`` made ready to send from a forked child: its traceback added as a note (the parent's
    ``--debug`` shows it), or, if it cannot be pickled, a RuntimeError carrying its type, message
    and traceback."""
    exc.add_note("in the forked process:\n" + "".join(traceback.format_exception(exc)).rstrip())
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        plain = RuntimeError(f"{type(exc).__name__}: {exc}")
        plain.__notes__ = list(getattr(exc, "__notes__", []))
        return plain
    return exc


def _child(work: Callable[[], Any], send) -> None:  # pragma: no cover - runs in the forked child
    """Run ``work``, send its outcome, and end at once with :func:`os._exit`: no exit handler of the
    parent's runs here, and no standard stream is flushed (a lock another thread of the parent held
    at the fork would never be released here)."""
    import os

    from gis import timing

    code = 0
    try:
        timing.forked_child()
        try:
            payload: tuple = (True, work())
        except Exception as exc:
            payload = (False, carried(exc))
        send.send((*payload, timing.forked_rows(), timing.forked_extra_mb()))
        send.close()
    except BaseException:  # nothing could be sent (e.g. interrupted): the parent sees the pipe close
        code = 1
    finally:
        os._exit(code)


class Forked(Generic[T]):
    """``work()`` running in a forked child process; :meth:`result` waits for it.

    Parameters
    ----------
    work
        called with no argument in the child; returns a picklable value.
    """

    def __init__(self, work: Callable[[], T]) -> None:
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(work, send), name="gis-forked", daemon=True)
        self._process.start()
        send.close()  # the parent keeps only the reading end: the child's exit is an EOF

    def result(self) -> T:
        """Wait for the child: what ``work`` returned; its exception is raised here."""
        from gis import timing

        try:
            ok, value, rows, extra_mb = self._receive.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(
                f"the forked process ended without a result (exit code {self._process.exitcode})"
            ) from None
        finally:
            self._receive.close()
        self._process.join()
        timing.add_forked(rows, extra_mb)
        if not ok:
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child if it still runs, and wait for it."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()
