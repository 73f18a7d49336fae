"""User-facing errors.

Every error a user can cause (bad file, bad column, bad scenario, no network) is raised as
:class:`GisError`: the command line prints its message as one paragraph and exits non-zero,
without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

from pathlib import Path


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
