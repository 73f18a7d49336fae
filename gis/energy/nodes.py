"""Market node of each candidate site, from its balancing authority, state and location.

Rules (``[[energy.nodes]]``) are tried in order; the first that matches gives the node. A rule
with ``proxy`` set is a neighbouring market's hub used for a region without hourly prices in
the data (Northwest, Desert Southwest, Rockies, Southeast/TVA, New York/New England): its
node id becomes ``"<proxy region><-<hub>"`` so outputs always say a proxy was used. A site no
rule matches (Alaska, Hawaii, Guam, offshore) has no node.

>>> import pandas as pd
>>> from gis.config.energy import NodeRule
>>> rules = [NodeRule(node="ERCOT:HB_WEST", balancing_authorities=["ERCO"], lon_max=-100.0),
...          NodeRule(node="ERCOT:HB_NORTH", balancing_authorities=["ERCO"], fallback_states=["TX"])]
>>> sites = pd.DataFrame({"balancing_authority": ["ERCO", "", "SOCO"], "state": ["TX", "TX", "GA"],
...                       "lon": [-102.0, -97.0, -84.0], "lat": [31.0, 32.0, 33.0]})
>>> assign_nodes(sites, rules)["node"].tolist()
['ERCOT:HB_WEST', 'ERCOT:HB_NORTH', '']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis.config.energy import NodeRule

__all__ = ["assign_nodes", "hub_of"]

PROXY_MARK = "<-"


def hub_of(node: str) -> str:
    """The market hub whose prices a node uses: the node itself, or a proxy's neighbour hub.

    >>> hub_of("Southeast (TVA)<-MISO:MISSISSIPPI")
    'MISO:MISSISSIPPI'
    """
    return node.split(PROXY_MARK)[-1]


def assign_nodes(sites: pd.DataFrame, rules: list[NodeRule]) -> pd.DataFrame:
    """Node, proxy region and the rule's source per site (vectorised over sites, a loop over rules).

    Parameters
    ----------
    sites
        columns ``balancing_authority`` (EIA code, "" if unknown), ``state`` (two letters),
        ``lon``, ``lat`` (EPSG:4326 degrees).
    rules
        the scenario's ``[[energy.nodes]]``.

    Returns
    -------
    DataFrame
        same index; ``node`` ("" when no rule matches), ``proxy`` (region name or ""),
        ``node_source``.
    """
    ba = sites["balancing_authority"].fillna("").astype(str).to_numpy(dtype=object)
    state = sites["state"].fillna("").astype(str).to_numpy(dtype=object)
    lon = sites["lon"].to_numpy(dtype="float64")
    lat = sites["lat"].to_numpy(dtype="float64")
    node = np.full(len(sites), "", dtype=object)
    proxy = np.full(len(sites), "", dtype=object)
    source = np.full(len(sites), "", dtype=object)
    free = np.ones(len(sites), dtype=bool)
    for rule in rules:
        by_ba = np.isin(ba, rule.balancing_authorities) if rule.balancing_authorities else False
        by_state = (ba == "") & np.isin(state, rule.fallback_states)
        match = free & (by_ba | by_state)
        if rule.states:
            match &= np.isin(state, rule.states)
        match &= (lat >= rule.lat_min) & (lat <= rule.lat_max) & (lon >= rule.lon_min) & (lon <= rule.lon_max)
        if not match.any():
            continue
        node[match] = f"{rule.proxy}{PROXY_MARK}{rule.node}" if rule.proxy else rule.node
        proxy[match] = rule.proxy
        source[match] = rule.source or "market of the site's balancing authority (EIA-860 2019)"
        free &= ~match
    return pd.DataFrame({"node": node, "proxy": proxy, "node_source": source}, index=sites.index)
