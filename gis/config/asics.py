"""The ASIC catalogue: SHA-256 miners with nameplate hashrate (TH/s), wall power (W) and J/TH.

Every row cites the page or repository its figures come from, and the date the source gives.
Rows marked ``weak`` rest on a secondary source (a shop page or a public code table) and should be checked
against the maker's own spec sheet before a figure is quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from gis.errors import GisError

__all__ = ["ASIC_CATALOGUE", "AsicModel", "asic_model", "asic_table", "known_models"]

EFFICIENCY_TOLERANCE = 0.03
"""Largest relative gap allowed between ``power_w / hashrate_ths`` and the quoted J/TH."""


@dataclass(frozen=True)
class AsicModel:
    """One ASIC model at nameplate: ``hashrate_ths`` TH/s, ``power_w`` W at the wall,
    ``efficiency_j_th`` J/TH (= W per TH/s); ``weak`` when only a secondary source was found."""

    name: str
    maker: str
    hashrate_ths: float
    power_w: float
    efficiency_j_th: float
    source: str
    date: str
    weak: bool = False

    def __post_init__(self) -> None:
        if not (self.hashrate_ths > 0 and self.power_w > 0 and self.efficiency_j_th > 0):
            raise ValueError(f"ASIC {self.name}: hashrate, power and efficiency must be positive")
        derived = self.power_w / self.hashrate_ths
        if abs(derived / self.efficiency_j_th - 1.0) > EFFICIENCY_TOLERANCE:
            raise ValueError(
                f"ASIC {self.name}: {self.power_w} W / {self.hashrate_ths} TH/s = {derived:.2f} J/TH "
                f"disagrees with the quoted {self.efficiency_j_th} J/TH"
            )


ASIC_CATALOGUE: tuple[AsicModel, ...] = (
    AsicModel(
        "Antminer S19 XP",
        "Bitmain",
        140.0,
        3010.0,
        21.5,
        "miningstore.com/understanding-the-bitcoin-mining-rig-market/is-the-antminer-s19-xp-worth-it-part-1",
        "2021-11",
    ),
    AsicModel(
        "Antminer S21",
        "Bitmain",
        200.0,
        3500.0,
        17.5,
        "hackernoon.com (BTCWire 'Antminer S21 review', Bitmain spec 200 TH/s, 17.5 J/TH); "
        "bitaxeorg/bitaxesupra README (BM1368, 17.5 J/TH)",
        "2024-03-11",
    ),
    AsicModel(
        "Antminer S21 Pro",
        "Bitmain",
        234.0,
        3510.0,
        15.0,
        "bitaxeorg/bitaxeGamma readme.md (BM1370, 15 J/TH, 234 TH/s); "
        "lmc-mining.vercel.app/university/asic-miner-efficiency-explained (3,510 W)",
        "2024-25",
    ),
    AsicModel(
        "Antminer S21 XP",
        "Bitmain",
        270.0,
        3645.0,
        13.5,
        "btcminermarketplace.com/how-to-calculate-roi-for-bitcoin-miner-s21-xp (W derived: 270 x 13.5)",
        "2025",
        weak=True,
    ),
    AsicModel(
        "Antminer S21+ Hydro",
        "Bitmain",
        319.0,
        4785.0,
        15.0,
        "top-crypto-mining-asics.com/?p=4692",
        "2025",
        weak=True,
    ),
    AsicModel(
        "Antminer S21 XP Hydro",
        "Bitmain",
        473.0,
        5676.0,
        12.0,
        "public code table (SQL seed of an ASIC app)",
        "2025",
        weak=True,
    ),
    AsicModel(
        "Whatsminer M60S",
        "MicroBT",
        186.0,
        3441.0,
        18.5,
        "public code table (no MicroBT spec page found)",
        "2024-25",
        weak=True,
    ),
    AsicModel(
        "Whatsminer M66S",
        "MicroBT",
        298.0,
        5513.0,
        18.5,
        "two independent public code tables (immersion variant)",
        "2024-25",
        weak=True,
    ),
)
"""The catalogue, one row per model, each with its source and date."""


def _key(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


_BY_KEY = {_key(m.name): m for m in ASIC_CATALOGUE}
if len(_BY_KEY) != len(ASIC_CATALOGUE):  # pragma: no cover - guards the table above
    raise ValueError("duplicate ASIC model names in the catalogue")


def known_models() -> list[str]:
    """Names of every catalogued model."""
    return [m.name for m in ASIC_CATALOGUE]


def asic_model(name: str, *, field: str = "estimates.asic_model", file: str | None = None) -> AsicModel:
    """Look a model up by name (case, spaces, ``-`` and ``_`` ignored).

    Raises
    ------
    GisError
        for an unknown name, listing the known models.
    """
    found = _BY_KEY.get(_key(name))
    if found is None:
        raise GisError(
            f"unknown ASIC model '{name}'",
            file=file,
            field=field,
            fix="use one of: " + ", ".join(known_models()),
        )
    return found


def asic_table() -> pd.DataFrame:
    """The catalogue as a table: model, maker, hashrate_ths, power_w, efficiency_j_th, source, date, weak."""
    return pd.DataFrame(
        {
            "model": [m.name for m in ASIC_CATALOGUE],
            "maker": [m.maker for m in ASIC_CATALOGUE],
            "hashrate_ths": [m.hashrate_ths for m in ASIC_CATALOGUE],
            "power_w": [m.power_w for m in ASIC_CATALOGUE],
            "efficiency_j_th": [m.efficiency_j_th for m in ASIC_CATALOGUE],
            "source": [m.source for m in ASIC_CATALOGUE],
            "date": [m.date for m in ASIC_CATALOGUE],
            "weak": [m.weak for m in ASIC_CATALOGUE],
        }
    )
