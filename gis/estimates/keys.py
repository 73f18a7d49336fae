"""The keys of ``estimates.json``: every figure the estimate stage writes, with unit and meaning.

Registered in :data:`gis.schema.KEY_REGISTRY` (see :class:`gis.schema.Key` for the path syntax:
``*`` any key of a table keyed by data, ``[]`` the items of a list). A test walks a real
:func:`gis.estimates.api.estimate` result and fails on a key registered nowhere here;
``docs/columns.md`` lists them all.

Units: ``GW`` gigawatts (site power, PUE included, unless said), ``EH/s`` exahashes per second,
``BTC/yr`` bitcoin a year, ``USD`` US dollars, ``USD/yr``, ``USD/MWh``, ``USD/PH/day`` (hashprice),
``TWh/yr``, ``MWh/yr``, ``MWh``, ``Mt CO2/yr`` million tonnes of CO2 equivalent a year, ``t CO2``,
``h/yr``, ``1`` a share 0..1, ``yr`` years, ``J/TH``, ``TH/s``, ``W``; empty for text, counts,
identifiers and flags.

Examples
--------
>>> from gis.schema import key_spec
>>> key_spec("by_state.TX.btc_per_year").unit
'BTC/yr'
>>> key_spec("projection[].co2_t").unit
't CO2'
"""

from __future__ import annotations

from gis.schema import Key, register_keys

__all__ = ["ESTIMATE_KEYS", "GROUP_KEYS"]


def _under(prefix: str, *rows: tuple[str, str, str]) -> tuple[Key, ...]:
    return tuple(Key(f"{prefix}.{name}" if prefix else name, unit, meaning) for name, unit, meaning in rows)


_TOP = _under(
    "",
    ("scenario", "", "name of the scenario the estimate used"),
    ("tool_version", "", "version of the tool that wrote the file"),
)

_SELECTION = _under(
    "selection",
    ("rule", "", "how sites enter the national fleet: npv (every site whose NPV-optimal fleet has NPV > 0)"),
    ("value", "", "threshold of the rule (scenario [estimates.selection])"),
    ("sites_considered", "", "candidate sites read"),
    ("sites_eligible", "", "sites that could host a fleet (not excluded, positive mineable MW)"),
    ("sites_selected", "", "sites selected by the rule before the fleet solve"),
    ("row_log.layer", "", "name of the row log"),
    ("row_log.rows_read", "", "candidate sites read"),
    ("row_log.rows_kept", "", "sites kept for the fleet solve"),
    ("row_log.rows_dropped", "", "sites dropped"),
    ("row_log.dropped.*", "", "sites dropped, by reason"),
    ("row_log.repaired.*", "", "sites repaired, by reason"),
    ("row_log.notes", "", "notes of the selection (list of text)"),
)

_NATIONAL = (
    Key("national.rule", "", "selection rule of the fleet", title="Selection rule"),
    Key("national.sites_in_fleet", "", "sites whose own fleet has NPV > 0", title="Sites in the fleet"),
    Key("national.installed_gw", "GW", "site power of the machines the fleet buys", title="Installed power"),
    Key("national.average_gw", "GW", "energy mined a year / 8,760 h", title="Average power mined"),
    Key("national.utilisation", "1", "average / installed power: the share of hours the machines run"),
    Key("national.hashrate_installed_ehs", "EH/s", "hashrate of the machines installed"),
    Key("national.hashrate_average_ehs", "EH/s", "installed hashrate x utilisation"),
    Key(
        "national.share_of_network_year_one", "1", "fleet / (network + fleet) in year one, once it has joined"
    ),
    Key(
        "national.btc_per_year",
        "BTC/yr",
        "bitcoin a year, mean over the machines' life, after the fleet's own difficulty dilution",
        title="Bitcoin mined",
    ),
    Key("national.btc_year_one", "BTC/yr", "bitcoin mined in year one"),
    Key("national.btc_by_year", "BTC/yr", "bitcoin mined in each year of the machines' life (list)"),
    Key("national.capex_usd", "USD", "capital cost: machines + site build + spur lines"),
    Key("national.npv_usd", "USD", "net present value of the fleet over the machines' life"),
    Key("national.irr", "1", "internal rate of return a year; null without a fleet"),
    Key("national.payback_years", "yr", "years until the cumulative margin repays the capex; null if never"),
    Key("national.payback", "", "the payback in words"),
    Key("national.discount_rate", "1", "discount rate a year of the NPV"),
    Key("national.asic_life_years", "yr", "life of the machines: the NPV horizon, no salvage value"),
    Key("national.revenue_usd_per_mwh_year_one", "USD/MWh", "revenue one MWh earns in year one"),
    Key(
        "national.hashprice_usd_per_ph_day_year_one",
        "USD/PH/day",
        "hashprice in year one, after the fleet joins",
    ),
    Key("national.mwh_curtailed_per_year", "MWh/yr", "wasted energy the fleet skips (above its size)"),
    Key(
        "national.co2_mt_per_year",
        "Mt CO2/yr",
        "net emissions of the energy used: gross minus the flare methane destroyed",
        title="CO2 emitted",
    ),
    Key(
        "national.fixed_point_residual",
        "1",
        "relative residual of the fleet / hashprice fixed point (~0 when solved)",
    ),
    Key("national.marginal_share_theta", "1", "dilution factor of the fleet's last unit of hashrate"),
    Key("national.seconds", "s", "seconds the fleet solve took (not written to the file)"),
    Key("national.sites", "", "sites in the fleet", title="Sites"),
    Key("national.mineable_gw", "GW", "installed power of the fleet (site power)", title="Mineable power"),
    Key("national.hashrate_ehs", "EH/s", "average hashrate of the fleet", title="Hashrate"),
    Key("national.share_of_network", "1", "fleet / (network + fleet)"),
    Key("national.btc_per_day", "BTC/day", "bitcoin a day (btc_per_year / 365)"),
    Key("national.network_ehs", "EH/s", "network hashrate before the fleet joins"),
    Key("national.block_height", "", "expected block height at the scenario date"),
    Key("national.block_subsidy_btc", "BTC/block", "new bitcoin per block at that height"),
    Key("national.remaining_supply_btc", "BTC", "bitcoin not yet issued"),
    Key(
        "national.wasted_energy_potential_gw",
        "GW",
        "average power of all wasted energy found, mined or not: a potential, not a fleet",
    ),
    Key(
        "national.headline_ledger",
        "",
        "ledger of the headline figures: wasted (energy the country owns or wastes)",
    ),
)

_LEDGERS = _under(
    "ledgers.*",
    ("twh_per_year", "TWh/yr", "energy of the ledger (wasted or bought) the fleet uses a year"),
    ("average_gw", "GW", "that energy as an average power"),
    ("hashrate_average_ehs", "EH/s", "average hashrate that energy runs"),
    ("btc_per_year", "BTC/yr", "bitcoin that energy mines a year"),
    ("installed_gw_of_sites", "GW", "installed power of the fleet at the ledger's sites"),
    ("co2_mt_per_year", "Mt CO2/yr", "net emissions of that energy"),
)

_BANDS = _under(
    "bands",
    ("installed_gw", "GW", "P10/P50/P90 and central value of national.installed_gw over the draws"),
    ("average_gw", "GW", "P10/P50/P90 and central value of national.average_gw"),
    ("hashrate_average_ehs", "EH/s", "P10/P50/P90 and central value of national.hashrate_average_ehs"),
    ("btc_per_year", "BTC/yr", "P10/P50/P90 and central value of national.btc_per_year"),
    ("btc_year_one", "BTC/yr", "P10/P50/P90 and central value of national.btc_year_one"),
    ("npv_usd", "USD", "P10/P50/P90 and central value of national.npv_usd"),
    ("payback_years", "yr", "P10/P50/P90 and central value of the payback, draws with a fleet"),
    ("share_of_network_year_one", "1", "P10/P50/P90 and central value of national.share_of_network_year_one"),
    ("wasted_average_gw", "GW", "P10/P50/P90 and central value of ledgers.wasted.average_gw"),
    ("wasted_btc_per_year", "BTC/yr", "P10/P50/P90 and central value of ledgers.wasted.btc_per_year"),
    ("bought_average_gw", "GW", "P10/P50/P90 and central value of ledgers.bought.average_gw"),
    ("bought_btc_per_year", "BTC/yr", "P10/P50/P90 and central value of ledgers.bought.btc_per_year"),
)

_UNCERTAINTY = _under(
    "uncertainty",
    ("draws", "", "seeded Monte Carlo draws of the uncertain inputs"),
    ("seed", "", "seed of the draws"),
    ("share_with_a_fleet", "1", "share of draws in which some site builds a fleet"),
    ("share_paying_back", "1", "share of draws in which the fleet pays back within the machines' life"),
    ("not_drawn", "", "inputs kept at their central value, with why (list of text)"),
)

_CATEGORIES = _under(
    "categories[]",
    ("category", "", "candidate category"),
    ("ledger", "", "wasted or bought"),
    ("candidates", "", "candidate sites of the category"),
    ("eligible", "", "sites that could host a fleet"),
    ("wasted_avg_gw", "GW", "wasted energy found at the category's sites, as an average power"),
    ("wasted_twh_per_year", "TWh/yr", "wasted energy found at the category's sites a year"),
    ("in_fleet", "", "sites of the category in the fleet"),
    ("fleet_gw", "GW", "installed power of the fleet at the category's sites"),
    ("btc_per_year", "BTC/yr", "bitcoin the category's fleet mines a year"),
    ("why_none", "", "why the category adds nothing (empty when it does)"),
)

GROUP_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("sites", "", "candidate sites of the group in the national fleet", "Sites"),
    ("mineable_gw", "GW", "installed power of the fleet at those sites", "Mineable power"),
    ("average_gw", "GW", "mean power the fleet draws there", "Average power mined"),
    ("wasted_twh_per_year", "TWh/yr", "wasted energy the fleet uses there a year", "Wasted energy used"),
    ("bought_twh_per_year", "TWh/yr", "energy the fleet buys there a year", "Energy bought"),
    ("hashrate_ehs", "EH/s", "average hashrate those sites run", "Hashrate"),
    ("btc_per_year", "BTC/yr", "bitcoin those sites mine a year", "Bitcoin mined"),
    ("co2_mt_per_year", "Mt CO2/yr", "net CO2 of the energy those sites use, a year", "CO2 emitted"),
    ("revenue_usd_per_year", "USD/yr", "mining revenue of those sites a year", "Revenue"),
    ("npv_usd", "USD", "net present value of those fleets over the machines' life", "Net present value"),
)
"""Figures of each group of ``by_category`` / ``by_state`` / ``by_owner_class``: (key, unit, meaning,
title). The GeoPackage summaries copy them (:mod:`gis.outputs.columns`)."""

_GROUPS = tuple(
    Key(f"{table}.*.{name}", unit, f"{meaning} ({what})", title=title)
    for table, what in (
        ("by_category", "per candidate category"),
        ("by_state", "per two-letter state code, or offshore"),
        ("by_owner_class", "per owner class"),
    )
    for name, unit, meaning, title in GROUP_KEYS
)

_PROJECTION = _under(
    "projection[]",
    ("year", "", "calendar year"),
    ("block_subsidy_btc", "BTC/block", "block subsidy that year (mean over the year)"),
    ("halvings_in_year", "", "halvings that fall in the year"),
    ("issuance_btc", "BTC", "bitcoin the network issues that year"),
    ("network_ehs", "EH/s", "network hashrate that year, before the fleet"),
    ("btc_price_usd", "USD", "bitcoin price that year"),
    ("fleet_ehs", "EH/s", "average hashrate of the fleet that year"),
    ("share_of_network", "1", "fleet / (network + fleet) that year"),
    ("hashprice_usd_per_ph_day", "USD/PH/day", "hashprice that year, after the fleet joins"),
    ("revenue_usd_per_mwh", "USD/MWh", "revenue one MWh earns that year"),
    ("wasted_mwh", "MWh", "wasted energy mined that year"),
    ("bought_mwh", "MWh", "energy bought and mined that year"),
    ("btc", "BTC", "bitcoin mined that year"),
    ("btc_wasted", "BTC", "bitcoin mined on wasted energy that year"),
    ("btc_bought", "BTC", "bitcoin mined on bought energy that year"),
    ("revenue_usd", "USD", "mining revenue that year"),
    ("energy_cost_usd", "USD", "energy cost that year"),
    ("margin_usd", "USD", "revenue - energy cost that year"),
    ("cumulative_cash_usd", "USD", "cumulative cash flow to the end of that year, capex included"),
    ("hours_mined_mw_weighted", "h", "hours mined that year, weighted by site MW"),
    ("mwh_curtailed", "MWh", "wasted energy the fleet skips that year"),
    ("co2_t", "t CO2", "net CO2 of the energy mined that year"),
)

_SUPPLY = _under(
    "supply_curve[]",
    ("price_cap_usd_mwh", "USD/MWh", "highest price at which the fleet buys energy"),
    ("bought_gw_average", "GW", "energy bought at that cap, as an average power"),
    ("bought_twh_per_year", "TWh/yr", "energy bought at that cap a year"),
    ("bought_ehs", "EH/s", "average hashrate the bought energy runs"),
    ("bought_btc_per_year", "BTC/yr", "bitcoin the bought energy mines a year"),
    ("wasted_gw_average", "GW", "wasted energy mined, as an average power"),
    ("wasted_ehs", "EH/s", "average hashrate the wasted energy runs"),
    ("revenue_usd_mwh_year_one", "USD/MWh", "revenue one MWh earns in year one at that cap"),
)

_SURPLUS = _under(
    "surplus",
    ("by_category[].category", "", "candidate category"),
    ("by_category[].ledger", "", "wasted or bought"),
    ("by_category[].sites", "", "sites of the category"),
    ("by_category[].sites_with_surplus", "", "sites with wasted energy in some hour"),
    ("by_category[].peak_gw", "GW", "wasted power in the category's best hour, summed over its sites"),
    ("by_category[].avg_gw", "GW", "wasted energy as an average power"),
    ("by_category[].twh_per_year", "TWh/yr", "wasted energy a year"),
    ("by_category[].hours_per_year", "h/yr", "hours a year with wasted energy, MW-weighted mean"),
    ("by_category[].no_surplus.*", "", "sites without wasted energy, by reason"),
    ("published[].label", "", "the published figure in words"),
    ("published[].quantity", "", "key of the figure compared (e.g. twh_per_year)"),
    ("published[].tool", "", "the tool's figure, in the unit of quantity"),
    ("published[].published", "", "the published figure, in the unit of quantity"),
    ("published[].published_low", "", "low end of a published range; null if none"),
    ("published[].published_high", "", "high end of a published range; null if none"),
    ("published[].ratio", "1", "tool / published"),
    ("published[].source", "", "where the published figure comes from"),
)

_SENSITIVITY = _under(
    "sensitivity[]",
    ("input", "", "input moved, one at a time (scenario key)"),
    ("meaning", "", "the input in words, with its unit"),
    ("low", "", "low value of the input, in its own unit"),
    ("high", "", "high value of the input, in its own unit"),
    ("npv_usd_at_low", "USD", "fleet NPV with the input low"),
    ("npv_usd_at_high", "USD", "fleet NPV with the input high"),
    ("installed_gw_at_low", "GW", "installed power with the input low"),
    ("installed_gw_at_high", "GW", "installed power with the input high"),
    ("btc_per_year_at_low", "BTC/yr", "bitcoin a year with the input low"),
    ("btc_per_year_at_high", "BTC/yr", "bitcoin a year with the input high"),
    ("swing_npv_usd", "USD", "|NPV at high - NPV at low|"),
    ("swing_installed_gw", "GW", "|installed GW at high - at low|"),
)

_SEED_CHECK = _under(
    "seed_claim_check",
    ("claim", "", "the seed's claim, quoted"),
    ("source", "", "where the claim comes from"),
    ("inputs.asic_watts", "W", "ASIC power the claim implies"),
    ("inputs.asic_ths", "TH/s", "ASIC hashrate the claim implies"),
    ("inputs.network_ehs", "EH/s", "network hashrate used for the check"),
    ("inputs.pue", "", "power usage effectiveness (site power / IT power)"),
    ("inputs.uptime", "1", "share of hours the machines run"),
    ("inputs.subsidy_btc", "BTC/block", "block subsidy"),
    ("inputs.fees_btc_per_block", "BTC/block", "fees per block"),
    ("cases[].gw", "GW", "site power of the case"),
    ("cases[].claimed_machines", "", "machines the claim says"),
    ("cases[].machines", "", "machines that power runs"),
    ("cases[].claimed_hashrate_ehs", "EH/s", "hashrate the claim says"),
    ("cases[].hashrate_ehs", "EH/s", "hashrate those machines run"),
    ("cases[].hashrate_understated_by", "", "hashrate / claimed hashrate (a factor)"),
    ("cases[].claimed_btc_per_year", "BTC/yr", "bitcoin a year the claim says"),
    ("cases[].btc_per_year", "BTC/yr", "bitcoin a year after the fleet's own difficulty dilution"),
    ("cases[].btc_understated_by", "", "bitcoin a year / claimed (a factor)"),
    ("cases[].naive_btc_per_year", "BTC/yr", "bitcoin a year without the dilution (wrong; shown to compare)"),
    ("cases[].share_of_network", "1", "fleet / (network + fleet)"),
    ("cases[].over_half_network", "", "whether the fleet would hold over half the network hashrate"),
    ("cases[].at_s21_spec.asic_watts", "W", "power of an Antminer S21"),
    ("cases[].at_s21_spec.machines", "", "S21 machines that power runs"),
    ("cases[].at_s21_spec.hashrate_ehs", "EH/s", "hashrate of those machines"),
    ("cases[].at_s21_spec.btc_per_year", "BTC/yr", "bitcoin a year they mine"),
    ("verdict", "", "the check in words"),
)

_SEED_CLAIMS = _under(
    "seed_claims",
    ("claim", "", "the seed's claim, quoted"),
    ("formula", "", "how the figures are computed"),
    ("inputs.network_ehs", "EH/s", "network hashrate"),
    ("inputs.efficiency_j_th", "J/TH", "ASIC efficiency"),
    ("inputs.pue", "", "power usage effectiveness (site power / IT power)"),
    ("inputs.uptime", "1", "share of hours the machines run"),
    ("inputs.subsidy_btc", "BTC/block", "block subsidy"),
    ("inputs.fees_btc_per_block", "BTC/block", "fees per block"),
    ("gw_cases[].gw", "GW", "site power of the case"),
    ("gw_cases[].claimed_hashrate_ehs", "EH/s", "hashrate the claim says"),
    ("gw_cases[].hashrate_installed_ehs", "EH/s", "hashrate that power installs"),
    ("gw_cases[].hashrate_average_ehs", "EH/s", "installed hashrate x uptime"),
    ("gw_cases[].share_of_network", "1", "fleet / (network + fleet)"),
    ("gw_cases[].claimed_btc_per_year", "BTC/yr", "bitcoin a year the claim says"),
    ("gw_cases[].btc_per_year", "BTC/yr", "bitcoin a year at that share"),
    ("network_share[].share", "1", "share of the network held"),
    ("network_share[].hashrate_average_ehs", "EH/s", "average hashrate that share needs"),
    ("network_share[].gw_average", "GW", "average site power that hashrate needs"),
    ("network_share[].gw_installed", "GW", "installed site power (average / uptime)"),
    ("network_share[].btc_per_year", "BTC/yr", "bitcoin a year at that share"),
    ("wasted_ledger.hashrate_average_ehs", "EH/s", "average hashrate of the wasted-energy ledger"),
    ("wasted_ledger.share_of_network", "1", "its share of the network"),
    ("wasted_ledger.gw_average", "GW", "its average power"),
    ("wasted_ledger.btc_per_year", "BTC/yr", "bitcoin a year it mines"),
    ("years_to_reserve.reserve_btc", "BTC", "size of the reserve the claim speaks of"),
    ("years_to_reserve.years", "yr", "years the wasted-energy ledger takes to mine it; null if never"),
)

_FLEET = (
    Key("fleet.site_ids", "", "site ids of the national fleet (list)"),
    Key("fleet.sites.*.in_fleet", "", "the site is in the national fleet"),
    Key("fleet.sites.*.mode", "", "how the site's fleet runs: wasted (on wasted energy) or buys"),
    Key("fleet.sites.*.fleet_mw", "MW", "site power of the site's fleet (PUE included)"),
    Key("fleet.sites.*.npv_usd", "USD", "net present value of the site's fleet over the machines' life"),
    Key("fleet.sites.*.wasted_mwh_per_year", "MWh/yr", "wasted energy the site's fleet uses a year"),
    Key("fleet.sites.*.bought_mwh_per_year", "MWh/yr", "energy the site's fleet buys a year"),
    Key("fleet.sites.*.hours_mined", "h/yr", "hours a year the site's fleet mines"),
    Key("fleet.sites.*.hours_curtailed", "h/yr", "hours a year the site's fleet stops (price too high)"),
    Key("fleet.sites.*.btc_per_year", "BTC/yr", "bitcoin the site's fleet mines a year"),
)

_ASSUMPTIONS = _under(
    "assumptions.*",
    ("value", "", "the value used (a number, text or a table), in the entry's unit"),
    ("unit", "", "unit of the value"),
    ("meaning", "", "what the assumption is"),
    ("source", "", "where the value comes from"),
    ("*", "", "a formula of the model in words (the formulas entry)"),
)

_EXPLORER = _under(
    "explorer_grid",
    ("axes.btc_price_usd", "USD", "bitcoin prices of the grid (list)"),
    ("axes.network_growth_per_year", "1/yr", "network hashrate growth rates a year of the grid (list)"),
    ("axes.energy_price_cap_usd_mwh", "USD/MWh", "energy price caps of the grid (list)"),
    ("axes.efficiency_j_th", "J/TH", "ASIC efficiencies of the grid (list)"),
    ("ledgers.*.gw", "GW", "average power mined per grid point (nested lists in axes order), per ledger"),
    ("ledgers.*.ehs", "EH/s", "average hashrate per grid point, per ledger"),
    ("ledgers.*.btc_per_year", "BTC/yr", "bitcoin a year per grid point, per ledger"),
    ("ledgers.*.npv_usd", "USD", "fleet NPV per grid point, per ledger"),
)

ESTIMATE_KEYS: tuple[Key, ...] = register_keys(
    *_TOP,
    *_SELECTION,
    *_NATIONAL,
    *_LEDGERS,
    *_BANDS,
    *_UNCERTAINTY,
    *_CATEGORIES,
    *_GROUPS,
    *_PROJECTION,
    *_SUPPLY,
    *_SURPLUS,
    *_SENSITIVITY,
    *_SEED_CHECK,
    *_SEED_CLAIMS,
    *_FLEET,
    *_ASSUMPTIONS,
    *_EXPLORER,
)
"""Every key of ``estimates.json``, registered in :data:`gis.schema.KEY_REGISTRY`."""
