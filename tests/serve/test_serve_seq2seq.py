"""A seq2seq chat model served for real: it answers the last user message, through the `openai` client."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import openai
import pytest
from rich.console import Console

from seqlab.decode import SamplingParams
from seqlab.serve.engine import PromptError, Seq2SeqAdapter, adapter_for

PAIRS = [("hello", "hi there"), ("how are you?", "i am fine"), ("안녕하세요", "반가워요"), ("good night", "sleep well")]
KEY = "s2s-key"


@pytest.fixture(scope="module")
def s2s_run_dir(tmp_path_factory):
    """The chat-seq2seq recipe on a few turn pairs, trained until it answers them (a few seconds)."""
    from seqlab.config import load_config
    from seqlab.run import train

    folder = tmp_path_factory.mktemp("s2s")
    data = folder / "pairs.jsonl"
    rows = [json.dumps({"source": s, "target": t}, ensure_ascii=False) for s, t in PAIRS] * 40
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = load_config(
        "chat-seq2seq",
        overrides=[
            f'data.dataset="{data}"',
            'data.tokenizer="char"',
            "data.val_fraction=0",
            "data.test_fraction=0",
            "model.embed_dim=16",
            "model.hidden_size=32",
            "model.dropout=0.0",
            "train.batch_size=16",
            "train.max_steps=150",
            "train.max_time=0",
            "train.warmup_steps=0",
            "train.lr=0.01",
            "train.eval_every=150",
            "train.checkpoint_every=150",
            "train.eval_batches=1",
            "data.samples=2",
        ],
    )
    train(config, run_dir=folder / "run", console=Console(file=StringIO()))
    return folder / "run"


@pytest.fixture(scope="module")
def adapter(s2s_run_dir):
    from seqlab.run import load

    return adapter_for(load(s2s_run_dir), name="bot")


def test_the_reply_answers_the_last_user_message_only(adapter):
    assert isinstance(adapter, Seq2SeqAdapter)
    greedy = SamplingParams(max_tokens=30, temperature=0.0)
    for source, target in PAIRS:
        gen = adapter.chat([{"role": "user", "content": source}], greedy)
        assert "".join(gen) == target and gen.finish_reason == "stop"
        assert gen.prompt_tokens == len(source) and gen.completion_tokens == len(target)
    history = [
        {"role": "system", "content": "be kind"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi there"},
        {"role": "user", "content": "good night"},
    ]
    assert "".join(adapter.chat(history, greedy)) == "sleep well"
    assert "".join(adapter.complete("how are you?", greedy)) == "i am fine"
    with pytest.raises(PromptError, match="answers the last user message"):
        adapter.chat([{"role": "system", "content": "no user here"}], greedy)


@pytest.fixture(scope="module")
def s2s_server(s2s_run_dir, proc_tools, tmp_path_factory):
    port = proc_tools.free_port()
    log = tmp_path_factory.mktemp("s2s-server") / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "seqlab", "serve", f"bot={s2s_run_dir}", "--port", str(port)],
            env=proc_tools.child_env(SEQLAB_API_KEY=KEY),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        proc_tools.wait_until_up(f"http://127.0.0.1:{port}/health", proc, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc_tools.stop(proc)


def test_the_openai_client_streams_a_seq2seq_reply(s2s_server):
    client = openai.OpenAI(base_url=s2s_server, api_key=KEY, max_retries=0, timeout=30)
    assert [m.id for m in client.models.list()] == ["bot"]
    messages = [{"role": "user", "content": "안녕하세요"}]
    whole = client.chat.completions.create(model="bot", messages=messages, temperature=0, max_tokens=20)
    assert whole.choices[0].message.content == "반가워요" and whole.choices[0].finish_reason == "stop"
    chunks = list(
        client.chat.completions.create(
            model="bot",
            messages=messages,
            temperature=0,
            max_tokens=20,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "반가워요"
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="bot", messages=[{"role": "system", "content": "hm"}], max_tokens=5)
    assert err.value.code == "invalid_prompt" and "last user message" in err.value.message
