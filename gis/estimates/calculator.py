"""Calculator mode: GW of site power to machines, EH/s and BTC a year, no sites needed.

Also recomputes the seed claim ("5 GW = 1.66 M machines = 33 EH/s; 20 GW = 6.66 M machines =
133 EH/s; about 450-1,800 BTC a year") so anyone can check it in one command.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TypedDict

from gis.errors import GisError
from gis.estimates import bitcoin

__all__ = [
    "CALCULATOR_DEFAULTS",
    "FORMULAS",
    "SEED_CLAIM",
    "Reward",
    "calculator",
    "seed_claim_check",
    "seed_claims_corrected",
]

FORMULAS = {
    "it_power_w": "site power (W) / PUE",
    "machines": "IT power (W) / ASIC power (W)",
    "hashrate_ths": "IT power (W) / efficiency (J/TH), efficiency = ASIC W / ASIC TH/s",
    "share_of_network": "u.H / (H_net + u.H): the fleet's average hashrate (uptime u) raises difficulty",
    "btc_per_year": "blocks/yr x (subsidy + fees) x u.H / (H_net + u.H)",
    "naive_btc_per_year": "blocks/yr x (subsidy + fees) x uptime x H / H_net (ignores the fleet's own dilution)",
    "network_issuance_btc_per_year": "blocks/yr x (subsidy + fees)",
}
"""The formulas the calculator applies, in words (copied into its output)."""


class _SeedCase(TypedDict):
    gw: float
    machines: float
    hashrate_ehs: float
    btc_per_year: float


class _SeedClaim(TypedDict):
    text: str
    source: str
    asic_watts: float
    asic_ths: float
    network_ehs: float
    cases: list[_SeedCase]


SEED_CLAIM: _SeedClaim = {
    "text": "5 GW = 1.66 M machines = 33 EH/s; 20 GW = 6.66 M machines = 133 EH/s; about 450-1,800 BTC a year",
    "source": "Gate.io policy analysis of mining on US state-owned energy (Antminer S21 'about 3 kW, 200 TH/s')",
    "asic_watts": 3000.0,
    "asic_ths": 200.0,
    "network_ehs": 1070.0,
    "cases": [
        {"gw": 5.0, "machines": 1.66e6, "hashrate_ehs": 33.0, "btc_per_year": 450.0},
        {"gw": 20.0, "machines": 6.66e6, "hashrate_ehs": 133.0, "btc_per_year": 1800.0},
    ],
}
"""The claim as stated; the network hashrate is the 7-day figure of 2025-12-27 (1,070 EH/s)."""


@dataclass(frozen=True)
class Reward:
    """What turns a fleet's hashrate into BTC: the block reward and the share of the year mining.

    ``subsidy_btc`` and ``fees_btc_per_block`` in BTC per block, ``uptime`` in (0, 1],
    ``blocks_per_year`` in blocks a year. :meth:`kwargs` are the keyword arguments of
    :func:`gis.estimates.bitcoin.expected_btc_per_year` and :func:`seed_claims_corrected`.
    """

    subsidy_btc: float = 3.125
    fees_btc_per_block: float = 0.0
    uptime: float = 1.0
    blocks_per_year: float = 52_560

    def kwargs(self) -> dict[str, float]:
        """The fields as keyword arguments."""
        return dataclasses.asdict(self)

    def issuance_btc_per_year(self) -> float:
        """BTC the whole network earns in a year: blocks a year x (subsidy + mean fees per block)."""
        return float(
            bitcoin.network_issuance_btc_per_year(
                self.subsidy_btc, self.fees_btc_per_block, blocks_per_year=self.blocks_per_year
            )
        )


CALCULATOR_DEFAULTS = {
    "pue": 1.0,
    "uptime": Reward.uptime,
    "subsidy": Reward.subsidy_btc,
    "fees": Reward.fees_btc_per_block,
}
"""Calculator mode's value of each option left out (PUE 1, uptime 1, BTC per block)."""


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    value = float(value)
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise GisError(
            f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}",
            field=f"--{name.replace('_', '-')}",
            fix=f"pass a finite {'non-negative' if allow_zero else 'positive'} number",
        )
    return value


def _check_ratios(pue: float, uptime: float) -> None:
    """Refuse a PUE below 1 or an uptime outside (0, 1]."""
    if not (math.isfinite(pue) and pue >= 1.0):
        raise GisError(
            f"PUE must be >= 1, got {pue}",
            field="--pue",
            fix="PUE is site power / IT power: 1.0 ideal, ~1.03-1.5 in practice",
        )
    if not (math.isfinite(uptime) and 0.0 < uptime <= 1.0):
        raise GisError(
            f"uptime must be in (0, 1], got {uptime}",
            field="--uptime",
            fix="give the share of the year mining, e.g. 0.95",
        )


def _checked_inputs(
    gw: float,
    asic_watts: float,
    asic_ths: float,
    network_ehs: float,
    subsidy: float,
    fees: float,
    pue: float,
    uptime: float,
) -> tuple[float, ...]:
    """The calculator's inputs as floats (GW, W, TH/s, EH/s, BTC, BTC), refused when out of range."""
    _check_ratios(pue, uptime)
    sizes = {"gw": gw, "asic_watts": asic_watts, "asic_ths": asic_ths, "network_ehs": network_ehs}
    checked = [_positive(name, value) for name, value in sizes.items()]
    return (
        *checked,
        _positive("subsidy", subsidy, allow_zero=True),
        _positive("fees", fees, allow_zero=True),
    )


def _calculator_assumptions(
    gw: float, asic_watts: float, asic_ths: float, network_ehs: float, pue: float, reward: Reward
) -> dict:
    """Every calculator input with its value, unit and meaning, and the formulas."""
    return {
        "gw": {"value": gw, "unit": "GW", "meaning": "site power"},
        "asic_watts": {"value": asic_watts, "unit": "W", "meaning": "wall power per machine"},
        "asic_ths": {"value": asic_ths, "unit": "TH/s", "meaning": "hashrate per machine"},
        "efficiency_j_th": {"value": asic_watts / asic_ths, "unit": "J/TH", "meaning": "W / TH/s"},
        "network_ehs": {"value": network_ehs, "unit": "EH/s", "meaning": "network before the fleet"},
        "pue": {"value": pue, "unit": "1", "meaning": "site power / IT power"},
        "uptime": {"value": reward.uptime, "unit": "1", "meaning": "share of the year mining"},
        "subsidy": {"value": reward.subsidy_btc, "unit": "BTC/block", "meaning": "block subsidy"},
        "fees": {"value": reward.fees_btc_per_block, "unit": "BTC/block", "meaning": "mean fees per block"},
        "blocks_per_year": {"value": reward.blocks_per_year, "unit": "blocks/yr", "meaning": "6 x 24 x 365"},
        "formulas": dict(FORMULAS),
    }


def calculator(
    *,
    gw: float,
    asic_watts: float,
    asic_ths: float,
    network_ehs: float,
    pue: float = 1.0,
    uptime: float = 1.0,
    subsidy: float = 3.125,
    fees: float = 0.0,
    blocks_per_year: float = 52_560,
) -> dict:
    """GW of site power -> machines, EH/s and expected BTC a year.

    Parameters
    ----------
    gw
        site power, GW.
    asic_watts, asic_ths
        one machine's wall power (W) and hashrate (TH/s).
    network_ehs
        network hashrate before the fleet joins, EH/s.
    pue
        power usage effectiveness (>= 1): site power / IT power.
    uptime
        share of the year mining (0..1].
    subsidy, fees
        block subsidy and mean fees per block, BTC.

    Returns
    -------
    dict with machines, it_gw, hashrate_ehs, share_of_network, btc_per_year, btc_per_day,
    naive_btc_per_year, network_issuance_btc_per_year and ``assumptions`` (every input, its unit,
    and the formulas).

    Raises
    ------
    GisError
        for a non-positive power, hashrate or network, PUE < 1, uptime outside (0, 1], negative
        subsidy or fees.

    Examples
    --------
    5 GW of 3 kW, 200 TH/s machines against a 1,070 EH/s network (the seed's case):

    >>> r = calculator(gw=5, asic_watts=3000, asic_ths=200, network_ehs=1070)
    >>> round(r["machines"]), round(r["hashrate_ehs"], 1), round(r["share_of_network"], 3)
    (1666667, 333.3, 0.238)
    >>> round(r["btc_per_year"])
    39014
    """
    gw, asic_watts, asic_ths, network_ehs, subsidy, fees = _checked_inputs(
        gw, asic_watts, asic_ths, network_ehs, subsidy, fees, pue, uptime
    )
    reward = Reward(subsidy, fees, uptime, blocks_per_year)
    return _fleet_figures(gw, asic_watts, asic_ths, network_ehs, pue, reward)


def seed_claim_check(*, s21_watts: float = 3500.0, s21_ths: float = 200.0) -> dict:
    """The seed claim recomputed with :func:`calculator` (PUE 1, uptime 1, 3.125 BTC, no fees,
    1,070 EH/s), next to the claimed figures; also at the S21's real spec (3,500 W, 200 TH/s)."""
    cases = []
    for claimed in SEED_CLAIM["cases"]:
        got = calculator(
            gw=claimed["gw"],
            asic_watts=SEED_CLAIM["asic_watts"],
            asic_ths=SEED_CLAIM["asic_ths"],
            network_ehs=SEED_CLAIM["network_ehs"],
        )
        spec = calculator(
            gw=claimed["gw"], asic_watts=s21_watts, asic_ths=s21_ths, network_ehs=SEED_CLAIM["network_ehs"]
        )
        cases.append(
            {
                "gw": claimed["gw"],
                "claimed_machines": claimed["machines"],
                "machines": got["machines"],
                "claimed_hashrate_ehs": claimed["hashrate_ehs"],
                "hashrate_ehs": got["hashrate_ehs"],
                "hashrate_understated_by": got["hashrate_ehs"] / claimed["hashrate_ehs"],
                "claimed_btc_per_year": claimed["btc_per_year"],
                "btc_per_year": got["btc_per_year"],
                "btc_understated_by": got["btc_per_year"] / claimed["btc_per_year"],
                "naive_btc_per_year": got["naive_btc_per_year"],
                "share_of_network": got["share_of_network"],
                "over_half_network": got["share_of_network"] > 0.5,
                "at_s21_spec": {
                    "asic_watts": s21_watts,
                    "machines": spec["machines"],
                    "hashrate_ehs": spec["hashrate_ehs"],
                    "btc_per_year": spec["btc_per_year"],
                },
            }
        )
    first, last = cases[0], cases[-1]
    verdict = (
        f"Machine counts hold ({first['machines'] / 1e6:.3f} M and {last['machines'] / 1e6:.3f} M), but "
        f"the hashrate is {first['hashrate_ehs']:.1f} and {last['hashrate_ehs']:.1f} EH/s "
        f"(x{first['hashrate_understated_by']:.1f} and x{last['hashrate_understated_by']:.1f} the claim) and "
        f"the fleet would mine {first['btc_per_year']:,.0f} and {last['btc_per_year']:,.0f} BTC a year, "
        f"not {first['claimed_btc_per_year']:,.0f}-{last['claimed_btc_per_year']:,.0f}; at 20 GW it would be "
        f"{last['share_of_network']:.1%} of the network."
    )
    return {
        "claim": SEED_CLAIM["text"],
        "source": SEED_CLAIM["source"],
        "inputs": {
            "asic_watts": SEED_CLAIM["asic_watts"],
            "asic_ths": SEED_CLAIM["asic_ths"],
            "network_ehs": SEED_CLAIM["network_ehs"],
            "pue": CALCULATOR_DEFAULTS["pue"],
            "uptime": Reward.uptime,
            "subsidy_btc": Reward.subsidy_btc,
            "fees_btc_per_block": Reward.fees_btc_per_block,
        },
        "cases": cases,
        "verdict": verdict,
    }


def _gw_cases(
    issuance: float, network_ehs: float, efficiency_j_th: float, pue: float, uptime: float
) -> list[dict]:
    """The claim's 5 and 20 GW: installed and average EH/s, share of the network, BTC a year."""
    cases = []
    for claimed in SEED_CLAIM["cases"]:
        ehs = claimed["gw"] * 1e3 / (pue * efficiency_j_th)
        avg = uptime * ehs
        share = avg / (network_ehs + avg)
        cases.append(
            {
                "gw": claimed["gw"],
                "claimed_hashrate_ehs": claimed["hashrate_ehs"],
                "hashrate_installed_ehs": ehs,
                "hashrate_average_ehs": avg,
                "share_of_network": share,
                "claimed_btc_per_year": claimed["btc_per_year"],
                "btc_per_year": float(issuance * share),
            }
        )
    return cases


def _network_shares(
    issuance: float, network_ehs: float, efficiency_j_th: float, pue: float, uptime: float
) -> list[dict]:
    """The average EH/s and GW (average and installed) a fleet needs for 50 / 90 / 99 % of the network."""
    shares = []
    for s in (0.5, 0.9, 0.99):
        avg = s * network_ehs / (1.0 - s)
        shares.append(
            {
                "share": s,
                "hashrate_average_ehs": avg,
                "gw_average": avg * pue * efficiency_j_th / 1e3,
                "gw_installed": avg * pue * efficiency_j_th / 1e3 / uptime,
                "btc_per_year": float(issuance * s),
            }
        )
    return shares


def _wasted_ledger(
    issuance: float, network_ehs: float, fleet_ehs: float, pue: float, efficiency_j_th: float
) -> dict:
    """The wasted ledger's fleet: average EH/s, share of the network, GW of site power, BTC a year."""
    share = fleet_ehs / (network_ehs + fleet_ehs)
    return {
        "hashrate_average_ehs": float(fleet_ehs),
        "share_of_network": float(share),
        "gw_average": float(fleet_ehs * pue * efficiency_j_th / 1e3),
        "btc_per_year": float(issuance * share),
    }


def seed_claims_corrected(
    *,
    network_ehs: float = 1070.0,
    efficiency_j_th: float = 17.5,
    pue: float = 1.10,
    uptime: float = 0.95,
    subsidy_btc: float = 3.125,
    fees_btc_per_block: float = 0.036,
    blocks_per_year: float = 52_560,
    wasted_fleet_ehs: float | None = None,
    fleet_btc_by_year: list[float] | None = None,
    reserve_btc: float = 200_000.0,
) -> dict:
    """The seed claims with the corrected dilution ``u.H / (N + u.H)`` (uptime inside).

    Parameters
    ----------
    network_ehs
        network hashrate without the fleet, EH/s.
    efficiency_j_th, pue, uptime
        the fleet's machines (J/TH), site power / IT power, share of the year mining.
    wasted_fleet_ehs
        average EH/s the ``wasted`` ledger's economic fleet supplies (from the fleet economics);
        None leaves that column out.
    fleet_btc_by_year
        BTC a year of the economic fleet over its life; the years to add ``reserve_btc`` (the
        US reserve held today, 200,000 BTC) continue the last year's rate beyond it.

    Returns
    -------
    dict with ``gw_cases`` (5 and 20 GW: installed and average EH/s, share, BTC a year, next to
    the claim), ``network_share`` (the average EH/s and GW of site power a fleet needs for 50 /
    90 / 99 % of the network: u.H = s N / (1 - s)), ``wasted_ledger`` and ``years_to_reserve``.
    """
    issuance = Reward(subsidy_btc, fees_btc_per_block, uptime, blocks_per_year).issuance_btc_per_year()
    out: dict = {
        "claim": SEED_CLAIM["text"] + '; "all remaining bitcoin mined in the USA"',
        "formula": "share = u.H / (N + u.H); u.H for share s = s N / (1 - s); GW = EH/s x J/TH x PUE / 1,000",
        "inputs": {
            "network_ehs": network_ehs,
            "efficiency_j_th": efficiency_j_th,
            "pue": pue,
            "uptime": uptime,
            "subsidy_btc": subsidy_btc,
            "fees_btc_per_block": fees_btc_per_block,
        },
        "gw_cases": _gw_cases(issuance, network_ehs, efficiency_j_th, pue, uptime),
        "network_share": _network_shares(issuance, network_ehs, efficiency_j_th, pue, uptime),
    }
    if wasted_fleet_ehs is not None:
        out["wasted_ledger"] = _wasted_ledger(issuance, network_ehs, wasted_fleet_ehs, pue, efficiency_j_th)
    if fleet_btc_by_year is not None:
        from gis.estimates.fleet import years_to_btc

        out["years_to_reserve"] = {
            "reserve_btc": reserve_btc,
            "years": years_to_btc(fleet_btc_by_year, reserve_btc),
        }
    return out


def _fleet_figures(
    gw: float, asic_watts: float, asic_ths: float, network_ehs: float, pue: float, reward: Reward
) -> dict:
    """The figures of :func:`calculator` from checked inputs.

    Parameters
    ----------
    gw
        site power, GW.
    asic_watts, asic_ths
        one machine's wall power (W) and hashrate (TH/s).
    network_ehs
        network hashrate before the fleet joins, EH/s.
    pue
        power usage effectiveness (>= 1).
    reward
        subsidy and fees (BTC/block), uptime (0..1] and blocks a year.

    Returns
    -------
    dict
        as :func:`calculator` returns it.
    """
    uptime = reward.uptime
    it_w = float(bitcoin.it_power_w(gw * 1e9, pue))
    ehs = float(bitcoin.hashrate_ths(it_w, asic_watts / asic_ths)) / 1e6
    btc = float(bitcoin.expected_btc_per_year(ehs, network_ehs, **reward.kwargs()))
    return {
        "machines": float(bitcoin.machine_count(it_w, asic_watts)),
        "it_gw": it_w / 1e9,
        "hashrate_ehs": ehs,
        "share_of_network": float(bitcoin.share_of_network(uptime * ehs, network_ehs)),
        "btc_per_year": btc,
        "btc_per_day": btc / 365.0,
        "naive_btc_per_year": float(bitcoin.naive_btc_per_year(ehs, network_ehs, **reward.kwargs())),
        "network_issuance_btc_per_year": reward.issuance_btc_per_year(),
        "assumptions": _calculator_assumptions(gw, asic_watts, asic_ths, network_ehs, pue, reward),
    }
