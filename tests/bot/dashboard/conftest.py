"""Fixtures for the dashboard: a started app (HTTP server on a free port), an owner and a
member, browsers logged in as them, and a real chromium page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page as BrowserPage
from playwright.async_api import async_playwright

from bot.app import App
from bot.settings import Settings
from memory.people import OWNER, Person
from tests.bot.app.test_lifecycle import started
from tests.bot.dashboard.harness import CHROMIUM, DESKTOP, Browser, Screens
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def board_settings(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> Settings:
    return make_settings(fake_llm, sqlite_url, tmp_path / "data")


@pytest.fixture
async def board(board_settings: Settings) -> AsyncIterator[tuple[App, RecordingChannel]]:
    """The app, started, on SQLite (pages read through stores tested on both databases)."""
    app, channel = await started(board_settings)
    try:
        yield app, channel
    finally:
        await app.close()


@pytest.fixture
def app_(board: tuple[App, RecordingChannel]) -> App:
    return board[0]


@pytest.fixture
def chat(board: tuple[App, RecordingChannel]) -> RecordingChannel:
    return board[1]


@pytest.fixture
async def owner(app_: App) -> Person:
    """An owner: account test:own (their chat with the assistant is chat "own")."""
    return await app_.people.add("test", "own", "Olga", role=OWNER)


@pytest.fixture
async def member(app_: App) -> Person:
    """A member: account test:max."""
    return await app_.people.add("test", "max", "Max")


@pytest.fixture
async def browser(app_: App) -> AsyncIterator[Callable[[], Browser]]:
    """New browsers (each its own cookie jar), closed after the test."""
    made: list[Browser] = []

    def new() -> Browser:
        made.append(Browser(app_))
        return made[-1]

    yield new
    for one in made:
        await one.close()


@pytest.fixture
def logged_in(
    browser: Callable[[], Browser],
) -> Callable[[Person], Awaitable[Browser]]:
    """A browser logged in as the person."""

    async def log_in(person: Person) -> Browser:
        return await browser().log_in(person.id)

    return log_in


@pytest.fixture
async def page() -> AsyncIterator[BrowserPage]:
    """A page in headless chromium (Debian's, as .ci/run installs it)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        context = await chromium.new_context(viewport=DESKTOP)
        try:
            yield await context.new_page()
        finally:
            await context.close()
            await chromium.close()


@pytest.fixture
def screens(tmp_path: Path) -> Screens:
    return Screens(tmp_path / "screenshots")
