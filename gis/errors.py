"""User-facing errors.

Every error a user can cause (bad file, bad column, bad scenario, no network) is raised as
:class:`GisError`: the command line prints its message as one paragraph and exits non-zero,
without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DataUnavailableError", "GisError", "environment_error"]


class GisError(Exception):
    """An error the user can fix: says what went wrong, where (file, field) and how to fix it.

    Parameters
    ----------
    problem
        What went wrong, in one sentence.
    file
        The file (or URL) concerned, if any.
    field
        The column, key or field concerned, if any.
    fix
        What the user should do about it.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = None if file is None else str(file)
        self.field = field
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The whole message as one paragraph."""
        parts = []
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.field:
            where.append(f"field '{self.field}'")
        if where:
            prefix = " ".join(where)
            parts.append(f"{prefix[:1].upper()}{prefix[1:]}: {self.problem}")
        else:
            parts.append(self.problem)
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        text = " ".join(p.rstrip(".") + "." for p in parts)
        return text


class DataUnavailableError(GisError):
    """A source could not be fetched (no network, no data directory, no mirror)."""


_DISK_FULL_TEXT = ("no space left on device", "database or disk is full", "disk quota exceeded")
_DISK_FIX = "free space on that disk (or choose another folder with --out / GIS_CACHE_DIR), then rerun"


def environment_error(exc: BaseException) -> GisError | None:
    """The user error for a failure of the machine rather than of the tool, or None.

    Disk full and read-only or unwritable folders are things a user can fix; they must not be
    reported as bugs (network failures: :func:`gis.sources.fetch.transfer_error`). The message names the file (or URL), the
    cause and the fix.
    """
    import errno

    text = str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        where = exc.filename or None
        cause = exc.strerror or text
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return GisError(f"the disk is full ({cause})", file=where, fix=_DISK_FIX)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return GisError(
                f"cannot write there ({cause})",
                file=where,
                fix="choose a writable folder with --out, or set GIS_CACHE_DIR to a writable folder",
            )
    if any(t in text.lower() for t in _DISK_FULL_TEXT):
        return GisError(f"the disk is full ({text.strip()})", fix=_DISK_FIX)
    return None
