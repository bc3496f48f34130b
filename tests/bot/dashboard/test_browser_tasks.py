"""The Tasks pages in a real browser (headless chromium): the list, a running task's event
log growing by itself, and cancelling the task with its button."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page as BrowserPage
from playwright.async_api import expect

from bot.app import App
from memory.people import Person
from memory.tasks import CANCELLED
from tests.bot.dashboard.harness import Screens
from tests.bot.dashboard.test_browser_overview import LIVE, log_in
from tests.bot.dashboard.test_tasks import start_task, status_is
from tests.bot.harness.background import counting_to, poll
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture(autouse=True)
def endless(fake_llm: FakeOpenAI) -> None:
    """Tasks count on slowly until someone stops them."""
    fake_llm.responder = counting_to(100_000, delay=0.3)


async def test_a_task_page_grows_its_log_and_cancels(
    app_: App, owner: Person, chat: RecordingChannel, page: BrowserPage, screens: Screens
) -> None:
    done = await start_task(app_, owner, "say hello")
    await app_.tasks.cancel(owner.id, done.id)
    task = await start_task(app_, owner, "collect the week's train timetables Porto–Lisbon")
    await poll(lambda: status_is(app_, task.id, "running"))
    await log_in(app_, page, owner)
    await page.get_by_role("link", name="Tasks", exact=True).click()
    await expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()
    await expect(page.get_by_text("say hello")).to_be_visible()
    await screens.shoot(page, "tasks")

    await page.get_by_role("link", name=re.compile(f"#{task.id} collect")).click()
    await page.wait_for_url(f"**/dashboard/tasks/{task.id}")
    rows = page.locator('tbody[data-field="events"] tr')
    before = await rows.count()
    await expect(rows).not_to_have_count(before, timeout=LIVE)  # new events, no reload
    await expect(rows.last).to_contain_text("step")
    await screens.shoot(page, "task")
    await page.emulate_media(color_scheme="dark")
    await screens.shoot(page, "task-dark")
    await page.emulate_media(color_scheme="light")

    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name=f"Cancel task #{task.id}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Cancelling task #{task.id}.")
    await expect(page.locator('[data-field="badge"]')).to_have_text("cancelled")
    await expect(page.get_by_role("cell", name="cancelled", exact=True)).to_be_visible()
    assert await status_is(app_, task.id, CANCELLED)
    await poll(lambda: f"🛑 Task #{task.id} was cancelled." in chat.texts())
