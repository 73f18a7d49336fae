"""Reading what the earlier stages wrote into ``OUT``: layers.gpkg, sites.gpkg, estimates.json.

A missing file fails with a :class:`~gis.errors.GisError` that names the command to run first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from gis import STORAGE_CRS
from gis.errors import GisError
from gis.io import FrameSubset, gpkg_layer_names
from gis.layers import read_layers
from gis.memo import file_stamp
from gis.scoring.columns import FLEET_SOURCE_KEYS, SITE_FLEET_COLUMNS, SITES_RANKED, read_candidate_sites

__all__ = [
    "FLEET_COLUMNS",
    "OPTIONAL_SITE_COLUMNS",
    "PRICE_COLUMNS",
    "REQUIRED_SITE_COLUMNS",
    "SITES_LAYER",
    "StageOutputs",
    "gpkg_metadata",
    "join_fleet",
    "layer_build_notes",
    "normalise_sites",
    "read_estimates",
    "read_market_prices",
    "read_sites",
    "read_stage_outputs",
    "scoring_metadata",
    "stage_outputs",
]

SITES_LAYER = "candidate_sites"


def _dtypes(names: Iterable[str]) -> dict[str, str]:
    return {name: SITES_RANKED.column(name).dtype for name in names}


REQUIRED_SITE_COLUMNS: dict[str, str] = _dtypes(
    ("site_id", "name", "category", "owner", "state", "capacity_mw", "mineable_mw", "score", "rank")
)
"""``candidate_sites`` columns every output needs (the rest of the contract is used when present):
name -> dtype, from the registry (:data:`gis.scoring.columns.CANDIDATE_SITES`)."""

OPTIONAL_SITE_COLUMNS: dict[str, str] = _dtypes(
    (
        "setting",
        "owner_class",
        "fuel",
        "p_top_n",
        "dist_tx_km",
        "tx_voltage_kv",
        "dist_sub_km",
        "headroom_mw",
        "energy_cost_usd_mwh",
        "co2_t_per_mwh",
        "flexible_load",
        "ai_convertible",
        "excluded",
        "exclusion_reason",
        "confidence",
        "basis",
        "ledger",
        "node",
        "price_basis",
        "wasted_peak_mw",
        "wasted_mwh_per_year",
        "wasted_hours_per_year",
        "no_surplus_reason",
    )
)
"""Further contract columns; filled with empty values (and noted) when a sites file lacks them."""

FLEET_COLUMNS: dict[str, tuple[str, str]] = {
    col.name: (FLEET_SOURCE_KEYS[col.name], col.dtype) for col in SITE_FLEET_COLUMNS
}
"""Site column -> (key of ``estimates.json`` ``fleet.sites[site_id]``, dtype) joined by
:func:`join_fleet`; a site outside the fleet gets False / 0 / ''. From the registry
(:data:`gis.scoring.columns.SITE_FLEET_COLUMNS`)."""


@dataclass
class StageOutputs:
    """What the outputs stage reads: sites, estimates, source layers and their metadata."""

    sites: gpd.GeoDataFrame
    estimates: dict
    layers: Mapping[str, pd.DataFrame]
    """The source layers drawn, by name (each read when first used where they come from a cache)."""
    layers_metadata: dict[str, str]
    sites_metadata: dict[str, str]
    notes: list[str] = field(default_factory=list)
    layer_notes: dict[str, list[str]] = field(default_factory=dict)
    """Per layer of layers.gpkg, the notes its build recorded (which source it used, fallbacks)."""
    price_curves: tuple[dict, list[dict]] | None = None
    """The report's price curves and hub rows already made (:func:`gis.outputs.report.kept_price_curves`;
    None: made from ``layers.gpkg``'s ``market_prices`` before the report is written)."""
    layers_key: str | None = None
    """What names the source layers' content (the run's layers key, or the layers file's stamp):
    outputs derived from them alone are kept by it. None: they are hashed."""


def _need(path: Path, command: str) -> Path:
    if not path.is_file():
        raise GisError(
            f"{path.name} does not exist",
            file=path,
            fix=f"run `{command}` first with the same --out (or `gis run` for everything)",
        )
    return path


def read_sites(path: Path, *, notes: list[str] | None = None) -> gpd.GeoDataFrame:
    """``candidate_sites`` from ``sites.gpkg`` (EPSG:4326 points), best first, columns checked."""
    return normalise_sites(read_candidate_sites(path), path, notes=notes)


def normalise_sites(
    sites: gpd.GeoDataFrame, path: Path, *, notes: list[str] | None = None
) -> gpd.GeoDataFrame:
    """``candidate_sites`` as every output reads them: contract columns present and typed (text
    ``""`` for missing, booleans, float64 numbers, int64 rank), EPSG:4326, best first.

    ``path`` names the sites' file in messages (the in-memory pipeline passes the file it will write).
    """
    sites = sites.copy()
    missing = [c for c in REQUIRED_SITE_COLUMNS if c not in sites.columns]
    if missing:
        raise GisError(
            f"the {SITES_LAYER} layer lacks column(s) {', '.join(missing)}",
            file=path,
            field=missing[0],
            fix="rerun `gis score` so the layer follows the candidate_sites contract",
        )
    for col, dtype in OPTIONAL_SITE_COLUMNS.items():
        if col not in sites.columns:
            sites[col] = False if dtype == "bool" else ("" if dtype == "str" else np.nan)
            if notes is not None:
                notes.append(f"{path.name}: column {col} absent, shown empty")
    for col, dtype in {**REQUIRED_SITE_COLUMNS, **OPTIONAL_SITE_COLUMNS}.items():
        if dtype == "str":
            sites[col] = sites[col].astype("object").where(sites[col].notna(), "").astype(str)
        elif dtype == "bool":
            sites[col] = sites[col].fillna(False).astype(bool)
        else:
            try:
                sites[col] = pd.to_numeric(sites[col], errors="raise").astype("float64")
            except (ValueError, TypeError) as exc:
                raise GisError(
                    f"{col} is not numeric ({exc})", file=path, field=col, fix="rerun `gis score`"
                ) from exc
    if sites["rank"].isna().any():
        raise GisError("some sites have no rank", file=path, field="rank", fix="rerun `gis score`")
    sites["rank"] = sites["rank"].astype("int64")
    if sites.crs is None:
        raise GisError("the sites layer has no CRS", file=path, field="crs", fix="rerun `gis score`")
    sites = sites.to_crs(STORAGE_CRS)
    return sites.sort_values(["rank", "site_id"], kind="stable").reset_index(drop=True)


def read_estimates(path: Path) -> dict:
    """The ``estimates.json`` payload."""
    _need(path, "gis estimate")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GisError(f"cannot read the estimates ({exc})", file=path, fix="rerun `gis estimate`") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("national"), dict):
        raise GisError(
            "the estimates have no 'national' table", file=path, field="national", fix="rerun `gis estimate`"
        )
    return payload


def join_fleet(sites: pd.DataFrame, estimates: dict) -> pd.DataFrame:
    """The sites with the estimate stage's per-site fleet rows joined on ``site_id``.

    ``estimates["fleet"]["sites"]`` maps a site id to its fleet row (``in_fleet``, ``mode``,
    ``fleet_mw`` MW, ``npv_usd`` USD, ``wasted_mwh_per_year`` / ``bought_mwh_per_year`` MWh/yr the
    fleet uses, ``hours_mined`` / ``hours_curtailed`` h/yr, ``btc_per_year``). Each becomes a
    column of :data:`FLEET_COLUMNS`; a site without a row is not in the fleet (False, 0 MW, 0 BTC).
    ``fleet.site_ids`` marks membership too when a row lacks ``in_fleet``. Columns the sites file
    already has are replaced (the estimate is the newer figure). The one place the join is done:
    map, GeoPackage, spreadsheet, explorer and report all read the result.

    Raises
    ------
    GisError
        when ``fleet`` names a site id that is not among the sites (the estimates are from
        another run).
    """
    fleet = estimates.get("fleet") if isinstance(estimates, dict) else None
    fleet = fleet if isinstance(fleet, dict) else {}
    rows = fleet.get("sites")
    rows = rows if isinstance(rows, dict) else {}
    ids = {str(i) for i in (fleet.get("site_ids") or [])}
    out = sites.copy()
    site_ids = out["site_id"].astype(str)
    unknown = sorted((set(rows) | ids) - set(site_ids))
    if unknown:
        raise GisError(
            f"estimates.json fleet names {len(unknown):,} site id(s) not in the sites (e.g. {unknown[0]})",
            field="fleet.sites",
            fix="rerun `gis estimate` on these sites (or `gis run`)",
        )
    id_list = site_ids.tolist()  # plain str: walking the Arrow column cell by cell is slow
    site_rows = [rows.get(sid) or {} for sid in id_list]
    for col, (key, dtype) in FLEET_COLUMNS.items():
        values = [row.get(key) for row in site_rows]
        if dtype == "bool":
            flags = [
                bool(v) if v is not None else (sid in ids) for v, sid in zip(values, id_list, strict=True)
            ]
            out[col] = np.array(flags, dtype=bool) | site_ids.isin(ids).to_numpy()
        elif dtype == "str":
            out[col] = ["" if v is None else str(v) for v in values]
        else:
            out[col] = pd.to_numeric(pd.Series(values, index=out.index), errors="coerce").fillna(0.0)
    return out


def gpkg_metadata(path: Path, *, key: str | None = None) -> dict[str, str]:
    """Dataset metadata of a GeoPackage written by :func:`gis.io.write_gpkg` (empty if none); read
    once per ``key`` (what names the file's content, such as a run's layers key; default: the
    file's :func:`gis.memo.file_stamp`), then kept (:func:`_kept_json`)."""
    return dict(_kept_json("gpkg_metadata", key or file_stamp(path), lambda: _gpkg_metadata(str(path))))


def _kept_json(kind: str, key: str, make) -> dict:
    """``make()`` (a JSON-able dict), kept by ``kind`` and ``key`` in this process and in
    ``$GIS_CACHE_DIR/layers_info`` (:func:`gis.outputs.keep.kept_bytes`): a new process after a
    weight change opens none of layers.gpkg's 18 layers for their metadata."""
    from gis.memo import digest
    from gis.outputs.keep import kept_bytes

    blob = kept_bytes(
        "layers_info", digest(kind, key), lambda: json.dumps(make()).encode("utf-8"), suffix=".json"
    )
    return json.loads(blob)


def _gpkg_metadata(path: str) -> dict[str, str]:
    layers = pyogrio.list_layers(path)
    if len(layers) == 0:
        return {}
    info = pyogrio.read_info(path, layer=layers[0][0])
    return dict(info.get("dataset_metadata") or {})


def scoring_metadata(path: Path) -> dict[str, str]:
    """What the scoring stage recorded of the sites (tool, scenario, row log, schema), from the
    ``candidate_sites`` layer metadata that ``gis score`` writes, or from the ``scoring_*`` keys of
    an output ``sites.gpkg`` (``gis report`` run again on ``gis run``'s outputs); {} if neither."""
    info = pyogrio.read_info(path, layer=SITES_LAYER)
    layer = dict(info.get("layer_metadata") or {})
    if "row_log" in layer:
        return {k: layer[k] for k in ("tool", "scenario", "row_log", "schema") if k in layer}
    data = dict(info.get("dataset_metadata") or {})
    return {k.removeprefix("scoring_"): v for k, v in data.items() if k.startswith("scoring_")}


def layer_build_notes(path: Path, *, key: str | None = None) -> dict[str, list[str]]:
    """The ``row_log`` notes each layer of ``layers.gpkg`` recorded in its metadata ({} if none);
    read once per ``key`` (as for :func:`gpkg_metadata`), then kept."""
    notes = _kept_json("layer_build_notes", key or file_stamp(path), lambda: _layer_build_notes(str(path)))
    return {str(name): [str(n) for n in values] for name, values in notes.items()}


def _layer_build_notes(path: str) -> dict[str, list[str]]:
    notes: dict[str, list[str]] = {}
    for name in pyogrio.list_layers(path)[:, 0]:
        meta = pyogrio.read_info(path, layer=str(name)).get("layer_metadata") or {}
        try:
            log = json.loads(meta.get("row_log", "{}"))
        except json.JSONDecodeError:
            continue
        if isinstance(log, dict) and log.get("notes"):
            notes[str(name)] = [str(n) for n in log["notes"]]
    return notes


PRICE_COLUMNS = ["node", "kind", "hour_utc", "price_usd_mwh"]
"""The columns of ``market_prices`` the report's price curves read."""


def read_market_prices(path: Path) -> pd.DataFrame | None:
    """The ``market_prices`` table of ``layers.gpkg`` (node, kind, hour_utc, price_usd_mwh in
    USD/MWh), or None when the file or the layer is absent (the report then says so). Read apart
    from the map layers so it is never copied into sites.gpkg."""
    if not Path(path).is_file() or "market_prices" not in set(pyogrio.list_layers(path)[:, 0]):
        return None
    return pyogrio.read_dataframe(
        path,
        layer="market_prices",
        columns=PRICE_COLUMNS,
        read_geometry=False,
        use_arrow=True,  # 0.5 M rows: ~5x faster than the row-wise reader
    )


def stage_outputs(
    out: Path,
    *,
    sites: gpd.GeoDataFrame,
    estimates: dict,
    layers: Mapping[str, pd.DataFrame],
    sites_metadata: dict[str, str],
    layer_names: Iterable[str],
    layers_key: str | None = None,
) -> StageOutputs:
    """What :func:`read_stage_outputs` reads, from frames already in memory (``gis run``).

    ``sites`` are the scoring stage's ``candidate_sites``; ``layers`` the built layers (the wanted
    ones are taken); ``out/layers.gpkg`` must exist (its metadata and build notes are read).
    ``layers_key``: what names the layers' content (:attr:`StageOutputs.layers_key`).
    """
    notes: list[str] = []
    layers_path = _need(out / "layers.gpkg", "gis build")
    sites = join_fleet(normalise_sites(sites, out / "sites.gpkg", notes=notes), estimates)
    wanted = sorted(set(layer_names))
    absent = [n for n in wanted if n not in layers]
    if absent:
        notes.append(f"layers.gpkg lacks {', '.join(absent)}: not drawn")
    from gis.outputs.report import kept_price_curves, reference_year

    def prices() -> pd.DataFrame | None:  # read only when the curves of these layers are not kept
        return layers["market_prices"][PRICE_COLUMNS] if "market_prices" in layers else None

    return StageOutputs(
        sites=sites,
        estimates=estimates,
        layers=FrameSubset(layers, wanted),  # read by the process that draws them, when it does
        layers_metadata=gpkg_metadata(layers_path, key=layers_key),
        sites_metadata=dict(sites_metadata),
        notes=notes,
        layer_notes=layer_build_notes(layers_path, key=layers_key),
        price_curves=kept_price_curves(prices, reference_year(estimates), layers_key),
        layers_key=layers_key,
    )


def read_stage_outputs(out: Path, *, layer_names: Iterable[str]) -> StageOutputs:
    """Read sites, estimates and the wanted source layers (those present) from ``out``."""
    notes: list[str] = []
    layers_path = _need(out / "layers.gpkg", "gis build")
    sites = read_sites(out / "sites.gpkg", notes=notes)
    estimates = read_estimates(out / "estimates.json")
    sites = join_fleet(sites, estimates)
    available = set(gpkg_layer_names(layers_path, fix="rerun `gis build`"))
    wanted = sorted(set(layer_names))
    absent = [n for n in wanted if n not in available]
    if absent:
        notes.append(f"layers.gpkg lacks {', '.join(absent)}: not drawn")
    layers = read_layers(layers_path, [n for n in wanted if n in available])
    return StageOutputs(
        sites=sites,
        estimates=estimates,
        layers=layers,
        layers_metadata=gpkg_metadata(layers_path),
        sites_metadata=scoring_metadata(out / "sites.gpkg"),
        notes=notes,
        layer_notes=layer_build_notes(layers_path),
        layers_key="file:" + file_stamp(layers_path),
    )
