"""Fixtures for the Slack tests: the fake Slack and the app running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.slack.harness import Harness, slack_settings, start_app
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack

Launch = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    fake.users.update({"UALICE": "Alice", "UBOB": "Bob", "UEVE": "Eve"})
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture(params=["socket", "http"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def launch(
    fake_llm: FakeOpenAI, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[Launch]:
    """Start the app with Slack connected: launch(mode, database_url, core, **slack settings).

    Apps still running at the end of the test are closed."""
    running: list[Harness] = []

    async def start(
        mode: str, database_url: str, core: dict[str, Any] | None = None, **slack: Any
    ) -> Harness:
        settings = slack_settings(
            fake_llm.url, fake_slack, database_url, tmp_path / "data", mode, core, **slack
        )
        harness = await start_app(settings, fake_slack, mode)
        running.append(harness)
        return harness

    try:
        yield start
    finally:
        for harness in running:
            await harness.close()


@pytest.fixture
async def slack(launch: Launch, sqlite_url: str, mode: str) -> Harness:
    """The app on SQLite with Slack connected, in each mode."""
    return await launch(mode, sqlite_url)


@pytest.fixture
async def http_slack(launch: Launch, sqlite_url: str) -> Harness:
    return await launch("http", sqlite_url)
