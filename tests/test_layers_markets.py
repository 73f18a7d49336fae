"""Hourly market prices, ISO fuel mix and CAISO daily curtailment (``gis.layers.markets``).

The fixtures in ``tests/fixtures/markets/`` are hand-written in the real layouts (EIA market
portal: 3 preamble lines, UTC interval-ending stamps; the spreadsheet-saved ERCOT fuel mix; the
CAISO OASIS long format; the curtailment exports). Expected values are worked out by hand in the
comments.
"""

from __future__ import annotations

import csv
import doctest
import gzip
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gis.config.catalog import load_source
from gis.config.settings import DataOrigin
from gis.errors import GisError
from gis.io import write_gpkg
from gis.layers import markets
from gis.layers.build import build_layers, read_layers
from gis.rowlog import RowLog
from gis.schema import LAYER_SCHEMAS, validate
from gis.sources import Resolver

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "markets"
SOURCES = (*markets.PRICE_SOURCES, "caiso_curtailment_daily")


def _catalog() -> dict:
    return {n: load_source(REPO / "layers" / f"{n}.toml") for n in SOURCES}


def _oasis_zip(dest: Path) -> None:
    """The OASIS export layout: LMP_Data/<yyyymm>_LMP.csv plus macOS resource-fork members."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w") as zf:
        zf.writestr("LMP_Data/", "")
        zf.write(FIXTURES / "LMP_Data" / "202401_LMP.csv", "LMP_Data/202401_LMP.csv")
        zf.writestr("__MACOSX/LMP_Data/._202401_LMP.csv", b"\x00\x05\x16\x07 not a csv")


def _data_dir(tmp_path: Path, *, drop: tuple[str, ...] = ()) -> tuple[Path, dict]:
    """A data directory in the mirror layout holding the fixtures (gzipped where catalogued .gz),
    and a catalog reduced to the files present (no checksums)."""
    data = tmp_path / "data"
    catalog = {}
    for name, src in _catalog().items():
        files = []
        for f in src.files:
            target = data / f.path
            plain = FIXTURES / Path(f.path).name.removesuffix(".gz")
            if f.path.endswith("LMP_Data.zip"):
                _oasis_zip(target)
            elif plain.is_file() and plain.name not in drop:
                target.parent.mkdir(parents=True, exist_ok=True)
                if f.path.endswith(".gz"):
                    with gzip.open(target, "wb") as fh:
                        fh.write(plain.read_bytes())
                else:
                    target.write_bytes(plain.read_bytes())
            else:
                continue
            files.append(f.model_copy(update={"sha256": None, "size_bytes": None}))
        catalog[name] = src.model_copy(update={"files": files})
    return data, catalog


@pytest.fixture
def resolver(tmp_path: Path) -> Resolver:
    data, catalog = _data_dir(tmp_path)
    return Resolver(DataOrigin(data_dir=data), catalog=catalog, progress=False)


@pytest.fixture
def prices(resolver: Resolver) -> pd.DataFrame:
    frame, _ = markets.build_prices(resolver)
    return validate(frame, "market_prices").set_index(["node", "kind", "hour_utc"])


@pytest.fixture
def mix(resolver: Resolver) -> pd.DataFrame:
    frame, _ = markets.build_mix(resolver)
    return validate(frame, "market_mix").set_index(["region", "hour_utc"])


def test_docstring_examples() -> None:
    result = doctest.testmod(markets, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


def test_rt_15min_hourly_means_and_interval_ending(prices: pd.DataFrame) -> None:
    # the interval ENDING 05:15Z belongs to hour 05:00Z: (1 + 2 + 3 + 4) / 4 = 2.5
    row = prices.loc[("ERCOT:HB_NORTH", "rt", "2023-11-05T05:00Z")]
    assert row["price_usd_mwh"] == pytest.approx(2.5)
    assert (row["intervals"], row["intervals_expected"]) == (4, 4)
    assert row["intervals"] == 4
    assert prices.loc[("ERCOT:HB_PAN", "rt", "2023-11-05T05:00Z"), "price_usd_mwh"] == pytest.approx(-2.5)
    # the interval ending 06:00Z is the last of hour 05:00Z, not the first of 06:00Z
    assert prices.loc[("ERCOT:HB_NORTH", "rt", "2023-11-05T06:00Z"), "price_usd_mwh"] == pytest.approx(25.0)


def test_dst_fall_back_repeated_local_hour_is_two_utc_hours(prices: pd.DataFrame) -> None:
    # 2023-11-05: local 01:00-02:00 occurs twice (CDT then CST) = UTC hours 06:00Z and 07:00Z
    assert prices.loc[("ERCOT:HB_NORTH", "rt", "2023-11-05T06:00Z"), "price_usd_mwh"] == pytest.approx(25.0)
    assert prices.loc[("ERCOT:HB_NORTH", "rt", "2023-11-05T07:00Z"), "price_usd_mwh"] == pytest.approx(-10.0)
    assert prices.loc[("ERCOT:HB_WEST", "rt", "2023-11-05T07:00Z"), "price_usd_mwh"] == pytest.approx(-40.0)


def test_missing_hour_is_absent_and_partial_hour_keeps_its_intervals(prices: pd.DataFrame) -> None:
    ercot_north = prices.xs(("ERCOT:HB_NORTH", "rt"))
    assert "2023-11-05T08:00Z" not in ercot_north.index  # no interval in the file: no row, not 0
    assert len(ercot_north) == 4
    # 09:15, 09:30 and 10:00 present (09:45 missing): (5 + 7 + 9) / 3 = 7 over 3 of 4 intervals
    row = ercot_north.loc["2023-11-05T09:00Z"]
    assert row["price_usd_mwh"] == pytest.approx(7.0)
    assert (row["intervals"], row["intervals_expected"]) == (3, 4)


def test_5min_hourly_mean(prices: pd.DataFrame) -> None:
    # 12 intervals: (-6 - 6 - 5 - 5 - 4 - 4 - 3 - 3 - 2 - 2 + 0 + 2) / 12 = -38 / 12
    row = prices.loc[("SPP:NORTH", "rt", "2024-04-01T05:00Z")]
    assert row["price_usd_mwh"] == pytest.approx(-38 / 12)
    assert (row["intervals"], row["intervals_expected"]) == (12, 12)
    nxt = prices.loc[("SPP:NORTH", "rt", "2024-04-01T06:00Z")]
    assert nxt["price_usd_mwh"] == pytest.approx(25.0) and nxt["intervals"] == 2
    assert prices.loc[("SPP:SOUTH", "rt", "2024-04-01T05:00Z"), "price_usd_mwh"] == pytest.approx(12.0)


def test_caiso_spring_forward_and_empty_interval(prices: pd.DataFrame) -> None:
    # 2024-03-10 09:00Z = local 01:00-03:00 (02:00 skipped); NP-15 30, 32, (empty), 34
    row = prices.loc[("CAISO:NP15", "rt", "2024-03-10T09:00Z")]
    assert row["price_usd_mwh"] == pytest.approx(32.0) and row["intervals"] == 3
    assert prices.loc[("CAISO:SP15", "rt", "2024-03-10T09:00Z"), "price_usd_mwh"] == pytest.approx(-13.0)
    # LMP, never the congestion component (-40 .. -52)
    assert prices.loc[("CAISO:SP15", "rt", "2024-03-10T10:00Z"), "intervals"] == 1


def test_hourly_da_and_rt_files_move_back_one_hour(prices: pd.DataFrame) -> None:
    # ERCOT DA on 2023-03-12: rows ending 07:00, 08:00, 09:00Z are hours 06:00, 07:00, 08:00Z
    west = prices.xs(("ERCOT:HB_WEST", "da"))
    assert list(west.index) == ["2023-03-12T06:00Z", "2023-03-12T07:00Z", "2023-03-12T08:00Z"]
    assert west.loc["2023-03-12T08:00Z", "price_usd_mwh"] == pytest.approx(-2.5)
    assert (west["intervals_expected"] == 1).all()
    minn = prices.xs(("MISO:MINNESOTA", "rt"))
    assert list(minn.index) == ["2023-01-01T05:00Z", "2023-01-01T07:00Z"]
    assert minn.iloc[0]["price_usd_mwh"] == pytest.approx(-3.5)


def test_pjm_hub_ids_and_quoted_hub_name(prices: pd.DataFrame) -> None:
    nodes = set(prices.index.get_level_values("node"))
    pjm = sorted(n for n in nodes if n.startswith("PJM:"))
    assert len(pjm) == 12
    assert all(re.fullmatch(r"PJM:[A-Z0-9_]+", n) for n in pjm)
    assert "PJM:AMERICAN_ELECTRIC_POWER_CO_INC_DAYTON" in pjm and "PJM:WEST_INT_HUB" in pjm
    assert (
        prices.loc[("PJM:AMERICAN_ELECTRIC_POWER_CO_INC_DAYTON", "rt", "2023-03-12T06:00Z"), "price_usd_mwh"]
        == 21.4
    )
    assert prices.loc[("PJM:WESTERN_HUB", "rt", "2023-03-12T07:00Z"), "price_usd_mwh"] == -1.5
    assert {n for n in nodes if n.startswith("MISO:")} == {
        f"MISO:{h}"
        for h in (
            "ARKANSAS",
            "ILLINOIS",
            "INDIANA",
            "LOUISIANA",
            "MICHIGAN",
            "MINNESOTA",
            "MISSISSIPPI",
            "TEXAS",
        )
    }


def test_oasis_long_format(prices: pd.DataFrame, resolver: Resolver) -> None:
    da = prices.xs(("CAISO:NP15", "da"))
    # rows unsorted, five components per hour; only LMP_PRC, MW is the price, start = hour beginning
    assert list(da.index) == ["2024-01-01T08:00Z", "2024-01-01T09:00Z"]
    assert da["price_usd_mwh"].tolist() == [-3.25, 46.0]
    assert (da["intervals"] == 1).all()
    log = markets.build_prices(resolver)[1]
    assert any("8 rows of other price components" in n for n in log.notes)


def test_markets_and_kinds(prices: pd.DataFrame) -> None:
    frame = prices.reset_index()
    assert set(frame["market"]) == {"ERCOT", "CAISO", "SPP", "MISO", "PJM"}
    assert (frame["node"].str.split(":").str[0] == frame["market"]).all()
    assert set(frame["kind"]) == {"rt", "da"}
    assert frame["hour_utc"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00Z").all()


def test_spreadsheet_fuel_mix(mix: pd.DataFrame) -> None:
    # M/D/YYYY H:MM stamps, trailing commas; 6:15 .. 7:00 (UTC interval ending) = hour 06:00Z
    row = mix.loc[("ERCOT", "2023-01-01T06:00Z")]
    assert row["total_mw"] == pytest.approx(36_600.0)  # (36000 + 36400 + 36800 + 37200) / 4
    assert row["gas_mw"] == pytest.approx(6_500.0)  # Gas + Gas-CC: (6200 + 6400 + 6600 + 6800) / 4
    assert row["other_mw"] == pytest.approx(20.0)  # Other 4 + Biomass 16
    assert row["storage_mw"] == pytest.approx(-40.0)  # WSL (-100 - 40 - 20 + 0) / 4
    assert row["wind_mw"] == pytest.approx(21_379.0)  # the 15-min mix wins over the hourly 21,700
    assert row["solar_mw"] == 0.0 and np.isnan(row["oil_mw"])
    assert row["load_mw"] == pytest.approx(35_800.0)
    partial = mix.loc[("ERCOT", "2023-01-01T07:00Z")]  # two intervals only
    assert partial["total_mw"] == pytest.approx(31_000.0) and partial["wind_mw"] == pytest.approx(15_980.0)


def test_hourly_wind_fills_hours_without_fuel_mix(mix: pd.DataFrame) -> None:
    gap = mix.loc[("ERCOT", "2023-01-01T08:00Z")]
    assert gap["wind_mw"] == 21_000.0 and gap["solar_mw"] == 0.4
    assert np.isnan(gap["total_mw"]) and np.isnan(gap["gas_mw"])
    west = mix.loc[("ERCOT:WEST", "2023-01-01T06:00Z")]
    assert west["wind_mw"] == 12_700.0 and west[["total_mw", "solar_mw", "gas_mw"]].isna().all()
    regions = set(mix.index.get_level_values("region"))
    assert {"ERCOT:COASTAL", "ERCOT:NORTH", "ERCOT:PANHANDLE", "ERCOT:SOUTH", "ERCOT:WEST"} <= regions
    assert mix.loc[("MISO", "2023-01-01T05:00Z"), "wind_mw"] == 9_000.0  # fuel mix, not gen_wnd 9,100
    assert mix.loc[("MISO", "2023-01-01T07:00Z"), "wind_mw"] == 9_300.0  # gen_wnd fills the gap


def test_miso_regions_and_pjm_other(mix: pd.DataFrame) -> None:
    assert {"MISO", "MISO:CENTRAL", "MISO:NORTH", "MISO:SOUTH", "PJM"} <= set(
        mix.index.get_level_values("region")
    )
    total = mix.loc[("MISO", "2023-01-01T06:00Z")]
    assert total["coal_mw"] == 40_400.0 and total["total_mw"] == 116_900.0
    assert np.isnan(mix.loc[("MISO:SOUTH", "2023-01-01T05:00Z"), "storage_mw"])  # no such column
    assert mix.loc[("MISO:CENTRAL", "2023-01-01T05:00Z"), "nuclear_mw"] == 4_600.0
    pjm = mix.loc[("PJM", "2023-01-01T05:00Z")]
    assert pjm["other_mw"] == pytest.approx(623.0)  # Multiple Fuels 3 + Other Renewables 620 + Other (empty)
    assert pjm["oil_mw"] == 195.0 and pjm["nuclear_mw"] == 33_968.0
    assert mix.loc[("PJM", "2023-01-01T06:00Z"), "other_mw"] == pytest.approx(818.0)  # 3 + 635 + 180
    assert (mix.reset_index()["market"] == mix.reset_index()["region"].str.split(":").str[0]).all()


def test_curtailment_daily(resolver: Resolver) -> None:
    frame, log = markets.build_curtailment(resolver)
    table = validate(frame, "curtailment_daily").set_index("date")
    assert list(table.index) == ["2024-04-05", "2024-04-06", "2024-04-07", "2024-04-08"]
    assert (table["market"] == "CAISO").all()
    assert (
        table.loc["2024-04-06", "solar_mwh"] == 60_500.0 and table.loc["2024-04-06", "system_mwh"] == 10_000.0
    )
    assert table.loc["2024-04-05", "local_mwh"] == 900.75
    # a day in one file only: NaN in the other's columns, never 0
    assert np.isnan(table.loc["2024-04-07", "solar_mwh"]) and table.loc["2024-04-07", "local_mwh"] == 42.0
    assert np.isnan(table.loc["2024-04-08", "local_mwh"]) and table.loc["2024-04-08", "wind_mwh"] == 5.0
    assert sum("agree within 0.5 %" in n for n in log.notes) == 4  # yearly x 2, monthly, solar by reason


def test_curtailment_files_absent_gives_an_empty_layer(tmp_path: Path) -> None:
    names = ("daily_wind_vs_solar_curtailment.csv", "daily_curtailment_by_reason.csv")
    data, catalog = _data_dir(tmp_path, drop=names)
    full = _catalog()["caiso_curtailment_daily"]
    catalog["caiso_curtailment_daily"] = full.model_copy(
        update={"files": [f.model_copy(update={"sha256": None}) for f in full.files]}
    )
    r = Resolver(DataOrigin(data_dir=data), catalog=catalog, progress=False)
    frame, log = markets.build_curtailment(r)
    assert len(validate(frame, "curtailment_daily")) == 0
    assert any("no CAISO curtailment file" in n for n in log.notes)
    assert any("optional file" in w for w in r.warnings)


def test_build_registered_and_round_trips_through_the_geopackage(resolver: Resolver, tmp_path: Path) -> None:
    result = build_layers(resolver, themes=["markets"])
    assert set(result.layers) == {"market_prices", "market_mix", "curtailment_daily"}
    assert all(LAYER_SCHEMAS[n].geometry is None for n in result.layers)
    target = write_gpkg(tmp_path / "layers.gpkg", result.layers)
    back = read_layers(target, list(result.layers))
    for name, frame in result.layers.items():
        pd.testing.assert_frame_equal(back[name], frame, check_dtype=False)


def test_plain_official_csv_is_read_too(tmp_path: Path) -> None:
    log = RowLog("t")
    frame = markets.read_eia_csv(
        FIXTURES / "ercot_lmp_rt_15min_hubs_2023Q4.csv", ["North LMP"], log=log, label="plain"
    )
    assert len(frame) == 15 and log.rows_read == 15
    assert frame["utc_end"].iloc[0] == pd.Timestamp("2023-11-05 05:15")


def _pandas_read(path: Path, columns: list[str], monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(markets, "_read_arrow", lambda *a: None)  # the pandas.read_csv path only
        return markets.read_eia_csv(path, [], optional=columns, log=RowLog("t"), label="x")


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*_*_*_20*.csv")))
@pytest.mark.parametrize("gzipped", [False, True])
def test_arrow_and_pandas_readers_give_the_same_frame(
    name: str, gzipped: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = FIXTURES / name
    if gzipped:
        path = tmp_path / f"{name}.gz"
        path.write_bytes(gzip.compress((FIXTURES / name).read_bytes()))
    header = next(csv.reader((FIXTURES / name).read_text(encoding="utf-8-sig").splitlines()[3:4]))
    columns = [c for c in header if c.endswith(("LMP", "(MW)"))]
    assert columns
    fast = markets.read_eia_csv(path, [], optional=columns, log=RowLog("t"), label="x")
    pd.testing.assert_frame_equal(fast, _pandas_read(path, columns, monkeypatch), check_exact=True)


def test_text_in_a_price_column_is_read_as_pandas_reads_it(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "ercot_lmp_da_hr_hubs_2023.csv"
    lines = (FIXTURES / path.name).read_text().splitlines()
    cells = lines[5].split(",")
    cells[-1] = "n.a."  # not a number and not a missing-value word: pyarrow refuses, pandas coerces
    lines[5] = ",".join(cells)
    lines[6] = lines[6].rsplit(",", 1)[0] + ",None"  # a pandas missing-value word: missing on both paths
    path.write_text("\n".join(lines) + "\n")
    assert markets._read_arrow(path, {markets.UTC_COLUMN, "West LMP"}) is None
    frame = markets.read_eia_csv(path, ["West LMP"], log=RowLog("t"), label="x")
    assert frame["West LMP"].isna().sum() == 2
    pd.testing.assert_frame_equal(frame, _pandas_read(path, ["West LMP"], monkeypatch), check_exact=True)


def test_missing_column_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "spp_lmp_rt_5min_hubs_2024Q2.csv"
    bad.write_text((FIXTURES / bad.name).read_text().replace("North Hub LMP", "Nord Hub LMP"))
    with pytest.raises(GisError) as err:
        markets.read_eia_csv(bad, ["North Hub LMP"], log=RowLog("t"), label="x")
    assert (
        err.value.field == "North Hub LMP" and bad.name in err.value.message and "Fix:" in err.value.message
    )


def test_unknown_timestamp_form_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    text = (FIXTURES / "miso_gen_wnd_hr_2023.csv").read_text()
    bad.write_text(text.replace("2023-01-01 06:00:00,", "Jan 1 2023 6am,", 1))
    with pytest.raises(GisError, match="no known form"):
        markets.read_eia_csv(bad, ["MISO Total Wind Generation (MW)"], log=RowLog("t"), label="x")


def test_unreadable_and_repeated_stamps_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    lines = (FIXTURES / "ercot_lmp_da_hr_hubs_2023.csv").read_text().splitlines()
    lines += [lines[-1], "not a date" + lines[-1][19:]]
    path.write_text("\n".join(lines) + "\n")
    log = RowLog("t")
    frame = markets.read_eia_csv(path, ["West LMP"], log=log, label="da")
    assert len(frame) == 3 and log.rows_read == 5
    assert log.dropped == {"da: repeated UTC timestamp": 1, "da: no readable UTC timestamp": 1}


def test_implausible_hourly_solar_is_set_to_nan_and_counted(tmp_path: Path) -> None:
    head = (FIXTURES / "ercot_gen_sun-wnd_hr_2023.csv").read_text().splitlines()[:4]
    stamps = pd.date_range("2024-08-01 01:00", periods=300, freq="h")
    rows = [
        f"{t:%Y-%m-%d %H:%M:%S},x,x,x,1,{20_000.0 if i != 150 else 120_000.0},9000,1,1,1,1,1"
        for i, t in enumerate(stamps)
    ]
    (tmp_path / "ercot_gen_sun-wnd_hr_2024.csv").write_text("\n".join(head + rows) + "\n")
    src = _catalog()["eia_wm_ercot"]
    f = src.file("ercot_gen_sun-wnd_hr_2024").model_copy(
        update={"path": "ercot_gen_sun-wnd_hr_2024.csv", "sha256": None, "url": None}
    )
    catalog = {"eia_wm_ercot": src.model_copy(update={"files": [f]})}
    r = Resolver(DataOrigin(data_dir=tmp_path), catalog=catalog, progress=False)
    log = RowLog("t")
    parts = markets._mix_group([r.require("eia_wm_ercot", f.key)], "gen_sun-wnd", "hr", src.columns, log)
    _, hours, values = next(p for p in parts if p[0] == "ERCOT")
    solar = values[:, markets.MIX_COLUMNS.index("solar_mw")]
    assert len(hours) == 300 and np.isnan(solar).sum() == 1 and np.nanmax(solar) == 20_000.0
    assert sum(log.repaired.values()) == 1


def test_catalog_mapping() -> None:
    cat = _catalog()
    expected = {
        "eia_wm_ercot": {
            f"ERCOT:{h}"
            for h in ("HB_BUSAVG", "HB_HOUSTON", "HB_HUBAVG", "HB_NORTH", "HB_PAN", "HB_SOUTH", "HB_WEST")
        },
        "eia_wm_caiso": {"CAISO:NP15", "CAISO:SP15", "CAISO:ZP26"},
        "eia_wm_spp": {"SPP:NORTH", "SPP:SOUTH"},
        "caiso_oasis_np15_dam_2024": {"CAISO:NP15"},
    }
    for name, nodes in expected.items():
        assert set(markets._mapped(cat[name].columns, "price")) == nodes
    pjm = markets._mapped(cat["eia_wm_pjm"].columns, "price")
    for node, column in pjm.items():  # upper case, every run of non-alphanumerics as one "_"
        assert node == "PJM:" + re.sub(r"[^A-Z0-9]+", "_", column.removesuffix(" LMP").upper()).strip("_")
    assert {"PJM:WESTERN_HUB", "PJM:AEP_GEN_HUB", "PJM:CHICAGO_HUB", "PJM:DOMINION_HUB"} <= set(pjm)
    for name in ("eia_wm_ercot", "eia_wm_caiso", "eia_wm_spp", "eia_wm_miso", "eia_wm_pjm"):
        src = cat[name]
        assert set(src.feeds) <= set(LAYER_SCHEMAS)
        for f in src.files:
            markets.file_kind(f.key)  # every key names its kind and resolution
            assert f.path == f"{name}/{f.key}.csv.gz" and f.url.endswith(f"/{f.key}.csv")
            assert f.sha256 and f.size_bytes
        for key in src.columns:
            prefix = key.split(":")[0]
            assert prefix in {"price", "region", "mix", "wind", "solar", "load"}
            if prefix == "mix":
                assert key[4:] in markets.FUEL_COLUMNS
    ercot = cat["eia_wm_ercot"].columns
    assert ercot["mix:gas_mw"] == "Gas Generation (MW) + Gas-CC Generation (MW)"
    assert "Biomass" in ercot["mix:other_mw"] and ercot["mix:storage_mw"] == "WSL Generation (MW)"
    assert "Multiple Fuels" in cat["eia_wm_pjm"].columns["mix:other_mw"]
    assert all(f.optional for f in cat["caiso_curtailment_daily"].files)


def test_year_hours_and_matrices(prices: pd.DataFrame, mix: pd.DataFrame) -> None:
    assert len(markets.year_hours(2023)) == 8760 and len(markets.year_hours(2024)) == 8784
    hours, nodes, p = markets.price_matrix(prices.reset_index(), year=2023, kind="rt")
    assert nodes == sorted(nodes) and "ERCOT:HB_NORTH" in nodes and p.shape == (len(nodes), 8760)
    north = p[nodes.index("ERCOT:HB_NORTH")]
    at = hours.get_loc(pd.Timestamp("2023-11-05 07:00", tz="UTC"))
    assert north[at] == pytest.approx(-10.0) and np.isnan(north[at + 1])  # 08:00Z missing
    assert np.isfinite(north).sum() == 4
    _, given, q = markets.price_matrix(
        prices.reset_index(), year=2024, kind="da", nodes=["CAISO:NP15", "X:Y"]
    )
    assert given == ["CAISO:NP15", "X:Y"] and np.isfinite(q[0]).sum() == 2 and np.isnan(q[1]).all()
    m = markets.mix_matrix(mix.reset_index(), year=2023, region="ERCOT")
    assert list(m.columns) == list(markets.MIX_COLUMNS) and len(m) == 8760
    assert m.loc[pd.Timestamp("2023-01-01 06:00", tz="UTC"), "gas_mw"] == pytest.approx(6_500.0)
    assert m["total_mw"].notna().sum() == 2


def test_coverage(prices: pd.DataFrame) -> None:
    cov = markets.coverage(prices.reset_index()).set_index(["node", "kind", "year"])
    row = cov.loc[("ERCOT:HB_NORTH", "rt", 2023)]
    assert row["hours_present"] == 4 and row["hours_in_year"] == 8760
    assert row["first_hour"] == "2023-11-05T05:00Z" and row["last_hour"] == "2023-11-05T09:00Z"
    assert row["hours_negative"] == 1 and row["hours_nonpositive"] == 1
    assert row["mean_price_usd_mwh"] == pytest.approx((2.5 + 25 - 10 + 7) / 4)
    assert cov.loc[("SPP:NORTH", "rt", 2024), "hours_in_year"] == 8784


# ---------------------------------------------------------------- real data (SOURCES.md 11, 12)


@pytest.fixture(scope="module")
def real_layers(real_data_dir: Path) -> dict[str, pd.DataFrame]:
    r = Resolver(DataOrigin(data_dir=real_data_dir), progress=False)
    out = {name: validate(frame, name) for name, (frame, _) in markets.build(r, {}).items()}
    assert not [w for w in r.warnings if "differs" in w]
    return out


def _negative_hours(cov: pd.DataFrame, node: str, year: int) -> int:
    return int(cov.loc[(node, "rt", year), "hours_negative"])


@pytest.mark.realdata
def test_real_negative_price_hours_match_sources(real_layers) -> None:
    cov = markets.coverage(real_layers["market_prices"]).set_index(["node", "kind", "year"])
    expected = {
        "ERCOT:HB_WEST": (727, 858),
        "ERCOT:HB_PAN": (1_478, 1_959),
        "ERCOT:HB_NORTH": (125, 189),
        "ERCOT:HB_HOUSTON": (117, 135),
        "CAISO:SP15": (534, 1_100),
        "CAISO:ZP26": (603, 1_106),
        "CAISO:NP15": (224, 385),
        "SPP:NORTH": (1_106, 1_334),
        "SPP:SOUTH": (965, 1_024),
        "MISO:MINNESOTA": (256, 161),
        "MISO:ILLINOIS": (46, 136),
    }
    got = {n: (_negative_hours(cov, n, 2023), _negative_hours(cov, n, 2024)) for n in expected}
    assert got == expected
    assert _negative_hours(cov, "PJM:WESTERN_HUB", 2023) == 3
    assert (
        cov.loc[("CAISO:SP15", "rt", 2023), "hours_present"],
        cov.loc[("CAISO:SP15", "rt", 2024), "hours_present"],
    ) == (
        7_735,
        8_059,
    )


@pytest.mark.realdata
def test_real_annual_means_match_sources(real_layers) -> None:
    cov = markets.coverage(real_layers["market_prices"]).set_index(["node", "kind", "year"])
    # ERCOT RT is complete: the UTC year 2023 lacks only its first 6 hours (in the 2022 files)
    assert cov.loc[("ERCOT:HB_NORTH", "rt", 2023), "hours_present"] == 8_754
    assert cov.loc[("ERCOT:HB_NORTH", "rt", 2024), "hours_present"] == 8_784
    assert round(cov.loc[("ERCOT:HB_NORTH", "rt", 2023), "mean_price_usd_mwh"], 2) == 48.32
    assert round(cov.loc[("ERCOT:HB_NORTH", "rt", 2024), "mean_price_usd_mwh"], 2) == 25.88
    assert round(cov.loc[("ERCOT:HB_WEST", "rt", 2023), "mean_price_usd_mwh"], 2) == 49.47
    assert round(cov.loc[("PJM:WESTERN_HUB", "rt", 2023), "mean_price_usd_mwh"], 2) == 31.55
    assert round(cov.loc[("SPP:NORTH", "rt", 2023), "mean_price_usd_mwh"], 2) == 21.17
    assert round(cov.loc[("CAISO:SP15", "rt", 2024), "mean_price_usd_mwh"], 2) == 30.65
    da = cov.loc[("CAISO:NP15", "da", 2024)]
    assert da["hours_negative"] == 271 and round(da["mean_price_usd_mwh"], 1) == 39.8
    first = real_layers["market_prices"].set_index(["node", "kind", "hour_utc"])
    assert first.loc[("ERCOT:HB_NORTH", "rt", "2023-01-01T06:00Z"), "price_usd_mwh"] == pytest.approx(-2.1175)


@pytest.mark.realdata
def test_real_ercot_fuel_mix_sums(real_layers) -> None:
    mix = real_layers["market_mix"]
    ercot = mix[mix["region"] == "ERCOT"]
    # SOURCES.md sums the four 2023 files, i.e. the local (Central) year: 06:00Z .. 05:00Z next year
    local_year = ercot[(ercot["hour_utc"] >= "2023-01-01T06:00Z") & (ercot["hour_utc"] < "2024-01-01T06:00Z")]
    twh = local_year[["wind_mw", "nuclear_mw", "total_mw", "coal_mw", "solar_mw"]].sum() / 1e6
    assert round(twh["wind_mw"], 1) == 108.0
    assert round(twh["nuclear_mw"], 1) == 40.7
    assert round(twh["total_mw"], 1) == 443.7
    assert round(twh["coal_mw"], 1) == 61.7 and round(twh["solar_mw"], 1) == 32.4
    assert local_year["total_mw"].notna().sum() == 8_759  # the repeated hour of 2023-11-05 is absent
    assert ercot["load_mw"].notna().sum() > 12_000
    nuclear = mix[(mix["region"] == "PJM")]["nuclear_mw"] / 1e3  # SOURCES.md: 27-34 GW, mean 31 GW
    assert round(nuclear.min()) == 27 and round(nuclear.max()) == 34 and round(nuclear.mean()) == 31


@pytest.mark.realdata
def test_real_caiso_curtailment_2024(real_layers) -> None:
    cur = real_layers["curtailment_daily"]
    y = cur[cur["date"].str.startswith("2024")]
    assert round(y["solar_mwh"].sum() / 1e6, 2) == 3.19
    assert round(y["wind_mwh"].sum() / 1e6, 2) == 0.23
    assert round((y["solar_mwh"] + y["wind_mwh"]).sum() / 1e6, 2) == 3.42
    assert y.set_index("date")["solar_mwh"].idxmax() == "2024-04-06"
    assert cur["date"].min() == "2020-01-01" and cur["date"].max() == "2025-12-31"


@pytest.mark.realdata
def test_real_layer_sizes(real_layers) -> None:
    prices = real_layers["market_prices"]
    assert not prices.duplicated(["node", "kind", "hour_utc"]).any()
    assert not real_layers["market_mix"].duplicated(["region", "hour_utc"]).any()
    assert 500_000 < len(prices) < 530_000
    assert len(set(prices["node"])) == 32


def test_official_plain_csv_through_http_gives_the_same_hours(
    tmp_path: Path, serve_dir, resolver: Resolver
) -> None:
    """The official form (plain CSV at the EIA URL) goes through the same resolver and reader."""
    server = serve_dir(FIXTURES)
    catalog = {}
    for name, src in _catalog().items():
        files = []
        if name == "eia_wm_spp":
            f = src.file("spp_lmp_rt_5min_hubs_2024Q2")
            files = [f.model_copy(update={"url": f"{server.url}/{f.key}.csv", "sha256": None})]
        catalog[name] = src.model_copy(update={"files": files})
    official = Resolver(DataOrigin(), cache=tmp_path / "cache", catalog=catalog, progress=False)
    got = official.require("eia_wm_spp", "spp_lmp_rt_5min_hubs_2024Q2")
    assert got.form == "official" and got.path.name.endswith(".csv")
    frame, _ = markets.build_prices(official)
    mirror, _ = markets.build_prices(resolver)
    spp = mirror[mirror["market"] == "SPP"].reset_index(drop=True)
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), spp)


def test_fuel_mix_without_a_total_column_is_refused(tmp_path: Path) -> None:
    name = "miso_gen_all_hr_2023.csv"
    (tmp_path / name).write_text(
        (FIXTURES / name).read_text().replace("Central Total Generation (MW)", "Central Sum (MW)")
    )
    src = _catalog()["eia_wm_miso"]
    f = src.file("miso_gen_all_hr_2023").model_copy(update={"path": name, "sha256": None})
    catalog = {"eia_wm_miso": src.model_copy(update={"files": [f]})}
    r = Resolver(DataOrigin(data_dir=tmp_path), catalog=catalog, progress=False)
    with pytest.raises(GisError) as err:
        markets._mix_group([r.require("eia_wm_miso", f.key)], "gen_all", "hr", src.columns, RowLog("t"))
    assert err.value.field == "Central Total Generation (MW)" and name in err.value.message
