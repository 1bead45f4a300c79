"""Pairs from user files and the generated catalog entries: clear errors, no leakage between splits."""

from __future__ import annotations

import json

import pytest

from seqlab.config import load_config
from seqlab.data.fetching.builders.pairs import build_en_ko, date_sample, help_paragraphs, number_sample
from seqlab.errors import ConfigError, DataError
from seqlab.tasks import seq2seq
from seqlab.tasks.seq2seq import Seq2Seq, teacher_forcing_ratio


def _config(path, *extra):
    return load_config(
        "num2words-ko",
        overrides=[
            f'data.dataset="{path}"',
            "data.reverse=false",
            "data.val_fraction=0.2",
            "data.test_fraction=0.2",
            *extra,
        ],
    )


def test_missing_columns_name_the_columns_that_exist(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("english,korean\nhi,안녕\n", encoding="utf-8")
    with pytest.raises(DataError, match='no column "source" and "target"; its columns are: english, korean'):
        Seq2Seq().prepare(_config(path))
    prepared = Seq2Seq().prepare(
        _config(
            path,
            "data.source_column=english",
            "data.target_column=korean",
            "data.val_fraction=0.0",
            "data.test_fraction=0.0",
        )
    )
    assert prepared.meta["pairs"] == {"train": 1, "val": 0, "test": 0}


def test_empty_targets_are_reported_with_their_records(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = [{"source": "a", "target": "b"}, {"source": "c", "target": "  "}, {"source": "d", "target": ""}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(DataError, match=r'2 pair\(s\) have an empty target \(column "target"\), at record\(s\) 2, 3'):
        Seq2Seq().prepare(_config(path))
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("source\ttarget\n\tx\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty source"):
        Seq2Seq().prepare(_config(tsv))


def test_word_tokenizer_is_refused_for_lack_of_eos(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("source\ttarget\na b\tc d\ne f\tg h\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="has no BOS/EOS"):
        Seq2Seq().prepare(_config(path, "data.tokenizer=word", "data.val_fraction=0.0", "data.test_fraction=0.0"))


def test_a_target_never_lands_in_two_splits(tmp_path):
    # like the dates: one target rendered several ways must stay in one split
    rows = [{"source": f"{style} {n}", "target": str(n)} for n in range(60) for style in ("a", "b", "c")]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    prepared = Seq2Seq().prepare(_config(path))
    task, meta = prepared.data, prepared.meta
    seen = {name: set(texts) for name, (_, _, texts) in task.splits.items()}
    assert not (seen["train"] & seen["val"]) and not (seen["train"] & seen["test"]) and not (seen["val"] & seen["test"])
    assert sum(meta["pairs"].values()) == 180 and min(meta["pairs"].values()) > 0


def test_reverse_swaps_the_sides(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("source\ttarget\n12\t십이\n", encoding="utf-8")
    assert seq2seq.read_pairs(_config(path, "data.reverse=true")) == (["십이"], ["12"])


def test_generated_inputs_are_deterministic_and_distinct():
    numbers = number_sample()
    assert numbers == number_sample() and len(set(numbers)) == len(numbers) == 50_000
    dates = date_sample()
    assert dates[:4] == date_sample()[:4] and len({(d, loc, s) for d, loc, s in dates}) == len(dates)


def test_help_pages_pair_by_id_and_drop_untranslated():
    en = (
        '<h1 id="hd_id1">Find Bar</h1><p id="par_id2">Press <span class="keycode">Enter</span>.</p>'
        '<p id="par_id3">Same</p>'
    )
    ko = '<h1 id="hd_id1">찾기 모음</h1><p id="par_id2">Press Enter.</p><p id="par_id3">같음</p>'
    assert help_paragraphs(en)["par_id2"] == "Press Enter."
    built = (
        build_en_ko(
            {
                "usr/share/libreoffice/help/en-US/text/x.html": en.encode(),
                "usr/share/libreoffice/help/ko/text/x.html": ko.encode(),
            }
        )
        .decode()
        .splitlines()
    )
    assert [json.loads(line) for line in built] == [
        {"source": "Find Bar", "target": "찾기 모음"},
        {"source": "Same", "target": "같음"},
    ]


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        ("constant", 10_000, 0.8),
        ("linear", 0, 0.8),
        ("linear", 500, 0.5),
        ("linear", 5_000, 0.2),
        ("inverse-sigmoid", 0, 0.8 * 1000 / 1001),
    ],
)
def test_teacher_forcing_schedules(schedule, step, expected):
    cfg = load_config(
        "num2words-ko",
        overrides=[
            "model.teacher_forcing=0.8",
            f"model.teacher_forcing_schedule={schedule}",
            "model.teacher_forcing_min=0.2",
            "model.teacher_forcing_decay=1000",
        ],
    ).model
    assert teacher_forcing_ratio(cfg, step) == pytest.approx(expected)
    if schedule == "inverse-sigmoid":
        assert teacher_forcing_ratio(cfg, 20_000) == pytest.approx(0.2)
