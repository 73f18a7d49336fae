"""Joining EIA-860M status rows to ``plants`` and deriving each plant's status from them.

The plant-level EIA-860M copy has no plant code, so a status row is matched in this order
(distances in EPSG:5070 metres; unit numbers must agree for methods 3 and 4: ``Daggett 1``
is not ``Daggett 3``, ``Solar II`` not ``Solar III``):

1. ``plant_id``   the row carries an EIA plant code (official workbook) found in ``plants``;
2. ``exact_name`` a plant in the same state within ``name_radius_km`` whose normalised name
   (:func:`normalise_plant_name`) is equal; the nearest such plant;
3. ``fuzzy_name`` same state and radius, character 2-3-gram TF-IDF cosine similarity of the
   normalised names at least ``min_similarity``, compatible fuels; the most similar, then
   the nearest;
4. ``nearest``    the nearest plant of a compatible fuel (:data:`COMPATIBLE_FUELS`) within
   ``nearest_radius_km`` and within a factor :data:`MAX_CAPACITY_RATIO` of its MW, any
   state (border dams such as Hoover lie in two), that no row
   matched by id or name already claims (a retired neighbour must not retire a plant that
   has its own rows);
5. ``none``       no match: the row stays in ``plant_status`` with an empty ``plant_id``.

Status precedence per plant, over all rows joined to it:
``retooled`` if a row is retooled, or a retired row meets an operating or retiring one;
else ``retired`` if a row is retired; else ``retiring`` if a row is retiring; else
``operating``. ``retirement_date`` is the earliest planned month of a retiring row if any,
else the latest actual month of a retired/retooled row.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import METRIC_CRS
from gis.layers._plants_fuel import COMPATIBLE_FUELS, fuels_compatible

__all__ = ["COMPATIBLE_FUELS", "join_status", "normalise_plant_name", "status_by_plant", "tfidf_char_wb"]

NAME_RADIUS_KM = 5.0
"""Largest distance (km) between a status row and a plant matched by name."""
NEAREST_RADIUS_KM = 2.0
"""Largest distance (km) between a status row and a plant matched by location and fuel alone."""
MAX_CAPACITY_RATIO = 3.0
"""A status row joined by location alone must be within this factor of the plant's MW (an
industrial neighbour of a few MW is not the 500 MW peaker next door)."""
MIN_SIMILARITY = 0.6
"""Smallest TF-IDF cosine similarity (0..1) of normalised names for a fuzzy match."""

NAME_STOP_WORDS = (
    "energy center", "energy centre", "energy facility", "power plant", "power station",
    "generating station", "generating plant", "generating facility", "generation station",
    "plant", "station", "generating", "generation", "power", "facility", "project", "complex",
    "steam", "fossil", "electric", "stn", "gen", "llc", "inc", "lp", "co", "company", "the", "and", "farm",
)  # fmt: skip
"""Words removed from plant names before comparing them (longest first)."""

_STOP_PATTERN = (
    r"\b(?:"
    + "|".join(sorted((w.replace(" ", r"\s+") for w in NAME_STOP_WORDS), key=len, reverse=True))
    + r")\b"
)


def normalise_plant_name(names: pd.Series) -> pd.Series:
    """Lowercase ASCII, bracketed text (``(NV)``) and punctuation removed, stop words dropped."""
    text = names.astype("object").where(names.notna(), "").astype(str)
    text = text.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()
    text = text.str.replace(r"\([^)]*\)", " ", regex=True).str.replace("&", " and ", regex=False)
    text = text.str.replace(r"[^a-z0-9]+", " ", regex=True)
    text = text.str.replace(_STOP_PATTERN, " ", regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def _by_given_id(status: pd.DataFrame, p_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each status row's given plant id (NaN: none) and the position of that plant in ``p_ids`` (NaN: absent)."""
    n = len(status)
    given = (
        pd.to_numeric(status["plant_id"], errors="coerce").to_numpy(dtype="float64")
        if "plant_id" in status.columns
        else np.full(n, np.nan)
    )
    pos_of_id = pd.Series(np.arange(len(p_ids)), index=p_ids)
    pos_of_id = pos_of_id[~pos_of_id.index.duplicated()]
    return given, pd.Series(given).map(pos_of_id).to_numpy(dtype="float64")


def _best_pairs(pairs: pd.DataFrame, claimed_by_id: np.ndarray) -> pd.DataFrame:
    """One pair per status row: a name match first, else the nearest plant no other row claimed."""
    order = ["s", "priority", "neg_sim", "dist_m", "p"]
    named = pairs.loc[pairs["priority"] < 2].sort_values(order).drop_duplicates("s")
    claimed = np.union1d(named["p"].to_numpy(), claimed_by_id)
    located = pairs.loc[
        (pairs["priority"] == 2) & ~pairs["s"].isin(named["s"]) & ~pairs["p"].isin(claimed)
    ].sort_values(order)
    return pd.concat([named, located.drop_duplicates("s")])


def join_status(
    status: gpd.GeoDataFrame,
    plants: gpd.GeoDataFrame,
    *,
    name_radius_km: float = NAME_RADIUS_KM,
    nearest_radius_km: float = NEAREST_RADIUS_KM,
    min_similarity: float = MIN_SIMILARITY,
) -> gpd.GeoDataFrame:
    """Add ``plant_id`` (Int64), ``join_method`` and ``join_dist_km`` to ``status`` rows.

    ``status`` needs ``name, state, fuel, capacity_mw, geometry`` and may carry ``plant_id``;
    ``plants`` needs ``plant_id, name, state, fuel, capacity_mw, geometry``. Both may be in any CRS; distances are
    measured in EPSG:5070.
    """
    out = status.copy()
    s_geom = status.geometry.to_crs(METRIC_CRS).reset_index(drop=True)
    p_geom = plants.geometry.to_crs(METRIC_CRS).reset_index(drop=True)
    p_ids = plants["plant_id"].to_numpy(dtype="int64")
    n = len(status)
    chosen = np.full(n, -1, dtype="int64")
    method = np.full(n, "none", dtype=object)
    given, by_id = _by_given_id(status, p_ids)
    has_id = ~np.isnan(by_id)
    chosen[has_id] = by_id[has_id].astype("int64")
    method[has_id] = "plant_id"
    open_rows = np.flatnonzero(np.isnan(given))  # a given id not in plants stays unjoined
    if len(open_rows) and len(plants):
        pairs = _candidate_pairs(
            status.iloc[open_rows].reset_index(drop=True),
            s_geom.iloc[open_rows].reset_index(drop=True),
            plants.reset_index(drop=True),
            p_geom,
            name_radius_km=name_radius_km,
            nearest_radius_km=nearest_radius_km,
            min_similarity=min_similarity,
        )
        best = _best_pairs(pairs, chosen[has_id])
        rows = open_rows[best["s"].to_numpy(dtype="int64")]
        chosen[rows] = best["p"].to_numpy(dtype="int64")
        method[rows] = best["method"].to_numpy()
    matched = chosen >= 0
    dist_km = np.full(n, np.nan)
    if matched.any():
        dist_km[matched] = s_geom.values[matched].distance(p_geom.values[chosen[matched]]) / 1000.0
    ids = pd.array(np.full(n, pd.NA), dtype="Int64")
    ids[matched] = p_ids[chosen[matched]]
    out["plant_id"] = ids
    out["join_method"] = method
    out["join_dist_km"] = dist_km
    return out


def _candidate_pairs(
    status: pd.DataFrame,
    s_geom: gpd.GeoSeries,
    plants: pd.DataFrame,
    p_geom: gpd.GeoSeries,
    *,
    name_radius_km: float,
    nearest_radius_km: float,
    min_similarity: float,
) -> pd.DataFrame:
    """Eligible (status row s, plant p) pairs with their method priority, similarity, distance.

    Every method needs compatible fuels and compatible unit numbers (``Daggett 1`` is not
    ``Daggett 3``; a name without a number is compatible with any).
    """
    radius_m = max(name_radius_km, nearest_radius_km) * 1000.0
    s_idx, p_idx = p_geom.sindex.query(s_geom, predicate="dwithin", distance=radius_m)
    if len(s_idx) == 0:
        return pd.DataFrame(columns=["s", "p", "priority", "neg_sim", "dist_m", "method"])
    dist = s_geom.values[s_idx].distance(p_geom.values[p_idx])
    s_norm = normalise_plant_name(status["name"]).to_numpy(dtype=object)
    p_norm = normalise_plant_name(plants["name"]).to_numpy(dtype=object)
    s_num = _unit_numbers(s_norm)[s_idx]
    p_num = _unit_numbers(p_norm)[p_idx]
    numbers_ok = (s_num == "") | (p_num == "") | (s_num == p_num)
    fuel_ok = fuels_compatible(
        status["fuel"].iloc[s_idx].reset_index(drop=True), plants["fuel"].iloc[p_idx].reset_index(drop=True)
    )
    same_state = (
        status["state"].astype(str).to_numpy(dtype=object)[s_idx]
        == (plants["state"].astype(str).to_numpy(dtype=object)[p_idx])
    )
    by_name = same_state & (dist <= name_radius_km * 1000.0)
    exact = by_name & (s_norm[s_idx] == p_norm[p_idx]) & (s_norm[s_idx] != "")
    similarity = _similarity(s_norm, p_norm, s_idx, p_idx)
    fuzzy = by_name & ~exact & (similarity >= min_similarity) & fuel_ok & numbers_ok
    s_mw = pd.to_numeric(status["capacity_mw"], errors="coerce").to_numpy(dtype="float64")[s_idx]
    p_mw = pd.to_numeric(plants["capacity_mw"], errors="coerce").to_numpy(dtype="float64")[p_idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s_mw / p_mw
    size_ok = (ratio >= 1 / MAX_CAPACITY_RATIO) & (ratio <= MAX_CAPACITY_RATIO)
    nearest = (dist <= nearest_radius_km * 1000.0) & ~exact & ~fuzzy & fuel_ok & numbers_ok & size_ok
    priority = np.select([exact, fuzzy, nearest], [0, 1, 2], default=-1)
    keep = priority >= 0
    return pd.DataFrame(
        {
            "s": s_idx[keep],
            "p": p_idx[keep],
            "priority": priority[keep],
            "neg_sim": np.where(priority[keep] == 1, -similarity[keep], 0.0),
            "dist_m": dist[keep],
            "method": np.array(["exact_name", "fuzzy_name", "nearest"], dtype=object)[priority[keep]],
        }
    )


_ROMAN = (("viii", "8"), ("vii", "7"), ("iii", "3"), ("vi", "6"), ("iv", "4"), ("ix", "9"), ("ii", "2"))


def _unit_numbers(norm: np.ndarray) -> np.ndarray:
    """The numbers in each normalised name (Roman II-IX read as digits), space-joined; '' if none."""
    text = pd.Series(norm, dtype=object).astype(str)
    for roman, digit in _ROMAN:
        text = text.str.replace(rf"\b{roman}\b", digit, regex=True)
    return text.str.findall(r"\d+").str.join(" ").fillna("").to_numpy(dtype=object)


def _similarity(s_norm: np.ndarray, p_norm: np.ndarray, s_idx: np.ndarray, p_idx: np.ndarray) -> np.ndarray:
    """Cosine similarity of character 2-3-gram TF-IDF vectors for each (s, p) pair.

    The vectors are scikit-learn's ``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3),
    lowercase=False)`` fitted on both lists (smoothed idf, l2 rows), built with numpy in one pass
    (:func:`tfidf_char_wb`): the same floats, without tokenising every name twice in Python.
    """
    import scipy.sparse as sp

    vocabulary = np.concatenate([s_norm, p_norm])
    if not any(vocabulary):
        return np.zeros(len(s_idx))
    data, indices, indptr = tfidf_char_wb(vocabulary)
    vectors = sp.csr_array((data, indices, indptr), shape=(len(vocabulary), int(indices.max()) + 1))
    s_vec, p_vec = vectors[: len(s_norm)], vectors[len(s_norm) :]
    return np.asarray(s_vec[s_idx].multiply(p_vec[p_idx]).sum(axis=1)).ravel()


def _char_wb_counts(docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of each document's character 2- and 3-grams inside words, padded with a space.

    The n-grams of scikit-learn's ``char_wb`` analyser (``ngram_range=(2, 3)``): every
    whitespace-separated word ``w`` becomes `` w `` and gives its 2-grams and 3-grams. Returns
    CSR parts ``(counts, columns, indptr)``: columns number the distinct n-grams in string order
    (a shorter n-gram before the longer ones it starts), sorted within each document.
    """
    words = [doc.split() for doc in docs]
    doc_of_word = np.repeat(np.arange(len(docs)), [len(w) for w in words])
    padded = [f" {w} " for ws in words for w in ws]
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype="<u4").astype("int64") + 1
    lengths = np.fromiter((len(w) for w in padded), dtype="int64", count=len(padded))
    starts = np.cumsum(lengths) - lengths
    keys, doc_parts = [], []
    for n in (2, 3):  # a padded word has at least 3 characters: never shorter than n
        per_word = lengths - n + 1
        first = (
            np.repeat(starts, per_word)
            + np.arange(per_word.sum())
            - np.repeat(np.cumsum(per_word) - per_word, per_word)
        )
        key = (codes[first] << 42) | (codes[first + 1] << 21)  # code point + 1 < 2**21
        keys.append(key | codes[first + 2] if n == 3 else key)
        doc_parts.append(np.repeat(doc_of_word, per_word))
    gram = np.concatenate(keys)
    column_of = np.unique(gram, return_inverse=True)[1].reshape(-1)
    n_columns = int(column_of.max()) + 1 if len(column_of) else 0
    cell, counts = np.unique(np.concatenate(doc_parts) * n_columns + column_of, return_counts=True)
    indptr = np.zeros(len(docs) + 1, dtype="int64")
    np.cumsum(np.bincount(cell // max(n_columns, 1), minlength=len(docs)), out=indptr[1:])
    return counts.astype("float64"), (cell % max(n_columns, 1)).astype("int32"), indptr.astype("int32")


def tfidf_char_wb(docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """l2-normalised TF-IDF rows of ``docs`` as CSR parts ``(data, indices, indptr)``.

    Bit for bit scikit-learn's ``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3),
    lowercase=False).fit(docs).transform(docs)``: idf = ln((1 + n) / (1 + df)) + 1, each count
    times its idf, each row divided by its l2 norm summed in column order (an empty row stays
    empty).

    >>> data, indices, indptr = tfidf_char_wb(np.array(["ab", "ab", ""], dtype=object))
    >>> indices.tolist(), indptr.tolist(), round(float(data[0]), 4)
    ([0, 1, 2, 3, 4, 0, 1, 2, 3, 4], [0, 5, 10, 10], 0.4472)
    """
    data, indices, indptr = _char_wb_counts(docs)
    df = np.bincount(indices, minlength=int(indices.max()) + 1 if len(indices) else 0).astype("float64")
    df += 1.0
    idf = np.full_like(df, fill_value=len(docs) + 1, dtype="float64")
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    data *= idf[indices]
    lengths = np.diff(indptr)
    squares = data * data
    total = np.zeros(len(lengths))
    for k in range(int(lengths.max()) if len(lengths) else 0):  # in column order, as a running sum
        rows = np.flatnonzero(lengths > k)
        total[rows] += squares[indptr[rows] + k]
    norm = np.sqrt(total)
    row_of = np.repeat(np.arange(len(lengths)), lengths)
    nonzero = norm[row_of] != 0.0
    data[nonzero] /= norm[row_of][nonzero]
    return data, indices, indptr


def status_by_plant(joined: pd.DataFrame) -> pd.DataFrame:
    """Per joined ``plant_id``: ``status`` and ``retirement_date`` by the module's precedence."""
    rows = joined.loc[joined["plant_id"].notna(), ["plant_id", "status", "retirement_date"]].copy()
    rows["plant_id"] = rows["plant_id"].astype("int64")
    if rows.empty:
        return pd.DataFrame(columns=["status", "retirement_date"], index=pd.Index([], name="plant_id"))
    flags = pd.get_dummies(rows["status"]).reindex(
        columns=["operating", "retiring", "retired", "retooled"], fill_value=False
    )
    flags = flags.groupby(rows["plant_id"]).any()
    active = flags["operating"] | flags["retiring"]
    status = np.select(
        [
            flags["retooled"] | (flags["retired"] & active),
            flags["retired"],
            flags["retiring"],
        ],
        ["retooled", "retired", "retiring"],
        default="operating",
    )
    dates = rows.loc[rows["retirement_date"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
    planned = dates.loc[dates["status"] == "retiring"].groupby("plant_id")["retirement_date"].min()
    actual = (
        dates.loc[dates["status"].isin(["retired", "retooled"])].groupby("plant_id")["retirement_date"].max()
    )
    date = planned.combine_first(actual).reindex(flags.index).fillna("")
    return pd.DataFrame({"status": status, "retirement_date": date.astype(object)}, index=flags.index)
