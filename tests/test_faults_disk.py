"""Full disks and unwritable folders are user errors that keep the previous outputs.

A small tmpfs is mounted for the test (the test runs as root in CI containers; elsewhere it is
skipped, saying why): ``gis score`` into it fills it, a download into a cache on it fills it.
An uncreatable ``GIS_CACHE_DIR`` lets ``gis score`` go on without the measures cache.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.scoring.tiny_layers import tiny_layers

from gis.cli import main
from gis.errors import GisError
from gis.io import write_gpkg
from gis.sources.fetch import download


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[callable]:
    mounted: list[Path] = []

    def mount(size_kb: int) -> Path:
        point = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_score_into_a_full_disk_is_a_user_error_and_keeps_the_old_outputs(small_tmpfs, capsys) -> None:
    disk = small_tmpfs(300)  # layers.gpkg (~240 kB) fits, sites.gpkg does not
    out = disk / "out"
    # without the hourly prices (a year of them would not fit): the energy stage then finds no surplus
    layers = {k: v for k, v in tiny_layers().items() if k not in ("market_prices", "curtailment_daily")}
    write_gpkg(out / "layers.gpkg", layers)
    before = _listing(out)
    capsys.readouterr()
    code = main(["score", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "disk is full" in err and "sites.gpkg" in err and "Fix:" in err
    assert "unexpected error" not in err and ".staging-" not in err
    assert _listing(out) == before  # nothing half-written, no staging folder, no temporary file


def test_a_download_into_a_full_cache_leaves_no_partial_file(small_tmpfs, serve_dir, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "big.csv").write_bytes(b"a,b\n" + b"1,2\n" * 60_000)  # 240 kB
    server = serve_dir(served)
    cache = small_tmpfs(64)
    with pytest.raises(GisError) as err:
        download(f"{server.url}/big.csv", cache / "mirror" / "big.csv", progress=False)
    assert "GIS_CACHE_DIR" in err.value.message and "big.csv" in err.value.message
    assert not list((cache / "mirror").iterdir())  # no .part, no pooch temporary


def test_an_uncreatable_cache_folder_only_warns(tmp_path: Path, capsys, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n")
    monkeypatch.setenv("GIS_CACHE_DIR", str(blocker / "cache"))
    out = tmp_path / "out"
    write_gpkg(out / "layers.gpkg", tiny_layers())
    capsys.readouterr()
    code = main(["score", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "measures cache disabled" in captured.err and "GIS_CACHE_DIR" in captured.err
    assert (out / "sites.gpkg").is_file() and (out / "sites_ranked.csv").is_file()
