"""Operator class of a power plant (``owner_class``) from the EIA-860 operator name.

The rules are data: :data:`OWNER_RULES` lists (pattern, class, note) and the first pattern
that matches the normalised name wins; a name no rule matches is ``private``. Patterns are
regular expressions over :func:`normalise_operator` output (lowercase ASCII words separated by
single spaces, so ``"U.S. Army - Radford"`` reads ``"u s army radford"``).

The operator is who runs the plant for EIA, not the equity owner: federal hydro marketed by
Bonneville or WAPA is operated, and therefore listed, under USACE or Reclamation.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["OWNER_RULES", "classify_owner", "explain_owner", "normalise_operator"]

OWNER_RULES: tuple[tuple[str, str, str], ...] = (
    # --- federal operators: TVA, Army Corps of Engineers, Bureau of Reclamation ---------------
    (r"\btennessee valley auth", "federal_tva", "Tennessee Valley Authority (federal corporation)"),
    (
        r"^usc?e\b|^usace\b|corps of eng",
        "federal_usace",
        "US Army Corps of Engineers districts: USCE-…, USACE …",
    ),
    (r"\bbureau of reclamation\b|\busbr\b", "federal_usbr", "U S Bureau of Reclamation"),
    # --- armed services (before other federal: 'US Dept of Army' is military) ----------------
    (
        r"\b(u s|us|united states|dept of( the)?|department of( the)?) (air force|army|navy)\b",
        "military",
        "U S Army-…, US Air Force, Department of the Navy, US Dept of Army Garrison",
    ),
    (r"^air force\b|\bafb\b|\bair force base\b", "military", "Air Force centres and bases"),
    (r"\bnaval (base|station|air|weapons|facility)\b", "military", "Naval bases and stations"),
    (r"\bmarine corps\b|\busmc\b|\bmarine (air ground|logistics base)\b", "military", "Marine Corps"),
    (r"\bcoast guard\b", "military", "US Coast Guard (an armed service)"),
    (
        r"\barmy (depot|garrison|ammunition)\b|\busag\b|\bdod\b|department of defense",
        "military",
        "Army depots, DoD",
    ),
    # --- other federal ---------------------------------------------------------------------
    (
        r"\bbonneville power\b|\bwestern area power\b|\bpower admin",
        "federal_other",
        "Power marketing administrations (BPA, WAPA, SWPA, SEPA)",
    ),
    (r"\binternational bound|\bibwc\b", "federal_other", "International Boundary & Water Commission"),
    (
        r"^doe\b|\bdepartment of energy\b|\bnational laboratory\b|\bnational renewable energy lab",
        "federal_other",
        "Department of Energy and its national laboratories",
    ),
    (
        r"^us gsa\b|^gsa\b|general services admin|\bnational institutes of health\b|"
        r"\bnational centers for animal health\b|\bveterans affairs\b|\bnasa\b|\bnational park service\b|"
        r"\bbureau of indian affairs\b|\bindian irr(igation)? proj",
        "federal_other",
        "other federal agencies (GSA, NIH, USDA, VA, NASA, NPS, BIA)",
    ),
    # --- public power: strong markers, valid even with 'Inc' / 'Corp' in the name ------------
    (
        r"\bco ?op\b|\bcooperative\b|\belectric membership\b|\bemc\b|\belec(tric)? assn\b|\bg (and |& )?t\b|"
        r"\boglethorpe power\b|\bbig rivers electric\b|\bbuckeye power\b|\bsunflower electric\b|"
        r"\bgreat river energy\b|\beast kentucky power\b|\bseminole electric\b|\bbasin electric\b",
        "public_other",
        "rural electric cooperatives and their G&T associations",
    ),
    (
        r"\bpublic utility dist|\bpub util dist|\bpud\b|\bpublic power\b|\bppd\b|\butility district\b",
        "public_other",
        "public utility / public power districts",
    ),
    (
        r"\bpo?we?r authority\b|\bpower auth\b|\bpower agency\b|\benergy agency\b|\bmunicipal\b|\bmunic\b|\bmun\b|"
        r"\bmuni\b|\bpublic service authority\b|\bauthority\b",
        "public_other",
        "power authorities, municipal utilities and agencies, other public authorities",
    ),
    (
        r"\b(city|town|village|borough|county|state|commonwealth|port) of\b",
        "public_other",
        "City of …, Town of …, County of …, State of …",
    ),
    (
        r"\b(irrigation|irr|water|sanitation|sanitary|reclamation|conservation|school) dist|"
        r"\bwater (and|&)? ?power\b|\bwater (and|&) light\b|\bboard of (public|water)|\bpublic works\b|"
        r"\butilities comm|\bpublic utilities\b|\bcity light\b|\bcity utilities\b|\blight plant\b|"
        r"\b(electric|light) department\b|\benergy northwest\b|\bsalt river project\b|\bjea\b|"
        r"\bcps energy\b|\baustin energy\b|\blower colorado river\b",
        "public_other",
        "water, irrigation and utility districts; city light / water & power departments",
    ),
    (
        r"\bband of\b.*\bindians\b|\btribe\b|\btribal\b|\bpueblo of\b|\bseneca nation\b",
        "public_other",
        "tribal governments",
    ),
    # --- a company suffix ends the search: such names are private ---------------------------
    (
        r"\b(llc|l l c|inc|lp|l p|ltd|corp|corporation|company|co|plc|llp|partners)\b",
        "private",
        "companies (LLC, Inc, LP, Corp, Co)",
    ),
    # --- weak public markers, only without a company suffix ---------------------------------
    (
        r"\bcounty\b|\bcity\b|\bdep(ar)?t(ment)? of\b|\bdepartment\b|\bdivision of\b|\bstate university\b",
        "public_other",
        "county, city and state departments and state universities without a company suffix",
    ),
)
"""(regular expression, owner_class, note): the first rule matching the normalised name wins."""

_COMPILED = tuple(
    (re.compile(re.sub(r"\((?!\?)", "(?:", p)), cls) for p, cls, _ in OWNER_RULES
)  # groups made non-capturing: pandas warns on capturing groups in str.contains


def normalise_operator(names: pd.Series) -> pd.Series:
    """Lowercase ASCII words separated by single spaces (punctuation and '&' kept as words)."""
    text = names.astype("object").where(names.notna(), "").astype(str)
    text = text.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()
    text = text.str.replace("&", " & ", regex=False)
    text = text.str.replace(r"[^a-z0-9&]+", " ", regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def classify_owner(names: pd.Series) -> pd.Series:
    """``owner_class`` for each operator name (see :data:`OWNER_RULES`); empty names are private.

    Each distinct name is classified once (an operator often runs many plants).
    """
    codes, distinct = pd.factorize(names.to_numpy(dtype=object), use_na_sentinel=False)
    classes = _class_of_each(pd.Series(distinct, dtype=object)).to_numpy(dtype=object)
    return pd.Series(classes[codes], index=names.index, dtype=object)


def _class_of_each(names: pd.Series) -> pd.Series:
    norm = normalise_operator(names)
    result = np.full(len(norm), "", dtype=object)
    for pattern, cls in _COMPILED:
        hit = norm.str.contains(pattern, regex=True).to_numpy(dtype=bool) & (result == "")
        result[hit] = cls
    result[result == ""] = "private"
    return pd.Series(result, index=names.index, dtype=object)


def explain_owner(name: str) -> tuple[str, str]:
    """(owner_class, note of the rule that decided) for one name, for reports and debugging."""
    norm = normalise_operator(pd.Series([name])).iloc[0]
    for (pattern, cls), (_, _, note) in zip(_COMPILED, OWNER_RULES, strict=True):
        if pattern.search(norm):
            return cls, note
    return "private", "no rule matched"
