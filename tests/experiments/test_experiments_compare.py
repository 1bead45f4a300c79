"""seqlab compare / study / report / lr-find end to end on a tiny corpus and a tiny model."""

from __future__ import annotations

import json
import re

from seqlab.config import load_config


def test_a_tiny_grid_reports_every_variant_and_re_renders(cli, tmp_path, tiny_sets):
    out = tmp_path / "cmp"
    result = cli(
        "compare",
        "shakespeare-char",
        "--vary",
        "model.cell=rnn,gru",
        "--repeats",
        "2",
        "--budget",
        "3",
        "--out",
        str(out),
        *tiny_sets,
    )
    assert result.code == 0, result.err
    study = json.loads((out / "study.json").read_text())
    assert [v["name"] for v in study["variants"]] == ["cell=rnn", "cell=gru"]
    assert all(r["result"] is not None for v in study["variants"] for r in v["runs"])

    report = (out / "report.md").read_text()
    for name in ("cell=rnn", "cell=gru"):
        assert re.search(rf"\| (\*\*)?{name}(\*\* ★)? \| [0-9.]+ ± [0-9.e-]+ \|", report), report
    assert report.count("★") == 1  # the best variant is marked once in the table
    for column in ("parameters", "train time (s)", "tokens/s", "latency (ms)"):
        assert column in report
    for link in ("runs/cell-rnn/seed-0", "runs/cell-rnn/seed-1", "runs/cell-gru/seed-0", "runs/cell-gru/seed-1"):
        assert f"]({link})" in report and (out / link / "model.safetensors").exists()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert "curves-val-loss.png" in images and all((out / image).stat().st_size > 1000 for image in images)
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(images) and 'class="best"' in page

    # any variant re-runs from the config its run directory holds
    assert load_config(out / "runs/cell-gru/seed-1/config.toml").model.cell == "gru"
    assert load_config(out / "runs/cell-gru/seed-1/config.toml").train.seed == 1

    # re-rendering rewrites the report from study.json; running again trains nothing
    (out / "report.md").unlink()
    (out / "curves-val-loss.png").unlink()
    assert cli("report", str(out)).code == 0
    assert (out / "report.md").read_text() == report and (out / "curves-val-loss.png").exists()
    stamp = (out / "runs/cell-rnn/seed-0/model.safetensors").stat().st_mtime_ns
    again = cli(
        "compare",
        "shakespeare-char",
        "--vary",
        "model.cell=rnn,gru",
        "--repeats",
        "2",
        "--budget",
        "3",
        "--out",
        str(out),
        *tiny_sets,
        "--json",
    )
    assert again.code == 0, again.err
    assert (out / "runs/cell-rnn/seed-0/model.safetensors").stat().st_mtime_ns == stamp
    summary = json.loads(again.out)  # --json: standard output is the summary alone, progress went to stderr
    assert summary["best"] in ("cell=rnn", "cell=gru") and summary["metric"] == study["metric"]
    assert [(v["variant"], v["runs"]) for v in summary["variants"]] == [("cell=rnn", 2), ("cell=gru", 2)]
    assert sum(v["best"] for v in summary["variants"]) == 1

    # a different comparison into the same folder is refused
    other = cli("compare", "shakespeare-char", "--vary", "model.cell=lstm", "--out", str(out), *tiny_sets)
    assert other.code == 1 and "already holds a different comparison" in other.err


def test_report_of_a_folder_that_is_not_a_report(cli, tmp_path):
    result = cli("report", str(tmp_path))
    assert result.code == 1 and "is not a seqlab report folder" in result.err


def test_studies_are_listed_and_unknown_ones_get_suggestions(cli):
    listed = cli("study")
    assert listed.code == 0
    for name in ("cells", "learning-rate", "batch-size", "dropout", "regularization", "depth-width", "early-stopping"):
        assert name in listed.out
    wrong = cli("study", "dropuot")
    assert wrong.code == 1 and 'unknown study "dropuot"; did you mean dropout?' in wrong.err


def test_lr_find_writes_a_plot_and_suggests_a_rate(cli, tmp_path, tiny_sets):
    out = tmp_path / "lr"
    result = cli(
        "lr-find",
        "shakespeare-char",
        "--steps",
        "15",
        "--min-lr",
        "1e-4",
        "--max-lr",
        "10",
        "--out",
        str(out),
        *tiny_sets,
    )
    assert result.code == 0, result.err
    study = json.loads((out / "study.json").read_text())
    assert 3 <= len(study["lrs"]) <= 15 and study["lrs"] == sorted(study["lrs"])
    assert 1e-4 <= study["suggested"] <= study["min_loss_lr"]
    assert (out / "lr-find.png").stat().st_size > 1000
    assert f"train.lr={study['suggested']:.3g}" in (out / "report.md").read_text()
    assert "suggested learning rate" in result.out
