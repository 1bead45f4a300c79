"""The chat template: messages -> model input, training pairs -> corpus, reply cutting."""

from __future__ import annotations

import pytest

from seqlab.errors import ConfigError
from seqlab.text.chat import DEFAULT_TEMPLATE, ChatTemplate


def test_a_conversation_is_written_as_the_training_pairs_were():
    template = ChatTemplate()
    history = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi there"},
        {"role": "user", "content": "안녕하세요"},
    ]
    prompt = template.render(history)
    # the finished exchange is byte-for-byte a training pair; the open one ends in the reply prefix
    assert prompt == template.render_pair("hello", "hi there") + "User: 안녕하세요\nBot: "
    assert template.render(history, add_reply_prefix=False).endswith("User: 안녕하세요\n")


def test_reply_ends_at_the_turn_end_and_messages_are_one_line():
    template = DEFAULT_TEMPLATE
    assert template.stop == ("\n",)
    assert template.cut_reply("  fine, thanks \nUser: x") == "fine, thanks"
    assert template.render([{"role": "user", "content": "two\nlines\n"}]) == "User: two lines\nBot: "


def test_system_messages_and_repeated_roles():
    template = ChatTemplate()
    text = template.render(
        [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    )
    assert text == "System: Be kind.\n\nUser: a b\nBot: "
    with pytest.raises(ConfigError, match="role must be one of system, user, assistant"):
        template.render([{"role": "robot", "content": "x"}])


def test_template_round_trips_through_json_and_pairs_must_match():
    import json

    custom = ChatTemplate(user="Q: ", assistant="A: ")
    assert ChatTemplate.from_dict(json.loads(custom.to_json())) == custom
    with pytest.raises(ConfigError, match="unknown chat template field"):
        ChatTemplate.from_dict({"speaker": "x"})
    with pytest.raises(ValueError, match="2 sources but 1 targets"):
        custom.render_pairs(["a", "b"], ["c"])


def test_language_model_trains_on_pairs_through_the_template(chat_run_dir):
    from seqlab.run import load

    run = load(chat_run_dir)
    assert run.meta["chat_template"] == {
        "user": "User: ",
        "assistant": "Bot: ",
        "system": "System: ",
        "turn_end": "\n",
        "exchange_end": "\n",
    }
    assert set("User: Bot: 안녕") <= set(run.tokenizer.tokenize("User: Bot: 안녕"))
    assert run.tokenizer.unk_id not in run.tokenizer.encode("User: hello\nBot: 안녕하세요")
