"""The People page in a real browser: an owner lets a stranger in with the Approve button
and opens a person's page with their usage chart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page as BrowserPage

from bot.app import App
from bot.settings import Settings
from memory.people import ACTIVE, Person
from tests.bot.dashboard.harness import Screens
from tests.bot.dashboard.people import (
    a_month_of_use,
    started_with_private_chats,
    stranger_writes,
)
from tests.fakes.chat import RecordingChannel


@pytest.fixture
async def board(board_settings: Settings) -> AsyncIterator[tuple[App, RecordingChannel]]:
    app, channel = await started_with_private_chats(board_settings)
    try:
        yield app, channel
    finally:
        await app.close()


async def log_in(app: App, page: BrowserPage, person: Person) -> None:
    assert app.dashboard is not None
    await page.goto(await app.dashboard.access.link(person.id))
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/dashboard")


async def test_an_owner_approves_a_stranger_and_reads_a_persons_usage(
    app_: App,
    chat: RecordingChannel,
    owner: Person,
    member: Person,
    page: BrowserPage,
    screens: Screens,
) -> None:
    await a_month_of_use(app_, member)
    await stranger_writes(app_, chat, "stranger1")
    await stranger_writes(app_, chat, "stranger2")
    await log_in(app_, page, owner)

    await page.get_by_role("link", name="People").click()
    await page.wait_for_url("**/dashboard/people")
    assert await page.get_by_role("heading", name="People", exact=True).is_visible()
    await screens.shoot(page, "people")

    await page.get_by_role("button", name="Approve Stranger1 (test:stranger1)").click()
    await page.wait_for_url("**/dashboard/people")
    flash = page.get_by_role("status")
    assert await flash.inner_text() == (
        "Let in Stranger1 (test:stranger1). I've told them; they can talk to me now."
    )
    everyone = page.locator("table[aria-labelledby=everyone]")
    assert await everyone.get_by_role("link", name="Stranger1").is_visible()
    let_in = await app_.people.by_account("test", "stranger1")
    assert let_in is not None and let_in.status == ACTIVE
    # Stranger2 still waits; Stranger1's buttons are gone.
    assert await page.get_by_role("button", name="Approve Stranger1 (test:stranger1)").count() == 0
    assert await page.get_by_role("button", name="Approve Stranger2 (test:stranger2)").is_visible()

    await everyone.get_by_role("link", name="Max").click()
    await page.wait_for_url(f"**/dashboard/people/{member.id}")
    chart = page.get_by_role("img", name="Tokens per day, last 30 days (UTC)")
    assert await chart.is_visible()
    assert await chart.locator("rect").count() == 3 * 25  # 25 days of use, three parts each
    await screens.shoot(page, "person")
