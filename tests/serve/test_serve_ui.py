"""The Streamlit chat page, driven by AppTest against the running server, and once in a real browser.

The replies are checked against the server: a greedy reply on the page equals what the server
answers to the same conversation and settings, and the browser's replies raise the server's count
of finished generations. The API key from the environment is used by the page's Python process
and never appears in anything Streamlit sends to the browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest

from seqlab.serve import ui_app

CHROMIUM = Path("/usr/bin/chromium")


def test_two_turn_conversation_with_app_test(server, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SEQLAB_BASE_URL", server.base_url)
    monkeypatch.setenv("SEQLAB_API_KEY", server.api_key)
    at = AppTest.from_file(ui_app.__file__, default_timeout=30)
    at.run()
    assert not at.exception
    assert at.selectbox(key="model").options == ["chat", "plain"]
    at.selectbox(key="model").set_value("chat")
    at.slider(key="temperature").set_value(0.0)
    at.slider(key="max_tokens").set_value(40)
    at.chat_input(key="prompt").set_value("hello").run()
    assert not at.exception
    at.slider(key="frequency_penalty").set_value(1.0)  # the second reply asks for OpenAI's repetition penalty
    at.chat_input(key="prompt").set_value("안녕하세요").run()
    assert not at.exception
    messages = at.session_state["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[2]["content"] == "안녕하세요" and "\n" not in messages[3]["content"]
    assert len(at.chat_message) == 4

    # each reply is non-empty and is the served model's greedy answer to the same conversation
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)
    for turn, penalty in ((1, 0.0), (3, 1.0)):
        expected = client.chat.completions.create(
            model="chat",
            messages=messages[:turn],
            temperature=0.0,
            top_p=1.0,
            max_tokens=40,
            frequency_penalty=penalty,
        )
        reply = messages[turn]["content"]
        assert reply and reply == expected.choices[0].message.content.strip()
        assert at.chat_message[turn].markdown[0].value == reply

    at.button(key="clear").click().run()
    assert at.session_state["messages"] == [] and len(at.chat_message) == 0


def page_contents(at) -> list[bytes]:
    """Everything the page sends the browser: each element's protobuf, and the widget state."""

    def protos(node):
        if getattr(node, "proto", None) is not None:
            yield node.proto.SerializeToString()
        for child in getattr(node, "children", {}).values():
            yield from protos(child)

    return [*protos(at._tree), repr(at.session_state.to_dict()).encode()]


def test_the_api_key_from_the_environment_never_reaches_the_page(server, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SEQLAB_BASE_URL", server.base_url)
    monkeypatch.setenv("SEQLAB_API_KEY", server.api_key)
    at = AppTest.from_file(ui_app.__file__, default_timeout=30)
    at.run()
    assert not at.exception
    assert at.text_input(key="api_key").value == ""  # the field starts empty...
    assert at.selectbox(key="model").options == ["chat", "plain"]  # ...and the key from the environment works
    at.slider(key="max_tokens").set_value(8)
    at.chat_input(key="prompt").set_value("hello").run()
    assert not at.exception and at.session_state["messages"][-1]["role"] == "assistant"
    contents = page_contents(at)
    assert len(contents) > 10 and any(b"hello" in c for c in contents)  # the search does see the page
    assert not any(server.api_key.encode() in c for c in contents)


def test_a_key_typed_into_the_page_wins_over_the_environment(server, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SEQLAB_BASE_URL", server.base_url)
    monkeypatch.setenv("SEQLAB_API_KEY", "wrong-key")
    at = AppTest.from_file(ui_app.__file__, default_timeout=30)
    at.run()
    assert any("cannot list models" in e.value for e in at.error)  # the environment's key is refused
    at.text_input(key="api_key").set_value(server.api_key).run()
    assert not at.exception and at.selectbox(key="model").options == ["chat", "plain"]


def test_page_says_when_the_server_cannot_be_reached(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SEQLAB_BASE_URL", "http://127.0.0.1:9/v1")
    at = AppTest.from_file(ui_app.__file__, default_timeout=30)
    at.run()
    assert not at.exception
    assert any("cannot list models" in e.value for e in at.error)


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser test needs Debian's chromium: apt-get install -y chromium (and fonts-nanum for Hangul)",
)
def test_browser_chat_in_korean_and_english(server, proc_tools, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="browser test needs playwright (the dev extra)")
    expect, sync_playwright = playwright.expect, playwright.sync_playwright

    free_port, child_env, wait_until_up, stop = (
        proc_tools.free_port,
        proc_tools.child_env,
        proc_tools.wait_until_up,
        proc_tools.stop,
    )
    port = free_port()
    log = tmp_path / "streamlit.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        ui_app.__file__,
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    env = child_env(SEQLAB_BASE_URL=server.base_url, SEQLAB_API_KEY=server.api_key)
    with open(log, "w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)
    finished_before = httpx.get(f"{server.root}/health").json()["finished"]
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", proc, log)
        with sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(
                str(tmp_path / "profile"),  # a new, empty user-data-dir
                executable_path=str(CHROMIUM),
                headless=True,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
                viewport={"width": 1100, "height": 900},
            )
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                box = page.get_by_test_id("stChatInputTextArea")
                expect(box).to_be_enabled(timeout=30_000)
                temperature = page.get_by_test_id("stSlider").filter(has_text="Temperature").get_by_role("slider")
                temperature.press("Home")  # 0: greedy, so the replies can be compared with the server's
                expect(temperature).to_have_attribute("aria-valuetext", "0.00", timeout=30_000)
                messages = page.get_by_test_id("stChatMessage")
                for turn, text in enumerate(["안녕하세요", "how are you?"], start=1):
                    box.fill(text)
                    box.press("Enter")
                    expect(messages).to_have_count(2 * turn, timeout=30_000)
                    # the stop button disappears when the reply has finished streaming
                    expect(page.get_by_role("button", name="Stop")).to_have_count(0, timeout=30_000)
                expect(messages.nth(0)).to_contain_text("안녕하세요")
                expect(messages.nth(2)).to_contain_text("how are you?")
                # the assistant's replies have text (not just an avatar) and are the served model's own:
                # the greedy replies the server gives to the same conversation, from two more generations
                assert httpx.get(f"{server.root}/health").json()["finished"] == finished_before + 2
                history: list[dict[str, str]] = []
                for turn, text in enumerate(["안녕하세요", "how are you?"]):
                    history.append({"role": "user", "content": text})
                    expected = client.chat.completions.create(
                        model="chat", messages=history, temperature=0.0, top_p=1.0, max_tokens=200
                    )
                    reply = messages.nth(2 * turn + 1)
                    assert reply.get_by_test_id("stChatMessageAvatarAssistant").count() == 1
                    shown = reply.get_by_test_id("stChatMessageContent").inner_text()
                    answer = expected.choices[0].message.content.strip()
                    assert shown.split() and shown.split() == answer.split()  # HTML shows runs of spaces as one
                    history.append({"role": "assistant", "content": answer})
                assert server.api_key not in page.content()  # the key never reached the browser
                shot = Path(os.environ.get("SEQLAB_SCREENSHOT_DIR", tmp_path)) / "serve-chat.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
            finally:
                browser.close()
    finally:
        stop(proc)
