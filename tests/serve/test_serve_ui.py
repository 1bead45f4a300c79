"""The Streamlit chat page, driven by AppTest against the running server, and once in a real browser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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

    at.button(key="clear").click().run()
    assert at.session_state["messages"] == [] and len(at.chat_message) == 0


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
    from playwright.sync_api import expect, sync_playwright

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
                messages = page.get_by_test_id("stChatMessage")
                for turn, text in enumerate(["안녕하세요", "how are you?"], start=1):
                    box.fill(text)
                    box.press("Enter")
                    expect(messages).to_have_count(2 * turn, timeout=30_000)
                    # the stop button disappears when the reply has finished streaming
                    expect(page.get_by_role("button", name="Stop")).to_have_count(0, timeout=30_000)
                expect(messages.nth(0)).to_contain_text("안녕하세요")
                expect(messages.nth(2)).to_contain_text("how are you?")
                shot = Path(os.environ.get("SEQLAB_SCREENSHOT_DIR", tmp_path)) / "serve-chat.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
            finally:
                browser.close()
    finally:
        stop(proc)
