"""Fixtures for the Slack tests: the fake Slack and the app running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.adapters.slack.harness import Harness, slack_settings, start_app
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack


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
async def slack(
    fake_llm: FakeOpenAI, fake_slack: FakeSlack, sqlite_url: str, tmp_path: Path, mode: str
) -> AsyncIterator[Harness]:
    """The app on SQLite with Slack connected in each mode."""
    settings = slack_settings(fake_llm, fake_slack, sqlite_url, tmp_path / "data", mode)
    harness = await start_app(settings, fake_slack, mode)
    try:
        yield harness
    finally:
        await harness.app.close()
