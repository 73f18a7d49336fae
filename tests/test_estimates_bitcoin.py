"""Bitcoin arithmetic: known answers derived by hand, the reference seed table, halvings, invariants."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis.estimates import bitcoin
from gis.estimates.calculator import calculator
from gis.estimates.projection import project

BLOCKS_PER_YEAR = 52_560


def test_five_gw_at_3kw_200ths_known_answer() -> None:
    # 5e9 W / 3,000 W = 1,666,667 machines; x 200 TH/s = 3.333e8 TH/s = 333.3 EH/s
    got = calculator(gw=5, asic_watts=3000, asic_ths=200, network_ehs=1070)
    assert got["machines"] == pytest.approx(1_666_666.667, rel=1e-9)
    assert got["hashrate_ehs"] == pytest.approx(1000 / 3, rel=1e-12)
    # 52,560 x 3.125 x 333.33 / (1,070 + 333.33) = 39,014 BTC/yr (38,984 with H rounded to 333 EH/s)
    assert got["btc_per_year"] == pytest.approx(39_014.25, abs=0.01)
    assert got["btc_per_year"] == pytest.approx(38_984, rel=1e-3)
    assert got["network_issuance_btc_per_year"] == 164_250
    assert got["naive_btc_per_year"] > got["btc_per_year"]


@pytest.mark.parametrize(
    ("hashrate_ehs", "fees", "uptime", "expected"),
    [
        (333.0, 0.0, 1.0, 38_984),  # 333 / (1,070 + 333) x 164,250
        (1333.0, 0.0, 1.0, 91_113),  # 1,333 / (1,070 + 1,333) x 164,250
        # with 0.03 BTC/block fees and 95 % uptime inside the dilution: u.H / (1,070 + u.H) x 165,826
        # (the reference table's 37,391 / 87,389 put uptime outside, u.H / (N + H))
        (333.0, 0.03, 0.95, 37_840),
        (1333.0, 0.03, 0.95, 89_882),
    ],
)
def test_reference_seed_table_btc_rows(
    hashrate_ehs: float, fees: float, uptime: float, expected: int
) -> None:
    btc = bitcoin.expected_btc_per_year(
        hashrate_ehs, 1070.0, subsidy_btc=3.125, fees_btc_per_block=fees, uptime=uptime
    )
    assert round(float(btc)) == expected


@pytest.mark.parametrize(("hashrate_ehs", "expected"), [(333.0, 51_117), (1333.0, 204_622)])
def test_reference_seed_table_naive_share_rows(hashrate_ehs: float, expected: int) -> None:
    naive = bitcoin.naive_btc_per_year(hashrate_ehs, 1070.0, subsidy_btc=3.125)
    assert round(float(naive)) == expected
    if hashrate_ehs > 1070:  # the naive share issues more than the network does
        assert naive > bitcoin.network_issuance_btc_per_year(3.125)


@pytest.mark.parametrize(
    ("gw", "watts", "machines_m", "ehs"),
    [(5, 3000, 1.667, 333.3), (5, 3500, 1.429, 285.7), (20, 3000, 6.667, 1333.3), (20, 3500, 5.714, 1142.9)],
)
def test_reference_seed_table_machine_rows(gw: float, watts: float, machines_m: float, ehs: float) -> None:
    got = calculator(gw=gw, asic_watts=watts, asic_ths=200, network_ehs=1070)
    assert round(got["machines"] / 1e6, 3) == machines_m
    assert round(got["hashrate_ehs"], 1) == ehs


@pytest.mark.parametrize(("gw", "low", "high"), [(5, 260, 272), (20, 1039, 1088)])
def test_reference_seed_table_pue_rows(gw: float, low: float, high: float) -> None:
    at_110 = calculator(gw=gw, asic_watts=3500, asic_ths=200, network_ehs=1070, pue=1.10)["hashrate_ehs"]
    at_105 = calculator(gw=gw, asic_watts=3500, asic_ths=200, network_ehs=1070, pue=1.05)["hashrate_ehs"]
    assert round(at_110) == low
    assert round(at_105) == high


def test_issuance_hashprice_and_difficulty_checks() -> None:
    assert bitcoin.network_issuance_btc_per_year(3.125) == 164_250
    assert bitcoin.BLOCKS_PER_DAY * 3.125 == 450
    # 144 x 3.155 x $91,000 / 1,070,000 PH/s = $38.6 (Luxor reported $38.2, late Nov 2025)
    hp = bitcoin.hashprice_usd_per_ph_day(
        1070.0, subsidy_btc=3.125, fees_btc_per_block=0.03, btc_price_usd=91_000
    )
    assert float(hp) == pytest.approx(38.64, abs=0.01)
    # D = 148 T -> 148e12 x 2^32 / 600 = 1,059 EH/s
    assert round(float(bitcoin.hashrate_from_difficulty_ehs(148e12))) == 1059


@pytest.mark.parametrize(
    ("height", "subsidy"),
    [
        (0, 50.0),
        (209_999, 50.0),
        (210_000, 25.0),
        (839_999, 6.25),
        (840_000, 3.125),
        (1_049_999, 3.125),
        (1_050_000, 1.5625),
        (1_260_000, 0.78125),
        (32 * 210_000, 1e-8),  # 5,000,000,000 sat >> 32 = 1 sat
        (33 * 210_000, 0.0),
        (64 * 210_000, 0.0),
        (10**9, 0.0),
    ],
)
def test_halving_schedule(height: int, subsidy: float) -> None:
    assert float(bitcoin.block_subsidy_btc(height)) == subsidy


def test_supply_is_the_exact_subsidy_sum() -> None:
    assert bitcoin.MAX_SUPPLY_SAT == 2_099_999_997_690_000
    assert float(bitcoin.mined_supply_btc(840_000)) == 19_687_500.0
    assert float(bitcoin.mined_supply_btc(1_050_000)) == 20_343_750.0
    assert float(bitcoin.mined_supply_btc(840_001)) == 19_687_503.125
    heights = np.array([0, 1, 209_999, 840_000, 930_000, 7_000_000, 20_000_000])
    total = bitcoin.mined_supply_btc(heights) + bitcoin.remaining_supply_btc(heights)
    assert np.allclose(total, bitcoin.MAX_SUPPLY_BTC, rtol=0, atol=1e-6)
    assert float(bitcoin.remaining_supply_btc(20_000_000)) == 0.0


def test_height_by_date_reaches_the_next_halving_in_april_2028() -> None:
    kw = {"anchor_height": 840_000, "anchor_date": dt.date(2024, 4, 20), "blocks_per_year": 52_560}
    assert bitcoin.height_at(dt.date(2024, 4, 20), **kw) == 840_000
    assert bitcoin.height_at(dt.date(2024, 4, 21), **kw) == 840_144
    assert (
        bitcoin.height_at(dt.date(2028, 4, 1), **kw)
        < 1_050_000
        <= bitcoin.height_at(dt.date(2028, 5, 1), **kw)
    )


def test_projection_steps_down_at_each_halving() -> None:
    rows = project(
        hashrate_ehs=300.0,
        network_ehs=1070.0,
        uptime=1.0,
        fees_btc_per_block=0.0,
        start_year=2026,
        years=10,
        growth_per_year=0.0,
        base_year=2026,
        anchor_height=840_000,
        anchor_date=dt.date(2024, 4, 20),
        blocks_per_year=BLOCKS_PER_YEAR,
    )
    by_year = {r["year"]: r for r in rows}
    assert [r["year"] for r in rows] == list(range(2026, 2036))
    assert by_year[2027]["block_subsidy_btc"] == 3.125 and by_year[2029]["block_subsidy_btc"] == 1.5625
    assert by_year[2033]["block_subsidy_btc"] == 0.78125
    assert [y for y, r in by_year.items() if r["halvings_in_year"]] == [2028, 2032]
    assert by_year[2027]["issuance_btc"] == 164_250
    # 2028 mixes both subsidies: strictly between a full year at 1.5625 and at 3.125
    assert 82_125 < by_year[2028]["issuance_btc"] < 164_250
    btc = [r["btc"] for r in rows]
    assert all(a >= b for a, b in itertools.pairwise(btc))
    share = 300 / 1370
    assert by_year[2026]["btc"] == pytest.approx(164_250 * share)
    # the years' issuance adds up to the exact supply mined between the first and last height
    first, last = rows[0]["height_start"], rows[-1]["height_start"] + rows[-1]["blocks"]
    total = bitcoin.mined_supply_btc(last) - bitcoin.mined_supply_btc(first)
    assert sum(r["issuance_btc"] for r in rows) == pytest.approx(float(total))


def test_projection_network_growth_lowers_share() -> None:
    rows = project(
        hashrate_ehs=300.0,
        network_ehs=1000.0,
        uptime=1.0,
        fees_btc_per_block=0.0,
        start_year=2026,
        years=3,
        growth_per_year=0.2,
        base_year=2026,
        anchor_height=840_000,
        anchor_date=dt.date(2024, 4, 20),
        blocks_per_year=BLOCKS_PER_YEAR,
    )
    assert [round(r["network_ehs"], 6) for r in rows] == [1000.0, 1200.0, 1440.0]
    assert rows[0]["share_of_network"] > rows[1]["share_of_network"] > rows[2]["share_of_network"]


hashrates = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
networks = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)
subsidies = st.sampled_from([50.0, 6.25, 3.125, 1.5625, 0.0])
fees_st = st.floats(min_value=0.0, max_value=5.0, allow_nan=False)
uptimes = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)


@given(h=hashrates, n=networks, s=subsidies, f=fees_st, u=uptimes)
def test_btc_never_exceeds_network_issuance(h: float, n: float, s: float, f: float, u: float) -> None:
    btc = bitcoin.expected_btc_per_year(h, n, subsidy_btc=s, fees_btc_per_block=f, uptime=u)
    assert 0.0 <= btc <= bitcoin.network_issuance_btc_per_year(s, f) * (1 + 1e-12)


@given(h=hashrates, extra=st.floats(min_value=0.0, max_value=1e6, allow_nan=False), n=networks, f=fees_st)
def test_more_hashrate_never_mines_less(h: float, extra: float, n: float, f: float) -> None:
    low = bitcoin.expected_btc_per_year(h, n, subsidy_btc=3.125, fees_btc_per_block=f)
    high = bitcoin.expected_btc_per_year(h + extra, n, subsidy_btc=3.125, fees_btc_per_block=f)
    assert high >= low


@given(h=hashrates, n=networks)
def test_share_of_network_stays_below_one(h: float, n: float) -> None:
    share = bitcoin.share_of_network(h, n)
    assert 0.0 <= share < 1.0


@given(height=st.integers(min_value=0, max_value=20_000_000))
def test_subsidy_is_never_more_than_before(height: int) -> None:
    assert bitcoin.block_subsidy_btc(height + 1) <= bitcoin.block_subsidy_btc(height)
    assert bitcoin.mined_supply_btc(height + 1) - bitcoin.mined_supply_btc(height) == pytest.approx(
        float(bitcoin.block_subsidy_btc(height)), abs=1e-7
    )
