"""Fixtures for the Telegram tests: the fake Bot API server and a running app talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.telegram import TelegramTuning
from adapters.telegram.retry import RetryPolicy
from adapters.telegram.stream import StreamTiming
from bot.app import App, build_app
from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram

OWNER = 111
OWNER_USER = FakeTelegram.user(OWNER, "Ann", "ann")
GROUP = -100500

FAST = TelegramTuning(
    poll_timeout=5,
    retry=RetryPolicy(backoff=0.01, max_backoff=0.05),
    stream=StreamTiming(first_after=0.2, interval=0.3),
)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    try:
        yield server
    finally:
        await server.stop()


def bot_settings(
    fake_llm: FakeOpenAI,
    database_url: str,
    data_dir: Path,
    server: FakeTelegram,
    core: dict[str, Any] | None = None,
    **telegram: Any,
) -> Settings:
    settings = make_settings(
        fake_llm,
        database_url,
        data_dir,
        owners=[f"telegram:{OWNER}"],
        http_port=0,
        **(core or {}),
    )
    settings.telegram = settings.telegram.model_validate(
        {"bot_token": server.token, "base_url": server.url, "base_file_url": server.file_url}
        | telegram
    )
    return settings


@asynccontextmanager
async def running(settings: Settings, tuning: TelegramTuning = FAST) -> AsyncIterator[App]:
    """The whole app, built from settings as `clawling run` builds it, serving Telegram."""
    app = build_app(settings, telegram_tuning=tuning)
    await app.prepare_database()
    try:
        await app.start()
        yield app
    finally:
        await app.close()


@pytest.fixture
def settings_for(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path, telegram: FakeTelegram
) -> Any:
    def make(core: dict[str, Any] | None = None, **telegram_settings: Any) -> Settings:
        return bot_settings(
            fake_llm, database_url, tmp_path / "data", telegram, core, **telegram_settings
        )

    return make


@pytest.fixture
async def bot(settings_for: Any) -> AsyncIterator[App]:
    async with running(settings_for()) as app:
        yield app


async def answered(server: FakeTelegram, app: App, chat_id: int, count: int = 1) -> list[str]:
    """Wait until `count` messages reached the chat and every turn has finished."""
    await server.wait_for(lambda: len(server.in_chat(chat_id)) >= count)
    await app.sessions.drain()
    return server.texts(chat_id)
