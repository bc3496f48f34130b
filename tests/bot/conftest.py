"""Helpers for tests that need an app with particular settings, and chat waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI

AppMaker = Callable[..., Awaitable[tuple[App, RecordingChannel]]]


@pytest.fixture
async def make_app(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> AsyncIterator[AppMaker]:
    """Build (and close afterwards) an app with extra CLAWLING_* settings and a chat."""
    apps: list[App] = []

    async def make(
        build: dict[str, Any] | None = None, **core: Any
    ) -> tuple[App, RecordingChannel]:
        settings = make_settings(fake_llm, database_url, tmp_path / "data", **core)
        app = build_app(settings, **(build or {}))
        await app.prepare_database()
        channel = RecordingChannel()
        app.add_channel(channel)
        apps.append(app)
        return app, channel

    yield make
    for app in apps:
        await app.close()


async def wait_for_message(channel: RecordingChannel, fragment: str) -> str:
    """The first message sent to the chat that contains `fragment` (waits up to 10 s)."""
    async with asyncio.timeout(10):
        while True:
            for text in channel.texts():
                if fragment in text:
                    return text
            await asyncio.sleep(0.02)
