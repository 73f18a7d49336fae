"""Counting what a stage filters: no row is dropped without a reason that reaches the user.

A :class:`RowLog` travels with one layer (or stage) and records rows read, each drop with its
reason, and repairs. ``gis build`` prints it as a table and writes it into the GeoPackage's
metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["RowLog"]


@dataclass
class RowLog:
    """Rows read, kept, dropped (by reason) and repaired (by reason) for one layer or stage."""

    name: str
    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def read(self, n: int) -> None:
        """Record ``n`` more rows read from a source."""
        self.rows_read += int(n)

    def drop(self, frame: pd.DataFrame, mask: pd.Series, reason: str) -> pd.DataFrame:
        """Return ``frame`` without the rows where ``mask`` is true, counting them under ``reason``."""
        mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
        n = int(mask.sum())
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + n
        return frame.loc[~mask]

    def repair(self, n: int, reason: str) -> None:
        """Count ``n`` rows changed (not dropped) for ``reason``."""
        if n:
            self.repaired[reason] = self.repaired.get(reason, 0) + int(n)

    def note(self, text: str) -> None:
        """Keep a remark for the user (a fallback taken, a source absent)."""
        self.notes.append(text)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def rows_kept(self) -> int:
        return self.rows_read - self.rows_dropped

    def as_dict(self) -> dict:
        """Plain-data form for JSON and GeoPackage metadata."""
        return {
            "layer": self.name,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": self.rows_dropped,
            "dropped": dict(sorted(self.dropped.items())),
            "repaired": dict(sorted(self.repaired.items())),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> RowLog:
        """The log :meth:`as_dict` described (its ``dropped`` and ``repaired`` in the given order).

        >>> log = RowLog("sites", rows_read=3)
        >>> log.dropped["no volume"] = 1
        >>> RowLog.from_dict(log.as_dict()) == log
        True
        """
        return cls(
            str(data["layer"]),
            rows_read=int(data["rows_read"]),
            dropped={str(k): int(v) for k, v in dict(data.get("dropped", {})).items()},
            repaired={str(k): int(v) for k, v in dict(data.get("repaired", {})).items()},
            notes=[str(n) for n in data.get("notes", [])],
        )
