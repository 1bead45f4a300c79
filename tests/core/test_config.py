"""Config: validated once, frozen, overridable, round-trips through TOML."""

from __future__ import annotations

import pytest
import tomllib
from pydantic import ValidationError

from seqlab.config import from_dict, load_config, recipe_names, to_toml, with_overrides
from seqlab.errors import ConfigError


@pytest.mark.parametrize("name", recipe_names())
def test_every_recipe_validates_and_round_trips(name):
    config = load_config(name)
    assert from_dict(tomllib.loads(to_toml(config))) == config
    for key in ("max_steps", "max_time", "seed", "checkpoint_every"):
        assert hasattr(config.train, key)


def test_overrides_make_a_copy():
    base = load_config("shakespeare-char")
    changed = with_overrides(base, ["train.lr=0.01", "model.cell=gru", "train.max_time=2m", 'sample.prompt="JULIET:"'])
    assert (changed.train.lr, changed.model.cell, changed.train.max_time, changed.sample.prompt) == (
        0.01,
        "gru",
        120.0,
        "JULIET:",
    )
    assert base.model.cell == "lstm"
    with pytest.raises(ValidationError):
        base.train.lr = 1.0  # frozen


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.cell=lstn", 'model.cell must be one of rnn, lstm, gru (got "lstn")'),
        ("model.hiden_size=3", 'unknown key in [model] "hiden_size"; did you mean hidden_size?'),
        ("modle.cell=gru", 'unknown config section "modle"; did you mean model?'),
        ("train.lr=-1", "train.lr: input should be greater than 0 (got -1)"),
        ("train.max_time=soon", "train.max_time"),
        ("train.lr", "must look like section.key=value"),
    ],
)
def test_bad_overrides_name_the_key_value_and_choices(override, message):
    with pytest.raises(ConfigError) as info:
        load_config("shakespeare-char", overrides=[override])
    assert message in str(info.value)


def test_bad_config_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ntask = "language-model"\n[data\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    missing = tmp_path / "missing.toml"
    missing.write_text('name = "x"\ntask = "language-model"\n')
    with pytest.raises(ConfigError, match="data is required"):
        load_config(missing)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match='unknown recipe "shakespeare-chr"; did you mean shakespeare-char'):
        load_config("shakespeare-chr")


def test_cli_reports_config_errors_without_traceback(cli):
    result = cli("train", "shakespeare-char", "--set", "model.cell=lstn")
    assert result.code == 1
    assert 'model.cell must be one of rnn, lstm, gru (got "lstn")' in result.err
    assert "Traceback" not in result.err + result.out


@pytest.mark.parametrize(
    ("recipe", "override", "message"),
    [
        (
            "rotten-tomatoes-bilstm",
            'model.pretrained_embeddings="minilm"',
            'model.pretrained_embeddings = "minilm" needs data.tokenizer = "minilm", '
            'whose ids number the rows of the vectors (got "word")',
        ),
        (
            "rotten-tomatoes-bilstm-minilm",
            "model.embed_dim=128",
            'model.embed_dim must be 384 with model.pretrained_embeddings = "minilm", '
            "the length of its vectors (got 128)",
        ),
        (
            "rotten-tomatoes-bilstm-minilm",
            "data.vocab_size=20000",
            'data.vocab_size must be 0 with data.tokenizer = "minilm": '
            "its 30,522 word pieces are fixed by the pretrained vectors (got 20000)",
        ),
        (
            "rotten-tomatoes-bilstm-minilm",
            "model.pretrained_embeddings=glove",
            'model.pretrained_embeddings must be one of none, minilm (got "glove")',
        ),
        ("shakespeare-char", "model.pretrained_embeddings=minilm", 'unknown key in [model] "pretrained_embeddings"'),
    ],
)
def test_pretrained_embeddings_must_agree_with_tokenizer_and_embed_dim(recipe, override, message):
    with pytest.raises(ConfigError) as info:
        load_config(recipe, overrides=[override])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_pretrained_config_exits_with_one_line_from_the_cli(cli):
    result = cli("train", "rotten-tomatoes-bilstm-minilm", "--set", "model.embed_dim=128")
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip() == (
        'error: model.embed_dim must be 384 with model.pretrained_embeddings = "minilm", '
        "the length of its vectors (got 128)"
    )


def test_per_dataset_limits_round_trip_and_must_name_joined_datasets(cli, tmp_path):
    from seqlab.data import joined_datasets

    config = load_config("chat-seq2seq", overrides=['data.limits={"shakespeare-dialogue" = 1500}'])
    assert config.data.limits == {"shakespeare-dialogue": 1500}
    path = tmp_path / "c.toml"
    path.write_text(to_toml(config), encoding="utf-8")
    assert load_config(path) == config
    assert joined_datasets(config.data.dataset, limit=6000, limits=config.data.limits) == [
        ("chatterbot", 6000),
        ("shakespeare-dialogue", 1500),
    ]
    result = cli("train", "chat-seq2seq", "--set", 'data.limits={"plays" = 10}', "--run-dir", str(tmp_path / "r"))
    assert result.code == 1 and "data.limits names plays, which data.dataset does not join" in result.err
    assert joined_datasets(str(path), limit=5, limits={"plays": 10}) == [
        (str(path), 5)
    ]  # a file: limits are the recipe's


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr=nan", "train.lr must be a finite number (got nan)"),
        ("train.lr=inf", "train.lr must be a finite number (got inf)"),
        ("train.betas=[0.9, -inf]", "train.betas.1 must be a finite number (got -inf)"),
        ("train.max_time=inf", "train.max_time must be a finite number (got inf)"),
        ("train.batch_size=true", "train.batch_size: must be a number, not true or false (got true)"),
        ("train.lr=false", "train.lr: must be a number, not true or false (got false)"),
        ("model.bidirectional=1", "model.bidirectional: must be true or false (got 1)"),
        ("train.seed=-1", "train.seed: input should be greater than or equal to 0 (got -1)"),
        ("train.seed=4294967296", "train.seed: input should be less than or equal to 4294967295 (got 4294967296)"),
        ("model.hidden_size=1000000000", "the model's weights need at least"),
        ("model.hidden_size=1000000000", "model.hidden_size = 1000000000"),
    ],
)
def test_numbers_are_finite_not_booleans_and_in_range(override, message):
    with pytest.raises(ConfigError) as info:
        load_config("shakespeare-char", overrides=[override])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_weights_that_cannot_fit_name_the_estimate_and_the_memory():
    from seqlab.config import check_fits_in_memory, estimate_parameters

    config = load_config("shakespeare-char", overrides=["model.hidden_size=64", "model.embed_dim=32"])
    params = estimate_parameters(config)
    assert params >= 4 * 64 * (32 + 64)  # the LSTM's gates, a lower bound
    check_fits_in_memory(config, memory=4 * params)  # fits exactly
    with pytest.raises(ConfigError, match=r"need at least .* more than this machine's .* of memory"):
        check_fits_in_memory(config, memory=4 * params - 1)


def test_a_config_that_is_not_utf8_is_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.toml is not UTF-8 text \(byte 11"):
        load_config(bad)
