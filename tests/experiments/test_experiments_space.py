"""Grids, search spaces and budgets: what they produce, and clear messages when they are wrong."""

from __future__ import annotations

import pytest

from seqlab.config import load_config
from seqlab.errors import ConfigError
from seqlab.experiments.compare import variant_configs
from seqlab.experiments.space import grid, parse_budget, parse_space
from seqlab.experiments.sweep import check_space


def test_several_vary_make_a_grid_with_valid_overrides():
    variants = grid(["model.cell=rnn,lstm,gru", "train.lr=1e-3,3e-3"])
    assert len(variants) == 6
    configs = variant_configs(load_config("shakespeare-char"), variants)
    assert {(c.model.cell, c.train.lr) for c in configs.values()} == {
        (cell, lr) for cell in ("rnn", "lstm", "gru") for lr in (1e-3, 3e-3)
    }


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        (["model.cell"], "must look like section.key=a,b,c"),
        (["model.cell=rnn,,gru"], "empty value"),
        (["model.cell=rnn,rnn"], "repeats a value"),
        (["model.cell=rnn", "model.cell=gru"], "same key twice"),
        ([], "give at least one --vary"),
    ],
)
def test_bad_vary_specs_say_what_is_wrong(vary, message):
    with pytest.raises(ConfigError, match=message):
        grid(vary)


def test_a_variant_with_a_bad_value_names_the_variant_and_the_choices():
    with pytest.raises(ConfigError, match='variant "cell=lstn": model.cell must be one of rnn, lstm, gru'):
        variant_configs(load_config("shakespeare-char"), grid(["model.cell=gru,lstn"]))


@pytest.mark.parametrize(
    ("spec", "kind", "low", "high", "choices"),
    [
        ("train.lr=log(1e-4,1e-2)", "log", 1e-4, 1e-2, ()),
        ("train.lr=loguniform(1e-4, 1e-2)", "log", 1e-4, 1e-2, ()),
        ("model.dropout=uniform(0,0.5)", "uniform", 0.0, 0.5, ()),
        ("model.hidden_size=int(16,64)", "int", 16, 64, ()),
        ("train.batch_size=logint(8,128)", "logint", 8, 128, ()),
        ("model.cell=choice(lstm,gru)", "choice", 0, 0, ("lstm", "gru")),
        ("train.batch_size=choice(16, 32)", "choice", 0, 0, (16, 32)),
    ],
)
def test_space_specs_parse(spec, kind, low, high, choices):
    param = parse_space(spec)
    assert (param.kind, param.low, param.high, param.choices) == (kind, low, high, choices)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("train.lr", "must look like section.key=kind"),
        ("lr=log(1e-4,1e-2)", "must look like section.key=kind"),
        ("train.lr=log 1e-4 1e-2", 'cannot read "log 1e-4 1e-2"; use key=log'),
        ("train.lr=normal(0,1)", 'unknown distribution "normal"'),
        ("train.lr=log(1e-4)", "log takes two numbers, lo and hi"),
        ("train.lr=log(1e-2,1e-4)", "lo must be smaller than hi"),
        ("train.lr=log(0,1e-2)", "log needs 0 < lo < hi"),
        ("train.lr=uniform(a,1)", '"a" is not a number'),
        ("model.hidden_size=int(8,64.5)", "int needs whole numbers"),
        ("model.cell=choice(lstm)", "choice needs at least two"),
        ("model.cell=choice(lstm,lstm)", "choice repeats a value"),
    ],
)
def test_bad_space_specs_get_clear_messages(spec, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_space(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("model.dropout=uniform(0,1)", "model.dropout: input should be less than 1"),
        ("model.cell=choice(lstm,lstn)", "model.cell must be one of rnn, lstm, gru"),
        ("train.learning_rate=log(1e-4,1e-2)", r'unknown key in \[train\] "learning_rate" \(choices: batch_size'),
    ],
)
def test_space_values_are_checked_against_the_config(spec, message):
    with pytest.raises(ConfigError, match=message):
        check_space(load_config("shakespeare-char"), [parse_space(spec)])


def test_budgets_are_steps_or_time():
    assert parse_budget("40") == ("train.max_steps=40", "train.max_time=0.0", "train.eval_every=5")
    assert parse_budget("1.5h")[0] == "train.max_time=5400.0"
    for bad in ("soon", "0", "2.5 steps", "-3m"):
        with pytest.raises(ConfigError, match="--budget"):
            parse_budget(bad)


def test_the_cli_reports_a_bad_space_in_one_line(cli):
    result = cli("sweep", "shakespeare-char", "--trials", "2", "--space", "train.lr=log(0,1)")
    assert result.code == 1
    assert 'error: --space "train.lr=log(0,1)": log needs 0 < lo < hi' in result.err
    assert "Traceback" not in result.err
    result = cli("compare", "shakespeare-char", "--vary", "model.cell=rnn,lstn")
    assert result.code == 1 and "model.cell must be one of rnn, lstm, gru" in result.err


def test_every_built_in_study_fits_its_recipe():
    from seqlab.experiments.studies import STUDIES

    for name, study in STUDIES.items():
        budget = parse_budget(study.budget) if study.budget else ()
        configs = variant_configs(load_config(study.recipe), study.variants, budget=budget)
        assert len(configs) == len(study.variants) >= 2, name
        assert len({c.model_dump_json() for c in configs.values()}) == len(configs), f"{name}: two variants are equal"


def test_a_sweep_without_optuna_names_the_extra(monkeypatch, tmp_path):
    import sys

    from seqlab.errors import MissingExtraError
    from seqlab.experiments.sweep import sweep

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'seqlab\[sweep\]'"):
        sweep(load_config("shakespeare-char"), [parse_space("train.lr=log(1e-4,1e-2)")], trials=1, out_dir=tmp_path)
