"""Approving a drafted skill from the Skills page in a real browser (headless chromium)."""

from __future__ import annotations

from playwright.async_api import Page as BrowserPage

from bot.app import App
from memory.people import Person
from memory.skills import ACTIVE
from tests.bot.dashboard.harness import Screens
from tests.bot.dashboard.test_skills import SNEAKY, drafted
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


async def test_an_owner_approves_a_draft_from_the_skills_page(
    app_: App,
    chat: RecordingChannel,
    fake_llm: FakeOpenAI,
    owner: Person,
    member: Person,
    page: BrowserPage,
    screens: Screens,
) -> None:
    assert app_.dashboard is not None
    await drafted(app_, chat, fake_llm, member)
    await app_.skill_store.propose(member.id, "inbox-tidy", "Tidy the inbox every morning.", SNEAKY)
    await page.goto(await app_.dashboard.access.link(owner.id))
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/dashboard")
    await page.get_by_role("link", name="Skills").click()
    await page.wait_for_url("**/dashboard/skills")
    await page.get_by_text("SKILL.md").first.click()  # opens the draft's text
    assert await page.get_by_text("3. Agree on three goals.").is_visible()
    await screens.shoot(page, "skills")

    await page.get_by_role("button", name="Approve weekly-review by test:max (Max)").click()
    await page.wait_for_load_state()
    status = page.get_by_role("status")
    assert "Approved: I'll use the skill 'weekly-review' for test:max (Max)" in (
        await status.inner_text()
    )
    assert await app_.skill_store.find(member.id, "weekly-review", ACTIVE) is not None
    assert await page.get_by_role("heading", name="Drafts waiting for approval (1)").is_visible()
    await screens.shoot(page, "skills-approved")
