"""Fixtures: a fake model server with each personality, an app running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from tests.bot.harness.background import running_app
from tests.bot.open_models.model import respond
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.personalities import PERSONALITIES, WINDOW, personality

Running = Callable[..., AbstractAsyncContextManager[tuple[App, RecordingChannel]]]


@pytest.fixture(params=sorted(PERSONALITIES))
def server(request: pytest.FixtureRequest, fake_llm: FakeOpenAI) -> FakeOpenAI:
    """The fake model server with one personality's habits and the scripted model."""
    fake_llm.responder = respond
    personality(request.param, WINDOW).apply(fake_llm)
    return fake_llm


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite for these tests; one test runs on PostgreSQL by its own fixture."""
    return sqlite_url


@pytest.fixture
def open_app(server: FakeOpenAI, database_url: str, tmp_path: Path) -> Running:
    """An app with its background services, talking to `server`, with extra settings."""

    def make(url: str | None = None, **core: Any) -> AbstractAsyncContextManager[Any]:
        return running_app(server, url or database_url, tmp_path / "data", **core)

    return make


@pytest.fixture
async def app_and_chat(open_app: Running) -> AsyncIterator[tuple[App, RecordingChannel]]:
    async with open_app() as running:
        yield running
