"""Wait for a file's content to change: ``gis run --watch``, the planner's loop of weight changes.

A planner edits the scenario's weights and saves; ``gis run --watch`` runs score, estimate and
every output again in the same process, which keeps what does not depend on the weights (the
measured sites, the fleet's energy tables, the source layers' drawings and GeoPackage), so the
outputs are re-rendered in seconds instead of a new process's start, imports and reads.

The file is polled: its :func:`stamp` (inode, size, modification time in ns) every ``poll_s``
seconds (:data:`gis.config.settings.WATCH_POLL_S`), with no platform-specific notification. A
change counts once the stamp has held still for half a poll (an editor saves in several writes, or
writes a new file and renames it over the old), and only when the bytes differ from the last
seen (a save without an edit, or a copy of the same text, is no change). A file missing for a
moment (between an editor's removal and rename) is waited for.

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "w.toml"
>>> _ = path.write_text("weight = 0.2\\n")
>>> watch = FileWatch(path, poll_s=0.0)
>>> watch.changed()
False
>>> _ = path.write_text("weight = 0.25\\n")
>>> watch.changed()
True
>>> watch.changed()
False
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from gis.config.settings import WATCH_POLL_S

__all__ = ["FileWatch", "stamp"]


def stamp(path: str | Path) -> tuple[int, int, int] | None:
    """``(inode, size in bytes, modification time in ns)`` of a file; None when it is absent.

    Any write moves the modification time and a rename over the file changes the inode, so two
    equal stamps mean the file was not written in between.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _content(path: Path) -> bytes | None:
    """BLAKE2b digest of the file's bytes; None when it cannot be read (absent for a moment)."""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None


class FileWatch:
    """One file polled for changes of content since it was last seen.

    Parameters
    ----------
    path
        the file (a scenario TOML); it is seen as it is when the watch is made.
    poll_s
        seconds between two looks at its stamp (:data:`gis.config.settings.WATCH_POLL_S`).
    sleep
        how to wait ``poll_s`` (tests pass their own).
    """

    def __init__(
        self, path: str | Path, *, poll_s: float = WATCH_POLL_S, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.path = Path(path)
        self.poll_s = float(poll_s)
        self.settle_s = self.poll_s / 2
        self._sleep = sleep
        self._stamp = stamp(self.path)
        self._content = _content(self.path)

    def changed(self) -> bool:
        """True once when the file now holds other bytes than last seen (then they are the seen
        ones); waits half a poll for a file being written to hold still (longer while it is still
        written). False when unchanged or absent."""
        now = stamp(self.path)
        if now is None or now == self._stamp:
            return False
        while True:  # an editor may still be writing: wait for the stamp to hold for half a poll
            self._sleep(self.settle_s)
            again = stamp(self.path)
            if again == now:
                break
            if again is None:
                return False  # removed in between: looked at again on the next call
            now = again
        content = _content(self.path)
        if content is None:
            return False
        self._stamp = now
        if content == self._content:
            return False
        self._content = content
        return True

    def wait(self) -> None:
        """Return once :meth:`changed` is true, looking every ``poll_s`` seconds (Ctrl-C ends the wait)."""
        while not self.changed():
            self._sleep(self.poll_s)
