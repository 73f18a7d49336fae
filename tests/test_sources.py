"""Getting source files: local directory, HTTP mirror (same code path as the official download),
resume, checksums, zip-slip, offline behaviour."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from gis.config.catalog import Source, SourceFile, load_catalog, load_source
from gis.config.settings import DataOrigin, data_origin
from gis.errors import DataUnavailableError, GisError
from gis.sources import Resolver
from gis.sources.archive import extract_member, find_member, safe_members
from gis.sources.fetch import download, sha256_of

CSV = b"plant_id,name,capacity_mw\n1,Alpha Dam,100.0\n2,Beta Station,250.5\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _catalog(url: str | None = None, sha: str | None = None, url_sha: str | None = None, optional=False):
    file = SourceFile(
        key="table",
        path="demo/plants.csv",
        url=url,
        format="csv",
        sha256=sha,
        url_sha256=url_sha,
        optional=optional,
    )
    src = Source(
        name="demo",
        title="Demo plants",
        publisher="Test",
        licence="PD",
        attribution="Test",
        vintage="2024",
        homepage="https://example.invalid/",
        feeds=["plants"],
        files=[file],
    )
    return {"demo": src}


@pytest.fixture
def mirror_root(tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "plants.csv").write_bytes(CSV)
    return root


def test_data_dir_reads_in_place(mirror_root: Path) -> None:
    r = Resolver(DataOrigin(data_dir=mirror_root), catalog=_catalog(sha=_sha(CSV)), progress=False)
    got = r.require("demo", "table")
    assert got.path == mirror_root / "demo" / "plants.csv"
    assert got.form == "mirror"
    assert r.warnings == []


def test_data_dir_missing_file_names_path_and_fix(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = Resolver(DataOrigin(data_dir=tmp_path / "empty"), catalog=_catalog(), progress=False)
    with pytest.raises(GisError) as err:
        r.get("demo", "table")
    assert "demo/plants.csv" in err.value.message
    assert "Fix:" in err.value.message


def test_data_dir_changed_file_is_warned_not_hidden(mirror_root: Path) -> None:
    r = Resolver(DataOrigin(data_dir=mirror_root), catalog=_catalog(sha="0" * 64), progress=False)
    r.get("demo", "table")
    assert any("differs from the catalogued version" in w for w in r.warnings)


def test_mirror_fetches_through_local_http_and_caches(mirror_root: Path, serve_dir, tmp_path: Path) -> None:
    server = serve_dir(mirror_root)
    cache = tmp_path / "cache"
    r = Resolver(DataOrigin(mirror=server.url), cache=cache, catalog=_catalog(sha=_sha(CSV)), progress=False)
    got = r.require("demo", "table")
    assert got.path.read_bytes() == CSV
    assert cache in got.path.parents
    assert [p for p, _ in server.requests] == ["/demo/plants.csv"]
    # a second resolver reuses the cache: no new request
    r2 = Resolver(DataOrigin(mirror=server.url), cache=cache, catalog=_catalog(sha=_sha(CSV)), progress=False)
    assert r2.require("demo", "table").path == got.path
    assert len(server.requests) == 1


def test_official_download_is_the_same_code_path(mirror_root: Path, serve_dir, tmp_path: Path) -> None:
    server = serve_dir(mirror_root)
    cat = _catalog(url=f"{server.url}/demo/plants.csv", url_sha=_sha(CSV))
    r = Resolver(DataOrigin(), cache=tmp_path / "c", catalog=cat, progress=False)
    got = r.require("demo", "table")
    assert got.form == "official"
    assert got.path.read_bytes() == CSV


def test_corrupted_mirror_file_is_refused_with_clear_message(
    mirror_root: Path, serve_dir, tmp_path: Path
) -> None:
    (mirror_root / "demo" / "plants.csv").write_bytes(CSV[:-10])  # truncated at the source
    server = serve_dir(mirror_root)
    r = Resolver(
        DataOrigin(mirror=server.url), cache=tmp_path / "c", catalog=_catalog(sha=_sha(CSV)), progress=False
    )
    with pytest.raises(GisError) as err:
        r.get("demo", "table")
    assert "sha256" in err.value.message
    assert err.value.field == "sha256"
    # tried twice (once more after the mismatch), and nothing half-written left in the cache
    assert len(server.requests) == 2
    assert not any(p.is_file() and p.name == "plants.csv" for p in (tmp_path / "c").rglob("*"))


def test_corrupted_cache_is_detected_and_refetched(mirror_root: Path, serve_dir, tmp_path: Path) -> None:
    server = serve_dir(mirror_root)
    cache = tmp_path / "c"
    cat = _catalog(sha=_sha(CSV))
    first = Resolver(DataOrigin(mirror=server.url), cache=cache, catalog=cat, progress=False).require(
        "demo", "table"
    )
    first.path.write_bytes(b"garbage")  # bit rot in the cache
    again = Resolver(DataOrigin(mirror=server.url), cache=cache, catalog=cat, progress=False).require(
        "demo", "table"
    )
    assert again.path.read_bytes() == CSV
    assert len(server.requests) == 2


def test_unhashed_download_keeps_a_sidecar_and_catches_cache_corruption(
    mirror_root, serve_dir, tmp_path
) -> None:
    server = serve_dir(mirror_root)
    dest = tmp_path / "dl" / "plants.csv"
    download(f"{server.url}/demo/plants.csv", dest, progress=False)
    assert (tmp_path / "dl" / "plants.csv.sha256").read_text().strip() == _sha(CSV)
    dest.write_bytes(b"changed")
    download(f"{server.url}/demo/plants.csv", dest, progress=False)
    assert dest.read_bytes() == CSV


def test_interrupted_download_resumes_with_range(mirror_root: Path, serve_dir, tmp_path: Path) -> None:
    server = serve_dir(mirror_root)
    dest = tmp_path / "dl" / "plants.csv"
    dest.parent.mkdir()
    (tmp_path / "dl" / "plants.csv.part").write_bytes(CSV[:20])  # what a cut-off transfer left
    download(f"{server.url}/demo/plants.csv", dest, known_hash=_sha(CSV), progress=False)
    assert dest.read_bytes() == CSV
    assert server.requests[-1] == ("/demo/plants.csv", "bytes=20-")
    assert not (tmp_path / "dl" / "plants.csv.part").exists()


def test_http_error_names_url(mirror_root: Path, serve_dir, tmp_path: Path) -> None:
    server = serve_dir(mirror_root)
    with pytest.raises(GisError) as err:
        download(f"{server.url}/nope.csv", tmp_path / "x.csv", progress=False)
    assert "HTTP 404" in err.value.message and "nope.csv" in err.value.message


def test_optional_file_missing_on_mirror_is_noted(mirror_root: Path, serve_dir, tmp_path: Path) -> None:
    (mirror_root / "demo" / "plants.csv").unlink()
    server = serve_dir(mirror_root)
    r = Resolver(
        DataOrigin(mirror=server.url), cache=tmp_path / "c", catalog=_catalog(optional=True), progress=False
    )
    assert r.get("demo", "table") is None
    assert any("not on the mirror" in w for w in r.warnings)


def test_unreachable_network_fails_fast_with_local_fix(tmp_path: Path) -> None:
    # port 9 on loopback: nothing listens, the connection is refused at once (no internet needed)
    cat = _catalog(url="http://127.0.0.1:9/demo/plants.csv")
    r = Resolver(DataOrigin(), cache=tmp_path / "c", catalog=cat, progress=False)
    with pytest.raises(DataUnavailableError) as err:
        r.get("demo", "table")
    assert "--data-dir" in err.value.message and "GIS_DATA_DIR" in err.value.message


def test_cli_without_network_or_data_fails_fast(tmp_path: Path, monkeypatch, capsys) -> None:
    from gis.cli import main

    monkeypatch.delenv("GIS_DATA_DIR", raising=False)
    import gis.sources.resolve as resolve

    real = resolve.Resolver.__post_init__

    def offline_catalog(self):  # every official URL points at a closed local port
        real(self)
        self.catalog = {
            name: src.model_copy(
                update={"files": [f.model_copy(update={"url": "http://127.0.0.1:9/x"}) for f in src.files]}
            )
            for name, src in self.catalog.items()
        }

    monkeypatch.setattr(resolve.Resolver, "__post_init__", offline_catalog)
    code = main(["build", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "--data-dir" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "layers.gpkg").exists()


def test_both_data_dir_and_mirror_refused() -> None:
    with pytest.raises(GisError, match="only one"):
        data_origin("/tmp", "http://127.0.0.1:1")


def test_zip_slip_member_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("data/ok.csv", "a\n1\n")
        zf.writestr("../../etc/evil.csv", "x")
    with pytest.raises(GisError, match="escapes"):
        safe_members(bad)
    with pytest.raises(GisError):
        extract_member(bad, "data/ok.csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_zip_member_lookup_and_extract(tmp_path: Path) -> None:
    z = tmp_path / "ok.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("inner/Global_Power_Plant_Database.csv", "a\n1\n")
    member = find_member(z, "*global_power_plant_database.csv")
    assert extract_member(z, member, tmp_path / "x").read_text() == "a\n1\n"


def test_truncated_zip_is_a_clear_error(tmp_path: Path) -> None:
    z = tmp_path / "cut.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.csv", "x" * 1000)
    z.write_bytes(z.read_bytes()[:50])
    with pytest.raises(GisError, match="truncated or corrupted"):
        safe_members(z)


def test_catalog_rejects_unknown_keys_and_escaping_paths(tmp_path: Path) -> None:
    good = (
        'name = "x"\ntitle = "t"\npublisher = "p"\nlicence = "l"\nattribution = "a"\nvintage = "v"\n'
        'homepage = "h"\nfeeds = ["plants"]\n[[files]]\nkey = "k"\npath = "x/y.csv"\nformat = "csv"\n'
    )
    (tmp_path / "x.toml").write_text(good)
    assert load_source(tmp_path / "x.toml").file("k").path == "x/y.csv"
    (tmp_path / "x.toml").write_text(good + "colour = 3\n")
    with pytest.raises(GisError, match="colour"):
        load_source(tmp_path / "x.toml")
    (tmp_path / "x.toml").write_text(good.replace("x/y.csv", "../y.csv"))
    with pytest.raises(GisError, match="files"):
        load_source(tmp_path / "x.toml")


def test_packaged_catalog_is_valid_and_complete() -> None:
    catalog = load_catalog()
    fed = {layer for src in catalog.values() for layer in src.feeds}
    from gis.schema import LAYER_SCHEMAS

    assert set(LAYER_SCHEMAS) <= fed, f"layers without a source: {set(LAYER_SCHEMAS) - fed}"
    for src in catalog.values():
        for f in src.files:
            assert f.url or f.optional, f"{src.name}:{f.key} has no official URL"


@pytest.mark.realdata
def test_real_mirror_serves_every_catalogued_file_with_matching_checksums(
    real_mirror, tmp_path: Path
) -> None:
    r = Resolver(DataOrigin(mirror=real_mirror.url), cache=tmp_path / "cache", progress=False)
    fetched = 0
    for src in r.catalog.values():
        for f in src.files:
            got = r.get(src.name, f.key)
            if got is None:
                assert f.optional
                continue
            fetched += 1
            if f.sha256:
                assert sha256_of(got.path) == f.sha256
    assert fetched >= 15
    assert r.warnings == [] or all("optional" in w or "not on the mirror" in w for w in r.warnings)


@pytest.mark.realdata
def test_real_data_dir_matches_catalog_checksums(real_data_dir: Path) -> None:
    r = Resolver(DataOrigin(data_dir=real_data_dir), progress=False)
    for src in r.catalog.values():
        for f in src.files:
            r.get(src.name, f.key)
    assert not [w for w in r.warnings if "differs" in w], r.warnings


NOT_CATALOGUED = {
    "flaring_monitor/flaring_monitor_company_stats_reported.csv": "operator-level monthly flaring; no locations",
    "flaring_monitor/flaring_monitor_company_stats_satellite_modeled.csv": "operator-level; no locations",
    "hifld_tx_samples/hifld_tx_indiana.geojson.gz": "regional HIFLD extract: official-schema test input; "
    "merging it with GridKit nationally would count the same lines twice",
    "hifld_tx_samples/hifld_tx_wichita_ks.geojson": "regional HIFLD extract with the full schema: test input",
}
"""Files of the public data copy the catalog deliberately does not read, with the reason."""


@pytest.mark.realdata
def test_every_real_data_file_is_catalogued_or_named_unused(real_data_dir: Path) -> None:
    catalogued = {f.path for src in load_catalog().values() for f in src.files}
    present = {
        str(p.relative_to(real_data_dir))
        for p in real_data_dir.rglob("*")
        if p.is_file() and not p.name.endswith(".md")
    }
    new = sorted(present - catalogued - set(NOT_CATALOGUED))
    assert not new, (
        f"data files no catalog entry reads: {new}. Add a layers/<source>.toml for each (and a loader), "
        "or list it in NOT_CATALOGUED with the reason"
    )
    assert not (set(NOT_CATALOGUED) & catalogued), "a file is both catalogued and listed as unused"


def test_the_http_libraries_are_imported_only_to_download() -> None:
    """A run on local files or cached layers makes no transfer: requests, urllib3 and pooch
    (~80 ms of every start-up) stay unimported until one is made."""
    import subprocess
    import sys

    code = (
        "import sys; import gis.cli, gis.sources, gis.sources.fetch, gis.layers.osm, gis.measures; "
        "print(sorted(m for m in ('requests', 'urllib3', 'pooch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
