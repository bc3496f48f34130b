"""`clawling run` as a user starts it: a real process, settings from the environment."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from urllib.parse import quote

from tests.adapters.telegram.conftest import OWNER, OWNER_USER
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram


def _environment(tmp_path: Path, fake_llm: FakeOpenAI, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLAWLING_", "OPENAI_", "TELEGRAM_", "SLACK_"))
    }
    env.update(
        CLAWLING_DATA_DIR=str(tmp_path / "data"),
        CLAWLING_MODEL="fake-model",
        CLAWLING_HTTP_PORT="0",
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=fake_llm.url,
        **extra,
    )
    return env


async def _clawling_run(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_clawling_run_serves_telegram_until_sigterm(
    tmp_path: Path, fake_llm: FakeOpenAI, telegram: FakeTelegram
) -> None:
    env = _environment(
        tmp_path,
        fake_llm,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_BASE_URL=telegram.url,
        TELEGRAM_BASE_FILE_URL=telegram.file_url,
        CLAWLING_OWNERS=f"telegram:{OWNER}",
    )
    process = await _clawling_run(env)
    try:
        telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "are you running?")
        await telegram.wait_for(lambda: telegram.texts(OWNER) == ["echo: are you running?"], 60)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert telegram.token not in stderr.decode()
    # Shutting down confirmed the update, so a restart would not fetch it again.
    assert telegram.calls[-1] == "getUpdates"


async def test_clawling_run_without_a_chat_app_says_what_to_set(
    tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    process = await _clawling_run(_environment(tmp_path, fake_llm))
    _, stderr = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 2
    message = " ".join(stderr.decode().split())
    assert "TELEGRAM_BOT_TOKEN" in message and "clawling chat" in message


async def test_at_debug_level_the_log_has_everything_but_the_token(
    tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    # Too short for the token pattern: only knowing the setting can hide it.
    telegram = await FakeTelegram(token="8123456:Short-But-Valid-Tok-25c").start()
    secret = telegram.token.split(":")[1]
    try:
        # A proxy that quotes the request's URL: PTB logs it with a traceback.
        upstream = f"{telegram.url}{telegram.token}/getUpdates"
        telegram.fail("getUpdates", code=502, description=f"Bad Gateway: upstream {upstream}")
        env = _environment(
            tmp_path,
            fake_llm,
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_BASE_URL=telegram.url,
            TELEGRAM_BASE_FILE_URL=telegram.file_url,
            CLAWLING_OWNERS=f"telegram:{OWNER}",
            CLAWLING_LOG_LEVEL="DEBUG",
        )
        process = await _clawling_run(env)
        try:
            telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "still there?")
            await telegram.wait_for(lambda: telegram.texts(OWNER) == ["echo: still there?"], 60)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        await telegram.stop()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert secret not in log and quote(secret) not in log
    # The useful lines are all there, with the token's place marked.
    assert f"Set Bot API URL: {telegram.url}<redacted>" in log
    assert "Calling Bot API endpoint `getMe`" in log
    assert "Calling Bot API endpoint `sendMessage`" in log
    assert "Traceback (most recent call last)" in log
    assert f"NetworkError: Bad Gateway: upstream {telegram.url}<redacted>/getUpdates" in log
