"""Reading user files by shape, and the messages for files that cannot be read."""

from __future__ import annotations

import json

import pytest

from seqlab.cli import main
from seqlab.data import Corpus, LabelledTexts, Pairs, load_dataset
from seqlab.errors import DataError


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_txt_is_a_corpus_with_limit(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_bytes("\ufeff동해 물과\r\n백두산이\r\n".encode())
    assert load_dataset(path) == Corpus("동해 물과\n백두산이\n")
    assert load_dataset(str(path), limit=2) == Corpus("동해")


def test_csv_tsv_and_jsonl_labelled(tmp_path):
    (tmp_path / "a.csv").write_text('text,label\n"good, really",pos\nbad,neg\n', encoding="utf-8")
    (tmp_path / "a.tsv").write_text("text\tlabel\ngood, really\tpos\nbad\tneg\n", encoding="utf-8")
    lines = [json.dumps({"text": "good, really", "label": "pos"}), "", json.dumps({"text": "bad", "label": "neg"})]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = LabelledTexts(("good, really", "bad"), (1, 0), ("neg", "pos"))
    for name in ("a.csv", "a.tsv", "a.jsonl"):
        assert load_dataset(tmp_path / name) == expected


def test_numeric_labels_sort_as_numbers(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"t": "x", "y": 10}\n{"t": "y", "y": 2}\n', encoding="utf-8")
    data = load_dataset(tmp_path / "a.jsonl", text_column="t", label_column="y", limit=0)
    assert data.classes == ("2", "10") and data.labels == (1, 0)


def test_pairs_from_named_columns_and_limit(tmp_path):
    (tmp_path / "p.csv").write_text("en,ko\nhello,안녕\nthanks,고마워\n", encoding="utf-8")
    data = load_dataset(tmp_path / "p.csv", source_column="en", target_column="ko", limit=1)
    assert data == Pairs(("hello",), ("안녕",))
    corpus = load_dataset(tmp_path / "p.csv", text_column="ko", shape="corpus")
    assert corpus == Corpus("안녕\n고마워\n")


def test_file_not_found(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    code, _, err = run_cli(capsys, "data", "show", str(missing))
    assert code == 1 and f"file not found: {missing}" in err


def test_undecodable_bytes_say_where_and_which_encoding(tmp_path, capsys):
    path = tmp_path / "reviews.txt"
    path.write_bytes("좋아요\n".encode() + "최고".encode("cp949") + b"\n")
    code, _, err = run_cli(capsys, "data", "show", str(path))
    assert code == 1
    flat = " ".join(err.split())
    assert "is not UTF-8 text" in flat and "byte offset 10 (line 2, column 1)" in flat
    assert "utf-8 encoding" in flat and "iconv -f cp949" in flat


def test_empty_files(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "header.csv").write_text("text,label\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "data", "show", str(tmp_path / "empty.txt"))
    assert code == 1 and "the dataset is empty" in err
    code, _, err = run_cli(capsys, "data", "show", str(tmp_path / "header.csv"))
    assert code == 1 and "has no records (only a header)" in " ".join(err.split())


def test_csv_missing_columns_names_the_existing_ones(tmp_path, capsys):
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngreat,5\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "data", "show", str(path))
    flat = " ".join(err.split())
    assert code == 1 and 'neither a label column "label"' in flat and "its columns are: review, stars" in flat
    code, _, err = run_cli(capsys, "data", "show", str(path), "--label-column", "stars")
    flat = " ".join(err.split())
    assert code == 1 and 'has no column "text"; its columns are: review, stars' in flat
    with pytest.raises(DataError, match='no column "label"'):
        load_dataset(path, text_column="review", shape="labelled")


def test_bad_jsonl_line_and_suffix(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"text": "a", "label": "b"}\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        load_dataset(tmp_path / "x.jsonl")
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError, match="cannot read .parquet"):
        load_dataset(tmp_path / "x.parquet")


def test_show_user_file_prints_counts_splits_lengths_and_hangul(tmp_path, capsys):
    rows = ["text,label"] + [f"리뷰 {i} 정말 좋아요,pos" if i % 3 else f"review {i} meh,neg" for i in range(30)]
    (tmp_path / "ko.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, _ = run_cli(
        capsys,
        "data",
        "show",
        str(tmp_path / "ko.csv"),
        "--samples",
        "30",
        "--val-fraction",
        "0.2",
        "--test-fraction",
        "0.1",
    )
    assert code == 0
    assert "examples 30" in out and "train 21" in out and "val 6" in out and "test 3" in out
    assert "characters" in out and "words" in out and "정말 좋아요" in out and "[pos]" in out
    (tmp_path / "c.txt").write_text("한국어 문장입니다.\n" * 50, encoding="utf-8")
    code, out, _ = run_cli(capsys, "data", "show", str(tmp_path / "c.txt"), "-n", "1")
    assert code == 0 and "characters 550" in out and "한국어 문장입니다." in out
