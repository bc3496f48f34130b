"""The overview in a real browser (headless chromium): a running task's progress moves on
the page by itself, a pause in the chat shows up without a reload, a waiting approval is
approved and a running task cancelled with the page's buttons."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page as BrowserPage
from playwright.async_api import expect

from bot.app import App
from bot.settings import Settings
from memory.people import Person
from memory.tasks import CANCELLED
from tests.bot.conftest import wait_for_message
from tests.bot.dashboard.harness import Screens
from tests.bot.dashboard.test_overview import made_files
from tests.bot.dashboard.test_tasks import start_task, status_is
from tests.bot.harness.background import counting_to, is_task_step, poll
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

LIVE = 15_000  # ms: a few of live.js's 2.5 s rounds, on a busy machine


@pytest.fixture
def board_settings(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> Settings:
    return make_settings(fake_llm, sqlite_url, tmp_path / "data", shell=True)


@pytest.fixture(autouse=True)
def house(fake_llm: FakeOpenAI) -> None:
    """Tasks count on slowly for ever; "make a file" in the chat runs a shell command that
    waits for a yes; anything else is echoed."""
    counting = counting_to(100_000, delay=0.3)

    def respond(request: dict[str, Any]) -> Reply:
        if is_task_step(request):
            return counting(request)
        last = request["messages"][-1]
        if last["role"] == "tool":
            return Reply(text="Made it.")
        if "make a file" in str(last["content"]):
            return Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})])
        return echo(request)

    fake_llm.responder = respond


async def log_in(app: App, page: BrowserPage, person: Person) -> None:
    assert app.dashboard is not None
    await page.goto(await app.dashboard.access.link(person.id))
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/dashboard")


async def test_the_overview_follows_a_task_and_answers_an_approval(
    app_: App,
    owner: Person,
    chat: RecordingChannel,
    page: BrowserPage,
    screens: Screens,
    tmp_path: Path,
) -> None:
    await app_.jobs.set_timezone(owner.id, "Europe/Berlin")
    user = await app_.store.get_user(owner.id)
    conversation = await app_.store.open_conversation(
        "test", "own", "", is_direct=True, owner_id=owner.id
    )
    assert user is not None
    await app_.jobs.schedule(user, conversation, "reminder", "water the plants", "tomorrow at 9")
    await app_.jobs.schedule(
        user, conversation, "prompt", "summarise my week's calendar", "every monday at 8:00"
    )
    task = await start_task(app_, owner, "compare three laptops under 1000 € and summarise")
    await app_.sessions.handle(chat.inbound("make a file", sender="own", chat="own"))
    await wait_for_message(chat, "Confirmation needed")
    await log_in(app_, page, owner)

    card = page.locator(f"article:has(#task-{task.id}-title)")
    progress = card.locator('[data-field="progress"]')
    await expect(card.locator('[data-field="badge"]')).to_have_text("running", timeout=LIVE)
    shown = await progress.text_content()
    await expect(progress).not_to_have_text(shown or "", timeout=LIVE)  # moved by itself
    await expect(page.get_by_text("water the plants")).to_be_visible()
    await screens.shoot(page, "overview-live")

    # Paused in the chat: the page shows it without a reload, with Resume instead of Pause.
    await app_.sessions.handle(chat.inbound(f"/pause {task.id}", sender="own", chat="own"))
    await expect(card.locator('[data-field="badge"]')).to_have_text("paused", timeout=LIVE)
    await expect(card.get_by_role("button", name=f"Resume task #{task.id}")).to_be_visible()
    await expect(card.get_by_role("button", name=f"Pause task #{task.id}")).to_be_hidden()

    await page.get_by_role("button", name=re.compile(r"^Approve #\d+")).click()
    await expect(page.get_by_role("status")).to_contain_text("Approved #")
    await expect(page.get_by_text("Nothing waits for your yes.")).to_be_visible()
    await poll(lambda: "Made it." in chat.texts())
    [made] = made_files(tmp_path)
    assert made.read_text() == "hi\n"

    await card.get_by_role("button", name=f"Resume task #{task.id}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Task #{task.id} continues")
    page.on("dialog", lambda dialog: dialog.accept())
    await card.get_by_role("button", name=f"Cancel task #{task.id}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Cancelling task #{task.id}.")
    await expect(page.get_by_text("No tasks running.")).to_be_visible()
    assert await status_is(app_, task.id, CANCELLED)
